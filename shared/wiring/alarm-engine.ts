import { SNSClient } from '@aws-sdk/client-sns';
import { AlarmPublisher } from '#shared/adapters/alarm-publisher.ts';
import { CachedAlarmRules, SnapshotAlarmSources } from '#shared/adapters/alarm-sources.ts';
import { DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { smsGatewayFromEnv } from '#shared/adapters/sms-gateway.ts';
import { readConfig } from '#shared/config/config.ts';
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
  });
  const seconds = (name: string, fallback: number) => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  // the alarm store never writes audit entries for system transitions; officials' actions go through alarms-api
  const store = new DynamoAlarmStore(dynamo, { alarms: config.alarmsTable, audit: 'unused-audit-table' });
  const registry = new DynamoRegistryStore(dynamo, config.registryTable, 'unused-audit-table');
  const sources = new SnapshotAlarmSources(registry, seconds(ENV.registryCacheSeconds, 300));
  const rules = new CachedAlarmRules(store, seconds(ENV.alarmRulesCacheSeconds, 60));
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
