import type { DeadlineView, WorkflowTask } from '#shared/adapters/cases-store.ts';
import type { CaseTaskEvent, WorkflowStateData } from '#shared/contracts/case-tasks.ts';
import { calendarAssumedNoteZh } from '#shared/domain/calendar/cn-holidays.ts';
import type { CaseStatus } from '#shared/domain/cases/model.ts';
import type { RewardResult } from '#shared/domain/cases/reward.ts';
import { type RewardStep, systemChoice } from '#shared/domain/cases/reward-flow.ts';
import {
  ESCALATION_NOTIFIES,
  ESCALATION_WINDOW_HOURS,
  enterStep,
  escalateTimer,
  type StepTimer,
  stepOf,
  taskIdFor,
} from '#shared/domain/cases/timers.ts';
import { ROLE_LABELS as ROLE_NAMES, type Role } from '#shared/domain/roles.ts';

/**
 * What the case workflows ask of `case-tasks`, one function per event kind (schema.ts):
 *   timer    → enterStep (timers.ts): the step's deadline, carried in $.Payload.timer
 *   task     → store.recordTask with the step's actors, the deadline and what the actor needs to see; the task id is
 *              stable per step entry and escalation level (a re-invoked Lambda records once); at a reward round's
 *              eligibility step, an anonymous reporter is invited to claim through the receipt (CLAIM_INVITATION)
 *   escalate → store.lapseTask (the timeline says it lapsed), a Chinese message to the bureau topic, the next window
 *   system   → reward-flow.ts systemChoice on the round the execution carries
 *   record   → the outcome on the case timeline
 * and, on a schedule, warnDeadlines: each open deadline whose warning time has come is told to the bureau topic once.
 */

export interface CaseTasksStore {
  recordTask(task: Omit<WorkflowTask, 'state'>): Promise<void>;
  lapseTask(taskId: string): Promise<void>;
  /** a workflow event on the case timeline (by `system`), with its audit entry */
  workflowEvent(e: {
    caseId: string;
    workflow: 'reward' | 'transfer';
    step: string;
    note: string;
    at: string;
  }): Promise<void>;
  /**
   * Moves the case along `path` (e.g. decided → transferred → closed) from wherever it is: steps it has already passed
   * are skipped, so a retried call changes nothing. Each change is audited by the store.
   */
  advanceCase(caseId: string, path: readonly CaseStatus[], note: string): Promise<void>;
}

/**
 * How the judicial transfer moves its case: the police's receipt means the case was handed over (transferred); a
 * conviction or other end of the criminal proceedings closes it; a return sends it back to the bureau to investigate
 * for an administrative penalty. A transfer the head refused leaves the case decided (the bureau acts on its own).
 */
export const TRANSFER_CASE_STATUS: Readonly<Record<string, readonly CaseStatus[]>> = {
  police_receipt: ['transferred'],
  concluded: ['transferred', 'closed'],
  returned: ['transferred', 'investigating'],
};

export interface BureauMessage {
  subject: string;
  textZh: string;
  attributes: Record<string, string>;
}

/**
 * What the reporter reads through the receipt when a reward round ends (a message on each tip of the round; never
 * the amount's recipient or anyone's identity).
 */
export function rewardOutcomeMessage(step: string, state: WorkflowStateData): string | undefined {
  const yuan = ((state.reward?.totalFen ?? 0) / 100).toFixed(2);
  if (step === 'done')
    return `您举报的线索经查属实，举报奖励 ${yuan} 元已审批发放。如需领取或有疑问，请联系生态环境分局举报奖励岗。`;
  if (step === 'rejected') return '您举报的线索已办结，本次举报奖励经审核未获批准。';
  if (step === 'no_reward') return '您举报的线索已办结，经审核本次不发放举报奖励。';
  return undefined;
}

/**
 * What an anonymous reporter of a tip found true reads through the receipt when a reward round waits for the reward
 * post's eligibility check: how to claim, and that only the reward post sees who they are.
 */
export const CLAIM_INVITATION =
  '您举报的线索经查属实，已作出处理决定，您可能获得举报奖励。您是匿名举报，如需申领，请在本页“申领举报奖励”中填写' +
  '姓名、手机号码和身份证号。这些信息加密保存，仅举报奖励岗可以查看，每次查看都会在本页留下记录。';

const tipIdsOf = (state: WorkflowStateData): string[] =>
  Array.isArray(state.tipIds) ? (state.tipIds as unknown[]).map(String) : [];

export interface CaseTasksDeps {
  /** posts a message to the reporter of a tip (visible through the receipt) */
  tellReporter?(tipId: string, text: string): Promise<void>;
  /**
   * Posts `text` to the reporters of those tips who may claim the reward with the receipt (anonymous, found true, not
   * claimed), once per `once.seed` (the step entry): a retried or escalated task posts nothing more.
   */
  inviteClaims?(tipIds: string[], text: string, once: { at: string; seed: string }): Promise<void>;
  store: CaseTasksStore;
  notifyBureau(message: BureauMessage): Promise<void>;
  now(): Date;
}

