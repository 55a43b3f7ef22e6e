import { DeleteCommand, type DynamoDBDocumentClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { READING_KINDS, type Reading, type ReadingKind, seriesKey } from '#shared/domain/readings/model.ts';
import { decodeCursor, encodeCursor, isConditionFailure } from './dynamodb.ts';
import { CODE_PREFIX, readingCell, writeRow } from './readings-store.ts';

/**
 * Migration of the readings table from the first layout (one item per reading: pk `r#<mn>#<pollutant>#<kind>`, sk the
 * DataTime) to the row layout (one item per device, kind and DataTime; readings-store.ts), docs/operations.md.
 *
 * For each old item, found by a paged Scan: one conditional merge into its row (`if_not_exists` per code, the same
 * writes ingest sends, with the old item's own `expiresAt`), then, only when the row now holds that very value,
 * a conditional delete of the old item. A row that already holds a different value for that code and DataTime (a
 * resend with other values stored by the new layout meanwhile) is a conflict: the old item stays and is reported (the
 * sealed archive has both messages). Re-running is safe (what moved is gone, what is left moves or is reported again);
 * a run stopped part-way resumes from the cursor it printed, or simply from the start.
 */
export interface MigrationOptions {
  /** where a stopped run left off (the cursor of its last progress report) */
  cursor?: string;
  /** items per Scan page */
  pageSize?: number;
  /** stop after this many pages (a bounded run; resume with the cursor) */
  maxPages?: number;
  /** count only: nothing written */
  dryRun?: boolean;
  /** merges and deletes in flight at once */
  parallel?: number;
  onProgress?: (report: MigrationReport) => void;
}

export interface MigrationReport {
  /** old-layout items seen */
  found: number;
  /** merged into their row now and deleted */
  moved: number;
  /** their value was in the row already (an earlier, interrupted run; a resend): deleted */
  alreadyMerged: number;
  /** the row holds another value for the code and DataTime: the old item is kept */
  conflicts: { pk: string; sk: string }[];
  /** old items that are not readings (no kind, code or time): left alone */
  skipped: number;
  /** items of other kinds scanned past (rows, device state, chain heads, commands) */
  otherItems: number;
  pages: number;
  /** set while more of the table is left to scan */
  cursor?: string;
  done: boolean;
}

const OLD_PREFIX = 'r#';
const CODE = /^[A-Za-z0-9]{1,16}$/;
/** the fields of an old item that are not the reading's */
const NOT_READING = new Set(['pk', 'sk', 'expiresAt']);

/** An item of the first layout for `r` (what the old store wrote; the migration test and bench seed with it). */
export function legacyItem(r: Reading, ttl: number | undefined): Record<string, unknown> {
  return {
    pk: seriesKey(r.mn, r.pollutant, r.kind),
    sk: new Date(r.dataTime).toISOString(),
    ...r,
    ...(ttl !== undefined ? { expiresAt: ttl } : {}),
  };
}

/** The reading an old item holds, or undefined when it is not one. */
export function legacyReading(item: Record<string, unknown>): Reading | undefined {
  const { mn, pollutant, kind, dataTime } = item;
  if (typeof mn !== 'string' || typeof pollutant !== 'string' || typeof dataTime !== 'string') return undefined;
  if (!READING_KINDS.includes(kind as ReadingKind) || !CODE.test(pollutant)) return undefined;
  if (item.pk !== seriesKey(mn, pollutant, kind as ReadingKind) || Number.isNaN(Date.parse(dataTime))) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!NOT_READING.has(k)) out[k] = v;
  return out as unknown as Reading;
}

/** Key order does not matter when comparing stored values. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

type Outcome = 'moved' | 'alreadyMerged' | 'conflict' | 'skipped';

export async function migrateReadings(
  db: DynamoDBDocumentClient,
  table: string,
  opts: MigrationOptions = {},
): Promise<MigrationReport> {
  const report: MigrationReport = {
    found: 0,
    moved: 0,
    alreadyMerged: 0,
    conflicts: [],
    skipped: 0,
    otherItems: 0,
    pages: 0,
    done: false,
  };
  const parallel = opts.parallel ?? 16;
  let start = opts.cursor ? decodeCursor(opts.cursor) : undefined;
  if (opts.cursor && !start) throw new Error('the cursor is not one this migration printed');

  const moveOne = async (item: Record<string, unknown>): Promise<Outcome> => {
    const reading = legacyReading(item);
    if (!reading) return 'skipped';
    if (opts.dryRun) return 'moved';
    const ttl = typeof item.expiresAt === 'number' ? item.expiresAt : undefined;
    const { old } = await writeRow(db, table, [reading], ttl);
    const before = old?.[`${CODE_PREFIX}${reading.pollutant}`];
    if (before !== undefined && canonical(before) !== canonical(readingCell(reading))) return 'conflict';
    try {
      await db.send(
        new DeleteCommand({
          TableName: table,
          Key: { pk: item.pk, sk: item.sk },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (err) {
      // deleted meanwhile by another run: its value is in the row all the same
      if (!isConditionFailure(err)) throw err;
    }
    return before === undefined ? 'moved' : 'alreadyMerged';
  };

  for (;;) {
    const page: ScanCommandOutput = await db.send(
      new ScanCommand({
        TableName: table,
        Limit: opts.pageSize ?? 200,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    report.pages++;
    const old: Record<string, unknown>[] = [];
    for (const item of page.Items ?? []) {
      if (typeof item.pk === 'string' && item.pk.startsWith(OLD_PREFIX)) old.push(item);
      else report.otherItems++;
    }
    report.found += old.length;
    for (let i = 0; i < old.length; i += parallel) {
      const slice = old.slice(i, i + parallel);
      const outcomes = await Promise.all(slice.map(moveOne));
      outcomes.forEach((o, j) => {
        if (o === 'moved') report.moved++;
        else if (o === 'alreadyMerged') report.alreadyMerged++;
        else if (o === 'skipped') report.skipped++;
        else {
          const item = slice[j] as Record<string, unknown>;
          report.conflicts.push({ pk: String(item.pk), sk: String(item.sk) });
        }
      });
    }
    start = page.LastEvaluatedKey;
    const cursor = encodeCursor(start);
    if (cursor) report.cursor = cursor;
    else delete report.cursor;
    report.done = !start;
    opts.onProgress?.({ ...report, conflicts: [...report.conflicts] });
    if (!start || (opts.maxPages !== undefined && report.pages >= opts.maxPages)) return report;
  }
}
