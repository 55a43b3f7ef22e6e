import * as z from 'zod';
import { FLOWS } from '#shared/domain/cases/timers.ts';

/**
 * The events the two case state machines send to `case-tasks` (infra/constructs/case-workflows.ts builds them):
 *   timer    — entering a human step: compute its deadline (→ $.Payload.timer)
 *   task     — the `.waitForTaskToken` invocation: record the task with its token, actors and deadline
 *   escalate — the wait timed out: lapse the task, tell the bureau, grant the next window (→ $.Payload.timer)
 *   system   — a step the workflow decides itself (reward amount, county approval, commendation) (→ $.decision)
 *   follow   — a followed-up step (the criminal proceedings): its first follow-up task; the execution then ends
 *   record   — a terminal step: the outcome on the case timeline
 * Every event names its case, workflow, step and execution; the step must exist in the workflow's table.
 */

const Workflow = z.enum(['reward', 'transfer']);
const Instant = z.iso.datetime({ offset: true });

const FilingExtension = z.enum(['none', 'clue_check', 'complex']);

export const StepTimerSchema = z.object({
  entryId: z.string().min(1),
  step: z.string().min(1),
  enteredAt: Instant,
  level: z.number().int().min(0),
  startedAt: Instant.optional(),
  dueAt: Instant.optional(),
  warnAt: Instant.optional(),
  timeoutSeconds: z.number().int().positive().optional(),
  basis: z.string().optional(),
  labelZh: z.string().optional(),
  calendarAssumed: z.array(z.number().int()).optional(),
  clocks: z.record(z.string(), Instant),
  extension: FilingExtension,
});

/** The state the machine carries: the execution input plus what the states added. Other fields pass through. */
export const WorkflowStateSchema = z.looseObject({
  caseId: z.string().min(1),
  /** the running step's timer (infra/constructs/case-workflows.ts TIMER_PATH explains the `Payload` name) */
  Payload: z.looseObject({ timer: StepTimerSchema.optional() }).optional(),
  decision: z.looseObject({ action: z.string(), comment: z.string().optional(), by: z.string().optional() }).optional(),
  reward: z
    .looseObject({
      totalFen: z.number().int().min(0),
      approvals: z.array(z.looseObject({ step: z.string() })),
    })
    .optional(),
  commendationConsent: z.boolean().optional(),
});
export type WorkflowStateData = z.infer<typeof WorkflowStateSchema>;

const base = {
  workflow: Workflow,
  step: z.string().min(1),
  caseId: z.string().trim().min(1).max(64),
  executionArn: z.string().min(1),
};

export const CaseTaskEvent = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('timer'), ...base, enteredTime: Instant, state: WorkflowStateSchema }),
    z.object({
      kind: z.literal('task'),
      ...base,
      token: z.string().min(1),
      timer: StepTimerSchema,
      input: WorkflowStateSchema,
    }),
    z.object({
      kind: z.literal('escalate'),
      ...base,
      timer: StepTimerSchema,
      maxEscalations: z.number().int().min(0),
    }),
    z.object({ kind: z.literal('system'), ...base, state: WorkflowStateSchema }),
    z.object({ kind: z.literal('follow'), ...base, enteredTime: Instant, state: WorkflowStateSchema }),
    z.object({ kind: z.literal('record'), ...base, state: WorkflowStateSchema }),
  ])
  .refine((e) => e.step in FLOWS[e.workflow].steps, { message: 'unknown step of the workflow', path: ['step'] })
  .refine((e) => e.kind !== 'follow' || FLOWS[e.workflow].steps[e.step]?.followUp === true, {
    message: 'the step is not followed up',
    path: ['step'],
  });
export type CaseTaskEvent = z.infer<typeof CaseTaskEvent>;

/** The schedule's event (infra/constructs/case-workflows.ts): warn the deadlines whose warning time has come. */
export const DeadlineWarningsEvent = z.strictObject({ kind: z.literal('deadline_warnings') });

/**
 * The daily schedule's event (infra/constructs/case-workflows.ts): re-arm the follow-ups due by `time`, the
 * scheduled event's time (passed by the rule's input transformer).
 */
export const FollowUpsEvent = z.strictObject({ kind: z.literal('follow_ups'), time: Instant });
