import { RIVER_SECTIONS } from '#shared/domain/patrols/sections.ts';
import type { Place } from '#shared/domain/scope.ts';

/**
 * Where the things of the API belong, for the routes' `scope` (shared/http/scope.ts): the names of the place
 * resolvers each function wires (an id → its township, unit and regulator), and the places of items that carry them.
 */
export const PLACES = {
  alarm: 'alarm',
  tip: 'tip',
  case: 'case',
  task: 'task',
  patrol: 'patrol',
  enterprise: 'enterprise',
  outlet: 'outlet',
  device: 'device',
} as const;

/** A patrol's place: its river section's township, or a grid's (grid ids start with the township: `zhukou-03`). */
export function patrolPlace(p: { sectionId?: string | undefined; gridId?: string | undefined }): Place {
  if (p.sectionId) return { townshipId: RIVER_SECTIONS.find((s) => s.id === p.sectionId)?.townshipId };
  const prefix = p.gridId?.split('-')[0];
  return { townshipId: prefix };
}

/** A tip's place: where it was seen, and the registered unit it names. */
export function tipPlace(t: {
  location?: { townshipId?: string } | undefined;
  suspectedUnit?: { kind: string; enterpriseId?: string } | undefined;
}): Place {
  return {
    townshipId: t.location?.townshipId,
    enterpriseId: t.suspectedUnit?.kind === 'registered' ? t.suspectedUnit.enterpriseId : undefined,
  };
}

export interface AlarmPlace {
  townshipId: string;
  enterpriseId: string;
  regulator: string;
}

/** An alarm's place: its unit's township, the unit, and the unit's industry regulator. */
export const alarmPlace = (a: AlarmPlace): Place => ({
  townshipId: a.townshipId,
  enterpriseId: a.enterpriseId,
  regulator: a.regulator,
});

/** A new case's place: the registered unit (looked up) or the township named for a site not registered yet. */
export function casePartyPlace(b: {
  unit: { kind: 'registered'; enterpriseId: string } | { kind: 'unregistered'; townshipId: string };
}): Place | { ref: string; place: string } {
  return b.unit.kind === 'registered'
    ? { ref: b.unit.enterpriseId, place: PLACES.enterprise }
    : { townshipId: b.unit.townshipId };
}
