import { Aws, Duration, Validations } from 'aws-cdk-lib';
import { Effect, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { ARCHIVE_PREFIX } from '#shared/domain/archive/record.ts';
import { deviceCommandTopic } from '#shared/domain/commands/delivery.ts';
import { INGEST_REPLAY_TOPIC, RULE_TOPICS } from '#shared/domain/ingest/dead-letter.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import { acknowledgeBucketPrefix, acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * Device ingestion through IoT Core: the ingest function and the three topic rules that feed it, one Lambda action
 * each: one invocation per message, which archives, stores the readings and state and evaluates the alarm rules
 * (the AlarmEngine construct adds the alarm grants and environment to this same function).
 *   envwatch_<stage>_gateway  Basic Ingest from the HJ 212 TCP gateway: `$aws/rules/<name>/envwatch/gateway/<mn>`
 *   envwatch_<stage>_hj212    raw HJ 212 text on `envwatch/devices/<mn>/hj212` (bytes kept: encode(*, 'base64'))
 *   envwatch_<stage>_json     JSON telemetry on `envwatch/devices/<mn>/telemetry` (bytes kept the same way)
 * Every rule has an error action to one dead-letter queue (SSE with the data key, TLS only, 14 days), and the
 * function's asynchronous invocations that still fail after Lambda's retries go to the same queue. A fourth rule,
 * `envwatch_<stage>_ingest_replay` (topic INGEST_REPLAY_TOPIC), takes those failed envelopes back to the ingest
 * function when the dead-letter redrive replays them (dead-letter-redrive.ts). The Lambda permission for each
 * rule is scoped to that rule's ARN.
 */
export interface IotIngestProps {
  stage: string;
  logRetentionDays: number;
  readingsTable: DataTable;
  registryTable: DataTable;
  evidenceBucket: IBucket;
  dataKey: IKey;
  realtimeRetentionDays: number;
  minuteRetentionDays: number;
  registryCacheSeconds?: number;
  /**
   * how long a device whose frames its registry record did not open either is judged by that read without reading
   * it again (default 30 s: DEFAULT_FRESH_READ_SECONDS, shared/adapters/device-directory.ts)
   */
  registryFreshReadSeconds?: number;
  /** opens HJ 212-2025 device keys to read encrypted frames: Decrypt only (without `auditTable`) */
  deviceKeysKey?: IKey;
  /**
   * with the device keys: a device's 9012 to a key push makes the key current, written to the device record
   * (PutItem in a transaction) with its audit entry; an MQTT device's own key request gets a push (Encrypt to seal the
   * new key, iot:Publish on `envwatch/devices/<MN>/cmd`)
   */
  auditTable?: DataTable;
}

export const ruleNames = (stage: string) => ({
  gateway: `envwatch_${stage}_gateway`,
  hj212: `envwatch_${stage}_hj212`,
  json: `envwatch_${stage}_json`,
});

export const ingestReplayRuleName = (stage: string) => `envwatch_${stage}_ingest_replay`;

const MQTT_SELECT =
  "SELECT encode(*, 'base64') AS raw, topic(3) AS mn, timestamp() AS receivedAt, clientid() AS clientId";
export const RULE_SQL = {
  gateway: `SELECT *, 'tcp-gateway' AS source FROM '${RULE_TOPICS.gateway}'`,
  hj212: `${MQTT_SELECT}, 'mqtt-hj212' AS source FROM '${RULE_TOPICS.hj212}'`,
  json: `${MQTT_SELECT}, 'mqtt-json' AS source FROM '${RULE_TOPICS.json}'`,
} as const;

export class IotIngest extends Construct {
  public readonly function: EnvWatchFunction;
  public readonly deadLetters: Queue;
  public readonly rules: Record<keyof typeof RULE_SQL, CfnTopicRule>;
  /** failed ingest envelopes replayed to the ingest function alone (INGEST_REPLAY_TOPIC) */
  public readonly replayRule: CfnTopicRule;
  /** what the TCP gateway publishes to: `$aws/rules/<gateway rule>/envwatch/gateway` (append `/<mn>`) */
  public readonly gatewayIngestTopic: string;

  constructor(scope: Construct, id: string, props: IotIngestProps) {
    super(scope, id);
    this.deadLetters = deadLetterQueue(this, props.dataKey, 'the ingest rules and function');

    const fn = new EnvWatchFunction(this, 'Function', {
      name: 'ingest',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      memorySize: 1024,
      timeout: Duration.seconds(30),
      tracing: false,
      description: 'EnvWatch ingest: IoT rule envelopes → sealed raw archive, readings, device state, alarm evaluation',
      environment: {
        [ENV.realtimeRetentionDays]: String(props.realtimeRetentionDays),
        [ENV.minuteRetentionDays]: String(props.minuteRetentionDays),
        [ENV.registryCacheSeconds]: String(props.registryCacheSeconds ?? 60),
        ...(props.registryFreshReadSeconds !== undefined
          ? { [ENV.registryFreshReadSeconds]: String(props.registryFreshReadSeconds) }
          : {}),
      },
    })
      .bindTable(props.readingsTable, ENV.readingsTable, 'readwrite')
      .bindTable(props.registryTable, ENV.registryTable, 'read');
    if (props.deviceKeysKey && props.auditTable) {
      // an MQTT device's own key request gets a push: the new key sealed (Encrypt), the 1014 encrypted under the
      // current key (Decrypt), the command published on the device's own command topic only
      fn.bindKey(props.deviceKeysKey, ENV.deviceKeysKey, ['kms:Decrypt', 'kms:Encrypt'])
        .bindTable(props.registryTable, ENV.registryTable, 'append')
        .bindTable(props.auditTable, ENV.auditTable, 'append');
      const commandTopic = `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:topic/${deviceCommandTopic('*')}`;
      fn.fn.addToRolePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['iot:Publish'], resources: [commandTopic] }),
      );
      acknowledgeWildcardResource(
        fn,
        commandTopic,
        'Command topics are one per device MN: the wildcard is the MN, nothing wider (a key push answering an MQTT device).',
      );
    } else if (props.deviceKeysKey) fn.bindKey(props.deviceKeysKey, ENV.deviceKeysKey, ['kms:Decrypt']);
    this.function = fn;
    grantArchive(fn, props.evidenceBucket, props.dataKey, 'write');
    // failed async invocations (after Lambda's own retries) go to the dead-letter queue; explicit grants, no wildcards
    const dlq = this.deadLetters;
    fn.fn.configureAsyncInvoke({ retryAttempts: 2, onFailure: { bind: () => ({ destination: dlq.queueArn }) } });
    grantSend(fn.fn, dlq, props.dataKey);

    const role = new Role(this, 'ErrorActionRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com'),
      description: 'IoT rules: send failed messages to the ingest dead-letter queue',
    });
    grantSend(role, this.deadLetters, props.dataKey);

    const names = ruleNames(props.stage);
    const rule = (id: string, ruleName: string, sql: string, targets: IFunction[], description: string) => {
      const r = new CfnTopicRule(this, id, {
        ruleName,
        topicRulePayload: {
          description,
          awsIotSqlVersion: '2016-03-23',
          sql,
          ruleDisabled: false,
          actions: targets.map((f) => ({ lambda: { functionArn: f.functionArn } })),
          errorAction: { sqs: { queueUrl: this.deadLetters.queueUrl, roleArn: role.roleArn, useBase64: false } },
        },
      });
      for (const target of targets) {
        target.addPermission(`Invoke${ruleName.replace(`envwatch_${props.stage}_`, '')}`, {
          principal: new ServicePrincipal('iot.amazonaws.com'),
          sourceArn: r.attrArn,
          sourceAccount: Aws.ACCOUNT_ID,
        });
      }
      return r;
    };
    const device = (key: keyof typeof RULE_SQL, description: string) =>
      rule(`${key[0]?.toUpperCase()}${key.slice(1)}Rule`, names[key], RULE_SQL[key], [fn.fn], description);
    this.rules = {
      gateway: device('gateway', 'HJ 212 TCP gateway envelopes (Basic Ingest) to the ingest function'),
      hj212: device('hj212', 'Raw HJ 212 over MQTT to the ingest function'),
      json: device('json', 'JSON telemetry over MQTT to the ingest function'),
    };
    this.replayRule = rule(
      'ReplayRule',
      ingestReplayRuleName(props.stage),
      `SELECT * FROM '${INGEST_REPLAY_TOPIC}'`,
      [fn.fn],
      'Dead-lettered ingest envelopes replayed to the ingest function',
    );
    this.gatewayIngestTopic = `$aws/rules/${names.gateway}/envwatch/gateway`;
  }
}

