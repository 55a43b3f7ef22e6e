import { beforeEach, describe, expect, it } from 'vitest';
import { CaseTaskEvent } from '#shared/contracts/case-tasks.ts';
import type { Case } from '#shared/domain/cases/model.ts';
import type { DeadlineView, WorkflowTask } from '#shared/domain/cases/ports.ts';
import { enterStep, escalateTimer, seededUlid, taskIdFor } from '#shared/domain/cases/timers.ts';
import {
  CLAIM_INVITATION,
  caseTasks,
  deadlineWarningMessage,
  escalationMessage,
  taskInput,
  warnDeadlines,
} from '#shared/domain/cases/workflow-tasks.ts';
import { ULID_PATTERN } from '#shared/domain/ids.ts';
import type { Tip } from '#shared/domain/tips/model.ts';
import { MemoryCaseStore, MemorySources, memoryBureau } from '../../helpers/memory-cases.ts';

/**
 * The case-tasks use-case (workflow-tasks.ts) over in-memory cases, tips and bureau topic: what each event kind
 * records on the case, returns to the state machine and sends to the bureau and the reporters.
 */
const NOW = new Date('2026-11-30T02:00:00Z'); // Monday 10:00 Beijing
const CASE = '01KB2N0G5Z8K3M4P6Q7R8S9T0V';
const TIP = '01KB2N0G5Z8K3M4P6Q7R8S9TIP';
const EXEC =
  'arn:aws:states:cn-north-1:123456789012:execution:EnvWatch-prod-Transfer:transfer-01KB2N0G5Z8K3M4P6Q7R8S9T0V';

const aCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE,
  unitName: '庆元县示例城镇污水处理有限公司',
  townshipId: 'songyuan',
  title: '污水处理厂尾水超标',
  sources: [{ kind: 'tip', id: TIP, addedAt: '2026-11-01T00:00:00.000Z', addedBy: 'u-handler-01' }],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'decided',
  evidence: [],
  openedAt: '2026-11-01T00:00:00.000Z',
  openedBy: 'u-handler-01',
  updatedAt: '2026-11-01T00:00:00.000Z',
  version: 4,
  ...over,
});

const tip = (id: string, over: Partial<Tip> = {}): Tip => ({
  id,
  channel: 'web',
  category: 'water',
  description: '溪水发黑',
  location: { townshipId: 'songyuan', address: '松源溪' },
  observedAt: '2026-11-01T01:00:00.000Z',
  reporterKind: 'anonymous',
  insider: false,
  commendationConsent: false,
  evidence: [],
  status: 'case_opened',
  finding: 'substantiated',
  receivedAt: '2026-11-01T02:00:00.000Z',
  updatedAt: '2026-11-02T02:00:00.000Z',
  ...over,
});

let store: MemoryCaseStore;
let sources: MemorySources;
let bureau: ReturnType<typeof memoryBureau>;

const run = () => caseTasks({ store, reporters: sources, notifyBureau: bureau.notify, now: () => NOW });

beforeEach(() => {
  store = new MemoryCaseStore(() => NOW);
  sources = new MemorySources();
  bureau = memoryBureau();
  store.seed(aCase());
  sources.addTip(tip(TIP));
});

const base = { caseId: CASE, executionArn: EXEC };
const parse = (e: unknown) => CaseTaskEvent.parse(e);
const recorded = () => [...store.tasks.values()];
const workflowNotes = () =>
  store
    .entries(CASE)
    .filter((e) => e.data?.event === 'workflow_step')
    .map((e) => e.note);

