import type { ReadingKind } from './model.ts';

/**
 * Readings blocks: the rows of one closed period (one device and kind; per code for minute data) rolled up after the
 * fact into one item with a compact, lossless, columnar encoding, so that a month of minute data of one pollutant is
 * ~30 items instead of ~43,000 rows, and a unit's day of real-time data 24 items per device instead of ~2,900 rows.
 *
 * Why blocks (measured, docs/architecture.md "Readings blocks"): a Query's time on DynamoDB Local follows the number of
 * items and their attributes far more than their bytes (2 MB as 20,000 nested-map rows takes tens of seconds, as 20
 * binary items ~0.2 s), and DynamoDB bills reads by bytes: a block read is the same data in fewer, smaller
 * (compressed) items. The per-message write path stays one UpdateItem; the blocks are written by the roll-up job.
 *
 * Layout per kind (BLOCK_LAYOUTS; hourly and daily data keep being read as rows: a year of hourly data is ~8,800
 * rows): real-time data in one block per device and hour with every code (a unit's day reads every code); minute
 * data in one block per device, code and Beijing day (a month of one pollutant reads 30 blocks of one code).
 *
 * The encoding keeps exactly what a row item holds for rowReadings (readings-store.ts): each row's DataTime,
 * enterprise and outlet, the first packet's source and receivedAt, and each code's cell (values as numeric
 * columns, the rest of the cell — flag, eflag, a merged code's own arrival … — as a dictionary of its JSON); decoding
 * gives the row items back, so a query over blocks returns what the same query over rows does.
 */

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Beijing days (UTC+8): a day block runs from Beijing midnight to Beijing midnight */
const BEIJING_OFFSET = 8 * HOUR;

export interface BlockLayout {
  /** the period one block covers, ms */
  periodMs: number;
  /** where periods start, ms after a UTC multiple of periodMs: -8 h for Beijing days */
  offsetMs: number;
  /** one block per code (a series query reads one code) or one per period with every code (a whole device) */
  perCode: boolean;
}

export const BLOCK_LAYOUTS: Partial<Record<ReadingKind, BlockLayout>> = {
  realtime: { periodMs: HOUR, offsetMs: 0, perCode: false },
  minute: { periodMs: DAY, offsetMs: -BEIJING_OFFSET, perCode: true },
};

/** The start (epoch ms) of the block period that holds `ms`. */
export function periodStart(layout: BlockLayout, ms: number): number {
  return Math.floor((ms - layout.offsetMs) / layout.periodMs) * layout.periodMs + layout.offsetMs;
}

/** Partition of a device's blocks of one kind (all codes) or of one code. */
export const blockKey = (mn: string, kind: ReadingKind, code?: string): string =>
  code === undefined ? `rb#${mn}#${kind}` : `rb#${mn}#${kind}#${code}`;

/** What a row item holds that a block keeps (readings-store.ts rowItem). */
export interface RowItemFields {
  dataTime: string;
  enterpriseId: string;
  outletId: string;
  source: string;
  receivedAt: string;
  /** code → the stored cell (`p_<code>` without the prefix) */
  cells: Map<string, Record<string, unknown>>;
}

interface CodeColumn {
  /** row indices that hold this code; absent when every row does */
  i?: number[];
  /** value key → one number per present row (null: the key was absent) */
  v: Record<string, (number | null)[]>;
  /** the cell without values, as JSON, by dictionary index (one per present row); absent when every cell is `{}` */
  m?: number[];
}

/** The encoded block (JSON, then gzip in the adapter); version 1. */
export interface EncodedBlock {
  v: 1;
  /** DataTime of each row, ms after the period start, ascending */
  t: number[];
  /** dictionary of [enterpriseId, outletId, source] */
  d: [string, string, string][];
  /** per row, index into d (absent when all 0) */
  di?: number[];
  /** per row, receivedAt as ms after DataTime, or the ISO text when that does not round-trip */
  r: (number | string)[];
  /** dictionary of cell rests (JSON) */
  md: string[];
  c: Record<string, CodeColumn>;
}

const iso = (ms: number) => new Date(ms).toISOString();

let cachedHour = Number.NaN;
let cachedPrefix = '';
const two = (n: number) => (n < 10 ? `0${n}` : String(n));
/** `MM:SS` of each second of an hour and `.mmmZ` of each millisecond, made on first use (flat strings, kept) */
const SECONDS: string[] = [];
const MILLIS: string[] = [];
/** `MM:SS.000Z` of each second of an hour (whole seconds: every DataTime, most arrivals) */
const WHOLE_SECONDS: string[] = [];

