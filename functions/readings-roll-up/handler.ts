import * as z from 'zod';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRollUpStore } from '#shared/adapters/readings-blocks.ts';
import { DynamoRegistryReader } from '#shared/adapters/registry-store.ts';
import { envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { RollUpEvent } from '#shared/contracts/readings-roll-up.ts';
import { DEFAULT_ROLL_UP_GRACE_MINUTES, rollUpAll } from '#shared/domain/readings/roll-up.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';

/**
 * The readings roll-up (infra/constructs/readings-roll-up.ts): every hour, each registered device's closed periods of
 * real-time and minute data written again as blocks (shared/domain/readings/roll-up.ts, readings-blocks.ts), its
 * late data's periods built again. The first runs after deployment are the backfill of the stored history: each run
 * stops at its budget and the next goes on from each device's mark. One log line per run.
 */
const config = readConfig({
  readingsTable: ENV.readingsTable,
  registryTable: ENV.registryTable,
  graceMinutes: envVar(
    ENV.readingsRollUpGraceMinutes,
    z.coerce.number().int().min(0).max(1440).default(DEFAULT_ROLL_UP_GRACE_MINUTES),
  ),
});

const store = new DynamoRollUpStore(dynamo, config.readingsTable);
const registry = new DynamoRegistryReader(dynamo, config.registryTable);
/** stop starting periods after this long: the function's timeout is 10 minutes (infra/constructs/readings-roll-up.ts) */
const BUDGET_MS = 8 * 60_000;
/**
 * devices rolled up at a time: a device is a few round trips of a few ms each, so one at a time a province (20,000
 * devices) would take most of the budget waiting; 8 (as the sealer) keeps the run to about an eighth of that wall time
 * for the same work and the same commands (bench/jobs.bench.ts, docs/architecture.md)
 */
const CONCURRENCY = 8;

async function* devices(): AsyncIterable<string> {
  let cursor: string | undefined;
  do {
    const page = await registry.list<Device>('devices', { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const d of page.items) yield d.item.mn;
    cursor = page.cursor;
  } while (cursor);
}

export const handler = observedHandler(async (event: unknown) => {
  const parsed = RollUpEvent.safeParse(event ?? {});
  if (!parsed.success) throw new Error('readings roll-up event must be { "time"?: ISO 8601 instant }');
  const now = parsed.data.time ? Date.parse(parsed.data.time) : Date.now();
  const run = await rollUpAll(store, devices, now, {
    graceMinutes: config.graceMinutes,
    budgetMs: BUDGET_MS,
    concurrency: CONCURRENCY,
  });
  logger.info('readings rolled up', { ...run });
  return run;
});
