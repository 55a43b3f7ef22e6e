import { beforeEach, describe, expect, it } from 'vitest';
import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import type { Case, DecisionBody } from '#shared/domain/cases/model.ts';
import type { WorkflowTask } from '#shared/domain/cases/ports.ts';
import { type Caller, CasesService } from '#shared/domain/cases/use-cases.ts';
import type { DomainError, ValidationError } from '#shared/domain/errors.ts';
import type { Enterprise } from '#shared/domain/registry/model.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import type { Role } from '#shared/domain/roles.ts';
import type { TimelineEntry, Tip } from '#shared/domain/tips/model.ts';
import { MemoryCaseStore, MemorySources, MemoryWorkflows } from '../../helpers/memory-cases.ts';

/**
 * The officials' case use-cases (use-cases.ts) over in-memory cases, sources and workflows: who may do what, which
 * decision is allowed, when a workflow starts and with what, reward eligibility, the ledger and later rounds.
 */
const NOW = new Date('2026-04-07T02:00:00.000Z');
const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';
const OTHER_CASE = '01JQ7Z3K9M2V4X6Y8A0B1C2D9Z';
const TIP_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2T1';
const ALARM_ID = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const TASK_ID = '01JQ8A2B3C4D5E6F7G8H9JTASC';
const EVIDENCE_ID = '01JQ7Z9E5V1D2E3N4C5E6A7B8C';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token';

const SUBS: Partial<Record<Role, string>> = {
  handler: 'u-handler-01',
  section_chief: 'u-chief-01',
  bureau_head: 'u-head-01',
  reward_post: 'u-reward-01',
  police_liaison: 'u-police-01',
};
const as = (role: Role, sub = SUBS[role] ?? `u-${role}`): Caller => ({ sub, roles: [role] });

const tip: Tip = {
  id: TIP_ID,
  channel: 'web',
  category: 'water',
  description: '污水处理厂排口下游松源溪水体发黑发臭',
  location: { townshipId: 'mengzhou', address: '濛洲街道松源溪污水处理厂排口下游' },
  observedAt: '2026-03-28T23:30:00.000Z',
  suspectedUnit: { kind: 'registered', enterpriseId: WWTP },
  reporterKind: 'real_name',
  insider: false,
  commendationConsent: true,
  evidence: [],
  status: 'substantiated',
  finding: 'substantiated',
  receivedAt: '2026-03-29T00:10:00.000Z',
  updatedAt: '2026-03-31T06:00:00.000Z',
};

const baseCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE_ID,
  enterpriseId: WWTP,
  unitName: '庆元县示例城镇污水处理有限公司',
  townshipId: 'mengzhou',
  title: '污水处理厂尾水化学需氧量超标排放',
  sources: [{ kind: 'tip', id: TIP_ID, addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-handler-01' }],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'investigating',
  evidence: [
    {
      type: 'object',
      id: EVIDENCE_ID,
      kind: 'inspection_record',
      key: `cases/${CASE_ID}/inspection.pdf`,
      sha256: 'b'.repeat(64),
      addedAt: '2026-04-02T01:00:00.000Z',
      addedBy: 'u-handler-01',
    },
  ],
  openedAt: '2026-04-01T01:00:00.000Z',
  openedBy: 'u-handler-01',
  updatedAt: '2026-04-02T01:00:00.000Z',
  version: 3,
  ...over,
});

