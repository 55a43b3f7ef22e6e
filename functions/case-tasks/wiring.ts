import { SNSClient } from '@aws-sdk/client-sns';
import { bureauPublisher } from '#shared/adapters/bureau-topic.ts';
import { tipMessages } from '#shared/adapters/case-sources.ts';
import { DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoTipRecords } from '#shared/adapters/tips-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { sweepFollowUps } from '#shared/domain/cases/follow-up.ts';
import { caseTasks, warnDeadlines } from '#shared/domain/cases/workflow-tasks.ts';

/**
 * Builds the case-tasks use-case from the function's environment: CASES_TABLE and AUDIT_TABLE (read/write),
 * TIPS_TABLE (reporters' messages; never the identities table) and BUREAU_TOPIC_ARN (publish).
 */
export function caseTasksFromEnv() {
  const config = readConfig({
    cases: ENV.casesTable,
    audit: ENV.auditTable,
    tips: ENV.tipsTable,
    bureauTopic: ENV.bureauTopic,
  });
  const store = new DynamoCaseStore(dynamo, { cases: config.cases, audit: config.audit });
  const notifyBureau = bureauPublisher(new SNSClient({}), config.bureauTopic);
  const now = () => new Date();
  return {
    run: caseTasks({
      store,
      reporters: tipMessages(new DynamoTipRecords(dynamo, { tips: config.tips, audit: config.audit })),
      notifyBureau,
      now,
    }),
    warnings: () => warnDeadlines({ store, notifyBureau, now }),
    followUps: (at: Date) => sweepFollowUps({ store, notifyBureau }, at),
  };
}
