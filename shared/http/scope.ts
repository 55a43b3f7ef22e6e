import { ForbiddenError, NotFoundError } from '#shared/domain/errors.ts';
import { type Caller, countyWide, type Place, sees, townshipsFor } from '#shared/domain/scope.ts';
import type { Principal } from './principal.ts';

/**
 * Each route's contract declares where what it touches belongs (its `scope`); the HTTP stack asks the one policy
 * (shared/domain/scope.ts) before and after the use-case runs:
 *   - `open`: not tied to a place (reference data such as the townships, the rule set, my own work list, public routes);
 *   - `county`: a county-level change (registry entries, rules): only a county-wide caller, else 403;
 *   - `entity`: the path names a thing; outside the caller's scope it answers 404 before the use-case runs (so nothing
 *     is read, audited or changed), exactly as if it did not exist; `others` names more things the request touches;
 *   - `list`: the answer's `items` are kept to the caller's scope (the implementation may also narrow its query with
 *     `req.scope`, as the cases list does so that its audit names only what was shown);
 *   - `body`: the request creates something at the place its body names; outside the caller's scope, 403.
 * A place is computed from the thing itself or looked up by id through the function's `places` resolvers.
 */
export type PlaceRef = { ref: string | undefined; place: string };
export type PlaceOf<T> = (value: T) => Place | PlaceRef;

export type ScopeRule =
  | { kind: 'open'; why: string }
  | { kind: 'county' }
  // biome-ignore lint/suspicious/noExplicitAny: a contract's request shape is only known to its own contract file
  | { kind: 'entity'; param: string; place: string; others?: (req: { body: any; query: any }) => PlaceRef[] }
  // biome-ignore lint/suspicious/noExplicitAny: the item type of a list is the contract's response item
  | { kind: 'list'; item: PlaceOf<any> }
  // biome-ignore lint/suspicious/noExplicitAny: the body is the contract's parsed body
  | { kind: 'body'; place: PlaceOf<any> };

/** Looks up where a thing belongs by its id; undefined when there is no such thing. */
export type PlaceResolvers = Record<string, (id: string) => Promise<Place | undefined>>;

/** What an implementation learns about the caller's scope, to narrow its queries. */
export interface RequestScope {
  caller: Caller;
  sees: (place: Place) => boolean;
  /** `all`, the townships to narrow a query to, or undefined (narrowed item by item) */
  townships: 'all' | readonly string[] | undefined;
}

export function callerOf(principal: Principal): Caller {
  return {
    sub: principal.sub,
    roles: principal.roles,
    townships: principal.townships,
    ...(principal.uscc ? { uscc: principal.uscc } : {}),
    ...(principal.department ? { department: principal.department } : {}),
  };
}

export function requestScope(principal: Principal): RequestScope {
  const caller = callerOf(principal);
  return { caller, sees: (place) => sees(caller, place), townships: townshipsFor(caller) };
}

const isRef = (p: Place | PlaceRef): p is PlaceRef => 'place' in p && typeof (p as PlaceRef).place === 'string';

/** Resolves places once per request (a list of tasks names the same case many times). */
class PlaceLookup {
  private readonly memo = new Map<string, Promise<Place | undefined>>();
  constructor(private readonly resolvers: PlaceResolvers) {}

  of(p: Place | PlaceRef): Promise<Place | undefined> {
    if (!isRef(p)) return Promise.resolve(p);
    if (p.ref === undefined) return Promise.resolve(undefined);
    const resolve = this.resolvers[p.place];
    if (!resolve) throw new Error(`no place resolver '${p.place}' wired for this function`);
    const key = `${p.place}#${p.ref}`;
    let found = this.memo.get(key);
    if (!found) {
      found = resolve(p.ref);
      this.memo.set(key, found);
    }
    return found;
  }
}

const outside = () => new NotFoundError('not found, or outside your remit (未找到，或不在您的辖区内)');

/** Before the use-case: a thing outside the caller's scope does not exist for them; a creation there is refused. */
export async function enforceBefore(
  rule: ScopeRule,
  req: { params: unknown; query: unknown; body: unknown },
  scope: RequestScope,
  resolvers: PlaceResolvers,
): Promise<PlaceLookup> {
  const lookup = new PlaceLookup(resolvers);
  // a county-wide official sees every place: nothing to look up (no extra read on the common path)
  if (countyWide(scope.caller) && rule.kind !== 'county') return lookup;
  switch (rule.kind) {
    case 'open':
    case 'list':
      return lookup;
    case 'county':
      if (!countyWide(scope.caller)) {
        throw new ForbiddenError('this change is made by a county-wide account only (本操作须由全县范围的账号办理)');
      }
      return lookup;
    case 'entity': {
      const id = (req.params as Record<string, unknown> | undefined)?.[rule.param];
      const refs: PlaceRef[] = [
        { ref: typeof id === 'string' ? id : id === undefined ? undefined : String(id), place: rule.place },
        ...(rule.others?.(req as { body: unknown; query: unknown }) ?? []),
      ];
      for (const ref of refs) {
        const place = await lookup.of(ref);
        // an unknown thing is the use-case's own 404; a known one outside the scope looks the same
        if (place && !scope.sees(place)) throw outside();
      }
      return lookup;
    }
    case 'body': {
      const place = await lookup.of(rule.place(req.body));
      if (!place || !scope.sees(place)) {
        throw new ForbiddenError(
          'the township or unit of this request is outside your remit (所填乡镇或单位不在您的辖区内)',
        );
      }
      return lookup;
    }
  }
}

/** After the use-case: a list keeps only what the caller may see. */
export async function filterAfter(rule: ScopeRule, body: unknown, scope: RequestScope, lookup: PlaceLookup) {
  if (rule.kind !== 'list' || countyWide(scope.caller)) return body;
  if (!body || typeof body !== 'object' || !Array.isArray((body as { items?: unknown }).items)) return body;
  const items = (body as { items: unknown[] }).items;
  const places = await Promise.all(items.map((item) => lookup.of(rule.item(item))));
  return {
    ...(body as object),
    items: items.filter((_, i) => places[i] !== undefined && scope.sees(places[i] as Place)),
  };
}
