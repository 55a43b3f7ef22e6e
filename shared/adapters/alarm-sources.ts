import type { AlarmSource } from '#shared/domain/alarms/model.ts';
import type { AlarmStore } from '#shared/domain/alarms/ports.ts';
import type { RuleSet } from '#shared/domain/alarms/rules.ts';
import { rulesInForce } from '#shared/domain/alarms/use-cases.ts';
import { pollutant, unitFactor } from '#shared/domain/pollutants.ts';
import type { DeviceKeyRing } from '#shared/domain/registry/device-key-types.ts';
import type { Device, Enterprise, LimitValue, Outlet, StoredDevice } from '#shared/domain/registry/model.ts';
import type { RegistryStore } from '#shared/domain/registry/store.ts';
import { TtlCache } from './ttl-cache.ts';

/**
 * What the alarm engine knows about every device, from a snapshot of the whole registry held per container: devices,
 * outlets and enterprises are listed (by-kind index queries, SNAPSHOT_PAGE a page) and joined into AlarmSources, and
 * the snapshot is loaded again after `ttlSeconds`. A county has hundreds of devices, not millions, so a snapshot is a
 * few pages, and its cost does not grow with the message rate: in the steady state a reading costs no registry read,
 * however rarely each device reports (a per-device cache whose lifetime equals the reporting interval would read
 * three items for almost every message). Only the first load is waited for: once a snapshot exists, an expired one
 * keeps answering while the next loads (one load at a time), so no message waits for the registry's pages (at 2,000
 * devices a reload is ~20 queries; the load run showed every worker stalling on it once a minute). A limit or contact
 * changed in the registry reaches the evaluators within the TTL plus one load; a failed load keeps the old snapshot
 * and is tried again by the next message. An MN missing from the snapshot (registered since) is looked up by key,
 * misses included, under the same TTL.
 */
export class SnapshotAlarmSources {
  private snapshot: (Snapshot & { until: number }) | undefined;
  private loading: Promise<Snapshot> | undefined;
  private readonly misses: TtlCache<string, AlarmSource | undefined>;

  constructor(
    private readonly registry: Pick<RegistryStore, 'get' | 'list'>,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.misses = new TtlCache(ttlSeconds, now);
  }

  async get(mn: string): Promise<AlarmSource | undefined> {
    return (await this.entry(mn))?.source;
  }

  /**
   * A device in one lookup: its AlarmSource and, when the snapshot holds the device, its sealed key ring as of the
   * snapshot (`keys: { sm4 }`, `keys: {}` for a device without keys). A device registered since comes without `keys`
   * (look them up by key). The key rings save the ingest path a registry read per device per TTL; a frame that does not
   * open under them is retried with the registry's record (DeviceDirectory.fresh).
   */
  async entry(mn: string): Promise<SourceEntry | undefined> {
    const { sources, keyRings } = await this.current();
    const source = sources.get(mn);
    if (source) {
      const sm4 = keyRings.get(mn);
      return { source, keys: sm4 ? { sm4 } : {} };
    }
    const missed = await this.misses.get(mn, (key) => resolveAlarmSource(this.registry, key));
    return missed && { source: missed };
  }

  private async current(): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (snapshot && snapshot.until > this.now()) return snapshot;
    this.loading ??= loadAllSources(this.registry)
      .then((loaded) => {
        this.snapshot = { ...loaded, until: this.now() + this.ttlSeconds * 1000 };
        return loaded;
      })
      .finally(() => {
        this.loading = undefined;
      });
    if (!snapshot) return this.loading;
    // stale while the next one loads; a failed load leaves this one in place for the next message to try again
    this.loading.catch(() => undefined);
    return snapshot;
  }
}

/** Every registered device as an AlarmSource, and the sealed SM4 key rings (HJ 212-2025) of those that have one. */
interface Snapshot {
  sources: Map<string, AlarmSource>;
  keyRings: Map<string, DeviceKeyRing>;
}

/** SnapshotAlarmSources.entry: a device's AlarmSource and, from the snapshot, its key ring. */
export interface SourceEntry {
  source: AlarmSource;
  keys?: { sm4?: DeviceKeyRing };
}

/** items per registry query of a snapshot (a device item is ~1 KB: well under a query's 1 MB page) */
const SNAPSHOT_PAGE = 500;

/**
 * Every registered device as an AlarmSource, and the sealed key rings of those that have one: three paged by-kind
 * listings joined in memory.
 */
