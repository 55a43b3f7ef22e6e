import {
  type ArchiveInput,
  type ArchiveRecord,
  beijingDate,
  buildRecord,
  dayPrefix,
  deliveryKey,
  GENESIS,
  recordKey,
  seqOfKey,
  serializeRecord,
} from './record.ts';

/**
 * Appends records to a device's hash chain, safely under concurrency and retries.
 *
 * The chain head (seq, hash) lives in a store with compare-and-set (DynamoDB: a conditional put on `seq = prev`), so
 * two functions can never both write seq N: the loser re-reads the head and tries again. The head is claimed first and
 * the object written second, so a crash in between leaves a head without its object; the retried delivery finds its
 * delivery key among the head's recent keys and writes the missing object again (same content, same hash). A delivery
 * already archived is never archived twice (while its key is among the `recentSize` newest of the chain).
 * Heads are cached per container: in steady state an append costs one conditional write and one object put, no read.
 */
export interface RecentDelivery {
  /** delivery key (see deliveryKey) */
  k: string;
  seq: number;
}

export interface StoredHead {
  seq: number;
  hash: string;
  /** Beijing date of the newest record */
  lastDate: string;
  recent: RecentDelivery[];
}

export interface ChainHeadStore {
  read(chain: string): Promise<StoredHead | undefined>;
  /** Replaces the head when it is still at `expectedSeq` (0: no head yet); false when someone else moved it. */
  advance(chain: string, expectedSeq: number, next: StoredHead): Promise<boolean>;
}

export interface ArchiveObjectStore {
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  exists(key: string): Promise<boolean>;
  /** every key under the prefix, sorted */
  list(prefix: string): Promise<string[]>;
}

export interface AppendResult {
  record: ArchiveRecord;
  key: string;
  /** this delivery had been archived before (a retry): nothing new was appended */
  replay: boolean;
}

export class ArchiveConflictError extends Error {
  override name = 'ArchiveConflictError';
}

export class SealedArchive {
  private readonly heads = new Map<string, StoredHead>();

  constructor(
    private readonly headStore: ChainHeadStore,
    private readonly objects: ArchiveObjectStore,
    private readonly opts: { recentSize?: number; maxAttempts?: number } = {},
  ) {}

  async append(chain: string, input: ArchiveInput): Promise<AppendResult> {
    const k = deliveryKey(input);
    const recentSize = this.opts.recentSize ?? 24;
    const maxAttempts = this.opts.maxAttempts ?? 50;
    let head = this.heads.get(chain) ?? (await this.headStore.read(chain));
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const seen = head?.recent.find((r) => r.k === k);
      if (seen) return this.replay(chain, input, seen.seq);
      const prev = head ? { seq: head.seq, hash: head.hash } : GENESIS;
      const record = buildRecord(chain, input, prev);
      const key = recordKey(record);
      const next: StoredHead = {
        seq: record.seq,
        hash: record.hash,
        lastDate: beijingDate(record.receivedAt),
        recent: [...(head?.recent ?? []), { k, seq: record.seq }].slice(-recentSize),
      };
      if (await this.headStore.advance(chain, prev.seq, next)) {
        this.heads.set(chain, next);
        await this.objects.put(key, serializeRecord(record));
        return { record, key, replay: false };
      }
      this.heads.delete(chain);
      // someone else appended first: back off a little (jittered) so contenders spread out, then re-read
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
      head = await this.headStore.read(chain);
    }
    throw new ArchiveConflictError(`chain ${chain}: the head kept moving (${maxAttempts} attempts)`);
  }

  /** A delivery already holding `seq`: make sure its object exists (rebuilt from its predecessor when it does not). */
  private async replay(chain: string, input: ArchiveInput, seq: number): Promise<AppendResult> {
    const receivedAt = input.receivedAt;
    const key = recordKey({ chain, seq, receivedAt });
    const stored = await this.objects.get(key);
    if (stored !== undefined) return { record: JSON.parse(stored) as ArchiveRecord, key, replay: true };
    const prev = seq === 1 ? GENESIS : await this.findRecord(chain, seq - 1, receivedAt);
    if (!prev) throw new ArchiveConflictError(`chain ${chain}: cannot rebuild seq ${seq}, its predecessor is missing`);
    const record = buildRecord(chain, input, prev);
    await this.objects.put(key, serializeRecord(record));
    return { record, key, replay: true };
  }

  private async findRecord(
    chain: string,
    seq: number,
    near: string,
  ): Promise<{ seq: number; hash: string } | undefined> {
    const day = beijingDate(near);
    const before = beijingDate(new Date(Date.parse(`${day}T00:00:00+08:00`) - 1).toISOString());
    for (const date of [day, before]) {
      const keys = await this.objects.list(dayPrefix(chain, date));
      const key = keys.find((k) => seqOfKey(k) === seq);
      if (!key) continue;
      const text = await this.objects.get(key);
      if (!text) return undefined;
      const r = JSON.parse(text) as ArchiveRecord;
      return { seq: r.seq, hash: r.hash };
    }
    return undefined;
  }
}
