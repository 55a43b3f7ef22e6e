import {
  type ArchiveInput,
  type ArchiveRecord,
  beijingDate,
  buildRecord,
  type ChainHead,
  dayPrefix,
  deliveryKey,
  GENESIS,
  recordKey,
  recordRef,
  seqOfKey,
  serializeRecord,
} from './record.ts';

/**
 * Appends records to a device's hash chain, safely under concurrency and retries, with ONE write per message.
 *
 * Each record is one item of the record store (DynamoDB: pk `a#<chain>`, sk = seq) put only when that seq is still
 * free: that conditional put is both the record and the claim of its seq, so two writers can never both write seq N
 * and there is no step between "claim" and "store" a crash could split. The head (seq, hash, the delivery keys of the
 * newest `recentSize` records) is cached per container; it is read again from the newest records and the seal mark
 * (one query, newest first: the mark sorts after the records) when the cache is cold or a put finds its seq taken.
 * A delivery already archived is never archived twice while its key is among the `recentSize` newest records of the
 * chain:
 *  - a retry in the same container finds its key in the cached head;
 *  - a retry in another container either finds it in its cached head or, its put of a seq that is taken failing,
 *    re-reads the newest records and finds it there;
 *  - a crash after the put leaves the record stored: the retry is a replay (the readings are stored then).
 * A chain with no records in the store continues from the last sealed batch (its items expired after sealing) or from
 * the head item of the platform before batching (`legacyHead`: the upgrade's starting point), whichever is newer.
 * That item is read only when the query leaves it open: never when the records read reach `recentSize` or include
 * seq 1 (a chain born after batching, which has no such item); so a cold head costs one query, and a second read only
 * for a new chain (no records yet) or one with few records since batching.
 * Steady state: one conditional put per message, no read. Sealing into the Object-Locked bucket is seal.ts.
 */
/** Days a record stays in the record store after receipt (docs/decisions.md); sealing runs hourly. */
export const DEFAULT_ARCHIVE_TAIL_DAYS = 7;

export interface RecentDelivery {
  /** delivery key (see deliveryKey) */
  k: string;
  seq: number;
}

/** The chain head item of the platform before batching (pk `d#<chain>`, sk `archive`): read-only now. */
export interface StoredHead {
  seq: number;
  hash: string;
  /** Beijing date of the newest record */
  lastDate: string;
  recent: RecentDelivery[];
}

/** A record as stored, with the key of the delivery that brought it. */
export interface StoredRecord {
  record: ArchiveRecord;
  k: string;
}

/** What the head needs of a stored record: its place in the chain and the key of the delivery that brought it. */
export interface HeadEntry {
  seq: number;
  hash: string;
  k: string;
}

/** How far a chain is sealed into the bucket: its last sealed record and the batch holding it. */
export interface SealMark {
  seq: number;
  hash: string;
  /** Beijing date of the last sealed record */
  lastDate: string;
  key: string;
}

export interface ArchiveRecordStore {
  /** Stores the record when its seq is still free in its chain (the claim); false when the seq is taken. */
  putNew(record: ArchiveRecord, k: string): Promise<boolean>;
  /**
   * A chain's head in one read: its newest `limit` records (seq, hash and delivery key only), newest first, and its
   * seal mark (none yet: undefined).
   */
  head(chain: string, limit: number): Promise<{ newest: HeadEntry[]; sealed?: SealMark }>;
  get(chain: string, seq: number): Promise<StoredRecord | undefined>;
  /** Records of a chain with seq > afterSeq, ascending, at most `limit`. */
  after(chain: string, afterSeq: number, limit: number): Promise<StoredRecord[]>;
  sealed(chain: string): Promise<SealMark | undefined>;
  /** Moves the seal mark when it is still at `expectedSeq` (0: none yet); false when someone else moved it. */
  markSealed(chain: string, expectedSeq: number, next: SealMark): Promise<boolean>;
  /** The chain head item of the platform before batching, if any. */
  legacyHead(chain: string): Promise<StoredHead | undefined>;
}

export interface ArchiveObjectStore {
  put(key: string, body: string): Promise<void>;
  /** Writes the object only when no object has that key; false when one exists (nothing written). */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
  exists(key: string): Promise<boolean>;
  /** every key under the prefix, sorted */
  list(prefix: string): Promise<string[]>;
}

export interface AppendResult {
  record: ArchiveRecord;
  /** the record's reference `<chain>/<seq>` (recordRef) */
  key: string;
  /** this delivery had been archived before (a retry): nothing new was appended */
  replay: boolean;
}

export class ArchiveConflictError extends Error {
  override name = 'ArchiveConflictError';
}

interface Head extends ChainHead {
  recent: RecentDelivery[];
  /** the recent deliveries came from the head item before batching: their records are single objects */
  legacyUpTo: number;
}

export class SealedArchive {
  private readonly heads = new Map<string, Head>();

