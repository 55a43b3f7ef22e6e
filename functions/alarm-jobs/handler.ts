import { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { DynamoDailyClaims } from '#shared/adapters/daily-claims.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { topicPublisher } from '#shared/adapters/topic-publisher.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmJobs, type JobsDeps } from '#shared/domain/alarms/jobs.ts';
import { checkCalendar } from '#shared/domain/calendar/coverage.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';
import { alarmServicesFromEnv } from '#shared/wiring/alarm-engine.ts';

/**
 * The alarm engine's scheduled jobs. Each EventBridge schedule passes an input naming its job
 * (infra/constructs/alarm-engine.ts ALARM_JOBS): `sweep` every minute, `data-gaps` every 5 minutes,
 * `identical-series` every hour; and daily `calendar` (CALENDAR_CHECK: the working-day calendar's coverage, to the
 * ops topic once per Beijing day). `calendar` and `data-gaps` take the scheduled event's `time` as the instant they
 * judge for (the clock without it): silence is measured up to it.
 */
export const JobEvent = z.object({
  job: z.enum(['sweep', 'data-gaps', 'identical-series', 'calendar']),
  time: z.iso.datetime({ offset: true }).optional(),
});

const services = alarmServicesFromEnv();
const config = readConfig({ readingsTable: ENV.readingsTable, alarmsTable: ENV.alarmsTable, opsTopic: ENV.opsTopic });
const readingsTable = config.readingsTable;
const claims = new DynamoDailyClaims(dynamo, config.alarmsTable);
const notifyOps = topicPublisher(new SNSClient({}), config.opsTopic);
const deps: JobsDeps = {
  store: services.store,
  sources: services.sources,
  rules: services.rules,
  delivery: services.delivery,
  devices: {
    list: (cursor) => services.registry.list<Device>('devices', { limit: 100, ...(cursor ? { cursor } : {}) }),
  },
  readings: new DynamoReadingStore(dynamo, readingsTable),
  newId: ulid,
};
const jobs = new AlarmJobs(deps);

export const handler = observedHandler(async (event: unknown) => {
  const parsed = JobEvent.safeParse(event);
  if (!parsed.success) {
    logger.error('alarm job event names no job', { issues: parsed.error.issues.slice(0, 3) });
    throw new Error('alarm job event must be { "job": "sweep" | "data-gaps" | "identical-series" | "calendar" }');
  }
  const { job, time } = parsed.data;
  const result =
    job === 'sweep'
      ? await jobs.sweep()
      : job === 'data-gaps'
        ? await jobs.dataGaps(time ? new Date(time) : undefined)
        : job === 'identical-series'
          ? await jobs.identicalSeries()
          : await checkCalendar({
              claim: (key, at) => claims.claim(key, at),
              release: (key) => claims.release(key),
              notifyOps,
              now: () => (time ? new Date(time) : new Date()),
            });
  logger.info('alarm job done', { job, ...result });
  return { job, ...result };
});
