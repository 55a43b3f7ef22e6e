import { type ChildProcess, spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { defaultPorts, firstBusyPort } from '#infra/local/ports.ts';
import { x509 } from '#infra/local/services/iot/x509.ts';
import type { ScheduleRun } from '#infra/local/services/scheduler.ts';
import { synthEnvWatch } from '#infra/local/synth.ts';
import { encodeCp, encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { DEVICES, OUTLETS } from '#shared/domain/registry/qingyuan-seed.ts';
import { TcpLink } from '../scripts/simulate/tcp-link.ts';
import { atMost, ROOT, tempDir } from './lib.ts';
import { javaChildOf, procSample, stats } from './measure.ts';

/**
 * `npm run bench -- load` (never in `npm test`): the embedded platform, started as `npm start` starts it (its own
 * process: synthesized template, DynamoDB Local, the gateway, the MQTT broker, the functions in worker threads), under
 * the traffic of many data loggers at once, driven from this process:
 *
 * 1. Registration: ENVWATCH_LOAD_DEVICES devices (default 2,000 = 10× the county's 200) through the registry API as an
 *    installer registers them, half HJ 212-2017 over TCP through the gateway (a password, hashed by the registry), half
 *    HJ 212 over MQTT with a certificate signed from the device's own CSR (an EC P-256 key made here). Clones of two
 *    seeded outlets: water (5 pollutants, the bamboo mill's permit) and flue gas (6, the fungus boiler's).
 * 2. Connections ramp up at ENVWATCH_LOAD_RAMP per second (default 25: each TCP login costs the gateway a password
 *    hash, each MQTT connection a TLS handshake); a device sends its first real-time packet as it connects (a TCP
 *    device's login, and its first contact with the functions), then every device sends one real-time packet (CN 2011, all its
 *    pollutants) every ENVWATCH_LOAD_INTERVAL_SECONDS (default 30), spread evenly over the interval, for
 *    ENVWATCH_LOAD_MINUTES (default 10) after the ramp. TCP packets ask for the 9014 answer, MQTT publishes are QoS 1.
 * 3. Alarms under load: one device in ten (at most 120) sends, once, at a moment spread over the run from minute 2, an
 *    hourly packet (CN 2061, the last full hour) with a permit-limited pollutant at 3× its limit. Latency = that send →
 *    the first message of the exceedance alarm it opens in the platform's SNS log (`/_local/messages.json`, same
 *    machine clock); also reported for the probes sent while the ingest queue was empty at the last sample, and apart
 *    for the probes whose alarm was on its way while a scheduled job ran and those it was not (the local scheduler's
 *    run records, `/_local/schedules`: on 2 cores a job's run takes CPU from the ingest function; in AWS it has its own
 *    container). Before the traffic, every scheduled rule due during the run fires once, so each function's worker
 *    thread has started before the memory is first measured (a worker's start is a cold start, not growth).
 * 4. Every 10 s: resident memory (VmRSS; growth = the mean of minute 2 against the mean of the last minute) of the
 *    platform process and of DynamoDB Local, their CPU, and each function's invocations and queue
 *    (`/_local/stats.json`: an invocation queue that keeps growing is the pipeline falling behind).
 * 5. After the run: every function's queue drained; for every device, its archive chain verified over the run's dates
 *    (records = messages it sent: nothing lost, nothing archived twice, the chain intact) and its real-time readings of
 *    one pollutant counted (= packets sent: no reading lost or stored twice).
 * 6. Knee (ENVWATCH_LOAD_KNEE, default on): after the run, the same devices send faster in steps of one minute
 *    (1.25×, 1.5×, 2×, 3×, 4×, 6×, 8× the run's rate) until, in a step, the functions' queue ends the step higher than
 *    it started and higher than one second of messages, or the TCP acknowledgements' p95 exceeds 2 s: that step's rate is the knee, and
 *    the report says which queue grew and which process used the CPU.
 *
 * ENVWATCH_LAMBDA_CONCURRENCY (passed on to the platform) sets the worker threads per function (default 4);
 * ENVWATCH_LAMBDA_BACKGROUND_NICE the batch jobs' nice value (default 10; 0: they share the CPU as every function).
 * ENVWATCH_LOAD_STORAGE: `memory` (default: `npm start -- --in-memory`, DynamoDB Local's tables in memory) or `disk` (as
 * everyday `npm start`: SQLite synced on every write, which caps the pipeline long before the functions or the CPU do;
 * `npm run bench -- ingestCpu` measures both). DynamoDB in AWS does not make a write wait on a local disk.
 * Short run for a smoke: `ENVWATCH_LOAD_DEVICES=100 ENVWATCH_LOAD_MINUTES=2 ENVWATCH_LOAD_KNEE=off npm run bench -- load`.
 */
const N = Number(process.env.ENVWATCH_LOAD_DEVICES ?? 2000);
const MINUTES = Number(process.env.ENVWATCH_LOAD_MINUTES ?? 10);
const INTERVAL_S = Number(process.env.ENVWATCH_LOAD_INTERVAL_SECONDS ?? 30);
const RAMP_PER_S = Number(process.env.ENVWATCH_LOAD_RAMP ?? 25);
const KNEE = process.env.ENVWATCH_LOAD_KNEE !== 'off';
const STORAGE = process.env.ENVWATCH_LOAD_STORAGE ?? 'memory';
if (STORAGE !== 'memory' && STORAGE !== 'disk')
  throw new Error(`ENVWATCH_LOAD_STORAGE is memory or disk, not ${STORAGE}`);
const KNEE_FACTORS = [1.25, 1.5, 2, 3, 4, 6, 8];
const KNEE_STEP_MS = 60_000;
const SAMPLE_MS = 10_000;
/** after the traffic, how long the platform may take to work off what it queued before the count */
const DRAIN_MAX_MS = 20 * 60_000;
const LATENCY_TARGET_MS = 200;
const RSS_GROWTH_TARGET = 0.1;
const STAGE_THROTTLE = { publicRateLimit: 10_000, publicBurstLimit: 10_000 };
const PASSWORD = 'load-pw-7K2q';
const HOUR = 3_600_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ───────────────────────────── the devices ─────────────────────────────

interface Template {
  seed: (typeof DEVICES)[number];
  limits: Record<string, number>;
  /** normal values: a third of the limit, or a plausible reading */
  normal: Record<string, number>;
  air: boolean;
}

function template(mn: string): Template {
  const seed = DEVICES.find((d) => d.mn === mn);
  if (!seed) throw new Error(`no seeded device ${mn}`);
  const outlet = OUTLETS.find((o) => o.id === seed.outletId);
  const limits: Record<string, number> = {};
  for (const l of outlet?.limits ?? []) if (l.max !== undefined) limits[l.pollutant] = l.max;
  const plausible: Record<string, number> = { w00000: 5.2, w01001: 7.2, a00000: 3.1, a01012: 65, a19001: 9 };
  const normal: Record<string, number> = {};
  for (const p of seed.pollutants)
    normal[p] = limits[p] !== undefined ? (limits[p] as number) / 3 : (plausible[p] ?? 1);
  return { seed, limits, normal, air: outlet?.medium === 'air' };
}

interface LoadDevice {
  mn: string;
  tcp: boolean;
  t: Template;
  /** offset of its sends within the interval */
  phaseMs: number;
  /** packets it meant to send */
  sent: number;
  /** packets on the wire: a TCP packet unanswered for 10 s is sent again, as a DAQ does, and archived again */
  wire: number;
  realtime: number;
  failed: number;
  link?: TcpLink;
  client?: MqttClient;
  key?: string;
  cert?: string;
  alarmAt?: number;
  alarmSentAt?: number;
  lastQn: number;
  /** when its next real-time packet is due (ms) */
  nextAt: number;
}

const mnOf = (i: number) => `3311260000000000LD${String(i).padStart(6, '0')}`;

function qnAfter(d: LoadDevice, t: number): string {
  d.lastQn = Math.max(d.lastQn + 1, t);
  return isoToBeijing(new Date(d.lastQn), true);
}

function realtimeFrame(d: LoadDevice, t: number): string {
  const pollutants: Record<string, { values: { Rtd: number }; flag: string }> = {};
  for (const [code, v] of Object.entries(d.t.normal))
    pollutants[code] = { values: { Rtd: Math.round(v * (0.9 + Math.random() * 0.2) * 100) / 100 }, flag: 'N' };
  const cp = encodeCp({ dataTime: new Date(t).toISOString(), params: {}, pollutants });
  return encodePacket({ qn: qnAfter(d, t), flag: 5, st: d.t.seed.st, cn: '2011', pw: PASSWORD, mn: d.mn, cp });
}

/** The last full hour's average with the first limited pollutant at 3× its limit (converted value for flue gas). */
/** the pollutant a device's alarm probe sends at 3× its limit: its outlet's first limited one */
const probePollutant = (d: LoadDevice) => Object.keys(d.t.limits)[0] as string;

function exceedanceFrame(d: LoadDevice, t: number): string {
  const code = probePollutant(d);
  const limit = d.t.limits[code] as number;
  const v = (limit * 3).toFixed(1);
  const hour = Math.floor(t / HOUR) * HOUR - HOUR;
  const cp = d.t.air
    ? `DataTime=${isoToBeijing(new Date(hour))};${code}-Avg=${(limit * 2.5).toFixed(1)},${code}-ZsAvg=${v},${code}-Flag=N;a19001-Avg=9.0,a19001-Flag=N;a00000-Avg=3.1,a00000-Flag=N`
    : `DataTime=${isoToBeijing(new Date(hour))};${code}-Avg=${v},${code}-Flag=N;w00000-Avg=5.2,w00000-Flag=N`;
  return encodePacket({ qn: qnAfter(d, t), flag: 5, st: d.t.seed.st, cn: '2061', pw: PASSWORD, mn: d.mn, cp });
}

async function csrFor(mn: string): Promise<{ csr: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${mn}`,
    keys: keys as never,
    signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const lines = pkcs8.match(/.{1,64}/g)?.join('\n') ?? pkcs8;
  return { csr: csr.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${lines}\n-----END PRIVATE KEY-----\n` };
}

// ───────────────────────────── the platform, in its own process ─────────────────────────────

interface Endpoints {
  api: string;
  mqtts: string;
  mqttCa: string;
  hj212: string;
  dynamodb: string;
  s3: string;
  auth: { issuer: string; audience: string };
}

async function startPlatform(
  dataDir: string,
): Promise<{ child: ChildProcess; endpoints: Endpoints; stop: () => Promise<void> }> {
  let base = 6110;
  while (await firstBusyPort(Object.values(defaultPorts(base)))) base += 20;
  synthEnvWatch(join(dataDir, 'cdk.out'), STAGE_THROTTLE);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'infra/local/main.ts',
      '--data-dir',
      dataDir,
      '--port-base',
      String(base),
      '--no-synth',
      '--quiet',
      ...(STORAGE === 'memory' ? ['--in-memory'] : []),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const file = join(dataDir, 'endpoints.json');
  const deadline = Date.now() + 180_000;
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`the platform exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`the platform did not start in 180 s: ${stderr}`);
    await sleep(250);
  }
  await sleep(500);
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGINT');
    for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(100);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  return { child, endpoints, stop };
}

async function scheduleRules(url: string) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return ((await res.json()) as { schedules: { ruleName: string; next?: string; runs: ScheduleRun[] }[] }).schedules;
}

interface FunctionStats {
  functionName: string;
  invocations: number;
  errors: number;
  environments: number;
  busy: number;
  queued: number;
  maxQueued: number;
  busyMs: number;
}

// ───────────────────────────── run ─────────────────────────────

export async function run(): Promise<Record<string, unknown>> {
  const tmp = tempDir('load');
  const dataDir = join(tmp.dir, 'data');
  const platform = await startPlatform(dataDir);
  const { endpoints } = platform;
  const clients: MqttClient[] = [];
  const links: TcpLink[] = [];
  try {
    const jwt = await loadOrCreateKeys(dataDir);
    const claims = { iss: endpoints.auth.issuer, aud: endpoints.auth.audience, townships: ['*'] };
    const admin = signToken(jwt, { ...claims, sub: 'load-admin', roles: ['admin'] }, 4 * 3600);
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${endpoints.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const functionStats = async (): Promise<FunctionStats[]> =>
      ((await (await fetch(`${endpoints.api}/_local/stats.json`)).json()) as { functions: FunctionStats[] }).functions;

    // 1. registration
    const templates = [template('33112600000000000000BW01'), template('33112600000000000000FA01')];
    const devices: LoadDevice[] = Array.from({ length: N }, (_, i) => ({
      mn: mnOf(i + 1),
      tcp: i % 2 === 0,
      t: templates[Math.floor(i / 2) % 2] as Template,
      phaseMs: Math.floor(((i * 7919) % N) * ((INTERVAL_S * 1000) / N)),
      sent: 0,
      wire: 0,
      realtime: 0,
      failed: 0,
      lastQn: 0,
      nextAt: 0,
    }));
    const registerStart = performance.now();
    const registerOne = async (d: LoadDevice) => {
      const s = d.t.seed;
      const body: Record<string, unknown> = {
        mn: d.mn,
        enterpriseId: s.enterpriseId,
        outletId: s.outletId,
        st: s.st,
        protocol: 'hj212-2017',
        pollutants: s.pollutants,
        intervals: { realtimeSeconds: INTERVAL_S, minuteMinutes: 10, hourly: true },
        status: 'active',
        password: PASSWORD,
        transport: d.tcp ? 'tcp' : 'mqtt',
      };
      if (!d.tcp) {
        const made = await csrFor(d.mn);
        body.csr = made.csr;
        d.key = made.key;
      }
      const res = await api('POST', '/registry/devices', body);
      if (!d.tcp) d.cert = (res.certificate as { certificatePem: string }).certificatePem;
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < devices.length) await registerOne(devices[next++] as LoadDevice);
      }),
    );
    const registerSeconds = (performance.now() - registerStart) / 1000;

    // 1b. every scheduled rule due during the run fires once now, before the traffic: its function's worker thread
    // starts here, not in the measured window (a worker's start is a cold start, once; not the growth the memory
    // target is about), and the run's own firings find their workers warm as they would in AWS
    const schedulesUrl = `${endpoints.api}/_local/schedules`;
    const runEnd = Date.now() + (MINUTES + 20) * 60_000;
    const warmed: string[] = [];
    for (const r of await scheduleRules(schedulesUrl)) {
      if (!r.next || Date.parse(r.next) > runEnd) continue;
      const fired = await fetch(`${schedulesUrl}/${encodeURIComponent(r.ruleName)}/run`, { method: 'POST' });
      if (fired.status !== 202) throw new Error(`warming ${r.ruleName}: ${fired.status} ${await fired.text()}`);
      warmed.push(r.ruleName);
    }

    // 2. connections, ramped
    const ca = readFileSync(endpoints.mqttCa, 'utf8');
    const gateway = new URL(endpoints.hj212.replace(/^tcp:/, 'http:'));
    const ackMs: number[] = [];
    const pubackMs: number[] = [];
    let stepAck: number[] = [];
    const send = (d: LoadDevice, frame: string, kind: 'realtime' | 'alarm') => {
      const t0 = performance.now();
      d.sent++;
      d.wire++;
      if (kind === 'realtime') d.realtime++;
      if (d.tcp) {
        const qn = /QN=(\d+)/.exec(frame)?.[1];
        void (d.link as TcpLink).send(frame, qn, true).then((o) => {
          if (o.result !== 'acked') d.failed++;
          if (o.result === 'dropped') d.wire--; // the link's queue overflowed: it never went out
          const ms = performance.now() - t0;
          ackMs.push(ms);
          stepAck.push(ms);
        });
      } else {
        void (d.client as MqttClient).publishAsync(`envwatch/devices/${d.mn}/hj212`, frame, { qos: 1 }).then(
          () => pubackMs.push(performance.now() - t0),
          () => d.failed++,
        );
      }
    };
    const rampStart = performance.now();
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i] as LoadDevice;
      if (d.tcp) {
        d.link = new TcpLink({
          host: gateway.hostname,
          port: Number(gateway.port),
          ackTimeoutMs: 10_000,
          onRetry: () => d.wire++,
        });
        d.link.start();
        links.push(d.link);
      } else {
        const client = mqtt.connect(endpoints.mqtts, {
          clientId: d.mn,
          key: d.key as string,
          cert: d.cert as string,
          ca,
          reconnectPeriod: 2000,
          connectTimeout: 30_000,
        });
        d.client = client;
        clients.push(client);
      }
      // a data logger sends as soon as it is connected: its first packet logs a TCP device in (the gateway checks its
      // password once per connection) and is a device's first contact for the functions, so the password hashes and
      // the first-contact reads are spread over the ramp, as the ramp is meant to spread them (not all due in the
      // first interval of the steady traffic)
      send(d, realtimeFrame(d, Math.floor(Date.now() / 1000) * 1000), 'realtime');
      const wait = rampStart + ((i + 1) * 1000) / RAMP_PER_S - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const connectDeadline = Date.now() + 120_000;
    while (clients.some((c) => !c.connected) && Date.now() < connectDeadline) await sleep(200);
    const rampSeconds = (performance.now() - rampStart) / 1000;

    // 3. steady traffic, with the alarm probes
    const alarmDevices = devices.filter((_, i) => i % 10 === 5).slice(0, 120);
    const runMs = MINUTES * 60_000;
    const steadyStart = Date.now();
    alarmDevices.forEach((d, i) => {
      d.alarmAt = steadyStart + Math.min(2 * 60_000, runMs / 5) + Math.floor((i * (runMs * 0.7)) / alarmDevices.length);
    });
    const samples: Record<string, unknown>[] = [];
    const platformPid = platform.child.pid as number;
    const javaPid = javaChildOf(platformPid);
    let prev = { at: Date.now(), node: procSample(platformPid), java: javaPid ? procSample(javaPid) : undefined };
    const sample = async (phase: string) => {
      const now = Date.now();
      const node = procSample(platformPid);
      const java = javaPid ? procSample(javaPid) : undefined;
      const seconds = (now - prev.at) / 1000;
      const cpu = (a?: { cpuTicks: number }, b?: { cpuTicks: number }) =>
        a && b ? Math.round(((b.cpuTicks - a.cpuTicks) / 100 / seconds) * 100) : null;
      const fns = await functionStats();
      const s = {
        phase,
        atSeconds: Math.round((now - steadyStart) / 1000),
        platformRssMb: node ? Math.round(node.rssKb / 1024) : null,
        dynamodbLocalRssMb: java ? Math.round(java.rssKb / 1024) : null,
        platformCpuPct: cpu(prev.node, node),
        dynamodbLocalCpuPct: cpu(prev.java, java),
        queued: Object.fromEntries(fns.filter((f) => f.queued > 0).map((f) => [f.functionName, f.queued])),
        invocations: fns.reduce((a, f) => a + f.invocations, 0),
        workers: fns.reduce((a, f) => a + f.environments, 0),
        sent: devices.reduce((a, d) => a + d.sent, 0),
      };
      prev = { at: now, node, java };
      samples.push(s);
      return s;
    };

    for (const d of devices) d.nextAt = steadyStart + d.phaseMs;
    let factor = 1;
    let running = true;
    const pump = (async () => {
      while (running) {
        const now = Date.now();
        const period = (INTERVAL_S * 1000) / factor;
        for (const d of devices) {
          if (d.nextAt > now) continue;
          // DataTime: the due second (periods are ≥ 3.75 s apart, so every packet of a device has its own DataTime)
          send(d, realtimeFrame(d, Math.floor(d.nextAt / 1000) * 1000), 'realtime');
          d.nextAt += period;
          if (d.alarmAt !== undefined && d.alarmSentAt === undefined && now >= d.alarmAt) {
            d.alarmSentAt = Date.now();
            send(d, exceedanceFrame(d, now), 'alarm');
          }
        }
        await sleep(50);
      }
    })();
    while (Date.now() - steadyStart < runMs) {
      await sleep(SAMPLE_MS);
      await sample('steady');
    }
    const steadyAck = stats(ackMs.splice(0));
    const steadyPuback = stats(pubackMs.splice(0));

    // 6. knee
    const knee: Record<string, unknown>[] = [];
    let kneeAt: Record<string, unknown> | undefined;
    if (KNEE) {
      for (const f of KNEE_FACTORS) {
        factor = f;
        stepAck = [];
        const before = await sample(`knee ×${f}`);
        const startQueued = Object.values(before.queued as Record<string, number>).reduce((a, b) => a + b, 0);
        const stepStart = Date.now();
        while (Date.now() - stepStart < KNEE_STEP_MS) {
          await sleep(SAMPLE_MS);
          await sample(`knee ×${f}`);
        }
        const after = samples[samples.length - 1] as {
          queued: Record<string, number>;
          platformCpuPct: number;
          dynamodbLocalCpuPct: number;
        };
        const endQueued = Object.values(after.queued).reduce((a, b) => a + b, 0);
        const rate = (N * f) / INTERVAL_S;
        const ack = stats(stepAck);
        const step = {
          factor: f,
          messagesPerSecond: Math.round(rate * 10) / 10,
          queuedAtStart: startQueued,
          queuedAtEnd: endQueued,
          queuedByFunction: after.queued,
          tcpAckP95Ms: ack.p95Ms,
          platformCpuPct: after.platformCpuPct,
          dynamodbLocalCpuPct: after.dynamodbLocalCpuPct,
        };
        knee.push(step);
        if ((endQueued > startQueued && endQueued > rate) || (ack.p95Ms ?? 0) > 2000) {
          kneeAt = step;
          break;
        }
      }
      factor = 1;
    }
    running = false;
    await pump;

    // 5. drain, then count
    const drainStart = Date.now();
    for (;;) {
      const fns = await functionStats();
      const inFlight = links.reduce((a, l) => a + l.backlog, 0);
      if (fns.every((f) => f.queued === 0 && f.busy === 0) && inFlight === 0) break;
      if (Date.now() - drainStart > DRAIN_MAX_MS) break;
      await sleep(1000);
    }
    await sleep(3000);
    const drainSeconds = (Date.now() - drainStart) / 1000;
    // alarms: the first SNS message of each alarm opened by a probe
    const probes = new Map(alarmDevices.filter((d) => d.alarmSentAt).map((d) => [d.mn, d]));
    const alarmOf = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const page = await api(
        'GET',
        `/alarms?state=active&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      // the probe's own alarm: the exceedance of the pollutant it sent at 3× (a probe device can have others open)
      for (const a of page.items as { alarmId: string; mn: string; type: string; pollutant?: string }[]) {
        const probe = probes.get(a.mn);
        if (probe && a.type === 'exceedance' && a.pollutant === probePollutant(probe)) alarmOf.set(a.alarmId, a.mn);
      }
      cursor = page.cursor as string | undefined;
    } while (cursor);
    const firstMessage = new Map<string, number>();
    const messages = (
      (await (
        await fetch(
          `${endpoints.api}/_local/messages.json?since=${encodeURIComponent(new Date(steadyStart).toISOString())}&limit=100000`,
        )
      ).json()) as { messages: { at: string; message: string }[] }
    ).messages;
    for (const m of messages) {
      let id: string | undefined;
      try {
        id = (JSON.parse(m.message) as { alarmId?: string }).alarmId;
      } catch {}
      const mn = id ? alarmOf.get(id) : undefined;
      if (!mn) continue;
      const at = Date.parse(m.at);
      if (at < (probes.get(mn)?.alarmSentAt ?? 0)) continue;
      if (!firstMessage.has(mn) || at < (firstMessage.get(mn) as number)) firstMessage.set(mn, at);
    }
    const latencies = [...probes.values()].flatMap((d) => {
      const at = firstMessage.get(d.mn);
      return at === undefined ? [] : [at - (d.alarmSentAt as number)];
    });
    const alarmLatency = stats(latencies);
    // the same, for the probes sent while the ingest queue was empty (after the containers' warm-up backlog): what
    // an alarm takes when the pipeline keeps up, apart from the wait behind a backlog
    const queueAt = (t: number) => {
      const s = (samples as { phase: string; atSeconds: number; queued: Record<string, number> }[])
        .filter((x) => x.phase === 'steady' && steadyStart + x.atSeconds * 1000 <= t)
        .at(-1);
      return s ? Object.values(s.queued).reduce((a, n) => a + n, 0) : Number.POSITIVE_INFINITY;
    };
    const keptUp = [...probes.values()].flatMap((d) => {
      const at = firstMessage.get(d.mn);
      const sentAt = d.alarmSentAt as number;
      return at === undefined || queueAt(sentAt) > 0 ? [] : [at - sentAt];
    });
    const alarmLatencyKeptUp = stats(keptUp);
    // the scheduled jobs' runs in the window, and the probes whose alarm was on its way while one ran: on 2 cores a
    // job takes its CPU from the ingest function (in AWS each runs in its own container)
    const steadyEnd = Date.now();
    const jobRuns = (await scheduleRules(schedulesUrl)).flatMap((r) =>
      r.runs
        .map((run) => ({
          rule: r.ruleName,
          from: Date.parse(run.startedAt),
          to: Date.parse(run.startedAt) + run.ms,
          ...run,
        }))
        .filter((run) => run.to >= steadyStart && run.from <= steadyEnd),
    );
    const byRule = new Map<string, number[]>();
    for (const run of jobRuns) byRule.set(run.rule, [...(byRule.get(run.rule) ?? []), run.ms]);
    const jobs = [...byRule].map(([rule, ms]) => ({
      rule,
      runs: ms.length,
      meanMs: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length),
      maxMs: Math.max(...ms),
      totalSeconds: Math.round(ms.reduce((a, b) => a + b, 0) / 100) / 10,
    }));
    const metJob = (from: number, to: number) => jobRuns.some((run) => run.from <= to && run.to >= from);
    const probeSpans = [...probes.values()].flatMap((d) => {
      const at = firstMessage.get(d.mn);
      return at === undefined ? [] : [{ from: d.alarmSentAt as number, to: at }];
    });
    const apartFromJobs = stats(probeSpans.filter((p) => !metJob(p.from, p.to)).map((p) => p.to - p.from));
    const meetingJobs = stats(probeSpans.filter((p) => metJob(p.from, p.to)).map((p) => p.to - p.from));

    // archive and readings per device
    const verify = await import('./load-verify.ts');
    const counts = await verify.countArchiveAndReadings(
      endpoints,
      devices.map((d) => ({ mn: d.mn, pollutant: Object.keys(d.t.normal)[0] as string })),
      steadyStart - HOUR,
      Date.now(),
    );
    let lost = 0;
    let extra = 0;
    let broken = 0;
    const breaks: { mn: string; breaks: unknown }[] = [];
    let readingsMissing = 0;
    let readingsExtra = 0;
    for (const d of devices) {
      const c = counts.get(d.mn);
      const archived = c?.records ?? 0;
      if (archived < d.wire) lost += d.wire - archived;
      if (archived > d.wire) extra += archived - d.wire;
      if (c && !c.ok) {
        broken++;
        if (breaks.length < 5) breaks.push({ mn: d.mn, breaks: c.breaks });
      }
      const readings = c?.realtimeReadings ?? 0;
      if (readings < d.realtime) readingsMissing += d.realtime - readings;
      if (readings > d.realtime) readingsExtra += readings - d.realtime;
    }
    const sent = devices.reduce((a, d) => a + d.sent, 0);
    const resent = devices.reduce((a, d) => a + d.wire - d.sent, 0);
    const steady = samples.filter((s) => s.phase === 'steady') as {
      atSeconds: number;
      platformRssMb: number;
      dynamodbLocalRssMb: number;
    }[];
    // resident memory in minute 2 and in the last minute, each the mean of its samples (one sample swings ±5 % with
    // the garbage collector)
    const minuteMean = (from: number, key: 'platformRssMb' | 'dynamodbLocalRssMb') => {
      const inMinute = steady.filter((s) => s.atSeconds >= from && s.atSeconds < from + 60);
      return inMinute.length ? Math.round(inMinute.reduce((a, s) => a + s[key], 0) / inMinute.length) : null;
    };
    const lastMinute = Math.max(60, (steady.at(-1)?.atSeconds ?? 0) - 60);
    const rss2 = minuteMean(60, 'platformRssMb');
    const rssEnd = minuteMean(lastMinute, 'platformRssMb');
    const growth = rss2 && rssEnd ? (rssEnd - rss2) / rss2 : null;
    const fns = await functionStats();
    const result = {
      what: 'the embedded platform in its own process under many data loggers (TCP through the gateway and MQTT with certificates); archive, readings, alarm latency, memory, knee',
      devices: N,
      tcp: devices.filter((d) => d.tcp).length,
      mqtt: devices.filter((d) => !d.tcp).length,
      intervalSeconds: INTERVAL_S,
      dynamodbStorage: STORAGE,
      lambdaWorkersPerFunction: Number(process.env.ENVWATCH_LAMBDA_CONCURRENCY ?? 4),
      batchJobsNice: process.env.ENVWATCH_LAMBDA_BACKGROUND_NICE
        ? Number(process.env.ENVWATCH_LAMBDA_BACKGROUND_NICE)
        : 10,
      messagesPerSecond: Math.round((N / INTERVAL_S) * 10) / 10,
      minutes: MINUTES,
      registerSeconds: Math.round(registerSeconds),
      rampSeconds: Math.round(rampSeconds),
      drainSeconds: Math.round(drainSeconds),
      sent,
      resentAfterAckTimeout: resent,
      failedSends: devices.reduce((a, d) => a + d.failed, 0),
      archive: { lost, archivedTwice: extra, brokenChains: broken, firstBreaks: breaks },
      readings: { missing: readingsMissing, extra: readingsExtra },
      alarmProbes: { sent: probes.size, alarmsFound: alarmOf.size, ...alarmLatency },
      alarmProbesWhileQueueEmpty: alarmLatencyKeptUp,
      alarmProbesApartFromJobs: apartFromJobs,
      alarmProbesMeetingJobs: meetingJobs,
      jobs: { warmedBeforeTraffic: warmed, inWindow: jobs },
      tcpAck: steadyAck,
      mqttPuback: steadyPuback,
      rss: {
        platformMbMinute2: rss2,
        platformMbLastMinute: rssEnd,
        growth: growth === null ? null : Math.round(growth * 1000) / 1000,
        dynamodbLocalMbMinute2: minuteMean(60, 'dynamodbLocalRssMb'),
        dynamodbLocalMbLastMinute: minuteMean(lastMinute, 'dynamodbLocalRssMb'),
      },
      functions: fns.map((f) => ({
        name: f.functionName,
        invocations: f.invocations,
        errors: f.errors,
        maxQueued: f.maxQueued,
        meanMs: f.invocations ? Math.round(f.busyMs / f.invocations) : null,
      })),
      knee: { steps: knee, at: kneeAt ?? null },
      samples,
      targets: [
        atMost('messages lost (archive records < packets on the wire)', lost, 0, 'messages'),
        atMost('packets archived more than once', extra, 0, 'messages'),
        atMost('broken chains', broken, 0, 'chains'),
        atMost('real-time readings missing or stored twice', readingsMissing + readingsExtra, 0, 'readings'),
        atMost('alarm latency p95 under load', alarmLatency.p95Ms ?? Number.POSITIVE_INFINITY, LATENCY_TARGET_MS, 'ms'),
        atMost(
          'platform RSS growth minute 2 → last minute (means)',
          growth ?? Number.POSITIVE_INFINITY,
          RSS_GROWTH_TARGET,
          'ratio',
        ),
      ],
    };
    writeFileSync(join(ROOT, 'bench', 'results', 'load.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    for (const c of clients) c.end(true);
    await Promise.all(links.map((l) => l.close(0)));
    await platform.stop();
    tmp.remove();
  }
}
