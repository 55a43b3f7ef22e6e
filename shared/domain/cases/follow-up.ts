import { calendarAssumedNoteZh } from '#shared/domain/calendar/cn-holidays.ts';
import { ConflictError } from '#shared/domain/errors.ts';
import { ROLE_LABELS, type Role } from '#shared/domain/roles.ts';
import { shownDeadline, taskLapsedEntry, taskOpened } from './changes.ts';
import type { CaseStatus } from './model.ts';
import { recordOutcome } from './outcomes.ts';
import type { BureauMessage, BureauNotifier, CaseStore, OpenedTask, TaskOutcome, WorkflowTask } from './ports.ts';
import { FLOWS, followUpPeriodOf, followUpTimer, periodLabelZh, type StepTimer, stepOf, taskIdFor } from './timers.ts';
import type { StepDef } from './workflow.ts';

/**
 * The periodic follow-up of a step no Step Functions execution waits on (workflow.ts `followUp`: the criminal
 * proceedings, which have no end in law and can outlast an execution's one-year limit):
 *
 *   the transfer reaches the step → case-tasks `follow` (the execution's last state): the step's first follow-up
 *       task, with no token, for the step's actors, due at the end of FOLLOW_UP_PERIOD (timers.ts followUpTimer);
 *       the execution then ends (SUCCEEDED), so no execution lives as long as the proceedings.
 *   a liaison acts (POST /tasks/{id}/act, use-cases.ts) → followUpAction: an outcome the step stays in (detention,
 *       arrest approved) completes the task and opens the next period's task in one write; an outcome that ends it
 *       (conviction, return) is recorded as a workflow end is (outcomes.ts), then the task completes. Later reward
 *       rounds start exactly as before (OUTCOME_REWARD, use-cases.ts).
 *   a period ends with no news → the daily sweep (sweepFollowUps): the bureau is reminded, then the task lapses and
 *       the next period's task opens, in one write. Never a stop: the proceedings last as long as they last, and the
 *       task, its deadline (GET /deadlines) and the liaisons' actions stay where they are.
 * The next task is written in the same transaction that closes the one before (the store's `next`): a follow-up is
 * never left without an open task, and a second sweep or a second act finds the task closed and writes nothing.
 */

/** The store as the follow-up uses it. */
export type FollowUpStore = Pick<
  CaseStore,
  'get' | 'change' | 'addTimelineEntry' | 'openTasksFor' | 'lapseTask' | 'recordTask' | 'getTask'
>;

/** While a case stands here its proceedings are followed; elsewhere (closed, back with the bureau) they ended. */
const FOLLOWED_WHILE: readonly CaseStatus[] = ['decided', 'transferred'];

const isFollowUp = (workflow: WorkflowTask['workflow'], step: string): boolean =>
  (FLOWS[workflow].steps[step] as StepDef<string, string> | undefined)?.followUp === true;

/** The task of one follow-up period: no token, the step's actors, due at the period's end (no warning before). */
export function followUpTask(args: {
  caseId: string;
  workflow: WorkflowTask['workflow'];
  step: string;
  executionArn: string;
  timer: StepTimer;
  input: Record<string, unknown>;
  createdAt: string;
  taskId?: string;
}): OpenedTask {
  const { timer } = args;
  const task: Omit<WorkflowTask, 'state'> = {
    taskId: args.taskId ?? taskIdFor(timer),
    caseId: args.caseId,
    workflow: args.workflow,
    executionArn: args.executionArn,
    step: args.step,
    actors: stepOf(args.workflow, args.step).actors.filter((a) => a !== 'system'),
    createdAt: args.createdAt,
    ...(timer.dueAt ? { dueAt: timer.dueAt } : {}),
    ...(timer.calendarAssumed ? { calendarAssumed: timer.calendarAssumed } : {}),
    input: args.input,
  };
  return { task, opened: taskOpened(task) };
}

/**
 * The next period's task after `task` (a lapse: one more reminder; an outcome the step stays in: the count starts
 * again), started at `now`, showing the liaisons the new deadline and, after an outcome, what was recorded.
 */
export function nextFollowUp(
  task: WorkflowTask,
  now: Date,
  after: { lapsed: true } | { outcome: TaskOutcome },
): OpenedTask {
  const prev = task.input?.deadline as { escalationLevel?: number } | undefined;
  const level = 'lapsed' in after ? (prev?.escalationLevel ?? 0) + 1 : 0;
  const timer = followUpTimer(task.workflow, task.step, now, `${task.taskId}#next`, level);
  const { deadline: _was, previousDecision: _before, ...rest } = task.input ?? {};
  const deadline = shownDeadline(timer);
  const input: Record<string, unknown> = {
    ...rest,
    ...('outcome' in after
      ? {
          previousDecision: {
            action: after.outcome.action,
            ...(after.outcome.comment ? { comment: after.outcome.comment } : {}),
          },
        }
      : task.input?.previousDecision
        ? { previousDecision: task.input.previousDecision }
        : {}),
    ...(deadline ? { deadline } : {}),
  };
  return followUpTask({
    caseId: task.caseId,
    workflow: task.workflow,
    step: task.step,
    executionArn: task.executionArn,
    timer,
    input,
    createdAt: now.toISOString(),
  });
}

/**
 * A liaison's action on a follow-up task, after the use-case validated it (workflow.ts act): the step's next step
 * decides. Staying in the step: the task completes with the next period's task (returned for the store's
 * completion, `next`). Ending in a terminal step: the end is recorded first (idempotent: a retry after a failed
 * completion records nothing new), then the caller completes the task. ConflictError for a task no workflow follows.
 */
