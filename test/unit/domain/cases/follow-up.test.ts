import { beforeEach, describe, expect, it } from 'vitest';
import { CaseTaskEvent } from '#shared/contracts/case-tasks.ts';
import { followUpReminder, sweepFollowUps } from '#shared/domain/cases/follow-up.ts';
import type { Case } from '#shared/domain/cases/model.ts';
import type { WorkflowTask } from '#shared/domain/cases/ports.ts';
import { caseTasks, warnDeadlines } from '#shared/domain/cases/workflow-tasks.ts';
import { MemoryCaseStore, MemorySources, memoryBureau } from '../../helpers/memory-cases.ts';

/**
 * The periodic follow-up of the criminal proceedings (follow-up.ts) over in-memory cases and bureau topic: the
 * transfer execution's last state records the first period's task (no token), and the daily sweep reminds the
 * bureau and re-arms a period that passed with no news, never stopping while the proceedings go on.
 */
const ENTERED = '2026-11-30T02:00:00.000Z'; // Monday 10:00 Beijing: the items were handed over
const CASE = '01KB2N0G5Z8K3M4P6Q7R8S9T0V';
const EXEC =
  'arn:aws:states:cn-north-1:123456789012:execution:EnvWatch-prod-Transfer:transfer-01KB2N0G5Z8K3M4P6Q7R8S9T0V-1';

const aCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE,
  enterpriseId: '91331126MA2BR31K57',
  unitName: '庆元县某食用菌有限公司',
  townshipId: 'zhukou',
  title: '暗管排放灭菌废水',
  sources: [],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'transferred',
  evidence: [],
  openedAt: '2026-10-01T00:00:00.000Z',
  openedBy: 'u-chief-01',
  updatedAt: '2026-11-01T00:00:00.000Z',
  version: 7,
  ...over,
});

let store: MemoryCaseStore;
let bureau: ReturnType<typeof memoryBureau>;
let now: Date;

beforeEach(() => {
  now = new Date(ENTERED);
  store = new MemoryCaseStore(() => now);
  bureau = memoryBureau();
  store.seed(aCase());
});

const follow = () =>
  caseTasks({ store, reporters: new MemorySources(), notifyBureau: bureau.notify, now: () => now })(
    CaseTaskEvent.parse({
      kind: 'follow',
      workflow: 'transfer',
      step: 'criminal_proceedings',
      caseId: CASE,
      executionArn: EXEC,
      enteredTime: ENTERED,
      state: { caseId: CASE, confirmedItems: ['item5'], decision: { action: 'hand_over_items', by: 'u-handler-01' } },
    }),
  );

const tasks = () => [...store.tasks.values()];
const open = () => tasks().filter((t) => t.state === 'open');
const sweep = (at: string) => sweepFollowUps({ store, notifyBureau: bureau.notify }, new Date(at));

describe('the transfer handing the criminal proceedings to the follow-up', () => {
  it('records the first 60-day task for both liaisons, with no token and no warning, once on a retry', async () => {
    const out = (await follow()) as { taskId: string; dueAt: string };
    now = new Date(Date.parse(ENTERED) + 5_000);
    await follow(); // a retried Lambda, later: the same entry, the same task
    expect(tasks()).toHaveLength(1);
    const [task] = tasks() as [WorkflowTask];
    expect(task).toMatchObject({
      taskId: out.taskId,
      step: 'criminal_proceedings',
      actors: ['police_liaison', 'procuratorate_liaison'],
      executionArn: EXEC,
      dueAt: '2027-01-29T16:00:00.000Z', // 60 days after 30 Nov 2026
      calendarAssumed: [2027],
      input: {
        caseId: CASE,
        confirmedItems: ['item5'],
        previousDecision: { action: 'hand_over_items' },
        deadline: { basis: 'follow_up', escalationLevel: 0, labelZh: '刑事诉讼进展反馈（每60日跟踪一次）' },
      },
    });
    expect(task.token).toBeUndefined();
    expect(task.warnAt).toBeUndefined();
    expect(store.deadlines.get(task.taskId)).toMatchObject({ state: 'open', dueAt: task.dueAt });
    expect(store.entries(CASE).map((e) => e.note)).toEqual(
      expect.arrayContaining([
        '待办：刑事诉讼进展反馈（2027年节假日安排尚未录入，期限按周一至周五估算，待国务院节假日安排公布后核对）',
        '移送流程在此结束，「刑事诉讼进展反馈」转入定期跟踪（每60日），直至判决或退回',
      ]),
    );
    // the deadline sweep warns ahead of statutory periods; a follow-up's lapse is itself the reminder
    now = new Date(Date.parse(task.dueAt ?? '') - 3_600_000);
    expect(await warnDeadlines({ store, notifyBureau: bureau.notify, now: () => now })).toEqual({
      warned: 0,
      failed: 0,
    });
  });

  it('refuses a follow event without the entered time or the state, or at a step no follow-up keeps', () => {
    const bad = {
      kind: 'follow',
      workflow: 'transfer',
      step: 'criminal_proceedings',
      caseId: CASE,
      executionArn: EXEC,
    };
    expect(CaseTaskEvent.safeParse(bad).success).toBe(false);
    const statutory = { ...bad, step: 'head_decision', enteredTime: ENTERED, state: { caseId: CASE } };
    expect(CaseTaskEvent.safeParse(statutory).error?.issues[0]?.message).toBe('the step is not followed up');
    expect(CaseTaskEvent.safeParse({ ...statutory, step: 'criminal_proceedings' }).success).toBe(true);
  });
});

