import { describe, expect, it } from 'vitest';
import { PLACES } from '#shared/contracts/places.ts';
import { ForbiddenError, NotFoundError } from '#shared/domain/errors.ts';
import { ROLE_SCOPES, type Role } from '#shared/domain/roles.ts';
import type { Place } from '#shared/domain/scope.ts';
import type { RouteContract } from '#shared/http/contract.ts';
import type { Principal } from '#shared/http/principal.ts';
import { enforceBefore, filterAfter, type PlaceResolvers, requestScope } from '#shared/http/scope.ts';
import { CONTRACT_SETS } from '../../../scripts/openapi.ts';

/**
 * Every official route × {in scope, out of scope, county-wide}: the route's declared scope, asked of the one policy,
 * lets an official of the right township through, keeps one of another township out (404 for a thing, left out of a
 * list, 403 for a creation or a county-level change), and lets a county-wide official do it all without a lookup.
 * A route that declares nothing does not compile (RouteContract.scope is required); this walks what they declare.
 */
const HERE = 'zhukou';
const THERE = 'hedi';
const UNIT = '91331126MA2HT7XX1A';
const OTHER = '91331126MA2HT7YY2B';

/** A thing in a township: every field any route's place function reads (items, bodies, entities). */
const thingIn = (townshipId: string) => ({
  townshipId,
  enterpriseId: UNIT,
  regulator: '县经济商务科技局',
  caseId: `case-in-${townshipId}`,
  location: { townshipId },
  suspectedUnit: { kind: 'unregistered' },
  sectionId: townshipId === HERE ? 'zhukouxi' : undefined,
  gridId: `${townshipId}-01`,
  section: { townshipId },
  unit: { kind: 'unregistered', townshipId, name: '某作坊' },
  item: { townshipId, id: UNIT, enterpriseId: `unit-in-${townshipId}` },
});

/** Every resolver answers the place of the township its id names (`…-in-<township>`). */
function resolvers(calls: string[]): PlaceResolvers {
  const at = async (id: string): Promise<Place> => {
    calls.push(id);
    const townshipId = id.endsWith(THERE) ? THERE : HERE;
    return { townshipId, enterpriseId: UNIT };
  };
  return Object.fromEntries(Object.values(PLACES).map((name) => [name, at]));
}

const official = (role: Role, townships: string[]): Principal => ({ sub: 'u-1', roles: [role], townships });

/** The first role of a route that is scoped by township (every official route has one but the enterprise's own). */
function townshipRole(contract: RouteContract): Role | undefined {
  const roles = contract.auth === 'public' ? [] : contract.auth;
  const role = roles.find((r) => ROLE_SCOPES[r] === 'townships');
  if (!role && !roles.every((r) => ROLE_SCOPES[r] === 'enterprise')) {
    throw new Error(`${contract.method} ${contract.path}: no township-scoped role`);
  }
  return role;
}

function request(contract: RouteContract, townshipId: string) {
  const rule = contract.scope;
  const id = `thing-in-${townshipId}`;
  const body = { ...thingIn(townshipId), into: id, enterpriseId: id };
  return {
    params: rule.kind === 'entity' ? { [rule.param]: id } : {},
    query: {},
    body,
  };
}

const routes = CONTRACT_SETS.flatMap((set) => Object.entries(set)).filter(([, c]) => c.auth !== 'public');

