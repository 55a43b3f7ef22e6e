import type { DeviceDirectory } from '#shared/domain/ingest/ports.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import type { RegistryStore } from '#shared/domain/registry/store.ts';
import { TtlCache } from './ttl-cache.ts';

/**
 * Registered devices by MN, cached per container for `ttlSeconds` (unknown MNs too, so a flood of garbage MNs costs
 * one registry read per MN per TTL). A device added or changed in the registry is seen by ingestion within the TTL.
 * `fresh` reads a device again (its keys changed since it was cached); when that read did not open the frame either
 * (`unopened`: no key registered, a wrong one), the next `fresh` of that MN within `freshSeconds` answers that read
 * again instead of the registry, so such a device costs one read per MN per `freshSeconds`, not one per refused
 * message. A read that opened the frame (a key rotated) spares nothing: the next rotation is read at once.
 */
export class CachedDeviceDirectory implements DeviceDirectory {
  private readonly cache: TtlCache<string, DeviceRef | undefined>;
  /** MNs whose last read again did not open their frame, with what it found */
  private readonly spared: TtlCache<string, { device: DeviceRef | undefined }>;
  /** what the last read again of an MN found, for `unopened` to spare (never an older cached value) */
  private readonly readAgain: TtlCache<string, { device: DeviceRef | undefined }>;

  constructor(
    private readonly registry: Pick<RegistryStore, 'get'>,
    ttlSeconds: number,
    opts: { freshSeconds?: number; now?: () => number; maxEntries?: number } = {},
  ) {
    const { freshSeconds = DEFAULT_FRESH_READ_SECONDS, now = Date.now, maxEntries = 10_000 } = opts;
    this.cache = new TtlCache(ttlSeconds, now, maxEntries);
    this.spared = new TtlCache(freshSeconds, now, maxEntries);
    this.readAgain = new TtlCache(freshSeconds, now, maxEntries);
  }

  get(mn: string): Promise<DeviceRef | undefined> {
    return this.cache.get(mn, () => this.read(mn));
  }

  async fresh(mn: string): Promise<DeviceRef | undefined> {
    const spared = this.spared.peek(mn);
    if (spared) return spared.device;
    const device = await this.read(mn);
    this.cache.set(mn, device);
    this.readAgain.set(mn, { device });
    return device;
  }

  unopened(mn: string): void {
    if (this.spared.peek(mn)) return;
    // what the read again just found; without a recent one there is nothing to spare (the next `fresh` reads)
    const found = this.readAgain.peek(mn);
    if (found) this.spared.set(mn, found);
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

/**
 * How long a device whose read again did not open its frame is spared further reads (REGISTRY_FRESH_READ_SECONDS):
 * short enough that a key registered meanwhile is found well within the registry cache's own TTL.
 */
export const DEFAULT_FRESH_READ_SECONDS = 30;
