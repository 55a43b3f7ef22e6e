/**
 * Evidence in S3 and DynamoDB: upload slots (presigned PUT into the uploads bucket) and `finalize`, which turns
 * uploads into sealed evidence (implements `EvidenceFinalizer` from shared/domain/tips/evidence-port.ts).
 *
 * Slots are items in the tips table, `pk = upload#<id>`, `sk = upload`, TTL `expiresAt` (2 days, as the bucket's
 * lifecycle rule); finalize checks the expiry itself because DynamoDB TTL deletes late.
 * Uploads are presigned PUTs (s3-presigned-post is not installed) with Content-Type and Content-Length signed, so the
 * browser must send exactly the declared type and size; the URL lives 15 minutes.
 * Finalize, for a list of uploads: (1) checks every slot (exists, not expired, not used), HEADs every object (size and
 * type as declared) and sniffs its first bytes; (2) claims all slots in one transaction (conditional: a slot cannot be
 * attached twice); (3) per upload streams the object once through SHA-256 into the sealed original
 * `evidence/<owner kind>/<owner id>/<evidence id>/original` (Object Lock by the evidence bucket's default retention)
 * and, for photos, writes `…/working.<ext>` with all metadata stripped; (4) records the evidence on the slot and
 * deletes the temporary upload. A failure in (3) releases the claims and throws EvidenceError naming the upload.
 * Retrying finalize for the same owner returns the evidence already made (idempotent).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  evidenceKeys,
  isUploadType,
  UPLOAD_KEEP_SECONDS,
  UPLOAD_TYPES,
  UPLOAD_URL_SECONDS,
  type UploadContentType,
  type UploadRequest,
  uploadKey,
  validateUploadRequests,
} from '../domain/evidence/model.ts';
import { matchesDeclaredType, SNIFF_BYTES } from '../domain/evidence/sniff.ts';
import { StripError, stripImageMetadata } from '../domain/evidence/strip.ts';
import { ulid } from '../domain/ids.ts';
import {
  EvidenceError,
  type EvidenceFinalizer,
  type EvidenceItem,
  type EvidenceKind,
} from '../domain/tips/evidence-port.ts';
import { isConditionFailure } from './dynamodb.ts';

export interface EvidenceStoreDeps {
  s3: S3Client;
  db: DynamoDBDocumentClient;
  /** tips table: holds the upload slots */
  table: string;
  /** temporary uploads (no Object Lock, lifecycle expiry) */
  uploadsBucket: string;
  /** sealed evidence (Object Lock) */
  evidenceBucket: string;
  now?: () => Date;
}

export interface UploadSlot {
  uploadId: string;
  /** PUT the file here with exactly `headers` (browsers set Content-Length from the body themselves) */
  url: string;
  method: 'PUT';
  headers: { 'content-type': string };
  contentType: UploadContentType;
  bytes: number;
  expiresAt: string;
}

interface SlotRecord {
  pk: string;
  sk: 'upload';
  uploadId: string;
  key: string;
  contentType: string;
  bytes: number;
  createdAt: string;
  /** epoch seconds (DynamoDB TTL) */
  expiresAt: number;
  usedBy?: string;
  evidenceId?: string;
  evidence?: EvidenceItem;
}

const slotKey = (uploadId: string) => ({ pk: `upload#${uploadId}`, sk: 'upload' as const });