/**
 * Least-privilege access to the raw archive (`raw/` in the evidence bucket): list the prefix, read objects, and for
 * the ingest function put objects. Never delete: the archive is append-only (Object Lock keeps the versions anyway).
 */
export function grantArchive(fn: EnvWatchFunction, bucket: IBucket, key: IKey, access: 'read' | 'write'): void {
  fn.fn.addEnvironment(ENV.evidenceBucket, bucket.bucketName);
  const objects = `${bucket.bucketArn}/${ARCHIVE_PREFIX}*`;
  fn.fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}*`] } },
    }),
  );
  fn.fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: access === 'write' ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'],
      resources: [objects],
    }),
  );
  fn.fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: access === 'write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
      resources: [key.keyArn],
    }),
  );
  acknowledgeBucketPrefix(
    fn,
    bucket,
    ARCHIVE_PREFIX,
    'Archive objects are one per message under raw/<device>/<day>/: access is limited to that prefix.',
  );
}

/** sqs:SendMessage on the queue and the exact KMS actions SSE-KMS needs (what grantSendMessages gives, without wildcards). */
export function grantSend(grantee: IGrantable, queue: Queue, key: IKey): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
    }),
  );
}

/** A dead-letter queue: SSE with the data key, TLS only, 14 days (it has no dead-letter queue of its own). */
export function deadLetterQueue(scope: Construct, key: IKey, of: string): Queue {
  const queue = new Queue(scope, 'DeadLetters', {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    dataKeyReuse: Duration.hours(1),
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself the dead-letter queue of ${of}.`,
  });
  return queue;
}
