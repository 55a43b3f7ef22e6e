import { describe, expect, it } from 'vitest';
import { SealedArchive, type SealMark } from '#shared/domain/archive/archive.ts';
import {
  type ArchiveInput,
  type ArchiveRecord,
  batchKey,
  buildRecord,
  deliveryKey,
  GENESIS,
  recordHash,
  recordKey,
  serializeRecord,
  sha256Hex,
} from '#shared/domain/archive/record.ts';
import { sealChain } from '#shared/domain/archive/seal.ts';
import { verifyArchive } from '#shared/domain/archive/verify-archive.ts';
import { memoryArchive } from '../helpers/memory-archive.ts';

const MN = '33112600000000000000AB01';
/** message i of a day: one a minute from 08:00 Beijing time */
const msg = (i: number, day = '2026-11-02'): ArchiveInput => ({
  mn: MN,
  receivedAt: new Date(Date.parse(`${day}T08:00:00+08:00`) + i * 60_000).toISOString(),
  source: 'mqtt-hj212',
  clientId: MN,
  accepted: true,
  raw: Buffer.from(`##0000packet ${i}`),
});
/** well after every hour of the test days has closed */
const LATER = new Date('2026-11-10T00:00:00Z');
const SEAL = { graceMinutes: 10 };

async function chainOf(n: number, days = ['2026-11-02']) {
  const mem = memoryArchive();
  const archive = new SealedArchive(mem.recordStore, mem.objectStore);
  let i = 0;
  for (const day of days) for (let k = 0; k < n; k++) await archive.append(MN, msg(i++, day));
  const deps = { objects: mem.objectStore, records: mem.recordStore };
  const verify = (from = days[0] as string, to = days.at(-1) as string) => verifyArchive(deps, MN, from, to);
  const seal = (now = LATER) => sealChain(deps, MN, now, SEAL);
  const items = () => mem.records.get(MN) as Map<number, { record: ArchiveRecord; k: string }>;
  const batchKeys = () => [...mem.objects.keys()].filter((k) => k.endsWith('.jsonl')).sort();
  return { ...mem, archive, verify, seal, items, batchKeys };
}

const breaksOf = (r: { breaks: { kind: string; seq: number; toSeq?: number }[] }) =>
  r.breaks.map((b) => [b.kind, b.seq, ...(b.toSeq !== undefined ? [b.toSeq] : [])]);

describe('hash chain', () => {
  it('links each record to the previous hash, from the genesis hash', () => {
    const a = buildRecord(MN, msg(0), GENESIS);
    const b = buildRecord(MN, msg(1), { seq: a.seq, hash: a.hash });
    expect(a.seq).toBe(1);
    expect(a.prevHash).toBe('0'.repeat(64));
    expect(b.prevHash).toBe(a.hash);
    expect(recordHash(a)).toBe(a.hash);
    expect(JSON.parse(serializeRecord(a))).toEqual(a);
  });

  it('gives a delivery key that changes with the delivery but not with the retry of one', () => {
    expect(deliveryKey(msg(1))).toBe(deliveryKey(msg(1)));
    expect(deliveryKey(msg(1))).not.toBe(deliveryKey({ ...msg(1), clientId: 'other' }));
    expect(deliveryKey(msg(1))).not.toBe(deliveryKey(msg(2)));
  });
});

