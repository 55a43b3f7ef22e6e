import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ValidationError } from '#shared/domain/errors.ts';
import type {
  ReadingQuery,
  ReadingReader,
  ReadingRowReader,
  ReadingStore,
  RowQuery,
} from '#shared/domain/ingest/ports.ts';
import { nullRecord } from '#shared/domain/null-record.ts';
import {
  assignRest,
  BLOCK_LAYOUTS,
  type BlockLayout,
  blockCodes,
  blockKey,
  cellMeta,
  cellMetaIndex,
  cellPosition,
  cellValues,
  type OpenBlock,
  periodStart,
  rowDataTime,
  rowOrigin,
  rowRange,
  rowReceivedAt,
} from '#shared/domain/readings/blocks.ts';
import {
  expiresAt,
  type KindState,
  READING_KINDS,
  type Reading,
  type ReadingKind,
  type ReadingRow,
  type RetentionPolicy,
  rowKey,
} from '#shared/domain/readings/model.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';
import { blockStateKey, openBlockItem, readBlockState, STATE_SK_PREFIX } from './readings-blocks.ts';

/**
 * Readings and device state on the `readings` table (pk/sk strings, TTL on `expiresAt`):
 *   readings     pk `rd#<mn>#<kind>`  sk `<DataTime ISO>`: ONE item per device, kind and DataTime holding every code
 *                of that DataTime, one map attribute `p_<code>` each (values, flag, eflag, sentCode, sampleTime,
 *                notComputable, subject unless a pollutant), plus mn, kind, dataTime, enterpriseId, outletId, the
 *                first packet's source and receivedAt and, for real-time and minute data, `expiresAt` (TTL; hourly
 *                and daily are kept).
 *                Written by one UpdateItem per message (`SET #p = if_not_exists(#p, :v)` per code, `UPDATED_OLD`,
 *                conditional on the row being new or the packet's own): first write wins per code, a resend is
 *                stored once and counted as duplicates (the failed condition returns the row), a later packet with
 *                other codes of the same DataTime is merged by a second UpdateItem whose cells carry their own
 *                source and receivedAt (only for such a merge; never visible with the row's). One series (device,
 *                pollutant, kind) is a Query of the device's kind partition over a time range projected to that
 *                code; a unit's devices for a day are one Query per device (rows). Closed periods of real-time and
 *                minute data are also kept as blocks (readings-blocks.ts) and read from them.
 *   device state pk `d#<mn>`  sk `state#<kind>`: lastDataTime, lastReceivedAt, one attribute `p_<code>` per pollutant
 *                with its last values; updated only when not older (condition on lastDataTime); the blocks' mark
 *                (blocksTo) and late marks of a kind with blocks (readings-blocks.ts).
 * The sealed archive's records share the table (pk `a#<chain>`, and the head item of before batching `d#<chain>` /
 * `archive`): see archive-store.ts.
 * Codes come from devices: they are checked again here (letters and digits) and reach expressions only through
 * ExpressionAttributeNames; read back, they are values, never object keys of a plain object.
 * Cost: one readings write per message and kind (1 WCU up to 1 KB: ~10 codes with converted values; bench readings),
 * plus one state update (and the archive's one record put); no reads in steady state. The first layout (pk `r#<mn>#<pollutant>#<kind>`,
 * one conditional PutItem per reading) is rewritten by `npm run migrate-readings` (scripts/migrate-readings.ts).
 */
const STATE_PREFIX = STATE_SK_PREFIX;
/** codes per UpdateItem: keeps the update expression well under DynamoDB's 4 KB limit (a message has ~5–30) */
const CODES_PER_WRITE = 40;
/** the largest page read while looking for one code in the rows of a time range */
const MAX_PAGE = 1000;
/** what a code may be (shared/domain/hj212/fields.ts isCode, JSON telemetry codes): letters and digits */
const CODE = /^[A-Za-z0-9]{1,16}$/;
export const CODE_PREFIX = 'p_';
/** Reading fields held once per item rather than per code. */
const ROW_FIELDS = new Set(['mn', 'enterpriseId', 'outletId', 'pollutant', 'kind', 'dataTime']);
/** Held once per item for the packet that made the row; a code merged from a later packet carries its own. */
const ARRIVAL_FIELDS = new Set(['source', 'receivedAt']);
/** the subject a code's map omits (most codes are pollutants) */
const DEFAULT_SUBJECT = 'pollutant';

