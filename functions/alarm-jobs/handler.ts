import * as z from 'zod';
import { alarmServicesFromEnv } from '#functions/alarm-evaluator/service.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmJobs } from '#shared/domain/alarms/jobs.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import { logger } from '#shared/observability/logger.ts';

/**
 * The alarm engine's scheduled jobs. Each EventBridge schedule passes a constant input naming its job
 * (infra/constructs/alarm-engine.ts ALARM_JOBS): `sweep` every minute, `data-gaps` every 5 minutes,
 * `identical-series` every hour.
 */
export const JobEvent = z.object({ job: z.enum(['sweep', 'data-gaps', 'identical-series']) });

const services = alarmServicesFromEnv();
const readingsTable = readConfig({ readingsTable: ENV.readingsTable }).readingsTable;
const jobs = new AlarmJobs({
  store: services.store,
  sources: services.sources,
  rules: services.rules,
  delivery: services.delivery,
  devices: {
    list: (cursor) => services.registry.list<Device>('devices', { limit: 100, ...(cursor ? { cursor } : {}) }),
  },
  readings: new DynamoReadingStore(dynamo, readingsTable),
  newId: ulid,
});

export async function handler(event: unknown) {
  const parsed = JobEvent.safeParse(event);
  if (!parsed.success) {
    logger.error('alarm job event names no job', { issues: parsed.error.issues.slice(0, 3) });
    throw new Error('alarm job event must be { "job": "sweep" | "data-gaps" | "identical-series" }');
  }
  const { job } = parsed.data;
  const result =
    job === 'sweep' ? await jobs.sweep() : job === 'data-gaps' ? await jobs.dataGaps() : await jobs.identicalSeries();
  logger.info('alarm job done', { job, ...result });
  return { job, ...result };
}
