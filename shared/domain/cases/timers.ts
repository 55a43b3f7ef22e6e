import { createHash } from 'node:crypto';
import { addDays, addWorkingDays, beijingDate, yearsWithoutCalendar } from '#shared/domain/calendar/cn-holidays.ts';
import { beijingDayEnd, computeDeadline, type FilingExtension, warnInstant } from './deadlines.ts';
import { REWARD_FLOW, type RewardStep } from './reward-flow.ts';
import { TRANSFER_FLOW } from './transfer.ts';
import type { StepDef, WorkflowDefinition } from './workflow.ts';

/**
 * The timers of the two case workflows, pure: what a step's `:timer` state computes on entry (the instant the task
 * lapses, when to warn, how long the `.waitForTaskToken` task may wait) and what an escalation grants after a lapse.
 *
 * - Transfer steps: the statutory deadline of the step (deadlines.ts computeDeadline: calendar days with holiday
 *   rollover, working days, hours), started on every entry or, for the filing decision, on the FIRST entry (the
 *   police's receipt), with the filing extension (7 / 30 days) that the police's `extend_*` action chose.
 * - Reward steps: no statute sets them; REWARD_STEP_SLA is the bureau's service level (working days), data to change.
 * - Steps without either (the police signing the receipt, criminal proceedings, the drafting of the report) wait
 *   without a timer.
 * The state machine waits `timeoutSeconds` (TimeoutSecondsPath), so the Step Functions timer fires at `dueAt`, the
 * instant the task record shows. A lapse escalates (bureau topic); the task re-opens for another
 * ESCALATION_WINDOW_HOURS; after MAX_ESCALATIONS the workflow fails with `DeadlineLapsed`.
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
  /** the deadline kind (deadlines.ts) or `sla` */
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
  const sla = workflow === 'reward' ? REWARD_STEP_SLA[step as RewardStep] : undefined;
  if (sla !== undefined) {
    const today = beijingDate(now);
    const dueDate = addWorkingDays(today, sla);
    const due = beijingDayEnd(dueDate);
    const assumed = yearsWithoutCalendar(addDays(today, 1), dueDate);
    return {
      ...base,
      startedAt: at,
      dueAt: due.toISOString(),
      warnAt: warnInstant(now, due, 'working_days').toISOString(),
      timeoutSeconds: secondsUntil(due.toISOString(), now),
      basis: 'sla',
      labelZh: `${def.labelZh}（${sla}个工作日）`,
      ...(assumed.length > 0 ? { calendarAssumed: assumed } : {}),
    };
  }
  return base;
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
  return def.deadline !== undefined || (workflow === 'reward' && REWARD_STEP_SLA[step as RewardStep] !== undefined);
}
