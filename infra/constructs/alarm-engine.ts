import { Aws, Duration, Validations } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { ALARM_REPLAY_TOPIC } from '#shared/domain/ingest/dead-letter.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import { deadLetterQueue, grantSend } from './iot-ingest.ts';
import type { DataTable } from './tables.ts';

/**
 * The alarm engine:
 *  - evaluation runs in the ingest function (`evaluator`, passed in): every device message is one invocation that
 *    ingests and then evaluates the same decoded message (shared/domain/ingest/ingest.ts step 5). This construct gives
 *    that function the alarm environment, the alarms table, the audience topics and SMS, and points the replay rule
 *    `envwatch_<stage>_alarm_replay` (topic `envwatch/replay/alarms`, where the dead-letter redrive and
 *    `npm run replay-dead-letters` publish what the alarms dead-letter queue holds) at it: replaying a message through
 *    ingestion again is harmless (the archive recognises it, readings are first-write-wins, the evaluator skips what
 *    it has seen). The alarms dead-letter queue takes the replay rule's own failures and anything left from before
 *    evaluation moved into the ingest function; the function's failed invocations go to the ingest dead-letter queue.
 *  - `alarm-jobs`: EventBridge schedules with an input naming the job: the notification sweep every minute
 *    (reminders, escalations, deliveries that failed), data gaps every 5 minutes (with the scheduled event's time,
 *    TIMED_JOBS), identical series across devices
 *    every hour; and once a day (CALENDAR_CHECK) the working-day calendar's coverage, with the scheduled event's time:
 *    the ops topic hears, once per Beijing day, when this year's or (from 1 November) next year's holiday data is
 *    missing (shared/domain/calendar/coverage.ts). Its once-claims are items of the alarms table.
 * Both publish to the three audience topics and send SMS through the configured SmsGateway; only the jobs publish to
 * the ops topic.
 */
export interface SmsConfig {
  provider: 'sns' | 'http';
  httpUrl?: string;
  /** the HTTP provider's signing secret, e.g. `SecretValue.secretsManager(...).unsafeUnwrap()` resolved at deploy */
  httpSecret?: string;
  senderId?: string;
}

export interface AlarmEngineProps {
  stage: string;
  /** the function that evaluates every device message: the ingest function (IotIngest.function) */
  evaluator: EnvWatchFunction;
  logRetentionDays: number;
  alarmsTable: DataTable;
  registryTable: DataTable;
  readingsTable: DataTable;
  topics: { bureau: ITopic; regulator: ITopic; enterprise: ITopic; ops: ITopic };
  dataKey: IKey;
  sms: SmsConfig;
  registryCacheSeconds?: number;
  rulesCacheSeconds?: number;
}

export const alarmReplayRuleName = (stage: string) => `envwatch_${stage}_alarm_replay`;
export { ALARM_REPLAY_TOPIC };

export const ALARM_JOBS = {
  sweep: 'rate(1 minute)',
  'data-gaps': 'rate(5 minutes)',
  'identical-series': 'rate(1 hour)',
} as const;
export type AlarmJob = keyof typeof ALARM_JOBS;
/**
 * Jobs whose input also carries the scheduled event's time, the instant they judge for: data gaps measure silence up to
 * it (in the cloud it is the schedule's own minute; the local platform can fire the job as of a later instant, which
 * lets a quiet period be seen without waiting it out).
 */
export const TIMED_JOBS: ReadonlySet<AlarmJob> = new Set(['data-gaps']);

/** The calendar check: 09:00 Beijing (01:00 UTC) every day; the input carries the scheduled event's time. */
export const CALENDAR_CHECK = { job: 'calendar', schedule: 'cron(0 1 * * ? *)' } as const;

export class AlarmEngine extends Construct {
  /** the ingest function, which evaluates every message it ingests */
  public readonly evaluator: EnvWatchFunction;
  public readonly jobs: EnvWatchFunction;
  public readonly deadLetters: Queue;
  /** the alarms dead-letter queue's envelopes replayed to the evaluating (ingest) function (ALARM_REPLAY_TOPIC) */
  public readonly replayRule: CfnTopicRule;