/** The fields of the carried state that an actor never needs to see as the task's input. */
const INTERNAL = new Set(['Payload', 'lapse', 'decision']);

/** What the task shows its actor: the execution's data (no identity is ever in it), the last decision, the timer. */
export function taskInput(state: WorkflowStateData, timer: StepTimer): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) if (!INTERNAL.has(k)) shown[k] = v;
  if (state.decision) {
    shown.previousDecision = {
      action: state.decision.action,
      ...(state.decision.comment ? { comment: state.decision.comment } : {}),
    };
  }
  if (timer.dueAt) {
    shown.deadline = {
      dueAt: timer.dueAt,
      ...(timer.warnAt ? { warnAt: timer.warnAt } : {}),
      ...(timer.basis ? { basis: timer.basis } : {}),
      ...(timer.labelZh ? { labelZh: timer.labelZh } : {}),
      ...(timer.calendarAssumed
        ? { calendarAssumed: timer.calendarAssumed, calendarNoteZh: calendarAssumedNoteZh(timer.calendarAssumed) }
        : {}),
      escalationLevel: timer.level,
    };
  }
  return shown;
}

const beijing = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

/** A due time as officials read it, with the calendar note when the count assumed Monday–Friday somewhere. */
const dueText = (dueAt: string, assumed: readonly number[] | undefined) =>
  assumed?.length ? `${beijing(dueAt)}（${calendarAssumedNoteZh(assumed)}）` : beijing(dueAt);

const ROLE_LABELS: Record<(typeof ESCALATION_NOTIFIES)[number], string> = {
  section_chief: '科室负责人',
  bureau_head: '分局负责人',
};

/** The bureau's message for a lapse at `level` (1-based); past `max` the workflow stops. */
export function escalationMessage(
  e: { caseId: string; workflow: 'reward' | 'transfer'; step: string },
  timer: StepTimer,
  level: number,
  max: number,
): BureauMessage {
  const label = stepOf(e.workflow, e.step).labelZh;
  const flow = e.workflow === 'reward' ? '举报奖励审批' : '涉嫌犯罪案件移送';
  const due = timer.dueAt ? `（期限 ${dueText(timer.dueAt, timer.calendarAssumed)}）` : '';
  const who = ROLE_LABELS[ESCALATION_NOTIFIES[Math.min(level, ESCALATION_NOTIFIES.length) - 1] ?? 'bureau_head'];
  const textZh =
    level > max
      ? `【案件超期】案件 ${e.caseId} ${flow}「${label}」环节已超期${due}，经${max}次督办仍未办理，流程已终止，请分局负责人组织处理。`
      : `【案件督办】案件 ${e.caseId} ${flow}「${label}」环节已超期${due}，请${who}督促办理（第${level}次督办，再给${ESCALATION_WINDOW_HOURS}小时）。`;
  return {
    subject: level > max ? 'EnvWatch case deadline lapsed' : 'EnvWatch case escalation',
    textZh,
    attributes: {
      kind: level > max ? 'case_deadline_lapsed' : 'case_escalation',
      caseId: e.caseId,
      workflow: e.workflow,
      step: e.step,
      level: String(level),
      dedupeId: `${timer.entryId}#${level}`,
    },
  };
}

