import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createUploadSlots,
  listUnreferencedEvidence,
  s3EvidenceFinalizer,
  s3EvidenceViewer,
  UNREFERENCED,
} from '#shared/adapters/evidence-store.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import { EvidenceError } from '#shared/domain/tips/evidence-port.ts';
import { box, cleanJpeg, contains, GPS, jpegWithMetadata, MODEL, videoWithMetadata } from '../helpers/images.ts';

expect.extend(allCustomMatcher);

const creds = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const s3 = new S3Client({ ...creds, requestChecksumCalculation: 'WHEN_REQUIRED' });
const db = DynamoDBDocumentClient.from(new DynamoDBClient(creds));
const s3m = mockClient(s3);
const dbm = mockClient(db);
const NOW = new Date('2025-03-01T08:00:00.000Z');
const deps = { s3, db, table: 'tips', uploadsBucket: 'uploads-b', evidenceBucket: 'evidence-b', now: () => NOW };
const owner = { kind: 'tip' as const, id: 'T1' };

const UP = '01JNH8ZB000000000000000001';
const photo = jpegWithMetadata();
const slot = (over: Record<string, unknown> = {}) => ({
  pk: `upload#${UP}`,
  sk: 'upload',
  uploadId: UP,
  key: `uploads/2025-03-01/${UP}`,
  contentType: 'image/jpeg',
  bytes: photo.length,
  createdAt: NOW.toISOString(),
  expiresAt: NOW.getTime() / 1000 + 3600,
  ...over,
});
/** What the SDK's streaming body offers: async iteration and transformToByteArray. */
const body = (b: Buffer) =>
  Object.assign(Readable.from([b]), { transformToByteArray: async () => new Uint8Array(b) }) as never;

function happyObjects(bytes: Buffer = photo) {
  s3m.on(HeadObjectCommand).resolves({ ContentLength: bytes.length, ContentType: 'image/jpeg' });
  s3m.on(GetObjectCommand).callsFake((input: { Range?: string }) => ({
    Body: body(input.Range ? bytes.subarray(0, 16) : bytes),
  }));
}

async function refusal(p: Promise<unknown>): Promise<EvidenceError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EvidenceError) return err;
    throw err;
  }
  throw new Error('expected an EvidenceError');
}

beforeEach(() => {
  s3m.reset();
  dbm.reset();
});

