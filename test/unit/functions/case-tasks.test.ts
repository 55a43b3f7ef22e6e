import { beforeEach, describe, expect, it } from 'vitest';
import {
  type BureauMessage,
  type CaseTasksStore,
  CLAIM_INVITATION,
  caseTasks,
  deadlineWarningMessage,
  escalationMessage,
  taskInput,
  warnDeadlines,
} from '#functions/case-tasks/use-case.ts';
import type { DeadlineView, WorkflowTask } from '#shared/adapters/cases-store.ts';
import { CaseTaskEvent } from '#shared/contracts/case-tasks.ts';
import { enterStep, escalateTimer, seededUlid, taskIdFor } from '#shared/domain/cases/timers.ts';
import { NotFoundError } from '#shared/domain/errors.ts';
import { ULID_PATTERN } from '#shared/domain/ids.ts';

/** The case-tasks use-case with an in-memory store and bureau: what each event kind records, returns and sends. */
const NOW = new Date('2026-11-30T02:00:00Z'); // Monday 10:00 Beijing
const CASE = '01KB2N0G5Z8K3M4P6Q7R8S9T0V';
const EXEC =
  'arn:aws:states:cn-north-1:123456789012:execution:EnvWatch-prod-Transfer:transfer-01KB2N0G5Z8K3M4P6Q7R8S9T0V';

let recorded: Omit<WorkflowTask, 'state'>[];
let lapsed: string[];
let events: Parameters<CaseTasksStore['workflowEvent']>[0][];
let sent: BureauMessage[];
let missing: Set<string>;
let advanced: { caseId: string; path: readonly string[] }[];
let told: { tipId: string; text: string }[];
let invited: { tipIds: string[]; text: string; once: { at: string; seed: string } }[];

const run = () =>
  caseTasks({
    store: {
      recordTask: async (t) => {
        recorded.push(t);
      },
      lapseTask: async (id) => {
        if (missing.has(id)) throw new NotFoundError(`task ${id} does not exist`);
        lapsed.push(id);
      },
      workflowEvent: async (e) => {
        events.push(e);
      },
      advanceCase: async (caseId, path) => {
        advanced.push({ caseId, path });
      },
    },
    notifyBureau: async (m) => {
      sent.push(m);
    },
    tellReporter: async (tipId, text) => {
      told.push({ tipId, text });
    },
    inviteClaims: async (tipIds, text, once) => {
      invited.push({ tipIds, text, once });
    },
    now: () => NOW,
  });

beforeEach(() => {
  recorded = [];
  lapsed = [];
  events = [];
  sent = [];
  missing = new Set();
  advanced = [];
  told = [];
  invited = [];
});

