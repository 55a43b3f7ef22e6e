import { describe, expect, it } from 'vitest';
import { rollUpAll } from '#shared/domain/readings/roll-up.ts';
import { MemoryRollUpStore } from '../helpers/memory-readings-blocks.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-30T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const MN = '88330000000001';
const devices = async function* () {
  yield MN;
};

/** real-time rows every 10 minutes over `hours` hours from T0 */
function withRows(hours: number) {
  const store = new MemoryRollUpStore();
  for (let t = T0; t < T0 + hours * HOUR; t += 10 * 60_000) store.addRow(MN, 'realtime', iso(t));
  return store;
}

describe('rollUpAll', () => {
  it('closes the periods before the last DataTime and before now less the grace, from the first row on', async () => {
    const store = withRows(5);
    const run = await rollUpAll(store, devices, T0 + 5 * HOUR + 5 * 60_000, { graceMinutes: 10, budgetMs: 60_000 });
    // the last row is in hour 4 and now is 5 minutes into hour 5 (less than the grace): hours 0–3 closed
    expect(run.periods).toBe(4);
    expect([...store.blocks.keys()]).toEqual([0, 1, 2, 3].map((h) => `${MN}#realtime#${iso(T0 + h * HOUR)}`));
    expect((await store.state(MN, 'realtime'))?.blocksTo).toBe(iso(T0 + 4 * HOUR));
    const again = await rollUpAll(store, devices, T0 + 5 * HOUR + 5 * 60_000, { graceMinutes: 10, budgetMs: 60_000 });
    expect(again.periods).toBe(0);
  });

  it('keeps the period of the last DataTime open while the device is silent, whatever the clock', async () => {
    const store = withRows(3);
    await rollUpAll(store, devices, T0 + 30 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    expect((await store.state(MN, 'realtime'))?.blocksTo).toBe(iso(T0 + 2 * HOUR));
  });

  it('stops at its budget and goes on from the mark in the next run', async () => {
    const store = withRows(6);
    let ticks = 0;
    const clock = () => T0 + ticks++ * 1000;
    const first = await rollUpAll(store, devices, T0 + 7 * HOUR, {
      graceMinutes: 10,
      budgetMs: 4_500,
      periodsPerMark: 1,
      clock,
    });
    expect(first.incomplete).toBe(true);
    const mark = (await store.state(MN, 'realtime'))?.blocksTo as string;
    expect(Date.parse(mark)).toBeLessThan(T0 + 5 * HOUR);
    const second = await rollUpAll(store, devices, T0 + 7 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    expect(second.incomplete).toBe(false);
    expect(first.periods + second.periods).toBe(5);
    expect((await store.state(MN, 'realtime'))?.blocksTo).toBe(iso(T0 + 5 * HOUR));
  });

  it('builds a period in blocks again when data arrived for it out of order, and clears that mark only', async () => {
    const store = withRows(5);
    await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    store.addRow(MN, 'realtime', iso(T0 + HOUR + 5 * 60_000));
    expect((await store.state(MN, 'realtime'))?.late).toHaveLength(1);
    const run = await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    expect(run.rebuilt).toBe(1);
    expect(store.blocks.get(`${MN}#realtime#${iso(T0 + HOUR)}`)).toBe(7);
    expect((await store.state(MN, 'realtime'))?.late).toEqual([]);
  });

  it('keeps a late mark whose row has not landed yet (written beside it), and clears it once the row shows it', async () => {
    const store = withRows(5);
    await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    const at = iso(T0 + HOUR + 5 * 60_000);
    const received = iso(T0 + 6 * HOUR);
    store.addRow(MN, 'realtime', at, received, true); // the state write came first
    const clock = () => T0 + 6 * HOUR + 60_000;
    await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000, clock });
    expect((await store.state(MN, 'realtime'))?.late).toEqual([`${at}|${received}`]);
    store.landRow(MN, 'realtime', at, received, 2);
    const run = await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000, clock });
    expect(run.rebuilt).toBe(1);
    expect(store.blocks.get(`${MN}#realtime#${iso(T0 + HOUR)}`)).toBe(7);
    expect((await store.state(MN, 'realtime'))?.late).toEqual([]);
  });

  it('keeps a late mark of a period it builds for the first time while the row has not landed yet', async () => {
    // the state write of an out-of-order packet came first; the roll-up builds its period (never in blocks before) in
    // between: the period must be built again once the row lands, or the reading would stay hidden behind the mark
    const store = withRows(5);
    const at = iso(T0 + HOUR + 5 * 60_000);
    const received = iso(T0 + 5 * HOUR);
    store.addRow(MN, 'realtime', at, received, true);
    const clock = () => T0 + 5 * HOUR + 12 * 60_000;
    await rollUpAll(store, devices, T0 + 5 * HOUR + 12 * 60_000, { graceMinutes: 10, budgetMs: 60_000, clock });
    expect((await store.state(MN, 'realtime'))?.blocksTo).toBe(iso(T0 + 4 * HOUR));
    expect((await store.state(MN, 'realtime'))?.late).toEqual([`${at}|${received}`]);
    expect(store.blocks.get(`${MN}#realtime#${iso(T0 + HOUR)}`)).toBe(6);
    store.landRow(MN, 'realtime', at, received, 2);
    const run = await rollUpAll(store, devices, T0 + 5 * HOUR + 12 * 60_000, {
      graceMinutes: 10,
      budgetMs: 60_000,
      clock,
    });
    expect(run.rebuilt).toBe(1);
    expect(store.blocks.get(`${MN}#realtime#${iso(T0 + HOUR)}`)).toBe(7);
    expect((await store.state(MN, 'realtime'))?.late).toEqual([]);
  });

  it("clears a late mark of a period still open with the mark's move: that period is built later, from rows", async () => {
    const store = withRows(5);
    const at = iso(T0 + 4 * HOUR + 5 * 60_000);
    store.addRow(MN, 'realtime', at, iso(T0 + 5 * HOUR), true);
    const clock = () => T0 + 5 * HOUR + 20 * 60_000;
    await rollUpAll(store, devices, T0 + 5 * HOUR + 20 * 60_000, { graceMinutes: 10, budgetMs: 60_000, clock });
    expect((await store.state(MN, 'realtime'))?.late).toEqual([]);
  });

  it('clears a late mark no row shows once it is older than the settling time (a resend that stored nothing)', async () => {
    const store = withRows(5);
    await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    store.addRow(MN, 'realtime', iso(T0 + HOUR), iso(T0 + 6 * HOUR), true);
    await rollUpAll(store, devices, T0 + 7 * HOUR, { graceMinutes: 10, budgetMs: 60_000, clock: () => T0 + 7 * HOUR });
    expect((await store.state(MN, 'realtime'))?.late).toEqual([]);
  });

  it('leaves the mark alone when another run moved it meanwhile', async () => {
    const store = withRows(5);
    const advance = store.advance.bind(store);
    store.advance = async (mn, kind, from, to, seen) => {
      const s = store.states.get(`${mn}#${kind}`);
      if (s) s.blocksTo = iso(T0 + 4 * HOUR); // the other run
      return advance(mn, kind, from, to, seen);
    };
    await rollUpAll(store, devices, T0 + 6 * HOUR, { graceMinutes: 10, budgetMs: 60_000, periodsPerMark: 1 });
    expect((await store.state(MN, 'realtime'))?.blocksTo).toBe(iso(T0 + 4 * HOUR));
  });

  it("reads a device's state once for both kinds, and nothing else when no period closed since the mark", async () => {
    const store = withRows(5);
    for (let t = T0; t < T0 + 5 * HOUR; t += 30 * 60_000) store.addRow(MN, 'minute', iso(t));
    await rollUpAll(store, devices, T0 + 5 * HOUR + 20 * 60_000, { graceMinutes: 10, budgetMs: 60_000 });
    expect(store.reads.states).toBe(1);
    store.reads.states = 0;
    store.reads.rows = 0;
    // ten minutes later: hour 4 is still the last DataTime's, and the minute day is open
    const run = await rollUpAll(store, devices, T0 + 5 * HOUR + 30 * 60_000, { graceMinutes: 10, budgetMs: 60_000 });
    expect(run.periods).toBe(0);
    expect(store.reads).toEqual({ states: 1, rows: 0 });
  });

  it('reads the closed periods as one stream of rows: no search for the first row, nothing for a silent stretch', async () => {
    const store = withRows(2);
    // silent for two days, then three more hours of rows
    for (let t = T0 + 50 * HOUR; t < T0 + 53 * HOUR; t += 10 * 60_000) store.addRow(MN, 'realtime', iso(t));
    store.pageRows = 4;
    const run = await rollUpAll(store, devices, T0 + 54 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    // hours 0, 1, 50, 51 closed (52 holds the last DataTime): 24 rows in pages of 4, nothing more
    expect(run.periods).toBe(4);
    expect(run.rows).toBe(24);
    expect(store.reads.rows).toBe(6);
    expect([...store.blocks.values()]).toEqual([6, 6, 6, 6]);
    expect((await store.state(MN, 'realtime'))?.blocksTo).toBe(iso(T0 + 52 * HOUR));
  });

  it("gives a block the latest TTL of its own period's rows, not of the page it was read in", async () => {
    const store = withRows(3);
    store.pageRows = 100;
    await rollUpAll(store, devices, T0 + 4 * HOUR, { graceMinutes: 10, budgetMs: 60_000 });
    for (const h of [0, 1])
      expect(store.ttls.get(`${MN}#realtime#${iso(T0 + h * HOUR)}`)).toBe(
        (T0 + h * HOUR + 50 * 60_000) / 1000 + 86_400,
      );
  });

  it('rolls up devices `concurrency` at a time, each once, and counts every block', async () => {
    const store = new MemoryRollUpStore();
    const mns = Array.from({ length: 9 }, (_, d) => `8833000000010${d}`);
    for (const mn of mns) for (let t = T0; t < T0 + 3 * HOUR; t += 10 * 60_000) store.addRow(mn, 'realtime', iso(t));
    let inFlight = 0;
    let most = 0;
    const blockStates = store.blockStates.bind(store);
    store.blockStates = async (mn) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return blockStates(mn);
    };
    const putBlocks = store.putBlocks.bind(store);
    store.putBlocks = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return putBlocks(...args);
    };
    const advance = store.advance.bind(store);
    store.advance = async (...args) => {
      inFlight--;
      return advance(...args);
    };
    const run = await rollUpAll(
      store,
      async function* () {
        yield* mns;
      },
      T0 + 4 * HOUR,
      { graceMinutes: 10, budgetMs: 60_000, concurrency: 4 },
    );
    expect(most).toBe(4);
    expect(run.devices).toBe(9);
    expect(run.periods).toBe(18);
    expect(run.blocks).toBe(18);
    for (const mn of mns) expect((await store.state(mn, 'realtime'))?.blocksTo).toBe(iso(T0 + 2 * HOUR));
  });

  it('fails the run when a device fails, once the devices under way are done', async () => {
    const store = new MemoryRollUpStore();
    const mns = ['88330000000201', '88330000000202', '88330000000203'];
    for (const mn of mns) for (let t = T0; t < T0 + 3 * HOUR; t += 10 * 60_000) store.addRow(mn, 'realtime', iso(t));
    const rowsPage = store.rowsPage.bind(store);
    store.rowsPage = async (mn, ...rest) => {
      if (mn === mns[0]) throw new Error('throttled');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return rowsPage(mn, ...rest);
    };
    const all = async function* () {
      yield* mns;
    };
    await expect(
      rollUpAll(store, all, T0 + 4 * HOUR, { graceMinutes: 10, budgetMs: 60_000, concurrency: 2 }),
    ).rejects.toThrow('throttled');
    // the device under way beside it finished; none was started after the failure
    expect((await store.state(mns[1] as string, 'realtime'))?.blocksTo).toBe(iso(T0 + 2 * HOUR));
    expect((await store.state(mns[2] as string, 'realtime'))?.blocksTo).toBeUndefined();
  });
});
