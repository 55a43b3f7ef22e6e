import { CaseTaskEvent, DeadlineWarningsEvent, FollowUpsEvent } from '#shared/contracts/case-tasks.ts';
import { DomainError } from '#shared/domain/errors.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';
import { caseTasksFromEnv } from './wiring.ts';

/**
 * `case-tasks`: the Lambda the two case state machines call (infra/constructs/case-workflows.ts), the schedule's
 * deadline-warning sweep (`{"kind":"deadline_warnings"}`) and the daily follow-up of the criminal proceedings
 * (`{"kind":"follow_ups","time":…}`). Errors are named
 * for the state machine's Retry: `CaseTasksRetryable` (a store or SNS fault: retried, the workflow resumes),
 * `CaseTasksRejected` (the event is invalid or the case refuses it: not retried, the execution fails). The task
 * token is never logged.
 */
const { run, warnings, followUps } = caseTasksFromEnv();

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

export const handler = observedHandler(async (event: unknown): Promise<unknown> => {
  if (DeadlineWarningsEvent.safeParse(event).success) {
    const result = await warnings();
    logger.info('deadline warnings sent', result);
    return result;
  }
  const followUp = FollowUpsEvent.safeParse(event);
  if (followUp.success) {
    const result = await followUps(new Date(followUp.data.time));
    logger.info('follow-ups re-armed', result);
    return result;
  }
  const parsed = CaseTaskEvent.safeParse(event);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
    logger.error('case-tasks event rejected', { issues });
    throw named('CaseTasksRejected', `invalid case-tasks event: ${issues.join('; ')}`);
  }
  const e = parsed.data;
  const ids = { kind: e.kind, caseId: e.caseId, workflow: e.workflow, step: e.step };
  try {
    const result = await run(e);
    logger.info('case-tasks done', ids);
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const rejected = err instanceof DomainError || (err instanceof Error && err.message.includes('not a system step'));
    logger.error('case-tasks failed', { ...ids, error: message, retryable: !rejected });
    throw named(rejected ? 'CaseTasksRejected' : 'CaseTasksRetryable', message);
  }
});
