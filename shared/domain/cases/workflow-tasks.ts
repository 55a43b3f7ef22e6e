import type { CaseTaskEvent, WorkflowStateData } from '#shared/contracts/case-tasks.ts';
import { calendarAssumedNoteZh } from '#shared/domain/calendar/cn-holidays.ts';
import { ulid } from '#shared/domain/ids.ts';
import { ROLE_LABELS as ROLE_NAMES, type Role } from '#shared/domain/roles.ts';
import { mergedGroup, pendingClaimant } from '#shared/domain/tips/triage.ts';
import { shownDeadline, stepType, taskLapsedEntry, taskOpened } from './changes.ts';
import { MAX_WARNING_LEAD_MS } from './deadlines.ts';
import { followUpTask } from './follow-up.ts';
import { advanceCase, recordOutcome, TRANSFER_CASE_STATUS, workflowEvent } from './outcomes.ts';
import type { BureauMessage, BureauNotifier, CaseStore, DeadlineView, ReporterMessages } from './ports.ts';
import type { RewardResult } from './reward.ts';
import { type RewardStep, systemChoice } from './reward-flow.ts';
import {
  ESCALATION_NOTIFIES,
  ESCALATION_WINDOW_HOURS,
  enterStep,
  escalateTimer,
  followUpPeriodOf,
  followUpTimer,
  periodLabelZh,
  type StepTimer,
  seededUlid,
  stepOf,
  taskIdFor,
} from './timers.ts';

/**
 * What the case workflows ask of `case-tasks` (functions/case-tasks), one branch per event kind
 * (shared/contracts/case-tasks.ts):
 *   timer    → enterStep (timers.ts): the step's deadline, carried in $.Payload.timer
 *   task     → the task recorded with the step's actors, the deadline and what the actor needs to see; the task id is
 *              stable per step entry and escalation level (a re-invoked Lambda records once); the police's receipt
 *              moves the case to `transferred`; at a reward round's eligibility step, the anonymous reporter the
 *              reward is for is invited to claim through the receipt (CLAIM_INVITATION), once per step entry
 *   escalate → the open task lapses (the timeline says so), a Chinese message to the bureau topic, the next window
 *   system   → reward-flow.ts systemChoice on the round the execution carries, noted on the timeline
 *   follow   → a followed-up step (the criminal proceedings): the follow-up's first task, with no token, for the
 *              periodic follow-up to keep (follow-up.ts); the execution then ends
 *   record   → the outcome on the case timeline, the case moved along outcomes.ts TRANSFER_CASE_STATUS, the reporter
 *              told
 * and, on a schedule, warnDeadlines: each open deadline whose warning time has come is told to the bureau once.
 */
export type { BureauMessage };
export { TRANSFER_CASE_STATUS };

export interface CaseTasksDeps {
  store: Pick<CaseStore, 'get' | 'change' | 'recordTask' | 'getTask' | 'lapseTask' | 'addTimelineEntry'>;
  /** the tips' reporters (through the receipt); without it nobody is told or invited */
  reporters?: ReporterMessages;
  notifyBureau: BureauNotifier;
  now(): Date;
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
  const deadline = shownDeadline(timer);
  if (deadline) shown.deadline = deadline;
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
  const { store } = deps;

  /**
   * The claim invitation to the reporter each tip's reward is for, when they may still claim (triage.ts
   * pendingClaimant: the merged group's first valid reporter, anonymous, found true, not claimed). Its entry id is
   * seeded by the step entry and the tip, so a retried or escalated task posts it once.
   */
  const inviteClaims = async (reporters: ReporterMessages, tipIds: string[], once: { at: string; seed: string }) => {
    const read = (id: string) => reporters.tip(id);
    for (const rootId of tipIds) {
      const root = await read(rootId);
      if (!root) continue;
      const tip = pendingClaimant(await mergedGroup(root, read, 50), root);
      if (!tip) continue;
      const id = seededUlid(Date.parse(once.at), `${once.seed}#claim-invitation#${tip.id}`);
      await reporters.post(
        tip.id,
        { id, at: once.at, text: CLAIM_INVITATION },
        { via: 'reward-workflow', kind: 'claim_invitation' },
      );
    }
  };