describe('SealedArchive', () => {
  it('appends with one conditional put and no read in steady state, and verifies up to the newest record', async () => {
    const c = await chainOf(4, ['2026-11-01', '2026-11-02']);
    // the cold head: its query, and for a chain without records the head item of before batching
    expect(c.counts).toEqual({ puts: 8, reads: 2 });
    expect(c.objects.size).toBe(0);
    const r = await c.verify();
    expect(r).toMatchObject({ ok: true, records: 8, tail: 8, sealed: 0, head: { seq: 8, lastDate: '2026-11-02' } });
  });

  it('never forks the chain when appends race, and archives a retried delivery once', async () => {
    const mem = memoryArchive();
    const writers = [1, 2, 3].map(() => new SealedArchive(mem.recordStore));
    await Promise.all(Array.from({ length: 30 }, (_, i) => (writers[i % 3] as SealedArchive).append(MN, msg(i))));
    const again = await (writers[1] as SealedArchive).append(MN, msg(7));
    expect(again.replay).toBe(true);
    expect(again.key).toBe(`${MN}/${String(again.record.seq).padStart(12, '0')}`);
    expect(mem.all().map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const deps = { objects: mem.objectStore, records: mem.recordStore };
    expect((await verifyArchive(deps, MN, '2026-11-02', '2026-11-02')).ok).toBe(true);
  });

  it('replays a delivery archived by another container whose head it had cached stale', async () => {
    const mem = memoryArchive();
    const [a, b] = [new SealedArchive(mem.recordStore), new SealedArchive(mem.recordStore)] as const;
    await a.append(MN, msg(0));
    await b.append(MN, msg(1)); // b's head: seq 2
    await a.append(MN, msg(2)); // a's cached head was seq 1: its put of seq 2 fails, it re-reads and appends seq 3
    const retried = await b.append(MN, msg(2)); // b's cached head (seq 2) is stale: its put of seq 3 fails
    expect(retried).toMatchObject({ replay: true, record: { seq: 3 } });
    expect(mem.all()).toHaveLength(3);
  });

  it('reads the cold head of a chain born after batching in one query, and still replays a retry', async () => {
    const mem = memoryArchive();
    const first = new SealedArchive(mem.recordStore);
    for (let i = 0; i < 3; i++) await first.append(MN, msg(i));
    mem.counts.reads = 0;
    const cold = new SealedArchive(mem.recordStore);
    expect(await cold.append(MN, msg(3))).toMatchObject({ replay: false, record: { seq: 4 } });
    expect(await cold.append(MN, msg(1))).toMatchObject({ replay: true, record: { seq: 2 } });
    expect(mem.counts.reads).toBe(2); // the head's query, and the replayed record
  });

  it('continues from the seal mark its head query read once the sealed items have expired', async () => {
    const c = await chainOf(3);
    await c.seal();
    const mark = c.marks.get(MN) as SealMark;
    c.items().clear(); // expired after sealing (TTL)
    c.counts.reads = 0;
    const cold = new SealedArchive(c.recordStore, c.objectStore);
    expect((await cold.append(MN, msg(3))).record).toMatchObject({ seq: 4, prevHash: mark.hash });
    expect(c.counts.reads).toBe(2); // the head's query (records and mark) and the head item of before batching
    expect((await c.verify()).ok).toBe(true);
  });

  it('continues from the seal mark when the newest sealed items expired before older ones (TTL deletes in no order)', async () => {
    const c = await chainOf(3);
    await c.seal();
    const mark = c.marks.get(MN) as SealMark;
    c.items().delete(3); // seq 3 expired, 1 and 2 not yet
    const cold = new SealedArchive(c.recordStore, c.objectStore);
    expect((await cold.append(MN, msg(3))).record).toMatchObject({ seq: 4, prevHash: mark.hash });
    expect((await c.verify()).ok).toBe(true);
  });

  it('continues the chain of before batching from its head item, and replays a delivery of that time', async () => {
    const mem = memoryArchive();
    // the platform before batching: head item d#<chain>/archive and one object per record
    let prev = GENESIS;
    const old: ArchiveRecord[] = [];
    for (let i = 0; i < 3; i++) {
      const r = buildRecord(MN, msg(i), prev);
      old.push(r);
      prev = r;
    }
    for (const r of old.slice(0, 2)) mem.objects.set(recordKey(r), serializeRecord(r));
    // seq 3 claimed its head but crashed before its object was written
    mem.legacyHeads.set(MN, {
      seq: 3,
      hash: prev.hash,
      lastDate: '2026-11-02',
      recent: [0, 1, 2].map((i) => ({ k: deliveryKey(msg(i)), seq: i + 1 })),
    });
    const archive = new SealedArchive(mem.recordStore, mem.objectStore);
    const next = await archive.append(MN, msg(3));
    expect(next.record).toMatchObject({ seq: 4, prevHash: prev.hash });
    expect(await archive.append(MN, msg(1))).toMatchObject({ replay: true, record: { seq: 2 } });
    const lost = await archive.append(MN, msg(2));
    expect(lost).toMatchObject({ replay: true, record: { seq: 3, hash: prev.hash } });
    // another container, cold: the records since batching do not start the chain, so it reads the head item too
    const other = new SealedArchive(mem.recordStore, mem.objectStore);
    expect(await other.append(MN, msg(0))).toMatchObject({ replay: true, record: { seq: 1 } });
    expect(mem.objects.get(recordKey(old[2] as ArchiveRecord))).toBe(serializeRecord(old[2] as ArchiveRecord));
    const deps = { objects: mem.objectStore, records: mem.recordStore };
    const r = await verifyArchive(deps, MN, '2026-11-02', '2026-11-02');
    expect(r).toMatchObject({ ok: true, records: 4, sealed: 3, tail: 1 });
  });
});

describe('sealChain', () => {
  it('seals each closed hour as one object, leaves the open hour, and verifies across batches and the tail', async () => {
    const c = await chainOf(150); // 08:00–10:29 Beijing
    const report = await c.seal(new Date('2026-11-02T09:15:00+08:00'));
    expect(report.batches).toEqual([
      { key: `raw/${MN}/2026-11-02/000000000001-h08.jsonl`, firstSeq: 1, lastSeq: 60, adopted: false },
    ]);
    expect(batchKey(c.items().get(61)?.record as ArchiveRecord)).toBe(`raw/${MN}/2026-11-02/000000000061-h09.jsonl`);
    expect(c.marks.get(MN)).toMatchObject({ seq: 60 });
    await c.seal(LATER);
    expect(c.batchKeys()).toEqual([
      `raw/${MN}/2026-11-02/000000000001-h08.jsonl`,
      `raw/${MN}/2026-11-02/000000000061-h09.jsonl`,
      `raw/${MN}/2026-11-02/000000000121-h10.jsonl`,
    ]);
    expect(await c.verify()).toMatchObject({ ok: true, records: 150, sealed: 150, tail: 0 });
    // the items expire after sealing: the chain is whole from the bucket alone, and the next append continues it
    c.items().clear();
    expect(await c.verify()).toMatchObject({ ok: true, records: 150, sealed: 150 });
    const fresh = new SealedArchive(c.recordStore);
    expect((await fresh.append(MN, msg(151))).record.seq).toBe(151);
    expect((await c.verify()).ok).toBe(true);
  });

  it('writes nothing different when run again, and adopts the object of a run that stopped before its mark', async () => {
    const c = await chainOf(90);
    await c.seal();
    const before = new Map(c.objects);
    expect((await c.seal()).batches).toEqual([]);
    expect(c.objects).toEqual(before);
    // a run that wrote the batch of hour 09 but stopped before moving the mark
    c.marks.set(MN, { ...(c.marks.get(MN) as SealMark), seq: 60, hash: c.items().get(60)?.record.hash as string });
    const again = await c.seal();
    expect(again.batches).toEqual([expect.objectContaining({ firstSeq: 61, lastSeq: 90, adopted: true })]);
    expect(c.objects).toEqual(before);
    expect(c.marks.get(MN)?.seq).toBe(90);
  });

  it('seals every closed hour of a chain from one read of its records, and reads again only after a cut read', async () => {
    const c = await chainOf(150); // 08:00–10:29 Beijing: hours 08 and 09 closed at 10:15, 10 open
    const report = await c.seal(new Date('2026-11-02T10:15:00+08:00'));
    expect(report.batches.map((b) => [b.firstSeq, b.lastSeq])).toEqual([
      [1, 60],
      [61, 120],
    ]);
    expect(c.pages.after).toBe(1);
    // a read cut at maxRecords: the next batch is read again from the mark (40 records: 1–40, 41–60, 61–100, 101–120)
    const d = await chainOf(150);
    const deps = { objects: d.objectStore, records: d.recordStore };
    const cut = await sealChain(deps, MN, new Date('2026-11-02T10:15:00+08:00'), { ...SEAL, maxRecords: 40 });
    expect(cut.batches.map((b) => [b.firstSeq, b.lastSeq])).toEqual([
      [1, 40],
      [41, 60],
      [61, 100],
      [101, 120],
    ]);
    expect(d.pages.after).toBe(5);
    expect(await d.verify()).toMatchObject({ ok: true, records: 150, sealed: 120, tail: 30 });
  });

  it('puts a record appended late for a sealed hour in a batch of its own', async () => {
    const c = await chainOf(70);
    await c.seal();
    await c.archive.append(MN, { ...msg(5), clientId: 'redriven' }); // received at 08:05, appended after sealing
    await c.seal();
    expect(c.batchKeys().at(-1)).toBe(`raw/${MN}/2026-11-02/000000000071-h08.jsonl`);
    expect(await c.verify()).toMatchObject({ ok: true, records: 71 });
  });
});

describe('verifyChain', () => {
  const lines = (text: string) => text.trimEnd().split('\n');
  const edit = (c: Awaited<ReturnType<typeof chainOf>>, key: string, f: (ls: string[]) => string[]) =>
    c.objects.set(key, `${f(lines(c.objects.get(key) as string)).join('\n')}\n`);

  it('reports a changed line of a sealed batch, and a changed item of the tail, at exactly its seq', async () => {
    const c = await chainOf(90);
    await c.seal(new Date('2026-11-02T09:15:00+08:00')); // seq 1–60 sealed, 61–90 in the tail
    c.items().clear(); // the sealed items expired
    edit(c, c.batchKeys()[0] as string, (ls) =>
      ls.map((l, i) => (i === 2 ? l.replace('"accepted":true', '"accepted":false') : l)),
    );
    const s = await c.verify();
    expect(breaksOf(s)).toEqual([['changed', 3]]);
    expect(s.breaks[0]?.key).toContain('line 3');
    const d = await chainOf(5);
    const item = d.items().get(4) as { record: ArchiveRecord };
    item.record = { ...item.record, accepted: false };
    expect(breaksOf(await d.verify())).toEqual([['changed', 4]]);
  });

  it('reports a record that differs between its sealed batch and the store', async () => {
    const c = await chainOf(10);
    await c.seal();
    const key = c.batchKeys()[0] as string;
    edit(c, key, (ls) =>
      ls.map((l, i) => {
        if (i !== 9) return l;
        const r = JSON.parse(l) as ArchiveRecord;
        const forged = { ...r, rawBase64: Buffer.from('forged').toString('base64'), rawSha256: sha256Hex('forged') };
        return serializeRecord({ ...forged, hash: recordHash(forged) }).trimEnd();
      }),
    );
    const r = await c.verify();
    expect(r.ok).toBe(false);
    expect(r.breaks).toContainEqual(expect.objectContaining({ kind: 'changed', seq: 10, key: `${key} line 10` }));
  });

  it('reports a record rewritten with a recomputed hash at the next link, in the bucket and in the store', async () => {
    const c = await chainOf(5);
    const item = c.items().get(3) as { record: ArchiveRecord };
    const forged = {
      ...item.record,
      rawBase64: Buffer.from('forged').toString('base64'),
      rawSha256: sha256Hex('forged'),
    };
    item.record = { ...forged, hash: recordHash(forged) };
    const r = await c.verify();
    expect(breaksOf(r)).toEqual([['inserted', 4]]);
    expect(r.breaks[0]?.message).toContain('seq 3 was replaced');
  });

  it('reports deleted lines, a deleted batch and deleted tail items as gaps or against the anchors', async () => {
    const c = await chainOf(150);
    await c.seal(new Date('2026-11-02T10:15:00+08:00')); // 1–120 sealed, 121–150 in the tail
    for (const seq of c.items().keys()) if (seq <= 120) c.items().delete(seq); // expired
    const [h08, h09] = c.batchKeys() as [string, string];
    edit(c, h08, (ls) => ls.filter((_, i) => i !== 4 && i !== 5)); // seq 5–6
    c.objects.delete(h09); // seq 61–120, the last sealed batch
    c.items().delete(130);
    expect(breaksOf(await c.verify())).toEqual([
      ['deleted', 5, 6],
      ['deleted', 61, 120],
      ['deleted', 130, 130],
    ]);
  });

  it('reports a sealed batch deleted while its items are still in the store', async () => {
    const c = await chainOf(90);
    await c.seal();
    c.objects.delete(c.batchKeys()[1] as string); // seq 61–90, the items still there
    const r = await c.verify();
    expect(r.ok).toBe(false);
    expect(r.breaks).toContainEqual(expect.objectContaining({ kind: 'deleted', seq: 90 }));
  });

  it('reports an inserted record as a duplicate seq, in a batch or as an object of before batching', async () => {
    const c = await chainOf(4);
    await c.seal();
    const original = c.items().get(2)?.record as ArchiveRecord;
    const forged = buildRecord(
      MN,
      { ...msg(99), receivedAt: '2026-11-02T00:30:00.000Z' },
      {
        seq: original.seq - 1,
        hash: original.prevHash,
      },
    );
    c.objects.set(recordKey(forged), serializeRecord(forged));
    const r = await c.verify();
    expect(r.ok).toBe(false);
    expect(r.breaks.some((b) => b.kind === 'inserted' && b.seq === 2)).toBe(true);
    const d = await chainOf(4);
    await d.seal();
    edit(d, d.batchKeys()[0] as string, (ls) => [
      ls[0] as string,
      ls[1] as string,
      serializeRecord(forged).trimEnd(),
      ...ls.slice(2),
    ]);
    expect((await d.verify()).breaks.some((b) => b.kind === 'inserted' && b.seq === 2)).toBe(true);
  });
});
