import { describe, expect, it } from 'vitest';
import {
  addEvidenceChange,
  assignHandlersChange,
  attachSourceChange,
  decisionChange,
  decisionNote,
  linkUnitChange,
  MAX_EVIDENCE,
  MAX_SOURCES,
  openedCase,
  statusChange,
  taskDoneEntry,
} from '#shared/domain/cases/changes.ts';
import type { Case, CaseEvidence, DecisionBody } from '#shared/domain/cases/model.ts';
import { BOILER, WWTP } from '#shared/domain/registry/qingyuan-seed.ts';

/** The changes of a case, pure: what each allows, what it changes, what the timeline says. */
const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';
const ALARM_ID = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const TIP_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2T1';
const AT = '2026-04-07T02:00:00.000Z';

const baseCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE_ID,
  enterpriseId: WWTP,
  unitName: '庆元县示例城镇污水处理有限公司',
  townshipId: 'mengzhou',
  title: '污水处理厂尾水化学需氧量超标排放',
  sources: [{ kind: 'alarm', id: ALARM_ID, addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-handler-01' }],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'investigating',
  evidence: [],
  openedAt: '2026-04-01T01:00:00.000Z',
  openedBy: 'u-handler-01',
  updatedAt: '2026-04-02T01:00:00.000Z',
  version: 3,
  ...over,
});

const penalty: DecisionBody = {
  type: 'administrative_penalty',
  decisionNumber: '庆环罚〔2026〕8号',
  decidedOn: '2026-04-07',
  legalBasis: '《水污染防治法》第八十三条第二项',
  fineFen: 12_000_000,
  items: [{ kind: 'fine' }, { kind: 'order_to_correct' }],
};
const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('openedCase', () => {
  const input = {
    caseId: CASE_ID,
    title: '污水处理厂尾水化学需氧量超标排放',
    unit: { enterpriseId: WWTP, name: '庆元县示例城镇污水处理有限公司', townshipId: 'mengzhou' },
    sources: [
      { kind: 'alarm' as const, id: ALARM_ID },
      { kind: 'tip' as const, id: TIP_ID },
    ],
    handlers: ['u-handler-01', 'u-handler-02'],
  };

  it('starts an investigation with two handlers, and stays open with fewer (the same person twice counts once)', () => {
    expect(openedCase(input, { by: 'u-chief-01', at: AT }).case.status).toBe('investigating');
    const one = openedCase({ ...input, handlers: ['u-handler-01', 'u-handler-01'] }, { by: 'u-chief-01', at: AT });
    expect(one.case).toMatchObject({ status: 'open', handlers: ['u-handler-01'], version: 1 });
  });

  it('keeps nothing of a tip but its id, and says on the timeline what it was opened from', () => {
    const { case: c, events, detail } = openedCase(input, { by: 'u-chief-01', at: AT });
    expect(c.sources.find((s) => s.kind === 'tip')).toEqual({
      kind: 'tip',
      id: TIP_ID,
      addedAt: AT,
      addedBy: 'u-chief-01',
    });
    expect(events).toEqual([
      {
        type: 'opened',
        note: `立案：${input.title}`,
        data: { status: 'investigating', sources: [`alarm#${ALARM_ID}`, `tip#${TIP_ID}`] },
      },
    ]);
    expect(detail).toMatchObject({ enterpriseId: WWTP, handlers: input.handlers });
    expect(c).toMatchObject({ unitName: '庆元县示例城镇污水处理有限公司', townshipId: 'mengzhou' });
    expect(c).not.toHaveProperty('needsRegistration');
  });

  it('flags a case on an unregistered site for registration, and says so on the timeline', () => {
    const site = { name: '松源某无名竹制品作坊', townshipId: 'songyuan', address: '松源街道某村后山' };
    const { case: c, events, detail } = openedCase({ ...input, unit: site }, { by: 'u-chief-01', at: AT });
    expect(c).toMatchObject({
      needsRegistration: true,
      unitName: site.name,
      townshipId: 'songyuan',
      unitAddress: site.address,
    });
    expect(c).not.toHaveProperty('enterpriseId');
    expect(events[0]).toMatchObject({
      note: `立案：${input.title}（当事人未登记，待登记）`,
      data: { needsRegistration: true },
    });
    expect(detail).toMatchObject({ needsRegistration: true });
  });
});

