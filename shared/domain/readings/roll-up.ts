import { BLOCK_LAYOUTS, type BlockLayout, periodStart, type RowItemFields } from './blocks.ts';
import type { ReadingKind } from './model.ts';

/**
 * The readings roll-up (functions/readings-roll-up, every hour): for each device and kind with a block layout
 * (blocks.ts), the rows of each closed period written again as blocks, then the device's block mark (`blocksTo`, on its
 * state item) moved past them. Queries read blocks before the mark and rows from it on (readings-store.ts).
 *
 * A period is closed when it ended at least the grace before now AND the device has sent data of a later period (its
 * lastDataTime): data in order can then only land after the mark. Data out of order (a backfill, a device's stored
 * data sent later) marks its DataTime `late` on the state item (updateState's out-of-order write); the roll-up builds
 * such a period again and clears exactly the marks it saw, and until then queries read that period from rows.
 * Idempotent (a block is the same item whatever run writes it), conditional (the mark moves only from the value read:
 * two runs never move it past blocks neither wrote) and resumable (a run stops at its budget; the next one goes on
 * from the mark). The first run over a device is the backfill of its history: it starts at its first row.
 */

export interface BlockState {
  lastDataTime?: string;
  /** ISO instant: every closed period before it is in blocks */
  blocksTo?: string;
  /** `<DataTime ISO>|<receivedAt ISO>` of data written out of order since the last run */
  late: string[];
  /** ISO instant of the mark's last move (or late marks' clearing): a query that read blocks before it re-reads them */
  movedAt?: string;
}

export interface RollUpStore {
  state(mn: string, kind: ReadingKind): Promise<BlockState | undefined>;
  /** DataTime of the first row at or after `from` (ISO), if any */
  firstRowAt(mn: string, kind: ReadingKind, from?: string): Promise<string | undefined>;
  /** the rows of [from, to) ascending, and the latest TTL among them */
  periodRows(mn: string, kind: ReadingKind, from: string, to: string): Promise<{ rows: RowItemFields[]; ttl?: number }>;
  /** writes the period's block(s) (one, or one per code); returns how many items were written */
  putBlocks(
    mn: string,
    kind: ReadingKind,
    layout: BlockLayout,
    start: number,
    rows: RowItemFields[],
    ttl: number | undefined,
  ): Promise<number>;
  /** moves the mark from `from` (undefined: none yet) to `to` and clears `seen` late marks; false when it moved meanwhile */
  advance(mn: string, kind: ReadingKind, from: string | undefined, to: string, seen: string[]): Promise<boolean>;
}

export interface RollUpOptions {
  /** minutes after a period's end before it is rolled up */
  graceMinutes: number;
  /** stop starting periods after this many ms (the next run resumes) */
  budgetMs: number;
  /** periods per mark move */
  periodsPerMark?: number;
  clock?: () => number;
}

export const DEFAULT_ROLL_UP_GRACE_MINUTES = 10;

export interface RollUpRun {
  devices: number;
  periods: number;
  blocks: number;
  rows: number;
  rebuilt: number;
  /** stopped at the budget: the next run goes on */
  incomplete: boolean;
}

export const lateDataTime = (token: string): string => token.slice(0, token.indexOf('|'));
const lateArrival = (token: string): string => token.slice(token.indexOf('|') + 1);
/** how long a late mark whose arrival no row shows is kept (built again each run) before it is cleared */
export const LATE_SETTLE_MS = 15 * 60_000;

/** Whether the rows hold the late mark's packet: its DataTime's row made by it, or a code merged from it. */
function shows(rows: RowItemFields[], token: string): boolean {
  const at = new Date(Date.parse(lateDataTime(token))).toISOString();
  const arrival = lateArrival(token);
  const row = rows.find((r) => r.dataTime === at);
  if (!row) return false;
  if (row.receivedAt === arrival) return true;
  for (const cell of row.cells.values()) if (cell.receivedAt === arrival) return true;
  return false;
}