const task = (over: Partial<WorkflowTask> = {}): WorkflowTask => ({
  taskId: TASK_ID,
  caseId: CASE_ID,
  workflow: 'transfer',
  executionArn: `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-transfer:transfer-${CASE_ID}-1`,
  step: 'head_decision',
  actors: ['bureau_head'],
  token: TOKEN,
  createdAt: '2026-04-07T02:00:00.000Z',
  dueAt: '2026-04-10T16:00:00.000Z',
  warnAt: '2026-04-09T16:00:00.000Z',
  state: 'open',
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

const alarm = { alarmId: ALARM_ID, enterpriseId: WWTP } as Alarm;
/** the unit as the registry has it (the fields a case reads) */
const WWTP_UNIT = {
  id: WWTP,
  name: '庆元县示例城镇污水处理有限公司',
  townshipId: 'mengzhou',
  permitClass: 'key',
} as unknown as Enterprise;

let store: MemoryCaseStore;
let sources: MemorySources;
let workflows: MemoryWorkflows;
let logged: { message: string; fields: Record<string, unknown> }[];
let now: Date;
let cases: CasesService;

beforeEach(() => {
  now = NOW;
  store = new MemoryCaseStore(() => now);
  sources = new MemorySources();
  workflows = new MemoryWorkflows();
  logged = [];
  sources.addTip(tip);
  sources.alarms.set(ALARM_ID, alarm);
  sources.enterprises.set(WWTP, WWTP_UNIT);
  sources.townships.set('songyuan', { id: 'songyuan', name: '松源街道', type: '街道', pinyin: 'songyuan' });
  cases = new CasesService({
    store,
    sources,
    workflows,
    tips: sources.tipRecords,
    now: () => now,
    log: (message, fields) => logged.push({ message, fields }),
  });
});

const failure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as DomainError);
const issuesOf = (e: unknown) => (e as ValidationError).issues;
const seedTask = (t: WorkflowTask) => store.tasks.set(t.taskId, t);

/** The criminal proceedings' task as the follow-up keeps it: no token (the transfer execution ended), 60 days. */
const followUp = (over: Partial<WorkflowTask> = {}): WorkflowTask => {
  const {
    token: _none,
    warnAt: _noWarning,
    ...t
  } = task({
    step: 'criminal_proceedings',
    actors: ['police_liaison', 'procuratorate_liaison'],
    dueAt: '2026-06-06T16:00:00.000Z',
    input: {
      caseId: CASE_ID,
      confirmedItems: ['item5'],
      deadline: { dueAt: '2026-06-06T16:00:00.000Z', basis: 'follow_up', escalationLevel: 0 },
    },
  });
  return { ...t, ...over };
};

describe('who may read and act', () => {
  it('lets a police liaison read a suspected-crime case but not a penalty case', async () => {
    const crime = baseCase({
      status: 'decided',
      decision: {
        type: 'suspected_crime',
        proposedItems: [{ item: 'item2', reference: '法释〔2023〕7号 第一条第（二）项' }],
        confirmedItems: [
          {
            item: 'item2',
            facts: '非法处置废矿物油3.4吨',
            confirmedBy: 'u-head-01',
            confirmedAt: '2026-04-07T02:00:00Z',
          },
        ],
        decidedBy: 'u-head-01',
        decidedAt: '2026-04-07T02:00:00Z',
      },
    });
    store.seed(crime);
    expect((await cases.readCase(CASE_ID, as('police_liaison'))).case.status).toBe('decided');
    store.seed(baseCase());
    expect(await failure(cases.readCase(CASE_ID, as('police_liaison')))).toMatchObject({ status: 403 });
    // the refused read is not audited as a read
    expect(store.audit.filter((a) => a.action === 'case.read')).toHaveLength(1);
  });

  it('keeps a handler who is not on the case team from adding evidence', async () => {
    store.seed(baseCase());
    const err = await failure(
      cases.addEvidence(
        CASE_ID,
        { type: 'object', kind: 'photo', key: 'cases/x/photo.jpg', sha256: 'c'.repeat(64) },
        as('handler', 'u-handler-09'),
      ),
    );
    expect(err).toMatchObject({ status: 403 });
    expect(store.calls.some((c) => c.startsWith('change:'))).toBe(false);
  });

  it('lets a team member add evidence, returning the item', async () => {
    store.seed(baseCase());
    const sha256 = 'c'.repeat(64);
    const out = await cases.addEvidence(
      CASE_ID,
      { type: 'object', kind: 'photo', key: 'cases/x/photo.jpg', sha256 },
      as('handler'),
    );
    expect(out.evidence).toMatchObject({ sha256, addedBy: 'u-handler-01', addedAt: NOW.toISOString() });
    expect(out.version).toBe(4);
  });
});

describe('opening a case', () => {
  const openBody = {
    title: '污水处理厂尾水化学需氧量超标排放',
    unit: { kind: 'registered' as const, enterpriseId: WWTP },
    sources: [
      { kind: 'tip' as const, id: TIP_ID },
      { kind: 'alarm' as const, id: ALARM_ID },
    ],
    handlers: ['u-handler-01', 'u-handler-02'],
  };

  it('opens a case from a substantiated tip and an alarm of the same unit, copying no tip content', async () => {
    const { case: c, version } = await cases.openCase(openBody, as('section_chief'));

    expect(version).toBe(1);
    expect(c).toMatchObject({ status: 'investigating', openedBy: 'u-chief-01' });
    const written = JSON.stringify([...store.cases.values(), store.entries(c.caseId), store.audit]);
    expect(written).not.toContain(tip.description);
    expect(written).not.toContain(tip.location.address);
    // the tip follows its case (已立案), with its own audit entry
    expect(sources.tips.get(TIP_ID)).toMatchObject({ tip: { status: 'case_opened' }, version: 2 });
    expect(sources.tipAudit[0]).toMatchObject({ action: 'tip.status', detail: { caseId: c.caseId } });
  });

  it('takes the unit’s name and township from the registry, and refuses a credit code it does not hold (400)', async () => {
    const { case: c } = await cases.openCase(openBody, as('section_chief'));
    expect(c).toMatchObject({ enterpriseId: WWTP, unitName: WWTP_UNIT.name, townshipId: 'mengzhou' });
    expect(c).not.toHaveProperty('needsRegistration');

    sources.enterprises.clear();
    const unknown = await failure(
      cases.openCase({ ...openBody, sources: [{ kind: 'clue', id: 'JB-1' }] }, as('section_chief')),
    );
    expect(unknown).toMatchObject({ status: 400 });
    expect(issuesOf(unknown)[0]).toMatchObject({
      field: 'body.unit.enterpriseId',
      messageZh: '该统一社会信用代码不在污染源名录中：请先登记，或按未登记场所立案',
    });
  });

  describe('an unregistered site', () => {
    const site = {
      kind: 'unregistered' as const,
      name: '松源某无名竹制品作坊',
      townshipId: 'songyuan',
      address: '某村后山',
    };
    const FINDING = '01JQ7Z3K9M2V4X6Y8A0B1CPATR';
    const anonymousTip = { ...tip, suspectedUnit: undefined } as Tip;

    it('opens only when marked so, flagged for registration and listed until linked', async () => {
      sources.addTip(anonymousTip);
      const { case: c } = await cases.openCase(
        { ...openBody, unit: site, sources: [{ kind: 'tip', id: TIP_ID }] },
        as('section_chief'),
      );
      expect(c).toMatchObject({
        needsRegistration: true,
        unitName: site.name,
        townshipId: 'songyuan',
        unitAddress: '某村后山',
      });
      expect(c).not.toHaveProperty('enterpriseId');
      const pending = await cases.listCases({ needsRegistration: true }, { limit: 10 }, as('section_chief'));
      expect(pending.items.map((x) => x.caseId)).toEqual([c.caseId]);
      expect(pending.items[0]).toMatchObject({ needsRegistration: true, statusZh: '调查中' });

      const linked = await cases.linkUnit(c.caseId, WWTP, as('section_chief'), 1);
      expect(linked.case).toMatchObject({ enterpriseId: WWTP, unitName: WWTP_UNIT.name, townshipId: 'mengzhou' });
      expect(linked.case).not.toHaveProperty('needsRegistration');
      expect((await cases.listCases({ needsRegistration: true }, { limit: 10 }, as('section_chief'))).items).toEqual(
        [],
      );
      expect(store.entries(c.caseId).at(-1)).toMatchObject({ type: 'unit_linked', data: { from: site.name } });
      // a registered case is linked once
      expect(await failure(cases.linkUnit(c.caseId, WWTP, as('section_chief')))).toMatchObject({ status: 409 });
    });

    it('refuses an unknown township, a source naming a registered unit, and a link to an unregistered code', async () => {
      const township = await failure(
        cases.openCase(
          { ...openBody, unit: { ...site, townshipId: 'atlantis' }, sources: [{ kind: 'clue', id: 'JB-2' }] },
          as('section_chief'),
        ),
      );
      expect(issuesOf(township)[0]).toMatchObject({
        field: 'body.unit.townshipId',
        messageZh: '乡镇（街道）不在名录中',
      });
      // an alarm always names its registered unit: it is no source of an unregistered site
      const withAlarm = await failure(cases.openCase({ ...openBody, unit: site }, as('section_chief')));
      expect(issuesOf(withAlarm)[0]).toMatchObject({ field: 'body.sources.0.id' });

      sources.patrols.set(FINDING, { findings: [{}] } as never);
      const { case: c } = await cases.openCase(
        { ...openBody, unit: site, sources: [{ kind: 'patrol', id: `${FINDING}#0` }] },
        as('section_chief'),
      );
      const unregistered = await failure(cases.linkUnit(c.caseId, '91331126MA2BG4R36X', as('section_chief')));
      expect(issuesOf(unregistered)[0]).toMatchObject({ field: 'body.enterpriseId' });
    });

    it('refuses a link while the unit has another case under way, and a handler off the team', async () => {
      sources.addTip(anonymousTip);
      const { case: c } = await cases.openCase(
        { ...openBody, unit: site, sources: [{ kind: 'tip', id: TIP_ID }] },
        as('section_chief'),
      );
      store.seed(baseCase({ caseId: OTHER_CASE, sources: [] }));
      const busy = await failure(cases.linkUnit(c.caseId, WWTP, as('section_chief')));
      expect(busy).toMatchObject({ status: 409 });
      expect(busy?.message).toContain(OTHER_CASE);
      expect(await failure(cases.linkUnit(c.caseId, WWTP, as('handler', 'u-handler-09')))).toMatchObject({
        status: 403,
      });
    });
  });

  it('answers 409 when the unit already has a case under way (attach there instead)', async () => {
    store.seed(baseCase({ caseId: OTHER_CASE, sources: [] }));
    const err = await failure(cases.openCase(openBody, as('section_chief')));
    expect(err).toMatchObject({ status: 409 });
    expect(err?.message).toContain(OTHER_CASE);
    expect(store.calls).not.toContain('create');
  });

  it('answers 409 for a tip not yet found true, and 400 for a source of another unit', async () => {
    sources.addTip({ ...tip, status: 'verifying' });
    const unverified = await failure(cases.openCase(openBody, as('section_chief')));
    sources.addTip({ ...tip, suspectedUnit: { kind: 'registered', enterpriseId: '91331126MA2BG4R36X' } });
    const otherUnit = await failure(
      cases.openCase({ ...openBody, sources: [{ kind: 'tip', id: TIP_ID }] }, as('section_chief')),
    );

    expect(unverified).toMatchObject({ status: 409 });
    expect(otherUnit).toMatchObject({ status: 400 });
    expect(issuesOf(otherUnit)[0]).toMatchObject({
      field: 'body.sources.0.id',
      messageZh: '来源所涉单位与案件当事人不一致',
    });
    expect(store.calls).not.toContain('create');
  });

  it('refuses a tip merged into another, a patrol finding of the wrong form, and a source that does not exist', async () => {
    sources.addTip({ ...tip, mergedInto: '01JNZ3Q8X7K2M4V6W8Y0A1B2T9' });
    expect(await failure(cases.openCase(openBody, as('section_chief')))).toMatchObject({ status: 409 });
    const patrol = await failure(
      cases.openCase({ ...openBody, sources: [{ kind: 'patrol', id: 'not-a-ref' }] }, as('section_chief')),
    );
    expect(issuesOf(patrol)[0]).toMatchObject({
      field: 'body.sources.0.id',
      messageZh: '巡查发现格式为 巡查编号#序号',
    });
    const missing = await failure(
      cases.openCase(
        { ...openBody, sources: [{ kind: 'alarm', id: '01JNK3W7Q8D2V5XG9T4HRB6ZZZ' }] },
        as('section_chief'),
      ),
    );
    expect(missing).toMatchObject({ status: 400 });
  });

  it('answers 409 naming the case when a source is already in another case', async () => {
    store.claims.set(`alarm#${ALARM_ID}`, OTHER_CASE);
    const err = await failure(cases.openCase(openBody, as('section_chief')));
    expect(err).toMatchObject({ status: 409 });
    expect(err?.message).toContain(OTHER_CASE);
    // the tip keeps its status: no case holds it
    expect(sources.tips.get(TIP_ID)?.tip.status).toBe('substantiated');
  });

  it('keeps the case when its tip cannot be marked, and logs why', async () => {
    sources.tipRecords.update = async () => {
      throw new Error('tips table unavailable');
    };
    const { case: c } = await cases.openCase(openBody, as('section_chief'));
    expect(store.cases.has(c.caseId)).toBe(true);
    expect(logged[0]).toMatchObject({ message: 'tip not marked case_opened', fields: { tipId: TIP_ID } });
  });
});

describe('changing a case', () => {
  it('refuses a team of one (the same person twice counts once) with 400, reading nothing', async () => {
    store.seed(baseCase());
    const err = await failure(cases.assignHandlers(CASE_ID, ['u-handler-01', 'u-handler-01'], as('section_chief')));
    expect(err).toMatchObject({ status: 400 });
    expect(issuesOf(err)[0]).toMatchObject({ field: 'body.handlers', messageZh: '调查须有两名以上执法人员' });
    expect(store.calls).toEqual([]);
  });

  it('answers 412 for a change sent with a stale If-Match', async () => {
    store.seed(baseCase());
    const err = await failure(cases.attachSource(CASE_ID, { kind: 'alarm', id: ALARM_ID }, as('handler'), 2));
    expect(err).toMatchObject({ status: 412 });
    expect(store.cases.get(CASE_ID)?.version).toBe(3);
  });

  it('attaches an alarm of the case’s unit and marks an attached tip 已立案', async () => {
    store.seed(baseCase({ sources: [] }));
    await cases.attachSource(CASE_ID, { kind: 'alarm', id: ALARM_ID }, as('handler'), 3);
    const { case: c } = await cases.attachSource(CASE_ID, { kind: 'tip', id: TIP_ID }, as('handler'));
    expect(c.sources.map((s) => s.id)).toEqual([ALARM_ID, TIP_ID]);
    expect(sources.tips.get(TIP_ID)?.tip.status).toBe('case_opened');
  });

  it('answers 404 for an unknown case', async () => {
    expect(await failure(cases.readCase(CASE_ID, as('section_chief')))).toMatchObject({ status: 404 });
    expect(await failure(cases.timeline(CASE_ID, as('section_chief'), { limit: 10 }))).toMatchObject({ status: 404 });
  });

  it('reads a case and audits the read', async () => {
    store.seed(baseCase());
    const record = await cases.readCase(CASE_ID, as('section_chief'));
    expect(record.version).toBe(3);
    expect(store.audit).toEqual([expect.objectContaining({ actor: 'u-chief-01', action: 'case.read' })]);
  });
});

describe('decisions and workflows', () => {
  it('records a penalty on a case from a tip and starts the reward approval, named per case and round', async () => {
    store.seed(baseCase());

    const { record, workflows: started } = await cases.decide(CASE_ID, { decision: penalty }, as('section_chief'));

    expect(record.case.status).toBe('decided');
    expect(started).toMatchObject([{ workflow: 'reward', executionName: `reward-${CASE_ID}-1`, started: true }]);
    expect(workflows.started).toHaveLength(1);
    expect(workflows.started[0]?.input).toEqual({
      caseId: CASE_ID,
      round: 1,
      tipIds: [TIP_ID],
      trigger: 'administrative_penalty',
      decisionNumber: '庆环罚〔2026〕8号',
      decidedOn: '2026-04-07',
      fineFen: 12_000_000,
      // what the machine's Choice steps read: 5% of CNY 120,000 = CNY 6,000, three approvals, the tip's consent
      reward: {
        lines: [expect.objectContaining({ component: 'penalty', amountFen: 600_000 })],
        totalFen: 600_000,
        approvals: [
          expect.objectContaining({ step: 'handler' }),
          expect.objectContaining({ step: 'section_chief' }),
          expect.objectContaining({ step: 'bureau_head' }),
        ],
      },
      commendationConsent: true,
    });
    // the decision, then the timeline note of the start: each with its audit entry
    expect(store.audit.map((a) => a.action)).toEqual(['case.decide', 'case.workflow.start']);
    expect(store.entries(CASE_ID).at(-1)).toMatchObject({ note: '启动举报奖励审批流程' });
  });

  it('starts no reward for a case that did not come from a tip, nor for a penalty without a fine', async () => {
    store.seed(baseCase({ sources: [{ kind: 'alarm', id: ALARM_ID, addedAt: 'x', addedBy: 'y' }] }));
    await cases.decide(CASE_ID, { decision: penalty }, as('section_chief'));
    store.seed(baseCase());
    const warning = { ...penalty, fineFen: 0, items: [{ kind: 'warning' as const }] };
    const { record } = await cases.decide(CASE_ID, { decision: warning }, as('section_chief'));

    expect(record.case.status).toBe('decided');
    expect(workflows.started).toEqual([]);
  });

  it('treats a repeated decision as a retry: records nothing, and an existing execution is not started twice', async () => {
    store.seed(baseCase());
    await cases.decide(CASE_ID, { decision: penalty }, as('section_chief'));
    const audited = store.audit.length;

    const again = await cases.decide(CASE_ID, { decision: penalty }, as('section_chief'));

    expect(again.workflows).toEqual([{ workflow: 'reward', executionName: `reward-${CASE_ID}-1`, started: false }]);
    expect(again.record.version).toBe(4);
    expect(store.audit).toHaveLength(audited);
    expect(workflows.started).toHaveLength(1);
  });

  it('answers 409 for a different decision on a decided case', async () => {
    store.seed(baseCase({ status: 'decided', decision: { ...penalty, decidedBy: 'u-chief-01', decidedAt: 'x' } }));
    const err = await failure(
      cases.decide(
        CASE_ID,
        { decision: { type: 'no_violation', reason: '经查，排放数据系仪器故障所致' } },
        as('section_chief'),
      ),
    );
    expect(err).toMatchObject({ status: 409 });
    expect(workflows.started).toEqual([]);
  });

  describe('suspected crime', () => {
    const crime = (item: 'item2' | 'item4', confirmedBy = 'u-head-01') => ({
      decision: {
        type: 'suspected_crime' as const,
        proposedItems: [],
        confirmedItems: [
          { item, facts: '非法处置废矿物油合计3.4吨', confirmedBy, confirmedAt: '2026-04-07T02:00:00Z' },
        ],
      },
      crimeFacts: {
        labExceedances: [],
        protectedZoneDischarges: [],
        hazardousWaste: [
          { wasteCode: '900-249-08', quantityKg: 3400, description: '厂区后山倾倒废矿物油', evidenceId: EVIDENCE_ID },
        ],
        concealedDischarges: [],
        falsificationFindings: [],
        priorPenalties: [],
      },
    });
    beforeEach(() => {
      store.seed(baseCase());
      sources.enterprises.set(WWTP, { id: WWTP, permitClass: 'key' } as unknown as Enterprise);
    });

    it('takes the platform’s proposal, records the confirmation and starts the judicial transfer', async () => {
      const { record } = await cases.decide(CASE_ID, crime('item2'), as('bureau_head'));

      expect(record.case.decision).toMatchObject({ proposedItems: [{ item: 'item2' }] });
      expect(record.case.proposedCrimeItems).toEqual(['item2']);
      expect(workflows.started).toEqual([
        expect.objectContaining({
          workflow: 'transfer',
          name: `transfer-${CASE_ID}-1`,
          input: { caseId: CASE_ID, round: 1, handlers: ['u-handler-01', 'u-handler-02'], confirmedItems: ['item2'] },
        }),
      ]);
    });

    it('refuses an item the facts do not meet, a confirmation in another’s name, and facts citing no case evidence', async () => {
      const unmet = await failure(cases.decide(CASE_ID, crime('item4'), as('bureau_head')));
      const forged = await failure(cases.decide(CASE_ID, crime('item2', 'u-chief-01'), as('bureau_head')));
      const body = crime('item2');
      const uncited = await failure(
        cases.decide(
          CASE_ID,
          {
            ...body,
            crimeFacts: {
              ...body.crimeFacts,
              hazardousWaste: body.crimeFacts.hazardousWaste.map((w) => ({ ...w, evidenceId: TIP_ID })),
            },
          },
          as('bureau_head'),
        ),
      );
      const noFacts = await failure(cases.decide(CASE_ID, { decision: crime('item2').decision }, as('bureau_head')));

      expect(unmet).toMatchObject({ status: 400 });
      expect(issuesOf(unmet)[0]).toMatchObject({
        field: 'body.decision.confirmedItems.0.item',
        messageZh: '已记录的事实不满足该项入罪标准',
      });
      expect(issuesOf(forged)[0]?.messageZh).toBe('确认人须为本人');
      expect(issuesOf(uncited)[0]?.field).toBe('body.crimeFacts.hazardousWaste.0.evidenceId');
      expect(issuesOf(noFacts)[0]?.field).toBe('body.crimeFacts');
      expect(store.cases.get(CASE_ID)?.case.status).toBe('investigating');
      expect(workflows.started).toEqual([]);
    });
  });
});

describe('tasks', () => {
  it('lists the open tasks of the caller’s role without tokens, with the actions they may take', async () => {
    seedTask(task());
    const out = await cases.myTasks(as('bureau_head'), { limit: 50 });
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(out.items[0]).toMatchObject({ taskId: TASK_ID, stepZh: '负责人审批' });
    expect(out.items[0]?.actions?.map((a) => a.action)).toEqual(['approve', 'reject']);
  });

  it('shows a handler the case-team tasks of their own cases only', async () => {
    store.seed(baseCase());
    store.seed(baseCase({ caseId: OTHER_CASE, handlers: ['u-handler-07', 'u-handler-08'] }));
    seedTask(task({ step: 'handover', actors: ['case_team'] }));
    seedTask(
      task({ taskId: '01JQ8A2B3C4D5E6F7G8H9JTASD', caseId: OTHER_CASE, step: 'handover', actors: ['case_team'] }),
    );

    const out = await cases.myTasks(as('handler'), { limit: 50 });

    expect(out.items.map((t) => t.taskId)).toEqual([TASK_ID]);
  });

  it('pages across the caller’s roles with one cursor, and refuses a role the caller does not hold', async () => {
    seedTask(task());
    seedTask(
      task({ taskId: '01JQ8A2B3C4D5E6F7G8H9JTASE', step: 'eligibility', workflow: 'reward', actors: ['reward_post'] }),
    );
    const both: Caller = { sub: 'u-head-01', roles: ['bureau_head', 'reward_post'] };
    const first = await cases.myTasks(both, { limit: 1 });
    expect(first.items).toHaveLength(1);
    const second = await cases.myTasks(both, { limit: 1, ...(first.cursor ? { cursor: first.cursor } : {}) });
    expect(second.items.map((t) => t.taskId)).not.toEqual(first.items.map((t) => t.taskId));
    expect(await failure(cases.myTasks(as('handler'), { role: 'bureau_head', limit: 5 }))).toMatchObject({
      status: 403,
    });
    expect(await failure(cases.myTasks(both, { limit: 5, cursor: 'bogus' }))).toMatchObject({ status: 400 });
  });

  it('acts on a task: the workflow gets {action, comment, by}, then the task is done', async () => {
    store.seed(baseCase());
    seedTask(task());

    const out = await cases.actOnTask(TASK_ID, { action: 'approve', comment: ' 同意移送 ' }, as('bureau_head'));

    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(out).toMatchObject({ state: 'done', outcome: { action: 'approve', by: 'u-head-01' } });
    expect(workflows.sent).toEqual([
      { token: TOKEN, output: { action: 'approve', comment: '同意移送', by: 'u-head-01' } },
    ]);
    expect(store.entries(CASE_ID).at(-1)).toMatchObject({ by: 'u-head-01', note: '负责人审批：批准移送（同意移送）' });
  });

  describe('reward eligibility needs a reporter the reward post verified through the vault', () => {
    const eligibility = () =>
      task({
        workflow: 'reward',
        executionArn: `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-reward:reward-${CASE_ID}-1`,
        step: 'eligibility',
        actors: ['reward_post'],
        input: { caseId: CASE_ID, tipIds: [TIP_ID] },
      });
    const opening = (id: string): TimelineEntry =>
      ({
        type: 'identity_access',
        id,
        at: '2026-04-08T01:00:00.000Z',
        actor: '奖励岗',
        role: 'reward_post',
        reason: '核实身份',
      }) as TimelineEntry;
    const confirm = () => cases.actOnTask(TASK_ID, { action: 'confirm_eligible' }, as('reward_post'));
    const withTip = (t: Tip, opened: boolean) => {
      store.seed(baseCase());
      seedTask(eligibility());
      sources.addTip(t, 4);
      sources.tipEntries.set(t.id, opened ? [opening('E1')] : []);
    };

    it('refuses an anonymous reporter who has not claimed (409), sending nothing', async () => {
      withTip({ ...tip, reporterKind: 'anonymous', commendationConsent: false }, false);
      const err = await failure(confirm());
      expect(err).toMatchObject({ status: 409 });
      expect(err?.message).toContain('匿名举报人尚未凭查询码申领奖励');
      expect(workflows.sent).toEqual([]);
      expect(store.tasks.get(TASK_ID)?.state).toBe('open');
    });

    it('asks the post to open a known identity first, naming the tip', async () => {
      withTip(tip, false);
      const err = await failure(confirm());
      expect(err).toMatchObject({ status: 409 });
      expect(err?.message).toContain(`/identity/open with a reason, logged; tips ${TIP_ID}`);
      expect(workflows.sent).toEqual([]);
    });

    it("counts a duplicate merged into the round's tip: its claimed, opened identity verifies the reporter", async () => {
      const DUP = '01JNZ3Q8X7K2M4V6W8Y0A1B2T2';
      withTip({ ...tip, reporterKind: 'anonymous', mergedTips: [DUP] }, false);
      sources.addTip({ ...tip, id: DUP, reporterKind: 'anonymous', rewardClaimedAt: '2026-04-08T00:00:00.000Z' }, 2);
      sources.tipEntries.set(DUP, [opening('E2')]);
      await confirm();
      expect(workflows.sent).toHaveLength(1);
    });

    it('lets the post confirm once a claimed identity was opened, and always lets it refuse', async () => {
      withTip({ ...tip, reporterKind: 'anonymous', rewardClaimedAt: '2026-04-08T00:00:00.000Z' }, true);
      await confirm();
      expect(workflows.sent).toHaveLength(1);

      withTip({ ...tip, reporterKind: 'anonymous' }, false);
      seedTask(eligibility());
      await cases.actOnTask(TASK_ID, { action: 'ineligible', comment: '举报人逾期未申领' }, as('reward_post'));
      expect(workflows.sent).toHaveLength(2);
    });
  });

  it('refuses the wrong role with 403 and changes nothing', async () => {
    store.seed(baseCase());
    seedTask(task());
    const err = await failure(cases.actOnTask(TASK_ID, { action: 'approve' }, as('section_chief')));
    expect(err).toMatchObject({ status: 403 });
    expect(workflows.sent).toEqual([]);
    expect(store.tasks.get(TASK_ID)?.state).toBe('open');
  });

  it('refuses the system principal', async () => {
    store.seed(baseCase());
    seedTask(task());
    const err = await failure(
      cases.actOnTask(TASK_ID, { action: 'approve' }, { sub: 'system', roles: ['bureau_head'] }),
    );
    expect(err).toMatchObject({ status: 403 });
  });

  it('refuses a rejection without reasons (400, in Chinese) and an unknown action (400)', async () => {
    store.seed(baseCase());
    seedTask(task());
    const bare = await failure(cases.actOnTask(TASK_ID, { action: 'reject' }, as('bureau_head')));
    const unknown = await failure(cases.actOnTask(TASK_ID, { action: 'file' }, as('bureau_head')));
    expect(bare).toMatchObject({ status: 400 });
    expect(issuesOf(bare)[0]).toMatchObject({ field: 'body.comment', messageZh: '请填写理由' });
    expect(unknown).toMatchObject({ status: 400 });
    expect(workflows.sent).toEqual([]);
  });

  it('answers 409 for a task already done, and 404 for an unknown one', async () => {
    store.seed(baseCase());
    seedTask(task({ state: 'done' }));
    expect(await failure(cases.actOnTask(TASK_ID, { action: 'approve' }, as('bureau_head')))).toMatchObject({
      status: 409,
    });
    expect(
      await failure(cases.actOnTask('01JQ8A2B3C4D5E6F7G8H9JTASZ', { action: 'approve' }, as('bureau_head'))),
    ).toMatchObject({ status: 404 });
    expect(workflows.sent).toEqual([]);
  });

  it('answers 409 and changes nothing when Step Functions no longer waits for the token', async () => {
    store.seed(baseCase());
    seedTask(task());
    workflows.stale.add(TOKEN);
    expect(await failure(cases.actOnTask(TASK_ID, { action: 'approve' }, as('bureau_head')))).toMatchObject({
      status: 409,
    });
    expect(store.tasks.get(TASK_ID)?.state).toBe('open');
  });

  it('answers 409 when someone else completed the task between the token hand-over and the write', async () => {
    store.seed(baseCase());
    seedTask(task());
    const send = workflows.sendSuccess.bind(workflows);
    workflows.sendSuccess = async (token, output) => {
      await send(token, output);
      seedTask(task({ state: 'done' }));
    };
    expect(await failure(cases.actOnTask(TASK_ID, { action: 'approve' }, as('bureau_head')))).toMatchObject({
      status: 409,
    });
  });
});

describe('reward rounds and the ledger', () => {
  const REWARD_EXEC = (round: number) =>
    `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-reward:reward-${CASE_ID}-${round}`;
  const paymentTask = (round: number, over: Partial<WorkflowTask> = {}) =>
    task({ workflow: 'reward', executionArn: REWARD_EXEC(round), step: 'payment', actors: ['reward_post'], ...over });
  const outcomeTask = (over: Partial<WorkflowTask> = {}) => followUp(over);
  const penalised = baseCase({
    status: 'decided',
    decision: { ...penalty, decidedBy: 'u-chief-01', decidedAt: '2026-04-07T02:00:00.000Z' } as Case['decision'],
  });
  const line = (component: string, amountFen: number, labelZh: string) =>
    ({ component, amountFen, labelZh, basis: 'test' }) as never;
  const act = (role: Role, action: string, comment?: string) =>
    cases.actOnTask(TASK_ID, { action, ...(comment ? { comment } : {}) }, as(role));

  it('records round 1’s penalty as granted with the payment', async () => {
    store.seed(penalised);
    seedTask(paymentTask(1));

    await act('reward_post', 'paid', '庆环奖付〔2026〕3号，2026-05-20转账');

    // 5 % of CNY 120,000 = CNY 6,000
    expect(store.granted.get(CASE_ID)).toEqual([
      expect.objectContaining({ component: 'penalty', amountFen: 600_000, round: 1 }),
    ]);
    expect(store.tasks.get(TASK_ID)?.state).toBe('done');
  });

  it('records nothing twice: a retried payment is refused (409) and writes no ledger', async () => {
    store.seed(penalised);
    seedTask(paymentTask(1, { state: 'done' }));
    expect(await failure(act('reward_post', 'paid', '庆环奖付〔2026〕3号'))).toMatchObject({ status: 409 });
    expect(workflows.sent).toEqual([]);
    expect(store.granted.get(CASE_ID)).toBeUndefined();
  });

  it('answers 409 when a component of the round was paid before, naming it', async () => {
    store.seed(penalised);
    seedTask(paymentTask(1));
    store.granted.set(CASE_ID, [{ component: 'penalty', amountFen: 600_000, round: 1, grantedAt: 'x' }]);
    const err = await failure(act('reward_post', 'paid', '庆环奖付〔2026〕3号'));
    expect(err).toMatchObject({ status: 409 });
    expect(err?.message).toContain('不得重复发放');
  });

  it('pays a later round only its own lines, from the ledger', async () => {
    store.seed(baseCase());
    seedTask(paymentTask(2));
    store.rounds.set(CASE_ID, [
      { round: 2, lines: [line('conviction', 1_000_000, '判决有罪奖励')], startedAt: '2026-05-01T00:00:00.000Z' },
    ]);
    store.granted.set(CASE_ID, [{ component: 'penalty', amountFen: 600_000, round: 1, grantedAt: 'x' }]);

    await act('reward_post', 'paid', '庆环奖付〔2026〕9号');

    expect(store.granted.get(CASE_ID)?.at(-1)).toEqual(
      expect.objectContaining({ component: 'conviction', amountFen: 1_000_000, round: 2 }),
    );
  });

  it('refuses (409) a payment whose round has no recorded lines, before handing the token over', async () => {
    store.seed(baseCase());
    seedTask(paymentTask(3));
    expect(await failure(act('reward_post', 'paid', '庆环奖付〔2026〕9号'))).toMatchObject({ status: 409 });
    expect(workflows.sent).toEqual([]);
  });

  it('starts round 2 with only the conviction (CNY 10,000) after a paid penalty', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(outcomeTask());
    store.granted.set(CASE_ID, [{ component: 'penalty', amountFen: 600_000, round: 1, grantedAt: 'x' }]);

    await act('police_liaison', 'record_conviction', '庆元县人民法院（2026）浙1126刑初45号判决');

    expect(workflows.started).toHaveLength(1);
    const start = workflows.started[0];
    expect(start?.name).toBe(`reward-${CASE_ID}-2`);
    expect(start?.workflow).toBe('reward');
    expect(start?.input).toMatchObject({
      caseId: CASE_ID,
      round: 2,
      tipIds: [TIP_ID],
      trigger: 'conviction',
      commendationConsent: true,
    });
    const reward = start?.input.reward as {
      totalFen: number;
      lines: { component: string }[];
      approvals: { step: string }[];
    };
    expect(reward.totalFen).toBe(1_000_000);
    expect(reward.lines.map((l) => l.component)).toEqual(['conviction']);
    expect(reward.approvals.map((a) => a.step)).toEqual(['handler', 'section_chief', 'bureau_head']);
    // the round is claimed before it starts, noted on the timeline
    expect(store.rounds.get(CASE_ID)?.map((r) => r.round)).toEqual([2]);
    expect(store.roundClaims.get(`${CASE_ID}#conviction`)).toBe(2);
    expect(store.calls.indexOf('claimRewardRound')).toBeGreaterThan(store.calls.indexOf('completeTask'));
    expect(store.entries(CASE_ID).map((e) => e.note)).toContain('第2轮举报奖励：判决有罪奖励');
    expect(store.entries(CASE_ID).at(-1)).toMatchObject({ note: '启动第2轮举报奖励审批流程' });
  });

  it('puts a conviction after a detention still under approval into round 3, without the detention', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(outcomeTask());
    store.rounds.set(CASE_ID, [
      { round: 2, lines: [line('detention', 500_000, '行政拘留奖励')], startedAt: '2026-05-01T00:00:00.000Z' },
    ]);

    await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');

    expect(workflows.started[0]?.name).toBe(`reward-${CASE_ID}-3`);
    expect(workflows.started[0]?.input.reward).toMatchObject({
      totalFen: 1_000_000,
      lines: [expect.objectContaining({ component: 'conviction' })],
    });
  });

  it('starts nothing new for a conviction some round already pays, nor when the claim loses a race', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(outcomeTask());
    store.rounds.set(CASE_ID, [
      { round: 2, lines: [line('conviction', 1_000_000, '判决有罪奖励')], startedAt: '2026-05-01T00:00:00.000Z' },
    ]);
    await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');
    expect(workflows.started).toEqual([]);
    expect(store.calls).not.toContain('claimRewardRound'); // the task only, no claim

    store.rounds.clear();
    seedTask(outcomeTask());
    // another outcome claimed the component meanwhile
    store.roundClaims.set(`${CASE_ID}#conviction`, 2);
    await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');
    expect(store.calls).toContain('claimRewardRound');
    expect(workflows.started).toEqual([]);
  });

  it('starts nothing on a retried conviction act (the task is done: 409)', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(outcomeTask({ state: 'done' }));
    expect(await failure(act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号'))).toMatchObject({
      status: 409,
    });
    expect(workflows.started).toEqual([]);
  });

  it('starts nothing for a case without a tip, nor for an outcome that carries no reward', async () => {
    store.seed(
      baseCase({
        status: 'transferred',
        sources: [{ kind: 'alarm', id: ALARM_ID, addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-handler-01' }],
      }),
    );
    seedTask(outcomeTask());
    await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');
    expect(workflows.started).toEqual([]);
    expect(store.calls).not.toContain('claimRewardRound');

    store.seed(baseCase({ status: 'transferred' }));
    seedTask(outcomeTask());
    await act('police_liaison', 'return_for_penalty', '情节轻微，不起诉');
    expect(workflows.started).toEqual([]);
  });
});

