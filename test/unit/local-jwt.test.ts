import { execFile } from 'node:child_process';
import { createHmac, createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwks, type LocalJwtKeys, loadOrCreateKeys, signToken, verifyToken } from '#infra/local/jwt.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const ISSUER = 'http://127.0.0.1:4000/local-issuer';
const AUDIENCE = 'envwatch-console';
const EXPECT = { issuer: ISSUER, audience: [AUDIENCE] };

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

let dataDir: string;
let keys: LocalJwtKeys;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'envwatch-jwt-'));
  keys = await loadOrCreateKeys(dataDir);
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function token(extra: Record<string, unknown> = {}): string {
  return signToken(keys, { iss: ISSUER, aud: AUDIENCE, sub: 'u1', roles: ['admin'], ...extra }, 3600);
}

describe('loadOrCreateKeys', () => {
  it('creates the key pair once and reuses it afterwards', async () => {
    const again = await loadOrCreateKeys(dataDir);
    expect(again).toEqual(keys);
    expect(keys.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const info = await stat(join(dataDir, 'jwt', 'private.pem'));
    expect(info.mode & 0o077).toBe(0);
    expect(createPublicKey(keys.publicKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('yields one key when two callers race on an empty directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envwatch-jwt-race-'));
    try {
      const [a, b] = await Promise.all([loadOrCreateKeys(dir), loadOrCreateKeys(dir)]);
      expect(a.kid).toBe(b.kid);
      expect((await loadOrCreateKeys(dir)).kid).toBe(a.kid);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('verifyToken', () => {
  it('accepts a token it signed and returns its claims', () => {
    const result = verifyToken(keys, token({ name: '张三', township: '松源街道' }), EXPECT);
    expect(result).toMatchObject({
      ok: true,
      claims: { sub: 'u1', roles: ['admin'], name: '张三', township: '松源街道' },
    });
  });

  it('rejects alg none', () => {
    const t = `${b64({ alg: 'none', kid: keys.kid })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.`;
    expect(verifyToken(keys, t, EXPECT)).toMatchObject({ ok: false });
  });

  it('rejects HS256 signed with the public key as the secret', () => {
    const input = `${b64({ alg: 'HS256', kid: keys.kid })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}`;
    const sig = createHmac('sha256', keys.publicKeyPem).update(input).digest('base64url');
    expect(verifyToken(keys, `${input}.${sig}`, EXPECT)).toMatchObject({ ok: false, reason: 'unsupported alg HS256' });
  });

  it('rejects an unknown kid and a tampered payload', () => {
    const [h = '', p = '', s = ''] = token().split('.');
    const otherKid = `${b64({ alg: 'RS256', kid: 'other' })}.${p}.${s}`;
    expect(verifyToken(keys, otherKid, EXPECT)).toMatchObject({ ok: false, reason: 'unknown kid' });
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${b64({ ...claims, roles: ['admin', 'bureau_head'] })}.${s}`;
    expect(verifyToken(keys, tampered, EXPECT)).toMatchObject({ ok: false, reason: 'invalid signature' });
  });

  it('rejects expired, not-yet-valid and future-issued tokens', () => {
    expect(verifyToken(keys, token({ exp: now() - 1 }), EXPECT)).toMatchObject({
      ok: false,
      reason: 'the token has expired',
    });
    expect(verifyToken(keys, token({ nbf: now() + 600 }), EXPECT)).toMatchObject({ ok: false });
    expect(verifyToken(keys, token({ iat: now() + 600 }), EXPECT)).toMatchObject({ ok: false });
  });

  it('rejects a wrong issuer and an audience outside the list', () => {
    expect(verifyToken(keys, token({ iss: 'https://evil.example' }), EXPECT)).toMatchObject({
      ok: false,
      reason: 'issuer mismatch',
    });
    expect(verifyToken(keys, token({ aud: 'someone-else' }), EXPECT)).toMatchObject({
      ok: false,
      reason: 'audience mismatch',
    });
  });

  it('accepts an aud array with one allowed entry, and client_id when aud is absent', () => {
    expect(verifyToken(keys, token({ aud: ['x', AUDIENCE] }), EXPECT).ok).toBe(true);
    expect(verifyToken(keys, token({ aud: undefined, client_id: AUDIENCE }), EXPECT).ok).toBe(true);
    expect(verifyToken(keys, token({ aud: undefined, client_id: 'nope' }), EXPECT).ok).toBe(false);
  });

  it('rejects malformed tokens', () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c', '!!.??.**']) expect(verifyToken(keys, bad, EXPECT).ok).toBe(false);
  });
});

describe('jwks', () => {
  it('publishes the public key under its kid so a third party can verify', () => {
    const doc = jwks(keys);
    const [jwk] = doc.keys as { kid: string; alg: string; kty: string; n: string; e: string }[];
    expect(jwk).toMatchObject({ kid: keys.kid, alg: 'RS256', kty: 'RSA' });
    const [h = '', p = '', s = ''] = token().split('.');
    const pub = createPublicKey({ key: { kty: 'RSA', n: jwk?.n, e: jwk?.e }, format: 'jwk' });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), pub, Buffer.from(s, 'base64url'))).toBe(true);
  });
});

describe('token-cli', () => {
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'infra/local/token-cli.ts', ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('prints only a token that verifies against endpoints.json', { timeout: 30_000 }, async () => {
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ auth: { issuer: ISSUER, audience: AUDIENCE } }));
    const r = await cli([
      '--role',
      'admin',
      '--role',
      'analyst',
      '--name',
      '张三',
      '--township',
      'zhukou',
      '--township',
      'hedi',
      '--ttl',
      '2h',
      '--data-dir',
      dataDir,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const result = verifyToken(keys, r.stdout.trim(), EXPECT);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.claims).toMatchObject({
      roles: ['admin', 'analyst'],
      name: '张三',
      townships: ['zhukou', 'hedi'],
      sub: 'local-admin',
    });
    expect(Number(result.claims['exp']) - Number(result.claims['iat'])).toBe(7200);
  });

  it('names the whole county explicitly when no township is given', { timeout: 30_000 }, async () => {
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ auth: { issuer: ISSUER, audience: AUDIENCE } }));
    const r = await cli(['--role', 'duty_officer', '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    const result = verifyToken(keys, r.stdout.trim(), EXPECT);
    expect(result.ok && result.claims['townships']).toEqual(['*']);
  });

  it('lists the valid roles when a role is unknown', { timeout: 30_000 }, async () => {
    const r = await cli(['--role', 'mayor', '--data-dir', dataDir]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown role 'mayor'");
    expect(r.stderr).toContain('duty_officer');
  });

  it('tells the user to start the platform when endpoints.json is missing', { timeout: 30_000 }, async () => {
    const empty = await mkdtemp(join(tmpdir(), 'envwatch-jwt-empty-'));
    try {
      const r = await cli(['--role', 'admin', '--data-dir', empty]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('npm start');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('keeps the key files it read unchanged', async () => {
    const pem = await readFile(join(dataDir, 'jwt', 'private.pem'), 'utf8');
    expect(pem).toBe(keys.privateKeyPem);
  });
});
