import type { DeviceDirectory } from '#shared/domain/ingest/ports.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import type { RegistryStore } from '#shared/domain/registry/store.ts';
import { TtlCache } from './ttl-cache.ts';

/**
 * Registered devices by MN, cached per container for `ttlSeconds` (unknown MNs too, so a flood of garbage MNs costs
 * one registry read per MN per TTL). A device added or changed in the registry is seen by ingestion within the TTL.
 */
export class CachedDeviceDirectory implements DeviceDirectory {
  private readonly cache: TtlCache<string, DeviceRef | undefined>;

  constructor(
    private readonly registry: Pick<RegistryStore, 'get'>,
    ttlSeconds: number,
    now: () => number = Date.now,
    maxEntries = 10_000,
  ) {
    this.cache = new TtlCache(ttlSeconds, now, maxEntries);
  }

  get(mn: string): Promise<DeviceRef | undefined> {
    return this.cache.get(mn, () => this.read(mn));
  }

  async fresh(mn: string): Promise<DeviceRef | undefined> {
    const device = await this.read(mn);
    this.cache.set(mn, device);
    return device;
  }

  private async read(mn: string): Promise<DeviceRef | undefined> {
    const found = mn.length <= 64 ? await this.registry.get<StoredDevice>('devices', mn) : undefined;
    return found
      ? {
          mn: found.item.mn,
          enterpriseId: found.item.enterpriseId,
          outletId: found.item.outletId,
          status: found.item.status,
          ...(found.item.sm4 ? { sm4: found.item.sm4 } : {}),
        }
      : undefined;
  }
}
