import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { DynamoCommandStore } from '#shared/adapters/commands-store.ts';
import { KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { days, envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { DEFAULT_ARCHIVE_TAIL_DAYS, SealedArchive } from '#shared/domain/archive/archive.ts';
import { IngestService } from '#shared/domain/ingest/ingest.ts';
import { DEFAULT_RETENTION } from '#shared/domain/readings/model.ts';
import { answerCommand, KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import { alarmServicesFromEnv, defaultClients, type WiringClients } from './alarm-engine.ts';

/**
 * The ingest function's wiring from its environment: IngestService over the readings table, the sealed archive
 * (one conditional record put per message in the readings table, sealed hourly to the evidence bucket by the archive
 * sealer; the bucket is read here only to replay a record of before batching), the device-command answers (a 9012 to a
 * key push confirms the key), and the alarm engine, whose registry snapshot and device keys are the one device lookup of a message (alarmServicesFromEnv).
 * `clients` lets a bench count every command (bench/cost.bench.ts); the function uses the defaults.
 */
export function ingestServiceFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  clients: WiringClients & { s3: S3Client } = { ...defaultClients(), s3: new S3Client({}) },
) {
  const config = readConfig(
    {
      readingsTable: ENV.readingsTable,
      evidenceBucket: ENV.evidenceBucket,
      realtimeDays: envVar(ENV.realtimeRetentionDays, days(DEFAULT_RETENTION.realtimeDays)),
      minuteDays: envVar(ENV.minuteRetentionDays, days(DEFAULT_RETENTION.minuteDays)),
      archiveTailDays: envVar(ENV.archiveTailDays, days(DEFAULT_ARCHIVE_TAIL_DAYS)),
      registryTable: ENV.registryTable,
      deviceKeysKey: envVar(ENV.deviceKeysKey, z.string().min(1).optional()),
      auditTable: envVar(ENV.auditTable, z.string().min(1).optional()),
    },
    env,
  );
  const alarms = alarmServicesFromEnv(env, clients);
  const store = new DynamoReadingStore(clients.db, config.readingsTable);
  const commands = new DynamoCommandStore(clients.db, { readings: config.readingsTable });
  // a device's 9012 to a key push (CN 1014) makes the key current: the registry record and its audit entry
  const keyConfirmations =
    config.deviceKeysKey && config.auditTable
      ? new KeyLifecycle(
          new DynamoRegistryStore(clients.db, config.registryTable, config.auditTable),
          new KmsKeySealer(clients.kms, config.deviceKeysKey),
        )
      : undefined;
  const service = new IngestService({
    devices: alarms.devices,
    readings: store,
    archive: new SealedArchive(
      new DynamoArchiveStore(clients.db, config.readingsTable, { tailDays: config.archiveTailDays }),
      new S3ArchiveObjects(clients.s3, config.evidenceBucket),
    ),
    retention: { realtimeDays: config.realtimeDays, minuteDays: config.minuteDays },
    answers: { answer: (mn, qn, a) => answerCommand(commands, keyConfirmations, mn, qn, a) },
    ...(alarms.keys ? { keys: alarms.keys } : {}),
    alarms: alarms.evaluator,
  });
  return { service, alarms };
}
