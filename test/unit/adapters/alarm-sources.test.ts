import { describe, expect, it } from 'vitest';
import { inReportedUnit, SnapshotAlarmSources, toAlarmSource } from '#shared/adapters/alarm-sources.ts';
import { unitFactor } from '#shared/domain/pollutants.ts';
import { Device, Outlet } from '#shared/domain/registry/model.ts';
import { DEVICES, ENTERPRISES, OUTLETS } from '#shared/domain/registry/qingyuan-seed.ts';
import type { Page, RegistryKind, Versioned } from '#shared/domain/registry/store.ts';

/** The registry as the alarm engine sees it: one snapshot per container, limits in the unit devices report. */
const versioned = <T>(item: T): Versioned<T> => ({
  item,
  version: 1,
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-01T00:00:00.000Z',
});

function fakeRegistry() {
  const byKind: Record<string, unknown[]> = {
    devices: DEVICES.map((d) => Device.parse(d)),
    outlets: OUTLETS,
    enterprises: ENTERPRISES,
  };
  const calls = { list: 0, get: 0 };
  return {
    calls,
    byKind,
    async list<T>(kind: RegistryKind, q: { limit: number; cursor?: string }): Promise<Page<Versioned<T>>> {
      calls.list++;
      const all = (byKind[kind] ?? []) as T[];
      const start = Number(q.cursor ?? 0);
      const items = all.slice(start, start + q.limit).map(versioned);
      return { items, ...(start + q.limit < all.length ? { cursor: String(start + q.limit) } : {}) };
    },
    async get<T>(kind: RegistryKind, id: string): Promise<Versioned<T> | undefined> {
      calls.get++;
      const all = (byKind[kind] ?? []) as Record<string, unknown>[];
      const found = all.find((x) => x.mn === id || x.id === id);
      return found ? versioned(found as T) : undefined;
    },
  };
}

describe('SnapshotAlarmSources', () => {
  it('answers every device from one snapshot and reloads it only after the TTL, however many messages arrive', async () => {
    let now = Date.parse('2026-11-29T10:00:00Z');
    const registry = fakeRegistry();
    const sources = new SnapshotAlarmSources(registry, 300, () => now);
    for (let i = 0; i < 200; i++) {
      for (const d of DEVICES) expect((await sources.get(d.mn))?.mn).toBe(d.mn);
      now += 60_000 / 200;
    }
    expect(registry.calls).toEqual({ list: 3, get: 0 });
    now += 300_000;
    await sources.get(DEVICES[0]?.mn as string);
    expect(registry.calls.list).toBe(6);
  });

  it('keeps answering from the expired snapshot while the next one loads, and uses the new one once loaded', async () => {
    let now = 0;
    const registry = fakeRegistry();
    const sources = new SnapshotAlarmSources(registry, 60, () => now);
    const mn = DEVICES[0]?.mn as string;
    expect((await sources.get(mn))?.enterpriseId).toBe(DEVICES[0]?.enterpriseId);
    // the device moves to another enterprise; the registry answers slowly
    const moved = Device.parse({
      ...DEVICES[0],
      enterpriseId: DEVICES[1]?.enterpriseId,
      outletId: DEVICES[1]?.outletId,
    });
    registry.byKind.devices = [moved, ...(registry.byKind.devices ?? []).slice(1)];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const list = registry.list.bind(registry);
    registry.list = async (kind, q) => {
      await gate;
      return list(kind, q);
    };
    now += 61_000;
    expect((await sources.get(mn))?.enterpriseId).toBe(DEVICES[0]?.enterpriseId); // stale, not waiting
    expect((await sources.get(mn))?.enterpriseId).toBe(DEVICES[0]?.enterpriseId);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect((await sources.get(mn))?.enterpriseId).toBe(DEVICES[1]?.enterpriseId);
    expect(registry.calls.list).toBe(6); // one reload, however many messages came while it ran
  });

  it("carries the snapshot's sealed key rings, so a 2025 device's keys cost no registry read per message", async () => {
    const registry = fakeRegistry();
    const ring = { current: { version: 1, sealed: 'c2VhbGVk', createdAt: '2026-11-01T00:00:00.000Z' } };
    const [keyed, plain] = DEVICES as [(typeof DEVICES)[number], (typeof DEVICES)[number]];
    registry.byKind.devices = (registry.byKind.devices ?? []).map((d) =>
      (d as { mn: string }).mn === keyed.mn ? { ...(d as object), sm4: ring } : d,
    );
    const sources = new SnapshotAlarmSources(registry, 300, () => 0);
    const a = await sources.entry(keyed.mn);
    expect(a?.source.mn).toBe(keyed.mn);
    expect(a?.keys).toEqual({ sm4: ring });
    expect((await sources.entry(plain.mn))?.keys).toEqual({});
    expect(await sources.entry('33112600000000000000ZZ99')).toBeUndefined();
    expect(registry.calls).toEqual({ list: 3, get: 1 }); // the unknown MN: one read by key, a miss
  });

  it('answers a device registered since the snapshot by key, without key rings (looked up by key)', async () => {
    const registry = fakeRegistry();
    const sources = new SnapshotAlarmSources(registry, 300, () => 0);
    const [first] = DEVICES as [(typeof DEVICES)[number]];
    await sources.get(first.mn); // the snapshot, before the device below is registered
    const late = { ...(Device.parse(first) as object), mn: '33112600000000000000LATE' };
    registry.byKind.devices = [...(registry.byKind.devices ?? []), late];
    const entry = await sources.entry(late.mn);
    expect(entry?.source.mn).toBe(late.mn);
    expect(entry && 'keys' in entry).toBe(false);
  });

  it('keeps the old snapshot when a reload fails and tries again with the next message', async () => {
    let now = 0;
    const registry = fakeRegistry();
    const sources = new SnapshotAlarmSources(registry, 60, () => now);
    const mn = DEVICES[0]?.mn as string;
    await sources.get(mn);
    const list = registry.list.bind(registry);
    let fail = true;
    registry.list = async (kind, q) => {
      if (fail) throw new Error('throttled');
      return list(kind, q);
    };
    now += 61_000;
    expect((await sources.get(mn))?.mn).toBe(mn);
    await new Promise((r) => setTimeout(r, 0));
    fail = false;
    expect((await sources.get(mn))?.mn).toBe(mn);
    await new Promise((r) => setTimeout(r, 0));
    expect(registry.calls.list).toBe(6);
  });

  it('looks up by key a device registered after the snapshot, and remembers a miss', async () => {
    const registry = fakeRegistry();
    const sources = new SnapshotAlarmSources(registry, 300, () => 0);
    await sources.get(DEVICES[0]?.mn as string);
    const newcomer = Device.parse({ ...DEVICES[0], mn: '33112600000000000000BW02' });
    registry.byKind.devices?.push(newcomer);
    expect((await sources.get('33112600000000000000BW02'))?.enterpriseId).toBe(newcomer.enterpriseId);
    expect(await sources.get('NOSUCHDEVICE')).toBeUndefined();
    expect(await sources.get('NOSUCHDEVICE')).toBeUndefined();
    expect(registry.calls.get).toBe(4); // the newcomer: device, outlet, enterprise; the miss: once
  });
});

