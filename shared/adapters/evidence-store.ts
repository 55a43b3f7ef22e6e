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
 *
 * Orphans. Sealing runs before the owner's own transaction, and a sealed original cannot be deleted (Object Lock), so
 * a claim in (2) also marks the slot UNREFERENCED: gsi1 `evidence#unreferenced` / `<usedAt>#<uploadId>`, and its TTL
 * is removed so the record outlives the upload's two days. The owner's transaction (tip create, timeline entry,
 * patrol create) clears the mark and restores a TTL in the same transaction (`commitUploads`). A mark that stays is an
 * orphan record: `listUnreferencedEvidence` lists them for operators (docs/operations.md), each with its owner, the
 * evidence id and, once sealed, the original's key and SHA-256. A retried submission of the same uploads resumes the
 * owner id (`unreferencedOwner`), so step (3) is skipped for what is sealed already.
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
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type EvidenceOwner,
  evidenceKeys,
  isUploadType,
  UPLOAD_KEEP_SECONDS,
  UPLOAD_TYPES,
  UPLOAD_URL_SECONDS,
  type UploadContentType,
  type UploadRequest,
  uploadKey,
  validateUploadRequests,
} from '#shared/domain/evidence/model.ts';
import { matchesDeclaredType, SNIFF_BYTES } from '#shared/domain/evidence/sniff.ts';
import { StripError, stripImageMetadata } from '#shared/domain/evidence/strip.ts';
import { stripVideoStream } from '#shared/domain/evidence/strip-video.ts';
import { ulid } from '#shared/domain/ids.ts';
import {
  EVIDENCE_LINK_SECONDS,
  EvidenceError,
  type EvidenceFinalizer,
  type EvidenceItem,
  type EvidenceKind,
  type EvidenceViewer,
} from '#shared/domain/tips/evidence-port.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';

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
  /** epoch seconds (DynamoDB TTL); absent while the slot is claimed but unreferenced (it must not expire then) */
  expiresAt?: number;
  /** `<owner kind>#<owner id>` once claimed */
  usedBy?: string;
  usedAt?: string;
  evidenceId?: string;
  evidence?: EvidenceItem;
  /** set (to UNREFERENCED) from the claim until the owner's transaction references the evidence */
  gsi1pk?: string;
  gsi1sk?: string;
}

const slotKey = (uploadId: string) => ({ pk: `upload#${uploadId}`, sk: 'upload' as const });
const ownerRefOf = (owner: EvidenceOwner) => `${owner.kind}#${owner.id}`;
/** gsi1 partition of claimed uploads whose owner has not been written (yet): the orphan records */
export const UNREFERENCED = 'evidence#unreferenced';

function ownerOf(ref: string): EvidenceOwner | undefined {
  const i = ref.indexOf('#');
  const kind = ref.slice(0, i);
  return i > 0 && (kind === 'tip' || kind === 'patrol' || kind === 'response')
    ? { kind, id: ref.slice(i + 1) }
    : undefined;
}

/**
 * The transaction items that reference sealed uploads: for each, clear the unreferenced mark and give the slot back a
 * TTL (two days from `at`; the evidence item now lives in its owner), on the condition that the slot is still claimed
 * by `owner`. The tips, patrols and alarms stores put these into the transaction that writes the owner.
 */
export function commitUploads(table: string, owner: EvidenceOwner, uploadIds: readonly string[], at: string) {
  const expiresAt = Math.floor(Date.parse(at) / 1000) + UPLOAD_KEEP_SECONDS;
  return uploadIds.map((uploadId) => ({
    Update: {
      TableName: table,
      Key: slotKey(uploadId),
      UpdateExpression: 'SET expiresAt = :x, referencedAt = :t REMOVE gsi1pk, gsi1sk',
      ConditionExpression: 'usedBy = :o',
      ExpressionAttributeValues: { ':x': expiresAt, ':t': at, ':o': ownerRefOf(owner) },
    },
  }));
}

/** An orphan record: an upload claimed (and maybe sealed) for an owner that was never written. */
export interface UnreferencedUpload {
  uploadId: string;
  owner: string;
  usedAt: string;
  evidenceId?: string;
  /** present once sealed: the original's key (Object Lock) and SHA-256 */
  evidence?: EvidenceItem;
}

/**
 * Orphan records claimed before `before` (exclusive ISO instant; give an hour ago so submissions still in flight are
 * left out), oldest first: one gsi1 query, paged by `cursor`.
 */
