import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { firstBusyPort, freePorts } from '#infra/local/ports.ts';
import { ENTERPRISES, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { usccCheckChar } from '#shared/domain/registry/uscc.ts';
import { realAppAssembly, tempDir } from './helpers.ts';

/** The registry on the embedded platform, from the real synthesized app: as an official with a token would use it. */
describe('registry API on the local platform', () => {
  const tmp = tempDir('registry');
  const cdkOut = realAppAssembly();
  const dataDir = `${tmp.dir}/data`;
  let platform: Platform;
  let admin: string;
  let analyst: string;

  const start = async () => {
    platform = await startPlatform({ cdkOut, dataDir, ports: await freePorts() });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    admin = signToken(keys, { iss: issuer, aud: audience, sub: 'admin-1', roles: ['admin'], townships: ['*'] }, 600);
    analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'analyst-1', roles: ['analyst'], townships: ['*'] },
      600,
    );
  };

  beforeAll(async () => {
    await start();
  });

  afterAll(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  const call = (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${platform.endpoints.api}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  const body17 = '91331126MA2BX9K3';
  const newId = `${body17}7`.slice(0, 17);
  const enterprise = {
    ...ENTERPRISES[0],
    id: newId + (usccCheckChar(newId) ?? ''),
    name: '庆元县测试竹业有限公司',
    townshipId: 'annan',
  };

  it('lists the seeded townships to any official role', async () => {
    const res = await call('GET', '/registry/townships?limit=100', analyst);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: { item: { id: string } }[] };
    expect(page.items.map((i) => i.item.id).sort()).toEqual(TOWNSHIPS.map((t) => t.id).sort());
  });

  it('answers 401 without a token and 403 to a role that may not write', async () => {
    expect((await call('GET', '/registry/townships')).status).toBe(401);
    const res = await call('POST', '/registry/enterprises', analyst, enterprise);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('creates and reads an enterprise as admin, with its version as ETag', async () => {
    const res = await call('POST', '/registry/enterprises', admin, enterprise);
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe('"1"');
    const got = (await (await call('GET', `/registry/enterprises/${enterprise.id}`, analyst)).json()) as {
      item: { name: string };
    };
    expect(got.item.name).toBe('庆元县测试竹业有限公司');
    const inTownship = (await (await call('GET', '/registry/enterprises?township=annan', analyst)).json()) as {
      items: { item: { id: string } }[];
    };
    expect(inTownship.items.map((i) => i.item.id)).toContain(enterprise.id);
  });

  it('rejects bad input with a precise RFC 9457 problem and stores nothing', async () => {
    const bad = { ...enterprise, id: '91331126MA2BX9K3QQ', location: { lat: 30.2, lng: 120.1 }, townshipId: 'annan' };
    const res = await call('POST', '/registry/enterprises', admin, bad);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { type: string; errors: { field: string; messageZh?: string }[] };
    expect(problem.type).toBe('/problems/validation-error');
    expect(problem.errors.map((e) => e.field)).toEqual(expect.arrayContaining(['body.id', 'body.location']));
    expect(problem.errors.every((e) => typeof e.messageZh === 'string')).toBe(true);
    expect((await call('GET', '/registry/enterprises/91331126MA2BX9K3QQ', admin)).status).toBe(404);
  });

  it('refuses a change based on a stale version with 412', async () => {
    const update = { ...enterprise, address: '庆元县安南乡（新址）' };
    const ok = await call('PUT', `/registry/enterprises/${enterprise.id}`, admin, update, { 'if-match': '"1"' });
    expect(ok.status).toBe(200);
    const stale = await call('PUT', `/registry/enterprises/${enterprise.id}`, admin, update, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
  });

  it('never returns a device password hash', async () => {
    const res = await call('GET', '/registry/devices?limit=100', admin);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('33112600000000000000AB01');
    expect(text).not.toContain('passwordHash');
    expect(text).not.toContain('scrypt$');
  });

  it('keeps data across a restart, does not seed twice, and frees its ports on stop', async () => {
    const ports = Object.values(platform.endpoints).filter(
      (v): v is string => typeof v === 'string' && /^(http|mqtts?):\/\//.test(v),
    );
    await platform.stop();
    const numbers = ports.map((u) => Number(new URL(u).port)).filter((p) => p > 0);
    expect(await firstBusyPort(numbers)).toBeUndefined();
    await start();
    const got = (await (await call('GET', `/registry/enterprises/${enterprise.id}`, admin)).json()) as {
      version: number;
      item: { address: string };
    };
    expect(got.version).toBe(2);
    expect(got.item.address).toBe('庆元县安南乡（新址）');
    const township = (await (await call('GET', '/registry/townships/songyuan', admin)).json()) as { version: number };
    expect(township.version).toBe(1);
  });
});
