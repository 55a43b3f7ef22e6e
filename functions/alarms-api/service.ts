import { DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';

/** Builds the alarm store from the function's environment: ALARMS_TABLE (read/write) and AUDIT_TABLE (append). */
export function alarmStoreFromEnv(): DynamoAlarmStore {
  const config = readConfig({ alarmsTable: ENV.alarmsTable, auditTable: ENV.auditTable });
  return new DynamoAlarmStore(dynamo, { alarms: config.alarmsTable, audit: config.auditTable });
}
