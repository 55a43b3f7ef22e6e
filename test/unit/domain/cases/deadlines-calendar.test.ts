import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { CaseTaskEvent } from '#shared/contracts/case-tasks.ts';
import { CN_CALENDAR, compileCalendar } from '#shared/domain/calendar/cn-holidays.ts';
import { CN_2026 } from '#shared/domain/calendar/years/2026.ts';
import { taskOpened } from '#shared/domain/cases/changes.ts';
import { computeDeadline } from '#shared/domain/cases/deadlines.ts';
import type { Case } from '#shared/domain/cases/model.ts';
import type { DeadlineView, WorkflowTask } from '#shared/domain/cases/ports.ts';
import { enterStep, escalateTimer } from '#shared/domain/cases/timers.ts';
import { caseTasks, deadlineWarningMessage, escalationMessage } from '#shared/domain/cases/workflow-tasks.ts';
import { MemoryCaseStore } from '../../helpers/memory-cases.ts';

/**
 * A deadline whose day count reaches into a year without holiday data says so (calendarAssumed), from the
 * computation to what officials see: the task and its deadline item, the task input, the timeline, the warning and
 * the escalation. The computation tests fix the calendar to 2026 only; the timer and task tests use the real data and
 * the year after its last.
 */
const ONLY_2026 = compileCalendar([CN_2026]);
const NOTE = '按周一至周五估算，待国务院节假日安排公布后核对';
const LAST = Math.max(...CN_CALENDAR.years);
const NEXT = LAST + 1;

describe('computeDeadline over a year without holiday data', () => {
  it('flags a working-day count that crosses into it', () => {
    const d = computeDeadline('reconsideration_request', '2026-12-30T10:00:00+08:00', { calendar: ONLY_2026 });
    expect(d.dueDate).toBe('2027-01-04'); // 31 Dec, then 1 Jan (a Friday, no notice) and 4 Jan
    expect(d.calendarAssumed).toEqual([2027]);
  });

  it('flags a calendar-day period whose last day falls there (rollover looked it up)', () => {
    const d = computeDeadline('head_decision', '2026-12-30T10:00:00+08:00', { calendar: ONLY_2026 });
    expect(d.dueDate).toBe('2027-01-04'); // +3 = Sat 2 Jan, rolled to Mon 4 Jan
    expect(d.calendarAssumed).toEqual([2027]);
    const plain = computeDeadline('head_decision', '2026-12-30T10:00:00+08:00', {
      calendar: ONLY_2026,
      rollOverHolidays: false,
    });
    expect(plain.calendarAssumed).toBeUndefined();
  });

  it('does not flag what stays in known years, an unlooked-at start day or an hour period', () => {
    expect(
      computeDeadline('reconsideration_request', '2026-12-25T10:00:00+08:00', { calendar: ONLY_2026 }),
    ).not.toHaveProperty('calendarAssumed');
    // starts in 2025 (no data), but the count looks only at days from 1 Jan 2026 on
    expect(
      computeDeadline('reconsideration_request', '2025-12-31T10:00:00+08:00', { calendar: ONLY_2026 }),
    ).toMatchObject({ dueDate: '2026-01-06' });
    expect(
      computeDeadline('reconsideration_request', '2025-12-31T10:00:00+08:00', { calendar: ONLY_2026 }),
    ).not.toHaveProperty('calendarAssumed');
    expect(
      computeDeadline('handover_to_police', '2026-12-31T20:00:00+08:00', { calendar: ONLY_2026 }),
    ).not.toHaveProperty('calendarAssumed');
  });

  it('flags nothing once the year has data', () => {
    const d = computeDeadline('reconsideration_request', `${LAST}-06-01T10:00:00+08:00`);
    expect(d.calendarAssumed).toBeUndefined();
  });
});