describe('case-tasks timers', () => {
  it('starts the head decision on entry and the 24 h hand-over by the clock', () => {
    const head = enterStep('transfer', 'head_decision', undefined, 'submit_report', NOW, 'seed');
    // 3 days after Monday 30 Nov, ending 24:00 Beijing on Thursday 3 Dec
    expect(head.dueAt).toBe('2026-12-03T16:00:00.000Z');
    expect(head.timeoutSeconds).toBe((Date.parse('2026-12-03T16:00:00Z') - NOW.getTime()) / 1000);
    const handover = enterStep('transfer', 'handover', head, 'approve', NOW, 'seed');
    expect(handover.timeoutSeconds).toBe(86_400);
    expect(handover.clocks).toMatchObject({ head_decision: NOW.toISOString(), handover: NOW.toISOString() });
  });

  it('gives the eligibility review 5 working days, skipping National Day and counting the worked Saturday', () => {
    const at = new Date('2026-09-29T02:00:00Z'); // Tue; 1–7 Oct off, Sat 10 Oct worked
    const t = enterStep('reward', 'eligibility', undefined, undefined, at, 'seed');
    // 30 Sep, 8 Oct, 9 Oct, 10 Oct (adjusted working Saturday), 12 Oct → ends 24:00 Beijing on 12 Oct
    expect(t.dueAt).toBe('2026-10-12T16:00:00.000Z');
    expect(t.basis).toBe('sla');
  });

  it('sets no timer on a step that is no wait (the follow-up keeps the criminal proceedings)', () => {
    const t = enterStep('transfer', 'criminal_proceedings', undefined, 'hand_over_items', NOW, 'seed');
    expect(t.timeoutSeconds).toBeUndefined();
    expect(t.dueAt).toBeUndefined();
  });

  it('keeps the complex-case extension once chosen, even after a later clue-check request', () => {
    const complex = enterStep('transfer', 'police_review', undefined, 'extend_complex', NOW, 'a');
    expect(complex.extension).toBe('complex');
    expect(enterStep('transfer', 'police_review', complex, 'extend_clue_check', NOW, 'b').extension).toBe('complex');
  });

  it('derives the same task id for the same entry and level, another for the next level', () => {
    const t = enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed');
    expect(taskIdFor(t)).toBe(taskIdFor({ ...t }));
    expect(taskIdFor(t)).toMatch(ULID_PATTERN);
    expect(taskIdFor(escalateTimer(t, NOW))).not.toBe(taskIdFor(t));
    expect(seededUlid(NOW.getTime(), 'x').slice(0, 10)).toBe(seededUlid(NOW.getTime(), 'y').slice(0, 10));
  });
});

describe('case-tasks events', () => {
  it('refuses a step the workflow does not have, and an event without its token', () => {
    expect(
      CaseTaskEvent.safeParse({ kind: 'record', workflow: 'reward', step: 'arrest', ...base, state: { caseId: CASE } })
        .success,
    ).toBe(false);
    const timer = enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed');
    expect(
      CaseTaskEvent.safeParse({ kind: 'task', workflow: 'transfer', step: 'handover', ...base, timer, input: {} })
        .success,
    ).toBe(false);
  });
});

