import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRegistryReader, DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { LoggerRegistry } from '#shared/domain/registry/loggers.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import type { DeviceRegistry, GatewayLoggers } from './connection.ts';

/**
 * Device lookups for authentication: the registry on DynamoDB (read-only: GetItem on the registry table) behind a
 * small TTL cache, so a reconnect storm of 2,000 DAQs costs one read per device, not per packet or connection.
 * A changed password or a retired device takes effect within `ttlMs` (positive) / `negativeTtlMs` (unknown MN).
 * Concurrent lookups of one MN share one read. Failures are not cached.
 */
export function dynamoDeviceRegistry(db: DynamoDBDocumentClient, registryTable: string): DeviceRegistry {
  const registry = new DynamoRegistryReader(db, registryTable);
  // the stored device, hash included (as RegistryService.deviceForAuthentication): for authentication only
  return { deviceForAuthentication: async (mn) => (await registry.get<StoredDevice>('devices', mn))?.item };
}

export interface CacheOptions {
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export function cachedRegistry(inner: DeviceRegistry, opts: CacheOptions = {}): DeviceRegistry {
  const ttl = opts.ttlMs ?? 60_000;
  const negativeTtl = opts.negativeTtlMs ?? 10_000;
  const maxEntries = opts.maxEntries ?? 50_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { device: StoredDevice | undefined; until: number }>();
  const inFlight = new Map<string, Promise<StoredDevice | undefined>>();
  return {
    invalidate(mn: string) {
      cache.delete(mn);
    },
    async deviceForAuthentication(mn: string) {
      const hit = cache.get(mn);
      if (hit && hit.until > now()) return hit.device;
      const pending = inFlight.get(mn);
      if (pending) return pending;
      const lookup = inner
        .deviceForAuthentication(mn)
        .then((device) => {
          if (cache.size >= maxEntries) {
            const oldest = cache.keys().next().value;
            if (oldest !== undefined) cache.delete(oldest);
          }
          cache.delete(mn);
          cache.set(mn, { device, until: now() + (device ? ttl : negativeTtl) });
          return device;
        })
        .finally(() => inFlight.delete(mn));
      inFlight.set(mn, lookup);
      return lookup;
    },
  };
}

/** New loggers' reports and links (CN 1001 / 1002) written to the registry table with their audit entries. */
export function dynamoGatewayLoggers(
  db: DynamoDBDocumentClient,
  registryTable: string,
  auditTable: string,
): Pick<GatewayLoggers, 'seen' | 'confirm'> {
  const loggers = new LoggerRegistry(new DynamoRegistryStore(db, registryTable, auditTable));
  return { seen: (identity, via) => loggers.seen(identity, via), confirm: (mn, qn, e) => loggers.confirm(mn, qn, e) };
}
