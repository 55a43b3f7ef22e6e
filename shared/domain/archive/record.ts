import { createHash } from 'node:crypto';

/**
 * The sealed raw archive: every message a device sent (accepted or rejected, garbage included) becomes one record in a
 * per-device hash chain. A record holds the exact bytes (base64) and their SHA-256, the platform's verdict, its place
 * in the chain (`seq`, `prevHash`) and `hash` = SHA-256 of the canonical JSON of everything else. Changing, deleting or
 * inserting any record breaks the chain at that point (see verify.ts).
 *
 * Canonical form: `JSON.stringify` of the fields in the fixed order below (absent optional fields are `null`), UTF-8.
 * Object key: `raw/<chain>/<yyyy-mm-dd Beijing date of receipt>/<seq, 12 digits>-<receivedAt compact>.json`; keys of
 * one device sort by day and then by seq.
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

export function recordKey(r: Pick<ArchiveRecord, 'chain' | 'seq' | 'receivedAt'>): string {
  const compact = r.receivedAt.replace(/[-:.]/g, '');
  return `${ARCHIVE_PREFIX}${r.chain}/${beijingDate(r.receivedAt)}/${String(r.seq).padStart(SEQ_DIGITS, '0')}-${compact}.json`;
}

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