describe('caseTasks', () => {
  it('records a task with the step actors, its deadline and what the actor sees, never the timer internals', async () => {
    const timer = enterStep('transfer', 'head_decision', undefined, 'submit_report', NOW, 'seed');
    const state = { caseId: CASE, package: { manifestSha256: 'ab'.repeat(32) }, Payload: { timer } };
    const out = await run()(
      parse({
        kind: 'task',
        workflow: 'transfer',
        step: 'head_decision',
        ...base,
        token: 'tok-1',
        timer,
        input: state,
      }),
    );
    expect(out).toEqual({ taskId: taskIdFor(timer) });
    expect(recorded()).toHaveLength(1);
    expect(recorded()[0]).toMatchObject({
      caseId: CASE,
      workflow: 'transfer',
      step: 'head_decision',
      actors: ['bureau_head'],
      token: 'tok-1',
      dueAt: timer.dueAt,
      warnAt: timer.warnAt,
      state: 'open',
    });
    expect(recorded()[0]?.input).toEqual({
      caseId: CASE,
      package: { manifestSha256: 'ab'.repeat(32) },
      deadline: {
        dueAt: timer.dueAt,
        warnAt: timer.warnAt,
        basis: 'head_decision',
        labelZh: '负责人审批是否移送',
        escalationLevel: 0,
      },
    });
    // the timeline says what waits, and the deadline is listed with its statutory kind
    expect(store.entries(CASE).at(-1)).toMatchObject({ by: 'system', note: '待办：负责人审批' });
    expect(store.deadlines.get(taskIdFor(timer))).toMatchObject({ kind: 'head_decision', state: 'open' });
  });

  it('records a retried task once (same task id, or same token)', async () => {
    const timer = enterStep('transfer', 'head_decision', undefined, 'submit_report', NOW, 'seed');
    const task = parse({
      kind: 'task',
      workflow: 'transfer',
      step: 'head_decision',
      ...base,
      token: 't',
      timer,
      input: base,
    });
    await run()(task);
    await run()(task);
    expect(recorded()).toHaveLength(1);
    expect(store.entries(CASE).filter((e) => e.data?.event === 'task_opened')).toHaveLength(1);
  });

  it('lapses the task, tells the bureau in Chinese and grants 24 hours more on a first lapse', async () => {
    const timer = enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed');
    await run()(
      parse({ kind: 'task', workflow: 'transfer', step: 'handover', ...base, token: 't', timer, input: base }),
    );
    const next = (await run()(
      parse({ kind: 'escalate', workflow: 'transfer', step: 'handover', ...base, timer, maxEscalations: 2 }),
    )) as { level: number; timeoutSeconds: number };
    expect(store.tasks.get(taskIdFor(timer))?.state).toBe('lapsed');
    expect(store.deadlines.get(taskIdFor(timer))?.state).toBe('lapsed');
    expect(store.entries(CASE).at(-1)?.note).toBe('向公安机关移送（抄送检察院）：已超期，升级处理');
    expect(next).toMatchObject({ level: 1, timeoutSeconds: 86_400 });
    expect(bureau.sent).toHaveLength(1);
    expect(bureau.sent[0]?.textZh).toContain('【案件督办】');
    expect(bureau.sent[0]?.textZh).toContain('科室负责人');
    expect(bureau.sent[0]?.attributes).toMatchObject({ kind: 'case_escalation', caseId: CASE, level: '1' });
  });

  it('says the workflow stopped after the last escalation, and still escalates when the task was never recorded', async () => {
    const timer = { ...enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed'), level: 2 };
    const next = (await run()(
      parse({ kind: 'escalate', workflow: 'transfer', step: 'handover', ...base, timer, maxEscalations: 2 }),
    )) as { level: number };
    expect(next.level).toBe(3);
    expect(store.calls).not.toContain('lapseTask');
    expect(bureau.sent[0]?.textZh).toContain('【案件超期】');
    expect(bureau.sent[0]?.attributes.kind).toBe('case_deadline_lapsed');
  });

  it('leaves a task done meanwhile as it is when its timer fires', async () => {
    const timer = enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed');
    await run()(
      parse({ kind: 'task', workflow: 'transfer', step: 'handover', ...base, token: 't', timer, input: base }),
    );
    const task = store.tasks.get(taskIdFor(timer)) as WorkflowTask;
    store.tasks.set(task.taskId, { ...task, state: 'done' });
    await run()(parse({ kind: 'escalate', workflow: 'transfer', step: 'handover', ...base, timer, maxEscalations: 2 }));
    expect(store.tasks.get(task.taskId)?.state).toBe('done');
    expect(store.calls).not.toContain('lapseTask');
  });

  it('decides the reward system steps from the round and records each choice', async () => {
    const decide = (step: string, state: Record<string, unknown>) =>
      run()(parse({ kind: 'system', workflow: 'reward', step, ...base, state: { caseId: CASE, ...state } }));
    const gov = { totalFen: 30_000_000, approvals: [{ step: 'bureau_head' }, { step: 'county_government' }] };
    expect(await decide('amount', { reward: gov })).toEqual({ action: 'amount_payable', by: 'system' });
    expect(await decide('amount', { reward: { totalFen: 0, approvals: [] } })).toMatchObject({
      action: 'nothing_payable',
    });
    expect(await decide('government_route', { reward: gov })).toMatchObject({ action: 'needs_government' });
    expect(await decide('government_route', { reward: { totalFen: 150_000, approvals: [] } })).toMatchObject({
      action: 'no_government',
    });
    expect(await decide('commendation_route', { commendationConsent: true })).toMatchObject({ action: 'consented' });
    expect(await decide('commendation_route', {})).toMatchObject({ action: 'no_consent' });
    expect(workflowNotes()[0]).toBe('计算奖励金额：有应发奖励');
  });

  it('records the outcome of a finished workflow on the timeline', async () => {
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'concluded', ...base, state: { caseId: CASE } }));
    expect(store.entries(CASE)[0]).toMatchObject({
      type: 'transfer_step',
      by: 'system',
      note: '流程结束：刑事判决已生效',
      at: NOW.toISOString(),
      data: { event: 'workflow_step', workflow: 'transfer', step: 'concluded' },
    });
    // decided → transferred → closed, each change audited
    expect(store.cases.get(CASE)?.case).toMatchObject({ status: 'closed', closedAt: NOW.toISOString() });
    expect(store.audit.filter((a) => a.action === 'case.status').map((a) => a.detail?.to)).toEqual([
      'transferred',
      'closed',
    ]);
  });

  it('changes nothing on a retried outcome, and stops where the lifecycle does not allow the next status', async () => {
    const record = parse({ kind: 'record', workflow: 'transfer', step: 'concluded', ...base, state: { caseId: CASE } });
    await run()(record);
    await run()(record);
    expect(store.audit.filter((a) => a.action === 'case.status')).toHaveLength(2);

    store.seed(aCase({ status: 'open' }));
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'returned', ...base, state: { caseId: CASE } }));
    expect(store.cases.get(CASE)?.case.status).toBe('open');
  });

  it('tells the reporter through the receipt how a reward round ended, and nothing else', async () => {
    const state = { caseId: CASE, tipIds: [TIP], reward: { totalFen: 600_000, approvals: [] } };
    await run()(parse({ kind: 'record', workflow: 'reward', step: 'done', ...base, state }));
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'concluded', ...base, state }));
    expect(sources.posted.map(({ tipId, text }) => ({ tipId, text }))).toEqual([
      { tipId: TIP, text: expect.stringContaining('举报奖励 6000.00 元已审批发放') },
    ]);
    expect(sources.posted[0]?.detail).toEqual({ via: 'reward-workflow' });
  });

  it('moves the case back to the bureau when the police return it, and leaves a reward round alone', async () => {
    await run()(parse({ kind: 'record', workflow: 'reward', step: 'done', ...base, state: { caseId: CASE } }));
    expect(store.cases.get(CASE)?.case.status).toBe('decided');
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'returned', ...base, state: { caseId: CASE } }));
    const c = store.cases.get(CASE)?.case;
    expect(c?.status).toBe('investigating');
    // leaving `decided` for `investigating` clears the decision
    expect(c).not.toHaveProperty('decision');
  });

  it('moves the case to transferred when the police receipt task opens', async () => {
    const timer = enterStep('transfer', 'police_receipt', undefined, 'hand_over', NOW, 'seed');
    await run()(
      parse({ kind: 'task', workflow: 'transfer', step: 'police_receipt', ...base, token: 't', timer, input: base }),
    );
    expect(store.cases.get(CASE)?.case.status).toBe('transferred');
  });

  it('shows the previous decision but not the internal fields in a task input', () => {
    const timer = enterStep('reward', 'payment', undefined, 'approve', NOW, 's');
    const shown = taskInput(
      { caseId: CASE, decision: { action: 'approve', comment: '同意', by: 'bureau-head-1' }, lapse: { Error: 'x' } },
      timer,
    );
    expect(shown).toMatchObject({ caseId: CASE, previousDecision: { action: 'approve', comment: '同意' } });
    expect(shown).not.toHaveProperty('lapse');
    expect(shown).not.toHaveProperty('decision');
    expect(escalationMessage({ caseId: CASE, workflow: 'reward', step: 'payment' }, timer, 2, 2).textZh).toContain(
      '分局负责人',
    );
  });
});

