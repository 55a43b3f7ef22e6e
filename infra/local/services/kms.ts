/**
 * KMS stand-in: speaks the real KMS wire protocol (AWS JSON 1.1, `X-Amz-Target: TrentService.<Op>`), so
 * `new KMSClient({})` with `AWS_ENDPOINT_URL_KMS` works unchanged.
 *
 * - Keys are the template's AWS::KMS::Key resources (`KeySpec`), addressed by key id or key ARN as the Resolver
 *   produces them. Each gets a random 256-bit master key, created once and kept in `${dataDir}/kms/<keyId>.key`
 *   (mode 600), so ciphertexts survive a restart.
 * - Operations: GenerateDataKey (KeySpec AES_256/AES_128 or NumberOfBytes), GenerateDataKeyWithoutPlaintext,
 *   Encrypt, Decrypt (KeyId optional: the blob names its key), DescribeKey.
 * - Ciphertext blob (version 1): `0x01 | len(keyId) | keyId utf8 | iv (12) | tag (16) | AES-256-GCM(plaintext)`, with
 *   the key id and the canonical EncryptionContext as additional authenticated data: a wrong context, a tampered blob
 *   or another key fails with InvalidCiphertextException, as in AWS.
 * - Errors: HTTP 400 with `{ "__type": "<Name>", "message": … }` and `x-amzn-errortype`, as KMS sends them.
 *
 * Not emulated: aliases, grants, key policies and IAM (every caller may use every key), key rotation, disabled or
 * pending-deletion keys, asymmetric and HMAC keys, multi-region keys, request signing (SigV4 is not verified).
 * The blob format is local only; AWS blobs are opaque and differ.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type KeySpec, LOCAL_ACCOUNT, type LocalService } from '#infra/local/spec.ts';

export interface KmsService extends LocalService {
  endpoint: string;
}

export interface StartKmsOptions {
  host?: string;
  port: number;
  dataDir: string;
  keys: KeySpec[];
  log?: (line: string) => void;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface LocalKey {
  spec: KeySpec;
  material: Buffer;
  createdAt: number;
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_PLAINTEXT = 4096;

type Body = Record<string, unknown>;

/** Canonical form of an encryption context: keys sorted, so `{a,b}` and `{b,a}` authenticate the same. */
function canonicalContext(ctx: unknown): Buffer {
  if (ctx === undefined || ctx === null) return Buffer.alloc(0);
  if (typeof ctx !== 'object' || Array.isArray(ctx))
    throw new KmsError('ValidationException', 'EncryptionContext must be a map');
  const entries = Object.entries(ctx as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [, v] of entries) {
    if (typeof v !== 'string') throw new KmsError('ValidationException', 'EncryptionContext values must be strings');
  }
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function blob(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || value === '') throw new KmsError('ValidationException', `${field} is required`);
  return Buffer.from(value, 'base64');
}