/** Rolls up one device's closed periods of one kind (see the module comment). */
export async function rollUpDevice(
  store: RollUpStore,
  mn: string,
  kind: ReadingKind,
  now: number,
  opts: RollUpOptions,
  run: RollUpRun,
  deadline: number,
): Promise<void> {
  const layout = BLOCK_LAYOUTS[kind];
  if (!layout) return;
  const clock = opts.clock ?? Date.now;
  const state = await store.state(mn, kind);
  if (!state?.lastDataTime) return;
  const limit = Math.min(
    periodStart(layout, Date.parse(state.lastDataTime)),
    periodStart(layout, now - opts.graceMinutes * 60_000),
  );
  const startOf = (token: string) => periodStart(layout, Date.parse(lateDataTime(token)));
  const built = new Map<number, RowItemFields[]>();
  const build = async (start: number) => {
    const end = start + layout.periodMs;
    const { rows, ttl } = await store.periodRows(mn, kind, iso(start), iso(end));
    if (rows.length > 0) run.blocks += await store.putBlocks(mn, kind, layout, start, rows, ttl);
    run.rows += rows.length;
    run.periods++;
    built.set(start, rows);
    return rows;
  };
  let mark = state.blocksTo;
  // late data in periods already in blocks: built again
  if (mark !== undefined) {
    const before = Date.parse(mark);
    const starts = [...new Set(state.late.map(startOf))].filter((start) => start < before);
    for (const start of starts.sort((a, b) => a - b)) {
      await build(start);
      run.rebuilt++;
    }
  }
  // Ingest writes the row and the late mark side by side, so a mark may be seen before its row lands: a mark of a
  // period the mark moves past is cleared only once this run's rows of that period show its arrival (or once it is
  // older than LATE_SETTLE_MS: a resend that stored nothing); otherwise it stays and the next run builds the period
  // again. A mark of a period still after the mark is cleared with the last move: that period is built later, from rows.
  const cleared = new Set<string>();
  const clearing = (to: number, last: boolean) => {
    const out: string[] = [];
    for (const token of state.late) {
      if (cleared.has(token)) continue;
      const start = startOf(token);
      const rows = built.get(start);
      const clear =
        start < to
          ? (rows !== undefined && shows(rows, token)) || Date.parse(lateArrival(token)) < clock() - LATE_SETTLE_MS
          : last;
      if (clear) {
        cleared.add(token);
        out.push(token);
      }
    }
    return out;
  };
  let next = mark !== undefined ? Date.parse(mark) : undefined;
  if (next === undefined) {
    const first = await store.firstRowAt(mn, kind);
    if (first === undefined) return;
    next = periodStart(layout, Date.parse(first));
  }
  let periods = 0;
  while (next < limit && clock() < deadline) {
    await build(next);
    next += layout.periodMs;
    periods++;
    if (next < limit && periods % (opts.periodsPerMark ?? 24) !== 0) {
      // skip empty stretches (a device silent for days) to the period of its next row
      const upcoming = await store.firstRowAt(mn, kind, iso(next));
      const jump = upcoming === undefined ? limit : Math.min(limit, periodStart(layout, Date.parse(upcoming)));
      if (jump > next) next = jump;
      continue;
    }
    if (next >= limit || clock() >= deadline) break;
    const seen = clearing(next, false);
    if (!(await store.advance(mn, kind, mark, iso(next), seen))) return;
    mark = iso(next);
  }
  if (clock() >= deadline && next < limit) run.incomplete = true;
  const moved = mark === undefined || next > Date.parse(mark);
  const seen = clearing(next, true);
  if (moved || seen.length > 0) await store.advance(mn, kind, mark, moved ? iso(next) : (mark as string), seen);
}

/** One run over every device (`devices`: the registered MNs) and kind with a block layout. */
export async function rollUpAll(
  store: RollUpStore,
  devices: () => AsyncIterable<string>,
  now: number,
  opts: RollUpOptions,
): Promise<RollUpRun> {
  const clock = opts.clock ?? Date.now;
  const deadline = clock() + opts.budgetMs;
  const run: RollUpRun = { devices: 0, periods: 0, blocks: 0, rows: 0, rebuilt: 0, incomplete: false };
  for await (const mn of devices()) {
    run.devices++;
    for (const kind of Object.keys(BLOCK_LAYOUTS) as ReadingKind[]) {
      if (clock() >= deadline) {
        run.incomplete = true;
        return run;
      }
      await rollUpDevice(store, mn, kind, now, opts, run, deadline);
    }
  }
  return run;
}

const iso = (ms: number) => new Date(ms).toISOString();