export function caseTasks(deps: CaseTasksDeps) {
  return async (e: CaseTaskEvent): Promise<unknown> => {
    const now = deps.now();
    switch (e.kind) {
      case 'timer':
        return enterStep(
          e.workflow,
          e.step,
          e.state.Payload?.timer,
          e.state.decision?.action,
          now,
          `${e.executionArn}#${e.enteredTime}`,
        );
      case 'task': {
        const step = stepOf(e.workflow, e.step);
        const timer = e.timer;
        const taskId = taskIdFor(timer);
        await deps.store.recordTask({
          taskId,
          caseId: e.caseId,
          workflow: e.workflow,
          executionArn: e.executionArn,
          step: e.step,
          actors: step.actors.filter((a) => a !== 'system'),
          token: e.token,
          createdAt: now.toISOString(),
          ...(timer.dueAt ? { dueAt: timer.dueAt } : {}),
          ...(timer.warnAt ? { warnAt: timer.warnAt } : {}),
          ...(timer.calendarAssumed ? { calendarAssumed: timer.calendarAssumed } : {}),
          input: taskInput(e.input, timer),
        });
        const path = e.workflow === 'transfer' ? TRANSFER_CASE_STATUS[e.step] : undefined;
        if (path && e.step === 'police_receipt') await deps.store.advanceCase(e.caseId, path, step.labelZh);
        if (e.workflow === 'reward' && e.step === 'eligibility' && deps.inviteClaims) {
          await deps.inviteClaims(tipIdsOf(e.input), CLAIM_INVITATION, { at: timer.enteredAt, seed: timer.entryId });
        }
        return { taskId };
      }
      case 'escalate': {
        try {
          await deps.store.lapseTask(taskIdFor(e.timer));
        } catch (err) {
          // the timer fired before the task was recorded: nothing to lapse, the escalation still goes out
          if (!(err instanceof Error && err.name === 'NotFoundError')) throw err;
        }
        const next = escalateTimer(e.timer, now);
        await deps.notifyBureau(escalationMessage(e, e.timer, next.level, e.maxEscalations));
        return next;
      }
      case 'system': {
        const action = systemChoice(e.step as RewardStep, {
          // systemChoice reads totalFen and approvals[].step only (validated in schema.ts)
          round: (e.state.reward ?? { totalFen: 0, approvals: [] }) as unknown as Pick<
            RewardResult,
            'totalFen' | 'approvals'
          >,
          commendationConsent: e.state.commendationConsent ?? false,
        });
        const a = stepOf(e.workflow, e.step).actions[action] as { labelZh: string } | undefined;
        await deps.store.workflowEvent({
          caseId: e.caseId,
          workflow: e.workflow,
          step: e.step,
          note: `${stepOf(e.workflow, e.step).labelZh}：${a?.labelZh ?? action}`,
          at: now.toISOString(),
        });
        return { action, by: 'system' };
      }
      case 'record': {
        await deps.store.workflowEvent({
          caseId: e.caseId,
          workflow: e.workflow,
          step: e.step,
          note: `流程结束：${stepOf(e.workflow, e.step).labelZh}`,
          at: now.toISOString(),
        });
        const path = e.workflow === 'transfer' ? TRANSFER_CASE_STATUS[e.step] : undefined;
        if (path) await deps.store.advanceCase(e.caseId, path, stepOf(e.workflow, e.step).labelZh);
        const text = e.workflow === 'reward' ? rewardOutcomeMessage(e.step, e.state) : undefined;
        if (text && deps.tellReporter) for (const tipId of tipIdsOf(e.state)) await deps.tellReporter(tipId, text);
        return { recorded: true };
      }
    }
  };
}

// ───────────── deadline warnings (a scheduled sweep: infra/constructs/case-workflows.ts) ─────────────

/** The store side of the warning sweep (cases-store.ts deadlineWarningsDue, claim / release, the timeline). */
export interface DeadlineWarnings {
  due(now: Date, limit: number): Promise<DeadlineView[]>;
  /** false when the warning was claimed already, or the task is no longer open */
  claim(taskId: string, at: string): Promise<boolean>;
  release(taskId: string): Promise<void>;
  /** the warning on the case timeline (by `system`), after it went out */
  note(d: DeadlineView, text: string, at: string): Promise<void>;
}

const actorLabel = (actor: string) => (actor === 'case_team' ? '专案组' : (ROLE_NAMES[actor as Role] ?? actor));

/** The bureau's message before a deadline lapses: who must act on which step of which case, by when. */
export function deadlineWarningMessage(d: DeadlineView): BureauMessage {
  const flow = d.workflow === 'reward' ? '举报奖励审批' : '涉嫌犯罪案件移送';
  const label = d.stepLabelZh ?? stepOf(d.workflow, d.step).labelZh;
  const who = [...new Set(d.actors)].map(actorLabel).join('、');
  return {
    subject: 'EnvWatch case deadline warning',
    textZh: `【案件期限提醒】案件 ${d.caseId} ${flow}「${label}」环节将于 ${dueText(d.dueAt, d.calendarAssumed)} 到期，请${who}及时办理。`,
    attributes: {
      kind: 'case_deadline_warning',
      caseId: d.caseId,
      workflow: d.workflow,
      step: d.step,
      actors: [...new Set(d.actors)].join(','),
      ...(d.calendarAssumed?.length ? { calendarAssumed: d.calendarAssumed.join(',') } : {}),
      dedupeId: `${d.taskId}#warn`,
    },
  };
}

/**
 * The warning sweep: every open deadline past its `warnAt` and not yet warned is claimed, told to the bureau topic
 * and noted on the case timeline, once. A message that cannot be sent gives its claim back for the next sweep; the
 * others still go out, and the sweep then fails so the schedule's retry and the logs show it.
 */
export async function warnDeadlines(
  deps: { warnings: DeadlineWarnings; notifyBureau(m: BureauMessage): Promise<void>; now(): Date },
  limit = 200,
): Promise<{ warned: number; failed: number }> {
  const now = deps.now();
  const at = now.toISOString();
  let warned = 0;
  let failed = 0;
  for (const d of await deps.warnings.due(now, limit)) {
    if (!(await deps.warnings.claim(d.taskId, at))) continue;
    const message = deadlineWarningMessage(d);
    try {
      await deps.notifyBureau(message);
    } catch {
      failed++;
      await deps.warnings.release(d.taskId);
      continue;
    }
    await deps.warnings.note(d, message.textZh, at);
    warned++;
  }
  if (failed > 0) throw new Error(`${failed} deadline warning(s) could not be sent; they will be retried`);
  return { warned, failed };
}