describe('deadlines', () => {
  const deadline = {
    taskId: TASK_ID,
    caseId: CASE_ID,
    workflow: 'transfer' as const,
    step: 'head_decision',
    actors: ['bureau_head'],
    dueAt: '2026-04-10T16:00:00.000Z',
    warnAt: '2026-04-09T16:00:00.000Z',
    state: 'open' as const,
  };

  it('lists the deadlines of a range, with where each stands', async () => {
    // the day before the head's 3-day period ends: in its warning window
    now = new Date('2026-04-10T01:00:00.000Z');
    store.deadlines.set(TASK_ID, deadline);
    store.deadlines.set('late', { ...deadline, taskId: 'late', dueAt: '2026-04-20T00:00:00.000Z' });

    const out = await cases.deadlines({ from: '2026-04-06T16:00:00+00:00', to: '2026-04-13T16:00:00Z', limit: 50 });

    expect(out.items.map((d) => [d.taskId, d.status])).toEqual([[TASK_ID, 'warning']]);
    store.deadlines.set(TASK_ID, { ...deadline, state: 'lapsed' });
    expect((await cases.deadlines({ limit: 50 })).items[0]?.status).toBe('overdue');
  });

  it('defaults to the coming seven days', async () => {
    store.deadlines.set(TASK_ID, { ...deadline, dueAt: '2026-04-14T02:00:00.000Z' });
    store.deadlines.set('late', { ...deadline, taskId: 'late', dueAt: '2026-04-14T02:00:01.000Z' });
    const out = await cases.deadlines({ limit: 50 });
    expect(out.items.map((d) => d.taskId)).toEqual([TASK_ID]);
  });

  it('refuses a range that ends before it starts, or is not a time, with 400', async () => {
    const backwards = await failure(
      cases.deadlines({ from: '2026-04-13T00:00:00Z', to: '2026-04-06T00:00:00Z', limit: 5 }),
    );
    expect(backwards).toMatchObject({ status: 400 });
    expect(issuesOf(backwards)[0]?.field).toBe('query.from');
    const notATime = await failure(cases.deadlines({ from: 'next week', to: '2026-04-06T00:00:00Z', limit: 5 }));
    expect(issuesOf(notATime)[0]).toMatchObject({
      field: 'query.from',
      messageZh: '时间格式无效，应为 ISO 8601（如 2026-05-01T08:30:00+08:00）',
    });
  });
});

