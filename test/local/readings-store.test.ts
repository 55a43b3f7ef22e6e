import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyItem, migrateReadings } from '#shared/adapters/readings-migration.ts';
import { DynamoReadingStore, readingKeys, rowItem, rowUpdate } from '#shared/adapters/readings-store.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import { DEFAULT_RETENTION, expiresAt, type Reading, type ReadingKind } from '#shared/domain/readings/model.ts';
import { type LocalTable, startTable } from './dynamodb-table.ts';

/** The readings store and its migration against DynamoDB Local (the platform's stand-in), no platform booted. */
const TABLE = 'envwatch-readings-test';

const T0 = '2026-11-29T08:00:00.000Z';
const RECEIVED = '2026-11-29T08:00:05.000Z';
let nextMn = 0;
const newMn = () => `8833000000000${String(++nextMn).padStart(2, '0')}`;

function reading(mn: string, pollutant: string, avg: number, over: Partial<Reading> = {}): Reading {
  return {
    mn,
    enterpriseId: 'E1',
    outletId: 'O1',
    pollutant,
    subject: 'pollutant',
    kind: 'hour',
    dataTime: T0,
    values: { avg, min: avg - 1, max: avg + 1 },
    flag: 'N',
    source: 'mqtt-hj212',
    receivedAt: RECEIVED,
    ...over,
  };
}

const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

// One DynamoDB Local and one table for the file: the store's tests and the migration's use MNs of their own.
let t: LocalTable;
let db: LocalTable['db'];
let store: DynamoReadingStore;

beforeAll(async () => {
  t = await startTable(TABLE);
  db = t.db;
  store = new DynamoReadingStore(db, TABLE);
});

afterAll(async () => {
  await t?.stop();
});

