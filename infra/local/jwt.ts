/**
 * Local JWT issuing and verification for the embedded platform (node:crypto only).
 *
 * One RS256 key pair (2048-bit) is created on first start under `${dataDir}/jwt/private.pem` and reused
 * afterwards; the public key and the `kid` (RFC 7638 thumbprint) are derived from it.
 * `verifyToken` checks what API Gateway's HTTP API JWT authorizer checks: RS256 only, `kid`, signature,
 * `exp` (required), `nbf` and `iat` (when present), `iss` equal to the issuer, and `aud` — or `client_id`
 * when there is no `aud` — in the audience list.
 * Limits vs AWS: a single key, no JWKS fetch from an issuer URL, no key rotation, no clock-skew leeway.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomUUID, sign, verify } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LocalJwtKeys {
  privateKeyPem: string;
  publicKeyPem: string;
  kid: string;
}

export interface TokenClaims {
  iss: string;
  aud: string;
  sub: string;
  roles: string[];
  name?: string;
  /** the townships the token may see; `*` = county-wide */
  townships?: string[];
  [k: string]: unknown;
}

export type VerifyResult = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

const generateKeyPairAsync = promisify(generateKeyPair);

function keyDir(dataDir: string): string {
  return join(dataDir, 'jwt');
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** RFC 7638 JWK thumbprint of the public key, used as `kid`. */
function thumbprint(publicKeyPem: string): string {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

function keysFromPrivatePem(privateKeyPem: string): LocalJwtKeys {
  const publicKeyPem = createPublicKey(createPrivateKey(privateKeyPem))
    .export({ format: 'pem', type: 'spki' })
    .toString();
  return { privateKeyPem, publicKeyPem, kid: thumbprint(publicKeyPem) };
}

/** The persisted keys, or undefined when the platform has not created them yet. */
export async function readKeys(dataDir: string): Promise<LocalJwtKeys | undefined> {
  try {
    return keysFromPrivatePem(await readFile(join(keyDir(dataDir), 'private.pem'), 'utf8'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Load the key pair under `${dataDir}/jwt/`, creating it once (safe against a concurrent creator). */
export async function loadOrCreateKeys(dataDir: string): Promise<LocalJwtKeys> {
  const existing = await readKeys(dataDir);
  if (existing) return existing;

  const dir = keyDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const finalPath = join(dir, 'private.pem');
  const tmpPath = join(dir, `private.pem.${process.pid}.${randomUUID()}`);
  await writeFile(tmpPath, privateKeyPem, { mode: 0o600 });
  try {
    // link() fails with EEXIST if another process won the race: then theirs is the key.
    await link(tmpPath, finalPath);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  } finally {
    await unlink(tmpPath).catch(() => undefined);
  }
  const keys = await readKeys(dataDir);
  if (!keys) throw new Error(`could not create JWT keys under ${dir}`);
  await writeFile(join(dir, 'public.pem'), keys.publicKeyPem);
  await writeFile(join(dir, 'jwks.json'), `${JSON.stringify(jwks(keys), null, 2)}\n`);
  await chmod(finalPath, 0o600).catch(() => undefined);
  return keys;
}

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Sign an RS256 token; `iat`, `exp` and `jti` are added unless the caller set them. */
export function signToken(keys: LocalJwtKeys, claims: TokenClaims, ttlSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iat: now,
    exp: now + Math.floor(ttlSeconds),
    jti: randomUUID(),
    ...claims,
  };
  const signingInput = `${b64urlJson({ alg: 'RS256', typ: 'JWT', kid: keys.kid })}.${b64urlJson(payload)}`;
  const signature = sign('RSA-SHA256', Buffer.from(signingInput), keys.privateKeyPem).toString('base64url');
  return `${signingInput}.${signature}`;
}

function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Verify a token the way API Gateway's JWT authorizer does. */
export function verifyToken(
  keys: LocalJwtKeys,
  token: string,
  expect: { issuer: string; audience: string[] },
): VerifyResult {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return { ok: false, reason: 'malformed token' };
  const [headerB64 = '', payloadB64 = '', signatureB64 = ''] = parts;

  const header = parseJsonObject(headerB64);
  if (!header) return { ok: false, reason: 'malformed token header' };
  if (header['alg'] !== 'RS256') return { ok: false, reason: `unsupported alg ${String(header['alg'])}` };
  if (header['kid'] !== keys.kid) return { ok: false, reason: 'unknown kid' };

  const signature = Buffer.from(signatureB64, 'base64url');
  const valid = verify('RSA-SHA256', Buffer.from(`${headerB64}.${payloadB64}`), keys.publicKeyPem, signature);
  if (!valid) return { ok: false, reason: 'invalid signature' };

  const claims = parseJsonObject(payloadB64);
  if (!claims) return { ok: false, reason: 'malformed token payload' };

  const now = Math.floor(Date.now() / 1000);
  const exp = claims['exp'];
  if (typeof exp !== 'number') return { ok: false, reason: 'exp missing' };
  if (exp <= now) return { ok: false, reason: 'the token has expired' };
  const nbf = claims['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now))
    return { ok: false, reason: 'the token is not valid yet' };
  const iat = claims['iat'];
  if (iat !== undefined && (typeof iat !== 'number' || iat > now)) return { ok: false, reason: 'iat is in the future' };

  if (claims['iss'] !== expect.issuer) return { ok: false, reason: 'issuer mismatch' };

  const aud = claims['aud'];
  const candidates = aud === undefined ? [claims['client_id']] : Array.isArray(aud) ? (aud as unknown[]) : [aud];
  const audienceOk = candidates.some((a) => typeof a === 'string' && expect.audience.includes(a));
  if (!audienceOk) return { ok: false, reason: aud === undefined ? 'client_id not in audience' : 'audience mismatch' };

  return { ok: true, claims };
}

/** The public key as a JWKS document (what an OIDC issuer publishes at its `jwks_uri`). */
export function jwks(keys: LocalJwtKeys): { keys: object[] } {
  const jwk = createPublicKey(keys.publicKeyPem).export({ format: 'jwk' });
  return { keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid: keys.kid, alg: 'RS256', use: 'sig' }] };
}