describe('the scope of every official route', () => {
  it('covers every route the API has', () => {
    expect(routes.length).toBeGreaterThan(50);
    for (const [, c] of CONTRACT_SETS.flatMap((set) => Object.entries(set))) expect(c.scope).toBeDefined();
  });

  for (const [id, contract] of routes) {
    const rule = contract.scope;
    const role = townshipRole(contract);
    if (!role) {
      // a route of the enterprise alone (its answer to an alarm): its own unit's thing, nothing of another unit's
      it(`${id} (${rule.kind}, enterprise only): own unit, another unit`, async () => {
        expect(rule.kind).toBe('entity');
        const places: PlaceResolvers = Object.fromEntries(
          Object.values(PLACES).map((name) => [
            name,
            async (id: string): Promise<Place> => ({
              townshipId: HERE,
              enterpriseId: id.endsWith(THERE) ? OTHER : UNIT,
            }),
          ]),
        );
        const own = requestScope({ sub: 'e-1', roles: ['enterprise'], townships: [], uscc: UNIT });
        await expect(enforceBefore(rule, request(contract, HERE), own, places)).resolves.toBeDefined();
        await expect(enforceBefore(rule, request(contract, THERE), own, places)).rejects.toBeInstanceOf(NotFoundError);
        const county = requestScope(official('duty_officer', ['*']));
        await expect(enforceBefore(rule, request(contract, THERE), county, places)).resolves.toBeDefined();
      });
      continue;
    }

    it(`${id} (${rule.kind}): in scope, out of scope, county-wide`, async () => {
      const calls: string[] = [];
      const places = resolvers(calls);
      const here = requestScope(official(role, [HERE]));
      const county = requestScope(official(role, ['*']));
      const list = { items: [thingIn(HERE), thingIn(THERE)] };

      switch (rule.kind) {
        case 'open': {
          for (const scope of [here, county]) {
            const lookup = await enforceBefore(rule, request(contract, THERE), scope, places);
            expect(await filterAfter(rule, list, scope, lookup)).toEqual(list);
          }
          return;
        }
        case 'county': {
          await expect(enforceBefore(rule, request(contract, HERE), here, places)).rejects.toBeInstanceOf(
            ForbiddenError,
          );
          await expect(enforceBefore(rule, request(contract, HERE), county, places)).resolves.toBeDefined();
          return;
        }
        case 'entity': {
          await expect(enforceBefore(rule, request(contract, HERE), here, places)).resolves.toBeDefined();
          await expect(enforceBefore(rule, request(contract, THERE), here, places)).rejects.toBeInstanceOf(
            NotFoundError,
          );
          calls.length = 0;
          await expect(enforceBefore(rule, request(contract, THERE), county, places)).resolves.toBeDefined();
          expect(calls).toEqual([]);
          return;
        }
        case 'list': {
          const kept = await filterAfter(
            rule,
            list,
            here,
            await enforceBefore(rule, request(contract, HERE), here, places),
          );
          expect((kept as typeof list).items.map((t) => t.townshipId)).toEqual([HERE]);
          calls.length = 0;
          expect(
            await filterAfter(rule, list, county, await enforceBefore(rule, request(contract, HERE), county, places)),
          ).toEqual(list);
          expect(calls).toEqual([]);
          return;
        }
        case 'body': {
          await expect(enforceBefore(rule, request(contract, HERE), here, places)).resolves.toBeDefined();
          await expect(enforceBefore(rule, request(contract, THERE), here, places)).rejects.toBeInstanceOf(
            ForbiddenError,
          );
          await expect(enforceBefore(rule, request(contract, THERE), county, places)).resolves.toBeDefined();
          return;
        }
      }
    });
  }
});

describe('scope beyond townships', () => {
  const alarm = { townshipId: HERE, enterpriseId: UNIT, regulator: '县农业农村局' };

  it('shows an enterprise user its own unit only, whatever its townships', () => {
    const own = requestScope({ sub: 'e-1', roles: ['enterprise'], townships: ['*'], uscc: UNIT });
    expect(own.sees(alarm)).toBe(true);
    expect(own.sees({ ...alarm, enterpriseId: '91331126MA2HT7YY2B' })).toBe(false);
    expect(requestScope({ sub: 'e-2', roles: ['enterprise'], townships: [] }).sees(alarm)).toBe(false);
  });

  it('shows an industry regulator the alarms of its department only', () => {
    const agri = requestScope({ sub: 'r-1', roles: ['industry_regulator'], townships: [], department: '县农业农村局' });
    expect(agri.sees(alarm)).toBe(true);
    expect(agri.sees({ ...alarm, regulator: '县经济商务科技局' })).toBe(false);
  });

  it('fails closed: a token without townships sees nothing, a machine client nothing', () => {
    expect(requestScope({ sub: 'u', roles: ['duty_officer'], townships: [] }).sees(alarm)).toBe(false);
    expect(requestScope({ sub: 'm', roles: ['machine'], townships: ['*'] }).sees(alarm)).toBe(false);
    expect(requestScope({ sub: 'u', roles: ['duty_officer'], townships: [] }).sees({})).toBe(false);
  });

  it('keeps a place without a township to county-wide officials', () => {
    expect(requestScope({ sub: 'u', roles: ['analyst'], townships: [HERE] }).sees({ enterpriseId: UNIT })).toBe(false);
    expect(requestScope({ sub: 'u', roles: ['analyst'], townships: ['*'] }).sees({})).toBe(true);
  });
});