export const readingKeys = {
  row: (mn: string, kind: ReadingKind, dataTime: string) => ({
    pk: rowKey(mn, kind),
    sk: new Date(dataTime).toISOString(),
  }),
  state: blockStateKey,
};

/**
 * The per-code part of a reading, as stored under `p_<code>`: what is neither the row's nor the packet's arrival
 * (values, flag, eflag, sentCode, sampleTime, notComputable …); `subject` only when it is not a pollutant.
 */
export function readingCell(r: Reading): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (ROW_FIELDS.has(k) || ARRIVAL_FIELDS.has(k) || v === undefined) continue;
    if (k === 'subject' && v === DEFAULT_SUBJECT) continue;
    out[k] = v;
  }
  return out;
}

/** The readings of one stored row item, in code order; a code that is not one (never written by us) is skipped. */
export function rowReadings(item: Record<string, unknown>): Reading[] {
  const base = {
    mn: String(item.mn),
    enterpriseId: String(item.enterpriseId),
    outletId: String(item.outletId),
    kind: item.kind as ReadingKind,
    dataTime: typeof item.dataTime === 'string' ? item.dataTime : String(item.sk),
  };
  const arrival = { source: String(item.source), receivedAt: String(item.receivedAt) };
  const out: Reading[] = [];
  for (const [key, cell] of Object.entries(item)) {
    if (!key.startsWith(CODE_PREFIX) || !cell || typeof cell !== 'object') continue;
    const pollutant = key.slice(CODE_PREFIX.length);
    if (!CODE.test(pollutant)) continue;
    out.push({
      subject: DEFAULT_SUBJECT,
      ...arrival,
      ...(cell as Partial<Reading>),
      ...base,
      pollutant,
    } as Reading);
  }
  return out.sort((a, b) => (a.pollutant < b.pollutant ? -1 : a.pollutant > b.pollutant ? 1 : 0));
}

/**
 * How a query's results are built from a stored row item and from a block's rows: `block` is called once per block
 * read and gives the builder of its rows (undefined: skipped).
 */
interface Shape<T> {
  item(item: Record<string, unknown>): T | undefined;
  block(open: OpenBlock): (row: number) => T | undefined;
}

/** Results up to `want` (a page and one more), with each one's row key (the cursor). */
class Collected<T> {
  readonly items: T[] = [];
  readonly sks: string[] = [];
  constructor(private readonly want: number) {}
  get full(): boolean {
    return this.items.length >= this.want;
  }
  /** how many more are wanted */
  get missing(): number {
    return this.want - this.items.length;
  }
  push(sk: string, value: T | undefined): void {
    if (value === undefined) return;
    this.items.push(value);
    this.sks.push(sk);
  }
}

/**
 * A reading's fields for one rest of a cell (a block's dictionary entry), in the order rowReadings spreads them —
 * defaults, the cell, the row's own fields — with the query's constants set: each reading is a copy (made at its
 * final size and shape at once) with the row's fields set, instead of an object grown key by key.
 */
interface ReadingTemplate {
  fields: Record<string, unknown>;
  /** the row's source and receivedAt apply (the cell does not carry its own: a merged code's) */
  rowSource: boolean;
  rowReceivedAt: boolean;
  values: boolean;
}

function readingTemplate(open: OpenBlock, metaIndex: number, code: string, mn: string, kind: ReadingKind) {
  const meta = cellMeta(open, metaIndex);
  const fields: Record<string, unknown> = { subject: DEFAULT_SUBJECT, source: '', receivedAt: '' };
  assignRest(meta.rest, fields);
  if (meta.values) fields.values = null;
  fields.mn = mn;
  fields.enterpriseId = '';
  fields.outletId = '';
  fields.kind = kind;
  fields.dataTime = '';
  fields.pollutant = code;
  return {
    fields,
    rowSource: !Object.hasOwn(meta.rest, 'source'),
    rowReceivedAt: !Object.hasOwn(meta.rest, 'receivedAt'),
    values: meta.values,
  };
}