describe('limit units', () => {
  it('converts between mass concentrations and refuses what does not measure the same thing', () => {
    expect(unitFactor('mg/L', 'μg/L')).toBe(1000);
    expect(unitFactor('ug/L', 'mg/L')).toBe(0.001);
    expect(unitFactor('mg/m3', 'mg/m³')).toBe(1);
    expect(unitFactor('无量纲', '无量纲')).toBe(1);
    expect(unitFactor('mg/L', 'mg/m³')).toBeUndefined();
    expect(unitFactor('mg/L', '无量纲')).toBeUndefined();
  });

  it('judges a total-lead limit printed in mg/L against the μg/L devices report', () => {
    const limit = {
      pollutant: 'w20120',
      unit: 'mg/L',
      max: 1.0,
      standard: 'GB 8978-1996',
      grade: '表1',
      basis: 'hourly' as const,
    };
    expect(inReportedUnit(limit)).toMatchObject({ unit: 'μg/L', max: 1000 });
    const bamboo = OUTLETS.find((o) => o.id.endsWith('DW001')) as Outlet;
    const source = toAlarmSource(
      Device.parse(DEVICES[0]),
      { ...bamboo, limits: [...bamboo.limits, limit] },
      ENTERPRISES.find((e) => e.id === bamboo.enterpriseId) as (typeof ENTERPRISES)[number],
    );
    expect(source.limits.w20120).toMatchObject({ unit: 'μg/L', max: 1000 });
    expect(source.limits.w01018).toMatchObject({ unit: 'mg/L', max: 100 });
  });

  it('refuses a registry limit whose unit cannot be compared with what devices report', () => {
    const bamboo = OUTLETS.find((o) => o.id.endsWith('DW001')) as Outlet;
    const bad = Outlet.safeParse({
      ...bamboo,
      limits: [
        { pollutant: 'w01018', unit: 'mg/m³', max: 100, standard: 'GB 8978-1996', grade: '一级', basis: 'hourly' },
      ],
    });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('limits');
  });
});