/** Creates one upload slot per file: validates, records the slot, presigns the PUT. */
export async function createUploadSlots(
  deps: Pick<EvidenceStoreDeps, 's3' | 'db' | 'table' | 'uploadsBucket' | 'now'>,
  files: UploadRequest[],
): Promise<UploadSlot[]> {
  const checked = validateUploadRequests(files);
  const now = deps.now?.() ?? new Date();
  const slots: UploadSlot[] = [];
  for (const file of checked) {
    const uploadId = ulid(now.getTime());
    const key = uploadKey(uploadId, now);
    const record: SlotRecord = {
      ...slotKey(uploadId),
      uploadId,
      key,
      contentType: file.contentType,
      bytes: file.bytes,
      createdAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + UPLOAD_KEEP_SECONDS,
    };
    await deps.db.send(
      new PutCommand({ TableName: deps.table, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    const url = await getSignedUrl(
      deps.s3,
      new PutObjectCommand({
        Bucket: deps.uploadsBucket,
        Key: key,
        ContentType: file.contentType,
        ContentLength: file.bytes,
      }),
      {
        expiresIn: UPLOAD_URL_SECONDS,
        signableHeaders: new Set(['content-type', 'content-length']),
        signingDate: now,
      },
    );
    slots.push({
      uploadId,
      url,
      method: 'PUT',
      headers: { 'content-type': file.contentType },
      contentType: file.contentType,
      bytes: file.bytes,
      expiresAt: new Date(now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
    });
  }
  return slots;
}

interface Checked {
  uploadId: string;
  slot: SlotRecord;
  contentType: UploadContentType;
  /** evidence already made for this owner (idempotent retry) */
  done?: EvidenceItem;
}

const isNotFound = (err: unknown) =>
  err instanceof Error &&
  (err.name === 'NotFound' ||
    err.name === 'NoSuchKey' ||
    (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

async function readAll(body: unknown): Promise<Buffer> {
  if (body && typeof body === 'object' && 'transformToByteArray' in body) {
    const fn = (body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray;
    return Buffer.from(await fn.call(body));
  }
  throw new Error('S3 returned no body');
}

/** Finalizes uploads into sealed evidence. */
export function s3EvidenceFinalizer(deps: EvidenceStoreDeps): EvidenceFinalizer {
  const now = () => deps.now?.() ?? new Date();

  async function check(uploadId: string, ownerRef: string): Promise<Checked> {
    const got = await deps.db.send(
      new GetCommand({ TableName: deps.table, Key: slotKey(uploadId), ConsistentRead: true }),
    );
    const slot = got.Item as SlotRecord | undefined;
    if (!slot) throw new EvidenceError(`upload ${uploadId} does not exist`, uploadId);
    if (!isUploadType(slot.contentType)) throw new EvidenceError(`upload ${uploadId} has an unknown type`, uploadId);
    if (slot.usedBy !== undefined) {
      if (slot.usedBy === ownerRef && slot.evidence)
        return { uploadId, slot, contentType: slot.contentType, done: slot.evidence };
      throw new EvidenceError(`upload ${uploadId} is already attached`, uploadId);
    }
    if (slot.expiresAt * 1000 < now().getTime()) throw new EvidenceError(`upload ${uploadId} has expired`, uploadId);
    let head: { ContentLength?: number; ContentType?: string };
    try {
      head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.uploadsBucket, Key: slot.key }));
    } catch (err) {
      if (isNotFound(err)) throw new EvidenceError(`upload ${uploadId} was never completed`, uploadId);
      throw err;
    }
    if (head.ContentLength !== slot.bytes) {
      throw new EvidenceError(
        `upload ${uploadId} is ${head.ContentLength ?? 0} bytes, not the ${slot.bytes} declared`,
        uploadId,
      );
    }
    const stored = (head.ContentType ?? '').split(';')[0]?.trim().toLowerCase();
    if (stored !== slot.contentType) {
      throw new EvidenceError(
        `upload ${uploadId} is stored as ${stored || 'no type'}, not ${slot.contentType}`,
        uploadId,
      );
    }
    const first = await deps.s3.send(
      new GetObjectCommand({ Bucket: deps.uploadsBucket, Key: slot.key, Range: `bytes=0-${SNIFF_BYTES - 1}` }),
    );
    if (!matchesDeclaredType(slot.contentType, await readAll(first.Body))) {
      throw new EvidenceError(`upload ${uploadId} is not a ${slot.contentType} file`, uploadId);
    }
    return { uploadId, slot, contentType: slot.contentType };
  }

  async function seal(c: Checked, owner: { kind: 'tip' | 'patrol'; id: string }, evidenceId: string) {
    const { kind } = UPLOAD_TYPES[c.contentType];
    const keys = evidenceKeys(owner, evidenceId, c.contentType);
    const got = await deps.s3.send(new GetObjectCommand({ Bucket: deps.uploadsBucket, Key: c.slot.key }));
    const metadata = (sha256: string) => ({ sha256, 'upload-id': c.uploadId, 'evidence-id': evidenceId });
    let sha256: string;
    if (kind === 'photo') {
      const bytes = await readAll(got.Body);
      if (bytes.length !== c.slot.bytes || !matchesDeclaredType(c.contentType, bytes)) {
        throw new EvidenceError(`upload ${c.uploadId} changed while it was being sealed`, c.uploadId);
      }
      let working: Uint8Array;
      try {
        working = stripImageMetadata(bytes, c.contentType === 'image/png' ? 'image/png' : 'image/jpeg');
      } catch (err) {
        if (err instanceof StripError) throw new EvidenceError(`upload ${c.uploadId}: ${err.message}`, c.uploadId);
        throw err;
      }
      sha256 = createHash('sha256').update(bytes).digest('hex');
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.evidenceBucket,
          Key: keys.originalKey,
          Body: bytes,
          ContentType: c.contentType,
          Metadata: metadata(sha256),
        }),
      );
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.evidenceBucket,
          Key: keys.workingKey,
          Body: working,
          ContentType: c.contentType,
          Metadata: { 'evidence-id': evidenceId },
        }),
      );
    } else {
      // videos (up to 200 MB) stream once through the hash into the sealed original: what is hashed is what is kept
      const hash = createHash('sha256');
      const source = got.Body as AsyncIterable<Uint8Array> | undefined;
      if (!source) throw new Error('S3 returned no body');
      const hashed = Readable.from(
        (async function* () {
          for await (const chunk of source) {
            hash.update(chunk);
            yield chunk;
          }
        })(),
      );
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.evidenceBucket,
          Key: keys.originalKey,
          Body: hashed,
          ContentLength: c.slot.bytes,
          ContentType: c.contentType,
          Metadata: { 'upload-id': c.uploadId, 'evidence-id': evidenceId },
        }),
      );
      sha256 = hash.digest('hex');
    }
    const item: EvidenceItem = {
      id: evidenceId,
      kind: kind as EvidenceKind,
      contentType: c.contentType,
      bytes: c.slot.bytes,
      sha256,
      originalKey: keys.originalKey,
      ...(keys.workingKey ? { workingKey: keys.workingKey } : {}),
      finalizedAt: now().toISOString(),
    };
    return item;
  }

  async function release(claims: { uploadId: string; evidenceId: string }[]): Promise<void> {
    await Promise.allSettled(
      claims.map((c) =>
        deps.db.send(
          new UpdateCommand({
            TableName: deps.table,
            Key: slotKey(c.uploadId),
            UpdateExpression: 'REMOVE usedBy, evidenceId, usedAt',
            ConditionExpression: 'evidenceId = :e AND attribute_not_exists(evidence)',
            ExpressionAttributeValues: { ':e': c.evidenceId },
          }),
        ),
      ),
    );
  }

  return {
    async finalize({ owner, uploadIds }) {
      const seen = new Set<string>();
      for (const id of uploadIds) {
        if (seen.has(id)) throw new EvidenceError(`upload ${id} is named twice`, id);
        seen.add(id);
      }
      const ownerRef = `${owner.kind}#${owner.id}`;
      const checked: Checked[] = [];
      for (const id of uploadIds) checked.push(await check(id, ownerRef));
      const todo = checked.filter((c) => !c.done);
      const claims = todo.map((c) => ({ uploadId: c.uploadId, evidenceId: ulid(now().getTime()) }));
      if (claims.length > 0) {
        try {
          await deps.db.send(
            new TransactWriteCommand({
              TransactItems: claims.map((c) => ({
                Update: {
                  TableName: deps.table,
                  Key: slotKey(c.uploadId),
                  UpdateExpression: 'SET usedBy = :o, evidenceId = :e, usedAt = :t',
                  ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedBy)',
                  ExpressionAttributeValues: { ':o': ownerRef, ':e': c.evidenceId, ':t': now().toISOString() },
                },
              })),
            }),
          );
        } catch (err) {
          if (!isConditionFailure(err)) throw err;
          const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
          const index = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
          const uploadId = claims[Math.max(index, 0)]?.uploadId ?? '';
          throw new EvidenceError(`upload ${uploadId} is already attached`, uploadId);
        }
      }
      const made = new Map<string, EvidenceItem>();
      for (const c of checked) if (c.done) made.set(c.uploadId, c.done);
      for (const [i, c] of todo.entries()) {
        const claim = claims[i] as { uploadId: string; evidenceId: string };
        try {
          const item = await seal(c, owner, claim.evidenceId);
          await deps.db.send(
            new UpdateCommand({
              TableName: deps.table,
              Key: slotKey(c.uploadId),
              UpdateExpression: 'SET evidence = :v',
              ConditionExpression: 'evidenceId = :e',
              ExpressionAttributeValues: { ':v': item, ':e': claim.evidenceId },
            }),
          );
          made.set(c.uploadId, item);
        } catch (err) {
          await release(claims.slice(i));
          if (err instanceof EvidenceError) throw err;
          throw new EvidenceError(
            `upload ${c.uploadId} could not be sealed: ${err instanceof Error ? err.name : 'error'}`,
            c.uploadId,
          );
        }
      }
      for (const c of todo) {
        await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.uploadsBucket, Key: c.slot.key })).catch(() => {
          // the lifecycle rule removes it after 2 days
        });
      }
      return uploadIds.map((id) => made.get(id) as EvidenceItem);
    },
  };
}