/**
 * The builder of `code`'s readings of an open block: what rowReadings gives for a row item projected to that code,
 * from the cell at column position `n` (cellPosition) and the row's DataTime, origin and receivedAt (shared by the
 * row's codes).
 */
function cellReader(open: OpenBlock, code: string, mn: string, kind: ReadingKind) {
  // by dictionary index + 1 (0: a cell with no rest)
  const templates: ReadingTemplate[] = [];
  return (n: number, dataTime: string, origin: readonly [string, string, string], receivedAt: string): Reading => {
    const m = cellMetaIndex(open, code, n);
    let t = templates[m + 1];
    if (!t) {
      t = readingTemplate(open, m, code, mn, kind);
      templates[m + 1] = t;
    }
    const r = { ...t.fields };
    if (t.rowSource) r.source = origin[2];
    if (t.rowReceivedAt) r.receivedAt = receivedAt;
    if (t.values) r.values = cellValues(open, code, n);
    r.enterpriseId = origin[0];
    r.outletId = origin[1];
    r.dataTime = dataTime;
    return r as unknown as Reading;
  };
}

/** The readings of `code` of a block's rows: what rowReadings gives for their row items projected to that code. */
function blockReadings(open: OpenBlock, code: string, mn: string, kind: ReadingKind) {
  const read = cellReader(open, code, mn, kind);
  return (row: number): Reading | undefined => {
    const n = cellPosition(open, code, row);
    return n < 0 ? undefined : read(n, rowDataTime(open, row), rowOrigin(open, row), rowReceivedAt(open, row));
  };
}

/** A block's rows with every code, in code order: what rowReadings gives for their row items. */
function blockRows(open: OpenBlock, mn: string, kind: ReadingKind) {
  const codes = codesOf(open);
  const readers = codes.map((code) => cellReader(open, code, mn, kind));
  return (row: number): ReadingRow => {
    const dataTime = rowDataTime(open, row);
    const origin = rowOrigin(open, row);
    const receivedAt = rowReceivedAt(open, row);
    const readings: Reading[] = [];
    for (let i = 0; i < codes.length; i++) {
      const n = cellPosition(open, codes[i] as string, row);
      if (n >= 0) readings.push((readers[i] as ReturnType<typeof cellReader>)(n, dataTime, origin, receivedAt));
    }
    return { mn, kind, dataTime, readings };
  };
}

