import { describe, expect, it } from 'vitest';
import { CachedDeviceDirectory } from '#shared/adapters/device-directory.ts';
import type { Versioned } from '#shared/domain/registry/store.ts';

/**
 * Registered devices by MN for ingestion: cached, and read again (bounded) when a frame does not open (through ingest:
 * test/unit/domain/ingest-encrypted.test.ts).
 */
const MN = '33112600000000000000BW01';
const device = { mn: MN, enterpriseId: '91331126MA2BW0T89P', outletId: '91331126MA2BW0T89P-DW001', status: 'active' };

function countingRegistry() {
  const reads: string[] = [];
  let record: Record<string, unknown> | undefined = device;
  return {
    reads,
    set: (r: Record<string, unknown> | undefined) => {
      record = r;
    },
    async get<T>(_kind: string, id: string): Promise<Versioned<T> | undefined> {
      reads.push(id);
      if (id !== MN || !record) return undefined;
      const at = '2026-03-01T00:00:00.000Z';
      return { item: record as T, version: 1, createdAt: at, updatedAt: at };
    },
  };
}

describe('CachedDeviceDirectory', () => {
  it('answers a read again that did not open the frame for freshSeconds per MN, then reads again', async () => {
    let now = 0;
    const registry = countingRegistry();
    const directory = new CachedDeviceDirectory(registry, 300, { freshSeconds: 30, now: () => now });
    expect((await directory.fresh(MN))?.status).toBe('active');
    directory.unopened(MN);
    registry.set({ ...device, status: 'maintenance' });
    now += 29_000;
    expect((await directory.fresh(MN))?.status).toBe('active');
    expect(await directory.fresh('33112600000000000000ZZ99')).toBeUndefined(); // another MN: its own read
    expect(registry.reads).toEqual([MN, '33112600000000000000ZZ99']);
    now += 2_000;
    expect((await directory.fresh(MN))?.status).toBe('maintenance');
    expect((await directory.get(MN))?.status).toBe('maintenance'); // the cache took what was read
    expect(registry.reads).toEqual([MN, '33112600000000000000ZZ99', MN]);
  });

  it('spares nothing after a read again that opened the frame: a second key change is read at once', async () => {
    const registry = countingRegistry();
    const directory = new CachedDeviceDirectory(registry, 300, { freshSeconds: 30, now: () => 0 });
    await directory.fresh(MN);
    registry.set({ ...device, status: 'maintenance' });
    expect((await directory.fresh(MN))?.status).toBe('maintenance');
    expect(registry.reads).toEqual([MN, MN]);
  });

  it('spares only what a read again found, never an older cached value', async () => {
    let now = 0;
    const registry = countingRegistry();
    const directory = new CachedDeviceDirectory(registry, 300, { freshSeconds: 30, now: () => now });
    expect((await directory.get(MN))?.status).toBe('active'); // cached
    registry.set({ ...device, status: 'maintenance' });
    now += 100_000;
    directory.unopened(MN); // no read again before it: nothing to spare
    expect((await directory.fresh(MN))?.status).toBe('maintenance');
    now += 40_000; // the read again is past freshSeconds: it is not spared either
    directory.unopened(MN);
    registry.set({ ...device, status: 'inactive' });
    expect((await directory.fresh(MN))?.status).toBe('inactive');
    expect(registry.reads).toEqual([MN, MN, MN]);
  });
});
