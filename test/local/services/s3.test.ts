import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3ClientConfig, type S3Service, startS3 } from '#infra/local/services/s3.ts';
import type { BucketSpec } from '#infra/local/spec.ts';

const evidence: BucketSpec = {
  id: 'Data/EvidenceBucket',
  bucketName: 'envwatch-evidence',
  arn: 'arn:aws:s3:::envwatch-evidence',
  versioned: true,
  objectLock: true,
};

describe('s3', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envwatch-s3-'));
  let service: S3Service | undefined;
  let s3: S3Client;

  beforeAll(async () => {
    service = await startS3({ port: 0, dataDir, buckets: [evidence] });
    s3 = new S3Client(localS3ClientConfig(service.endpoint));
  });

  afterAll(async () => {
    s3.destroy();
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('returns the same 100,000 bytes when a binary object is put and got with the real S3Client', async () => {
    const body = randomBytes(100_000);
    await s3.send(new PutObjectCommand({ Bucket: evidence.bucketName, Key: 'photos/a.bin', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: evidence.bucketName, Key: 'photos/a.bin' }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    expect(bytes.length).toBe(100_000);
    expect(bytes.equals(body)).toBe(true);
  });

  it('stores a streamed body without chunk framing when the client uses localS3ClientConfig', async () => {
    const body = randomBytes(100_000);
    await s3.send(
      new PutObjectCommand({
        Bucket: evidence.bucketName,
        Key: 'photos/stream.bin',
        Body: Readable.from([body.subarray(0, 40_000), body.subarray(40_000)]),
        ContentLength: body.length,
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: evidence.bucketName, Key: 'photos/stream.bin' }));
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(body)).toBe(true);
  });

  it('accepts a presigned PUT from plain fetch and answers the browser CORS preflight', async () => {
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: evidence.bucketName, Key: 'uploads/form.jpg', ContentType: 'image/jpeg' }),
      { expiresIn: 300 },
    );
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://localhost:5173',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
    const payload = randomBytes(2048);
    const put = await fetch(url, {
      method: 'PUT',
      body: payload,
      headers: { 'Content-Type': 'image/jpeg', Origin: 'http://localhost:5173' },
    });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const got = await s3.send(new GetObjectCommand({ Bucket: evidence.bucketName, Key: 'uploads/form.jpg' }));
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(payload)).toBe(true);
    expect(got.ContentType).toBe('image/jpeg');
  });

  it('keeps buckets and objects when it is restarted on the same data dir', async () => {
    await service?.stop();
    service = await startS3({ port: 0, dataDir, buckets: [evidence] });
    s3.destroy();
    s3 = new S3Client(localS3ClientConfig(service.endpoint));
    const got = await s3.send(new GetObjectCommand({ Bucket: evidence.bucketName, Key: 'photos/a.bin' }));
    expect((await got.Body?.transformToByteArray())?.length).toBe(100_000);
  });

  it('rejects with the busy port when the port is already in use', async () => {
    const port = Number(new URL(service?.endpoint ?? '').port);
    await expect(startS3({ port, dataDir, buckets: [] })).rejects.toThrow(`port ${port}`);
  });
});