describe('linkUnitChange', () => {
  const enterprise = { id: WWTP, name: '庆元县示例城镇污水处理有限公司', townshipId: 'mengzhou' };
  const { enterpriseId: _e, ...site } = baseCase({
    needsRegistration: true,
    unitName: '某无名作坊',
    townshipId: 'songyuan',
    unitAddress: '后山',
  });

  it('takes the registry’s id, name and township and clears the flag, keeping the old name on the timeline', () => {
    const change = linkUnitChange(enterprise)(site);
    expect(change.next).toMatchObject({ enterpriseId: WWTP, unitName: enterprise.name, townshipId: 'mengzhou' });
    expect(change.next).not.toHaveProperty('needsRegistration');
    expect(change.next).not.toHaveProperty('unitAddress');
    expect(change.events[0]).toMatchObject({ type: 'unit_linked', data: { enterpriseId: WWTP, from: '某无名作坊' } });
  });

  it('refuses a case that already refers to a registered unit (409)', () => {
    expect(refused(() => linkUnitChange(enterprise)(baseCase()))).toMatchObject({ status: 409 });
  });
});

describe('attachSourceChange', () => {
  it('adds a source of the same unit and claims it', () => {
    const change = attachSourceChange({ kind: 'tip', id: TIP_ID }, WWTP, 'u-handler-01')(baseCase(), AT);
    expect(change.next.sources.map((s) => s.id)).toEqual([ALARM_ID, TIP_ID]);
    expect(change.claims).toEqual([{ kind: 'tip', id: TIP_ID, addedAt: AT, addedBy: 'u-handler-01' }]);
    expect(change.events[0]).toMatchObject({ type: 'source_added', data: { sourceKind: 'tip', sourceId: TIP_ID } });
  });

  it('takes a source that names no unit (a clue) on the official’s judgment', () => {
    const change = attachSourceChange({ kind: 'clue', id: 'JB-2026-031' }, undefined, 'u-handler-01')(baseCase(), AT);
    expect(change.next.sources).toHaveLength(2);
  });

  it('refuses a source of another unit, any source once the case is decided, a source it holds, and past the limit (409)', () => {
    const attach = (c: Case, id = TIP_ID, unit: string | undefined = WWTP) =>
      refused(() => attachSourceChange({ kind: 'tip', id }, unit, 'u-handler-01')(c, AT));
    expect(attach(baseCase(), '01JNK3W7Q8D2V5XG9T4HRB6ZMF', BOILER)).toMatchObject({ status: 409 });
    expect(attach(baseCase({ status: 'decided' }))).toMatchObject({ status: 409 });
    expect(attach(baseCase({ status: 'closed' }), TIP_ID, undefined)).toMatchObject({ status: 409 });
    // an unregistered site's case takes no source that names a unit
    const { enterpriseId: _e, ...site } = baseCase();
    expect(attach(site)).toMatchObject({ status: 409 });
    const held = baseCase({ sources: [{ kind: 'tip', id: TIP_ID, addedAt: AT, addedBy: 'x' }] });
    expect(attach(held)).toMatchObject({ status: 409, message: expect.stringContaining('来源已关联') });
    const full = baseCase({
      sources: Array.from({ length: MAX_SOURCES }, (_, i) => ({
        kind: 'clue' as const,
        id: `c${i}`,
        addedAt: AT,
        addedBy: 'x',
      })),
    });
    expect(attach(full)).toMatchObject({ status: 409 });
  });
});

describe('assignHandlersChange', () => {
  it('names the team and starts the investigation of an open case', () => {
    const change = assignHandlersChange(['u-handler-01', 'u-handler-02'])(baseCase({ status: 'open', handlers: [] }));
    expect(change.next).toMatchObject({ status: 'investigating', handlers: ['u-handler-01', 'u-handler-02'] });
    expect(change.events.map((e) => e.type)).toEqual(['handlers_changed', 'status_changed']);
  });

  it('keeps the status of a case past its opening, and refuses a closed case (409)', () => {
    expect(assignHandlersChange(['a', 'b'])(baseCase({ status: 'decided' })).next.status).toBe('decided');
    expect(refused(() => assignHandlersChange(['a', 'b'])(baseCase({ status: 'closed' })))).toMatchObject({
      status: 409,
    });
  });
});

