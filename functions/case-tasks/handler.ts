import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoTipStore } from '#shared/adapters/tips-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { CaseTaskEvent, DeadlineWarningsEvent } from '#shared/contracts/case-tasks.ts';
import { DomainError } from '#shared/domain/errors.ts';
import { logger } from '#shared/observability/logger.ts';
import { bureauPublisher, caseTasksStore, claimInviter, deadlineWarnings, reporterMessenger } from './adapters.ts';
import { caseTasks, warnDeadlines } from './use-case.ts';

/**
 * `case-tasks`: the Lambda the two case state machines call (infra/constructs/case-workflows.ts), and the schedule's
 * deadline-warning sweep (`{"kind":"deadline_warnings"}`). Errors are named
 * for the state machine's Retry: `CaseTasksRetryable` (a store or SNS fault: retried, the workflow resumes),
 * `CaseTasksRejected` (the event is invalid or the case refuses it: not retried, the execution fails). The task
 * token is never logged.
 */
const config = readConfig({
  cases: ENV.casesTable,
  audit: ENV.auditTable,
  tips: ENV.tipsTable,
  bureauTopic: ENV.bureauTopic,
});
const tables = { cases: config.cases, audit: config.audit };
const cases = new DynamoCaseStore(dynamo, tables);
const notifyBureau = bureauPublisher(new SNSClient({}), config.bureauTopic);
const tips = new DynamoTipStore(dynamo, {
  tips: config.tips,
  identities: 'unused-identities-table',
  audit: config.audit,
});
const run = caseTasks({
  store: caseTasksStore(cases),
  tellReporter: reporterMessenger(tips),
  inviteClaims: claimInviter(tips),
  notifyBureau,
  now: () => new Date(),
});

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

export async function handler(event: unknown): Promise<unknown> {
  if (DeadlineWarningsEvent.safeParse(event).success) {
    const result = await warnDeadlines({ warnings: deadlineWarnings(cases), notifyBureau, now: () => new Date() });
    logger.info('deadline warnings sent', result);
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
}
