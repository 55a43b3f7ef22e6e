import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { AlarmPublisher } from '#shared/adapters/alarm-publisher.ts';
import { CachedAlarmRules, SnapshotAlarmSources } from '#shared/adapters/alarm-sources.ts';
import { DynamoAlarmRecords } from '#shared/adapters/alarms-store.ts';
import { CachedDeviceDirectory, DEFAULT_FRESH_READ_SECONDS } from '#shared/adapters/device-directory.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { CachingKeyOpener, KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoRegistryReader } from '#shared/adapters/registry-store.ts';
import { smsGatewayFromEnv } from '#shared/adapters/sms-gateway.ts';
import { envVar, readConfig, seconds } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmDelivery } from '#shared/domain/alarms/delivery.ts';
import { AlarmEvaluator } from '#shared/domain/alarms/evaluator.ts';
import type { AlarmSource } from '#shared/domain/alarms/model.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { DeviceDirectory } from '#shared/domain/ingest/ports.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';
import { logger } from '#shared/observability/logger.ts';

/** The AWS clients the wiring uses; the defaults are the function's (a bench passes counting ones). */
export interface WiringClients {
  db: DynamoDBDocumentClient;
  sns: SNSClient;
  kms: KMSClient;
}

export const defaultClients = (): WiringClients => ({ db: dynamo, sns: new SNSClient({}), kms: new KMSClient({}) });

/**
 * The alarm engine's wiring from the function environment, shared by the ingest function (which evaluates every
 * message) and the scheduled jobs: the alarm store, registry-backed sources and the rules (both cached per container),
 * the publisher (three audience topics and the SMS gateway), delivery and the evaluator.
 */
export function alarmServicesFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  clients: WiringClients = defaultClients(),
) {
  const { db, sns, kms } = clients;
  const config = readConfig(
    {
      alarmsTable: ENV.alarmsTable,
      registryTable: ENV.registryTable,
      bureauTopic: ENV.bureauTopic,
      regulatorTopic: ENV.regulatorTopic,
      enterpriseTopic: ENV.enterpriseTopic,
      registryCacheSeconds: envVar(ENV.registryCacheSeconds, seconds(300)),
      freshReadSeconds: envVar(ENV.registryFreshReadSeconds, seconds(DEFAULT_FRESH_READ_SECONDS)),
      rulesCacheSeconds: envVar(ENV.alarmRulesCacheSeconds, seconds(60)),
      deviceKeysKey: envVar(ENV.deviceKeysKey, z.string().min(1).optional()),
    },
    env,
  );
  // system transitions write no audit entry (officials' actions go through alarms-api): no audit table here
  const store = new DynamoAlarmRecords(db, { alarms: config.alarmsTable });
  const registry = new DynamoRegistryReader(db, config.registryTable);
  const sources = new SnapshotAlarmSources(registry, config.registryCacheSeconds);
  const rules = new CachedAlarmRules(store, config.rulesCacheSeconds);
  const publisher = new AlarmPublisher({
    sns,
    topics: { bureau: config.bureauTopic, regulator: config.regulatorTopic, enterprise: config.enterpriseTopic },
    sms: smsGatewayFromEnv(env as NodeJS.ProcessEnv, { sns }),
    log: logger,
  });
  const delivery = new AlarmDelivery(store, publisher);
  const evaluator = new AlarmEvaluator({ sources, rules, store, delivery, newId: ulid });
  /**
   * the ingest verdict's device lookup, answered from the same snapshot; with device keys configured, an HJ 212-2025
   * device's sealed keys come from the snapshot too (a device registered since: its registry record, cached alike;
   * read fresh when they do not open a frame)
   */
  const keyed = config.deviceKeysKey
    ? new CachedDeviceDirectory(registry, config.registryCacheSeconds, { freshSeconds: config.freshReadSeconds })
    : undefined;
  const ref = (s: AlarmSource, sm4: DeviceRef['sm4']): DeviceRef => ({
    mn: s.mn,
    enterpriseId: s.enterpriseId,
    outletId: s.outletId,
    status: s.deviceStatus,
    ...(sm4 ? { sm4 } : {}),
  });
  const devices: DeviceDirectory = {
    // one snapshot lookup: the source and the snapshot's key ring (no registry read per device); a device registered
    // since is looked up by key
    get: async (mn) => {
      const entry = await sources.entry(mn);
      if (!entry) return undefined;
      return ref(entry.source, keyed ? (entry.keys ?? (await keyed.get(mn)))?.sm4 : undefined);
    },
    ...(keyed
      ? {
          fresh: async (mn: string) => {
            const source = await sources.get(mn);
            return source && ref(source, (await keyed.fresh(mn))?.sm4);
          },
          unopened: (mn: string) => keyed.unopened(mn),
        }
      : {}),
  };
  const keys = config.deviceKeysKey ? new CachingKeyOpener(new KmsKeySealer(kms, config.deviceKeysKey)) : undefined;
  return { store, registry, sources, rules, delivery, evaluator, devices, keys };
}