/** A block's codes that are codes, in order (rowReadings' order). */
function codesOf(open: OpenBlock): string[] {
  return blockCodes(open)
    .filter((c) => CODE.test(c))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function assertCode(code: string): void {
  if (!CODE.test(code)) throw new Error(`not a code: ${JSON.stringify(code.slice(0, 20))}`);
}

/**
 * The row item `readings` (one device, kind and DataTime, distinct codes) make when written to an empty row: what put()
 * leaves in the table (bulk loads of benches and fixtures write it directly).
 */
export function rowItem(readings: Reading[], ttl: number | undefined): Record<string, unknown> {
  const first = readings[0];
  if (!first) throw new Error('rowItem: no readings');
  const item: Record<string, unknown> = {
    ...readingKeys.row(first.mn, first.kind, first.dataTime),
    mn: first.mn,
    kind: first.kind,
    dataTime: new Date(first.dataTime).toISOString(),
    enterpriseId: first.enterpriseId,
    outletId: first.outletId,
    source: first.source,
    receivedAt: first.receivedAt,
    ...(ttl !== undefined ? { expiresAt: ttl } : {}),
  };
  for (const r of readings) {
    assertCode(r.pollutant);
    item[`${CODE_PREFIX}${r.pollutant}`] = readingCell(r);
  }
  return item;
}

/**
 * One UpdateItem merging `readings` (one device, kind and DataTime, distinct codes, one packet) into their row: each
 * code `if_not_exists`, the row's own fields and the packet's arrival (source, receivedAt) kept from the first writer.
 * `ownArrival`: each code's cell carries its packet's source and receivedAt (a merge into a row another packet made).
 */
export function rowUpdate(
  table: string,
  readings: Reading[],
  ttl: number | undefined,
  ownArrival = false,
): ConstructorParameters<typeof UpdateCommand>[0] {
  const first = readings[0];
  if (!first) throw new Error('rowUpdate: no readings');
  const names: Record<string, string> = { '#src': 'source' };
  const values: Record<string, unknown> = {
    ':mn': first.mn,
    ':k': first.kind,
    ':t': new Date(first.dataTime).toISOString(),
    ':e': first.enterpriseId,
    ':o': first.outletId,
    ':s': first.source,
    ':r': first.receivedAt,
  };
  const sets = [
    'mn = :mn',
    'kind = :k',
    'dataTime = :t',
    'enterpriseId = if_not_exists(enterpriseId, :e)',
    'outletId = if_not_exists(outletId, :o)',
    '#src = if_not_exists(#src, :s)',
    'receivedAt = if_not_exists(receivedAt, :r)',
  ];
  if (ttl !== undefined) {
    values[':x'] = ttl;
    sets.push('expiresAt = :x');
  }
  readings.forEach((r, i) => {
    assertCode(r.pollutant);
    names[`#p${i}`] = `${CODE_PREFIX}${r.pollutant}`;
    values[`:v${i}`] = ownArrival ? { ...readingCell(r), source: r.source, receivedAt: r.receivedAt } : readingCell(r);
    sets.push(`#p${i} = if_not_exists(#p${i}, :v${i})`);
  });
  return {
    TableName: table,
    Key: readingKeys.row(first.mn, first.kind, first.dataTime),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'UPDATED_OLD',
  };
}

/**
 * Writes one packet's readings of one row and returns the codes that were stored already (duplicates) and the row's
 * attributes before (`old`). The write is conditional on the row being new or this packet's (the common case: one
 * write). When another packet made the row, the failed condition returns the row: a resend (every code there) stores
 * nothing more; a later packet's new codes are merged in a second write whose cells carry their own source and
 * receivedAt, so that a reader never sees a merged code with the row's arrival.
 */
export async function writeRow(
  db: DynamoDBDocumentClient,
  table: string,
  readings: Reading[],
  ttl: number | undefined,
): Promise<{ before: Set<string>; old?: Record<string, unknown> }> {
  const first = readings[0];
  if (!first) return { before: new Set() };
  const update = rowUpdate(table, readings, ttl);
  let existing: Record<string, unknown> | undefined;
  try {
    const out = await db.send(
      new UpdateCommand({
        ...update,
        ConditionExpression: 'attribute_not_exists(pk) OR (#src = :s AND receivedAt = :r)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const old = out.Attributes;
    return { before: codesAlreadyStored(old), ...(old ? { old } : {}) };
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const item = (err as { Item?: Parameters<typeof unmarshall>[0] }).Item;
    existing = item ? unmarshall(item) : undefined;
  }
  if (existing && readings.every((r) => existing[`${CODE_PREFIX}${r.pollutant}`] !== undefined))
    return { before: codesAlreadyStored(existing), old: existing };
  const out = await db.send(new UpdateCommand(rowUpdate(table, readings, ttl, true)));
  const old = out.Attributes;
  return { before: codesAlreadyStored(old), ...(old ? { old } : {}) };
}

/** The codes of a row update that were there already (UPDATED_OLD): stored once before, so duplicates now. */
export function codesAlreadyStored(attributes: Record<string, unknown> | undefined): Set<string> {
  const out = new Set<string>();
  for (const key of Object.keys(attributes ?? {}))
    if (key.startsWith(CODE_PREFIX)) out.add(key.slice(CODE_PREFIX.length));
  return out;
}

/** A cursor's start key, when it is one of this partition's (a cursor of another query or layout is a 400). */
function startKeyIn(cursor: string | undefined, pk: string): Record<string, unknown> | undefined {
  const key = startKeyOf(cursor);
  if (key && (key.pk !== pk || typeof key.sk !== 'string' || Object.keys(key).length !== 2)) {
    throw new ValidationError('cursor is not valid for this query (翻页游标与本查询不符)', [
      {
        field: 'query.cursor',
        message: 'not for this query',
        messageZh: '翻页游标与本查询不符，请使用上一页返回的 cursor',
      },
    ]);
  }
  return key;
}

/** How long after a block mark's move a first page of blocks read beside the mark is trusted (clock skew included). */
const MARK_SETTLE_MS = 60_000;

export class DynamoReadingStore implements ReadingStore, ReadingReader, ReadingRowReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(readings: Reading[], retention: RetentionPolicy): Promise<{ stored: number; duplicates: number }> {
    let stored = 0;
    let duplicates = 0;
    // one group per row (a message has one device, kind and DataTime); a code given twice counts once
    const groups = new Map<string, Map<string, Reading>>();
    for (const r of readings) {
      const key = `${rowKey(r.mn, r.kind)}|${new Date(r.dataTime).toISOString()}`;
      const group = groups.get(key) ?? new Map<string, Reading>();
      groups.set(key, group);
      if (group.has(r.pollutant)) duplicates++;
      else group.set(r.pollutant, r);
    }
    const writes: Reading[][] = [];
    for (const group of groups.values()) {
      const list = [...group.values()];
      for (let i = 0; i < list.length; i += CODES_PER_WRITE) writes.push(list.slice(i, i + CODES_PER_WRITE));
    }
    const results = await Promise.all(
      writes.map(async (chunk) => {
        const first = chunk[0] as Reading;
        const { before } = await writeRow(this.db, this.table, chunk, expiresAt(first.kind, first.dataTime, retention));
        return chunk.filter((r) => before.has(r.pollutant)).length;
      }),
    );
    writes.forEach((chunk, i) => {
      const dup = results[i] ?? 0;
      duplicates += dup;
      stored += chunk.length - dup;
    });
    return { stored, duplicates };
  }

  async updateState(
    mn: string,
    kind: ReadingKind,
    dataTime: string,
    receivedAt: string,
    readings: Reading[],
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':t': dataTime, ':r': receivedAt, ':k': kind, ':mn': mn };
    const sets = ['lastDataTime = :t', 'lastReceivedAt = :r', 'lastArrivalAt = :r', 'kind = :k', 'mn = :mn'];
    readings.forEach((r, i) => {
      names[`#p${i}`] = `p_${r.pollutant}`;
      values[`:p${i}`] = {
        values: r.values,
        subject: r.subject,
        ...(r.flag !== undefined ? { flag: r.flag } : {}),
        ...(r.notComputable !== undefined ? { notComputable: r.notComputable } : {}),
      };
      sets.push(`#p${i} = :p${i}`);
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: readingKeys.state(mn, kind),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(lastDataTime) OR lastDataTime <= :t',
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    // older data (a backfill, a device clock set back): the last values stay, but the device did speak now, so the
    // data-gap job must not call it silent (one more write, only for out-of-order messages)
    // a kind rolled up into blocks (readings-blocks.ts): the DataTime marked late in the same write, so that a period
    // already in blocks is read from rows until the next roll-up builds it again
    const late = BLOCK_LAYOUTS[kind] ? new Set([`${new Date(dataTime).toISOString()}|${receivedAt}`]) : undefined;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: readingKeys.state(mn, kind),
          UpdateExpression: `SET lastArrivalAt = :r${late ? ' ADD late :l' : ''}`,
          ConditionExpression: 'attribute_not_exists(lastArrivalAt) OR lastArrivalAt < :r',
          ExpressionAttributeValues: { ':r': receivedAt, ...(late ? { ':l': late } : {}) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // an arrival older than the last one (rare): the late mark alone, when the period may be in blocks already
      if (late) {
        try {
          await this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: readingKeys.state(mn, kind),
              UpdateExpression: 'ADD late :l',
              ConditionExpression: 'blocksTo > :t',
              ExpressionAttributeValues: { ':l': late, ':t': new Date(dataTime).toISOString() },
            }),
          );
        } catch (err2) {
          if (!isConditionFailure(err2)) throw err2;
        }
      }
    }
    return false;
  }

  async query(q: ReadingQuery): Promise<{ items: Reading[]; cursor?: string }> {
    const layout = BLOCK_LAYOUTS[q.kind];
    if (layout && CODE.test(q.pollutant)) {
      const code = q.pollutant;
      const page = await this.queryBlocks(q, layout, code, {
        item: (item) => rowReadings(item)[0],
        block: (open) => blockReadings(open, code, q.mn, q.kind),
      });
      if (page) return page;
    }
    return this.queryRows(q);
  }

  async rows(q: RowQuery): Promise<{ items: ReadingRow[]; cursor?: string }> {
    const layout = BLOCK_LAYOUTS[q.kind];
    // per-code blocks hold one code each: a whole row is read from rows
    if (layout && !layout.perCode) {
      const page = await this.queryBlocks(q, layout, undefined, {
        item: (item) => ({
          mn: q.mn,
          kind: q.kind,
          dataTime: String(item.dataTime),
          readings: rowReadings(item),
        }),
        block: (open) => blockRows(open, q.mn, q.kind),
      });
      if (page) return page;
    }
    return this.rowsOnly(q);
  }

  /**
   * A query over blocks before the mark and rows from it on (and rows for periods marked late or kept as rows), in
   * the order asked, `limit` readings (a code) or rows (none); the cursor is the last one's row key, as in queryRows.
   * Only the results returned are built (a block's rows outside the range or past the page are never decoded). The
   * device's mark and the first page of blocks are read side by side (one round trip less); undefined: no blocks yet.
   */
  private async queryBlocks<T extends { dataTime: string }>(
    q: RowQuery,
    layout: BlockLayout,
    code: string | undefined,
    shape: Shape<T>,
  ): Promise<{ items: T[]; cursor?: string } | undefined> {
    const pk = rowKey(q.mn, q.kind);
    const start = startKeyIn(q.cursor, pk);
    const asc = q.order === 'asc';
    let lo = Date.parse(q.from);
    let hi = Date.parse(q.to);
    if (start) {
      const c = Date.parse(String(start.sk));
      if (asc) lo = Math.max(lo, c + 1);
      else hi = Math.min(hi, c - 1);
    }
    const issuedAt = Date.now();
    const stateRead = readBlockState(this.db, this.table, q.mn, q.kind);
    let firstPage = lo <= hi ? this.blockPage(q, layout, code, lo, hi, asc, undefined) : undefined;
    // not awaited when there are no blocks (or the mark's read fails): never an unhandled rejection
    firstPage?.catch(() => {});
    const state = await stateRead;
    if (!state?.blocksTo) return undefined;
    // the roll-up writes blocks, then moves the mark: a page read beside a mark that moved just now may predate the
    // blocks the mark now stands for (a period missing, or a late period's old block with its late mark cleared);
    // then the blocks are read again, after the mark
    if (state.movedAt === undefined || issuedAt - Date.parse(state.movedAt) < MARK_SETTLE_MS) firstPage = undefined;
    const mark = Date.parse(state.blocksTo);
    // data written out of order from the mark on is read from rows anyway
    const late = new Set<number>();
    for (const token of state.late) {
      const at = Date.parse(token.slice(0, token.indexOf('|')));
      if (at < mark) late.add(periodStart(layout, at));
    }
    const out = new Collected<T>(q.limit + 1);
    const blocks = () =>
      this.blockSegment(
        q,
        layout,
        code,
        lo,
        Math.min(hi, mark - 1),
        late,
        asc,
        shape,
        out,
        firstPage && { firstPage, hi },
      );
    const rows = () => this.rowSegment(pk, code, Math.max(lo, mark), hi, asc, shape, out);
    if (asc) {
      await blocks();
      if (!out.full) await rows();
    } else {
      await rows();
      if (!out.full) await blocks();
    }
    const more = out.items.length > q.limit;
    const items = out.items.slice(0, q.limit);
    const last = out.sks[items.length - 1];
    const cursor = more && last ? encodeCursor({ pk, sk: last }) : undefined;
    return { items, ...(cursor ? { cursor } : {}) };
  }

  /** Rows of [lo, hi] (epoch ms, inclusive) into `out` until it is full, projected to `code` (rows without it skipped). */
  private async rowSegment<T>(
    pk: string,
    code: string | undefined,
    lo: number,
    hi: number,
    asc: boolean,
    shape: Shape<T>,
    out: Collected<T>,
  ): Promise<void> {
    if (lo > hi) return;
    let start: Record<string, unknown> | undefined;
    // as many rows as are still wanted (at least 50, at most MAX_PAGE): a read of thousands takes the open day's rows
    // in one or two round trips instead of pages of 50, 200, 800 …; a page of the API reads at most the rows it wants
    let page = Math.min(MAX_PAGE, Math.max(50, out.missing));
    do {
      const res: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ...(code !== undefined
            ? {
                FilterExpression: 'attribute_exists(#p)',
                ProjectionExpression: 'pk, sk, mn, kind, dataTime, enterpriseId, outletId, #src, receivedAt, #p',
                ExpressionAttributeNames: { '#p': `${CODE_PREFIX}${code}`, '#src': 'source' },
              }
            : {}),
          ExpressionAttributeValues: {
            ':pk': pk,
            ':from': new Date(lo).toISOString(),
            ':to': new Date(hi).toISOString(),
          },
          ScanIndexForward: asc,
          Limit: page,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of res.Items ?? []) {
        if (out.full) return;
        out.push(String(item.sk), shape.item(item));
      }
      start = res.LastEvaluatedKey;
      page = Math.min(MAX_PAGE, page * 4);
    } while (start && !out.full);
  }

  /**
   * Results of [lo, hi] into `out` until it is full, from the blocks of the closed periods (only the rows in range
   * built); a period marked late, or kept as rows, from rows.
   */
  private async blockSegment<T extends { dataTime: string }>(
    q: RowQuery,
    layout: BlockLayout,
    code: string | undefined,
    lo: number,
    hi: number,
    late: Set<number>,
    asc: boolean,
    shape: Shape<T>,
    out: Collected<T>,
    /**
     * the first page, read before the mark was known: of blocks up to the query's end (`hi` here), so blocks after
     * this segment's `hi` are passed over and later pages keep that range (their start key lies in it)
     */
    prefetch?: { firstPage: Promise<QueryCommandOutput>; hi: number },
  ): Promise<void> {
    if (lo > hi) return;
    const pk = rowKey(q.mn, q.kind);
    const first = periodStart(layout, lo);
    const pending = [...late].filter((p) => p >= first && p <= hi).sort((a, b) => (asc ? a - b : b - a));
    const before = (p: number, than: number) => (asc ? p < than : p > than);
    const fromRows = (p: number) =>
      this.rowSegment(pk, code, Math.max(lo, p), Math.min(hi, p + layout.periodMs - 1), asc, shape, out);
    let start: Record<string, unknown> | undefined;
    const pagesTo = prefetch?.hi ?? hi;
    let page = prefetch ? 1 : 0;
    let prefetched = prefetch?.firstPage;
    do {
      const res: QueryCommandOutput = await (prefetched ??
        this.blockPage(q, layout, code, lo, pagesTo, asc, start, page++));
      prefetched = undefined;
      for (const item of res.Items ?? []) {
        const p = Date.parse(String(item.sk));
        if (p > hi) {
          if (asc) break; // the first page read on past the mark: nothing after it is wanted
          continue;
        }
        while (!out.full && pending.length > 0 && before(pending[0] as number, p))
          await fromRows(pending.shift() as number);
        if (out.full) return;
        if (pending[0] === p) {
          pending.shift();
          await fromRows(p);
          continue;
        }
        const open = openBlockItem(item, p);
        if (!open) {
          await fromRows(p);
          continue;
        }
        const [a, b] = rowRange(open, lo, hi);
        const build = shape.block(open);
        const push = (row: number) => {
          const value = build(row);
          if (value !== undefined) out.push(value.dataTime, value);
        };
        if (asc) for (let row = a; row < b && !out.full; row++) push(row);
        else for (let row = b - 1; row >= a && !out.full; row--) push(row);
        if (out.full) return;
      }
      const last = res.Items?.at(-1);
      // ascending past `hi` (the first page read on past the mark): done
      start = asc && last && Date.parse(String(last.sk)) > hi ? undefined : res.LastEvaluatedKey;
    } while (start);
    for (const p of pending) {
      if (out.full) return;
      await fromRows(p);
    }
  }

  /**
   * One Query page of the blocks of [lo, hi] (from `start`). The first page asks for the blocks the query likely needs
   * (its limit at a row a minute, and one more: a page of the API one or two, a read of thousands all of them, up to
   * 64); later pages grow fourfold.
   */
  private blockPage(
    q: RowQuery,
    layout: BlockLayout,
    code: string | undefined,
    lo: number,
    hi: number,
    asc: boolean,
    start: Record<string, unknown> | undefined,
    page = 0,
  ): Promise<QueryCommandOutput> {
    const first = Math.max(2, Math.ceil(q.limit / (layout.periodMs / 60_000)) + 1);
    return this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': blockKey(q.mn, q.kind, layout.perCode ? code : undefined),
          ':from': new Date(periodStart(layout, lo)).toISOString(),
          ':to': new Date(hi).toISOString(),
        },
        // what a block is read for (openBlockItem): its period, encoded rows or mark to read rows
        ProjectionExpression: 'sk, z, #rows',
        ExpressionAttributeNames: { '#rows': 'rows' },
        ScanIndexForward: asc,
        Limit: Math.min(64, first * 4 ** page),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
  }

  /** The rows layout alone: one Query of the device's kind partition, projected to the code. */
  async queryRows(q: ReadingQuery): Promise<{ items: Reading[]; cursor?: string }> {
    const pk = rowKey(q.mn, q.kind);
    let start = startKeyIn(q.cursor, pk);
    if (!CODE.test(q.pollutant)) return { items: [] };
    const attr = `${CODE_PREFIX}${q.pollutant}`;
    // rows without this code are skipped by the filter; pages grow while they come back sparse
    const found: { reading: Reading; sk: string }[] = [];
    let page = q.limit;
    for (;;) {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          FilterExpression: 'attribute_exists(#p)',
          ProjectionExpression: 'pk, sk, mn, kind, dataTime, enterpriseId, outletId, #src, receivedAt, #p',
          ExpressionAttributeNames: { '#p': attr, '#src': 'source' },
          ExpressionAttributeValues: { ':pk': pk, ':from': q.from, ':to': q.to },
          ScanIndexForward: q.order === 'asc',
          Limit: page,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const [reading] = rowReadings(item);
        if (reading) found.push({ reading, sk: String(item.sk) });
      }
      start = out.LastEvaluatedKey;
      if (!start || found.length >= q.limit) break;
      page = Math.min(MAX_PAGE, page * 4);
    }
    const items = found.slice(0, q.limit);
    const last = items.at(-1);
    // more may follow: after the last reading returned (the page read further), else where the read stopped
    const next = found.length > q.limit && last ? { pk, sk: last.sk } : start;
    const cursor = encodeCursor(next);
    return { items: items.map((f) => f.reading), ...(cursor ? { cursor } : {}) };
  }

  /** The rows layout alone. */
  async rowsOnly(q: RowQuery): Promise<{ items: ReadingRow[]; cursor?: string }> {
    const pk = rowKey(q.mn, q.kind);
    const start = startKeyIn(q.cursor, pk);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': q.from, ':to': q.to },
        ScanIndexForward: q.order === 'asc',
        Limit: q.limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (out.Items ?? []).map((item) => ({
      mn: q.mn,
      kind: q.kind,
      dataTime: typeof item.dataTime === 'string' ? item.dataTime : String(item.sk),
      readings: rowReadings(item),
    }));
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items, ...(cursor ? { cursor } : {}) };
  }

  async latest(mn: string): Promise<KindState[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':pk': `d#${mn}`, ':s': STATE_PREFIX },
      }),
    );
    const states: KindState[] = [];
    for (const item of out.Items ?? []) {
      const kind = String(item.sk).slice(STATE_PREFIX.length) as ReadingKind;
      if (!READING_KINDS.includes(kind)) continue;
      // keyed by device-sent codes: a null record, whatever the code
      const values: KindState['values'] = nullRecord();
      for (const [k, v] of Object.entries(item))
        if (k.startsWith('p_')) values[k.slice(2)] = v as KindState['values'][string];
      states.push({
        kind,
        lastDataTime: String(item.lastDataTime),
        lastReceivedAt: String(item.lastReceivedAt),
        ...(typeof item.lastArrivalAt === 'string' ? { lastArrivalAt: item.lastArrivalAt } : {}),
        values,
      });
    }
    return states.sort((a, b) => READING_KINDS.indexOf(a.kind) - READING_KINDS.indexOf(b.kind));
  }
}