  return async (e: CaseTaskEvent): Promise<unknown> => {
    const now = deps.now();
    const at = now.toISOString();
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
        const task = {
          taskId,
          caseId: e.caseId,
          workflow: e.workflow,
          executionArn: e.executionArn,
          step: e.step,
          actors: step.actors.filter((a) => a !== 'system'),
          token: e.token,
          createdAt: at,
          ...(timer.dueAt ? { dueAt: timer.dueAt } : {}),
          ...(timer.warnAt ? { warnAt: timer.warnAt } : {}),
          ...(timer.calendarAssumed ? { calendarAssumed: timer.calendarAssumed } : {}),
          input: taskInput(e.input, timer),
        };
        await store.recordTask(task, taskOpened(task));
        const path = e.workflow === 'transfer' ? TRANSFER_CASE_STATUS[e.step] : undefined;
        if (path && e.step === 'police_receipt') await advanceCase(store, e.caseId, path, step.labelZh);
        if (e.workflow === 'reward' && e.step === 'eligibility' && deps.reporters) {
          await inviteClaims(deps.reporters, tipIdsOf(e.input), { at: timer.enteredAt, seed: timer.entryId });
        }
        return { taskId };
      }
      case 'escalate': {
        // the timer may fire before the task was recorded: nothing to lapse, the escalation still goes out
        const task = await store.getTask(taskIdFor(e.timer));
        if (task?.state === 'open') await store.lapseTask(task, { entry: taskLapsedEntry(task), at });
        const next = escalateTimer(e.timer, now);
        await deps.notifyBureau(escalationMessage(e, e.timer, next.level, e.maxEscalations));
        return next;
      }
      case 'system': {
        const action = systemChoice(e.step as RewardStep, {
          // systemChoice reads totalFen and approvals[].step only (validated in the contract)
          round: (e.state.reward ?? { totalFen: 0, approvals: [] }) as unknown as Pick<
            RewardResult,
            'totalFen' | 'approvals'
          >,
          commendationConsent: e.state.commendationConsent ?? false,
        });
        const a = stepOf(e.workflow, e.step).actions[action] as { labelZh: string } | undefined;
        await workflowEvent(
          store,
          { ...e, note: `${stepOf(e.workflow, e.step).labelZh}：${a?.labelZh ?? action}` },
          at,
        );
        return { action, by: 'system' };
      }
      case 'follow': {
        // the execution ends here: the follow-up's first task, seeded by the state's entry so a retry records once
        const entered = new Date(e.enteredTime);
        const timer = followUpTimer(
          e.workflow,
          e.step,
          entered,
          `${e.executionArn}#${e.enteredTime}`,
          0,
          e.state.Payload?.timer,
        );
        const first = followUpTask({ ...e, timer, input: taskInput(e.state, timer), createdAt: at });
        await store.recordTask(first.task, first.opened);
        const period = followUpPeriodOf(e.workflow, e.step);
        const every = period ? `（每${periodLabelZh(period)}）` : '';
        const note = `移送流程在此结束，「${stepOf(e.workflow, e.step).labelZh}」转入定期跟踪${every}，直至判决或退回`;
        await workflowEvent(store, { ...e, note }, at);
        return { taskId: first.task.taskId, dueAt: timer.dueAt };
      }
      case 'record': {
        await recordOutcome(store, e, at);
        const text = e.workflow === 'reward' ? rewardOutcomeMessage(e.step, e.state) : undefined;
        if (text && deps.reporters) {
          // a retried Lambda may post it twice; the text says the same thing both times
          for (const tipId of tipIdsOf(e.state)) {
            await deps.reporters.post(tipId, { id: ulid(now.getTime()), at, text }, { via: 'reward-workflow' });
          }
        }
        return { recorded: true };
      }
    }
  };
}

// ───────────── deadline warnings (a scheduled sweep: infra/constructs/case-workflows.ts) ─────────────

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
 * The warning sweep: every open deadline past its `warnAt` and not yet warned (among those due within
 * deadlines.ts MAX_WARNING_LEAD_MS: no warning leads by more) is claimed, told to the bureau topic and noted on the
 * case timeline, once. A message that cannot be sent gives its claim back for the next sweep; the others still go
 * out, and the sweep then fails so the schedule's retry and the logs show it.
 */
export async function warnDeadlines(
  deps: {
    store: Pick<
      CaseStore,
      'deadlineWarningsDue' | 'claimDeadlineWarning' | 'releaseDeadlineWarning' | 'addTimelineEntry'
    >;
    notifyBureau: BureauNotifier;
    now(): Date;
  },
  limit = 200,
): Promise<{ warned: number; failed: number }> {
  const { store } = deps;
  const now = deps.now();
  const at = now.toISOString();
  let warned = 0;
  let failed = 0;
  for (const d of await store.deadlineWarningsDue(now, new Date(now.getTime() + MAX_WARNING_LEAD_MS), limit)) {
    if (!(await store.claimDeadlineWarning(d.taskId, at))) continue;
    const message = deadlineWarningMessage(d);
    try {
      await deps.notifyBureau(message);
    } catch {
      failed++;
      await store.releaseDeadlineWarning(d.taskId);
      continue;
    }
    await store.addTimelineEntry(
      d.caseId,
      {
        type: stepType(d.workflow),
        note: message.textZh,
        data: { event: 'deadline_warning', taskId: d.taskId, step: d.step, dueAt: d.dueAt },
      },
      { by: 'system', at },
      'case.deadline.warning',
    );
    warned++;
  }
  if (failed > 0) throw new Error(`${failed} deadline warning(s) could not be sent; they will be retried`);
  return { warned, failed };
}
