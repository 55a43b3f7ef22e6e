import * as z from 'zod';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { DEFAULT_KEY_SETTINGS } from '#shared/domain/registry/device-keys.ts';
import { rotateDueKeys } from '#shared/domain/registry/key-rotation-job.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';
import { keyPushServices } from '#shared/wiring/device-keys.ts';

/**
 * The scheduled HJ 212-2025 key rotation (infra/constructs/registry.ts KeyRotation; key-rotation-job.ts): the
 * EventBridge schedule passes the event's `time`, the instant the run judges key ages at (the clock without it).
 */
const config = readConfig({
  registryTable: ENV.registryTable,
  auditTable: ENV.auditTable,
  readingsTable: ENV.readingsTable,
  deviceKeysKey: ENV.deviceKeysKey,
});
const store = new DynamoRegistryStore(dynamo, config.registryTable, config.auditTable);

export const RotationEvent = z.object({ time: z.iso.datetime({ offset: true }).optional() });

export const handler = observedHandler(async (event: unknown) => {
  const parsed = RotationEvent.safeParse(event ?? {});
  const at = parsed.success && parsed.data.time ? new Date(parsed.data.time) : new Date();
  const { lifecycle, commands } = keyPushServices(
    store,
    { readings: config.readingsTable, audit: config.auditTable },
    config.deviceKeysKey,
    () => at,
  );
  const report = await rotateDueKeys(
    {
      registry: store,
      lifecycle,
      commands,
      settings: DEFAULT_KEY_SETTINGS,
      onError: (mn, err) => logger.error('key push failed', { mn, error: err }),
    },
    at,
  );
  const { pushes: _p, ...counts } = report;
  logger.info('key rotation run', { at: at.toISOString(), ...counts });
  return counts;
});
