import {
  type ArchiveRecord,
  firstSeqOfBatchKey,
  GENESIS_HASH,
  isBatchKey,
  recordHash,
  seqOfKey,
  serializeRecord,
  sha256Hex,
} from './record.ts';

/**
 * Verifies one device's archive over a date range, purely, as ONE continuous chain across where records live: the
 * bucket's objects in key order (day, then first seq; sealed batches of many records and the single-record objects of
 * before batching alike), then the unsealed tail in the record store (DynamoDB) after the last sealed record. A record
 * present in both places must be identical. Every record's hash is recomputed; seq must go up by one with each record
 * pointing at the previous record's hash; and each anchor (the newest record in the store, the seal mark, the head
 * item of before batching) whose day the range reaches must be in the chain with its hash, the newest being its end.
 * A break says where and what it suggests:
 *   changed  — a record no longer matches its hash (or its raw bytes their SHA-256), is unreadable, or differs between
 *              its sealed batch and the store;
 *   deleted  — seq jumps (N then M > N+1), the range ends before an anchor, or a sealed record is gone from the bucket
 *              while the store still has it;
 *   inserted — a seq appears twice or goes back, or a record does not point at its predecessor's hash.
 * Limits: the link into the first day of the range is not checked (the record before it is outside the range); the
 * newest records of the store have no later witness: deleting the very last items of the tail shortens the chain
 * unnoticed until they are sealed (the same held for the head item before batching).
 */
export type BreakKind = 'changed' | 'deleted' | 'inserted';

export interface ChainBreak {
  kind: BreakKind;
  /** the seq where the break shows (for a gap: the first missing seq) */
  seq: number;
  /** for a gap: the last missing seq */
  toSeq?: number;
  key?: string;
  message: string;
}

export interface StoredObject {
  key: string;
  text: string;
}

export interface HeadInfo {
  seq: number;
  hash: string;
  /** Beijing date of the newest record */
  lastDate: string;
}

/** A point the chain must pass through: the store's newest record, the seal mark, the head item of before batching. */
export interface Anchor extends HeadInfo {
  what: string;
  /** the anchor's record must be in a sealed object (the seal mark), not only in the store */
  sealed?: boolean;
}

export interface VerifyReport {
  chain: string;
  from: string;
  to: string;
  ok: boolean;
  records: number;
  /** of `records`: read from sealed objects in the bucket, and from the unsealed tail in the store */
  sealed?: number;
  tail?: number;
  firstSeq?: number;
  lastSeq?: number;
  head?: { seq: number; lastDate: string };
  breaks: ChainBreak[];
}

function asRecord(value: unknown): ArchiveRecord | undefined {
  const r = value as Partial<ArchiveRecord> | null;
  if (typeof r !== 'object' || r === null) return undefined;
  if (typeof r.seq !== 'number' || typeof r.hash !== 'string' || typeof r.prevHash !== 'string') return undefined;
  if (typeof r.rawBase64 !== 'string' || typeof r.rawSha256 !== 'string') return undefined;
  return r as ArchiveRecord;
}

