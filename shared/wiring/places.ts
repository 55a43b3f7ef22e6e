import { PLACES, patrolPlace, tipPlace } from '#shared/contracts/places.ts';
import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import type { Patrol } from '#shared/domain/patrols/model.ts';
import type { Device, Enterprise, Outlet } from '#shared/domain/registry/model.ts';
import type { RegistryStore } from '#shared/domain/registry/store.ts';
import type { Place } from '#shared/domain/scope.ts';
import type { Tip } from '#shared/domain/tips/model.ts';
import type { PlaceResolvers } from '#shared/http/scope.ts';

/**
 * The place resolvers the API functions wire for their routes' `scope` (shared/http/scope.ts): from an id to the
 * township, unit and regulator of the thing, read through the stores the function already has. Undefined when there
 * is no such thing (the use-case then answers its own 404).
 */
type Get<T> = (id: string) => Promise<T | undefined>;

/** Enterprises, outlets and devices, through the registry (read only). */
export function registryPlaces(registry: Pick<RegistryStore, 'get'>): PlaceResolvers {
  const enterprise = async (id: string): Promise<Place | undefined> => {
    const found = await registry.get<Enterprise>('enterprises', id);
    return found ? { townshipId: found.item.townshipId, enterpriseId: found.item.id } : undefined;
  };
  const viaEnterprise = async (enterpriseId: string): Promise<Place> =>
    (await enterprise(enterpriseId)) ?? { enterpriseId };
  return {
    [PLACES.enterprise]: enterprise,
    [PLACES.outlet]: async (id) => {
      const found = await registry.get<Outlet>('outlets', id);
      return found ? viaEnterprise(found.item.enterpriseId) : undefined;
    },
    [PLACES.device]: async (id) => {
      const found = await registry.get<Device>('devices', id);
      return found ? viaEnterprise(found.item.enterpriseId) : undefined;
    },
  };
}

export const alarmPlaces = (get: Get<Alarm>): PlaceResolvers => ({
  [PLACES.alarm]: async (id) => {
    const a = await get(id);
    return a ? { townshipId: a.townshipId, enterpriseId: a.enterpriseId, regulator: a.regulator } : undefined;
  },
});

export const tipPlaces = (get: Get<{ tip: Tip }>): PlaceResolvers => ({
  [PLACES.tip]: async (id) => {
    const found = await get(id);
    return found ? tipPlace(found.tip) : undefined;
  },
});

export const patrolPlaces = (get: Get<Patrol>): PlaceResolvers => ({
  [PLACES.patrol]: async (id) => {
    const p = await get(id);
    return p ? patrolPlace(p) : undefined;
  },
});

/** Cases, and workflow tasks through their case. */
export function casePlaces(cases: {
  get: Get<{ case: { townshipId: string; enterpriseId?: string | undefined } }>;
  getTask: Get<{ caseId: string }>;
}): PlaceResolvers {
  const ofCase = async (id: string): Promise<Place | undefined> => {
    const found = await cases.get(id);
    return found ? { townshipId: found.case.townshipId, enterpriseId: found.case.enterpriseId } : undefined;
  };
  return {
    [PLACES.case]: ofCase,
    [PLACES.task]: async (id) => {
      const task = await cases.getTask(id);
      return task ? ofCase(task.caseId) : undefined;
    },
  };
}
