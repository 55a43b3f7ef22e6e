import { describe, expect, it } from 'vitest';
import {
  AddEvidenceInput,
  AssignHandlersInput,
  acceptsSourcesFor,
  CASE_TRANSITIONS,
  type CaseStatus,
  canDecide,
  canTransition,
  DecisionBody,
  decisionCarriesReward,
  OpenCaseInput,
} from '#shared/domain/cases/model.ts';
import { BOILER, PENCIL } from '#shared/domain/registry/qingyuan-seed.ts';

/** Case schemas and lifecycle on Qingyuan cases (seed units: the pencil factory, the heating station). */
const penalty = {
  type: 'administrative_penalty',
  decisionNumber: '庆环罚〔2026〕8号',
  decidedOn: '2026-05-20',
  legalBasis: '《中华人民共和国水污染防治法》第八十三条第（二）项',
  fineFen: 30_000_000,
  items: [{ kind: 'fine' }, { kind: 'order_to_correct', note: '责令限期改正' }],
};
const minor = (over: Record<string, unknown> = {}) => ({
  type: 'minor_not_punished',
  listReference: '长三角区域生态环境领域轻微违法行为依法不予行政处罚清单 第3项',
  conditions: {
    firstViolation: true,
    harm: 'slight',
    correctedPromptly: true,
    correctionDeadline: '2026-04-20',
    correctedOn: '2026-04-17',
    listConditionsMet: ['仅一项因子超标', '小时均值超标不足0.1倍'],
    educated: true,
    ...over,
  },
});

describe('OpenCaseInput', () => {
  it('opens from a tip and an alarm at a registered unit', () => {
    const parsed = OpenCaseInput.parse({
      title: '铅笔厂涂装废水总铅超标',
      unit: { kind: 'registered', enterpriseId: PENCIL },
      sources: [
        { kind: 'tip', id: '01KP7Q4XZ3V5B2N8M6C4R0T9WE' },
        { kind: 'alarm', id: '01KP7Q9B1C2D3E4F5G6H7J8K9M' },
      ],
    });
    expect(parsed.handlers).toEqual([]);
  });

  it('refuses no source, a repeated source and an invalid credit code, in both languages', () => {
    const base = {
      title: '锅炉氮氧化物超标',
      unit: { kind: 'unregistered', name: '某无名作坊', townshipId: 'songyuan' },
    };
    const none = OpenCaseInput.safeParse({ ...base, unit: { kind: 'registered', enterpriseId: BOILER }, sources: [] });
    expect(none.error?.issues[0]?.message).toContain('至少关联一个来源');
    const twice = OpenCaseInput.safeParse({
      ...base,
      sources: [
        { kind: 'patrol', id: 'P1#0' },
        { kind: 'patrol', id: 'P1#0' },
      ],
    });
    expect(twice.error?.issues[0]?.message).toContain('来源重复');
    const badUscc = OpenCaseInput.safeParse({
      ...base,
      unit: { kind: 'registered', enterpriseId: '913311260000000000' },
      sources: [{ kind: 'clue', id: 'c1' }],
    });
    expect(badUscc.error?.issues.map((i) => i.path.join('.'))).toEqual(['unit.enterpriseId']);
  });

  it('takes a unit either by credit code alone or marked unregistered with its name and township, nothing between', () => {
    const sources = [{ kind: 'clue', id: 'c1' }];
    // a registered unit's name and township come from the registry, never from the request
    const typed = OpenCaseInput.safeParse({
      title: 't',
      unit: { kind: 'registered', enterpriseId: BOILER, name: '随便写的名字', townshipId: 'songyuan' },
      sources,
    });
    expect(typed.success).toBe(false);
    const unmarked = OpenCaseInput.safeParse({ title: 't', unitName: '某作坊', townshipId: 'songyuan', sources });
    expect(unmarked.success).toBe(false);
    const site = OpenCaseInput.parse({
      title: 't',
      unit: { kind: 'unregistered', name: '某作坊', townshipId: 'songyuan', address: '后山' },
      sources,
    });
    expect(site.unit).toEqual({ kind: 'unregistered', name: '某作坊', townshipId: 'songyuan', address: '后山' });
  });
});

