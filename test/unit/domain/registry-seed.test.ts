import { describe, expect, it } from 'vitest';
import { pollutant } from '#shared/domain/pollutants.ts';
import { DeviceInput, Enterprise, Outlet, Township } from '#shared/domain/registry/model.ts';
import {
  DEVICES,
  ENTERPRISES,
  OUTLETS,
  SEED_DEVICE_PASSWORD,
  TOWNSHIPS,
} from '#shared/domain/registry/qingyuan-seed.ts';
import { seedRegistry } from '#shared/domain/registry/seed.ts';
import { isValidUscc } from '#shared/domain/registry/uscc.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { verifySecret } from '#shared/domain/secrets.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';
import { fastHash } from '../helpers/secrets.ts';

describe('Qingyuan seed data', () => {
  it('validates every entity against its schema', () => {
    const all = [
      ...TOWNSHIPS.map((x) => ({ schema: Township, x, name: x.id })),
      ...ENTERPRISES.map((x) => ({ schema: Enterprise, x, name: x.id })),
      ...OUTLETS.map((x) => ({ schema: Outlet, x, name: x.id })),
      ...DEVICES.map((x) => ({ schema: DeviceInput, x, name: x.mn })),
    ];
    for (const { schema, x, name } of all) {
      const result = schema.safeParse(x);
      expect(result.success ? [] : result.error.issues, name).toEqual([]);
    }
  });

  it('has the 19 township-level divisions: 3 街道, 6 镇, 10 乡', () => {
    expect(TOWNSHIPS).toHaveLength(19);
    const count = (type: string) => TOWNSHIPS.filter((t) => t.type === type).length;
    expect([count('街道'), count('镇'), count('乡')]).toEqual([3, 6, 10]);
    expect(new Set(TOWNSHIPS.map((t) => t.id)).size).toBe(19);
    for (const t of TOWNSHIPS) expect(t.name.endsWith(t.type), t.name).toBe(true);
  });

  it('refers only to entities that exist and agree', () => {
    const townships = new Set(TOWNSHIPS.map((t) => t.id));
    const enterprises = new Set(ENTERPRISES.map((e) => e.id));
    const outlets = new Map(OUTLETS.map((o) => [o.id, o]));
    expect(enterprises.size).toBe(ENTERPRISES.length);
    expect(outlets.size).toBe(OUTLETS.length);
    for (const e of ENTERPRISES) {
      expect(townships.has(e.townshipId), e.id).toBe(true);
      expect(isValidUscc(e.id), e.id).toBe(true);
    }
    for (const o of OUTLETS) expect(enterprises.has(o.enterpriseId), o.id).toBe(true);
    for (const d of DEVICES) {
      const outlet = outlets.get(d.outletId);
      expect(outlet?.enterpriseId, d.mn).toBe(d.enterpriseId);
      for (const code of d.pollutants) expect(pollutant(code)?.medium, `${d.mn} ${code}`).toBe(outlet?.medium);
    }
    expect(new Set(DEVICES.map((d) => d.mn)).size).toBe(DEVICES.length);
  });

  it('gives every enterprise at least one outlet and every outlet a device', () => {
    for (const e of ENTERPRISES)
      expect(
        OUTLETS.some((o) => o.enterpriseId === e.id),
        e.id,
      ).toBe(true);
    for (const o of OUTLETS)
      expect(
        DEVICES.some((d) => d.outletId === o.id),
        o.id,
      ).toBe(true);
  });
});

describe('seedRegistry', () => {
  it('creates everything once through the use-cases and keeps existing entries on a second run', async () => {
    const store = new MemoryRegistryStore();
    const registry = new RegistryService(store, () => new Date('2025-03-01T00:00:00Z'), fastHash);
    const total = TOWNSHIPS.length + ENTERPRISES.length + OUTLETS.length + DEVICES.length;

    const first = await seedRegistry(registry);
    const second = await seedRegistry(registry);

    expect(first).toEqual({ created: total, kept: 0 });
    expect(second).toEqual({ created: 0, kept: total });
    expect(store.audits.every((a) => a.actor === 'seed' && a.action === 'registry.create')).toBe(true);
    const stored = store.raw('devices', DEVICES[0]?.mn ?? '') as { passwordHash: string; password?: string };
    expect(stored.password).toBeUndefined();
    await expect(verifySecret(SEED_DEVICE_PASSWORD, stored.passwordHash)).resolves.toBe(true);
  });
});