describe('the periodic check', () => {
  it('leaves a follow-up alone before its period ends', async () => {
    await follow();
    expect(await sweep('2027-01-29T15:59:59.000Z')).toEqual({ reminded: 0, ended: 0, failed: 0 });
    expect(bureau.sent).toEqual([]);
    expect(open()).toHaveLength(1);
  });

  it('reminds the bureau and re-arms a period without news: the old task lapses, the next one opens with it', async () => {
    await follow();
    const [first] = open() as [WorkflowTask];
    const at = '2027-02-01T01:00:00.000Z'; // the daily run at 09:00 Beijing after the period ended

    expect(await sweep(at)).toEqual({ reminded: 1, ended: 0, failed: 0 });

    expect(store.tasks.get(first.taskId)).toMatchObject({ state: 'lapsed', lapsedAt: at });
    expect(store.deadlines.get(first.taskId)?.state).toBe('lapsed');
    const [second] = open() as [WorkflowTask];
    expect(second.taskId).not.toBe(first.taskId);
    expect(second).toMatchObject({
      step: 'criminal_proceedings',
      createdAt: at,
      dueAt: '2027-04-02T16:00:00.000Z', // 60 days after 1 Feb 2027
      input: { previousDecision: { action: 'hand_over_items' }, deadline: { escalationLevel: 1, basis: 'follow_up' } },
    });
    expect(second.token).toBeUndefined();
    expect(store.deadlines.get(second.taskId)).toMatchObject({ state: 'open', dueAt: second.dueAt });
    expect(bureau.sent).toHaveLength(1);
    expect(bureau.sent[0]?.textZh).toBe(
      `【案件跟踪】案件 ${CASE} 涉嫌犯罪案件移送「刑事诉讼进展反馈」自 2026-11-30 10:00 起60日未收到进展反馈，` +
        '请专案组了解刑事诉讼进展，并提醒公安联络员、检察联络员在平台反馈，下次跟踪期限 2027-04-03 00:00' +
        '（2027年节假日安排尚未录入，期限按周一至周五估算，待国务院节假日安排公布后核对）。',
    );
    expect(bureau.sent[0]?.attributes).toMatchObject({
      kind: 'case_follow_up',
      caseId: CASE,
      dedupeId: `${first.taskId}#follow-up`,
    });
    expect(store.entries(CASE).map((e) => e.note)).toContain('刑事诉讼进展反馈：跟踪期满未获反馈，已提醒并继续跟踪');

    // the same run again (the schedule's retry): nothing is due, nothing written or sent twice
    expect(await sweep(at)).toEqual({ reminded: 0, ended: 0, failed: 0 });
    expect(open()).toHaveLength(1);
    expect(bureau.sent).toHaveLength(1);

    // years later, still followed: one period at a time, the count of reminders going up
    expect(await sweep('2027-04-05T01:00:00.000Z')).toEqual({ reminded: 1, ended: 0, failed: 0 });
    expect(open()[0]?.input).toMatchObject({ deadline: { escalationLevel: 2 } });
  });

  it('stops following, without a successor, a case that has left the proceedings', async () => {
    await follow();
    const [first] = open() as [WorkflowTask];
    store.seed(aCase({ status: 'closed', closedAt: '2027-01-10T00:00:00.000Z' }));
    expect(await sweep('2027-02-01T01:00:00.000Z')).toEqual({ reminded: 0, ended: 1, failed: 0 });
    expect(open()).toEqual([]);
    expect(store.tasks.get(first.taskId)?.state).toBe('lapsed');
    expect(bureau.sent[0]?.attributes.kind).toBe('case_follow_up_ended');
  });

  it('keeps a task whose reminder could not be sent for the next run, and says the run failed', async () => {
    await follow();
    const failing = memoryBureau({ failFor: () => true });
    await expect(
      sweepFollowUps({ store, notifyBureau: failing.notify }, new Date('2027-02-01T01:00:00Z')),
    ).rejects.toThrow(/1 follow-up reminder/);
    expect(open()).toHaveLength(1);
    expect(await sweep('2027-02-01T01:05:00.000Z')).toMatchObject({ reminded: 1 });
  });

  it('says when the next check is due in the reminder, and nothing about a next one when it stops', () => {
    const task = {
      taskId: 'T1',
      caseId: CASE,
      workflow: 'transfer',
      executionArn: EXEC,
      step: 'criminal_proceedings',
      actors: ['police_liaison'],
      createdAt: ENTERED,
      state: 'open',
    } as WorkflowTask;
    expect(followUpReminder(task, undefined).textZh).toBe(
      `【案件跟踪】案件 ${CASE} 已结案或退回，「刑事诉讼进展反馈」停止跟踪。`,
    );
  });
});
