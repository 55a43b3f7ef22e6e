import type { DeviceDirectory } from '../domain/ingest/ports.ts';
import type { DeviceRef } from '../domain/readings/normalize.ts';
import type { Device } from '../domain/registry/model.ts';
import type { RegistryStore } from '../domain/registry/store.ts';

/**
 * Registered devices by MN, cached per container for `ttlSeconds` (unknown MNs too, so a flood of garbage MNs costs
 * one registry read per MN per TTL). A device added or changed in the registry is seen by ingestion within the TTL.
 */
export class CachedDeviceDirectory implements DeviceDirectory {
  private readonly cache = new Map<string, { device: DeviceRef | undefined; until: number }>();

  constructor(
    private readonly registry: Pick<RegistryStore, 'get'>,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get(mn: string): Promise<DeviceRef | undefined> {
    const t = this.now();
    const hit = this.cache.get(mn);
    if (hit && hit.until > t) return hit.device;
    const found = mn.length <= 64 ? await this.registry.get<Device>('devices', mn) : undefined;
    const device = found
      ? {
          mn: found.item.mn,
          enterpriseId: found.item.enterpriseId,
          outletId: found.item.outletId,
          status: found.item.status,
        }
      : undefined;
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(mn, { device, until: t + this.ttlSeconds * 1000 });
    return device;
  }
}