describe('the claim invitation', () => {
  const TIPS = {
    anonymous: tip('01KB2N0G5Z8K3M4P6Q7R8S9TA1'),
    named: tip('01KB2N0G5Z8K3M4P6Q7R8S9TA2', { reporterKind: 'real_name' }),
    claimed: tip('01KB2N0G5Z8K3M4P6Q7R8S9TA3', { rewardClaimedAt: '2026-11-20T00:00:00.000Z' }),
  };
  const eligibility = (tipIds: string[], t = enterStep('reward', 'eligibility', undefined, undefined, NOW, 'seed')) =>
    parse({
      kind: 'task',
      workflow: 'reward',
      step: 'eligibility',
      ...base,
      token: `tok-${t.level}`,
      timer: t,
      input: { caseId: CASE, tipIds },
    });

  beforeEach(() => {
    for (const t of Object.values(TIPS)) sources.addTip(t, 3);
  });

  it('posts the invitation to an anonymous reporter who has not claimed, and to no one else', async () => {
    await run()(eligibility(Object.values(TIPS).map((t) => t.id)));
    expect(sources.posted).toHaveLength(1);
    expect(sources.posted[0]).toMatchObject({
      tipId: TIPS.anonymous.id,
      text: CLAIM_INVITATION,
      detail: { via: 'reward-workflow', kind: 'claim_invitation' },
    });
    expect(CLAIM_INVITATION).toContain('仅举报奖励岗可以查看');
  });

  it('invites once per entry into eligibility, escalations and retries included, with an id seeded by the entry', async () => {
    const timer = enterStep('reward', 'eligibility', undefined, undefined, NOW, 'seed');
    await run()(eligibility([TIPS.anonymous.id], timer));
    await run()(eligibility([TIPS.anonymous.id], timer));
    await run()(eligibility([TIPS.anonymous.id], escalateTimer(timer, NOW)));
    const payment = enterStep('reward', 'payment', timer, 'approve', NOW, 'seed');
    await run()(
      parse({
        kind: 'task',
        workflow: 'reward',
        step: 'payment',
        ...base,
        token: 'p',
        timer: payment,
        input: { caseId: CASE, tipIds: [TIPS.anonymous.id] },
      }),
    );
    expect(sources.posted.map((p) => p.id)).toEqual([
      seededUlid(Date.parse(timer.enteredAt), `${timer.entryId}#claim-invitation#${TIPS.anonymous.id}`),
    ]);
  });

  it('invites the first valid reporter of a merged group: an earlier anonymous duplicate, not the primary', async () => {
    const primary = tip('01KB2N0G5Z8K3M4P6Q7R8S9TB1', {
      reporterKind: 'real_name',
      reportedAt: '2026-11-02T00:00:00.000Z',
      mergedTips: ['01KB2N0G5Z8K3M4P6Q7R8S9TB2'],
    });
    const earlier = tip('01KB2N0G5Z8K3M4P6Q7R8S9TB2', {
      status: 'triaging',
      finding: undefined,
      reportedAt: '2026-11-01T00:00:00.000Z',
      mergedInto: primary.id,
    });
    for (const t of [primary, earlier]) sources.addTip(t, 2);
    await run()(eligibility([primary.id]));
    expect(sources.posted.map((p) => p.tipId)).toEqual([earlier.id]);
  });
});

