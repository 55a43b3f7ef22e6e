import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { AppConfig } from '#infra/config.ts';
import { EvidenceStore } from '#infra/constructs/evidence-store.ts';
import { NotificationTopics } from '#infra/constructs/notification-topics.ts';
import { Tables } from '#infra/constructs/tables.ts';

/**
 * Stateful resources, in a stack that is never torn down casually: tables, the evidence bucket, KMS keys, topics.
 * Two keys: the data key for tables, topics and evidence; a separate identity key that only the reporter-identity
 * vault uses, so that who can read a reporter's identity is one key policy and one CloudTrail filter. A third key, the
 * ops key, encrypts only the ops topic: CloudWatch alarms (the Ops stack) publish to it, and the service needs the key
 * for that (a key policy statement for cloudwatch.amazonaws.com), which the data key must not grant.
 */
export interface DataStackProps extends StackProps {
  config: AppConfig;
}

export class DataStack extends Stack {
  public readonly dataKey: IKey;
  public readonly identityKey: IKey;
  /** seals HJ 212-2025 devices' SM4 keys on their registry records (registry device-keys.ts) */
  public readonly deviceKeysKey: IKey;
  /** the ops topic's key; CloudWatch alarm notifications may use it */
  public readonly opsKey: IKey;
  public readonly tables: Tables;
  public readonly evidence: EvidenceStore;
  public readonly topics: NotificationTopics;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const retain = props.config.stage === 'prod';
    this.dataKey = new Key(this, 'DataKey', {
      description: 'EnvWatch data: tables, topics, evidence',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
    });
    this.identityKey = new Key(this, 'IdentityKey', {
      description: 'EnvWatch reporter identity vault (envelope encryption of real-name reporters)',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
    });
    this.deviceKeysKey = new Key(this, 'DeviceKeysKey', {
      description: "EnvWatch HJ 212-2025 devices' SM4 keys, sealed on their registry records (never stored in clear)",
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
    });
    const opsKey = new Key(this, 'OpsKey', {
      description: 'EnvWatch ops topic: platform alerts (CloudWatch alarms, the scheduled checks); no citizen data',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
    });
    // CloudWatch alarm actions publish to an encrypted topic only with this (CloudWatch user guide, alarm actions)
    opsKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheOpsTopic',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.opsKey = opsKey;
    this.tables = new Tables(this, 'Tables', { key: this.dataKey, retain });
    this.evidence = new EvidenceStore(this, 'Evidence', { key: this.dataKey, retain, lockDays: retain ? 3650 : 1 });
    this.topics = new NotificationTopics(this, 'Topics', { key: this.dataKey, keys: { ops: opsKey } });
  }
}
