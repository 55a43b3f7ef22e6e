import { createHash } from 'node:crypto';
import { computeDeadline, type FilingExtension, type Period, periodEnd, warnInstant } from './deadlines.ts';
import { REWARD_FLOW, type RewardStep } from './reward-flow.ts';
import { TRANSFER_FLOW, type TransferStep } from './transfer.ts';
import type { StepDef, WorkflowDefinition } from './workflow.ts';

/**
 * The timers of the two case workflows, pure: what a step's `:timer` state computes on entry (the instant the task
 * lapses, when to warn, how long the `.waitForTaskToken` task may wait) and what an escalation grants after a lapse.
 * Every human wait in the two state machines has one (an infra test walks the definitions):
 *
 * - Transfer steps with a statute: the step's statutory deadline (deadlines.ts computeDeadline: calendar days with
 *   holiday rollover, working days, hours), started on every entry or, for the filing decision, on the FIRST entry
 *   (the police's receipt), with the filing extension (7 / 30 days) that the police's `extend_*` action chose.
 * - Steps no statute times: the bureau's service level, counted the same way, data to change (docs/decisions.md):
 *   REWARD_STEP_SLA for the reward approvals, TRANSFER_STEP_SLA for the transfer report, the police's receipt and the
 *   procuratorate's supervision.
 * The state machine waits `timeoutSeconds` (TimeoutSecondsPath), so the Step Functions timer fires at `dueAt`, the
 * instant the task record shows. A lapse escalates (bureau topic); the task re-opens for another
 * ESCALATION_WINDOW_HOURS; after MAX_ESCALATIONS the workflow fails with `DeadlineLapsed`.
 *
 * The criminal proceedings have no end in law and may outlast a Step Functions execution (a Standard workflow runs
 * one year at most): the transfer execution ends where they begin and the periodic follow-up (follow-up.ts) takes
 * over, re-arming FOLLOW_UP_PERIOD after each lapse instead of escalating to a stop (followUpTimer).
 */

export type WorkflowName = 'reward' | 'transfer';

// biome-ignore lint/suspicious/noExplicitAny: the two definitions differ in their step and action unions
export const FLOWS: Record<WorkflowName, WorkflowDefinition<any, any>> = {
  reward: REWARD_FLOW,
  transfer: TRANSFER_FLOW,
};

/** Working days each human reward step may take before it escalates (the bureau's service level, not a statute). */
export const REWARD_STEP_SLA: Partial<Record<RewardStep, number>> = {
  eligibility: 5,
  handler_approval: 3,
  section_chief_approval: 3,
  bureau_head_approval: 3,
  county_government_approval: 20,
  payment: 10,
  commendation: 10,
};

/**
 * Transfer steps no statute times, with the bureau's service level (docs/decisions.md): the case team's report (the
 * law says the team is formed "immediately", not how long the report may take), the police's signed receipt (the
 * law says "immediately"; 24 hours is the measure the same rules give the police to forward a case), the
 * procuratorate's filing supervision.
 */
export const TRANSFER_STEP_SLA: Partial<Record<TransferStep, Period>> = {
  report_drafting: { counting: 'working_days', amount: 5 },
  police_receipt: { counting: 'hours', amount: 24 },
  procuratorate_supervision: { counting: 'calendar_days', amount: 30 },
};

/**
 * How long the periodic follow-up (follow-up.ts) waits for news from the criminal proceedings before it reminds the
 * bureau and re-arms: the bureau's service level (docs/decisions.md), counted like the calendar-day deadlines.
 */
export const FOLLOW_UP_PERIOD: Partial<Record<TransferStep, Period>> = {
  criminal_proceedings: { counting: 'calendar_days', amount: 60 },
};

export const ESCALATION_WINDOW_HOURS = 24;
export const MAX_ESCALATIONS = 2;

/** The level an escalation notifies (the task stays with the step's actors: act() decides who may act). */
export const ESCALATION_NOTIFIES = ['section_chief', 'bureau_head'] as const;