describe('deadline warnings', () => {
  const due = (over: Partial<DeadlineView> = {}): DeadlineView => ({
    taskId: '01KB2N0G5Z8K3M4P6Q7R8S9TK1',
    caseId: CASE,
    workflow: 'transfer',
    step: 'head_decision',
    stepLabelZh: '负责人审批',
    kind: 'head_decision',
    actors: ['bureau_head'],
    dueAt: '2026-12-03T16:00:00.000Z',
    warnAt: '2026-12-02T16:00:00.000Z',
    state: 'open',
    ...over,
  });

  it('tells the bureau who must act on which step, by when (Beijing time), with a dedupe id', () => {
    const m = deadlineWarningMessage(due({ actors: ['case_team'], step: 'handover', stepLabelZh: undefined }));
    expect(m.textZh).toBe(
      '【案件期限提醒】案件 01KB2N0G5Z8K3M4P6Q7R8S9T0V 涉嫌犯罪案件移送「向公安机关移送（抄送检察院）」环节将于 2026-12-04 00:00 到期，请专案组及时办理。',
    );
    expect(m.attributes).toMatchObject({
      kind: 'case_deadline_warning',
      step: 'handover',
      actors: 'case_team',
      dedupeId: '01KB2N0G5Z8K3M4P6Q7R8S9TK1#warn',
    });
    expect(deadlineWarningMessage(due()).textZh).toContain('请局领导及时办理');
  });

  const sweep = (found: DeadlineView[], opts: { taken?: string[]; failFor?: string } = {}) => {
    const log: string[] = [];
    const messages = memoryBureau({ failFor: (m) => m.attributes.dedupeId?.startsWith(opts.failFor ?? '-') === true });
    const run = warnDeadlines({
      store: {
        deadlineWarningsDue: async () => found,
        claimDeadlineWarning: async (id) => {
          log.push(`claim ${id}`);
          return !opts.taken?.includes(id);
        },
        releaseDeadlineWarning: async (id) => {
          log.push(`release ${id}`);
        },
        addTimelineEntry: async (_caseId, entry) => {
          log.push(`note ${entry.data?.taskId} ${entry.note?.slice(0, 8)}`);
          return { id: 'x', at: NOW.toISOString(), by: 'system', ...entry };
        },
      },
      notifyBureau: messages.notify,
      now: () => NOW,
    });
    return { run, log, messages: messages.sent };
  };

  it('claims, sends and notes each deadline once, skipping one another sweep claimed', async () => {
    const a = due();
    const b = due({ taskId: '01KB2N0G5Z8K3M4P6Q7R8S9TK2' });
    const { run, log, messages } = sweep([a, b], { taken: [b.taskId] });
    expect(await run).toEqual({ warned: 1, failed: 0 });
    expect(messages).toHaveLength(1);
    expect(log).toEqual([`claim ${a.taskId}`, `note ${a.taskId} 【案件期限提醒】`, `claim ${b.taskId}`]);
  });

  it('gives a claim back when its message cannot be sent, still sends the others, then fails the sweep', async () => {
    const a = due();
    const b = due({ taskId: '01KB2N0G5Z8K3M4P6Q7R8S9TK2' });
    const { run, log, messages } = sweep([a, b], { failFor: a.taskId });
    await expect(run).rejects.toThrow('1 deadline warning(s) could not be sent');
    expect(log).toEqual([
      `claim ${a.taskId}`,
      `release ${a.taskId}`,
      `claim ${b.taskId}`,
      `note ${b.taskId} 【案件期限提醒】`,
    ]);
    expect(messages.map((m) => m.attributes.dedupeId)).toEqual([`${b.taskId}#warn`]);
  });

  it('warns each open deadline once over the store, from the warning time on, and notes it on the timeline', async () => {
    const timer = enterStep('transfer', 'head_decision', undefined, 'submit_report', NOW, 'seed');
    await caseTasks({ store, notifyBureau: bureau.notify, now: () => NOW })(
      parse({ kind: 'task', workflow: 'transfer', step: 'head_decision', ...base, token: 't', timer, input: base }),
    );
    const warnAt = new Date(Date.parse(timer.warnAt as string) + 1000);
    const sweepAt = (at: Date) => warnDeadlines({ store, notifyBureau: bureau.notify, now: () => at });
    expect(await sweepAt(NOW)).toEqual({ warned: 0, failed: 0 });
    expect(await sweepAt(warnAt)).toEqual({ warned: 1, failed: 0 });
    expect(await sweepAt(warnAt)).toEqual({ warned: 0, failed: 0 });
    expect(bureau.sent.map((m) => m.attributes.kind)).toEqual(['case_deadline_warning']);
    expect(store.entries(CASE).at(-1)).toMatchObject({ data: { event: 'deadline_warning', taskId: taskIdFor(timer) } });
  });
});
