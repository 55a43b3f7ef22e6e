import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { type ArchiveRecord, buildRecord, GENESIS } from '#shared/domain/archive/record.ts';
import { type LocalTable, startTable } from './dynamodb-table.ts';

/** The archive's record store against DynamoDB Local (the platform's stand-in), no platform booted. */
const MN = '33112600000000000000AR01';
const T0 = Date.now() - 3_600_000;

function chain(n: number): ArchiveRecord[] {
  const out: ArchiveRecord[] = [];
  let prev = GENESIS;
  for (let i = 0; i < n; i++) {
    const r = buildRecord(
      MN,
      {
        mn: MN,
        // recent: the table's TTL (7 days after receipt) must not remove them while the test runs
        receivedAt: new Date(T0 + i * 30_000).toISOString(),
        source: 'mqtt-hj212',
        accepted: true,
        raw: Buffer.from(`##packet ${i}`),
      },
      prev,
    );
    out.push(r);
    prev = r;
  }
  return out;
}

describe('DynamoArchiveStore.head', () => {
  let t: LocalTable;
  let store: DynamoArchiveStore;
  beforeAll(async () => {
    t = await startTable('envwatch-archive-test');
    store = new DynamoArchiveStore(t.db, t.table, { tailDays: 7 });
  }, 60_000);
  afterAll(async () => t?.stop());

  it('reads the seal mark and the seq, hash and key of the newest records in one query, the mark sorting after every seq', async () => {
    const records = chain(30);
    for (const r of records) expect(await store.putNew(r, `k${r.seq}`)).toBe(true);
    expect(await store.head(MN, 24)).toEqual({ newest: expect.any(Array) });
    const last = records[19] as ArchiveRecord;
    const mark = { seq: last.seq, hash: last.hash, lastDate: last.receivedAt.slice(0, 10), key: 'raw/batch.jsonl' };
    expect(await store.markSealed(MN, 0, mark)).toBe(true);
    const head = await store.head(MN, 24);
    expect(head.sealed).toEqual(mark);
    expect(head.newest.map((s) => s.seq)).toEqual(Array.from({ length: 24 }, (_, i) => 30 - i));
    expect(head.newest[0]).toEqual({ seq: 30, hash: records[29]?.hash, k: 'k30' });
    expect((await store.head(`${MN}X`, 24)).newest).toEqual([]);
  });
});
