import { createHash } from 'node:crypto';
import { DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { localDynamoDbClient } from '#infra/local/services/dynamodb.ts';
import { localS3ClientConfig } from '#infra/local/services/s3.ts';
import { type EvidenceStoreDeps, s3EvidenceFinalizer } from '#shared/adapters/evidence-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { EvidenceError } from '#shared/domain/tips/evidence-port.ts';
import { cleanJpeg, cleanPng, contains, jpegWithMetadata, SECRETS } from '../unit/helpers/images.ts';
import { localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

interface Slot {
  uploadId: string;
  url: string;
  headers: Record<string, string>;
}

/** Evidence on the embedded platform: a citizen's slot, a browser-style upload, then finalize into sealed evidence. */
describe('evidence uploads on the local platform', () => {
  const tmp = tempDir('evidence');
  let platform: Platform;
  let s3: S3Client;
  let db: DynamoDBDocumentClient;
  let deps: EvidenceStoreDeps;

  beforeAll(async () => {
    platform = await startPlatform({
      cdkOut: realAppAssembly(),
      dataDir: `${tmp.dir}/data`,
      ports: await freePorts(),
    });
    const env = platform.spec.functions.map((f) => f.environment).find((e) => e[ENV.evidenceUploadsBucket]);
    const evidenceBucket = platform.spec.buckets.find((b) => b.objectLock)?.bucketName;
    if (!env || !evidenceBucket) throw new Error('the template has no evidence upload function or evidence bucket');
    s3 = new S3Client(localS3ClientConfig(platform.endpoints.s3));
    db = DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb), {
      marshallOptions: { removeUndefinedValues: true },
    });
    deps = {
      s3,
      db,
      table: env[ENV.tipsTable] as string,
      uploadsBucket: env[ENV.evidenceUploadsBucket] as string,
      evidenceBucket,
    };
  });

  afterAll(async () => {
    s3?.destroy();
    db?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  const requestSlots = (files: unknown[]) =>
    fetch(`${platform.endpoints.api}/evidence/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files }),
    });

  const upload = async (slot: Slot, bytes: Buffer) => {
    const res = await fetch(slot.url, { method: 'PUT', headers: slot.headers, body: bytes });
    expect(res.status).toBe(200);
  };

  const read = async (bucket: string, key: string) =>
    Buffer.from(
      (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToByteArray()) ?? [],
    );

  it('seals a phone photo: original byte-identical with its SHA-256, working copy without EXIF or GPS', async () => {
    const photo = jpegWithMetadata();
    const res = await requestSlots([{ contentType: 'image/jpeg', bytes: photo.length, fileName: 'IMG_0001.JPG' }]);
    expect(res.status).toBe(201);
    const { uploads } = (await res.json()) as { uploads: Slot[] };
    const slot = uploads[0] as Slot;
    await upload(slot, photo);

    const [item] = await s3EvidenceFinalizer(deps).finalize({
      owner: { kind: 'tip', id: 'T-LOCAL-1' },
      uploadIds: [slot.uploadId],
    });
    expect(item?.sha256).toBe(createHash('sha256').update(photo).digest('hex'));
    const original = await read(deps.evidenceBucket, item?.originalKey ?? '');
    expect(original.equals(photo)).toBe(true);
    expect(createHash('sha256').update(original).digest('hex')).toBe(item?.sha256);
    const working = await read(deps.evidenceBucket, item?.workingKey ?? '');
    for (const s of SECRETS) expect(contains(working, s), s).toBe(false);
    expect(working.equals(cleanJpeg())).toBe(true);

    // the temporary upload is gone and the slot cannot be attached to another tip
    await expect(
      s3.send(
        new HeadObjectCommand({
          Bucket: deps.uploadsBucket,
          Key: new URL(slot.url).pathname.split('/').slice(2).join('/'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'NotFound' });
    await expect(
      s3EvidenceFinalizer(deps).finalize({ owner: { kind: 'tip', id: 'T-OTHER' }, uploadIds: [slot.uploadId] }),
    ).rejects.toThrow(EvidenceError);
  });

  it('refuses a PNG uploaded as a JPEG and an upload that never happened, naming the upload', async () => {
    const png = cleanPng();
    const res = await requestSlots([
      { contentType: 'image/jpeg', bytes: png.length },
      { contentType: 'image/jpeg', bytes: 100 },
    ]);
    const { uploads } = (await res.json()) as { uploads: Slot[] };
    const [disguised, never] = uploads as [Slot, Slot];
    await upload(disguised, png);
    const finalizer = s3EvidenceFinalizer(deps);
    await expect(
      finalizer.finalize({ owner: { kind: 'tip', id: 'T2' }, uploadIds: [disguised.uploadId] }),
    ).rejects.toMatchObject({
      uploadId: disguised.uploadId,
      message: `upload ${disguised.uploadId} is not a image/jpeg file (文件内容不是 image/jpeg)`,
    });
    await expect(
      finalizer.finalize({ owner: { kind: 'tip', id: 'T2' }, uploadIds: [never.uploadId] }),
    ).rejects.toMatchObject({
      uploadId: never.uploadId,
      message: `upload ${never.uploadId} was never completed (文件未上传完成，请重新上传)`,
    });
  });

  it("serves the template's KMS keys (data, identity, ops, device keys) to the real KMSClient at the platform's endpoint", async () => {
    const kms = new KMSClient(localClientConfig(platform.endpoints.kms));
    const keys = platform.spec.keys ?? [];
    expect(keys.map((k) => k.id.split('/')[1]).sort()).toEqual([
      expect.stringMatching(/^DataKey/),
      expect.stringMatching(/^DeviceKeysKey/),
      expect.stringMatching(/^IdentityKey/),
      expect.stringMatching(/^OpsKey/),
    ]);
    for (const key of keys) {
      expect((await kms.send(new DescribeKeyCommand({ KeyId: key.arn }))).KeyMetadata?.Arn).toBe(key.arn);
      const made = await kms.send(
        new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_256', EncryptionContext: { tip: 'T1' } }),
      );
      const back = await kms.send(
        new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: { tip: 'T1' } }),
      );
      expect(Buffer.from(back.Plaintext ?? []).equals(Buffer.from(made.Plaintext ?? []))).toBe(true);
    }
    expect(platform.sdkEnv.AWS_ENDPOINT_URL_KMS).toBe(platform.endpoints.kms);
    kms.destroy();
  });

  it('answers a disallowed type or size with a precise problem and stores nothing', async () => {
    const res = await requestSlots([
      { contentType: 'image/gif', bytes: 10 },
      { contentType: 'video/mp4', bytes: 300 * 1024 * 1024 },
    ]);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors?: { field: string }[] };
    const fields = (problem.errors ?? []).map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['files.0.contentType', 'files.1.bytes']));
  });
});
