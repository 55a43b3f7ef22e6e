import { Aws, Duration, Validations } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { ARCHIVE_PREFIX } from '#shared/domain/archive/record.ts';
import { replayTopicFilters } from '#shared/domain/ingest/dead-letter.ts';
import { DEFAULT_POLICY, REDRIVE_PERIOD_MINUTES } from '#shared/domain/redrive/model.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import { grantSend } from './iot-ingest.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * The dead-letter redrive (functions/dead-letter-redrive, shared/domain/redrive): an EventBridge schedule every
 * REDRIVE_PERIOD_MINUTES passes the scheduled time to a function of its own, which replays the ingest and alarms
 * dead letters once the tables and the bucket their work needs answer again, backs off while they do not, and parks
 * poison messages on the parked queue with their reason.
 *
 * A function of its own rather than a job of alarm-jobs: its grants are of another kind (receive and delete on the
 * dead-letter queues, iot:Publish on the replay topics, a read of each probed table) and alarm-jobs' are not needed
 * (topics, SMS, the readings and registry tables read and written); and a redrive must keep working when the alarm
 * engine's own function is what fails.
 *
 * Least privilege: one GetItem on each probed table (readings, registry; alarms also holds the ledger: GetItem,
 * BatchGetItem, PutItem, UpdateItem), a listing of the archive prefix (`raw/`), receive / delete / release and the
 * queue depth on the two dead-letter queues, send on the parked queue, the data key for their encryption, and
 * iot:Publish on exactly the replay topics (replayTopicFilters: the same list the function checks before publishing).
 * ARNs are partition-aware.
 */
export interface DeadLetterRedriveProps {
  stage: string;
  logRetentionDays: number;
  deadLetters: { ingest: Queue; alarms: Queue };
  /** `$aws/rules/<gateway rule>/envwatch/gateway`: the gateway's Basic Ingest topics are replay topics too */
  gatewayIngestTopic: string;
  readingsTable: DataTable;
  registryTable: DataTable;
  /** probed for the alarms source, and the redrive's ledger */
  alarmsTable: DataTable;
  evidenceBucket: IBucket;
  dataKey: IKey;
  /** per source and run (default 100) */
  capPerRun?: number;
  /** replays of one payload before it is parked (default 3) */
  maxReplays?: number;
  /** the longest backoff (default 60) */
  backoffMaxMinutes?: number;
}

export const REDRIVE_SCHEDULE = `rate(${REDRIVE_PERIOD_MINUTES} minutes)`;

export class DeadLetterRedrive extends Construct {
  public readonly function: EnvWatchFunction;
  /** poison messages, with their reason as message attributes, for a person to replay or discard */
  public readonly parked: Queue;
  public readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: DeadLetterRedriveProps) {
    super(scope, id);
    this.parked = new Queue(this, 'Parked', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.dataKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.parked).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'The parked queue is the end of the line for dead letters the redrive gave up on: a person reads it (docs/operations.md), an alarm fires on its first message.',
    });

    const topics = replayTopicFilters(props.gatewayIngestTopic);
    const fn = new EnvWatchFunction(this, 'Function', {
      name: 'dead-letter-redrive',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      timeout: Duration.minutes(2),
      description: 'EnvWatch dead-letter redrive: replays dead letters once their dependencies answer, parks poison',
      environment: {
        [ENV.ingestDeadLetterQueue]: props.deadLetters.ingest.queueUrl,
        [ENV.alarmsDeadLetterQueue]: props.deadLetters.alarms.queueUrl,
        [ENV.parkedQueue]: this.parked.queueUrl,
        [ENV.redriveReplayTopics]: topics.join(','),
        [ENV.readingsTable]: props.readingsTable.table.tableName,
        [ENV.registryTable]: props.registryTable.table.tableName,
        [ENV.alarmsTable]: props.alarmsTable.table.tableName,
        [ENV.evidenceBucket]: props.evidenceBucket.bucketName,
        [ENV.redriveCapPerRun]: String(props.capPerRun ?? DEFAULT_POLICY.capPerRun),
        [ENV.redriveMaxReplays]: String(props.maxReplays ?? DEFAULT_POLICY.maxReplays),
        [ENV.redriveBackoffMaxMinutes]: String(props.backoffMaxMinutes ?? DEFAULT_POLICY.backoffMaxMs / 60_000),
      },
    });
    this.function = fn;
    const allow = (actions: string[], resources: string[]) =>
      fn.fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources }));

    allow(
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
      [props.deadLetters.ingest.queueArn, props.deadLetters.alarms.queueArn],
    );
    grantSend(fn.fn, this.parked, props.dataKey);
    allow(['dynamodb:GetItem'], [props.readingsTable.table.tableArn, props.registryTable.table.tableArn]);
    allow(
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [props.alarmsTable.table.tableArn],
    );
    allow(['kms:Decrypt', 'kms:GenerateDataKey'], [props.dataKey.keyArn]);
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:ListBucket'],
        resources: [props.evidenceBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}*`] } },
      }),
    );
    const topicArns = topics.map(
      (t) => `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:topic/${t.replaceAll('+', '*')}`,
    );
    allow(['iot:Publish'], topicArns);
    for (const arn of topicArns.filter((a) => a.includes('*'))) {
      acknowledgeWildcardResource(
        fn,
        arn,
        'Replay topics are one per device MN (the MQTT + level): the wildcard is the MN, nothing wider.',
      );
    }

    this.schedule = new Rule(this, 'Schedule', {
      description: 'EnvWatch dead-letter redrive: replay dead letters once their dependencies answer',
      schedule: Schedule.expression(REDRIVE_SCHEDULE),
      targets: [
        new LambdaFunction(fn.fn, { event: RuleTargetInput.fromObject({ time: EventField.time }), retryAttempts: 0 }),
      ],
    });
  }
}