export async function loadAllSources(registry: Pick<RegistryStore, 'list'>): Promise<Snapshot> {
  const all = async <T>(kind: 'devices' | 'outlets' | 'enterprises'): Promise<T[]> => {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await registry.list<T>(kind, { limit: SNAPSHOT_PAGE, ...(cursor ? { cursor } : {}) });
      out.push(...page.items.map((v) => v.item));
      cursor = page.cursor;
    } while (cursor);
    return out;
  };
  const [devices, outlets, enterprises] = await Promise.all([
    all<StoredDevice>('devices'),
    all<Outlet>('outlets'),
    all<Enterprise>('enterprises'),
  ]);
  const outletById = new Map(outlets.map((o) => [o.id, o]));
  const enterpriseById = new Map(enterprises.map((e) => [e.id, e]));
  const sources = new Map<string, AlarmSource>();
  const keyRings = new Map<string, DeviceKeyRing>();
  for (const d of devices) {
    const outlet = outletById.get(d.outletId);
    const enterprise = enterpriseById.get(d.enterpriseId);
    if (!outlet || !enterprise) continue;
    sources.set(d.mn, toAlarmSource(d, outlet, enterprise));
    if (d.sm4) keyRings.set(d.mn, d.sm4);
  }
  return { sources, keyRings };
}

/** The alarm rules in force, cached per container: a new version reaches the evaluators within the TTL. */
export class CachedAlarmRules {
  private readonly cache: TtlCache<'current', RuleSet>;

  constructor(
    private readonly store: Pick<AlarmStore, 'storedRules'>,
    ttlSeconds: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlSeconds, now);
  }

  current(): Promise<RuleSet> {
    return this.cache.get('current', () => rulesInForce(this.store));
  }
}

export async function resolveAlarmSource(
  registry: Pick<RegistryStore, 'get'>,
  mn: string,
): Promise<AlarmSource | undefined> {
  if (mn.length > 64) return undefined;
  const device = (await registry.get<Device>('devices', mn))?.item;
  if (!device) return undefined;
  const [outlet, enterprise] = await Promise.all([
    registry.get<Outlet>('outlets', device.outletId),
    registry.get<Enterprise>('enterprises', device.enterpriseId),
  ]);
  if (!outlet || !enterprise) return undefined;
  return toAlarmSource(device, outlet.item, enterprise.item);
}

/** Pure: the registry entities of one device as the engine's AlarmSource. */
export function toAlarmSource(device: Omit<Device, 'sm4'>, outlet: Outlet, enterprise: Enterprise): AlarmSource {
  const limits: Record<string, LimitValue> = {};
  for (const l of outlet.limits) limits[l.pollutant] = inReportedUnit(l);
  return {
    mn: device.mn,
    enterpriseId: enterprise.id,
    enterpriseName: enterprise.name,
    outletId: outlet.id,
    outletCode: outlet.code,
    outletName: outlet.name,
    medium: outlet.medium,
    townshipId: enterprise.townshipId,
    industry: enterprise.industry,
    regulator: enterprise.regulator,
    permitClass: enterprise.permitClass,
    inDrinkingWaterProtectionZone: outlet.inDrinkingWaterProtectionZone,
    limits,
    intervals: device.intervals,
    equipment: (device.equipment ?? []).map((e) => ({
      code: e.code,
      role: e.role,
      name: e.name,
      ...(e.runningAbove !== undefined ? { runningAbove: e.runningAbove } : {}),
    })),
    deviceStatus: device.status,
    responsiblePerson: enterprise.responsiblePerson,
  };
}

/**
 * A limit in the unit devices report the pollutant in (pollutants.ts): standards print heavy metals in mg/L, HJ 212
 * sends μg/L. The registry refuses units that cannot be converted; one that slipped through is kept as it is.
 */
export function inReportedUnit(limit: LimitValue): LimitValue {
  const reported = pollutant(limit.pollutant)?.unit;
  const factor = reported ? unitFactor(limit.unit, reported) : undefined;
  if (!reported || factor === undefined || factor === 1) return limit;
  const scale = (v: number) => Number((v * factor).toPrecision(12));
  return {
    ...limit,
    unit: reported,
    ...(limit.max !== undefined ? { max: scale(limit.max) } : {}),
    ...(limit.min !== undefined ? { min: scale(limit.min) } : {}),
  };
}
