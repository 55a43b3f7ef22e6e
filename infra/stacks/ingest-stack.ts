import { CfnOutput, SecretValue, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AppConfig } from '#infra/config.ts';
import { AlarmEngine, type SmsConfig } from '#infra/constructs/alarm-engine.ts';
import { ArchiveSealer } from '#infra/constructs/archive-sealer.ts';
import { DeadLetterRedrive } from '#infra/constructs/dead-letter-redrive.ts';
import { Hj212Gateway } from '#infra/constructs/hj212-gateway.ts';
import { IotDevicePolicy } from '#infra/constructs/iot-device-policy.ts';
import { IotIngest } from '#infra/constructs/iot-ingest.ts';
import { ReadingsRollUp } from '#infra/constructs/readings-roll-up.ts';
import { ENV } from '#shared/config/env-names.ts';
import { DEFAULT_ARCHIVE_TAIL_DAYS } from '#shared/domain/archive/archive.ts';
import type { DataStack } from './data-stack.ts';

/**
 * Stateless: device ingestion. IoT Core topic rules (MQTT HJ 212, MQTT JSON, the TCP gateway's Basic Ingest) → the
 * ingest function (sealed raw archive, readings, device state, alarm evaluation: one invocation per message), the
 * alarm engine's grants on it and its scheduled jobs, a dead-letter queue, the device IoT policy, the
 * HJ 212 TCP gateway (Fargate behind an NLB) that publishes through Basic Ingest, and the dead-letter redrive that
 * replays both dead-letter queues once their dependencies answer.
 * Retention of real-time and minute readings comes from context (`-c readingsRealtimeRetentionDays=30
 * -c readingsMinuteRetentionDays=180`, the defaults); hourly and daily readings are kept. The archive's records stay
 * `-c archiveTailDays=7` days in the readings table after receipt; the sealing job (ArchiveSealer) writes them to the
 * evidence bucket hourly.
 */
export interface IngestStackProps extends StackProps {
  config: AppConfig;
  data: DataStack;
}