const base = { caseId: CASE, executionArn: EXEC };
const parse = (e: unknown) => CaseTaskEvent.parse(e);

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

  it('sets no timer where no statute or service level does', () => {
    const t = enterStep('transfer', 'police_receipt', undefined, 'hand_over', NOW, 'seed');
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
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      caseId: CASE,
      workflow: 'transfer',
      step: 'head_decision',
      actors: ['bureau_head'],
      token: 'tok-1',
      dueAt: timer.dueAt,
      warnAt: timer.warnAt,
    });
    expect(recorded[0]?.input).toEqual({
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
  });

  it('lapses the task, tells the bureau in Chinese and grants 24 hours more on a first lapse', async () => {
    const timer = enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed');
    const next = (await run()(
      parse({ kind: 'escalate', workflow: 'transfer', step: 'handover', ...base, timer, maxEscalations: 2 }),
    )) as { level: number; timeoutSeconds: number };
    expect(lapsed).toEqual([taskIdFor(timer)]);
    expect(next).toMatchObject({ level: 1, timeoutSeconds: 86_400 });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.textZh).toContain('【案件督办】');
    expect(sent[0]?.textZh).toContain('科室负责人');
    expect(sent[0]?.attributes).toMatchObject({ kind: 'case_escalation', caseId: CASE, level: '1' });
  });

  it('says the workflow stopped after the last escalation, and still escalates when the task was never recorded', async () => {
    const timer = { ...enterStep('transfer', 'handover', undefined, 'approve', NOW, 'seed'), level: 2 };
    missing.add(taskIdFor(timer));
    const next = (await run()(
      parse({ kind: 'escalate', workflow: 'transfer', step: 'handover', ...base, timer, maxEscalations: 2 }),
    )) as { level: number };
    expect(next.level).toBe(3);
    expect(lapsed).toEqual([]);
    expect(sent[0]?.textZh).toContain('【案件超期】');
    expect(sent[0]?.attributes.kind).toBe('case_deadline_lapsed');
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
    expect(events.map((e) => e.note)[0]).toBe('计算奖励金额：有应发奖励');
  });

  it('records the outcome of a finished workflow on the timeline', async () => {
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'concluded', ...base, state: { caseId: CASE } }));
    expect(events).toEqual([
      {
        caseId: CASE,
        workflow: 'transfer',
        step: 'concluded',
        note: '流程结束：刑事判决已生效',
        at: NOW.toISOString(),
      },
    ]);
    expect(advanced).toEqual([{ caseId: CASE, path: ['transferred', 'closed'] }]);
  });

  it('tells the reporter through the receipt how a reward round ended, and nothing else', async () => {
    const state = {
      caseId: CASE,
      tipIds: ['01KB2N0G5Z8K3M4P6Q7R8S9TIP'],
      reward: { totalFen: 600_000, approvals: [] },
    };
    await run()(parse({ kind: 'record', workflow: 'reward', step: 'done', ...base, state }));
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'concluded', ...base, state }));
    expect(told).toEqual([
      { tipId: '01KB2N0G5Z8K3M4P6Q7R8S9TIP', text: expect.stringContaining('举报奖励 6000.00 元已审批发放') },
    ]);
  });

  it('invites anonymous reporters to claim once per entry into eligibility, escalations included', async () => {
    const tipIds = ['01KB2N0G5Z8K3M4P6Q7R8S9TIP'];
    const timer = enterStep('reward', 'eligibility', undefined, undefined, NOW, 'seed');
    const task = (t: typeof timer, step = 'eligibility') =>
      parse({
        kind: 'task',
        workflow: 'reward',
        step,
        ...base,
        token: 'tok',
        timer: t,
        input: { caseId: CASE, tipIds },
      });
    await run()(task(timer));
    await run()(task(escalateTimer(timer, NOW)));
    await run()(task(enterStep('reward', 'payment', timer, 'approve', NOW, 'seed'), 'payment'));
    expect(invited).toEqual([
      { tipIds, text: CLAIM_INVITATION, once: { at: timer.enteredAt, seed: timer.entryId } },
      { tipIds, text: CLAIM_INVITATION, once: { at: timer.enteredAt, seed: timer.entryId } },
    ]);
    expect(CLAIM_INVITATION).toContain('仅举报奖励岗可以查看');
  });

  it('moves the case back to the bureau when the police return it, and leaves a reward round alone', async () => {
    await run()(parse({ kind: 'record', workflow: 'transfer', step: 'returned', ...base, state: { caseId: CASE } }));
    await run()(parse({ kind: 'record', workflow: 'reward', step: 'done', ...base, state: { caseId: CASE } }));
    expect(advanced).toEqual([{ caseId: CASE, path: ['transferred', 'investigating'] }]);
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
    const messages: BureauMessage[] = [];
    const run = warnDeadlines({
      warnings: {
        due: async () => found,
        claim: async (id) => {
          log.push(`claim ${id}`);
          return !opts.taken?.includes(id);
        },
        release: async (id) => {
          log.push(`release ${id}`);
        },
        note: async (d, text) => {
          log.push(`note ${d.taskId} ${text.slice(0, 8)}`);
        },
      },
      notifyBureau: async (m) => {
        if (m.attributes.dedupeId?.startsWith(opts.failFor ?? '-')) throw new Error('SNS down');
        messages.push(m);
      },
      now: () => NOW,
    });
    return { run, log, messages };
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
});