describe('DynamoReadingStore', () => {
  const row = async (mn: string, kind: ReadingKind, dataTime = T0) =>
    (await db.send(new GetCommand({ TableName: TABLE, Key: readingKeys.row(mn, kind, dataTime) }))).Item;

  it('stores all codes of one message in one item with one write', async () => {
    const mn = newMn();
    const sent: unknown[] = [];
    const counting = {
      send: (cmd: unknown) => {
        sent.push(cmd);
        return db.send(cmd as UpdateCommand);
      },
    } as unknown as LocalTable['db'];
    const out = await new DynamoReadingStore(counting, TABLE).put(
      [reading(mn, 'w01018', 20), reading(mn, 'w21003', 1.5), reading(mn, 'w00000', 300)],
      DEFAULT_RETENTION,
    );
    expect(out).toEqual({ stored: 3, duplicates: 0 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(UpdateCommand);
    const item = await row(mn, 'hour');
    expect(item).toMatchObject({
      pk: `rd#${mn}#hour`,
      sk: T0,
      mn,
      kind: 'hour',
      dataTime: T0,
      enterpriseId: 'E1',
      source: 'mqtt-hj212',
      receivedAt: RECEIVED,
      // per code only what is its own: the packet's arrival is the row's, a pollutant's subject the default
      p_w01018: { values: { avg: 20, min: 19, max: 21 }, flag: 'N' },
      p_w21003: { values: { avg: 1.5 } },
    });
    expect(Object.keys(item?.p_w01018 ?? {}).sort()).toEqual(['flag', 'values']);
    // hourly data is kept: no TTL
    expect(item?.expiresAt).toBeUndefined();
    // what bulk loads write directly is exactly this item
    expect(
      rowItem([reading(mn, 'w01018', 20), reading(mn, 'w21003', 1.5), reading(mn, 'w00000', 300)], undefined),
    ).toEqual(item);
  });

  it('stores a resent message once, counts it as duplicates and keeps the first values', async () => {
    const mn = newMn();
    await store.put([reading(mn, 'w01018', 20), reading(mn, 'w21003', 1.5)], DEFAULT_RETENTION);
    const again = await store.put(
      [reading(mn, 'w01018', 99, { receivedAt: '2026-11-29T08:10:00.000Z' }), reading(mn, 'w21003', 9)],
      DEFAULT_RETENTION,
    );
    expect(again).toEqual({ stored: 0, duplicates: 2 });
    const { items } = await store.query({
      mn,
      pollutant: 'w01018',
      kind: 'hour',
      from: T0,
      to: T0,
      limit: 10,
      order: 'asc',
    });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ pollutant: 'w01018', values: { avg: 20 }, receivedAt: RECEIVED });
  });

  it('merges a later packet with other codes of the same DataTime, each code first-write-wins', async () => {
    const mn = newMn();
    await store.put([reading(mn, 'w01018', 20), reading(mn, 'w21003', 1.5)], DEFAULT_RETENTION);
    const later = '2026-11-29T08:20:00.000Z';
    const merged = await store.put(
      [reading(mn, 'w21003', 7, { receivedAt: later }), reading(mn, 'w21011', 0.3, { receivedAt: later })],
      DEFAULT_RETENTION,
    );
    expect(merged).toEqual({ stored: 1, duplicates: 1 });
    const rows = await store.rows({ mn, kind: 'hour', from: T0, to: T0, limit: 10, order: 'asc' });
    expect(rows.items).toHaveLength(1);
    expect(rows.items[0]?.readings.map((r) => [r.pollutant, r.values.avg, r.receivedAt])).toEqual([
      ['w01018', 20, RECEIVED],
      ['w21003', 1.5, RECEIVED],
      ['w21011', 0.3, later],
    ]);
    // the series of the merged code shows its own packet's arrival; a resend of that packet changes nothing
    expect(await store.put([reading(mn, 'w21011', 0.3, { receivedAt: later })], DEFAULT_RETENTION)).toEqual({
      stored: 0,
      duplicates: 1,
    });
    const { items } = await store.query({
      mn,
      pollutant: 'w21011',
      kind: 'hour',
      from: T0,
      to: T0,
      limit: 5,
      order: 'asc',
    });
    expect(items).toEqual([reading(mn, 'w21011', 0.3, { receivedAt: later })]);
  });

  it('counts a code given twice in one call once, and splits a message with many codes into few writes', async () => {
    const mn = newMn();
    const many = Array.from({ length: 90 }, (_, i) => reading(mn, `a${String(i).padStart(5, '0')}`, i));
    const out = await store.put([...many, reading(mn, 'a00000', 5)], DEFAULT_RETENTION);
    expect(out).toEqual({ stored: 90, duplicates: 1 });
    const rows = await store.rows({ mn, kind: 'hour', from: T0, to: T0, limit: 10, order: 'asc' });
    expect(rows.items[0]?.readings).toHaveLength(90);
    expect(rows.items[0]?.readings[0]?.values.avg).toBe(0);
  });

  it('sets the TTL of real-time and minute rows from their DataTime', async () => {
    const mn = newMn();
    await store.put([reading(mn, 'w01018', 1, { kind: 'realtime' })], DEFAULT_RETENTION);
    await store.put([reading(mn, 'w01018', 1, { kind: 'minute' })], DEFAULT_RETENTION);
    expect((await row(mn, 'realtime'))?.expiresAt).toBe(expiresAt('realtime', T0, DEFAULT_RETENTION));
    expect((await row(mn, 'minute'))?.expiresAt).toBe(expiresAt('minute', T0, DEFAULT_RETENTION));
  });

  it('keeps a not-computable reading with its flag and no number', async () => {
    const mn = newMn();
    const marked = reading(mn, 'w01018', 0, { values: {}, notComputable: ['avg'], resent: true });
    expect(await store.put([marked, reading(mn, 'w21003', 2)], DEFAULT_RETENTION)).toEqual({
      stored: 2,
      duplicates: 0,
    });
    const { items } = await store.query({
      mn,
      pollutant: 'w01018',
      kind: 'hour',
      from: T0,
      to: T0,
      limit: 5,
      order: 'asc',
    });
    expect(items).toEqual([{ ...marked, values: {} }]);
  });

  it('refuses a code that is not letters and digits before anything is written', async () => {
    const mn = newMn();
    await expect(store.put([reading(mn, '__proto__', 1)], DEFAULT_RETENTION)).rejects.toThrow(/not a code/);
    await expect(store.put([reading(mn, 'w01 = :x', 1)], DEFAULT_RETENTION)).rejects.toThrow(/not a code/);
    expect(await row(mn, 'hour')).toBeUndefined();
  });

  it('skips attributes of a row that are not codes, and never builds them into an object key', async () => {
    const mn = newMn();
    await store.put([reading(mn, 'w01018', 3)], DEFAULT_RETENTION);
    await db.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: readingKeys.row(mn, 'hour', T0),
        UpdateExpression: 'SET #a = :v',
        ExpressionAttributeNames: { '#a': 'p___proto__' },
        ExpressionAttributeValues: { ':v': { values: { avg: 1 }, polluted: true } },
      }),
    );
    const rows = await store.rows({ mn, kind: 'hour', from: T0, to: T0, limit: 5, order: 'asc' });
    expect(rows.items[0]?.readings.map((r) => r.pollutant)).toEqual(['w01018']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('pages one series through rows where the code is sparse, with cursors that continue after the last reading', async () => {
    const mn = newMn();
    // 30 minute rows; w01018 in every third one, w21003 in all
    for (let i = 0; i < 30; i++) {
      const time = { kind: 'minute' as const, dataTime: at(i) };
      const codes = [reading(mn, 'w21003', i, time)];
      if (i % 3 === 0) codes.push(reading(mn, 'w01018', i, time));
      await store.put(codes, DEFAULT_RETENTION);
    }
    const q = { mn, pollutant: 'w01018', kind: 'minute' as const, from: at(0), to: at(29), limit: 4 };
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.query({ ...q, order: 'asc', ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.items.map((r) => r.values.avg as number));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    const newest = await store.query({ ...q, order: 'desc', limit: 2 });
    expect(newest.items.map((r) => r.values.avg)).toEqual([27, 24]);
    expect(newest.items[0]).toMatchObject({ mn, pollutant: 'w01018', kind: 'minute', dataTime: at(27) });
    // a range without the code
    const none = await store.query({ ...q, pollutant: 'w99999', order: 'asc' });
    expect(none).toEqual({ items: [] });
  });

  it('answers a cursor of another query or of the first layout with a 400', async () => {
    const mn = newMn();
    const old = Buffer.from(JSON.stringify({ pk: `r#${mn}#w01018#hour`, sk: T0 })).toString('base64url');
    const q = { mn, pollutant: 'w01018', kind: 'hour' as const, from: T0, to: T0, limit: 5, order: 'asc' as const };
    await expect(store.query({ ...q, cursor: old })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.rows({ ...q, cursor: old })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('migrateReadings', () => {
  const putLegacy = (r: Reading) =>
    db.send(
      new PutCommand({ TableName: TABLE, Item: legacyItem(r, expiresAt(r.kind, r.dataTime, DEFAULT_RETENTION)) }),
    );
  const legacyLeft = async () =>
    ((await db.send(new ScanCommand({ TableName: TABLE }))).Items ?? []).filter((i) => String(i.pk).startsWith('r#'));

  it('moves old per-reading items into rows, resumes from its cursor, re-runs as a no-op and keeps conflicts', async () => {
    const mn = newMn();
    const minute = (i: number, code: string, v: number) =>
      reading(mn, code, v, { kind: 'minute', dataTime: at(i), subject: code === 'SB1' ? 'facility' : 'pollutant' });
    for (let i = 0; i < 12; i++) {
      await putLegacy(minute(i, 'w01018', i));
      await putLegacy(minute(i, 'w21003', i / 10));
    }
    await putLegacy(minute(0, 'SB1', 1));
    // something that is not a reading, and an item of another kind, stay untouched
    await db.send(new PutCommand({ TableName: TABLE, Item: { pk: `r#${mn}#bad#minute`, sk: 'x' } }));
    await db.send(new PutCommand({ TableName: TABLE, Item: { pk: `d#${mn}`, sk: 'state#minute', lastDataTime: T0 } }));
    // minute 11 was written meanwhile by the new layout: w01018 with the same values, w21003 with other ones
    await db.send(new UpdateCommand(rowUpdate(TABLE, [minute(11, 'w01018', 11)], undefined)));
    await db.send(new UpdateCommand(rowUpdate(TABLE, [minute(11, 'w21003', 5)], undefined)));

    const dry = await migrateReadings(db, TABLE, { dryRun: true });
    expect(dry).toMatchObject({ found: 26, moved: 25, skipped: 1, done: true });
    expect(await legacyLeft()).toHaveLength(26);

    // a run stopped after one small page, then resumed from the cursor it reported
    const first = await migrateReadings(db, TABLE, { pageSize: 5, maxPages: 1 });
    expect(first.done).toBe(false);
    expect(first.cursor).toBeDefined();
    const rest = await migrateReadings(db, TABLE, { cursor: first.cursor as string, pageSize: 7 });
    expect(rest.done).toBe(true);
    expect(first.moved + rest.moved).toBe(23);
    expect(first.alreadyMerged + rest.alreadyMerged).toBe(1);
    expect([...first.conflicts, ...rest.conflicts]).toEqual([{ pk: `r#${mn}#w21003#minute`, sk: at(11) }]);
    expect(first.skipped + rest.skipped).toBe(1);

    const left = await legacyLeft();
    expect(left.map((i) => [i.pk, i.sk]).sort()).toEqual(
      [
        [`r#${mn}#bad#minute`, 'x'],
        [`r#${mn}#w21003#minute`, at(11)],
      ].sort(),
    );
    const series = await store.query({
      mn,
      pollutant: 'w01018',
      kind: 'minute',
      from: at(0),
      to: at(11),
      limit: 100,
      order: 'asc',
    });
    expect(series.items.map((r) => r.values.avg)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const rows = await store.rows({ mn, kind: 'minute', from: at(0), to: at(0), limit: 5, order: 'asc' });
    expect(rows.items[0]?.readings.map((r) => [r.pollutant, r.subject])).toEqual([
      ['SB1', 'facility'],
      ['w01018', 'pollutant'],
      ['w21003', 'pollutant'],
    ]);
    // the old item's TTL goes with its values
    const moved = await db.send(new GetCommand({ TableName: TABLE, Key: readingKeys.row(mn, 'minute', at(3)) }));
    expect(moved.Item?.expiresAt).toBe(expiresAt('minute', at(3), DEFAULT_RETENTION));
    expect(
      (await db.send(new GetCommand({ TableName: TABLE, Key: { pk: `d#${mn}`, sk: 'state#minute' } }))).Item,
    ).toBeDefined();

    const again = await migrateReadings(db, TABLE);
    expect(again).toMatchObject({ found: 2, moved: 0, alreadyMerged: 0, skipped: 1, done: true });
    expect(again.conflicts).toHaveLength(1);
  });
});
