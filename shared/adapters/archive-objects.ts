import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ArchiveObjectStore } from '#shared/domain/archive/archive.ts';

/**
 * Archive records as S3 objects in the evidence bucket (versioned, Object Lock, SSE-KMS in the cloud: an overwrite or
 * delete keeps the locked original version; locally s3rver enforces none of that). Sealed batches (one JSON Lines
 * object per chain and hour) are written once: `putIfAbsent` checks and writes with `If-None-Match: *`, so a re-run of
 * the sealing never adds a version; single-record objects are the layout before batching (see record.ts).
 */
export class S3ArchiveObjects implements ArchiveObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    // s3rver ignores If-None-Match: the check first keeps the local platform just as idempotent
    if (await this.exists(key)) return false;
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: key.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/json',
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (err) {
      if (isPreconditionFailure(err)) return false;
      throw err;
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToString('utf8') : '';
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}

function isPreconditionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as Error & { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    err.name === 'PreconditionFailed' || err.name === 'ConditionalRequestConflict' || status === 412 || status === 409
  );
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as Error & { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || status === 404;
}
