import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { type LocalJwtKeys, loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, type PlatformOptions, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';

/** A temporary folder removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `envwatch-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export const localClientConfig = (endpoint: string) => ({
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

/** The real app's assembly, synthesized once for the whole local suite by global-setup.ts. */
export const realAppAssembly = (): string => inject('envwatchCdkOut');

/** The platform a test file boots (`usePlatform`), once its `beforeAll` has run. */
export interface LocalPlatform {
  readonly platform: Platform;
  /** a bearer token of the platform's local issuer (ten minutes), for every township unless told */
  token(sub: string, roles: string[], townships?: string[]): string;
}

/** An API call: the status and the parsed JSON body. */
export type Api = <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: T }>;

/**
 * Boots the embedded platform from the real app's assembly, with a data folder of its own, in the calling `describe`'s
 * `beforeAll` and stops it in its `afterAll` (hooks registered after this one run after the boot and before the stop).
 * `options` adds to the defaults (e.g. `plainMqtt`).
 */
export function usePlatform(
  prefix: string,
  options: Partial<Omit<PlatformOptions, 'cdkOut' | 'dataDir'>> = {},
): LocalPlatform {
  const tmp = tempDir(prefix);
  const dataDir = `${tmp.dir}/data`;
  let booted: { platform: Platform; keys: LocalJwtKeys } | undefined;
  const ready = () => {
    if (!booted) throw new Error('the platform is not booted yet (use it from a hook or a test)');
    return booted;
  };
  beforeAll(async () => {
    const platform = await startPlatform({ cdkOut: realAppAssembly(), dataDir, ports: await freePorts(), ...options });
    booted = { platform, keys: await loadOrCreateKeys(dataDir) };
  }, 180_000);
  afterAll(async () => {
    await booted?.platform.stop();
    tmp.cleanup();
  });
  return {
    get platform() {
      return ready().platform;
    },
    token: (sub, roles, townships = ['*']) => {
      const { platform, keys } = ready();
      const { issuer, audience } = platform.endpoints.auth;
      return signToken(keys, { iss: issuer, aud: audience, sub, roles, townships }, 600);
    },
  };
}

/** The platform's API called as `sub` with `roles` (every township); the token is signed at the first call. */
export function apiAs(local: LocalPlatform, sub: string, roles: string[]): Api {
  let token: string | undefined;
  return async <T>(method: string, path: string, body?: unknown) => {
    token ??= local.token(sub, roles);
    const res = await fetch(`${local.platform.endpoints.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
}

/** What the platform sent through SNS (topics and text messages), as the local message log shows it. */
export async function sentMessages<T = { message: string; phoneNumber?: string }>(platform: Platform): Promise<T[]> {
  const res = await fetch(`${platform.endpoints.api}/_local/messages.json`);
  return ((await res.json()) as { messages: T[] }).messages;
}
