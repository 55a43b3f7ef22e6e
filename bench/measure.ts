import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, type PlatformOptions, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { type FunctionSpec, LOCAL_REGION } from '#infra/local/spec.ts';
import { synthEnvWatch } from '#infra/local/synth.ts';
import type { Rng } from '../scripts/simulate/rng.ts';

/**
 * What the benches on the local platform share: seeded sample data, bulk loading into DynamoDB Local, latency
 * statistics, a document client that records every command (to prove index queries, not scans), and a platform booted
 * for the bench with its ingest function and an administrator's device registrations.
 */

// ---- realistic data, deterministic (seeded) ----

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng.next() * items.length)] as T;
}

export function weighted<T>(rng: Rng, items: readonly [T, number][]): T {
  const total = items.reduce((n, [, w]) => n + w, 0);
  let r = rng.next() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return (items[items.length - 1] as [T, number])[0];
}

/** A sample USCC (Qingyuan 331126) with a valid check character: `91331126` + a 4-character body + 5 digits. */
export function usccOf(body: string, n: number): string {
  const first17 = `91331126${body}${String(n).padStart(5, '0')}`;
  const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += alphabet.indexOf(first17.charAt(i)) * (weights[i] ?? 0);
  return first17 + alphabet.charAt((31 - (sum % 31)) % 31);
}

// ---- processes (Linux /proc) ----

/** A process's resident memory (kB) and CPU time (ticks), from /proc. */
export function procSample(pid: number): { rssKb: number; cpuTicks: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssKb, cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** The platform's DynamoDB Local: the java process among its descendants (a launcher shell may sit between). */
export function javaChildOf(pid: number): number | undefined {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const descends = (p: number): boolean => {
    for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) if (q === pid) return true;
    return false;
  };
  for (const p of parent.keys()) {
    if (!descends(p)) continue;
    try {
      const exe = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (/(^|\/)java$/.test(exe)) return p;
    } catch {}
  }
  return undefined;
}

// ---- loading ----

export async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** 25 items per BatchWrite (the API's maximum), 8 in flight, unprocessed items retried. */
export async function batchPut(
  db: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await inParallel(batches, 8, async (batch) => {
    let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] = batch.map(
      (Item) => ({ PutRequest: { Item } }),
    );
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 10) throw new Error('DynamoDB Local kept items unprocessed');
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = out.UnprocessedItems?.[table] ?? [];
    }
  });
}

// ---- measuring ----

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[i] as number) * 10) / 10;
}

export function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { n: ms.length, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), maxMs: percentile(sorted, 100) };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** One DynamoDB call seen by the recording middleware. */
export interface Recorded {
  command: string;
  table?: string;
  index?: string;
  keyCondition?: string;
  filter: boolean;
  count?: number;
  scannedCount?: number;
}

/** A document client whose every command passes a recorder (initialize step: the command's own name and output). */
export function recordingClient(endpoint: string, calls: Recorded[]): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const input = args.input as Record<string, unknown>;
      const output = out.output as { Count?: number; ScannedCount?: number };
      calls.push({
        command: String(context.commandName),
        ...(typeof input.TableName === 'string' ? { table: input.TableName } : {}),
        ...(typeof input.IndexName === 'string' ? { index: input.IndexName } : {}),
        ...(typeof input.KeyConditionExpression === 'string' ? { keyCondition: input.KeyConditionExpression } : {}),
        filter: input.FilterExpression !== undefined,
        ...(output.Count !== undefined ? { count: output.Count } : {}),
        ...(output.ScannedCount !== undefined ? { scannedCount: output.ScannedCount } : {}),
      });
      return out;
    },
    { step: 'initialize', name: 'benchCommandRecorder' },
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

// ---- a bench's own platform ----

/** A platform booted for one bench (bootBenchPlatform), its ingest function and an administrator's API. */
export interface BenchPlatform {
  platform: Platform;
  dataDir: string;
  /** the ingest function of the template */
  ingest: FunctionSpec;
  /** a token for `sub` with `roles` in every township, signed with the platform's keys */
  token(sub: string, roles: string[], seconds?: number): Promise<string>;
  /** registers devices through the registry API as an administrator would (keys sealed by KMS), one after another */
  register(devices: readonly { mn: string }[]): Promise<void>;
}

/**
 * The app synthesized afresh into `<dir>/cdk.out` (the stage throttle lifted: a bench drives requests back to back) and
 * booted on free ports with its data in `<dir>/data`; the caller stops `platform`.
 */
export async function bootBenchPlatform(
  dir: string,
  options: Omit<PlatformOptions, 'cdkOut' | 'dataDir' | 'ports'> = {},
): Promise<BenchPlatform> {
  const cdkOut = join(dir, 'cdk.out');
  const dataDir = join(dir, 'data');
  synthEnvWatch(cdkOut, { publicRateLimit: 10_000, publicBurstLimit: 10_000 });
  const platform = await startPlatform({ cdkOut, dataDir, ports: await freePorts(), ...options });
  const ingest = platform.spec.functions.find((f) => f.environment.ENVWATCH_SERVICE === 'ingest');
  if (!ingest) {
    await platform.stop();
    throw new Error('no ingest function in the template');
  }
  const token = async (sub: string, roles: string[], seconds = 3600) => {
    const { issuer, audience } = platform.endpoints.auth;
    const claims = { iss: issuer, aud: audience, sub, roles, townships: ['*'] };
    return signToken(await loadOrCreateKeys(dataDir), claims, seconds);
  };
  const register = async (devices: readonly { mn: string }[]) => {
    const admin = await token('bench-admin', ['admin'], 600);
    for (const device of devices) {
      const res = await fetch(`${platform.endpoints.api}/registry/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(device),
      });
      if (res.status !== 201) throw new Error(`registering ${device.mn} answered ${res.status}: ${await res.text()}`);
    }
  };
  return { platform, dataDir, ingest, token, register };
}
