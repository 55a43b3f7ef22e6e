import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { DynamoCommandStore } from '#shared/adapters/commands-store.ts';
import { CachedDeviceDirectory } from '#shared/adapters/device-directory.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { CachingKeyOpener, KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { DynamoRegistryReader, DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { days, envVar, readConfig, seconds } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { IngestEvent } from '#shared/contracts/ingest.ts';
import { DEFAULT_ARCHIVE_TAIL_DAYS, SealedArchive } from '#shared/domain/archive/archive.ts';
import { type IngestOutcome, IngestService } from '#shared/domain/ingest/ingest.ts';
import { DEFAULT_RETENTION } from '#shared/domain/readings/model.ts';
import { answerCommand, KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';
import { INGEST_METRICS } from '#shared/observability/metric-names.ts';
import { EmfMetrics, MetricUnit } from '#shared/observability/metrics.ts';

/** The ingest function: IoT rule event → IngestService (verdict, sealed archive, readings, device state, answers to commands). */
const config = readConfig({
  readingsTable: ENV.readingsTable,
  registryTable: ENV.registryTable,
  evidenceBucket: ENV.evidenceBucket,
  registryCacheSeconds: envVar(ENV.registryCacheSeconds, seconds(60)),
  realtimeDays: envVar(ENV.realtimeRetentionDays, days(DEFAULT_RETENTION.realtimeDays)),
  minuteDays: envVar(ENV.minuteRetentionDays, days(DEFAULT_RETENTION.minuteDays)),
  archiveTailDays: envVar(ENV.archiveTailDays, days(DEFAULT_ARCHIVE_TAIL_DAYS)),
  deviceKeysKey: envVar(ENV.deviceKeysKey, z.string().min(1).optional()),
  auditTable: envVar(ENV.auditTable, z.string().min(1).optional()),
});

const store = new DynamoReadingStore(dynamo, config.readingsTable);
const commands = new DynamoCommandStore(dynamo, { readings: config.readingsTable });
const sealer = config.deviceKeysKey ? new KmsKeySealer(new KMSClient({}), config.deviceKeysKey) : undefined;
// a device's 9012 to a key push makes the key current (the registry record and its audit entry)
const keyConfirmations =
  sealer && config.auditTable
    ? new KeyLifecycle(new DynamoRegistryStore(dynamo, config.registryTable, config.auditTable), sealer)
    : undefined;
const service = new IngestService({
  devices: new CachedDeviceDirectory(
    new DynamoRegistryReader(dynamo, config.registryTable),
    config.registryCacheSeconds,
  ),
  readings: store,
  // one conditional put per message (archive-store.ts); the bucket only for replays of records of before batching
  archive: new SealedArchive(
    new DynamoArchiveStore(dynamo, config.readingsTable, { tailDays: config.archiveTailDays }),
    new S3ArchiveObjects(new S3Client({}), config.evidenceBucket),
  ),
  retention: { realtimeDays: config.realtimeDays, minuteDays: config.minuteDays },
  answers: { answer: (mn, qn, a) => answerCommand(commands, keyConfirmations, mn, qn, a) },
  ...(sealer ? { keys: new CachingKeyOpener(sealer) } : {}),
});

/** EnvWatch/Ingest: messages by source and outcome, readings stored and duplicates, one EMF line per message. */
const metrics = new EmfMetrics({ namespace: INGEST_METRICS.namespace, dimensions: {} });

function count(o: IngestOutcome): void {
  metrics.addDimension('source', o.source);
  metrics.addDimension('outcome', o.accepted ? 'accepted' : (o.reason ?? 'rejected'));
  metrics.addMetric(INGEST_METRICS.messages, MetricUnit.Count, 1);
  metrics.addMetric(INGEST_METRICS.readingsStored, MetricUnit.Count, o.stored);
  metrics.addMetric(INGEST_METRICS.readingDuplicates, MetricUnit.Count, o.duplicates);
  metrics.publishStoredMetrics();
}

export const handler = observedHandler(async (event: unknown): Promise<IngestOutcome[]> => {
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
    const fields = {
      ...brief,
      ...(outcome.detail ? { rejectDetail: outcome.detail } : {}),
      ...(warnings ? { warnings } : {}),
    };
    if (outcome.accepted) logger.info('message ingested', fields);
    else logger.warn('message rejected', fields);
    count(outcome);
  }
  return outcomes;
});
