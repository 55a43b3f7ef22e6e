import { connect, type Socket } from 'node:net';
import { encodePacket } from '#shared/domain/hj212/codec.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import { verifySecret } from '#shared/domain/secrets.ts';
import { type Gateway, type GatewayOptions, startGateway } from '../../../gateway/server.ts';
import { fastHash } from '../helpers/secrets.ts';

/**
 * Test harness for the gateway: a fake registry (scrypt hashes with small parameters), a recording publish that a
 * test can hold back per MN, and a device client that collects the gateway's replies line by line.
 */
export const PREFIX = '$aws/rules/envwatch_test_gateway/envwatch/gateway';
export const MN_A = '33112600000000000000AB01';
export const MN_B = '33112600000000000000AB02';
export const PASSWORD = '123456';

export interface Published {
  topic: string;
  envelope: {
    source: string;
    mn: string;
    raw: string;
    clientId: string;
    accepted: boolean;
    reason?: string;
    detail?: string;
    receivedAt: string;
  };
  bytes: Buffer;
}

export interface Harness {
  gateway: Gateway;
  published: Published[];
  verifyCalls: () => number;
  lookups: () => number;
  /** hold publishes for an MN until `release(mn)` (or make them fail) */
  hold: (mn: string) => void;
  release: (mn: string) => void;
  failPublishes: (fail: boolean) => void;
  logs: string[];
}

export async function startHarness(
  opts: Partial<Omit<GatewayOptions, 'registry' | 'publish'>> = {},
  devices: string[] = [MN_A, MN_B],
): Promise<Harness> {
  const hash = await fastHash(PASSWORD);
  const registry = new Map<string, StoredDevice>(
    devices.map((mn) => [mn, { mn, status: 'active', passwordHash: hash } as unknown as StoredDevice]),
  );
  const published: Published[] = [];
  const held = new Map<string, (() => void)[]>();
  const holding = new Set<string>();
  let fail = false;
  let verifyCalls = 0;
  let lookups = 0;
  const logs: string[] = [];
  const gateway = await startGateway({
    port: 0,
    topicPrefix: PREFIX,
    metricsIntervalMs: 0,
    log: (line) => logs.push(line),
    ...opts,
    registry: {
      deviceForAuthentication: async (mn) => {
        lookups++;
        return registry.get(mn);
      },
    },
    verify: async (secret, stored) => {
      verifyCalls++;
      return verifySecret(secret, stored);
    },
    publish: async (topic, payload) => {
      const envelope = JSON.parse(payload) as Published['envelope'];
      if (holding.has(envelope.mn)) {
        await new Promise<void>((resolve) => {
          const list = held.get(envelope.mn) ?? [];
          list.push(resolve);
          held.set(envelope.mn, list);
        });
      }
      if (fail) throw new Error('publish failed (test)');
      published.push({ topic, envelope, bytes: Buffer.from(envelope.raw, 'base64') });
    },
  });
  return {
    gateway,
    published,
    verifyCalls: () => verifyCalls,
    lookups: () => lookups,
    hold: (mn) => holding.add(mn),
    release: (mn) => {
      holding.delete(mn);
      for (const r of held.get(mn) ?? []) r();
      held.delete(mn);
    },
    failPublishes: (f) => {
      fail = f;
    },
    logs,
  };
}

export interface Device {
  socket: Socket;
  replies: string[];
  closed: Promise<void>;
  isClosed: () => boolean;
  send: (data: string | Buffer) => void;
  end: () => void;
}

export async function device(port: number): Promise<Device> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const replies: string[] = [];
  let buf = '';
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
      replies.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  return {
    socket,
    replies,
    closed,
    isClosed: () => isClosed,
    send: (data) => {
      if (!socket.destroyed) socket.write(data);
    },
    end: () => socket.destroy(),
  };
}

let qnSeq = 0;
export function upload(
  mn: string,
  opts: {
    pw?: string | undefined;
    flag?: number;
    cn?: string;
    cp?: string;
    pnum?: number;
    pno?: number;
    qn?: string;
  } = {},
): string {
  const qn = opts.qn ?? `20260301120000${String(qnSeq++ % 1000).padStart(3, '0')}`;
  return encodePacket({
    qn,
    st: '32',
    cn: opts.cn ?? '2011',
    ...('pw' in opts ? (opts.pw === undefined ? {} : { pw: opts.pw }) : { pw: PASSWORD }),
    mn,
    flag: opts.flag ?? 5,
    ...(opts.pnum !== undefined ? { pnum: opts.pnum, pno: opts.pno } : {}),
    cp: opts.cp ?? 'DataTime=20260301120000;w01018-Rtd=42.5,w01018-Flag=N',
  });
}

/** Waits until `probe` is true (bounded). */
export async function until(probe: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const cnOf = (reply: string) => /CN=(\d{4})/.exec(reply)?.[1];
export const qnRtnOf = (reply: string) => /QnRtn=(\d+)/.exec(reply)?.[1];