const days = (v: unknown, fallback: number): number => {
  const n = Number(v ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new Error(`retention must be 1–3650 days, got ${String(v)}`);
  return n;
};

/**
 * SMS for alarms from context: `-c smsProvider=http -c smsHttpUrl=https://… -c smsHttpSecretName=<Secrets Manager
 * secret>` for a domestic provider (AWS China regions have no SNS SMS); the default `sns` uses SNS direct SMS.
 */
function smsConfig(get: (key: string) => unknown): SmsConfig {
  const provider = String(get('smsProvider') ?? 'sns');
  if (provider !== 'sns' && provider !== 'http') throw new Error(`smsProvider must be sns or http, got ${provider}`);
  // SNS sender ids are 1–11 ASCII letters and digits (and unsupported for mainland numbers); none by default. The
  // Chinese signature 【庆元环保】 is part of every SMS text instead.
  const rawSender = get('smsSenderId');
  const senderId = rawSender === undefined || rawSender === '' ? undefined : String(rawSender);
  if (senderId !== undefined && !/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/.test(senderId))
    throw new Error(`smsSenderId must be 1–11 ASCII letters and digits (with a letter), got ${senderId}`);
  if (provider === 'sns') return { provider, ...(senderId ? { senderId } : {}) };
  const httpUrl = get('smsHttpUrl');
  const secretName = get('smsHttpSecretName');
  if (typeof httpUrl !== 'string' || !/^https:\/\//.test(httpUrl) || typeof secretName !== 'string')
    throw new Error('smsProvider=http needs -c smsHttpUrl=https://… and -c smsHttpSecretName=<secret name>');
  return {
    provider,
    httpUrl,
    httpSecret: SecretValue.secretsManager(secretName).unsafeUnwrap(),
    ...(senderId ? { senderId } : {}),
  };
}

/**
 * Zone names that exist in every account of a region, so that synthesis never asks AWS for them (a lookup needs
 * credentials; an operator's `cdk synth` has none, and `cdk deploy` synthesizes first). Most regions have `<region>a`
 * and `<region>b`; the exceptions are listed. Override with `-c gatewayZones=<zone>,<zone>` (docs/operations.md).
 */
const ZONE_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = {
  'ap-northeast-1': ['ap-northeast-1a', 'ap-northeast-1c'],
  'us-west-1': ['us-west-1a', 'us-west-1c'],
};

export function pinnedZones(region: string): string[] {
  return [...(ZONE_EXCEPTIONS[region] ?? [`${region}a`, `${region}b`])];
}

export class IngestStack extends Stack {
  public readonly ingest: IotIngest;
  public readonly alarms: AlarmEngine;
  public readonly devicePolicy: IotDevicePolicy;
  public readonly gateway: Hj212Gateway;
  public readonly redrive: DeadLetterRedrive;
  public readonly sealer: ArchiveSealer;
  public readonly rollUp: ReadingsRollUp;

  private readonly zones: string[] | undefined;

  /** the pinned zones when the region is known (never a lookup); CloudFormation's Fn::GetAZs when env-agnostic */
  override get availabilityZones(): string[] {
    return this.zones ?? super.availabilityZones;
  }

  constructor(scope: Construct, id: string, props: IngestStackProps) {
    super(scope, id, props);
    this.zones = props.config.gatewayZones ?? (Token.isUnresolved(this.region) ? undefined : pinnedZones(this.region));
    if (this.zones) {
      Validations.of(this).acknowledge({
        id: 'CloudFormation-Validate::W3010',
        reason:
          'The gateway VPC zones are pinned on purpose (-c gatewayZones, per-region defaults): a lookup would need credentials at synth',
      });
    }
    const { config, data } = props;
    this.ingest = new IotIngest(this, 'Ingest', {
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
      readingsTable: data.tables.byName.readings,
      registryTable: data.tables.byName.registry,
      evidenceBucket: data.evidence.bucket,
      dataKey: data.dataKey,
      realtimeRetentionDays: days(this.node.tryGetContext('readingsRealtimeRetentionDays'), 30),
      minuteRetentionDays: days(this.node.tryGetContext('readingsMinuteRetentionDays'), 180),
      deviceKeysKey: data.deviceKeysKey,
      auditTable: data.tables.byName.audit,
    });
    this.alarms = new AlarmEngine(this, 'Alarms', {
      evaluator: this.ingest.function,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
      alarmsTable: data.tables.byName.alarms,
      registryTable: data.tables.byName.registry,
      readingsTable: data.tables.byName.readings,
      topics: data.topics.byAudience,
      dataKey: data.dataKey,
      sms: smsConfig(this.node.tryGetContext.bind(this.node)),
    });
    // the archive's records stay this long in the readings table after receipt (sealed to the bucket hourly)
    this.ingest.function.fn.addEnvironment(
      ENV.archiveTailDays,
      String(days(this.node.tryGetContext('archiveTailDays'), DEFAULT_ARCHIVE_TAIL_DAYS)),
    );
    this.sealer = new ArchiveSealer(this, 'ArchiveSealer', {
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
      readingsTable: data.tables.byName.readings,
      registryTable: data.tables.byName.registry,
      evidenceBucket: data.evidence.bucket,
      dataKey: data.dataKey,
    });
    // real-time and minute readings of closed periods as blocks, for queries at scale (docs/architecture.md)
    this.rollUp = new ReadingsRollUp(this, 'ReadingsRollUp', {
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
      readingsTable: data.tables.byName.readings,
      registryTable: data.tables.byName.registry,
    });
    this.devicePolicy = new IotDevicePolicy(this, 'DevicePolicy', { stage: config.stage });
    this.gateway = new Hj212Gateway(this, 'Hj212Gateway', {
      registryTable: data.tables.byName.registry,
      ingestTopicPrefix: this.ingest.gatewayIngestTopic,
      deviceKeys: {
        key: data.deviceKeysKey,
        auditTable: data.tables.byName.audit,
        commandsTable: data.tables.byName.readings,
      },
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    this.redrive = new DeadLetterRedrive(this, 'Redrive', {
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
      deadLetters: { ingest: this.ingest.deadLetters, alarms: this.alarms.deadLetters },
      gatewayIngestTopic: this.ingest.gatewayIngestTopic,
      readingsTable: data.tables.byName.readings,
      registryTable: data.tables.byName.registry,
      alarmsTable: data.tables.byName.alarms,
      evidenceBucket: data.evidence.bucket,
      dataKey: data.dataKey,
    });
    new CfnOutput(this, 'Hj212Endpoint', {
      value: this.gateway.endpoint,
      description: 'HJ 212 TCP endpoint for field devices (DAQ)',
    });
  }
}
