import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type ArchiveRecordStore,
  DEFAULT_ARCHIVE_TAIL_DAYS,
  type HeadEntry,
  type SealMark,
  type StoredHead,
  type StoredRecord,
} from '#shared/domain/archive/archive.ts';
import { type ArchiveRecord, RECORD_VERSION, SEQ_DIGITS, sha256Hex } from '#shared/domain/archive/record.ts';
import { isConditionFailure } from './dynamodb.ts';

/**
 * The sealed archive's tail on the `readings` table (TTL on `expiresAt`), one item per record:
 *   record     pk `a#<chain>` sk `<seq, 12 digits>`: v, mn, t (receivedAt), src, cid?, ok, why?, det?, raw (Binary: the
 *              exact bytes), ph / h (Binary, 32 bytes: prevHash / hash), k (delivery key), expiresAt
 *   seal mark  pk `a#<chain>` sk `sealed`: seq, hash, lastDate, key of the last sealed batch (sorts after the records:
 *              a cold head is one query, newest first, from the mark down)
 *   head item of the platform before batching (read-only): pk `d#<chain>` sk `archive`.
 * `rawSha256` and `rawBase64` are not stored: they are computed from `raw` when read (a changed `raw` then no longer
 * matches `h`). A typical HJ 212 message (about 6 readings, ~350 bytes) makes an item of about 600 bytes: one write
 * unit. Records expire `tailDays` after receipt (the hourly sealing has written them to the bucket long before).
 */
export const ARCHIVE_PK = 'a#';
const SEQ_MIN = '0'.repeat(SEQ_DIGITS);
const SEQ_MAX = '9'.repeat(SEQ_DIGITS);
const pad = (seq: number) => String(seq).padStart(SEQ_DIGITS, '0');
/** the seal mark's sort key: after every record's (digits sort before letters) */
const SEAL_SK = 'sealed';

export const archiveKeys = {
  record: (chain: string, seq: number) => ({ pk: `${ARCHIVE_PK}${chain}`, sk: pad(seq) }),
  sealMark: (chain: string) => ({ pk: `${ARCHIVE_PK}${chain}`, sk: SEAL_SK }),
  legacyHead: (chain: string) => ({ pk: `d#${chain}`, sk: 'archive' }),
};

export function toItem(r: ArchiveRecord, k: string, expiresAt: number): Record<string, unknown> {
  return {
    ...archiveKeys.record(r.chain, r.seq),
    v: r.v,
    mn: r.mn,
    t: r.receivedAt,
    src: r.source,
    ...(r.clientId !== null ? { cid: r.clientId } : {}),
    ok: r.accepted,
    ...(r.reason !== null ? { why: r.reason } : {}),
    ...(r.detail !== null ? { det: r.detail } : {}),
    raw: Buffer.from(r.rawBase64, 'base64'),
    ph: Buffer.from(r.prevHash, 'hex'),
    h: Buffer.from(r.hash, 'hex'),
    k,
    expiresAt,
  };
}

const hex = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : '');
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** An item read back as a record; a damaged item gives a record whose hash no longer matches (the verifier says so). */
export function fromItem(item: Record<string, unknown>): StoredRecord {
  const raw = item.raw instanceof Uint8Array ? item.raw : new Uint8Array(0);
  return {
    record: {
      v: typeof item.v === 'number' ? item.v : RECORD_VERSION,
      chain: String(item.pk).slice(ARCHIVE_PK.length),
      seq: Number(item.sk),
      mn: String(item.mn ?? ''),
      receivedAt: String(item.t ?? ''),
      source: String(item.src ?? ''),
      clientId: text(item.cid),
      accepted: item.ok === true,
      reason: text(item.why),
      detail: text(item.det),
      rawSha256: sha256Hex(raw),
      rawBase64: Buffer.from(raw).toString('base64'),
      prevHash: hex(item.ph),
      hash: hex(item.h),
    },
    k: String(item.k ?? ''),
  };
}

const sealMarkOf = (i: Record<string, unknown>): SealMark => ({
  seq: Number(i.seq),
  hash: String(i.hash),
  lastDate: String(i.lastDate),
  key: String(i.key),
});

export class DynamoArchiveStore implements ArchiveRecordStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly opts: { tailDays: number } = { tailDays: DEFAULT_ARCHIVE_TAIL_DAYS },
  ) {}

  async putNew(record: ArchiveRecord, k: string): Promise<boolean> {
    const expiresAt = Math.floor(Date.parse(record.receivedAt) / 1000) + Math.round(this.opts.tailDays * 86_400);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: toItem(record, k, expiresAt),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * One consistent query, newest first, from the seal mark (sk `sealed` sorts after every 12-digit seq) down: the mark
   * if there is one, then the newest `limit` records, of which only seq, hash and delivery key are read (a projection:
   * the raw bytes stay in the table).
   */
  async head(chain: string, limit: number): Promise<{ newest: HeadEntry[]; sealed?: SealMark }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':pk': `${ARCHIVE_PK}${chain}`, ':lo': SEQ_MIN, ':hi': SEAL_SK },
        // the record's sk, h, k; the mark's seq, hash, lastDate, key
        ProjectionExpression: 'sk, h, k, #seq, #hash, lastDate, #key',
        ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash', '#key': 'key' },
        ScanIndexForward: false,
        Limit: limit + 1,
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const mark = items[0]?.sk === SEAL_SK ? items[0] : undefined;
    const newest = items
      .filter((i) => i.sk !== SEAL_SK)
      .slice(0, limit)
      .map((i) => ({ seq: Number(i.sk), hash: hex(i.h), k: String(i.k ?? '') }));
    return { newest, ...(mark ? { sealed: sealMarkOf(mark) } : {}) };
  }

  async get(chain: string, seq: number): Promise<StoredRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: archiveKeys.record(chain, seq), ConsistentRead: true }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async after(chain: string, afterSeq: number, limit: number): Promise<StoredRecord[]> {
    const found: StoredRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': `${ARCHIVE_PK}${chain}`, ':lo': pad(afterSeq + 1), ':hi': SEQ_MAX },
          ConsistentRead: true,
          ...(Number.isFinite(limit) ? { Limit: limit - found.length } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) found.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }

  async sealed(chain: string): Promise<SealMark | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: archiveKeys.sealMark(chain), ConsistentRead: true }),
    );
    return out.Item ? sealMarkOf(out.Item) : undefined;
  }

  async markSealed(chain: string, expectedSeq: number, next: SealMark): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...archiveKeys.sealMark(chain), ...next, sealedAt: new Date().toISOString() },
          ...(expectedSeq === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'seq = :prev', ExpressionAttributeValues: { ':prev': expectedSeq } }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async legacyHead(chain: string): Promise<StoredHead | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: archiveKeys.legacyHead(chain), ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    return {
      seq: Number(item.seq),
      hash: String(item.hash),
      lastDate: String(item.lastDate),
      recent: Array.isArray(item.recent) ? (item.recent as StoredHead['recent']) : [],
    };
  }
}