describe('the flag on the workflow timer and task', () => {
  const at = new Date(`${LAST}-12-29T02:00:00Z`);
  const EXEC = 'arn:aws:states:cn-north-1:123456789012:execution:EnvWatch-prod-Reward:reward-C-1';

  it('rides on the timer of a statutory step and of a reward service level, not on the escalation window', () => {
    const head = enterStep('transfer', 'head_decision', undefined, 'submit_report', at, 'seed');
    expect(head.calendarAssumed).toEqual([NEXT]);
    const sla = enterStep('reward', 'eligibility', undefined, undefined, at, 'seed'); // 5 working days
    expect(sla.calendarAssumed).toEqual([NEXT]);
    expect(escalateTimer(sla, at)).not.toHaveProperty('calendarAssumed');
    // the state machine carries the timer through the contract
    expect(
      CaseTaskEvent.parse({
        kind: 'escalate',
        workflow: 'reward',
        step: 'eligibility',
        caseId: 'C-1',
        executionArn: EXEC,
        timer: sla,
        maxEscalations: 2,
      }),
    ).toMatchObject({ timer: { calendarAssumed: [NEXT] } });
  });

  it('is recorded on the task, shown in its input and in the escalation text', async () => {
    const timer = enterStep('transfer', 'head_decision', undefined, 'submit_report', at, 'seed');
    const store = new MemoryCaseStore(() => at);
    store.seed({
      caseId: 'C-1',
      status: 'decided',
      sources: [],
      handlers: [],
      evidence: [],
      version: 1,
    } as unknown as Case);
    const run = caseTasks({ store, notifyBureau: async () => {}, now: () => at });
    const e = { workflow: 'transfer', step: 'head_decision', caseId: 'C-1', executionArn: EXEC };
    await run(CaseTaskEvent.parse({ kind: 'task', ...e, token: 't', timer, input: { caseId: 'C-1' } }));
    const recorded = [...store.tasks.values()];
    expect(recorded[0]?.calendarAssumed).toEqual([NEXT]);
    expect(recorded[0]?.input?.deadline).toMatchObject({
      calendarAssumed: [NEXT],
      calendarNoteZh: `${NEXT}年节假日安排尚未录入，期限${NOTE}`,
    });
    const lapse = escalationMessage({ caseId: 'C-1', workflow: 'transfer', step: 'head_decision' }, timer, 1, 2);
    expect(lapse.textZh).toContain(NOTE);
  });

  it('is in the warning the bureau receives, text and attribute', () => {
    const view: DeadlineView = {
      taskId: 'T-1',
      caseId: 'C-1',
      workflow: 'transfer',
      step: 'head_decision',
      actors: ['bureau_head'],
      dueAt: '2027-01-04T16:00:00.000Z',
      state: 'open',
    };
    const m = deadlineWarningMessage({ ...view, calendarAssumed: [2027] });
    expect(m.textZh).toContain(`将于 2027-01-05 00:00（2027年节假日安排尚未录入，期限${NOTE}）`);
    expect(m.attributes.calendarAssumed).toBe('2027');
    const known = deadlineWarningMessage(view);
    expect(known.textZh).not.toContain(NOTE);
    expect(known.attributes).not.toHaveProperty('calendarAssumed');
  });
});

describe('the flag in the cases store', () => {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  const ddb = mockClient(db);
  const store = new DynamoCaseStore(db, { cases: 'cases', audit: 'audit' });

  it('keeps it on the task and its deadline item, and notes it on the case timeline', async () => {
    ddb.reset();
    ddb.on(TransactWriteCommand).resolves({});
    const task: Omit<WorkflowTask, 'state'> = {
      taskId: '01KB2N0G5Z8K3M4P6Q7R8S9TK1',
      caseId: 'C-1',
      workflow: 'transfer',
      executionArn: 'arn',
      step: 'head_decision',
      actors: ['bureau_head'],
      token: 'token',
      createdAt: '2026-12-30T02:00:00.000Z',
      dueAt: '2027-01-04T16:00:00.000Z',
      warnAt: '2027-01-03T16:00:00.000Z',
      calendarAssumed: [2027],
    };
    await store.recordTask(task, taskOpened(task));
    const items = (ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? []).map(
      (i) => i.Put?.Item ?? {},
    );
    expect(items.find((i) => i.kind === 'task')?.task).toMatchObject({ calendarAssumed: [2027] });
    expect(items.find((i) => i.kind === 'deadline')?.deadline).toMatchObject({ calendarAssumed: [2027] });
    const note = items.map((i) => (i.entry as { note?: string } | undefined)?.note).find((n) => n?.startsWith('待办'));
    expect(note).toBe(`待办：负责人审批（2027年节假日安排尚未录入，期限${NOTE}）`);
  });
});