function parse(text: string): ArchiveRecord | undefined {
  try {
    return asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The records of a batch object's text, one per line (an unreadable line: undefined in its place). */
export function parseRecords(text: string): (ArchiveRecord | undefined)[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(parse);
}

interface Entry {
  where: string;
  rec?: ArchiveRecord;
  /** the seq the location claims (a single object's name; a batch's first line) */
  claimed?: number;
}

function entriesOf(objects: StoredObject[]): Entry[] {
  const out: Entry[] = [];
  for (const obj of objects) {
    if (!isBatchKey(obj.key)) {
      const rec = parse(obj.text);
      const claimed = seqOfKey(obj.key);
      out.push({ where: obj.key, ...(rec ? { rec } : {}), ...(claimed !== undefined ? { claimed } : {}) });
      continue;
    }
    const first = firstSeqOfBatchKey(obj.key);
    const lines = parseRecords(obj.text);
    if (lines.length === 0) out.push({ where: obj.key, ...(first !== undefined ? { claimed: first } : {}) });
    lines.forEach((rec, i) => {
      const claimed = i === 0 ? first : undefined;
      out.push({
        where: `${obj.key} line ${i + 1}`,
        ...(rec ? { rec } : {}),
        ...(claimed !== undefined ? { claimed } : {}),
      });
    });
  }
  return out;
}

const storeRef = (r: ArchiveRecord) => `store a#${r.chain}/${r.seq}`;

export function verifyChain(
  chain: string,
  range: { from: string; to: string },
  objects: StoredObject[],
  tail: ArchiveRecord[] = [],
  anchors: Anchor[] = [],
): VerifyReport {
  const breaks: ChainBreak[] = [];
  const sealedEntries = entriesOf(objects);
  const sealedBySeq = new Map<number, Entry>();
  let lastSealed = 0;
  for (const e of sealedEntries) {
    const seq = e.rec?.seq ?? e.claimed;
    if (seq === undefined) continue;
    if (e.rec && !sealedBySeq.has(seq)) sealedBySeq.set(seq, e);
    lastSealed = Math.max(lastSealed, seq);
  }
  const firstSealed = Math.min(...sealedBySeq.keys());
  // the tail: records after the last sealed one continue the chain; earlier ones must equal their sealed copy
  const tailEntries: Entry[] = [];
  let fromStore = 0;
  for (const rec of tail) {
    if (rec.seq > lastSealed) {
      tailEntries.push({ where: storeRef(rec), rec, claimed: rec.seq });
      fromStore++;
      continue;
    }
    if (rec.seq < firstSealed) continue; // sealed before the range
    const sealed = sealedBySeq.get(rec.seq);
    if (!sealed?.rec)
      breaks.push({
        kind: 'deleted',
        seq: rec.seq,
        key: storeRef(rec),
        message: `seq ${rec.seq} is in the store but missing from its sealed batch in the bucket: deleted`,
      });
    else if (serializeRecord(sealed.rec) !== serializeRecord(rec))
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: sealed.where,
        message: `seq ${rec.seq} differs between the bucket (${sealed.where}) and the store: one of them was changed`,
      });
  }
  const entries = [...sealedEntries, ...tailEntries];
  const chained = new Map<number, ArchiveRecord>();
  let prev: { seq: number; hash: string; key: string } | undefined;
  let first: number | undefined;
  let records = 0;
  for (const e of entries) {
    const rec = e.rec;
    if (!rec) {
      breaks.push({
        kind: 'changed',
        seq: e.claimed ?? (prev ? prev.seq + 1 : 0),
        key: e.where,
        message: `${e.where} is not a readable archive record`,
      });
      if (e.claimed !== undefined) prev = { seq: e.claimed, hash: '', key: e.where };
      else if (prev) prev = { seq: prev.seq + 1, hash: '', key: e.where };
      continue;
    }
    records++;
    first ??= rec.seq;
    if (!chained.has(rec.seq)) chained.set(rec.seq, rec);
    if (e.claimed !== undefined && e.claimed !== rec.seq) {
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: e.where,
        message: `${e.where} holds seq ${rec.seq}, not the seq ${e.claimed} of its name`,
      });
    }
    if (recordHash(rec) !== rec.hash) {
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: e.where,
        message: `hash mismatch at seq ${rec.seq} (${e.where}): the record was changed`,
      });
    } else if (sha256Hex(Buffer.from(rec.rawBase64, 'base64')) !== rec.rawSha256) {
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: e.where,
        message: `raw bytes of seq ${rec.seq} (${e.where}) do not match their SHA-256`,
      });
    }
    if (prev) {
      if (rec.seq <= prev.seq) {
        breaks.push({
          kind: 'inserted',
          seq: rec.seq,
          key: e.where,
          message:
            rec.seq === prev.seq
              ? `seq ${rec.seq} appears twice (${prev.key} and ${e.where}): a record was inserted`
              : `seq ${rec.seq} (${e.where}) comes after seq ${prev.seq}: a record was inserted or moved`,
        });
      } else if (rec.seq > prev.seq + 1) {
        const from = prev.seq + 1;
        const to = rec.seq - 1;
        breaks.push({
          kind: 'deleted',
          seq: from,
          toSeq: to,
          key: e.where,
          message: `gap: ${from === to ? `seq ${from} is` : `seq ${from}–${to} are`} missing between ${prev.key} and ${e.where}: deleted`,
        });
      } else if (prev.hash && rec.prevHash !== prev.hash) {
        breaks.push({
          kind: 'inserted',
          seq: rec.seq,
          key: e.where,
          message: `seq ${rec.seq} (${e.where}) does not point at the hash of seq ${prev.seq}: seq ${prev.seq} was replaced or a record inserted`,
        });
      }
    } else if (rec.seq === 1 && rec.prevHash !== GENESIS_HASH) {
      breaks.push({
        kind: 'changed',
        seq: 1,
        key: e.where,
        message: `seq 1 (${e.where}) does not start from the genesis hash`,
      });
    }
    if (!prev || rec.seq > prev.seq) prev = { seq: rec.seq, hash: rec.hash, key: e.where };
  }
  const inRange = anchors.filter((a) => a.seq > 0 && a.lastDate >= range.from && a.lastDate <= range.to);
  const head = anchors.reduce<Anchor | undefined>((best, a) => (!best || a.seq > best.seq ? a : best), undefined);
  for (const a of inRange) {
    const at = a.sealed ? sealedBySeq.get(a.seq)?.rec : chained.get(a.seq);
    if (a.sealed && !at && prev && prev.seq >= a.seq) {
      breaks.push({
        kind: 'deleted',
        seq: a.seq,
        message: `${a.what} is seq ${a.seq} on ${a.lastDate} but no sealed object in the bucket holds it: deleted`,
      });
    } else if (!prev) {
      breaks.push({
        kind: 'deleted',
        seq: a.seq,
        message: `${a.what} is seq ${a.seq} on ${a.lastDate} but no record is stored in the range: deleted`,
      });
    } else if (prev.seq < a.seq) {
      breaks.push({
        kind: 'deleted',
        seq: prev.seq + 1,
        toSeq: a.seq,
        message: `the archive ends at seq ${prev.seq} but ${a.what} is seq ${a.seq}: ${prev.seq + 1 === a.seq ? `seq ${a.seq} is` : `seq ${prev.seq + 1}–${a.seq} are`} missing (deleted)`,
      });
    } else if (at && at.hash !== a.hash) {
      breaks.push({
        kind: 'changed',
        seq: a.seq,
        ...(prev.seq === a.seq ? { key: prev.key } : {}),
        message: `seq ${a.seq} is not the record ${a.what} sealed: changed`,
      });
    }
    if (a === head && prev && prev.seq > a.seq) {
      breaks.push({
        kind: 'inserted',
        seq: prev.seq,
        key: prev.key,
        message: `seq ${prev.seq} (${prev.key}) lies beyond ${a.what} seq ${a.seq}: inserted`,
      });
    }
  }
  // one break per finding: an anchor's deletion inside a gap already reported is the same finding
  const gaps = breaks.filter((b) => b.kind === 'deleted' && b.toSeq !== undefined);
  const covered = (b: ChainBreak) =>
    b.kind === 'deleted' && b.toSeq === undefined && gaps.some((g) => g.seq <= b.seq && b.seq <= (g.toSeq as number));
  const unique = new Map(breaks.filter((b) => !covered(b)).map((b) => [`${b.kind}:${b.seq}:${b.toSeq ?? ''}`, b]));
  const sorted = [...unique.values()].sort((a, b) => a.seq - b.seq);
  return {
    chain,
    from: range.from,
    to: range.to,
    ok: sorted.length === 0,
    records,
    sealed: records - fromStore,
    tail: fromStore,
    ...(first !== undefined ? { firstSeq: first } : {}),
    ...(prev ? { lastSeq: prev.seq } : {}),
    ...(head ? { head: { seq: head.seq, lastDate: head.lastDate } } : {}),
    breaks: sorted,
  };
}

/** A few lines for people: OK, or every break. */
export function summarize(r: VerifyReport): string {
  const span = r.records > 0 ? `seq ${r.firstSeq}–${r.lastSeq}` : 'no records';
  const head = r.head ? `; head seq ${r.head.seq} (${r.head.lastDate})` : '; no head';
  const where = r.sealed !== undefined ? ` (${r.sealed} sealed, ${r.tail ?? 0} in the unsealed tail)` : '';
  const lines = [`archive ${r.chain} ${r.from}..${r.to}: ${r.records} records${where}, ${span}${head}`];
  if (r.ok) lines.push('OK: every hash recomputed, seq continuous, every record linked to its predecessor');
  else {
    lines.push(`BROKEN: ${r.breaks.length} break(s)`);
    for (const b of r.breaks) lines.push(`  [${b.kind}] ${b.message}`);
  }
  return lines.join('\n');
}