export async function listUnreferencedEvidence(
  deps: Pick<EvidenceStoreDeps, 'db' | 'table'>,
  query: { before: string; limit: number; cursor?: string },
): Promise<{ items: UnreferencedUpload[]; cursor?: string }> {
  const out = await deps.db.send(
    new QueryCommand({
      TableName: deps.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :u AND gsi1sk < :b',
      ExpressionAttributeValues: { ':u': UNREFERENCED, ':b': query.before },
      Limit: query.limit,
      ExclusiveStartKey: startKeyOf(query.cursor),
    }),
  );
  const items = ((out.Items ?? []) as SlotRecord[]).map((slot) => ({
    uploadId: slot.uploadId,
    owner: slot.usedBy ?? '',
    usedAt: slot.usedAt ?? '',
    ...(slot.evidenceId ? { evidenceId: slot.evidenceId } : {}),
    ...(slot.evidence ? { evidence: slot.evidence } : {}),
  }));
  const cursor = encodeCursor(out.LastEvaluatedKey);
  return { items, ...(cursor ? { cursor } : {}) };
}

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
    if (!slot) throw new EvidenceError(`upload ${uploadId} does not exist (上传编号 ${uploadId} 不存在)`, uploadId);
    if (!isUploadType(slot.contentType))
      throw new EvidenceError(`upload ${uploadId} has an unknown type (文件类型不受支持)`, uploadId);
    if (slot.usedBy !== undefined) {
      if (slot.usedBy === ownerRef && slot.evidence)
        return { uploadId, slot, contentType: slot.contentType, done: slot.evidence };
      throw new EvidenceError(`upload ${uploadId} is already attached (该文件已被其他材料使用)`, uploadId);
    }
    if ((slot.expiresAt ?? 0) * 1000 < now().getTime()) {
      throw new EvidenceError(`upload ${uploadId} has expired (上传地址已过期，请重新上传)`, uploadId);
    }
    let head: { ContentLength?: number; ContentType?: string };
    try {
      head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.uploadsBucket, Key: slot.key }));
    } catch (err) {
      if (isNotFound(err))
        throw new EvidenceError(`upload ${uploadId} was never completed (文件未上传完成，请重新上传)`, uploadId);
      throw err;
    }
    if (head.ContentLength !== slot.bytes) {
      throw new EvidenceError(
        `upload ${uploadId} is ${head.ContentLength ?? 0} bytes, not the ${slot.bytes} declared (文件大小为 ${head.ContentLength ?? 0} 字节，与申报的 ${slot.bytes} 字节不符)`,
        uploadId,
      );
    }
    const stored = (head.ContentType ?? '').split(';')[0]?.trim().toLowerCase();
    if (stored !== slot.contentType) {
      throw new EvidenceError(
        `upload ${uploadId} is stored as ${stored || 'no type'}, not ${slot.contentType} (文件类型与申报的 ${slot.contentType} 不符)`,
        uploadId,
      );
    }
    const first = await deps.s3.send(
      new GetObjectCommand({ Bucket: deps.uploadsBucket, Key: slot.key, Range: `bytes=0-${SNIFF_BYTES - 1}` }),
    );
    if (!matchesDeclaredType(slot.contentType, await readAll(first.Body))) {
      throw new EvidenceError(
        `upload ${uploadId} is not a ${slot.contentType} file (文件内容不是 ${slot.contentType})`,
        uploadId,
      );
    }
    return { uploadId, slot, contentType: slot.contentType };
  }

  async function seal(c: Checked, owner: EvidenceOwner, evidenceId: string) {
    const { kind } = UPLOAD_TYPES[c.contentType];
    const keys = evidenceKeys(owner, evidenceId, c.contentType);
    const got = await deps.s3.send(new GetObjectCommand({ Bucket: deps.uploadsBucket, Key: c.slot.key }));
    const metadata = (sha256: string) => ({ sha256, 'upload-id': c.uploadId, 'evidence-id': evidenceId });
    let sha256: string;
    if (kind === 'photo') {
      const bytes = await readAll(got.Body);
      if (bytes.length !== c.slot.bytes || !matchesDeclaredType(c.contentType, bytes)) {
        throw new EvidenceError(
          `upload ${c.uploadId} changed while it was being sealed (文件在封存过程中被改动，请重新上传)`,
          c.uploadId,
        );
      }
      let working: Uint8Array;
      try {
        working = stripImageMetadata(bytes, c.contentType === 'image/png' ? 'image/png' : 'image/jpeg');
      } catch (err) {
        if (err instanceof StripError)
          throw new EvidenceError(`upload ${c.uploadId}: ${err.message} (图片文件已损坏，无法处理)`, c.uploadId);
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
      // the working copy first, streamed through the metadata stripper (sizes unchanged): a video that is not a
      // well-formed box sequence is refused before anything of it is sealed
      const again = await deps.s3.send(new GetObjectCommand({ Bucket: deps.uploadsBucket, Key: c.slot.key }));
      const body = again.Body as AsyncIterable<Uint8Array> | undefined;
      if (!body) throw new Error('S3 returned no body');
      try {
        await deps.s3.send(
          new PutObjectCommand({
            Bucket: deps.evidenceBucket,
            Key: keys.workingKey,
            Body: Readable.from(stripVideoStream(body)),
            ContentLength: c.slot.bytes,
            ContentType: c.contentType,
            Metadata: { 'evidence-id': evidenceId },
          }),
        );
      } catch (err) {
        // the stripper's error reaches here as it is, or as the cause of the aborted upload
        const strip = err instanceof StripError ? err : (err as { cause?: unknown })?.cause;
        if (strip instanceof StripError)
          throw new EvidenceError(`upload ${c.uploadId}: ${strip.message} (视频文件已损坏，无法处理)`, c.uploadId);
        throw err;
      }
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

  /** Gives back claims whose sealing did not happen: unclaimed, unmarked, with their TTL again. */
  async function release(claims: { uploadId: string; evidenceId: string; expiresAt: number }[]): Promise<void> {
    await Promise.allSettled(
      claims.map((c) =>
        deps.db.send(
          new UpdateCommand({
            TableName: deps.table,
            Key: slotKey(c.uploadId),
            UpdateExpression: 'SET expiresAt = :x REMOVE usedBy, evidenceId, usedAt, gsi1pk, gsi1sk',
            ConditionExpression: 'evidenceId = :e AND attribute_not_exists(evidence)',
            ExpressionAttributeValues: { ':e': c.evidenceId, ':x': c.expiresAt },
          }),
        ),
      ),
    );
  }

  return {
    async unreferencedOwner(uploadIds) {
      const slots = await Promise.all(
        [...new Set(uploadIds)].map(
          async (id) =>
            (await deps.db.send(new GetCommand({ TableName: deps.table, Key: slotKey(id), ConsistentRead: true })))
              .Item as SlotRecord | undefined,
        ),
      );
      const claimed = slots.filter((slot) => slot?.usedBy !== undefined) as SlotRecord[];
      const owners = new Set(claimed.map((slot) => slot.usedBy));
      // only sealed, still unreferenced claims of ONE owner can be resumed; anything else is refused by finalize
      if (owners.size !== 1 || claimed.some((slot) => slot.gsi1pk !== UNREFERENCED || !slot.evidence)) return undefined;
      return ownerOf(claimed[0]?.usedBy ?? '');
    },

    async finalize({ owner, uploadIds }) {
      const seen = new Set<string>();
      for (const id of uploadIds) {
        if (seen.has(id)) throw new EvidenceError(`upload ${id} is named twice (同一文件被重复引用)`, id);
        seen.add(id);
      }
      const ownerRef = ownerRefOf(owner);
      const checked: Checked[] = [];
      for (const id of uploadIds) checked.push(await check(id, ownerRef));
      const todo = checked.filter((c) => !c.done);
      const claims = todo.map((c) => ({
        uploadId: c.uploadId,
        evidenceId: ulid(now().getTime()),
        expiresAt: c.slot.expiresAt ?? 0,
      }));
      if (claims.length > 0) {
        const at = now().toISOString();
        try {
          // claimed AND marked unreferenced (no TTL) before anything is sealed: no sealed original without a record
          await deps.db.send(
            new TransactWriteCommand({
              TransactItems: claims.map((c) => ({
                Update: {
                  TableName: deps.table,
                  Key: slotKey(c.uploadId),
                  UpdateExpression:
                    'SET usedBy = :o, evidenceId = :e, usedAt = :t, gsi1pk = :u, gsi1sk = :k REMOVE expiresAt',
                  ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedBy)',
                  ExpressionAttributeValues: {
                    ':o': ownerRef,
                    ':e': c.evidenceId,
                    ':t': at,
                    ':u': UNREFERENCED,
                    ':k': `${at}#${c.uploadId}`,
                  },
                },
              })),
            }),
          );
        } catch (err) {
          if (!isConditionFailure(err)) throw err;
          const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
          const index = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
          const uploadId = claims[Math.max(index, 0)]?.uploadId ?? '';
          throw new EvidenceError(`upload ${uploadId} is already attached (该文件已被其他材料使用)`, uploadId);
        }
      }
      const made = new Map<string, EvidenceItem>();
      for (const c of checked) if (c.done) made.set(c.uploadId, c.done);
      for (const [i, c] of todo.entries()) {
        const claim = claims[i] as (typeof claims)[number];
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
            `upload ${c.uploadId} could not be sealed: ${err instanceof Error ? err.name : 'error'} (文件封存失败，请重试)`,
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

/**
 * Short-lived read links to evidence (presigned GET, EVIDENCE_LINK_SECONDS): the tips use-case asks only for
 * metadata-stripped working copies, and the official function's role may read only `…/working.*` keys
 * (infra/constructs/tips.ts), so an original cannot be linked even by mistake. The answer is served as an attachment
 * of the stored type, never sniffed.
 */
export function s3EvidenceViewer(deps: { s3: S3Client; evidenceBucket: string; now?: () => Date }): EvidenceViewer {
  return {
    async link(key, contentType) {
      const now = deps.now?.() ?? new Date();
      if (!/\/working\.[a-z0-9]+$/.test(key)) throw new Error('only working copies are linked');
      const url = await getSignedUrl(
        deps.s3,
        new GetObjectCommand({
          Bucket: deps.evidenceBucket,
          Key: key,
          ResponseContentType: contentType,
          ResponseCacheControl: 'private, no-store',
        }),
        { expiresIn: EVIDENCE_LINK_SECONDS, signingDate: now },
      );
      return { url, expiresAt: new Date(now.getTime() + EVIDENCE_LINK_SECONDS * 1000).toISOString() };
    },
  };
}
