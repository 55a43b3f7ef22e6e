import { S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoCommandStore } from '#shared/adapters/commands-store.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { days, envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { recordAnswer } from '#shared/domain/commands/use-cases.ts';
import { IngestService } from '#shared/domain/ingest/ingest.ts';
import { DEFAULT_RETENTION } from '#shared/domain/readings/model.ts';
import { alarmServicesFromEnv, defaultClients, type WiringClients } from './alarm-engine.ts';

/**
 * The ingest function's wiring from its environment: IngestService over the readings table, the sealed archive
 * (chain heads in the readings table, records in the evidence bucket), the device-command answers, and the alarm
 * engine, whose registry snapshot and device keys are the one device lookup of a message (alarmServicesFromEnv).
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
    },
    env,
  );
  const alarms = alarmServicesFromEnv(env, clients);
  const store = new DynamoReadingStore(clients.db, config.readingsTable);
  const commands = new DynamoCommandStore(clients.db, { readings: config.readingsTable });
  const service = new IngestService({
    devices: alarms.devices,
    readings: store,
    archive: new SealedArchive(store, new S3ArchiveObjects(clients.s3, config.evidenceBucket)),
    retention: { realtimeDays: config.realtimeDays, minuteDays: config.minuteDays },
    answers: { answer: (mn, qn, a) => recordAnswer(commands, mn, qn, a) },
    ...(alarms.keys ? { keys: alarms.keys } : {}),
    alarms: alarms.evaluator,
  });
  return { service, alarms };
}