/**
 * `new Date(ms).toISOString()` for an integer `ms`, from pieces made once: the hour's prefix (`YYYY-MM-DDTHH:`), then
 * the second's `MM:SS` and the millisecond's `.mmmZ` — one or two concatenations and no number formatting per
 * instant. A query over blocks formats two instants per reading (its DataTime and receivedAt), tens of thousands in
 * a month of one pollutant.
 */
export function isoInstant(ms: number): string {
  const hour = Math.floor(ms / HOUR);
  if (hour !== cachedHour || !Number.isInteger(ms)) {
    const text = new Date(ms).toISOString();
    if (!Number.isInteger(ms)) return text;
    cachedHour = hour;
    cachedPrefix = text.slice(0, -10);
  }
  const inHour = ms - hour * HOUR;
  const second = Math.floor(inHour / 1000);
  const milli = inHour - second * 1000;
  if (milli === 0) {
    let whole = WHOLE_SECONDS[second];
    if (whole === undefined) {
      whole = `${two(Math.floor(second / 60))}:${two(second % 60)}.000Z`;
      WHOLE_SECONDS[second] = whole;
    }
    return cachedPrefix + whole;
  }
  let mmss = SECONDS[second];
  if (mmss === undefined) {
    mmss = `${two(Math.floor(second / 60))}:${two(second % 60)}`;
    SECONDS[second] = mmss;
  }
  let fraction = MILLIS[milli];
  if (fraction === undefined) {
    fraction = `.${String(milli).padStart(3, '0')}Z`;
    MILLIS[milli] = fraction;
  }
  return cachedPrefix + mmss + fraction;
}

/**
 * A key for a cell's rest (the cell without `values`) that is the same exactly when the rest's JSON is, built without
 * the JSON when every field is a string, number or boolean (the usual `{ flag }`): each field length-prefixed, so no
 * text a device sends can make two rests share a key; undefined (use the JSON) for anything else.
 */
function restKey(cell: Record<string, unknown>): string | undefined {
  let key = cell.values === undefined ? '!' : '';
  for (const k of Object.keys(cell)) {
    if (k === 'values') continue;
    const v = cell[k];
    if (v === undefined) continue; // as JSON leaves it out
    const t = typeof v;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') return undefined;
    const text = String(v);
    key += `${k.length}:${k}${t.charAt(0)}${text.length}:${text}`;
  }
  return key;
}

/**
 * Encodes rows (ascending DataTime, one period) losslessly; `codes` limits the cells kept (a per-code block). The
 * roll-up encodes every closed period of every device: instants are checked with isoInstant (the hour's prefix
 * formatted once), and a cell's rest is looked up by restKey before any JSON is made (a block of 120 rows of 6 codes
 * made 720 JSON texts and rest objects for what is mostly one `{"flag":"N"}`).
 */
export function encodeBlock(
  periodStartMs: number,
  rows: readonly RowItemFields[],
  codes?: ReadonlySet<string>,
): EncodedBlock {
  const dict: [string, string, string][] = [];
  const dictIndex = new Map<string, number>();
  const metaDict: string[] = [];
  const metaIndex = new Map<string, number>();
  const metaByKey = new Map<string, number>();
  const block: EncodedBlock = { v: 1, t: [], d: dict, r: [], md: metaDict, c: {} };
  const di: number[] = [];
  const present = new Map<string, number[]>();
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as RowItemFields;
    const at = Date.parse(row.dataTime);
    if (isoInstant(at) !== row.dataTime)
      throw new Error(`block: a row's DataTime is not an ISO instant: ${row.dataTime}`);
    block.t.push(at - periodStartMs);
    const { enterpriseId, outletId, source } = row;
    const key = `${enterpriseId.length}:${enterpriseId}${outletId.length}:${outletId}${source}`;
    let d = dictIndex.get(key);
    if (d === undefined) {
      d = dict.length;
      dict.push([enterpriseId, outletId, source]);
      dictIndex.set(key, d);
    }
    di.push(d);
    const received = Date.parse(row.receivedAt);
    block.r.push(Number.isFinite(received) && isoInstant(received) === row.receivedAt ? received - at : row.receivedAt);
    for (const [code, cell] of row.cells) {
      if (codes && !codes.has(code)) continue;
      let list = present.get(code);
      if (!list) {
        list = [];
        present.set(code, list);
      }
      list.push(index);
      let column = block.c[code];
      if (!column) {
        column = { v: {}, m: [] };
        block.c[code] = column;
      }
      const values = cell.values as Record<string, unknown> | undefined;
      const n = list.length - 1;
      if (values !== undefined)
        for (const k of Object.keys(values)) {
          const x = values[k];
          if (typeof x !== 'number') throw new Error(`block: a value that is not a number (${code}.${k})`);
          let col = column.v[k];
          if (!col) {
            col = [];
            column.v[k] = col;
          }
          while (col.length < n) col.push(null);
          col.push(x);
        }
      const rk = restKey(cell);
      let m = rk === undefined ? undefined : metaByKey.get(rk);
      if (m === undefined) {
        const { values: _values, ...rest } = cell as { values?: unknown };
        const metaJson = JSON.stringify(values === undefined ? { ...rest, _nv: 1 } : rest);
        m = metaIndex.get(metaJson);
        if (m === undefined) {
          m = metaDict.length;
          metaDict.push(metaJson);
          metaIndex.set(metaJson, m);
        }
        if (rk !== undefined) metaByKey.set(rk, m);
      }
      (column.m as number[]).push(m);
    }
  }
  if (di.some((x) => x !== 0)) block.di = di;
  for (const [code, list] of present) {
    const column = block.c[code] as CodeColumn;
    for (const col of Object.values(column.v)) while (col.length < list.length) col.push(null);
    if (list.length !== rows.length) column.i = list;
    if (column.m?.every((m) => metaDict[m] === '{}')) delete column.m;
  }
  return block;
}