  constructor(scope: Construct, id: string, props: AlarmEngineProps) {
    super(scope, id);
    this.deadLetters = deadLetterQueue(this, props.dataKey, 'the alarm replay rule');

    const environment = {
      [ENV.registryCacheSeconds]: String(props.registryCacheSeconds ?? 60),
      [ENV.alarmRulesCacheSeconds]: String(props.rulesCacheSeconds ?? 60),
      [ENV.smsGateway]: props.sms.provider,
      ...(props.sms.httpUrl ? { [ENV.smsHttpUrl]: props.sms.httpUrl } : {}),
      ...(props.sms.httpSecret ? { [ENV.smsHttpSecret]: props.sms.httpSecret } : {}),
      ...(props.sms.senderId ? { [ENV.smsSenderId]: props.sms.senderId } : {}),
    };
    const notifying = (fn: EnvWatchFunction) => {
      fn.bindTopic(props.topics.bureau, ENV.bureauTopic)
        .bindTopic(props.topics.regulator, ENV.regulatorTopic)
        .bindTopic(props.topics.enterprise, ENV.enterpriseTopic);
      if (props.sms.provider === 'sns') {
        // direct SMS publishes have no topic ARN: SNS authorizes sns:Publish on "*" for a phone number
        fn.fn.addToRolePolicy(
          new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: ['*'] }),
        );
        Validations.of(fn).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'SNS direct SMS (Publish with PhoneNumber) has no resource ARN; topic publishes are granted per topic.',
        });
      }
      return fn;
    };

    // the ingest function evaluates: the alarm environment, table, topics and SMS on top of its own grants
    this.evaluator = notifying(props.evaluator).bindTable(props.alarmsTable, ENV.alarmsTable, 'readwrite');
    for (const [name, value] of Object.entries(environment)) {
      if (name !== ENV.registryCacheSeconds) this.evaluator.fn.addEnvironment(name, value);
    }
    const dlq = this.deadLetters;

    this.jobs = notifying(
      new EnvWatchFunction(this, 'Jobs', {
        name: 'alarm-jobs',
        stage: props.stage,
        logRetentionDays: props.logRetentionDays,
        memorySize: 1024,
        timeout: Duration.minutes(5),
        description: 'EnvWatch alarm jobs: notification sweep, data gaps, identical series across devices',
        environment,
      })
        .bindTable(props.alarmsTable, ENV.alarmsTable, 'readwrite')
        .bindTable(props.registryTable, ENV.registryTable, 'read')
        .bindTable(props.readingsTable, ENV.readingsTable, 'read')
        .bindTopic(props.topics.ops, ENV.opsTopic),
    );
    for (const [job, expression] of Object.entries(ALARM_JOBS) as [AlarmJob, string][]) {
      new Rule(this, `Schedule-${job}`, {
        description: `EnvWatch alarm job: ${job}`,
        schedule: Schedule.expression(expression),
        targets: [
          new LambdaFunction(this.jobs.fn, {
            event: RuleTargetInput.fromObject(TIMED_JOBS.has(job) ? { job, time: EventField.time } : { job }),
            retryAttempts: 2,
          }),
        ],
      });
    }
    new Rule(this, 'Schedule-calendar', {
      description: 'EnvWatch working-day calendar: tell ops when holiday data is missing',
      schedule: Schedule.expression(CALENDAR_CHECK.schedule),
      targets: [
        new LambdaFunction(this.jobs.fn, {
          event: RuleTargetInput.fromObject({ job: CALENDAR_CHECK.job, time: EventField.time }),
          retryAttempts: 2,
        }),
      ],
    });

    // the alarms dead-letter queue's envelopes go back through this rule to the evaluating function
    const role = new Role(this, 'ReplayErrorActionRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com'),
      description: 'IoT alarm replay rule: failed replays back to the alarms dead-letter queue',
    });
    grantSend(role, dlq, props.dataKey);
    const replay = new CfnTopicRule(this, 'ReplayRule', {
      ruleName: alarmReplayRuleName(props.stage),
      topicRulePayload: {
        description: 'Dead-lettered alarm envelopes replayed to the ingest function (ingestion and evaluation)',
        awsIotSqlVersion: '2016-03-23',
        sql: `SELECT * FROM '${ALARM_REPLAY_TOPIC}'`,
        ruleDisabled: false,
        actions: [{ lambda: { functionArn: this.evaluator.fn.functionArn } }],
        errorAction: { sqs: { queueUrl: dlq.queueUrl, roleArn: role.roleArn, useBase64: false } },
      },
    });
    this.evaluator.fn.addPermission('InvokeReplay', {
      principal: new ServicePrincipal('iot.amazonaws.com'),
      sourceArn: replay.attrArn,
      sourceAccount: Aws.ACCOUNT_ID,
    });
    this.replayRule = replay;
  }
}
