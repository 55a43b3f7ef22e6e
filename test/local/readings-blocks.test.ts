import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRollUpStore, readBlockState } from '#shared/adapters/readings-blocks.ts';
import { DynamoReadingStore, readingKeys, rowItem } from '#shared/adapters/readings-store.ts';
import { decodeBlock, encodeBlock, type RowItemFields } from '#shared/domain/readings/blocks.ts';
import { DEFAULT_RETENTION, expiresAt, type Reading, type ReadingKind } from '#shared/domain/readings/model.ts';
import { type RollUpOptions, rollUpAll } from '#shared/domain/readings/roll-up.ts';
import { type LocalTable, startTable } from './dynamodb-table.ts';

/**
 * Readings blocks (the roll-up and the query over blocks and rows) against DynamoDB Local: whatever the range, order,
 * page size and cursor, a query over blocks returns what the same query over rows alone does.
 */
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Beijing midnight, 29 November
const START = Date.parse('2026-11-28T16:00:00.000Z');
const START_ISO = new Date(START).toISOString();
const CODES = ['a21026', 'a21002', 'a34013', 'a01012', 'SB1'];

function rng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/** One message of `mn`: a random subset of codes, flags, a not-computable value, a facility, odd arrivals. */
function message(next: () => number, mn: string, kind: ReadingKind, at: number): Reading[] {
  const dataTime = new Date(at).toISOString();
  const receivedAt = new Date(at + 1_000 + Math.floor(next() * 90_000)).toISOString();
  const codes = CODES.filter(() => next() < 0.8);
  return (codes.length > 0 ? codes : ['a21026']).map((pollutant) => {
    const v = Math.round(next() * 100_000) / 1000;
    const facility = pollutant === 'SB1';
    const r: Reading = {
      mn,
      enterpriseId: next() < 0.05 ? 'E2' : 'E1',
      outletId: 'O1',
      pollutant,
      subject: facility ? 'facility' : 'pollutant',
      kind,
      dataTime,
      values: facility
        ? { rs: 1 }
        : kind === 'realtime'
          ? { rtd: v, zsRtd: v * 2 }
          : { avg: v, min: v - 1, max: v + 1 },
      ...(facility ? {} : { flag: next() < 0.1 ? 'D' : 'N' }),
      source: next() < 0.1 ? 'tcp-hj212' : 'mqtt-hj212',
      receivedAt,
    };
    if (!facility && next() < 0.05) {
      r.values = { rtd: v };
      r.notComputable = ['zsRtd'];
    }
    return r;
  });
}

