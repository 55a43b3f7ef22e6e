import { createHash } from 'node:crypto';

/**
 * The sealed raw archive: every message a device sent (accepted or rejected, garbage included) becomes one record in a
 * per-device hash chain. A record holds the exact bytes (base64) and their SHA-256, the platform's verdict, its place
 * in the chain (`seq`, `prevHash`) and `hash` = SHA-256 of the canonical JSON of everything else. Changing, deleting or
 * inserting any record breaks the chain at that point (see verify.ts).
 *
 * Canonical form: `JSON.stringify` of the fields in the fixed order below (absent optional fields are `null`), UTF-8.
 *
 * Where records live (docs/architecture.md "Sealed raw archive"):
 *  - the tail: one DynamoDB item per record (pk `a#<chain>`, sk = seq, 12 digits), written once with a condition, so
 *    the write that stores the record is also the claim of its seq (see archive.ts);
 *  - sealed batches: a scheduled job writes each chain's records of a closed Beijing hour as ONE object to the
 *    Object-Locked evidence bucket, `raw/<chain>/<yyyy-mm-dd>/<first seq, 12 digits>-h<HH>.jsonl`, one record per line
 *    (the same text as a single-record object), then the items expire (TTL);
 *  - single-record objects of the platform before batching: `raw/<chain>/<yyyy-mm-dd Beijing date of receipt>/
 *    <seq, 12 digits>-<receivedAt compact>.json`; still valid sealed history, read by the verifier like batches.
 * Keys of one device sort by day and then by (first) seq.
 */
export const GENESIS_HASH = '0'.repeat(64);
export const UNKNOWN_CHAIN = '_unknown';
export const ARCHIVE_PREFIX = 'raw/';
export const RECORD_VERSION = 1;

export interface ArchiveInput {
  /** the MN the message claimed (topic or packet), for an unknown device too */
  mn: string;
  /** ISO instant */
  receivedAt: string;
  source: string;
  clientId?: string;
  accepted: boolean;
  reason?: string;
  detail?: string;
  raw: Uint8Array;
}

export interface ArchiveRecord {
  v: number;
  /** the chain this record belongs to: the registered device's MN, or `_unknown` */
  chain: string;
  seq: number;
  mn: string;
  receivedAt: string;
  source: string;
  clientId: string | null;
  accepted: boolean;
  reason: string | null;
  detail: string | null;
  rawSha256: string;
  rawBase64: string;
  prevHash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS: ChainHead = { seq: 0, hash: GENESIS_HASH };

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** A chain name safe for an S3 key: the MN when it is plain ASCII letters/digits, otherwise `_unknown`. */
export const chainFor = (mn: string | undefined, known: boolean): string =>
  known && mn && /^[0-9A-Za-z]{1,24}$/.test(mn) ? mn : UNKNOWN_CHAIN;

/** The canonical text that `hash` seals. */
export function canonical(r: Omit<ArchiveRecord, 'hash'>): string {
  return JSON.stringify({
    v: r.v,
    chain: r.chain,
    seq: r.seq,
    mn: r.mn,
    receivedAt: r.receivedAt,
    source: r.source,
    clientId: r.clientId,
    accepted: r.accepted,
    reason: r.reason,
    detail: r.detail,
    rawSha256: r.rawSha256,
    rawBase64: r.rawBase64,
    prevHash: r.prevHash,
  });
}

export const recordHash = (r: Omit<ArchiveRecord, 'hash'>): string => sha256Hex(canonical(r));

/** The next record of `chain` after `prev`. */
export function buildRecord(chain: string, input: ArchiveInput, prev: ChainHead): ArchiveRecord {
  const body: Omit<ArchiveRecord, 'hash'> = {
    v: RECORD_VERSION,
    chain,
    seq: prev.seq + 1,
    mn: input.mn,
    receivedAt: input.receivedAt,
    source: input.source,
    clientId: input.clientId ?? null,
    accepted: input.accepted,
    reason: input.reason ?? null,
    detail: input.detail ?? null,
    rawSha256: sha256Hex(input.raw),
    rawBase64: Buffer.from(input.raw).toString('base64'),
    prevHash: prev.hash,
  };
  return { ...body, hash: recordHash(body) };
}

/** The stored object's text: the canonical fields plus the hash. */
export const serializeRecord = (r: ArchiveRecord): string =>
  `${canonical(r).slice(0, -1)},"hash":${JSON.stringify(r.hash)}}\n`;

/** `yyyy-mm-dd` in Beijing time. */
export function beijingDate(iso: string): string {
  return new Date(new Date(iso).getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
}

export const SEQ_DIGITS = 12;

/** The key of a single-record object (the layout before batching; read for replays and verification only). */
export function recordKey(r: Pick<ArchiveRecord, 'chain' | 'seq' | 'receivedAt'>): string {
  const compact = r.receivedAt.replace(/[-:.]/g, '');
  return `${ARCHIVE_PREFIX}${r.chain}/${beijingDate(r.receivedAt)}/${String(r.seq).padStart(SEQ_DIGITS, '0')}-${compact}.json`;
}

/** A record's reference (the ingest outcome's `archiveKey`): `<chain>/<seq, 12 digits>`, wherever it lives now. */
export const recordRef = (r: Pick<ArchiveRecord, 'chain' | 'seq'>): string =>
  `${r.chain}/${String(r.seq).padStart(SEQ_DIGITS, '0')}`;

/** The Beijing hour `yyyy-mm-ddTHH` of an instant: the sealing period of a record received then. */
export function beijingHour(iso: string): string {
  return new Date(new Date(iso).getTime() + 8 * 3_600_000).toISOString().slice(0, 13);
}

/** The object key of a sealed batch: the Beijing day and hour of its first record, and its first seq. */
export function batchKey(first: Pick<ArchiveRecord, 'chain' | 'seq' | 'receivedAt'>): string {
  const hour = beijingHour(first.receivedAt);
  return `${ARCHIVE_PREFIX}${first.chain}/${hour.slice(0, 10)}/${String(first.seq).padStart(SEQ_DIGITS, '0')}-h${hour.slice(11, 13)}.jsonl`;
}

/** Whether a key names a sealed batch (else a single-record object). */
export const isBatchKey = (key: string): boolean => key.endsWith('.jsonl');

/** The seq of the first record a batch key claims, or undefined. */
export function firstSeqOfBatchKey(key: string): number | undefined {
  const m = /\/(\d{12})-h\d{2}\.jsonl$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** A batch object's text: one serialized record per line, in seq order. */
export const serializeBatch = (records: ArchiveRecord[]): string => records.map(serializeRecord).join('');

export const dayPrefix = (chain: string, date: string): string => `${ARCHIVE_PREFIX}${chain}/${date}/`;

/** The seq a key claims (from its file name), or undefined. */
export function seqOfKey(key: string): number | undefined {
  const m = /\/(\d{12})-[^/]*\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/**
 * The idempotency key of one delivery of a message: the same envelope processed twice (a Lambda retry) has the same
 * key and is archived once; the same bytes received again later (a device retry) are a new delivery and a new record.
 */
export function deliveryKey(input: Pick<ArchiveInput, 'source' | 'clientId' | 'receivedAt' | 'raw'>): string {
  return createHash('sha256')
    .update(`${input.source}\n${input.clientId ?? ''}\n${input.receivedAt}\n${sha256Hex(input.raw)}`)
    .digest('base64url')
    .slice(0, 22);
}

/** Every date `yyyy-mm-dd` from `from` to `to` inclusive (at most `max`). */
export function datesBetween(from: string, to: string, max = 400): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length < max; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}
