import { DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmService } from '#shared/domain/alarms/use-cases.ts';
import type { PlaceResolvers } from '#shared/http/scope.ts';
import { alarmPlaces } from '#shared/wiring/places.ts';

/**
 * Builds the AlarmService from the function's environment: ALARMS_TABLE (read/write) and AUDIT_TABLE (append), and
 * the alarm place resolver the routes' scope asks.
 */
export function alarmServiceFromEnv(): { alarms: AlarmService; places: PlaceResolvers } {
  const config = readConfig({ alarmsTable: ENV.alarmsTable, auditTable: ENV.auditTable });
  const store = new DynamoAlarmStore(dynamo, { alarms: config.alarmsTable, audit: config.auditTable });
  return { alarms: new AlarmService({ store }), places: alarmPlaces((id) => store.get(id)) };
}