/** The rows of an encoded block, as encoded (cells of the codes it holds). */
export function decodeBlock(periodStartMs: number, block: EncodedBlock): RowItemFields[] {
  if (block.v !== 1) throw new Error(`block: unknown encoding version ${String(block.v)}`);
  const rows: RowItemFields[] = block.t.map((offset, index) => {
    const at = periodStartMs + offset;
    const [enterpriseId, outletId, source] = block.d[block.di?.[index] ?? 0] as [string, string, string];
    const r = block.r[index] as number | string;
    return {
      dataTime: iso(at),
      enterpriseId,
      outletId,
      source,
      receivedAt: typeof r === 'number' ? iso(at + r) : r,
      cells: new Map(),
    };
  });
  // each dictionary entry parsed once: the cell's rest, and whether it had values
  const metas = block.md.map((json) => {
    const { _nv, ...rest } = JSON.parse(json) as Record<string, unknown>;
    return { rest, values: _nv === undefined };
  });
  const plain = { rest: {}, values: true };
  for (const [code, column] of Object.entries(block.c)) {
    const indices = column.i;
    const valueColumns = Object.entries(column.v);
    const count = indices ? indices.length : rows.length;
    for (let n = 0; n < count; n++) {
      const meta = column.m ? (metas[column.m[n] as number] ?? plain) : plain;
      const cell: Record<string, unknown> = { ...meta.rest };
      if (meta.values) {
        const values: Record<string, number> = {};
        for (const [k, col] of valueColumns) {
          const x = col[n];
          if (typeof x === 'number') values[k] = x;
        }
        cell.values = values;
      }
      rows[indices ? (indices[n] as number) : n]?.cells.set(code, cell);
    }
  }
  return rows;
}

/**
 * A block opened for reading (its dictionary parsed once): a query builds only the cells of the rows and code it
 * returns, straight from the columns, instead of decoding every row and cell of the block (decodeBlock).
 */
export interface OpenBlock {
  start: number;
  block: EncodedBlock;
  metas: { rest: Record<string, unknown>; values: boolean }[];
  /** per code holding only some rows: row index → its position in the code's column (-1: absent), built on demand */
  positions: Map<string, Int32Array>;
  /** per code: its value columns, built on demand */
  values: Map<string, ValueColumns>;
}

/** A code's value columns in an open block. */
interface ValueColumns {
  keys: string[];
  columns: (number | null)[][];
  /**
   * every key in every cell (no null): a cell's values are a copy of this object with the numbers set, made at its
   * final size at once instead of growing key by key
   */
  full?: Record<string, number>;
}

export function openBlock(periodStartMs: number, block: EncodedBlock): OpenBlock {
  if (block.v !== 1) throw new Error(`block: unknown encoding version ${String(block.v)}`);
  const metas = block.md.map((json) => {
    const { _nv, ...rest } = JSON.parse(json) as Record<string, unknown>;
    return { rest, values: _nv === undefined };
  });
  return { start: periodStartMs, block, metas, positions: new Map(), values: new Map() };
}