  /** `legacyObjects`: the bucket's single-record objects of the platform before batching (replays of that time). */
  constructor(
    private readonly records: ArchiveRecordStore,
    private readonly legacyObjects?: ArchiveObjectStore,
    private readonly opts: { recentSize?: number; maxAttempts?: number } = {},
  ) {}

  private get recentSize(): number {
    return this.opts.recentSize ?? 24;
  }

  async append(chain: string, input: ArchiveInput): Promise<AppendResult> {
    const k = deliveryKey(input);
    const maxAttempts = this.opts.maxAttempts ?? 50;
    let head = this.heads.get(chain) ?? (await this.readHead(chain));
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const seen = head.recent.find((r) => r.k === k);
      if (seen) return this.replay(chain, input, seen.seq, head.legacyUpTo);
      const record = buildRecord(chain, input, head);
      if (await this.records.putNew(record, k)) {
        this.heads.set(chain, {
          seq: record.seq,
          hash: record.hash,
          recent: [...head.recent, { k, seq: record.seq }].slice(-this.recentSize),
          legacyUpTo: head.legacyUpTo,
        });
        return { record, key: recordRef(record), replay: false };
      }
      this.heads.delete(chain);
      // someone else appended first: back off a little (jittered) so contenders spread out, then re-read
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
      head = await this.readHead(chain);
    }
    throw new ArchiveConflictError(`chain ${chain}: the head kept moving (${maxAttempts} attempts)`);
  }

  /**
   * The head from the newest records; without records, from the seal mark or the head item before batching. One query
   * (records and seal mark); the head item of before batching only when the records read do not rule it out.
   */
  private async readHead(chain: string): Promise<Head> {
    const { newest, sealed: mark } = await this.records.head(chain, this.recentSize);
    // sealed records expire in no order: when the newest ones are gone before older ones, the seal mark is the head
    const top = newest[0] && !(mark && mark.seq > newest[0].seq) ? newest[0] : undefined;
    const recent = newest.map((s) => ({ k: s.k, seq: s.seq })).reverse();
    // enough records for the recent deliveries, or the chain's first record among them: nothing before batching
    if (top && (newest.length >= this.recentSize || newest.at(-1)?.seq === 1))
      return { seq: top.seq, hash: top.hash, recent, legacyUpTo: 0 };
    // few or no records since batching: the deliveries before them may be in the old head item
    const legacy = await this.records.legacyHead(chain);
    const oldest = newest.at(-1)?.seq ?? Number.POSITIVE_INFINITY;
    const older = (legacy?.recent ?? []).filter((r) => r.seq < oldest);
    const all = [...older, ...recent].slice(-this.recentSize);
    const legacyUpTo = legacy?.seq ?? 0;
    if (top) return { seq: top.seq, hash: top.hash, recent: all, legacyUpTo };
    const base = [mark, legacy].reduce<ChainHead>(
      (best, h) => (h && h.seq > best.seq ? { seq: h.seq, hash: h.hash } : best),
      GENESIS,
    );
    return { ...base, recent: all, legacyUpTo };
  }

  /** A delivery already holding `seq`: its stored record (a record of before batching: its object, rebuilt if lost). */
  private async replay(chain: string, input: ArchiveInput, seq: number, legacyUpTo: number): Promise<AppendResult> {
    const stored = await this.records.get(chain, seq);
    if (stored) return { record: stored.record, key: recordRef(stored.record), replay: true };
    if (seq > legacyUpTo || !this.legacyObjects)
      throw new ArchiveConflictError(`chain ${chain}: seq ${seq} of this delivery is no longer in the record store`);
    const objects = this.legacyObjects;
    const key = recordKey({ chain, seq, receivedAt: input.receivedAt });
    const text = await objects.get(key);
    if (text !== undefined) {
      const record = JSON.parse(text) as ArchiveRecord;
      return { record, key: recordRef(record), replay: true };
    }
    // before batching the head was claimed first and the object written second: a crash in between left no object
    const prev = seq === 1 ? GENESIS : await findLegacyRecord(objects, chain, seq - 1, input.receivedAt);
    if (!prev) throw new ArchiveConflictError(`chain ${chain}: cannot rebuild seq ${seq}, its predecessor is missing`);
    const record = buildRecord(chain, input, prev);
    await objects.put(key, serializeRecord(record));
    return { record, key: recordRef(record), replay: true };
  }
}

async function findLegacyRecord(
  objects: ArchiveObjectStore,
  chain: string,
  seq: number,
  near: string,
): Promise<ChainHead | undefined> {
  const day = beijingDate(near);
  const before = beijingDate(new Date(Date.parse(`${day}T00:00:00+08:00`) - 1).toISOString());
  for (const date of [day, before]) {
    const keys = await objects.list(dayPrefix(chain, date));
    const key = keys.find((k) => seqOfKey(k) === seq);
    if (!key) continue;
    const text = await objects.get(key);
    if (!text) return undefined;
    const r = JSON.parse(text) as ArchiveRecord;
    return { seq: r.seq, hash: r.hash };
  }
  return undefined;
}
