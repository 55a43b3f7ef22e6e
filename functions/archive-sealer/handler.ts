import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryReader } from '#shared/adapters/registry-store.ts';
import { envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { SealEvent } from '#shared/contracts/archive-sealer.ts';
import { chainFor, UNKNOWN_CHAIN } from '#shared/domain/archive/record.ts';
import { DEFAULT_SEAL_GRACE_MINUTES, sealAll } from '#shared/domain/archive/seal.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';

/**
 * The archive sealing job (infra/constructs/archive-sealer.ts): every hour, each chain's records of the closed hours
 * written as one object per chain and hour to the Object-Locked evidence bucket (shared/domain/archive/seal.ts). The
 * chains: every registered device's MN and `_unknown`. One log line per run; problems (a gap found while sealing, an
 * object that differs from the records) as an error line each.
 */
const config = readConfig({
  readingsTable: ENV.readingsTable,
  registryTable: ENV.registryTable,
  evidenceBucket: ENV.evidenceBucket,
  graceMinutes: envVar(
    ENV.archiveSealGraceMinutes,
    z.coerce.number().int().min(0).max(1440).default(DEFAULT_SEAL_GRACE_MINUTES),
  ),
});

const records = new DynamoArchiveStore(dynamo, config.readingsTable);
const objects = new S3ArchiveObjects(new S3Client({}), config.evidenceBucket);
const registry = new DynamoRegistryReader(dynamo, config.registryTable);

async function* chains(): AsyncIterable<string> {
  let cursor: string | undefined;
  do {
    const page = await registry.list<Device>('devices', { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const d of page.items) if (chainFor(d.item.mn, true) === d.item.mn) yield d.item.mn;
    cursor = page.cursor;
  } while (cursor);
  yield UNKNOWN_CHAIN;
}

export const handler = observedHandler(async (event: unknown) => {
  const parsed = SealEvent.safeParse(event ?? {});
  if (!parsed.success) throw new Error('archive sealer event must be { "time"?: ISO 8601 instant }');
  const now = parsed.data.time ? new Date(parsed.data.time) : new Date();
  const run = await sealAll({ records, objects, chains }, now, { graceMinutes: config.graceMinutes });
  for (const p of run.problems) logger.error('archive sealing problem', { problem: p });
  logger.info('archive sealed', {
    chains: run.chains,
    batches: run.batches,
    records: run.records,
    problems: run.problems.length,
  });
  return run;
});