/** The rows whose DataTime lies in [lo, hi] (epoch ms, inclusive), as [first, end) row indices. */
export function rowRange(open: OpenBlock, lo: number, hi: number): [number, number] {
  const t = open.block.t;
  const search = (ms: number) => {
    let a = 0;
    let b = t.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (open.start + (t[m] as number) < ms) a = m + 1;
      else b = m;
    }
    return a;
  };
  return [search(lo), search(hi + 1)];
}

/** A row's DataTime (epoch ms). */
export const rowAt = (open: OpenBlock, row: number): number => open.start + (open.block.t[row] as number);

/** A row's DataTime as an ISO instant. */
export const rowDataTime = (open: OpenBlock, row: number): string => isoInstant(rowAt(open, row));

/** A row's [enterpriseId, outletId, source] (shared by the block's rows; not to be changed). */
export const rowOrigin = (open: OpenBlock, row: number): readonly [string, string, string] =>
  open.block.d[open.block.di?.[row] ?? 0] as [string, string, string];

/** A row's receivedAt (the first packet's). */
export function rowReceivedAt(open: OpenBlock, row: number): string {
  const r = open.block.r[row] as number | string;
  return typeof r === 'number' ? isoInstant(rowAt(open, row) + r) : r;
}

/** The position of `row` in `code`'s column, -1 when the row holds no such code. */
export function cellPosition(open: OpenBlock, code: string, row: number): number {
  const column = open.block.c[code];
  if (!column) return -1;
  if (!column.i) return row;
  let positions = open.positions.get(code);
  if (!positions) {
    positions = new Int32Array(open.block.t.length).fill(-1);
    column.i.forEach((r, n) => {
      (positions as Int32Array)[r] = n;
    });
    open.positions.set(code, positions);
  }
  return positions[row] ?? -1;
}

const PLAIN: OpenBlock['metas'][number] = { rest: {}, values: true };

/** The dictionary index of the rest of `code`'s cell at column position `n` (cellPosition); -1: none (no rest, values). */
export function cellMetaIndex(open: OpenBlock, code: string, n: number): number {
  const m = open.block.c[code]?.m?.[n];
  return m === undefined || open.metas[m] === undefined ? -1 : m;
}

/** A dictionary entry of cell rests (cellMetaIndex): the rest (not to be changed) and whether the cell had values. */
export const cellMeta = (open: OpenBlock, index: number): OpenBlock['metas'][number] => open.metas[index] ?? PLAIN;

function valueColumns(open: OpenBlock, code: string): ValueColumns {
  let found = open.values.get(code);
  if (!found) {
    const v = (open.block.c[code] as CodeColumn).v;
    const keys = Object.keys(v);
    const columns = keys.map((k) => v[k] as (number | null)[]);
    found = { keys, columns };
    // a key a plain object would not keep as its own (`__proto__`) leaves the cells to be built key by key
    if (!keys.includes('__proto__') && columns.every((col) => !col.includes(null))) {
      const full: Record<string, number> = {};
      for (const k of keys) full[k] = 0.5;
      found.full = full;
    }
    open.values.set(code, found);
  }
  return found;
}

/** The values of `code`'s cell at column position `n` (cellPosition), keys in column order (a null: no such key). */
export function cellValues(open: OpenBlock, code: string, n: number): Record<string, number> {
  const { keys, columns, full } = valueColumns(open, code);
  if (full) {
    const values = { ...full };
    for (let i = 0; i < keys.length; i++) values[keys[i] as string] = (columns[i] as number[])[n] as number;
    return values;
  }
  const values: Record<string, number> = {};
  for (let i = 0; i < keys.length; i++) {
    const x = (columns[i] as (number | null)[])[n];
    if (typeof x === 'number') values[keys[i] as string] = x;
  }
  return values;
}

/** Copies a cell's rest onto `target`, every key an own property as a spread would make it (`__proto__` too). */
export function assignRest(rest: Record<string, unknown>, target: Record<string, unknown>): void {
  for (const k in rest) {
    if (k === '__proto__')
      Object.defineProperty(target, k, { value: rest[k], enumerable: true, writable: true, configurable: true });
    else target[k] = rest[k];
  }
}

/** The codes a block holds. */
export const blockCodes = (open: OpenBlock): string[] => Object.keys(open.block.c);

export { DAY as BLOCK_DAY_MS, HOUR as BLOCK_HOUR_MS };
