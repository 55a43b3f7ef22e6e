import { createServer, type Socket } from 'node:net';
import { ulid } from '#shared/domain/ids.ts';
import { verifySecret } from '#shared/domain/secrets.ts';
import { createLogger, type Logger } from '#shared/observability/logger.ts';
import { type CommandFeed, CommandRouter } from './commands.ts';
import { Connection, type DeviceRegistry, type GatewayKeys, type GatewayLoggers, type Verdict } from './connection.ts';
import { DEFAULT_LIMITS, type GatewayLimits } from './limits.ts';
import { Metrics } from './metrics.ts';

/**
 * The HJ 212 TCP gateway: a TCP server whose connections (connection.ts) frame, decode, authenticate and acknowledge
 * device packets, and publish one IngestEnvelope (shared/domain/ingest/envelope.ts, `source: 'tcp-gateway'`) per
 * received frame, rejected frame or garbage aggregate to `<topicPrefix>/<mn or "unknown">` (IoT Basic Ingest in the
 * cloud, the local IoT stand-in on a laptop). Its ports — registry lookups and publishing — are injected, so tests,
 * the bench and the local platform drive it without AWS; gateway/main.ts wires the real adapters.
 *
 * Publishes in flight are capped (`maxPendingPublishes`); above the cap they wait, the waiting connections' queues
 * fill and their sockets pause (TCP backpressure), while other connections carry on. `stop()` drains: stops
 * accepting and reading, lets received frames be published and acknowledged (up to `drainMs`), then closes.
 * With a command feed (`commands`), platform commands for the devices verified on its connections are written to them
 * (commands.ts); their answers (9011/9012) come back as any packet does.
 */
export interface GatewayOptions {
  host?: string;
  /** 0 = a free port */
  port: number;
  /** full Basic Ingest prefix, e.g. `$aws/rules/envwatch_dev_gateway/envwatch/gateway` (env GATEWAY_INGEST_TOPIC) */
  topicPrefix: string;
  registry: DeviceRegistry;
  /** HJ 212-2025 device keys (connection.ts); without them encrypted packets are refused as `no-key` */
  keys?: GatewayKeys;
  publish: (topic: string, payload: string) => Promise<void>;
  /** structured JSON log lines (default: silent) */
  log?: (line: string) => void;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  limits?: Partial<GatewayLimits>;
  /** EMF metric lines every `metricsIntervalMs` (default: to `log`; 0 = never) */
  metricsIntervalMs?: number;
  metricsWrite?: (line: string) => void;
  /** password check (default: scrypt verifySecret) */
  verify?: (secret: string, hash: string) => Promise<boolean>;
  now?: () => number;
  /** platform commands for the devices connected here (commands.ts); none: the gateway only receives */
  commands?: CommandFeed;
  /** new loggers' CN 1001 reports and their 9012 to a 1002 (registry/loggers.ts); none: a 1001 without MN is refused */
  loggers?: Pick<GatewayLoggers, 'seen' | 'confirm'>;
}

export interface GatewayStats {
  connections: number;
  pausedConnections: number;
  pendingBytes: number;
  publishesInFlight: number;
  publishesWaiting: number;
  counters: Record<string, number>;
}

export interface Gateway {
  host: string;
  port: number;
  metrics: Metrics;
  stats(): GatewayStats;
  stop(): Promise<void>;
}

