import { type DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { freePort } from '#infra/local/ports.ts';
import { ensureTables, pkSkTableSpec, startDynamoDb } from '#infra/local/services/dynamodb.ts';
import { encodeCursor, isConditionFailure } from '#shared/adapters/dynamodb.ts';
import { DynamoRollUpStore } from '#shared/adapters/readings-blocks.ts';
import { legacyItem } from '#shared/adapters/readings-migration.ts';
import { DynamoReadingStore, rowItem } from '#shared/adapters/readings-store.ts';
import {
  DEFAULT_RETENTION,
  expiresAt,
  type Reading,
  type ReadingKind,
  type ReadingValues,
  seriesKey,
} from '#shared/domain/readings/model.ts';
import { rollUpAll } from '#shared/domain/readings/roll-up.ts';
import { createRng, type Rng } from '../scripts/simulate/rng.ts';
import { PRICES } from './cost/prices.ts';
import { atMost, ratio, tempDir } from './lib.ts';
import { batchPut, type Recorded, recordingClient, stats, timed } from './measure.ts';

/**
 * Readings layout at scale, against DynamoDB Local (the platform's stand-in, started directly; temp data dir): the
 * first layout (one item per reading, pk `r#<mn>#<pollutant>#<kind>`) and the row layout (one item per device, kind
 * and DataTime, readings-store.ts) loaded with the same data into two tables, side by side in one run.
 *
 * Data: a flue-gas unit of 3 devices (8 codes each with converted values, real-time every 30 s, minute data every
 * minute, as the seed's air devices): the queried device holds a month of minute data and a year of hourly data,
 * every device of the unit its queried day of real-time data and two hours either side, and 4 other devices a day of
 * minute data each. DynamoDB Local runs in memory (`inMemory`): on disk, SQLite's sync of every batch makes the bulk
 * load of the first layout's ~550,000 items take the better part of an hour on a loaded 2-core machine; the queries
 * read the same way either way (the pages come from the OS cache once loaded).
 * Queries, each timed whole (every page, as a chart or export needs it), after one unmeasured warm-up:
 *  (1) a month of minute data of one device and pollutant: pages of 500 (the API's largest) followed by cursor;
 *  (2) a day of real-time data of the unit's devices: every code of each device (first layout: one series per
 *      device and code, all in parallel; row layout: one Query per device, in parallel).
 * Writes per message: the commands put() sends for one 8-code message, and the item size (WCU) they write.
 * Blocks (readings-blocks.ts): after the load, the roll-up (shared/domain/readings/roll-up.ts) runs once over every
 * device as the backfill would (timed, its commands and bytes counted and divided per reading: its amortized cost);
 * the row layout's queries are then measured by rows alone and by blocks (blocks for the closed periods, rows for
 * the open tail) side by side; (1) also as one read of the whole month (limit 50,000: what an export or a use-case
 * reads; the API pages at most 500). The queried device's minute data runs 2 hours past the month (as its real-time
 * data does) so that the month is closed; the open tail of minute data (at most one day of rows) is measured apart.
 * The open tail alone: a day of one code's minute rows of a device whose day is still open (read from rows: at most a
 * day of minute data, an hour of real-time data lies after the mark).
 * Each timing also gives the bench process's CPU per run (`clientCpuMs`: the SDK and the decoding of blocks; the rest
 * of the time is DynamoDB Local and waiting); block queries are repeated 20 times, rows 10.
 * BENCH_READINGS_DAYS (default 30) shortens the month for a quick run; BENCH_READINGS_QUICK=1 leaves out the first
 * layout (its load is most of the run) and the month read through pages from rows alone (~40 s a run).
 */
const CODES = ['a21026', 'a21002', 'a34013', 'a19001', 'a01012', 'a01013', 'a01011', 'a01014'];
const UNIT = ['88330001000001', '88330001000002', '88330001000003'];
const OTHERS = Array.from({ length: 4 }, (_, i) => `8833000200${String(i).padStart(4, '0')}`);
const END = Date.parse('2026-11-30T16:00:00.000Z'); // Beijing midnight, 1 December
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const REPS = 10;
const BLOCK_REPS = 20;
const PAGE = 500;

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function valuesOf(rng: Rng, kind: ReadingKind, code: string): ReadingValues {
  const base = 10 + (code.charCodeAt(4) % 7) * 12;
  const v = () => round(base * (0.8 + rng.next() * 0.4), 3);
  if (kind === 'realtime') return { rtd: v(), zsRtd: v() };
  const avg = v();
  return { avg, min: round(avg * 0.9, 3), max: round(avg * 1.1, 3), zsAvg: v(), zsMin: v(), zsMax: v() };
}

function message(rng: Rng, mn: string, kind: ReadingKind, at: number): Reading[] {
  const dataTime = new Date(at).toISOString();
  const receivedAt = new Date(at + 4_000).toISOString();
  return CODES.map((pollutant) => ({
    mn,
    enterpriseId: 'E-bench',
    outletId: 'O-bench',
    pollutant,
    subject: 'pollutant',
    kind,
    dataTime,
    values: valuesOf(rng, kind, pollutant),
    flag: 'N',
    source: 'mqtt-hj212',
    receivedAt,
  }));
}

/** DynamoDB's item size rules (attribute names + values; numbers ~1 byte per 2 digits + 1; maps/lists 3 + 1 each). */
function itemBytes(item: Record<string, unknown>): number {
  const size = (v: Record<string, unknown>): number => {
    const [type, value] = Object.entries(v)[0] as [string, unknown];
    if (type === 'S') return Buffer.byteLength(String(value));
    if (type === 'N') return Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1;
    if (type === 'BOOL' || type === 'NULL') return 1;
    if (type === 'B') return (value as Uint8Array).byteLength;
    if (type === 'M')
      return (
        3 +
        Object.entries(value as Record<string, Record<string, unknown>>).reduce(
          (n, [k, x]) => n + 1 + Buffer.byteLength(k) + size(x),
          0,
        )
      );
    if (type === 'L') return 3 + (value as Record<string, unknown>[]).reduce((n, x) => n + 1 + size(x), 0);
    return 0;
  };
  return Object.entries(marshall(item, { removeUndefinedValues: true })).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + size(v as unknown as Record<string, unknown>),
    0,
  );
}

