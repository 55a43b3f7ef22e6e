/**
 * S3 stand-in: s3rver (a Koa app) behind our own HTTP server, files under `${dataDir}/s3`.
 *
 * - Buckets from the template are created if missing and kept across restarts (s3rver's filesystem store).
 * - Every bucket gets a CORS rule allowing GET/PUT/POST/HEAD from any http(s)://localhost or 127.0.0.1 origin,
 *   so presigned uploads from the local web form work.
 * - Any access key is accepted; SigV4 signatures are not verified (s3rver does not implement SigV4 checks),
 *   presigned URLs work, their expiry is not enforced as strictly as AWS.
 * - Clients must use path-style addressing and checksums only WHEN_REQUIRED, or the SDK streams bodies with
 *   aws-chunked framing that s3rver stores verbatim (100,000 bytes became 100,045). `localS3ClientConfig` does
 *   that; for `new S3Client({})` in handlers, pass `LOCAL_S3_SDK_ENV` in the function environment and use an
 *   IP endpoint (`http://127.0.0.1:port`), for which the SDK picks path-style by itself.
 *
 * Not emulated by s3rver: versioning, Object Lock (retention, legal hold), SSE-KMS, bucket policies, public access
 * blocks, lifecycle rules, event notifications to SNS/SQS/Lambda. `BucketSpec.versioned` / `objectLock` are ignored
 * (logged once per bucket).
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { BucketSpec, LocalService } from '#infra/local/spec.ts';
import { LOCAL_REGION } from '#infra/local/spec.ts';

export interface S3Service extends LocalService {
  endpoint: string;
}

export interface StartS3Options {
  host?: string;
  port: number;
  dataDir: string;
  buckets: BucketSpec[];
  log?: (line: string) => void;
}

/** Environment for Lambda code that builds `new S3Client({})`: keeps streamed bodies free of aws-chunked framing. */
export const LOCAL_S3_SDK_ENV: Readonly<Record<string, string>> = {
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
};

/** S3Client options that work against it (forcePathStyle, checksum WHEN_REQUIRED, dummy creds). */
export function localS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    region: LOCAL_REGION,
    endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
}

const ORIGINS = ['http://localhost', 'http://localhost:*', 'http://127.0.0.1', 'http://127.0.0.1:*'];
const CORS_XML = `<CORSConfiguration><CORSRule>${[...ORIGINS, ...ORIGINS.map((o) => o.replace('http:', 'https:'))]
  .map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`)
  .join('')}${['GET', 'PUT', 'POST', 'HEAD']
  .map((m) => `<AllowedMethod>${m}</AllowedMethod>`)
  .join(
    '',
  )}<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-version-id</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;
interface S3rverApp {
  configureBuckets(): Promise<void>;
  callback(): RequestListener;
  on(event: 'error', listener: (err: Error) => void): void;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverApp;
interface AccountRegistry {
  get(key: string): unknown;
}

const require = createRequire(import.meta.url);

/**
 * s3rver only knows the access key `S3RVER`; local code signs with whatever dummy key it has.
 * Make its account registry answer every key with the dummy account (SigV4 is not verified anyway).
 */
function acceptAnyAccessKey(): void {
  const account = require('s3rver/lib/models/account.js') as { registry: AccountRegistry; DUMMY_ACCOUNT: unknown };
  const registry = account.registry;
  if ((registry as { patchedByEnvWatch?: boolean }).patchedByEnvWatch) return;
  const original = registry.get.bind(registry);
  registry.get = (key: string) => original(key) ?? account.DUMMY_ACCOUNT;
  (registry as { patchedByEnvWatch?: boolean }).patchedByEnvWatch = true;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`S3 (s3rver): port ${port} on ${host} is busy`) : err);
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startS3(opts: StartS3Options): Promise<S3Service> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const directory = join(opts.dataDir, 's3');
  mkdirSync(directory, { recursive: true });
  acceptAnyAccessKey();
  const S3rver = require('s3rver') as S3rverCtor;
  const app = new S3rver({
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: opts.buckets.map((b) => ({ name: b.bucketName, configs: [CORS_XML] })),
  });
  app.on('error', (err) => log(`[s3] ${err.message}`));
  await app.configureBuckets();
  for (const bucket of opts.buckets) {
    if (bucket.versioned || bucket.objectLock) {
      log(`[s3] ${bucket.bucketName}: versioning/Object Lock are not emulated locally`);
    }
  }

  const handle = app.callback();
  const server = http.createServer((req, res) => {
    res.on('finish', () => log(`[s3] ${req.method} ${req.url?.split('?')[0]} ${res.statusCode}`));
    handle(req, res);
  });
  const port = await listen(server, host, opts.port);
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log(`[s3] ready on ${endpoint} (data: ${directory})`);

  return {
    name: 's3',
    endpoint,
    stop() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
