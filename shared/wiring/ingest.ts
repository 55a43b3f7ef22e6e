import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { IotCommandChannel } from '#shared/adapters/command-channel.ts';
import { DynamoCommandStore, registryCommandDevices } from '#shared/adapters/commands-store.ts';
import { KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { days, envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { DEFAULT_ARCHIVE_TAIL_DAYS, SealedArchive } from '#shared/domain/archive/archive.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { IngestService } from '#shared/domain/ingest/ingest.ts';
import type { KeyRequests } from '#shared/domain/ingest/ports.ts';
import { DEFAULT_RETENTION } from '#shared/domain/readings/model.ts';
import { answerCommand, KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import { alarmServicesFromEnv, defaultClients, type WiringClients } from './alarm-engine.ts';

/**
 * The ingest function's wiring from its environment: IngestService over the readings table, the sealed archive
 * (one conditional record put per message in the readings table, sealed hourly to the evidence bucket by the archive
 * sealer; the bucket is read here only to replay a record of before batching), the device-command answers (a 9012 to a
 * key push confirms the key; an MQTT device's own key request is answered with a push on its command topic through the
 * device-command path, as the gateway answers a TCP device's), and the alarm engine, whose registry snapshot and device
 * keys are the one device lookup of a message (alarmServicesFromEnv).
 * `clients` lets a bench count every command (bench/cost.bench.ts); the function uses the defaults.
 */
export function ingestServiceFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  clients: WiringClients & { s3: S3Client; iot?: IoTDataPlaneClient } = { ...defaultClients(), s3: new S3Client({}) },
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
  // a device's 9012 to a key push (CN 1014) makes the key current, and an MQTT device's key request gets a push: the
  // registry record and its audit entry, the push a command (readings table, audit) on the device's command topic
  const registry =
    config.deviceKeysKey && config.auditTable
      ? new DynamoRegistryStore(clients.db, config.registryTable, config.auditTable)
      : undefined;
  const keyConfirmations =
    registry && config.deviceKeysKey
      ? new KeyLifecycle(registry, new KmsKeySealer(clients.kms, config.deviceKeysKey))
      : undefined;
  let keyRequests: KeyRequests | undefined;
  if (registry && keyConfirmations && config.auditTable) {
    const keyCommands = new CommandService({
      devices: registryCommandDevices(registry),
      store: new DynamoCommandStore(clients.db, { readings: config.readingsTable, audit: config.auditTable }),
      channel: new IotCommandChannel(clients.iot ?? new IoTDataPlaneClient({})),
    });
    keyRequests = {
      request: async (mn) => {
        const push = await keyConfirmations.answerRequest(mn, keyCommands);
        return push && { version: push.version, qn: push.qn, resent: push.resent === true };
      },
    };
  }
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
    ...(keyRequests ? { keyRequests } : {}),
    alarms: alarms.evaluator,
  });
  return { service, alarms };
}
