import { type ArchiveRecord, GENESIS_HASH, recordHash, seqOfKey, sha256Hex } from './record.ts';

/**
 * Verifies one device's archive over a date range, purely: the stored objects in key order (day, then seq) and the
 * chain head kept in DynamoDB. Every object's hash is recomputed; seq must go up by one with each record pointing at
 * the previous record's hash; the last record must be the head when the range reaches the head's day.
 * A break says where and what it suggests:
 *   changed  — an object's content no longer matches its hash (or its raw bytes their SHA-256), or is unreadable;
 *   deleted  — seq jumps (N then M > N+1), or the range ends before the head;
 *   inserted — a seq appears twice or goes back, or a record does not point at its predecessor's hash.
 * Limits: the link into the first day of the range is not checked (the record before it is outside the range).
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

export interface VerifyReport {
  chain: string;
  from: string;
  to: string;
  ok: boolean;
  records: number;
  firstSeq?: number;
  lastSeq?: number;
  head?: { seq: number; lastDate: string };
  breaks: ChainBreak[];
}

function parse(text: string): ArchiveRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ArchiveRecord>;
    if (typeof r !== 'object' || r === null) return undefined;
    if (typeof r.seq !== 'number' || typeof r.hash !== 'string' || typeof r.prevHash !== 'string') return undefined;
    if (typeof r.rawBase64 !== 'string' || typeof r.rawSha256 !== 'string') return undefined;
    return r as ArchiveRecord;
  } catch {
    return undefined;
  }
}

export function verifyChain(
  chain: string,
  range: { from: string; to: string },
  objects: StoredObject[],
  head: HeadInfo | undefined,
): VerifyReport {
  const breaks: ChainBreak[] = [];
  let prev: { seq: number; hash: string; key: string } | undefined;
  let first: number | undefined;
  let records = 0;
  for (const obj of objects) {
    const rec = parse(obj.text);
    const keySeq = seqOfKey(obj.key);
    if (!rec) {
      breaks.push({
        kind: 'changed',
        seq: keySeq ?? (prev ? prev.seq + 1 : 0),
        key: obj.key,
        message: `object ${obj.key} is not a readable archive record`,
      });
      if (keySeq !== undefined) prev = { seq: keySeq, hash: '', key: obj.key };
      continue;
    }
    records++;
    first ??= rec.seq;
    if (keySeq !== rec.seq) {
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: obj.key,
        message: `object ${obj.key} holds seq ${rec.seq}, not the seq ${keySeq ?? '?'} of its name`,
      });
    }
    if (recordHash(rec) !== rec.hash) {
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: obj.key,
        message: `hash mismatch at seq ${rec.seq} (${obj.key}): the record was changed`,
      });
    } else if (sha256Hex(Buffer.from(rec.rawBase64, 'base64')) !== rec.rawSha256) {
      breaks.push({
        kind: 'changed',
        seq: rec.seq,
        key: obj.key,
        message: `raw bytes of seq ${rec.seq} (${obj.key}) do not match their SHA-256`,
      });
    }
    if (prev) {
      if (rec.seq <= prev.seq) {
        breaks.push({
          kind: 'inserted',
          seq: rec.seq,
          key: obj.key,
          message:
            rec.seq === prev.seq
              ? `seq ${rec.seq} appears twice (${prev.key} and ${obj.key}): a record was inserted`
              : `seq ${rec.seq} (${obj.key}) comes after seq ${prev.seq}: a record was inserted or moved`,
        });
      } else if (rec.seq > prev.seq + 1) {
        const from = prev.seq + 1;
        const to = rec.seq - 1;
        breaks.push({
          kind: 'deleted',
          seq: from,
          toSeq: to,
          key: obj.key,
          message: `gap: ${from === to ? `seq ${from} is` : `seq ${from}–${to} are`} missing between ${prev.key} and ${obj.key}: deleted`,
        });
      } else if (prev.hash && rec.prevHash !== prev.hash) {
        breaks.push({
          kind: 'inserted',
          seq: rec.seq,
          key: obj.key,
          message: `seq ${rec.seq} (${obj.key}) does not point at the hash of seq ${prev.seq}: seq ${prev.seq} was replaced or a record inserted`,
        });
      }
    } else if (rec.seq === 1 && rec.prevHash !== GENESIS_HASH) {
      breaks.push({
        kind: 'changed',
        seq: 1,
        key: obj.key,
        message: `seq 1 (${obj.key}) does not start from the genesis hash`,
      });
    }
    if (!prev || rec.seq > prev.seq) prev = { seq: rec.seq, hash: rec.hash, key: obj.key };
  }
  if (head && head.lastDate >= range.from && head.lastDate <= range.to) {
    if (!prev) {
      if (head.seq > 0)
        breaks.push({
          kind: 'deleted',
          seq: head.seq,
          message: `the head is seq ${head.seq} on ${head.lastDate} but no record is stored in the range: deleted`,
        });
    } else if (prev.seq < head.seq) {
      breaks.push({
        kind: 'deleted',
        seq: prev.seq + 1,
        toSeq: head.seq,
        message: `the archive ends at seq ${prev.seq} but the head is seq ${head.seq}: ${prev.seq + 1 === head.seq ? `seq ${head.seq} is` : `seq ${prev.seq + 1}–${head.seq} are`} missing (deleted)`,
      });
    } else if (prev.seq > head.seq) {
      breaks.push({
        kind: 'inserted',
        seq: prev.seq,
        key: prev.key,
        message: `seq ${prev.seq} (${prev.key}) lies beyond the head seq ${head.seq}: inserted`,
      });
    } else if (prev.hash && prev.hash !== head.hash) {
      breaks.push({
        kind: 'changed',
        seq: prev.seq,
        key: prev.key,
        message: `the last record seq ${prev.seq} (${prev.key}) is not the one the head sealed: changed`,
      });
    }
  }
  breaks.sort((a, b) => a.seq - b.seq);
  return {
    chain,
    from: range.from,
    to: range.to,
    ok: breaks.length === 0,
    records,
    ...(first !== undefined ? { firstSeq: first } : {}),
    ...(prev ? { lastSeq: prev.seq } : {}),
    ...(head ? { head: { seq: head.seq, lastDate: head.lastDate } } : {}),
    breaks,
  };
}

/** A few lines for people: OK, or every break. */
export function summarize(r: VerifyReport): string {
  const span = r.records > 0 ? `seq ${r.firstSeq}–${r.lastSeq}` : 'no records';
  const head = r.head ? `; head seq ${r.head.seq} (${r.head.lastDate})` : '; no head';
  const lines = [`archive ${r.chain} ${r.from}..${r.to}: ${r.records} records, ${span}${head}`];
  if (r.ok) lines.push('OK: every hash recomputed, seq continuous, every record linked to its predecessor');
  else {
    lines.push(`BROKEN: ${r.breaks.length} break(s)`);
    for (const b of r.breaks) lines.push(`  [${b.kind}] ${b.message}`);
  }
  return lines.join('\n');
}
