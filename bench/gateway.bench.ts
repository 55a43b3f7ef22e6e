import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodePacket } from '#shared/domain/hj212/codec.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import { type Gateway, startGateway } from '../gateway/server.ts';
import { atMost } from './lib.ts';

/**
 * The HJ 212 gateway on loopback: 2,000 device connections, 1,000 A=1 packets/s spread across them for ~10 s;
 * acknowledgement latency (send → 9014 received) p50/p95/p99, and memory per connection (RSS and heap after
 * connecting, minus before, ÷ connections). Run twice: a publish that resolves at once, and one that takes 5 ms
 * (still well within the in-flight cap), and a saturated run: 5 ms publishes capped at 4 in flight (800/s for 1,000/s
 * offered), where publishes wait their turn and acks queue up but every packet is still acknowledged.
 * Memory per connection is meaningful for the first run (taken right after connecting, after a forced collection).
 * Authentication is a fake (no scrypt) so the numbers are the gateway's, not the hash's.
 * File descriptors: 2 per connection on loopback (client + server side); the run needs ~4,100 (`ulimit -n`).
 */
/** A real collection before each memory reading, without needing `node --expose-gc`. */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const CONNECTIONS = Number(process.env.BENCH_GATEWAY_CONNECTIONS ?? 2_000);
const RATE = 1_000;
const SECONDS = 10;
const PREFIX = '$aws/rules/envwatch_bench_gateway/envwatch/gateway';

const mnOf = (i: number) => `3311260000000000BENCH${String(i).padStart(3, '0')}`.slice(-24);

function fdLimit(): number | undefined {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, i)] as number) * 100) / 100;
}

interface Client {
  socket: Socket;
  sent: number[];
}

async function scenario(publishMs: number, connections: number, maxPendingPublishes?: number) {
  const device = { status: 'active', passwordHash: 'x' } as unknown as StoredDevice;
  const gateway: Gateway = await startGateway({
    port: 0,
    topicPrefix: PREFIX,
    metricsIntervalMs: 0,
    registry: { deviceForAuthentication: async (mn) => ({ ...device, mn }) },
    verify: async (secret) => secret === '123456',
    publish: publishMs > 0 ? () => new Promise((resolve) => setTimeout(resolve, publishMs)) : () => Promise.resolve(),
    limits: { maxConnections: connections + 10, ...(maxPendingPublishes ? { maxPendingPublishes } : {}) },
  });
  collect();
  const before = process.memoryUsage();
  const latencies: number[] = [];
  const clients: Client[] = [];
  const deadline = Date.now() + 60_000;
  try {
    for (let i = 0; i < connections && Date.now() < deadline; i++) {
      const socket = connect({ host: '127.0.0.1', port: gateway.port });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
      socket.setNoDelay(true);
      const client: Client = { socket, sent: [] };
      let buf = '';
      socket.on('data', (chunk: Buffer) => {
        buf += chunk.toString('latin1');
        for (let k = buf.indexOf('\n'); k >= 0; k = buf.indexOf('\n')) {
          buf = buf.slice(k + 1);
          const t0 = client.sent.shift();
          if (t0 !== undefined) latencies.push(performance.now() - t0);
        }
      });
      socket.on('error', () => {});
      clients.push(client);
    }
    // let the server side settle before measuring memory
    await new Promise((r) => setTimeout(r, 500));
    collect();
    const after = process.memoryUsage();
    const perConnection = {
      rssBytes: Math.round((after.rss - before.rss) / clients.length),
      heapBytes: Math.round((after.heapUsed - before.heapUsed) / clients.length),
      externalBytes: Math.round(
        (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / clients.length,
      ),
      note: 'client and server sockets live in this one process: the figure covers both ends',
    };

    // 1,000 packets/s: every 10 ms, 10 packets to the next connections in turn
    const frames = clients.map((_, i) =>
      encodePacket({
        qn: '20260301120000000',
        st: '32',
        cn: '2011',
        pw: '123456',
        mn: mnOf(i),
        flag: 5,
        cp: 'DataTime=20260301120000;w01018-Rtd=42.5,w01018-Flag=N;w21003-Rtd=1.2,w21003-Flag=N',
      }),
    );
    const total = RATE * SECONDS;
    let sent = 0;
    let next = 0;
    const started = performance.now();
    while (sent < total && Date.now() < deadline) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
      while (sent < due) {
        const idx = next++ % clients.length;
        const c = clients[idx] as Client;
        c.sent.push(performance.now());
        c.socket.write(frames[idx] as string);
        sent++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const sendSeconds = (performance.now() - started) / 1000;
    const waitUntil = Date.now() + 15_000;
    while (latencies.length < sent && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
    const sorted = [...latencies].sort((a, b) => a - b);
    const stats = gateway.stats();
    return {
      connections: clients.length,
      publishMs,
      maxPendingPublishes: maxPendingPublishes ?? 'default (1000)',
      packetsSent: sent,
      acksReceived: latencies.length,
      achievedRate: Math.round(sent / sendSeconds),
      ackLatencyMs: {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: percentile(sorted, 100),
      },
      memoryPerConnection: perConnection,
      gateway: {
        publishWaits: stats.counters['backpressure.publishWaits'] ?? 0,
        socketPauses: stats.counters['backpressure.paused'] ?? 0,
        accepted: stats.counters['frames.accepted'] ?? 0,
        authVerifications: stats.counters['auth.ok'] ?? 0,
      },
    };
  } finally {
    for (const c of clients) c.socket.destroy();
    await gateway.stop();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const limit = fdLimit();
  const needed = CONNECTIONS * 2 + 100;
  const connections = limit !== undefined && limit < needed ? Math.floor((limit - 100) / 2) : CONNECTIONS;
  const immediate = await scenario(0, connections);
  const slow = await scenario(5, connections);
  // 4 publishes in flight × 5 ms = 800/s < the offered 1,000/s: the gateway saturates; acks queue, nothing is lost
  const saturated = await scenario(5, connections, 4);
  return {
    fdLimit: limit,
    ...(connections < CONNECTIONS
      ? { warning: `ulimit -n ${limit}: ran ${connections} connections, raise it for ${CONNECTIONS}` }
      : {}),
    immediate,
    slowPublish5ms: slow,
    saturatedPublish5msCap4: saturated,
    targets: [
      atMost('gateway ack p99 (publish immediate)', immediate.ackLatencyMs.p99, 50, 'ms'),
      {
        target: `connections held`,
        value: immediate.connections,
        limit: CONNECTIONS,
        unit: 'connections',
        pass: immediate.connections >= CONNECTIONS,
      },
      {
        target: 'every packet acknowledged',
        value: immediate.acksReceived,
        limit: immediate.packetsSent,
        unit: 'acks',
        pass: immediate.acksReceived === immediate.packetsSent,
      },
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
