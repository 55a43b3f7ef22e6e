import { SNSClient } from '@aws-sdk/client-sns';
import { AlarmPublisher } from '#shared/adapters/alarm-publisher.ts';
import { CachedAlarmRules, SnapshotAlarmSources } from '#shared/adapters/alarm-sources.ts';
import { DynamoAlarmRecords } from '#shared/adapters/alarms-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryReader } from '#shared/adapters/registry-store.ts';
import { smsGatewayFromEnv } from '#shared/adapters/sms-gateway.ts';
import { envVar, readConfig, seconds } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmDelivery } from '#shared/domain/alarms/delivery.ts';
import { AlarmEvaluator } from '#shared/domain/alarms/evaluator.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { DeviceDirectory } from '#shared/domain/ingest/ports.ts';
import { logger } from '#shared/observability/logger.ts';

/**
 * The alarm engine's wiring from the function environment, shared by the evaluator and the scheduled jobs: the alarm
 * store, registry-backed sources and the rules (both cached per container), the publisher (three audience topics and
 * the SMS gateway), delivery and the evaluator.
 */
export function alarmServicesFromEnv() {
  const config = readConfig({
    alarmsTable: ENV.alarmsTable,
    registryTable: ENV.registryTable,
    bureauTopic: ENV.bureauTopic,
    regulatorTopic: ENV.regulatorTopic,
    enterpriseTopic: ENV.enterpriseTopic,
    registryCacheSeconds: envVar(ENV.registryCacheSeconds, seconds(300)),
    rulesCacheSeconds: envVar(ENV.alarmRulesCacheSeconds, seconds(60)),
  });
  // system transitions write no audit entry (officials' actions go through alarms-api): no audit table here
  const store = new DynamoAlarmRecords(dynamo, { alarms: config.alarmsTable });
  const registry = new DynamoRegistryReader(dynamo, config.registryTable);
  const sources = new SnapshotAlarmSources(registry, config.registryCacheSeconds);
  const rules = new CachedAlarmRules(store, config.rulesCacheSeconds);
  const sns = new SNSClient({});
  const publisher = new AlarmPublisher({
    sns,
    topics: { bureau: config.bureauTopic, regulator: config.regulatorTopic, enterprise: config.enterpriseTopic },
    sms: smsGatewayFromEnv(process.env, { sns }),
    log: logger,
  });
  const delivery = new AlarmDelivery(store, publisher);
  const evaluator = new AlarmEvaluator({ sources, rules, store, delivery, newId: ulid });
  /** the ingest verdict's device lookup, answered from the same cache */
  const devices: DeviceDirectory = {
    get: async (mn) => {
      const s = await sources.get(mn);
      return s && { mn: s.mn, enterpriseId: s.enterpriseId, outletId: s.outletId, status: s.deviceStatus };
    },
  };
  return { store, registry, sources, rules, delivery, evaluator, devices };
}