function loadKeys(dataDir: string, specs: KeySpec[]): Map<string, LocalKey> {
  const dir = join(dataDir, 'kms');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = new Map<string, LocalKey>();
  for (const spec of specs) {
    const file = join(dir, `${spec.keyId.replace(/[^A-Za-z0-9_-]/g, '_')}.key`);
    if (!existsSync(file)) {
      writeFileSync(file, JSON.stringify({ material: randomBytes(32).toString('base64'), createdAt: Date.now() }), {
        mode: 0o600,
      });
    }
    chmodSync(file, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { material: string; createdAt: number };
    const key: LocalKey = { spec, material: Buffer.from(saved.material, 'base64'), createdAt: saved.createdAt };
    if (key.material.length !== 32) throw new Error(`KMS: ${file} does not hold a 256-bit key`);
    keys.set(spec.keyId, key);
    keys.set(spec.arn, key);
  }
  return keys;
}

/** The KMS operations over a set of keys, independent of HTTP (for tests and reuse). */
export class LocalKms {
  constructor(private readonly keys: Map<string, LocalKey>) {}

  private find(ref: unknown): LocalKey {
    if (typeof ref !== 'string' || ref === '') throw new KmsError('ValidationException', 'KeyId is required');
    const key = this.keys.get(ref);
    if (!key) {
      const kind = ref.startsWith('alias/') || ref.includes(':alias/') ? 'Alias' : 'Key';
      throw new KmsError('NotFoundException', `${kind} '${ref}' does not exist`);
    }
    return key;
  }

  private seal(key: LocalKey, plaintext: Buffer, context: Buffer): Buffer {
    const id = Buffer.from(key.spec.keyId, 'utf8');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(Buffer.concat([id, context]));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION, id.length]), id, iv, cipher.getAuthTag(), data]);
  }

  private dataKey(body: Body): { key: LocalKey; plaintext: Buffer; ciphertext: Buffer } {
    const key = this.find(body.KeyId);
    let bytes: number;
    if (body.KeySpec !== undefined && body.NumberOfBytes !== undefined) {
      throw new KmsError('ValidationException', 'Specify either KeySpec or NumberOfBytes, not both');
    } else if (body.KeySpec === 'AES_256') bytes = 32;
    else if (body.KeySpec === 'AES_128') bytes = 16;
    else if (body.KeySpec !== undefined)
      throw new KmsError('ValidationException', `KeySpec ${String(body.KeySpec)} is not AES_256 or AES_128`);
    else if (typeof body.NumberOfBytes === 'number' && Number.isInteger(body.NumberOfBytes)) {
      bytes = body.NumberOfBytes;
      if (bytes < 1 || bytes > 1024) throw new KmsError('ValidationException', 'NumberOfBytes must be 1..1024');
    } else throw new KmsError('ValidationException', 'KeySpec or NumberOfBytes is required');
    const plaintext = randomBytes(bytes);
    return { key, plaintext, ciphertext: this.seal(key, plaintext, canonicalContext(body.EncryptionContext)) };
  }

  handle(op: string, body: Body): Body {
    switch (op) {
      case 'GenerateDataKey': {
        const { key, plaintext, ciphertext } = this.dataKey(body);
        return {
          KeyId: key.spec.arn,
          Plaintext: plaintext.toString('base64'),
          CiphertextBlob: ciphertext.toString('base64'),
        };
      }
      case 'GenerateDataKeyWithoutPlaintext': {
        const { key, ciphertext } = this.dataKey(body);
        return { KeyId: key.spec.arn, CiphertextBlob: ciphertext.toString('base64') };
      }
      case 'Encrypt': {
        const key = this.find(body.KeyId);
        const plaintext = blob(body.Plaintext, 'Plaintext');
        if (plaintext.length > MAX_PLAINTEXT)
          throw new KmsError('ValidationException', `Plaintext is ${plaintext.length} bytes; at most 4096`);
        const ciphertext = this.seal(key, plaintext, canonicalContext(body.EncryptionContext));
        return {
          KeyId: key.spec.arn,
          CiphertextBlob: ciphertext.toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'Decrypt':
        return this.decrypt(body);
      case 'DescribeKey': {
        const key = this.find(body.KeyId);
        return {
          KeyMetadata: {
            AWSAccountId: LOCAL_ACCOUNT,
            KeyId: key.spec.keyId,
            Arn: key.spec.arn,
            CreationDate: key.createdAt / 1000,
            Enabled: true,
            Description: key.spec.description ?? '',
            KeyUsage: 'ENCRYPT_DECRYPT',
            KeyState: 'Enabled',
            Origin: 'AWS_KMS',
            KeyManager: 'CUSTOMER',
            CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
            KeySpec: 'SYMMETRIC_DEFAULT',
            EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
            MultiRegion: false,
          },
        };
      }
      default:
        throw new KmsError('UnknownOperationException', `operation ${op} is not emulated by the local KMS`);
    }
  }

  private decrypt(body: Body): Body {
    const raw = blob(body.CiphertextBlob, 'CiphertextBlob');
    const invalid = () =>
      new KmsError('InvalidCiphertextException', 'the ciphertext, its key or its encryption context does not match');
    if (raw.length < 2 || raw[0] !== VERSION) throw invalid();
    const idLength = raw[1] ?? 0;
    const headerEnd = 2 + idLength + IV_BYTES + TAG_BYTES;
    if (raw.length < headerEnd) throw invalid();
    const id = raw.subarray(2, 2 + idLength);
    const key = this.keys.get(id.toString('utf8'));
    if (!key) throw invalid();
    if (body.KeyId !== undefined && this.find(body.KeyId) !== key) {
      throw new KmsError(
        'IncorrectKeyException',
        'The key ID in the request does not identify the key of the ciphertext',
      );
    }
    const iv = raw.subarray(2 + idLength, 2 + idLength + IV_BYTES);
    const tag = raw.subarray(2 + idLength + IV_BYTES, headerEnd);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, iv);
      decipher.setAAD(Buffer.concat([id, canonicalContext(body.EncryptionContext)]));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(raw.subarray(headerEnd)), decipher.final()]);
      return { KeyId: key.spec.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw invalid();
    }
  }
}

function readBody(req: http.IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new KmsError('ValidationException', 'request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startKms(opts: StartKmsOptions): Promise<KmsService> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const kms = new LocalKms(loadKeys(opts.dataDir, opts.keys));

  const server = http.createServer((req, res) => {
    const send = (status: number, body: Body, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers });
      res.end(JSON.stringify(body));
    };
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    readBody(req)
      .then((text) => {
        if (req.method !== 'POST' || !op) throw new KmsError('UnknownOperationException', `no operation ${target}`);
        const parsed: unknown = text ? JSON.parse(text) : {};
        if (!parsed || typeof parsed !== 'object')
          throw new KmsError('SerializationException', 'body is not a JSON object');
        send(200, kms.handle(op, parsed as Body));
        log(`[kms] ${op} 200`);
      })
      .catch((err: unknown) => {
        const e =
          err instanceof KmsError
            ? err
            : err instanceof SyntaxError
              ? new KmsError('SerializationException', err.message)
              : new KmsError('KMSInternalException', err instanceof Error ? err.message : String(err));
        log(`[kms] ${op || target} ${e.type}`);
        send(
          e.type === 'KMSInternalException' ? 500 : 400,
          { __type: e.type, message: e.message },
          {
            'x-amzn-errortype': e.type,
          },
        );
      });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`KMS: port ${opts.port} on ${host} is busy`) : err),
    );
    server.listen(opts.port, host, () => resolve((server.address() as AddressInfo).port));
  });
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log(`[kms] ready on ${endpoint} (${opts.keys.length} keys)`);
  return {
    name: 'kms',
    endpoint,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
