import { DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmService } from '#shared/domain/alarms/use-cases.ts';

/** Builds the AlarmService from the function's environment: ALARMS_TABLE (read/write) and AUDIT_TABLE (append). */
export function alarmServiceFromEnv(): AlarmService {
  const config = readConfig({ alarmsTable: ENV.alarmsTable, auditTable: ENV.auditTable });
  return new AlarmService({
    store: new DynamoAlarmStore(dynamo, { alarms: config.alarmsTable, audit: config.auditTable }),
  });
}
