import { ROLE_SCOPES, type Role } from './roles.ts';

/**
 * Who may see what: the one policy every route asks (through its contract's `scope`, enforced by
 * shared/http/api-handler.ts). Pure: it knows callers and places, never tables.
 *
 * A caller's token names what they may see: `townships` (township ids; `*` = the whole county, an explicit value),
 * `uscc` for an enterprise user, `department` for an industry regulator. A missing claim sees nothing (fail closed).
 * A place is where an alarm, tip, case, patrol or registry entry belongs: its township, its unit, its regulator.
 * Outside the caller's scope a thing does not exist for them: reads and actions answer 404 (existence is not
 * revealed), lists leave it out, and creating something there is refused.
 */
export const COUNTY_WIDE = '*';

export interface Caller {
  sub: string;
  roles: readonly Role[];
  /** township ids, or `*` for the whole county */
  townships: readonly string[];
  /** an enterprise user's unified social credit code */
  uscc?: string;
  /** an industry regulator's department (an alarm's `regulator`) */
  department?: string;
}

export interface Place {
  townshipId?: string | undefined;
  enterpriseId?: string | undefined;
  /** the industry regulator of the unit (alarms carry it) */
  regulator?: string | undefined;
}

export const isCountyWide = (c: Pick<Caller, 'townships'>): boolean => c.townships.includes(COUNTY_WIDE);

/** Whether any of the caller's roles lets them see `place`. */
export function sees(caller: Caller, place: Place): boolean {
  return caller.roles.some((role) => seesAs(ROLE_SCOPES[role], caller, place));
}

function seesAs(kind: (typeof ROLE_SCOPES)[Role], caller: Caller, place: Place): boolean {
  if (kind === 'townships') {
    return isCountyWide(caller) || (place.townshipId !== undefined && caller.townships.includes(place.townshipId));
  }
  if (kind === 'enterprise') return caller.uscc !== undefined && place.enterpriseId === caller.uscc;
  if (kind === 'department') return caller.department !== undefined && place.regulator === caller.department;
  return false;
}

/**
 * The townships a list query may be narrowed to: `all` for a county-wide caller; otherwise the caller's own (an
 * enterprise or regulator caller is narrowed by unit or department instead, so `undefined`: filter item by item).
 */
export function townshipsFor(caller: Caller): 'all' | readonly string[] | undefined {
  if (caller.roles.some((r) => ROLE_SCOPES[r] === 'townships')) {
    if (isCountyWide(caller)) return 'all';
    if (caller.roles.every((r) => ROLE_SCOPES[r] === 'townships')) return caller.townships;
  }
  return undefined;
}

/** Whether the caller may act county-wide (registry changes, rules): a county-wide token of a township-scoped role. */
export const countyWide = (caller: Caller): boolean =>
  isCountyWide(caller) && caller.roles.some((r) => ROLE_SCOPES[r] === 'townships');
