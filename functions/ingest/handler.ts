import { S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { CachedDeviceDirectory } from '#shared/adapters/device-directory.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { IngestEvent } from '#shared/contracts/ingest.ts';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { type IngestOutcome, IngestService } from '#shared/domain/ingest/ingest.ts';
import { DEFAULT_RETENTION } from '#shared/domain/readings/model.ts';
import { logger } from '#shared/observability/logger.ts';

/** The ingest function: IoT rule event → IngestService (verdict, sealed archive, readings, device state). */
const config = readConfig({
  readingsTable: ENV.readingsTable,
  registryTable: ENV.registryTable,
  evidenceBucket: ENV.evidenceBucket,
});
const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

const store = new DynamoReadingStore(dynamo, config.readingsTable);
const service = new IngestService({
  devices: new CachedDeviceDirectory(
    new DynamoRegistryStore(dynamo, config.registryTable, 'unused-audit-table'),
    num(ENV.registryCacheSeconds, 60),
  ),
  readings: store,
  archive: new SealedArchive(store, new S3ArchiveObjects(new S3Client({}), config.evidenceBucket)),
  retention: {
    realtimeDays: num(ENV.realtimeRetentionDays, DEFAULT_RETENTION.realtimeDays),
    minuteDays: num(ENV.minuteRetentionDays, DEFAULT_RETENTION.minuteDays),
  },
});

/** CloudWatch embedded metric format: messages by source and outcome, readings stored and duplicates. */
function metric(o: IngestOutcome): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: 'EnvWatch/Ingest',
          Dimensions: [['source', 'outcome']],
          Metrics: [
            { Name: 'Messages', Unit: 'Count' },
            { Name: 'ReadingsStored', Unit: 'Count' },
            { Name: 'ReadingDuplicates', Unit: 'Count' },
          ],
        },
      ],
    },
    source: o.source,
    outcome: o.accepted ? 'accepted' : (o.reason ?? 'rejected'),
    Messages: 1,
    ReadingsStored: o.stored,
    ReadingDuplicates: o.duplicates,
  };
}

export async function handler(event: unknown): Promise<IngestOutcome[]> {
  const parsed = IngestEvent.safeParse(event);
  if (!parsed.success) {
    // not an envelope at all: nothing to archive; fail so the invocation goes to the retry / dead-letter path
    logger.error('ingest event is not an envelope', { issues: parsed.error.issues.slice(0, 5) });
    throw new Error('ingest event is not an IngestEnvelope');
  }
  const envelopes = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const outcomes: IngestOutcome[] = [];
  for (const envelope of envelopes) {
    const outcome = await service.ingest(envelope);
    outcomes.push(outcome);
    const { detail: _d, warnings, ...brief } = outcome;
    (outcome.accepted ? logger.info : logger.warn)(outcome.accepted ? 'message ingested' : 'message rejected', {
      ...brief,
      ...(outcome.detail ? { rejectDetail: outcome.detail } : {}),
      ...(warnings ? { warnings } : {}),
      ...metric(outcome),
    });
  }
  return outcomes;
}
