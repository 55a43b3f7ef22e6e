import { forEachLimited } from '#shared/domain/concurrency.ts';
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

/** A stored row and its TTL (epoch seconds; a block expires with the latest of its period's rows). */
export interface StoredRow {
  row: RowItemFields;
  ttl?: number;
}

export interface RollUpStore {
  /** the device's block state of each kind that has one: ONE read for every kind (the state items side by side) */
  blockStates(mn: string): Promise<Partial<Record<ReadingKind, BlockState>>>;
  /**
   * One page of the rows of [from, to) ascending (`from` undefined: from the device's first row on), read
   * consistently; `more`: rows may be left after the page's last row.
   */
  rowsPage(
    mn: string,
    kind: ReadingKind,
    from: string | undefined,
    to: string,
  ): Promise<{ rows: StoredRow[]; more: boolean }>;
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
  /** devices rolled up at a time (default 1): shortens the run, not the work (docs/architecture.md) */
  concurrency?: number;
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

/** The rows of [from, to), every page. */
async function allRows(store: RollUpStore, mn: string, kind: ReadingKind, from: string, to: string) {
  const out: StoredRow[] = [];
  for (let at: string | undefined = from; at !== undefined; ) {
    const page = await store.rowsPage(mn, kind, at, to);
    out.push(...page.rows);
    const last = page.rows.at(-1);
    at = page.more && last ? iso(Date.parse(last.row.dataTime) + 1) : undefined;
  }
  return out;
}

const latestTtl = (rows: StoredRow[]): number | undefined =>
  rows.reduce<number | undefined>(
    (max, r) => (r.ttl !== undefined && (max === undefined || r.ttl > max) ? r.ttl : max),
    undefined,
  );

/**
 * Rolls up one device's closed periods of one kind (see the module comment), from its block state (`blockStates`).
 * Nothing is read when no period closed since the mark and no late mark waits. The periods from the mark (or the first
 * row) to the limit are read as ONE stream of rows in pages (a period is built once a row of a later one, or the end,
 * shows it complete): an empty stretch (a device silent for days) costs nothing, and the first run needs no search for
 * the first row.
 */
export async function rollUpDevice(
  store: RollUpStore,
  mn: string,
  kind: ReadingKind,
  state: BlockState | undefined,
  now: number,
  opts: RollUpOptions,
  run: RollUpRun,
  deadline: number,
): Promise<void> {
  const layout = BLOCK_LAYOUTS[kind];
  if (!layout || !state?.lastDataTime) return;
  const clock = opts.clock ?? Date.now;
  const limit = Math.min(
    periodStart(layout, Date.parse(state.lastDataTime)),
    periodStart(layout, now - opts.graceMinutes * 60_000),
  );
  const startOf = (token: string) => periodStart(layout, Date.parse(lateDataTime(token)));
  const built = new Map<number, RowItemFields[]>();
  const build = async (start: number, stored: StoredRow[]) => {
    const rows = stored.map((r) => r.row);
    // the count added once written: `run.blocks += await …` would read the sum before the write and lose the other
    // devices' blocks counted meanwhile
    const blocks = rows.length > 0 ? await store.putBlocks(mn, kind, layout, start, rows, latestTtl(stored)) : 0;
    run.blocks += blocks;
    run.rows += rows.length;
    run.periods++;
    built.set(start, rows);
  };
  let mark = state.blocksTo;
  // late data in periods already in blocks: built again
  if (mark !== undefined) {
    const before = Date.parse(mark);
    const starts = [...new Set(state.late.map(startOf))].filter((start) => start < before);
    for (const start of starts.sort((a, b) => a - b)) {
      await build(start, await allRows(store, mn, kind, iso(start), iso(start + layout.periodMs)));
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
  // `next`: where the periods not yet in blocks start (every closed period before it is built by now)
  let next = mark !== undefined ? Date.parse(mark) : undefined;
  if (next === undefined || next < limit) {
    let from = mark;
    let current: { start: number; rows: StoredRow[] } | undefined;
    let periods = 0;
    let stopped = false;
    const flush = async (period: { start: number; rows: StoredRow[] }) => {
      await build(period.start, period.rows);
      next = period.start + layout.periodMs;
      periods++;
      if (clock() >= deadline) return false;
      if (periods % (opts.periodsPerMark ?? 24) === 0 && next < limit) {
        const seen = clearing(next, false);
        if (!(await store.advance(mn, kind, mark, iso(next), seen))) return undefined;
        mark = iso(next);
      }
      return true;
    };
    stream: for (;;) {
      if (clock() >= deadline) {
        stopped = true;
        break;
      }
      const page = await store.rowsPage(mn, kind, from, iso(limit));
      for (const stored of page.rows) {
        const start = periodStart(layout, Date.parse(stored.row.dataTime));
        if (current && start !== current.start) {
          const go = await flush(current);
          current = undefined;
          if (go === undefined) return; // another run moved the mark
          if (!go) {
            stopped = true;
            break stream;
          }
        }
        current ??= { start, rows: [] };
        current.rows.push(stored);
      }
      const last = page.rows.at(-1);
      if (!page.more || !last) break;
      from = iso(Date.parse(last.row.dataTime) + 1);
    }
    if (!stopped && current) {
      const go = await flush(current);
      if (go === undefined) return;
    }
    if (stopped) run.incomplete = true;
    // every row before the limit read: the periods up to it are in blocks (an empty one needs none)
    else next = limit;
    if (next === undefined) return; // stopped before the first period
  }
  const moved = mark === undefined || next > Date.parse(mark);
  const seen = clearing(next, true);
  if (moved || seen.length > 0) await store.advance(mn, kind, mark, moved ? iso(next) : (mark as string), seen);
}

/** One run over every device (`devices`: the registered MNs) and kind with a block layout, `concurrency` at a time. */
export async function rollUpAll(
  store: RollUpStore,
  devices: () => AsyncIterable<string>,
  now: number,
  opts: RollUpOptions,
): Promise<RollUpRun> {
  const clock = opts.clock ?? Date.now;
  const deadline = clock() + opts.budgetMs;
  const run: RollUpRun = { devices: 0, periods: 0, blocks: 0, rows: 0, rebuilt: 0, incomplete: false };
  const kinds = Object.keys(BLOCK_LAYOUTS) as ReadingKind[];
  const device = async (mn: string) => {
    const states = await store.blockStates(mn);
    for (const kind of kinds) {
      if (clock() >= deadline) {
        run.incomplete = true;
        return;
      }
      await rollUpDevice(store, mn, kind, states[kind], now, opts, run, deadline);
    }
  };
  // stops starting devices at the deadline (the next run goes on from the marks)
  async function* untilDeadline() {
    for await (const mn of devices()) {
      if (clock() >= deadline) {
        run.incomplete = true;
        return;
      }
      yield mn;
    }
  }
  // a device's failure fails the run (the next run goes on from the marks), once the devices under way are done
  await forEachLimited(untilDeadline(), Math.max(1, opts.concurrency ?? 1), async (mn) => {
    run.devices++;
    await device(mn);
  });
  return run;
}

const iso = (ms: number) => new Date(ms).toISOString();
