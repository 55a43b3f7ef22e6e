import type { AlarmSource } from '../domain/alarms/model.ts';
import type { RuleSet } from '../domain/alarms/rules.ts';
import type { Device, Enterprise, LimitValue, Outlet } from '../domain/registry/model.ts';
import type { RegistryStore } from '../domain/registry/store.ts';
import { TtlCache } from './ttl-cache.ts';

/**
 * What the alarm engine knows about a device, resolved from the registry (device → outlet → enterprise: three key
 * reads) and cached per container for `ttlSeconds`, unknown MNs included. A limit or contact changed in the registry
 * reaches the evaluators within the TTL; in the steady state a reading costs no registry read.
 */
export class CachedAlarmSources {
  private readonly cache: TtlCache<string, AlarmSource | undefined>;

  constructor(
    private readonly registry: Pick<RegistryStore, 'get'>,
    ttlSeconds: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlSeconds, now);
  }

  get(mn: string): Promise<AlarmSource | undefined> {
    return this.cache.get(mn, (key) => resolveAlarmSource(this.registry, key));
  }
}

/** The alarm rules in force, cached per container: a new version reaches the evaluators within the TTL. */
export class CachedAlarmRules {
  private readonly cache: TtlCache<'current', RuleSet>;

  constructor(
    private readonly store: { getRules(): Promise<RuleSet> },
    ttlSeconds: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlSeconds, now);
  }

  current(): Promise<RuleSet> {
    return this.cache.get('current', () => this.store.getRules());
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
export function toAlarmSource(device: Device, outlet: Outlet, enterprise: Enterprise): AlarmSource {
  const limits: Record<string, LimitValue> = {};
  for (const l of outlet.limits) limits[l.pollutant] = l;
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