describe('addEvidenceChange', () => {
  const sha256 = 'a'.repeat(64);
  const input = { type: 'object' as const, kind: 'lab_report' as const, key: `cases/${CASE_ID}/cod-lab.pdf`, sha256 };

  it('adds the item last with its hash, who and when', () => {
    const change = addEvidenceChange(input, 'u-handler-01')(baseCase(), AT);
    expect(change.next.evidence.at(-1)).toMatchObject({ type: 'object', sha256, addedBy: 'u-handler-01', addedAt: AT });
    expect(change.detail).toMatchObject({ sha256 });
  });

  it('refuses evidence on a closed case, and past the limit (409)', () => {
    expect(refused(() => addEvidenceChange(input, 'u')(baseCase({ status: 'closed' }), AT))).toMatchObject({
      status: 409,
    });
    const item = { ...input, id: '01JQ7Z3K9M2V4X6Y8A0B1C2D3F', addedAt: AT, addedBy: 'x' } as CaseEvidence;
    const full = baseCase({ evidence: Array.from({ length: MAX_EVIDENCE }, () => item) });
    expect(refused(() => addEvidenceChange(input, 'u')(full, AT))).toMatchObject({ status: 409 });
  });
});

describe('decisionChange', () => {
  it('records a penalty: the case is decided, the audit detail names the decision number', () => {
    const change = decisionChange(penalty, 'u-chief-01')(baseCase(), AT);
    expect(change.next.status).toBe('decided');
    expect(change.next.decision).toMatchObject({ decidedBy: 'u-chief-01', decidedAt: AT, fineFen: 12_000_000 });
    expect(change.detail).toMatchObject({ decisionNumber: '庆环罚〔2026〕8号', fineFen: 12_000_000 });
  });

  it('refuses a decision on a case not under investigation, or with fewer than two handlers (409)', () => {
    for (const c of [baseCase({ status: 'open' }), baseCase({ handlers: ['u-handler-01'] })]) {
      expect(refused(() => decisionChange(penalty, 'u-chief-01')(c, AT))).toMatchObject({ status: 409 });
    }
  });

  it('keeps the platform’s crime proposal with the case and notes it on the timeline', () => {
    const crime: DecisionBody = {
      type: 'suspected_crime',
      proposedItems: [{ item: 'item4', reference: '法释〔2023〕7号 第一条第（四）项' }],
      confirmedItems: [{ item: 'item4', facts: '铅超标3.2倍', confirmedBy: 'u-chief-01', confirmedAt: AT }],
    };
    const change = decisionChange(crime, 'u-chief-01', { proposedCrimeItems: ['item4'] })(baseCase(), AT);
    expect(change.next.proposedCrimeItems).toEqual(['item4']);
    expect(change.events.map((e) => e.type)).toEqual(['crime_items_proposed', 'decision_recorded', 'status_changed']);
  });
});

describe('statusChange', () => {
  it('moves a decided case to transferred, closes with the time, and refuses a jump the lifecycle does not allow', () => {
    expect(statusChange('transferred')(baseCase({ status: 'decided' }), AT).next.status).toBe('transferred');
    expect(statusChange('closed')(baseCase({ status: 'transferred' }), AT).next).toMatchObject({ closedAt: AT });
    expect(refused(() => statusChange('open')(baseCase({ status: 'decided' }), AT))).toMatchObject({ status: 409 });
  });

  it('clears the decision when a returned case is investigated again', () => {
    const returned = baseCase({ status: 'transferred', decision: { ...penalty, decidedBy: 'x', decidedAt: AT } });
    expect(statusChange('investigating', '退回')(returned, AT).next).not.toHaveProperty('decision');
  });
});

describe('decisionNote', () => {
  it('says each decision in one Chinese line, citing the judicial interpretation for a suspected crime', () => {
    expect(
      decisionNote({
        type: 'suspected_crime',
        proposedItems: [],
        confirmedItems: [
          { item: 'item5', facts: '暗管排放', confirmedBy: 'u-chief-01', confirmedAt: '2026-04-08T01:00:00.000Z' },
        ],
      }),
    ).toBe('涉嫌犯罪，确认入罪标准：法释〔2023〕7号 第一条第（五）项');
    expect(decisionNote({ type: 'no_violation' } as DecisionBody)).toBe('无违法行为');
  });
});

describe('taskDoneEntry', () => {
  it('reads in Chinese: the step and the action’s label, with the comment', () => {
    const entry = taskDoneEntry(
      { taskId: 'T', workflow: 'transfer', step: 'head_decision' },
      { action: 'approve', comment: '同意移送', by: 'u-head-01' },
    );
    expect(entry).toMatchObject({ type: 'transfer_step', note: '负责人审批：批准移送（同意移送）' });
  });
});