export async function followUpAction(
  store: Pick<FollowUpStore, 'get' | 'change' | 'addTimelineEntry'>,
  task: WorkflowTask,
  outcome: TaskOutcome,
  now: Date,
): Promise<{ next?: OpenedTask }> {
  const def = stepOf(task.workflow, task.step);
  const action = def.actions[outcome.action] as { next: string } | undefined;
  if (!isFollowUp(task.workflow, task.step) || !action) {
    throw new ConflictError(`task ${task.taskId} waits for no workflow (该任务没有在办流程)`);
  }
  if (action.next === task.step) return { next: nextFollowUp(task, now, { outcome }) };
  await recordOutcome(store, { caseId: task.caseId, workflow: task.workflow, step: action.next }, now.toISOString());
  return {};
}

const beijing = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

const actorLabel = (actor: string) => ROLE_LABELS[actor as Role] ?? actor;

/** The bureau's reminder when a follow-up period passed with no news: who to ask, since when, until when next. */
export function followUpReminder(task: WorkflowTask, next: OpenedTask | undefined): BureauMessage {
  const label = stepOf(task.workflow, task.step).labelZh;
  const period = followUpPeriodOf(task.workflow, task.step);
  const who = [...new Set(task.actors)].map(actorLabel).join('、');
  const since = beijing(task.createdAt);
  const nextDue = next?.task.dueAt
    ? `，下次跟踪期限 ${beijing(next.task.dueAt)}${next.task.calendarAssumed?.length ? `（${calendarAssumedNoteZh(next.task.calendarAssumed)}）` : ''}`
    : '';
  const textZh = next
    ? `【案件跟踪】案件 ${task.caseId} 涉嫌犯罪案件移送「${label}」自 ${since} 起${period ? periodLabelZh(period) : ''}未收到进展反馈，请专案组了解刑事诉讼进展，并提醒${who}在平台反馈${nextDue}。`
    : `【案件跟踪】案件 ${task.caseId} 已结案或退回，「${label}」停止跟踪。`;
  return {
    subject: 'EnvWatch case follow-up',
    textZh,
    attributes: {
      kind: next ? 'case_follow_up' : 'case_follow_up_ended',
      caseId: task.caseId,
      workflow: task.workflow,
      step: task.step,
      dedupeId: `${task.taskId}#follow-up`,
    },
  };
}

/**
 * THE PERIODIC CHECK (daily, infra/constructs/case-workflows.ts): every open follow-up task due by `at` (the
 * scheduled time) is re-armed: the bureau is reminded, then the task lapses and the next period's task opens in one
 * write. A task whose case has left the proceedings (closed, or back with the bureau) lapses without a successor.
 * A reminder that cannot be sent leaves its task as it was for the next run; the others still go, and the sweep
 * then fails so the schedule's retry and the logs show it. Returns what it did.
 */
export async function sweepFollowUps(
  deps: { store: FollowUpStore; notifyBureau: BureauNotifier },
  at: Date,
  limit = 200,
): Promise<{ reminded: number; ended: number; failed: number }> {
  const { store } = deps;
  const now = at.toISOString();
  let reminded = 0;
  let ended = 0;
  let failed = 0;
  for (const task of await dueFollowUps(store, now, limit)) {
    const record = await store.get(task.caseId);
    const following = record !== undefined && FOLLOWED_WHILE.includes(record.case.status);
    const next = following ? nextFollowUp(task, at, { lapsed: true }) : undefined;
    try {
      await deps.notifyBureau(followUpReminder(task, next));
    } catch {
      failed++;
      continue;
    }
    const entry = following
      ? {
          ...taskLapsedEntry(task),
          note: `${stepOf(task.workflow, task.step).labelZh}：跟踪期满未获反馈，已提醒并继续跟踪`,
        }
      : { ...taskLapsedEntry(task), note: `${stepOf(task.workflow, task.step).labelZh}：案件已结案或退回，停止跟踪` };
    if (await store.lapseTask(task, { entry, at: now }, next)) {
      if (next) reminded++;
      else ended++;
    }
  }
  if (failed > 0) throw new Error(`${failed} follow-up reminder(s) could not be sent; they will be retried`);
  return { reminded, ended, failed };
}

/** Open follow-up tasks due by `now`: the open tasks of each followed-up step's first actor (one index query each). */
async function dueFollowUps(store: FollowUpStore, now: string, limit: number): Promise<WorkflowTask[]> {
  const found = new Map<string, WorkflowTask>();
  for (const [workflow, flow] of Object.entries(FLOWS) as [WorkflowTask['workflow'], (typeof FLOWS)['reward']][]) {
    for (const [step, def] of Object.entries(flow.steps) as [string, StepDef<string, string>][]) {
      const actor = def.followUp ? def.actors[0] : undefined;
      if (!actor) continue;
      let cursor: string | undefined;
      do {
        const page = await store.openTasksFor(actor, { limit: 100, ...(cursor ? { cursor } : {}) });
        for (const view of page.items) {
          if (view.workflow !== workflow || view.step !== step) continue;
          if (!view.dueAt || view.dueAt > now || found.size >= limit) continue;
          const task = await store.getTask(view.taskId);
          if (task?.state === 'open' && task.token === undefined) found.set(task.taskId, task);
        }
        cursor = page.cursor;
      } while (cursor && found.size < limit);
    }
  }
  return [...found.values()];
}
