import { describe, expect, it } from 'vitest';
import {
  type ArchiveObjectStore,
  type ChainHeadStore,
  SealedArchive,
  type StoredHead,
} from '#shared/domain/archive/archive.ts';
import {
  type ArchiveInput,
  buildRecord,
  deliveryKey,
  GENESIS,
  recordHash,
  serializeRecord,
} from '#shared/domain/archive/record.ts';
import { verifyArchive } from '#shared/domain/archive/verify-archive.ts';

/** In-memory stores with the same semantics as the adapters: compare-and-set heads, sorted object listing. */
class MemoryHeads implements ChainHeadStore {
  heads = new Map<string, StoredHead>();
  async read(chain: string) {
    const h = this.heads.get(chain);
    return h ? structuredClone(h) : undefined;
  }
  async advance(chain: string, expectedSeq: number, next: StoredHead) {
    await Promise.resolve();
    const cur = this.heads.get(chain);
    if ((cur?.seq ?? 0) !== expectedSeq) return false;
    this.heads.set(chain, structuredClone(next));
    return true;
  }
}

class MemoryObjects implements ArchiveObjectStore {
  objects = new Map<string, string>();
  async put(key: string, body: string) {
    this.objects.set(key, body);
  }
  async get(key: string) {
    return this.objects.get(key);
  }
  async exists(key: string) {
    return this.objects.has(key);
  }
  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

const MN = '33112600000000000000AB01';
const msg = (i: number, day = '2026-11-02'): ArchiveInput => ({
  mn: MN,
  receivedAt: new Date(Date.parse(`${day}T08:00:00+08:00`) + i * 1000).toISOString(),
  source: 'mqtt-hj212',
  clientId: MN,
  accepted: true,
  raw: Buffer.from(`##0000packet ${i}`),
});

async function chainOf(n: number, days = ['2026-11-02']) {
  const heads = new MemoryHeads();
  const objects = new MemoryObjects();
  const archive = new SealedArchive(heads, objects);
  let i = 0;
  for (const day of days) for (let k = 0; k < n; k++) await archive.append(MN, msg(i++, day));
  const keys = [...objects.objects.keys()].sort();
  const verify = (from = days[0] as string, to = days.at(-1) as string) =>
    verifyArchive({ objects, heads }, MN, from, to);
  return { heads, objects, archive, keys, verify };
}

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
  it('verifies an intact chain across days and up to the head', async () => {
    const { verify } = await chainOf(3, ['2026-11-01', '2026-11-02']);
    const r = await verify();
    expect(r).toMatchObject({ ok: true, records: 6, firstSeq: 1, lastSeq: 6, head: { seq: 6 }, breaks: [] });
  });

  it('never forks the chain when appends race, and archives a retried delivery once', async () => {
    const heads = new MemoryHeads();
    const objects = new MemoryObjects();
    const writers = [
      new SealedArchive(heads, objects),
      new SealedArchive(heads, objects),
      new SealedArchive(heads, objects),
    ];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (writers[i % 3] as SealedArchive).append(MN, msg(i))));
    const again = await (writers[1] as SealedArchive).append(MN, msg(7));
    expect(again.replay).toBe(true);
    expect(objects.objects.size).toBe(30);
    expect((await heads.read(MN))?.seq).toBe(30);
    expect((await verifyArchive({ objects, heads }, MN, '2026-11-02', '2026-11-02')).ok).toBe(true);
  });

  it('rewrites the object of a delivery that claimed its seq but crashed before writing it', async () => {
    const { objects, archive, keys, verify } = await chainOf(3);
    objects.objects.delete(keys[2] as string);
    const r = await archive.append(MN, msg(2));
    expect(r).toMatchObject({ replay: true, key: keys[2] });
    expect((await verify()).ok).toBe(true);
  });
});

describe('verifyChain', () => {
  it('reports a changed object as a hash mismatch at exactly its seq', async () => {
    const { objects, keys, verify } = await chainOf(5);
    const key = keys[2] as string;
    const rec = JSON.parse(objects.objects.get(key) as string);
    rec.accepted = false;
    objects.objects.set(key, JSON.stringify(rec));
    const r = await verify();
    expect(r.ok).toBe(false);
    expect(r.breaks).toEqual([expect.objectContaining({ kind: 'changed', seq: 3, key })]);
  });

  it('reports a record rewritten with a recomputed hash at the next link', async () => {
    const { objects, keys, verify } = await chainOf(5);
    const key = keys[2] as string;
    const rec = JSON.parse(objects.objects.get(key) as string);
    rec.rawBase64 = Buffer.from('forged').toString('base64');
    rec.rawSha256 = (await import('node:crypto')).createHash('sha256').update('forged').digest('hex');
    rec.hash = recordHash(rec);
    objects.objects.set(key, JSON.stringify(rec));
    const r = await verify();
    expect(r.breaks.map((b) => [b.kind, b.seq])).toEqual([['inserted', 4]]);
    expect(r.breaks[0]?.message).toContain('seq 3 was replaced');
  });

  it('reports a deleted object as a gap, and a deleted last object against the head', async () => {
    const { objects, keys, verify } = await chainOf(6);
    objects.objects.delete(keys[1] as string);
    objects.objects.delete(keys[2] as string);
    objects.objects.delete(keys[5] as string);
    const r = await verify();
    expect(r.breaks.map((b) => [b.kind, b.seq, b.toSeq])).toEqual([
      ['deleted', 2, 3],
      ['deleted', 6, 6],
    ]);
  });

  it('reports an inserted record as a duplicate seq', async () => {
    const { objects, keys, verify } = await chainOf(4);
    const original = JSON.parse(objects.objects.get(keys[1] as string) as string);
    const forged = buildRecord(
      MN,
      { ...msg(99), receivedAt: '2026-11-02T00:30:00.000Z' },
      { seq: original.seq - 1, hash: original.prevHash },
    );
    const key = (keys[1] as string).replace(/-\d{8}T\d+Z\.json$/, '-20261102T003000000Z.json');
    objects.objects.set(key, serializeRecord(forged));
    const r = await verify();
    expect(r.ok).toBe(false);
    expect(r.breaks.some((b) => b.kind === 'inserted' && b.seq === 2)).toBe(true);
  });
});