const MAX_DETAIL = 500;

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = opts.host ?? '127.0.0.1';
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const now = opts.now ?? Date.now;
  const write = opts.log ?? (() => {});
  const logger: Logger = createLogger('hj212-gateway', opts.logLevel ?? 'info', write);
  const metrics = new Metrics('hj212-gateway', opts.metricsWrite ?? write, logger);
  const prefix = opts.topicPrefix.replace(/\/+$/, '');
  const connections = new Set<Connection>();

  // publishes in flight, capped; waiters are served in arrival order
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const acquire = (): Promise<void> | undefined => {
    if (inFlight < limits.maxPendingPublishes) {
      inFlight++;
      return undefined;
    }
    metrics.inc('backpressure.publishWaits');
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  };

  const publishVerdict = async (clientId: string, v: Verdict): Promise<boolean> => {
    const payload = JSON.stringify({
      source: 'tcp-gateway',
      mn: v.mn,
      receivedAt: new Date(now()).toISOString(),
      raw: v.raw.toString('base64'),
      clientId,
      accepted: v.accepted,
      ...(v.kind === 'split-message' ? { kind: v.kind } : {}),
      ...(v.reason ? { reason: v.reason.slice(0, 64) } : {}),
      ...(v.detail ? { detail: v.detail.slice(0, MAX_DETAIL) } : {}),
    });
    const wait = acquire();
    if (wait) await wait;
    try {
      await opts.publish(`${prefix}/${v.mn}`, payload);
      metrics.inc('publish.ok');
      if (!v.accepted) metrics.inc('envelopes.rejected');
      return true;
    } catch (err) {
      metrics.inc('publish.failed');
      logger.error('publish failed', { connection: clientId, mn: v.mn, reason: v.reason, error: err });
      return false;
    } finally {
      release();
    }
  };

  const ctx = {
    limits,
    registry: opts.registry,
    ...(opts.keys ? { keys: opts.keys } : {}),
    ...(opts.loggers
      ? { loggers: gatewayLoggers(opts.loggers, reportBudget(limits.loggerReportsPerMinute, now)) }
      : {}),
    verify: opts.verify ?? verifySecret,
    publish: publishVerdict,
    metrics,
    logger,
    now,
    onClose: (conn: Connection, reason: string) => {
      connections.delete(conn);
      router.detach(conn);
      logger.debug('connection closed', { connection: conn.id, reason });
    },
    onAuthenticated: (conn: Connection, mn: string) => router.attach(conn, mn),
    deliverCommand: (topic: string, payload: Buffer) => router.deliver(topic, payload),
  };
  const router = new CommandRouter(metrics, logger, opts.keys);
  await opts.commands?.start((topic, payload) => router.deliver(topic, payload));

  const server = createServer({ noDelay: true }, (socket: Socket) => {
    if (stopping || connections.size >= limits.maxConnections) {
      metrics.inc('connections.refused');
      socket.destroy();
      return;
    }
    metrics.inc('connections.opened');
    const conn = new Connection(`tcp-${ulid()}`, socket, ctx);
    connections.add(conn);
    logger.debug('connection opened', { connection: conn.id });
  });
  server.on('error', (err) => logger.error('server error', { error: err }));
  let stopping = false;

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : opts.port);
    });
  });

  const sweep = setInterval(() => {
    const t = now();
    for (const c of [...connections]) c.sweep(t);
  }, limits.sweepMs);
  sweep.unref();

  const gauges = () => ({ connections: connections.size, publishesInFlight: inFlight });
  const metricsEvery = opts.metricsIntervalMs ?? 60_000;
  const metricsTimer = metricsEvery > 0 ? setInterval(() => metrics.flush(gauges()), metricsEvery) : undefined;
  metricsTimer?.unref();
  logger.info('HJ 212 gateway listening', { host, port, topicPrefix: prefix });

  const stats = (): GatewayStats => {
    let paused = 0;
    let pendingBytes = 0;
    for (const c of connections) {
      if (c.isPaused) paused++;
      pendingBytes += c.pendingBytes;
    }
    return {
      connections: connections.size,
      pausedConnections: paused,
      pendingBytes,
      publishesInFlight: inFlight,
      publishesWaiting: waiting.length,
      counters: metrics.totals(),
    };
  };

  const within = (ms: number, work: Promise<unknown>) =>
    Promise.race([work, new Promise((r) => setTimeout(r, ms).unref())]);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      clearInterval(sweep);
      if (metricsTimer) clearInterval(metricsTimer);
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      const all = [...connections];
      logger.info('draining connections', { connections: all.length });
      for (const c of all) c.stopReading();
      await within(limits.drainMs, Promise.all(all.map((c) => c.drained())));
      for (const c of all) c.close('shutdown');
      await within(limits.drainMs, Promise.all(all.map((c) => c.finished)));
      for (const c of all) c.socket.destroy();
      await closing;
      await opts.commands?.stop().catch((err: unknown) => logger.warn('command feed stop failed', { error: err }));
      metrics.flush(gauges());
      logger.info('HJ 212 gateway stopped', { counters: metrics.totals() });
    })();
    return stopped;
  };

  return { host, port, metrics, stats, stop };
}

function gatewayLoggers(l: Pick<GatewayLoggers, 'seen' | 'confirm'>, take: () => boolean): GatewayLoggers {
  return {
    seen: (identity, via) => l.seen(identity, via),
    confirm: (mn, qn, exeRtn) => l.confirm(mn, qn, exeRtn),
    take,
  };
}

/** A task-wide token bucket: `perMinute` tokens, refilled continuously (pending-logger writes, docs/decisions.md). */
function reportBudget(perMinute: number, now: () => number): () => boolean {
  let tokens = perMinute;
  let at = now();
  return () => {
    const t = now();
    tokens = Math.min(perMinute, tokens + ((t - at) / 60_000) * perMinute);
    at = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