/** Every page of a query, following its cursor (or the first page alone): the results counted by `count`. */
async function readPages<T, C>(
  read: (cursor: C | undefined) => Promise<{ items: T[]; cursor?: C }>,
  count: (items: T[]) => number,
  all = true,
): Promise<number> {
  let cursor: C | undefined;
  let n = 0;
  do {
    const page = await read(cursor);
    n += count(page.items);
    cursor = page.cursor;
  } while (all && cursor);
  return n;
}

/** The stored size of every block item of these devices (its `z`), and the median of each layout's blocks. */
async function blockBytes(db: DynamoDBDocumentClient, mns: string[]) {
  const items: number[] = [];
  const byKind: Record<string, number[]> = { realtime: [], minute: [] };
  for (const mn of mns)
    for (const pk of [`rb#${mn}#realtime`, ...CODES.map((c) => `rb#${mn}#minute#${c}`)]) {
      let start: Record<string, unknown> | undefined;
      do {
        const out: QueryCommandOutput = await db.send(
          new QueryCommand({
            TableName: 'rows',
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const bytes = itemBytes(item);
          items.push(bytes);
          byKind[String(item.kind)]?.push(bytes);
        }
        start = out.LastEvaluatedKey;
      } while (start);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return { items, realtimeMedian: median(byKind.realtime ?? []), minuteMedian: median(byKind.minute ?? []) };
}

export async function run(): Promise<Record<string, unknown>> {
  const days = Number(process.env.BENCH_READINGS_DAYS ?? 30);
  const quick = process.env.BENCH_READINGS_QUICK === '1';
  const tmp = tempDir('readings');
  const service = await startDynamoDb({ port: await freePort(), dataDir: tmp.dir, inMemory: true });
  const calls: Recorded[] = [];
  const db = recordingClient(service.endpoint, calls);
  try {
    await ensureTables(service.endpoint, [pkSkTableSpec('old', 'Bench'), pkSkTableSpec('rows', 'Bench')]);
    const store = new DynamoReadingStore(db, 'rows');
    const rng = createRng(212);

    // ---- load: the same messages into both layouts ----
    const loadStarted = performance.now();
    const series: [string, ReadingKind, number, number, number][] = [
      [UNIT[0] as string, 'minute', END - days * DAY, END + 2 * HOUR, MIN],
      [UNIT[0] as string, 'hour', END - 365 * DAY, END, HOUR],
      ...UNIT.map((mn): [string, ReadingKind, number, number, number] => [
        mn,
        'realtime',
        END - DAY - 2 * HOUR,
        END + 2 * HOUR,
        30_000,
      ]),
      ...OTHERS.map((mn): [string, ReadingKind, number, number, number] => [mn, 'minute', END - DAY, END, MIN]),
    ];
    let rows = 0;
    let oldItems = 0;
    let oldBytes = 0;
    let rowBytes = 0;
    const lastMessages: Reading[][] = [];
    for (const [mn, kind, from, to, step] of series) {
      let last: Reading[] = [];
      const newBatch: Record<string, unknown>[] = [];
      const oldBatch: Record<string, unknown>[] = [];
      for (let t = from; t < to; t += step) {
        const msg = message(rng, mn, kind, t);
        last = msg;
        const ttl = expiresAt(kind, msg[0]?.dataTime as string, DEFAULT_RETENTION);
        newBatch.push(rowItem(msg, ttl));
        if (!quick) for (const r of msg) oldBatch.push(legacyItem(r, ttl));
        if (newBatch.length >= 2_000) {
          await batchPut(db, 'rows', newBatch.splice(0));
          await batchPut(db, 'old', oldBatch.splice(0));
        }
        rows++;
        oldItems += msg.length;
      }
      await batchPut(db, 'rows', newBatch);
      await batchPut(db, 'old', oldBatch);
      lastMessages.push(last);
      process.stderr.write(
        `readings bench: loaded ${mn} ${kind} (${rows} rows, ${oldItems} old items, ${round((performance.now() - loadStarted) / 1000, 1)} s)\n`,
      );
    }
    const loadSeconds = round((performance.now() - loadStarted) / 1000, 1);
    // each device's state (its lastDataTime closes the periods before it), as ingest leaves it
    for (const msg of lastMessages) {
      const first = msg[0] as Reading;
      await store.updateState(first.mn, first.kind, first.dataTime, first.receivedAt, msg);
    }

    // ---- the roll-up over everything loaded (the backfill), its commands and bytes per reading ----
    calls.length = 0;
    const rollUpStarted = performance.now();
    const rollUpStore = new DynamoRollUpStore(db, 'rows');
    const rolled = await rollUpAll(
      rollUpStore,
      async function* () {
        yield* [...UNIT, ...OTHERS];
      },
      END + 3 * HOUR,
      { graceMinutes: 10, budgetMs: 3_600_000 },
    );
    const rollUpSeconds = round((performance.now() - rollUpStarted) / 1000, 1);
    const rollUpCommands: Record<string, number> = {};
    for (const c of calls) rollUpCommands[c.command] = (rollUpCommands[c.command] ?? 0) + 1;
    const blockSizes = await blockBytes(db, [...UNIT, ...OTHERS]);
    const rolledReadings = rolled.rows * CODES.length;
    {
      const sample = message(rng, UNIT[0] as string, 'minute', END);
      rowBytes = itemBytes(rowItem(sample, 1));
      oldBytes = itemBytes(legacyItem(sample[0] as Reading, 1));
    }

    // ---- writes per message ----
    const writes = async (put: () => Promise<unknown>) => {
      calls.length = 0;
      await put();
      return calls.map((c) => c.command);
    };
    const fresh = message(rng, UNIT[1] as string, 'minute', END + MIN);
    const legacyPut = (msg: Reading[]) =>
      Promise.all(
        msg.map((r) =>
          db
            .send(
              new PutCommand({
                TableName: 'old',
                Item: legacyItem(r, expiresAt(r.kind, r.dataTime, DEFAULT_RETENTION)),
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            )
            .catch((err: unknown) => {
              if (!isConditionFailure(err)) throw err;
            }),
        ),
      );
    const oldWrites = await writes(() => legacyPut(fresh));
    const newWrites = await writes(() => store.put(fresh, DEFAULT_RETENTION));
    const resend = await store.put(fresh, DEFAULT_RETENTION);

    // ---- queries ----
    const monthFrom = new Date(END - days * DAY).toISOString();
    const monthTo = new Date(END - 1).toISOString();
    const dayFrom = new Date(END - DAY).toISOString();
    const dayTo = new Date(END - 1).toISOString();

    type Path = 'rows' | 'blocks';
    /** one pollutant's minute data (default: the queried device's month), by rows alone or over blocks */
    const oneCode =
      (path: Path, { mn = UNIT[0] as string, from = monthFrom, to = monthTo, limit = PAGE, all = true } = {}) =>
      () =>
        readPages(
          (cursor: string | undefined) =>
            (path === 'rows' ? store.queryRows.bind(store) : store.query.bind(store))({
              mn,
              pollutant: 'a21026',
              kind: 'minute',
              from,
              to,
              limit,
              order: 'asc',
              ...(cursor ? { cursor } : {}),
            }),
          (items) => items.length,
          all,
        );
    /** one series of the first layout, every page (the API hands the next page's key out as a cursor) */
    const legacyAll = (pk: string, from: string, to: string, all = true) =>
      readPages(
        async (start: Record<string, unknown> | undefined) => {
          const out: QueryCommandOutput = await db.send(
            new QueryCommand({
              TableName: 'old',
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
              Limit: PAGE,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          void encodeCursor(out.LastEvaluatedKey);
          return { items: out.Items ?? [], ...(out.LastEvaluatedKey ? { cursor: out.LastEvaluatedKey } : {}) };
        },
        (items) => items.length,
        all,
      );
    /** a day of real-time data of the unit's devices: every page of each device, the devices in parallel */
    const newUnitDay = async (path: Path) => {
      const counts = await Promise.all(
        UNIT.map((mn) =>
          readPages(
            (cursor: string | undefined) =>
              (path === 'rows' ? store.rowsOnly.bind(store) : store.rows.bind(store))({
                mn,
                kind: 'realtime',
                from: dayFrom,
                to: dayTo,
                limit: 1000,
                order: 'asc',
                ...(cursor ? { cursor } : {}),
              }),
            (items) => items.reduce((m, r) => m + r.readings.length, 0),
          ),
        ),
      );
      return counts.reduce((a, b) => a + b, 0);
    };
    const oldUnitDay = async () => {
      const counts = await Promise.all(
        UNIT.flatMap((mn) => CODES.map((code) => legacyAll(seriesKey(mn, code, 'realtime'), dayFrom, dayTo))),
      );
      return counts.reduce((a, b) => a + b, 0);
    };

    const measure = async (fn: () => Promise<number>, reps = REPS) => {
      const expected = await fn(); // warm-up, unmeasured
      const ms: number[] = [];
      calls.length = 0;
      const cpu = process.cpuUsage();
      for (let i = 0; i < reps; i++) {
        const { ms: t, value } = await timed(fn);
        if (value !== expected) throw new Error(`a query returned ${value} readings, then ${expected}`);
        ms.push(t);
      }
      const used = process.cpuUsage(cpu);
      return {
        readings: expected,
        queriesPerRun: round(calls.length / reps, 1),
        clientCpuMs: round((used.user + used.system) / 1000 / reps, 1),
        ...stats(ms),
      };
    };
    /** the first layout's figure, unless left out (BENCH_READINGS_QUICK) */
    const measureOld = (fn: () => Promise<number>) => (quick ? Promise.resolve(null) : measure(fn));
    // one API call: the first page of 500 of that month (what GET /devices/{mn}/readings answers at once)
    const firstPageOld = await measureOld(() =>
      legacyAll(seriesKey(UNIT[0] as string, 'a21026', 'minute'), monthFrom, monthTo, false),
    );
    const firstPageNew = await measure(oneCode('rows', { all: false }));
    const firstPageBlocks = await measure(oneCode('blocks', { all: false }), BLOCK_REPS);
    const monthOld = await measureOld(() =>
      legacyAll(seriesKey(UNIT[0] as string, 'a21026', 'minute'), monthFrom, monthTo),
    );
    const monthNew = quick ? null : await measure(oneCode('rows'));
    const monthBlocks = await measure(oneCode('blocks'), BLOCK_REPS);
    // the whole month in one read (what an export or a use-case reads)
    const monthOneReadBlocks = await measure(oneCode('blocks', { limit: 50_000, all: false }), BLOCK_REPS);
    // the month up to 2 hours after its end: the open day's minute rows (2 hours here, at most a day) read from rows
    const monthWithTail = await measure(
      oneCode('blocks', { to: new Date(END + 2 * HOUR).toISOString(), limit: 50_000, all: false }),
      BLOCK_REPS,
    );
    // a day still open: its minute rows (what follows the mark, at most a day) through query, as one read
    const openDayTail = await measure(
      oneCode('blocks', { mn: OTHERS[0] as string, from: dayFrom, to: dayTo, limit: 50_000, all: false }),
    );
    const unitOld = await measureOld(oldUnitDay);
    const unitNew = await measure(() => newUnitDay('rows'));
    const unitBlocks = await measure(() => newUnitDay('blocks'), BLOCK_REPS);
    const million = (n: number) => round((n / Math.max(1, rolledReadings)) * 1e6, 0);
    const blockWriteUnits = blockSizes.items.reduce((n, b) => n + Math.ceil(b / 1024), 0);

    return {
      data: {
        monthDays: days,
        firstLayoutLoaded: !quick,
        codesPerMessage: CODES.length,
        rows,
        oldItems,
        loadSeconds,
        rollUpSeconds,
        itemBytes: { old: oldBytes, row: rowBytes },
      },
      writesPerMessage: {
        old: {
          commands: oldWrites.length,
          kinds: [...new Set(oldWrites)],
          wcu: oldWrites.length * Math.ceil(oldBytes / 1024),
        },
        rows: {
          commands: newWrites.length,
          kinds: [...new Set(newWrites)],
          wcu: newWrites.length * Math.ceil(rowBytes / 1024),
        },
        resendOfTheSameMessage: resend,
        note: 'plus one device-state update per message in both layouts (updateState, unchanged)',
      },
      rollUp: {
        seconds: rollUpSeconds,
        run: rolled,
        commands: rollUpCommands,
        blocks: {
          items: blockSizes.items.length,
          bytes: blockSizes.items.reduce((a, b) => a + b, 0),
          largestBytes: Math.max(0, ...blockSizes.items),
          realtimeHourAllCodesBytes: blockSizes.realtimeMedian,
          minuteDayOneCodeBytes: blockSizes.minuteMedian,
        },
        perMillionReadings: {
          readings: rolledReadings,
          writeRequestUnits: million(blockWriteUnits + (rollUpCommands.UpdateCommand ?? 0)),
          readRequestUnits: million(
            // rows read once, at the minute row's size (real-time rows are smaller), strongly consistent
            Math.ceil((rolled.rows * rowBytes) / 4096) +
              (rollUpCommands.GetCommand ?? 0) +
              (rollUpCommands.QueryCommand ?? 0),
          ),
          storedBlockBytes: million(blockSizes.items.reduce((a, b) => a + b, 0)),
          // at the cost model's global prices (bench/cost/prices.ts): request units, and a month of the blocks' storage
          usd: round(
            (million(blockWriteUnits + (rollUpCommands.UpdateCommand ?? 0)) / 1e6) * PRICES.dynamoWrite.global.price +
              (million(
                Math.ceil((rolled.rows * rowBytes) / 4096) +
                  (rollUpCommands.GetCommand ?? 0) +
                  (rollUpCommands.QueryCommand ?? 0),
              ) /
                1e6) *
                PRICES.dynamoRead.global.price +
              (million(blockSizes.items.reduce((a, b) => a + b, 0)) / 1e9) * PRICES.dynamoStorage.global.price,
            4,
          ),
          note: 'WRU: each block item ceil(bytes/1 KB) plus the mark updates; RRU: the rows read (1 per 4 KB, strongly consistent) plus each Get/Query (1 at least)',
        },
      },
      onePageOf500: {
        old: firstPageOld,
        rows: firstPageNew,
        blocks: firstPageBlocks,
        p95RowsOverOld: firstPageOld && ratio(firstPageNew.p95Ms, firstPageOld.p95Ms),
        p95BlocksOverRows: ratio(firstPageBlocks.p95Ms, firstPageNew.p95Ms),
      },
      monthOfMinuteDataOnePollutant: {
        old: monthOld,
        rows: monthNew,
        blocks: monthBlocks,
        blocksOneRead: monthOneReadBlocks,
        blocksOneReadWithOpenTail: monthWithTail,
        openDayTailOneCodeFromRows: openDayTail,
        p95RowsOverOld: monthNew && monthOld && ratio(monthNew.p95Ms, monthOld.p95Ms),
        p95BlocksOverRows: monthNew && ratio(monthBlocks.p95Ms, monthNew.p95Ms),
      },
      dayOfRealtimeForUnit: {
        devices: UNIT.length,
        old: unitOld,
        rows: unitNew,
        blocks: unitBlocks,
        p95RowsOverOld: unitOld && ratio(unitNew.p95Ms, unitOld.p95Ms),
        p95BlocksOverRows: ratio(unitBlocks.p95Ms, unitNew.p95Ms),
      },
      targets: [
        atMost(
          'month of minute data, one device and pollutant, one read, p95 (blocks)',
          monthOneReadBlocks.p95Ms,
          200,
          'ms',
        ),
        atMost("day of real-time data of a unit's devices, p95 (blocks)", unitBlocks.p95Ms, 200, 'ms'),
        atMost('readings writes per message (row layout)', newWrites.length, 1, 'commands'),
      ],
    };
  } finally {
    db.destroy();
    await service.stop();
    tmp.remove();
  }
}