describe('the criminal proceedings, followed after the transfer execution ended', () => {
  const police = as('police_liaison');

  it('keeps the liaisons’ task going on an outcome the step stays in: done with the next 60 days in one write', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(followUp());
    now = new Date('2026-05-20T02:00:00.000Z');

    await cases.actOnTask(TASK_ID, { action: 'record_arrest_approved', comment: '庆检捕〔2026〕12号' }, police);

    expect(workflows.sent).toEqual([]); // no execution waits on it
    expect(store.tasks.get(TASK_ID)).toMatchObject({ state: 'done', outcome: { action: 'record_arrest_approved' } });
    const open = [...store.tasks.values()].filter((t) => t.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      step: 'criminal_proceedings',
      actors: ['police_liaison', 'procuratorate_liaison'],
      dueAt: '2026-07-20T16:00:00.000Z', // 60 days after 20 May is Sunday 19 July: Monday, 24:00 Beijing
      createdAt: now.toISOString(),
      input: {
        caseId: CASE_ID,
        previousDecision: { action: 'record_arrest_approved', comment: '庆检捕〔2026〕12号' },
        deadline: { basis: 'follow_up', escalationLevel: 0, dueAt: '2026-07-20T16:00:00.000Z' },
      },
    });
    expect(open[0]?.token).toBeUndefined();
    expect(store.deadlines.get(open[0]?.taskId ?? '')).toMatchObject({ state: 'open', dueAt: open[0]?.dueAt });
    expect(store.calls.filter((c) => c === 'recordTask')).toEqual([]); // written with the completion
    // the arrest starts its reward round, once
    expect(workflows.started.map((w) => w.name)).toEqual([`reward-${CASE_ID}-2`]);
    expect((await cases.myTasks(police, { limit: 50 })).items.map((t) => t.taskId)).toEqual([open[0]?.taskId]);
  });

  it('ends the transfer on a conviction: the case closes, no task stays open, the round starts once', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(followUp());

    await cases.actOnTask(TASK_ID, { action: 'record_conviction', comment: '（2026）浙1126刑初45号' }, police);

    expect(store.cases.get(CASE_ID)?.case).toMatchObject({ status: 'closed', closedAt: NOW.toISOString() });
    expect([...store.tasks.values()].filter((t) => t.state === 'open')).toEqual([]);
    const notes = store.entries(CASE_ID).map((e) => e.note);
    expect(notes).toContain('流程结束：刑事判决已生效');
    expect(notes).toContain('刑事诉讼进展反馈：判决有罪（（2026）浙1126刑初45号）');
    expect(workflows.started.map((w) => w.name)).toEqual([`reward-${CASE_ID}-2`]);

    // the same act again: the task is done (409), nothing recorded or started twice
    expect(await failure(cases.actOnTask(TASK_ID, { action: 'record_conviction' }, police))).toMatchObject({
      status: 409,
    });
    expect(workflows.started).toHaveLength(1);
    expect(notes.filter((n) => n === '流程结束：刑事判决已生效')).toHaveLength(1);
  });

  it('sends the case back to the bureau on a return for a penalty', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(followUp());
    await cases.actOnTask(TASK_ID, { action: 'return_for_penalty', comment: '情节轻微，不起诉' }, police);
    expect(store.cases.get(CASE_ID)?.case.status).toBe('investigating');
    expect([...store.tasks.values()].filter((t) => t.state === 'open')).toEqual([]);
  });

  it('refuses (409) a task without a token at a step no follow-up keeps, changing nothing', async () => {
    store.seed(baseCase({ status: 'decided' }));
    const { token: _t, ...tokenless } = task();
    seedTask(tokenless);
    expect(await failure(cases.actOnTask(TASK_ID, { action: 'approve' }, as('bureau_head')))).toMatchObject({
      status: 409,
    });
    expect(store.tasks.get(TASK_ID)?.state).toBe('open');
  });

  it('refuses (409) an act on a follow-up the sweep re-armed meanwhile; the new period’s task takes it', async () => {
    store.seed(baseCase({ status: 'transferred' }));
    seedTask(followUp());
    const stale = store.tasks.get(TASK_ID) as WorkflowTask;
    seedTask({ ...stale, state: 'lapsed' });
    expect(await failure(cases.actOnTask(TASK_ID, { action: 'record_detention' }, police))).toMatchObject({
      status: 409,
    });
    expect(workflows.started).toEqual([]);
  });
});