/** What the `:timer` state writes to `$.Payload.timer` (TIMER_PATH) and every later state carries on. */
export interface StepTimer {
  /** one entry into a step: the seed of its task ids */
  entryId: string;
  step: string;
  enteredAt: string;
  /** 0 until the first lapse */
  level: number;
  /** the period running now (absent when the step has no timer) */
  startedAt?: string;
  dueAt?: string;
  warnAt?: string;
  timeoutSeconds?: number;
  /** the deadline kind (deadlines.ts), `sla` (a service level) or `follow_up` (the periodic follow-up) */
  basis?: string;
  labelZh?: string;
  /** years without holiday data that the period's day count assumed Monday–Friday (deadlines.ts Deadline) */
  calendarAssumed?: number[];
  /** first entry of each step, for `first_entry` clocks */
  clocks: Record<string, string>;
  extension: FilingExtension;
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID whose time is `ms` and whose randomness is a hash of `seed`: the same seed gives the same id (retries). */
export function seededUlid(ms: number, seed: string): string {
  let time = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  const digest = createHash('sha256').update(seed).digest();
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET.charAt((digest[i] ?? 0) % 32);
  return time + random;
}

/** The task id of one wait on a step: stable per (entry, escalation level), so a re-invoked Lambda records once. */
export function taskIdFor(timer: Pick<StepTimer, 'entryId' | 'enteredAt' | 'level'>): string {
  return seededUlid(Date.parse(timer.enteredAt), `${timer.entryId}#${timer.level}`);
}

export function stepOf(workflow: WorkflowName, step: string): StepDef<string, string> {
  const def = FLOWS[workflow].steps[step] as StepDef<string, string> | undefined;
  if (!def) throw new Error(`unknown ${workflow} step ${step}`);
  return def;
}

/** Whole seconds from `now` to `dueAt`, at least 1 (Step Functions needs a positive integer). */
export const secondsUntil = (dueAt: string, now: Date): number =>
  Math.max(1, Math.ceil((Date.parse(dueAt) - now.getTime()) / 1000));

function nextExtension(previous: FilingExtension, action: string | undefined): FilingExtension {
  if (action === 'extend_complex') return 'complex';
  if (action === 'extend_clue_check' && previous !== 'complex') return 'clue_check';
  return previous;
}

/**
 * Entering `step` at `now`, coming from a state whose timer was `prev` (absent at the start) and whose last action
 * was `action`. `seed` distinguishes entries (the execution id and the state's entered time).
 */
export function enterStep(
  workflow: WorkflowName,
  step: string,
  prev: Pick<StepTimer, 'clocks' | 'extension'> | undefined,
  action: string | undefined,
  now: Date,
  seed: string,
): StepTimer {
  const def = stepOf(workflow, step);
  const at = now.toISOString();
  const clocks = { ...(prev?.clocks ?? {}) };
  clocks[step] ??= at;
  const extension = workflow === 'transfer' ? nextExtension(prev?.extension ?? 'none', action) : 'none';
  const base: StepTimer = {
    entryId: seededUlid(now.getTime(), `${seed}#${step}`),
    step,
    enteredAt: at,
    level: 0,
    clocks,
    extension,
  };
  if (def.deadline) {
    const startedAt = def.clock === 'first_entry' ? (clocks[step] ?? at) : at;
    const d = computeDeadline(def.deadline, startedAt, { extension });
    return {
      ...base,
      startedAt,
      dueAt: d.dueAt,
      warnAt: d.warnAt,
      timeoutSeconds: secondsUntil(d.dueAt, now),
      basis: d.kind,
      labelZh: d.labelZh,
      ...(d.calendarAssumed ? { calendarAssumed: d.calendarAssumed } : {}),
    };
  }
  const sla = serviceLevelOf(workflow, step);
  if (sla !== undefined) {
    const end = periodEnd(sla, now);
    return {
      ...base,
      startedAt: at,
      dueAt: end.dueAt,
      warnAt: end.warnAt,
      timeoutSeconds: secondsUntil(end.dueAt, now),
      basis: 'sla',
      labelZh: `${def.labelZh}（${periodLabelZh(sla)}）`,
      ...(end.calendarAssumed ? { calendarAssumed: end.calendarAssumed } : {}),
    };
  }
  return base;
}

/** A period as officials read it: 5个工作日, 24小时, 30日. */
export function periodLabelZh(p: Period): string {
  return p.counting === 'hours'
    ? `${p.amount}小时`
    : p.counting === 'working_days'
      ? `${p.amount}个工作日`
      : `${p.amount}日`;
}

/** The bureau's service level of a step no statute times, if it has one. */
export function serviceLevelOf(workflow: WorkflowName, step: string): Period | undefined {
  if (workflow === 'reward') {
    const days = REWARD_STEP_SLA[step as RewardStep];
    return days === undefined ? undefined : { counting: 'working_days', amount: days };
  }
  return TRANSFER_STEP_SLA[step as TransferStep];
}

/** The follow-up period of a step the periodic follow-up takes over from the workflow (follow-up.ts), if any. */
export function followUpPeriodOf(workflow: WorkflowName, step: string): Period | undefined {
  return workflow === 'transfer' ? FOLLOW_UP_PERIOD[step as TransferStep] : undefined;
}

/**
 * One period of the follow-up of `step`, started at `now`: due at the period's end (no warning before: the lapse is
 * itself the reminder), `level` the reminders sent so far. `seed` makes the entry id (and so the task id) stable.
 */
export function followUpTimer(
  workflow: WorkflowName,
  step: string,
  now: Date,
  seed: string,
  level = 0,
  prev?: Pick<StepTimer, 'clocks' | 'extension'>,
): StepTimer {
  const period = followUpPeriodOf(workflow, step);
  if (!period) throw new Error(`${workflow} step ${step} is not followed up`);
  const def = stepOf(workflow, step);
  const at = now.toISOString();
  const clocks = { ...(prev?.clocks ?? {}) };
  clocks[step] ??= at;
  const end = periodEnd(period, now);
  return {
    entryId: seededUlid(now.getTime(), `${seed}#${step}#follow-up`),
    step,
    enteredAt: at,
    level,
    clocks,
    extension: prev?.extension ?? 'none',
    startedAt: at,
    dueAt: end.dueAt,
    basis: 'follow_up',
    labelZh: `${def.labelZh}（每${periodLabelZh(period)}跟踪一次）`,
    ...(end.calendarAssumed ? { calendarAssumed: end.calendarAssumed } : {}),
  };
}

/** After a lapse at `now`: the next level and ESCALATION_WINDOW_HOURS more to act (hours: no calendar assumed). */
export function escalateTimer(timer: StepTimer, now: Date): StepTimer {
  const due = new Date(now.getTime() + ESCALATION_WINDOW_HOURS * 3_600_000);
  const { calendarAssumed: _assumed, ...rest } = timer;
  return {
    ...rest,
    level: timer.level + 1,
    startedAt: now.toISOString(),
    dueAt: due.toISOString(),
    warnAt: warnInstant(now, due, 'hours').toISOString(),
    timeoutSeconds: ESCALATION_WINDOW_HOURS * 3600,
  };
}

/** Whether a step waits with a timer (its wait task gets TimeoutSecondsPath and a States.Timeout catch). */
export function hasTimer(workflow: WorkflowName, step: string): boolean {
  const def = stepOf(workflow, step);
  return def.deadline !== undefined || serviceLevelOf(workflow, step) !== undefined;
}