describe('createUploadSlots', () => {
  it('records a slot with a 2-day TTL and presigns a PUT with content type and length signed for 15 minutes', async () => {
    dbm.on(PutCommand).resolves({});
    const [s] = await createUploadSlots(deps, [{ contentType: 'image/jpeg', bytes: 1234, fileName: 'IMG_张三.jpg' }]);
    expect(s?.uploadId).toMatch(/^[0-9A-Z]{26}$/);
    const url = new URL(s?.url ?? '');
    expect(url.pathname).toBe(`/uploads/2025-03-01/${s?.uploadId}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(url.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect(s?.expiresAt).toBe('2025-03-01T08:15:00.000Z');
    expect(dbm).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'tips',
      Item: expect.objectContaining({
        pk: `upload#${s?.uploadId}`,
        contentType: 'image/jpeg',
        bytes: 1234,
        expiresAt: NOW.getTime() / 1000 + 2 * 24 * 3600,
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(JSON.stringify(dbm.commandCalls(PutCommand)[0]?.args[0].input)).not.toContain('张三');
  });

  it('refuses a wrong type or size before recording anything', async () => {
    await expect(createUploadSlots(deps, [{ contentType: 'text/html', bytes: 10 }])).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(dbm).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('s3EvidenceFinalizer', () => {
  const finalizer = s3EvidenceFinalizer(deps);

  it('seals the original, writes a stripped working copy, claims the slot and deletes the upload', async () => {
    dbm.on(GetCommand).resolves({ Item: slot() });
    dbm.on(TransactWriteCommand).resolves({});
    dbm.on(UpdateCommand).resolves({});
    happyObjects();
    s3m.on(PutObjectCommand).resolves({});
    s3m.on(DeleteObjectCommand).resolves({});
    const [item] = await finalizer.finalize({ owner, uploadIds: [UP] });
    const sha256 = createHash('sha256').update(photo).digest('hex');
    expect(item).toMatchObject({ kind: 'photo', contentType: 'image/jpeg', bytes: photo.length, sha256 });
    expect(item?.originalKey).toBe(`evidence/tip/T1/${item?.id}/original`);
    expect(item?.workingKey).toBe(`evidence/tip/T1/${item?.id}/working.jpg`);
    const puts = s3m.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Bucket, p.Key])).toEqual([
      ['evidence-b', item?.originalKey],
      ['evidence-b', item?.workingKey],
    ]);
    expect(Buffer.from(puts[0]?.Body as Uint8Array).equals(photo)).toBe(true);
    expect(puts[0]?.Metadata).toMatchObject({ sha256 });
    const working = Buffer.from(puts[1]?.Body as Uint8Array);
    expect(working.equals(cleanJpeg())).toBe(true);
    expect(contains(working, 'GPS')).toBe(false);
    expect(dbm).toHaveReceivedCommandWith(TransactWriteCommand, {
      TransactItems: [
        expect.objectContaining({
          Update: expect.objectContaining({
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedBy)',
          }),
        }),
      ],
    });
    expect(dbm).toHaveReceivedCommandWith(UpdateCommand, { UpdateExpression: 'SET evidence = :v' });
    expect(s3m).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: 'uploads-b', Key: slot().key });
  });

  it('seals a video and writes a working copy streamed through the metadata stripper, the same size', async () => {
    const clip = videoWithMetadata();
    dbm.on(GetCommand).resolves({ Item: slot({ contentType: 'video/mp4', bytes: clip.length }) });
    dbm.on(TransactWriteCommand).resolves({});
    dbm.on(UpdateCommand).resolves({});
    s3m.on(HeadObjectCommand).resolves({ ContentLength: clip.length, ContentType: 'video/mp4' });
    s3m.on(GetObjectCommand).callsFake((input: { Range?: string }) => ({
      Body: body(input.Range ? clip.subarray(0, 16) : clip),
    }));
    // the SDK reads a streamed body while it sends: so does this fake
    const stored = new Map<string, Buffer>();
    s3m.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: AsyncIterable<Uint8Array> }) => {
      const parts: Uint8Array[] = [];
      for await (const part of input.Body) parts.push(part);
      stored.set(input.Key, Buffer.concat(parts));
      return {};
    });
    s3m.on(DeleteObjectCommand).resolves({});
    const [item] = await finalizer.finalize({ owner, uploadIds: [UP] });
    expect(item).toMatchObject({ kind: 'video', sha256: createHash('sha256').update(clip).digest('hex') });
    expect(item?.workingKey).toBe(`evidence/tip/T1/${item?.id}/working.mp4`);
    const working = stored.get(String(item?.workingKey)) as Buffer;
    expect(working.length).toBe(clip.length);
    for (const secret of [GPS, MODEL, 'Zhang San']) expect(contains(working, secret), secret).toBe(false);
    expect(stored.get(String(item?.originalKey))?.equals(clip)).toBe(true);
  });

  it('refuses a video that is not a well-formed box sequence, sealing nothing of it', async () => {
    const broken = Buffer.concat([
      box('ftyp', Buffer.from('isom')),
      Buffer.from([0, 0, 0x10, 0, 0x6d, 0x6f, 0x6f, 0x76]),
    ]);
    dbm.on(GetCommand).resolves({ Item: slot({ contentType: 'video/mp4', bytes: broken.length }) });
    dbm.on(TransactWriteCommand).resolves({});
    dbm.on(UpdateCommand).resolves({});
    s3m.on(HeadObjectCommand).resolves({ ContentLength: broken.length, ContentType: 'video/mp4' });
    s3m.on(GetObjectCommand).callsFake((input: { Range?: string }) => ({
      Body: body(input.Range ? broken.subarray(0, 16) : broken),
    }));
    s3m.on(PutObjectCommand).callsFake(async (input: { Body: AsyncIterable<Uint8Array> }) => {
      for await (const _ of input.Body) {
        // read through, as the SDK does
      }
      return {};
    });
    const err = await refusal(finalizer.finalize({ owner, uploadIds: [UP] }));
    expect(err.message).toContain('视频文件已损坏，无法处理');
    expect(s3m.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).not.toContainEqual(
      expect.stringContaining('/original'),
    );
  });

  it('refuses a missing slot, naming the upload', async () => {
    dbm.on(GetCommand).resolves({});
    const err = await refusal(finalizer.finalize({ owner, uploadIds: [UP] }));
    expect(err.uploadId).toBe(UP);
    expect(err.message).toBe(`upload ${UP} does not exist (上传编号 ${UP} 不存在)`);
  });

  it('refuses an upload that was never completed', async () => {
    dbm.on(GetCommand).resolves({ Item: slot() });
    s3m.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound' }));
    expect((await refusal(finalizer.finalize({ owner, uploadIds: [UP] }))).message).toContain('never completed');
  });

  it('refuses another size than declared', async () => {
    dbm.on(GetCommand).resolves({ Item: slot({ bytes: 10 }) });
    happyObjects();
    const err = await refusal(finalizer.finalize({ owner, uploadIds: [UP] }));
    expect(err.message).toBe(
      `upload ${UP} is ${photo.length} bytes, not the 10 declared (文件大小为 ${photo.length} 字节，与申报的 10 字节不符)`,
    );
  });

  it('refuses content whose magic bytes are not the declared type', async () => {
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    dbm.on(GetCommand).resolves({ Item: slot({ bytes: html.length }) });
    happyObjects(html);
    const err = await refusal(finalizer.finalize({ owner, uploadIds: [UP] }));
    expect(err.message).toBe(`upload ${UP} is not a image/jpeg file (文件内容不是 image/jpeg)`);
    expect(s3m).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('refuses an upload already attached to another tip, and one named twice', async () => {
    dbm.on(GetCommand).resolves({ Item: slot({ usedBy: 'tip#OTHER', evidenceId: 'E0' }) });
    expect((await refusal(finalizer.finalize({ owner, uploadIds: [UP] }))).message).toContain('already attached');
    expect((await refusal(finalizer.finalize({ owner, uploadIds: [UP, UP] }))).message).toContain('named twice');
  });

  it('refuses when a concurrent finalize claimed the slot first', async () => {
    dbm.on(GetCommand).resolves({ Item: slot() });
    happyObjects();
    dbm.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
      }),
    );
    const err = await refusal(finalizer.finalize({ owner, uploadIds: [UP] }));
    expect(err).toMatchObject({ uploadId: UP, message: `upload ${UP} is already attached (该文件已被其他材料使用)` });
    expect(s3m).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('returns the evidence already made when the same owner retries', async () => {
    const done = {
      id: 'E1',
      kind: 'photo',
      contentType: 'image/jpeg',
      bytes: 1,
      sha256: 'x',
      originalKey: 'k',
      finalizedAt: 't',
    };
    dbm.on(GetCommand).resolves({ Item: slot({ usedBy: 'tip#T1', evidenceId: 'E1', evidence: done }) });
    expect(await finalizer.finalize({ owner, uploadIds: [UP] })).toEqual([done]);
    expect(s3m).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('refuses an expired slot', async () => {
    dbm.on(GetCommand).resolves({ Item: slot({ expiresAt: NOW.getTime() / 1000 - 1 }) });
    expect((await refusal(finalizer.finalize({ owner, uploadIds: [UP] }))).message).toBe(
      `upload ${UP} has expired (上传地址已过期，请重新上传)`,
    );
  });

  it('releases the claim when sealing fails', async () => {
    dbm.on(GetCommand).resolves({ Item: slot() });
    dbm.on(TransactWriteCommand).resolves({});
    dbm.on(UpdateCommand).resolves({});
    happyObjects();
    s3m.on(PutObjectCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    const err = await refusal(finalizer.finalize({ owner, uploadIds: [UP] }));
    expect(err.message).toBe(`upload ${UP} could not be sealed: InternalError (文件封存失败，请重试)`);
    // changed with the orphan records: a released claim also loses its unreferenced mark and gets its TTL back
    expect(dbm).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET expiresAt = :x REMOVE usedBy, evidenceId, usedAt, gsi1pk, gsi1sk',
      ExpressionAttributeValues: expect.objectContaining({ ':x': slot().expiresAt }),
    });
    expect(s3m).not.toHaveReceivedCommand(DeleteObjectCommand);
  });

  it('marks a claim unreferenced, without TTL, before sealing anything', async () => {
    const order: string[] = [];
    dbm.on(GetCommand).resolves({ Item: slot() });
    dbm.on(TransactWriteCommand).callsFake(async () => {
      order.push('claim');
      return {};
    });
    dbm.on(UpdateCommand).resolves({});
    happyObjects();
    s3m.on(PutObjectCommand).callsFake(async () => {
      order.push('seal');
      return {};
    });
    s3m.on(DeleteObjectCommand).resolves({});
    await finalizer.finalize({ owner, uploadIds: [UP] });
    expect(order[0]).toBe('claim');
    const claim = dbm.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Update;
    expect(claim?.UpdateExpression).toBe(
      'SET usedBy = :o, evidenceId = :e, usedAt = :t, gsi1pk = :u, gsi1sk = :k REMOVE expiresAt',
    );
    expect(claim?.ExpressionAttributeValues).toMatchObject({
      ':o': 'tip#T1',
      ':u': UNREFERENCED,
      ':k': `${NOW.toISOString()}#${UP}`,
    });
  });

  it('returns the sealed evidence to a retry of the same owner even though the claim has no TTL any more', async () => {
    const done = { id: 'E1', kind: 'photo', contentType: 'image/jpeg', bytes: 1, sha256: 'x', originalKey: 'k' };
    const { expiresAt: _x, ...claimed } = slot({ usedBy: 'tip#T1', evidenceId: 'E1', evidence: done });
    dbm.on(GetCommand).resolves({ Item: { ...claimed, gsi1pk: UNREFERENCED } });
    expect(await finalizer.finalize({ owner, uploadIds: [UP] })).toEqual([done]);
    expect(dbm).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});

describe('unreferenced (orphan) uploads', () => {
  const finalizer = s3EvidenceFinalizer(deps);
  const U2 = '01JNH8ZB000000000000000002';
  const sealed = (usedBy: string, over: Record<string, unknown> = {}) =>
    slot({ usedBy, evidenceId: 'E', evidence: { id: 'E', originalKey: 'k' }, gsi1pk: UNREFERENCED, ...over });
  const slots = (a: unknown, b: unknown) => {
    dbm.on(GetCommand, { Key: { pk: `upload#${UP}`, sk: 'upload' } }).resolves({ Item: a as never });
    dbm.on(GetCommand, { Key: { pk: `upload#${U2}`, sk: 'upload' } }).resolves({ Item: b as never });
  };

  it('names the owner a failed submission sealed the uploads for, reading the slots consistently', async () => {
    slots(sealed('tip#T9'), slot({ uploadId: U2 }));
    expect(await finalizer.unreferencedOwner?.([UP, U2])).toEqual({ kind: 'tip', id: 'T9' });
    expect(dbm).toHaveReceivedCommandWith(GetCommand, { ConsistentRead: true });
    slots(sealed('patrol#P9'), sealed('patrol#P9'));
    expect(await finalizer.unreferencedOwner?.([UP, U2])).toEqual({ kind: 'patrol', id: 'P9' });
  });

  it('names no owner when an upload is referenced, still being sealed, claimed by two owners, or not claimed', async () => {
    const cases: [unknown, unknown][] = [
      [sealed('tip#T9', { gsi1pk: undefined }), undefined], // committed: its tip exists
      [sealed('tip#T9', { evidence: undefined }), undefined], // claimed, sealing in flight
      [sealed('tip#T9'), sealed('tip#T8')], // two failed submissions mixed
      [slot(), slot({ uploadId: U2 })], // nothing claimed yet
    ];
    for (const [a, b] of cases) {
      dbm.reset();
      slots(a, b);
      expect(await finalizer.unreferencedOwner?.([UP, U2])).toBeUndefined();
    }
  });

  it('lists orphan records older than a cutoff by one gsi1 query, with owner and sealed original', async () => {
    dbm.on(QueryCommand).resolves({
      Items: [sealed('tip#T9', { usedAt: '2026-03-01T00:00:00.000Z' })],
      LastEvaluatedKey: { pk: 'x' },
    });
    const page = await listUnreferencedEvidence(deps, { before: '2026-03-02T00:00:00.000Z', limit: 50 });
    expect(dbm).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'tips',
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :u AND gsi1sk < :b',
      ExpressionAttributeValues: { ':u': 'evidence#unreferenced', ':b': '2026-03-02T00:00:00.000Z' },
      Limit: 50,
    });
    expect(page.items).toEqual([
      {
        uploadId: UP,
        owner: 'tip#T9',
        usedAt: '2026-03-01T00:00:00.000Z',
        evidenceId: 'E',
        evidence: { id: 'E', originalKey: 'k' },
      },
    ]);
    expect(page.cursor).toEqual(expect.any(String));
  });
});

describe('s3EvidenceViewer', () => {
  const viewer = s3EvidenceViewer({ s3, evidenceBucket: 'evidence', now: () => new Date('2026-03-19T04:00:00.000Z') });

  it('presigns a 5-minute GET of a working copy, served as its stored type and never cached', async () => {
    const key = 'evidence/tip/01JNZ3Q8X7K2M4V6W8Y0A1B2T1/01JNZ3Q8X7K2M4V6W8Y0A1B2C3/working.jpg';
    const { url, expiresAt } = await viewer.link(key, 'image/jpeg');
    const u = new URL(url);
    expect(u.pathname).toContain(key);
    expect(u.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(u.searchParams.get('response-content-type')).toBe('image/jpeg');
    expect(u.searchParams.get('response-cache-control')).toBe('private, no-store');
    expect(expiresAt).toBe('2026-03-19T04:05:00.000Z');
  });

  it('refuses to link anything but a working copy', async () => {
    await expect(
      viewer.link('evidence/tip/01JNZ3Q8X7K2M4V6W8Y0A1B2T1/01JNZ3Q8X7K2M4V6W8Y0A1B2C3/original', 'image/jpeg'),
    ).rejects.toThrow('only working copies are linked');
  });
});