describe('readings blocks', () => {
  let t: LocalTable;
  let store: DynamoReadingStore;
  let rollUp: DynamoRollUpStore;
  const next = rng(2026);
  const MN = '88330000000101';
  const series: [ReadingKind, number, number][] = [
    ['realtime', START, 5 * HOUR + 30 * MIN],
    ['minute', START, 2 * DAY + 3 * HOUR],
  ];
  const end = (kind: ReadingKind) => {
    const s = series.find(([k]) => k === kind) as [ReadingKind, number, number];
    return s[1] + s[2];
  };
  const opts: RollUpOptions = { graceMinutes: 10, budgetMs: 60_000 };
  const devices = async function* () {
    yield MN;
  };

  beforeAll(async () => {
    t = await startTable('envwatch-readings-blocks-test');
    store = new DynamoReadingStore(t.db, t.table);
    rollUp = new DynamoRollUpStore(t.db, t.table);
    for (const [kind, from, length] of series) {
      const step = kind === 'realtime' ? MIN : 7 * MIN;
      const items: Record<string, unknown>[] = [];
      let last: Reading[] = [];
      for (let at = from; at < from + length; at += step) {
        if (next() < 0.05) continue; // a gap
        last = message(next, MN, kind, at);
        items.push(rowItem(last, expiresAt(kind, last[0]?.dataTime as string, DEFAULT_RETENTION)));
      }
      for (let i = 0; i < items.length; i += 25)
        await t.db.send(
          new BatchWriteCommand({
            RequestItems: { [t.table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
          }),
        );
      const first = last[0] as Reading;
      await store.updateState(MN, kind, first.dataTime, first.receivedAt, last);
    }
  });

  afterAll(async () => {
    await t?.stop();
  });

  /** every page of a query, by the hybrid path and by rows alone */
  async function pagesOf(
    kind: ReadingKind,
    pollutant: string | undefined,
    from: string,
    to: string,
    order: 'asc' | 'desc',
    limit: number,
  ) {
    const pages: { hybrid: unknown[][]; rows: unknown[][] } = { hybrid: [], rows: [] };
    for (const path of ['hybrid', 'rows'] as const) {
      let cursor: string | undefined;
      for (let n = 0; n < 1000; n++) {
        const q = { mn: MN, kind, from, to, order, limit, ...(cursor ? { cursor } : {}) };
        const page =
          pollutant === undefined
            ? path === 'hybrid'
              ? await store.rows(q)
              : await store.rowsOnly(q)
            : path === 'hybrid'
              ? await store.query({ ...q, pollutant })
              : await store.queryRows({ ...q, pollutant });
        if (page.items.length > 0) pages[path].push(page.items);
        cursor = page.cursor;
        if (!cursor) break;
      }
    }
    return pages;
  }

  async function expectSameAsRows(kind: ReadingKind, cases: number) {
    const span = end(kind) - START;
    for (let i = 0; i < cases; i++) {
      const a = START - HOUR + Math.floor(next() * (span + 2 * HOUR));
      const b = a + Math.floor(next() * span);
      const from = new Date(a).toISOString();
      const to = new Date(b).toISOString();
      const order = next() < 0.5 ? 'asc' : 'desc';
      const limit = 1 + Math.floor(next() * (next() < 0.5 ? 20 : 400));
      const code =
        next() < 0.3 && kind === 'realtime' ? undefined : (CODES[Math.floor(next() * CODES.length)] as string);
      const { hybrid, rows } = await pagesOf(kind, code, from, to, order, limit);
      expect(hybrid, `${kind} ${code} ${from}..${to} ${order} ${limit}`).toEqual(rows);
    }
  }

  it('encodes a period of rows losslessly, values as columns and the rest of each cell by dictionary', () => {
    const rows: RowItemFields[] = [0, 30_000, 90_000].map((offset, i) => ({
      dataTime: new Date(START + offset).toISOString(),
      enterpriseId: 'E1',
      outletId: i === 2 ? 'O2' : 'O1',
      source: 'mqtt-hj212',
      receivedAt: i === 1 ? 'not an instant' : new Date(START + offset + 4_000).toISOString(),
      cells: new Map<string, Record<string, unknown>>([
        ['a21026', { values: { rtd: 1.5 + i, ...(i === 1 ? {} : { zsRtd: 3 }) }, flag: 'N' }],
        ...(i === 0
          ? []
          : [['a34013', { values: {}, notComputable: ['zsRtd'], source: 'tcp-hj212', receivedAt: 'x' }] as const]),
        ...(i === 2 ? [['SB1', { eflag: 'A' }] as const] : []),
      ]),
    }));
    const block = encodeBlock(START, rows);
    expect(decodeBlock(START, block)).toEqual(rows);
    expect(decodeBlock(START, encodeBlock(START, rows, new Set(['SB1'])))[2]?.cells).toEqual(
      new Map([['SB1', { eflag: 'A' }]]),
    );
  });

  it("reads the device's block state of every kind with blocks in one query, as a read of each kind's item gives it", async () => {
    const hourly = message(next, MN, 'hour', START);
    await store.updateState(MN, 'hour', START_ISO, START_ISO, hourly); // a kind without blocks: not among them
    const states = await rollUp.blockStates(MN);
    expect(Object.keys(states).sort()).toEqual(['minute', 'realtime']);
    for (const kind of ['realtime', 'minute'] as const)
      expect(states[kind]).toEqual(await readBlockState(t.db, t.table, MN, kind, true));
    expect(states.realtime?.lastDataTime).toBeDefined();
  });

  it('answers like rows alone before any roll-up, after a partial one and after a full one', async () => {
    await expectSameAsRows('realtime', 3);
    const partial = await rollUpAll(rollUp, devices, end('minute') + DAY, { ...opts, budgetMs: 0 });
    expect(partial.incomplete).toBe(true);
    const now = end('minute') + DAY;
    const first = await rollUpAll(rollUp, devices, now, opts);
    expect(first.incomplete).toBe(false);
    expect(first.blocks).toBeGreaterThan(0);
    // realtime: the hours before the last one; minute: the two days before the last (open) one
    const state = (kind: ReadingKind) =>
      t.db.send(new GetCommand({ TableName: t.table, Key: readingKeys.state(MN, kind) })).then((o) => o.Item);
    expect((await state('realtime'))?.blocksTo).toBe(new Date(START + 5 * HOUR).toISOString());
    expect((await state('minute'))?.blocksTo).toBe(new Date(START + 2 * DAY).toISOString());
    await expectSameAsRows('realtime', 12);
    await expectSameAsRows('minute', 12);
    // a second run has nothing to do
    const again = await rollUpAll(rollUp, devices, now, opts);
    expect(again.blocks).toBe(0);
  });

  it('passes over blocks after the mark (written by a run whose mark move is not seen yet), in both orders and any page size', async () => {
    // the mark and the first page of blocks are read side by side, that page up to the query's end: blocks after the
    // mark must not be read as well as the rows from the mark on
    const key = readingKeys.state(MN, 'realtime');
    const mark = (await t.db.send(new GetCommand({ TableName: t.table, Key: key }))).Item?.blocksTo as string;
    // a mark that moved an hour ago: the first page read beside it is used
    const setMark = (to: string) =>
      t.db.send(
        new UpdateCommand({
          TableName: t.table,
          Key: key,
          UpdateExpression: 'SET blocksTo = :to, blocksMovedAt = :at',
          ExpressionAttributeValues: { ':to': to, ':at': new Date(Date.now() - HOUR).toISOString() },
        }),
      );
    await setMark(new Date(Date.parse(mark) - 2 * HOUR - 20 * MIN).toISOString());
    try {
      const from = new Date(START).toISOString();
      const to = new Date(end('realtime')).toISOString();
      for (const order of ['asc', 'desc'] as const)
        for (const limit of [7, 150, 5_000]) {
          for (const code of [undefined, 'a21026']) {
            const { hybrid, rows } = await pagesOf('realtime', code, from, to, order, limit);
            expect(hybrid, `${code} ${order} ${limit}`).toEqual(rows);
          }
        }
    } finally {
      await setMark(mark);
    }
  });

  it('reads the blocks again when the mark moved just now (the page read beside it may predate the blocks)', async () => {
    // the roll-up writes blocks, then moves the mark; a query reads the mark and the first page of blocks side by side:
    // here the page is answered before the roll-up writes two hours' blocks, the mark after it moved past them
    const key = readingKeys.state(MN, 'realtime');
    const pk = `rb#${MN}#realtime`;
    const mark = (await t.db.send(new GetCommand({ TableName: t.table, Key: key }))).Item?.blocksTo as string;
    const earlier = new Date(Date.parse(mark) - 2 * HOUR).toISOString();
    const moved = (
      await t.db.send(
        new QueryCommand({
          TableName: t.table,
          KeyConditionExpression: 'pk = :pk AND sk >= :from',
          ExpressionAttributeValues: { ':pk': pk, ':from': earlier },
        }),
      )
    ).Items as Record<string, unknown>[];
    expect(moved.length).toBe(2);
    const write = (requests: Record<string, unknown>[]) =>
      t.db.send(new BatchWriteCommand({ RequestItems: { [t.table]: requests } }));
    const setMark = (to: string, at: number) =>
      t.db.send(
        new UpdateCommand({
          TableName: t.table,
          Key: key,
          UpdateExpression: 'SET blocksTo = :to, blocksMovedAt = :at',
          ExpressionAttributeValues: { ':to': to, ':at': new Date(at).toISOString() },
        }),
      );
    await write(moved.map((i) => ({ DeleteRequest: { Key: { pk: i.pk, sk: i.sk } } })));
    await setMark(earlier, Date.now() - HOUR);
    let firstPage: Promise<unknown> | undefined;
    let rolled = false;
    const racing = {
      send: async (command: unknown) => {
        if (command instanceof QueryCommand && command.input.ExpressionAttributeValues?.[':pk'] === pk && !firstPage) {
          firstPage = t.db.send(command);
          return firstPage;
        }
        if (command instanceof GetCommand && !rolled) {
          rolled = true;
          await new Promise((r) => setTimeout(r, 0));
          await firstPage; // the page is answered first …
          await write(moved.map((Item) => ({ PutRequest: { Item } }))); // … then the roll-up writes and moves
          await setMark(mark, Date.now());
        }
        return t.db.send(command as GetCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    try {
      const q = {
        mn: MN,
        kind: 'realtime' as const,
        from: new Date(START).toISOString(),
        to: new Date(end('realtime')).toISOString(),
        order: 'asc' as const,
        limit: 5_000,
      };
      const page = await new DynamoReadingStore(racing, t.table).rows(q);
      expect(rolled).toBe(true);
      expect(page).toEqual(await store.rowsOnly(q));
    } finally {
      await write(moved.map((Item) => ({ PutRequest: { Item } })));
      await setMark(mark, Date.now() - HOUR);
    }
  });

  it('reads a period from rows while data written to it out of order waits for the next roll-up, then from its new block', async () => {
    const at = START + 2 * HOUR + 10 * MIN + 15_000; // in a realtime hour already in blocks
    const late = message(next, MN, 'realtime', at).map((r) => ({
      ...r,
      receivedAt: new Date(end('realtime') + HOUR).toISOString(),
    }));
    await store.put(late, DEFAULT_RETENTION);
    expect(
      await store.updateState(MN, 'realtime', late[0]?.dataTime as string, late[0]?.receivedAt as string, late),
    ).toBe(false);
    const from = new Date(START + 2 * HOUR).toISOString();
    const to = new Date(START + 3 * HOUR - 1).toISOString();
    const hybrid = await store.rows({ mn: MN, kind: 'realtime', from, to, order: 'asc', limit: 1000 });
    expect(hybrid.items.some((r) => r.dataTime === late[0]?.dataTime)).toBe(true);
    expect(hybrid).toEqual(await store.rowsOnly({ mn: MN, kind: 'realtime', from, to, order: 'asc', limit: 1000 }));
    const run = await rollUpAll(rollUp, devices, end('minute') + DAY, opts);
    expect(run.rebuilt).toBe(1);
    const stateItem = await t.db.send(new GetCommand({ TableName: t.table, Key: readingKeys.state(MN, 'realtime') }));
    expect(stateItem.Item?.late).toBeUndefined();
    const block = await t.db.send(
      new QueryCommand({
        TableName: t.table,
        KeyConditionExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': `rb#${MN}#realtime`, ':sk': from },
      }),
    );
    expect(block.Items?.[0]?.n).toBe(hybrid.items.length);
    expect(await store.rows({ mn: MN, kind: 'realtime', from, to, order: 'asc', limit: 1000 })).toEqual(hybrid);
    await expectSameAsRows('realtime', 4);
  });
});