describe('handlers and evidence inputs', () => {
  it('needs two distinct handlers for an investigation', () => {
    expect(AssignHandlersInput.safeParse({ handlers: ['u-li', 'u-zhang'] }).success).toBe(true);
    expect(AssignHandlersInput.safeParse({ handlers: ['u-li'] }).error?.issues[0]?.message).toContain('两名以上');
    expect(AssignHandlersInput.safeParse({ handlers: ['u-li', 'u-li'] }).success).toBe(false);
  });

  it('takes an S3 object with its SHA-256 and a raw-archive span', () => {
    const sha256 = 'a'.repeat(64);
    expect(
      AddEvidenceInput.safeParse({ type: 'object', kind: 'lab_report', key: 'cases/x/lab.pdf', sha256 }).success,
    ).toBe(true);
    expect(
      AddEvidenceInput.safeParse({ type: 'object', kind: 'photo', key: 'k', sha256: 'A'.repeat(64) }).success,
    ).toBe(false);
    const span = { type: 'raw_archive', mn: '88888880000001', from: '2026-04-14T08:00:00+08:00' };
    expect(AddEvidenceInput.safeParse({ ...span, to: '2026-04-14T12:00:00+08:00' }).success).toBe(true);
    expect(AddEvidenceInput.safeParse({ ...span, to: '2026-04-14T07:00:00+08:00' }).success).toBe(false);
  });
});

describe('DecisionBody', () => {
  it('accepts a penalty with a fine in whole fen and refuses fractions or a fine without a fine item', () => {
    expect(DecisionBody.safeParse(penalty).success).toBe(true);
    expect(DecisionBody.safeParse({ ...penalty, fineFen: 100.5 }).success).toBe(false);
    expect(DecisionBody.safeParse({ ...penalty, items: [{ kind: 'warning' }] }).success).toBe(false);
    expect(DecisionBody.safeParse({ ...penalty, fineFen: 0, items: [{ kind: 'warning' }] }).success).toBe(true);
  });

  it('accepts a first violation with slight harm corrected within the deadline', () => {
    expect(DecisionBody.safeParse(minor()).success).toBe(true);
    expect(DecisionBody.safeParse(minor({ firstViolation: false, harm: 'none' })).success).toBe(true);
  });

  it('refuses no-penalty when the conditions are not met', () => {
    expect(DecisionBody.safeParse(minor({ firstViolation: false })).success).toBe(false); // slight harm, not first
    expect(DecisionBody.safeParse(minor({ correctedOn: '2026-04-21' })).success).toBe(false); // late
    expect(DecisionBody.safeParse(minor({ educated: false })).success).toBe(false); // 免罚不免责
  });

  it('needs a person to confirm at least one crime item', () => {
    const crime = {
      type: 'suspected_crime',
      proposedItems: [{ item: 'item3', reference: '法释〔2023〕7号 第一条第（三）项' }],
      confirmedItems: [],
    };
    expect(DecisionBody.safeParse(crime).error?.issues[0]?.message).toContain('人工确认');
    const confirmed = {
      ...crime,
      confirmedItems: [
        {
          item: 'item3',
          facts: '总铅3.6mg/L，为限值3.6倍',
          confirmedBy: 'u-li',
          confirmedAt: '2026-04-16T09:00:00+08:00',
        },
      ],
    };
    expect(DecisionBody.safeParse(confirmed).success).toBe(true);
  });

  it('carries a reward only for a penalty with a fine', () => {
    expect(decisionCarriesReward(DecisionBody.parse(penalty))).toBe(true);
    expect(decisionCarriesReward(DecisionBody.parse({ ...penalty, fineFen: 0, items: [{ kind: 'warning' }] }))).toBe(
      false,
    );
    expect(decisionCarriesReward(DecisionBody.parse(minor()))).toBe(false);
  });
});

describe('lifecycle', () => {
  it('follows open → investigating → decided → transferred → closed and refuses shortcuts', () => {
    const path: CaseStatus[] = ['open', 'investigating', 'decided', 'transferred', 'closed'];
    for (let i = 0; i < path.length - 1; i++)
      expect(canTransition(path[i] as CaseStatus, path[i + 1] as CaseStatus)).toBe(true);
    expect(canTransition('open', 'decided')).toBe(false);
    expect(canTransition('investigating', 'transferred')).toBe(false);
    expect(CASE_TRANSITIONS.closed).toEqual([]);
    expect(canTransition('transferred', 'investigating')).toBe(true); // returned for a penalty
  });

  it('decides only while investigating with two handlers', () => {
    expect(canDecide({ status: 'investigating', handlers: ['u-li', 'u-zhang'] })).toBe(true);
    expect(canDecide({ status: 'investigating', handlers: ['u-li'] })).toBe(false);
    expect(canDecide({ status: 'open', handlers: ['u-li', 'u-zhang'] })).toBe(false);
  });

  it('attaches later sources only to an undecided case of the same unit', () => {
    expect(acceptsSourcesFor({ status: 'investigating', enterpriseId: PENCIL }, PENCIL)).toBe(true);
    expect(acceptsSourcesFor({ status: 'decided', enterpriseId: PENCIL }, PENCIL)).toBe(false);
    expect(acceptsSourcesFor({ status: 'open', enterpriseId: PENCIL }, BOILER)).toBe(false);
  });
});
