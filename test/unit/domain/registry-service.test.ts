import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import type { DeviceInput, Enterprise, Outlet, Township } from '#shared/domain/registry/model.ts';
import { DEVICES, ENTERPRISES, OUTLETS, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { verifySecret } from '#shared/domain/secrets.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';
import { fastHash } from '../helpers/secrets.ts';

const admin = { sub: 'u-admin-01' };
const NOW = new Date('2025-03-01T08:00:00.000Z');

const township = TOWNSHIPS[0] as Township; // songyuan
const enterprise = { ...(ENTERPRISES[0] as Enterprise), townshipId: township.id };
const waterOutlet = OUTLETS.find((o) => o.enterpriseId === enterprise.id && o.medium === 'water') as Outlet;
const otherEnterprise = ENTERPRISES[1] as Enterprise;
const { password: _seedPassword, ...deviceWithoutPassword } = {
  ...(DEVICES.find((d) => d.outletId === waterOutlet.id) as DeviceInput),
};
const device: DeviceInput = { ...deviceWithoutPassword, password: 'first-pw' };

/** Runs `fn` and returns what it threw. */
async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('RegistryService', () => {
  let store: MemoryRegistryStore;
  let registry: RegistryService;

  beforeEach(() => {
    store = new MemoryRegistryStore();
    registry = new RegistryService(store, () => NOW, fastHash);
  });

  async function seedParents() {
    await registry.create('townships', township, admin);
    await registry.create('enterprises', enterprise, admin);
    await registry.create('outlets', waterOutlet, admin);
  }

  it('creates an entry at version 1 with an audit entry naming the actor', async () => {
    const created = await registry.create('townships', township, admin);

    expect(created).toEqual({
      item: township,
      version: 1,
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    expect(store.audits).toEqual([
      { actor: 'u-admin-01', action: 'registry.create', entity: `townships/${township.id}`, at: NOW.toISOString() },
    ]);
  });

  it('gets an entry, and fails with NotFoundError when it is missing', async () => {
    await registry.create('townships', township, admin);

    await expect(registry.get('townships', township.id)).resolves.toMatchObject({ item: township, version: 1 });
    await expect(registry.get('townships', 'nowhere')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists entries of a kind and the children of a parent', async () => {
    await seedParents();
    await registry.create('enterprises', { ...otherEnterprise, townshipId: township.id }, admin);
    await registry.create('townships', TOWNSHIPS[1] as Township, admin);

    const townships = await registry.list('townships', { limit: 10 });
    const outlets = await registry.list('outlets', { limit: 10, parent: { kind: 'enterprises', id: enterprise.id } });
    const none = await registry.list('outlets', { limit: 10, parent: { kind: 'enterprises', id: otherEnterprise.id } });

    expect(townships.items.map((v) => (v.item as Township).id).sort()).toEqual(
      [township.id, (TOWNSHIPS[1] as Township).id].sort(),
    );
    expect(outlets.items.map((v) => (v.item as Outlet).id)).toEqual([waterOutlet.id]);
    expect(none.items).toEqual([]);
  });

  it('pages a list with limit and cursor', async () => {
    for (const t of TOWNSHIPS.slice(0, 5)) await registry.create('townships', t, admin);

    const first = await registry.list('townships', { limit: 2 });
    const second = await registry.list('townships', { limit: 2, cursor: first.cursor as string });
    const last = await registry.list('townships', { limit: 2, cursor: second.cursor as string });

    expect([first.items.length, second.items.length, last.items.length]).toEqual([2, 2, 1]);
    expect(last.cursor).toBeUndefined();
  });

  it('fails with ConflictError when the id exists', async () => {
    await registry.create('townships', township, admin);

    await expect(registry.create('townships', township, admin)).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses an enterprise whose township does not exist, naming body.townshipId', async () => {
    const err = await thrown(() => registry.create('enterprises', { ...enterprise, townshipId: 'nowhere' }, admin));

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      {
        field: 'body.townshipId',
        message: 'townships nowhere does not exist',
        messageZh: '乡镇（街道） nowhere 不存在',
      },
    ]);
    expect(store.rows.size).toBe(0);
  });

  it('refuses an outlet whose enterprise does not exist, naming body.enterpriseId', async () => {
    await registry.create('townships', township, admin);

    const err = await thrown(() => registry.create('outlets', waterOutlet, admin));

    expect((err as ValidationError).issues?.[0]?.field).toBe('body.enterpriseId');
  });

  it('refuses a device on an outlet of another enterprise', async () => {
    await seedParents();

    const err = await thrown(() => registry.create('devices', { ...device, enterpriseId: otherEnterprise.id }, admin));

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      {
        field: 'body.outletId',
        message: `outlet ${waterOutlet.id} belongs to ${enterprise.id}`,
        messageZh: `排放口 ${waterOutlet.id} 属于单位 ${enterprise.id}`,
      },
    ]);
  });

  it('refuses a device whose pollutants do not match the outlet medium', async () => {
    await seedParents();

    const err = await thrown(() => registry.create('devices', { ...device, pollutants: ['w01018', 'a21026'] }, admin));

    expect((err as ValidationError).issues?.map((i) => i.field)).toEqual(['body.pollutants.1']);
  });

  it('refuses a new device without a password', async () => {
    await seedParents();

    const err = await thrown(() => registry.create('devices', deviceWithoutPassword, admin));

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { field: 'body.password', message: 'required', messageZh: '必填：新设备须设置接入密码' },
    ]);
  });

  it('stores only a hash of the device password and never returns it', async () => {
    await seedParents();

    const created = await registry.create('devices', device, admin);
    const got = await registry.get('devices', device.mn);
    const listed = await registry.list('devices', { limit: 10 });
    const stored = store.raw('devices', device.mn) as Record<string, unknown>;

    for (const view of [created.item, got.item, listed.items[0]?.item]) {
      expect(view).not.toHaveProperty('passwordHash');
      expect(view).not.toHaveProperty('password');
    }
    expect(JSON.stringify([created, got, listed])).not.toContain('first-pw');
    expect(stored.password).toBeUndefined();
    expect(stored.passwordHash).toMatch(/^scrypt\$/);
    await expect(verifySecret('first-pw', stored.passwordHash as string)).resolves.toBe(true);
    await expect(registry.deviceForAuthentication(device.mn)).resolves.toMatchObject({
      passwordHash: stored.passwordHash,
    });
  });

  it('keeps the old password hash when a replace brings no password, and rehashes when it does', async () => {
    await seedParents();
    await registry.create('devices', device, admin);
    const firstHash = (store.raw('devices', device.mn) as { passwordHash: string }).passwordHash;

    const replaced = await registry.replace('devices', device.mn, { ...deviceWithoutPassword, model: 'X1' }, 1, admin);
    const keptHash = (store.raw('devices', device.mn) as { passwordHash: string }).passwordHash;
    await registry.replace('devices', device.mn, { ...deviceWithoutPassword, password: 'second-pw' }, 2, admin);
    const newHash = (store.raw('devices', device.mn) as { passwordHash: string }).passwordHash;

    expect(replaced.version).toBe(2);
    expect(replaced.item).not.toHaveProperty('passwordHash');
    expect(keptHash).toBe(firstHash);
    expect(newHash).not.toBe(firstHash);
    await expect(verifySecret('second-pw', newHash)).resolves.toBe(true);
  });

  it('replaces an entry, bumping the version and keeping createdAt', async () => {
    await registry.create('townships', township, admin);

    const replaced = await registry.replace('townships', township.id, { ...township, note: '新备注' }, 1, admin);

    expect(replaced).toMatchObject({ version: 2, item: { note: '新备注' }, createdAt: NOW.toISOString() });
    expect(store.audits.map((a) => a.action)).toEqual(['registry.create', 'registry.replace']);
  });

  it('refuses a replace whose path id differs from the body id', async () => {
    await registry.create('townships', township, admin);

    const err = await thrown(() => registry.replace('townships', 'mengzhou', township, undefined, admin));

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { field: 'body.id', message: 'must be mengzhou', messageZh: '应为 mengzhou（与路径中的编号一致）' },
    ]);
  });

  it('fails with NotFoundError when replacing an entry that does not exist', async () => {
    await expect(registry.replace('townships', township.id, township, undefined, admin)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('fails with PreconditionFailedError when expectedVersion is stale', async () => {
    await registry.create('townships', township, admin);
    await registry.replace('townships', township.id, { ...township, note: 'a' }, 1, admin);

    await expect(
      registry.replace('townships', township.id, { ...township, note: 'b' }, 1, admin),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(registry.get('townships', township.id)).resolves.toMatchObject({ version: 2, item: { note: 'a' } });
  });
});
