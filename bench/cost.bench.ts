import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform } from '#infra/local/platform.ts';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { CachedDeviceDirectory } from '#shared/adapters/device-directory.ts';
import { CachingKeyOpener, KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { DynamoRegistryReader } from '#shared/adapters/registry-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { sha256Hex } from '#shared/domain/archive/record.ts';
import { encodeEncryptedFrame, encodeFrame, encodeSegment, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';
import { decodeMessage, type IngestOutcome, IngestService, judgeMessage } from '#shared/domain/ingest/ingest.ts';
import { DEVICES, SEED_DEVICE_PASSWORD } from '#shared/domain/registry/qingyuan-seed.ts';
import { alarmServicesFromEnv } from '#shared/wiring/alarm-engine.ts';
import { ingestServiceFromEnv } from '#shared/wiring/ingest.ts';
import { destroyClients, type Meter, meteredClients, newMeter, resetMeter } from './cost/meter.ts';
import { PRICES, type PriceId, type PriceRow, perItem } from './cost/prices.ts';
import { ROOT, tempDir } from './lib.ts';
import { bootBenchPlatform } from './measure.ts';

/**
 * `npm run bench -- cost`: what one device message costs, from the commands the pipeline sends.
 *
 * The embedded platform is booted from a fresh synth (DynamoDB Local, the S3 and KMS stand-ins, the seeded registry).
 * The ingest function's own wiring (shared/wiring/ingest.ts, the function's environment from the template) runs
 * in-process with SDK clients that count every command (bench/cost/meter.ts: DynamoDB units as DynamoDB Local reports
 * them with ReturnConsumedCapacity, S3 requests and bytes, KMS and SNS requests). Three realistic messages:
 *   mqtt-2017     HJ 212-2017 minute data (CN 2051) with 6 readings from a gas boiler, over MQTT (rule envwatch_hj212)
 *   gateway-2017  the same packet through the TCP gateway (Basic Ingest, rule envwatch_gateway)
 *   gateway-2025  HJ 212-2025 minute data with 6 readings, SM4-encrypted, from a device registered with its key
 * Each: `--warmup` messages per device (default 20, not counted: the first message of a device in a container reads
 * the registry, the evaluator's first write, the chain head) then `--messages` per device (default 100) counted.
 * Two shapes side by side on the same messages:
 *   after   one invocation per message: the ingest function ingests and evaluates (the current code)
 *   before  two invocations per message (the rules' two actions until this change): ingest without evaluation, with
 *           its own device directory, then the evaluator decoding and judging the envelope again
 * What the bench cannot count from commands is derived from the architecture and said so in the output: IoT messages,
 * rules and actions per message (one publish of the packet's size; one rule; one action per function), Lambda requests
 * (one per function per message) and duration (the in-process time per message against the local stand-ins, rounded up
 * to the ms, at the function's configured memory on arm64; real DynamoDB and S3 answer in a few ms, the stand-ins
 * in about the same), CloudWatch Logs (the lines the function writes per message: platform lines plus its own).
 * Prices: bench/cost/prices.ts. Output: bench/results/cost.json and cost.md; `--doc` also writes the table into
 * docs/cost.md between its markers.
 */

const DAY_S = 86_400;
const MONTH_DAYS = 30;
const HOURS_PER_MONTH = 730;
const READINGS = 6;
/** Lambda's own log lines per invocation (START, END, REPORT), bytes */
const PLATFORM_LOG_BYTES = 330;
/**
 * the function's own lines per accepted message, bytes: the EMF metrics line (357 bytes as the function writes it for
 * a gateway message with 6 readings); at the production log level an accepted message writes no line of its own
 * (`message ingested` is at debug: functions/ingest/handler.ts). Not counted per run: the function logs through
 * Powertools, not through a client.
 */
const FUNCTION_LOG_BYTES = 360;
const SCALES = [
  { name: 'county', devices: 200 },
  { name: 'province', devices: 20_000 },
] as const;
const INTERVALS = [30, 60] as const;
/** the gateway's Fargate task (infra/constructs/hj212-gateway.ts): 0.25 vCPU, 0.5 GB, ARM64; two in production */
const GATEWAY_TASK = { vcpu: 0.25, gb: 0.5, min: 2 };
/** connections one gateway task is planned for (its hard limit is 10,000, gateway/limits.ts): an assumption */
const CONNECTIONS_PER_TASK = 5_000;

type Region = 'global' | 'china';
type Shape = 'after' | 'before';

interface Args {
  warmup: number;
  messages: number;
  doc: boolean;
}

function args(): Args {
  const argv = process.argv.slice(2);
  const num = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
    return v;
  };
  return { warmup: num('warmup', 20), messages: num('messages', 100), doc: argv.includes('--doc') };
}

// ───────────────────────────── messages ─────────────────────────────

const GA01 = '33112600000000000000GA01';
const BW01 = '33112600000000000000BW01';
const ENC_KEY = 'Qy7#pL2v9Xz!Tm4k';

interface Scenario {
  name: 'mqtt-2017' | 'gateway-2017' | 'gateway-2025';
  what: string;
  transport: 'mqtt' | 'gateway';
  /** the seeded device each of this scenario's devices copies (outlet, limits, pollutants) */
  like: string;
  /** devices per shape, each registered for this scenario and shape alone (fresh alarm state, chain, readings) */
  devices: number;
  /** registered as HJ 212-2025 with this SM4 key */
  sm4Key?: string;
  message: (mn: string, at: Date, i: number) => { envelope: IngestEnvelope; bytes: number; topic: string };
}

let qn = 0;
const nextQn = (at: Date) => isoToBeijing(new Date(at.getTime() + (qn++ % 1000)), true);

/** Flue gas minute data: SO2, NOx, particulate (measured and converted), O2, temperature, flow. */
function airCp(at: Date, i: number): string {
  const w = (base: number) => (base * (1 + 0.05 * Math.sin(i / 7))).toFixed(1);
  return (
    `DataTime=${isoToBeijing(at)};` +
    `a21026-Avg=${w(18)},a21026-ZsAvg=${w(21)},a21026-Flag=N;a21002-Avg=${w(60)},a21002-ZsAvg=${w(70)},a21002-Flag=N;` +
    `a34013-Avg=${w(4)},a34013-ZsAvg=${w(5)},a34013-Flag=N;a19001-Avg=${w(9)},a19001-Flag=N;` +
    `a01012-Avg=${w(120)},a01012-Flag=N;a00000-Avg=${w(3.1)},a00000-Flag=N`
  );
}

/** Water minute data: COD, NH3-N, TP, TN, pH, flow. */
function waterCp(at: Date, i: number): string {
  const w = (base: number) => (base * (1 + 0.05 * Math.sin(i / 7))).toFixed(2);
  return (
    `DataTime=${isoToBeijing(at)};w01018-Avg=${w(40)},w01018-Flag=N;w21003-Avg=${w(3)},w21003-Flag=N;` +
    `w21011-Avg=${w(0.4)},w21011-Flag=N;w21001-Avg=${w(9)},w21001-Flag=N;w01001-Avg=${w(7.2)},w01001-Flag=N;` +
    `w00000-Avg=${w(5)},w00000-Flag=N`
  );
}

const envelopeOf = (source: IngestEnvelope['source'], mn: string, frame: Buffer | string, receivedAt: number) =>
  IngestEnvelope.parse({
    source,
    mn,
    receivedAt,
    raw: Buffer.from(frame).toString('base64'),
    clientId: source === 'tcp-gateway' ? `gw-1:${mn}` : mn,
    ...(source === 'tcp-gateway' ? { accepted: true } : {}),
  });

/** What reaches the function for a frame sent at `at` (received 5 s later), the frame's size and the topic. */
const delivered = (source: IngestEnvelope['source'], mn: string, at: Date, frame: Buffer | string, topic: string) => ({
  envelope: envelopeOf(source, mn, frame, at.getTime() + 5_000),
  bytes: frame.length,
  topic,
});

/** HJ 212-2017 minute data (CN 2051) of the gas boiler, in clear. */
const boilerMinute = (mn: string, at: Date, i: number) =>
  encodeFrame(
    encodeSegment({ qn: nextQn(at), st: '31', cn: '2051', pw: SEED_DEVICE_PASSWORD, mn, flag: 5, cp: airCp(at, i) }),
  );

/** The Basic Ingest topic the gateway publishes a device's frames to. */
const gatewayTopic = (mn: string) => `$aws/rules/envwatch_dev_gateway/envwatch/gateway/${mn}`;

const SCENARIOS: Scenario[] = [
  {
    name: 'mqtt-2017',
    what: 'HJ 212-2017 minute data (CN 2051), 6 readings, over MQTT',
    transport: 'mqtt',
    like: GA01,
    devices: 2,
    message: (mn, at, i) => delivered('mqtt-hj212', mn, at, boilerMinute(mn, at, i), `envwatch/devices/${mn}/hj212`),
  },
  {
    name: 'gateway-2017',
    what: 'HJ 212-2017 minute data (CN 2051), 6 readings, TCP through the gateway (Basic Ingest)',
    transport: 'gateway',
    like: GA01,
    devices: 2,
    message: (mn, at, i) => delivered('tcp-gateway', mn, at, boilerMinute(mn, at, i), gatewayTopic(mn)),
  },
  {
    name: 'gateway-2025',
    what: 'HJ 212-2025 minute data (CN 2051), 6 readings, SM4-encrypted, TCP through the gateway',
    transport: 'gateway',
    like: BW01,
    devices: 1,
    sm4Key: ENC_KEY,
    message: (mn, at, i) => {
      const segment = encodeSegment({
        qn: nextQn(at),
        st: '32',
        cn: '2051',
        pw: SEED_DEVICE_PASSWORD,
        mn,
        flag: 9,
        cp: waterCp(at, i),
      });
      const frame = encodeEncryptedFrame(segment, Buffer.from(ENC_KEY, 'latin1'));
      return delivered('tcp-gateway', mn, at, frame, gatewayTopic(mn));
    },
  },
];

// ───────────────────────────── the two shapes ─────────────────────────────

/** One function invocation: its wall time here, the part spent waiting on the stand-ins, that part at AWS latency. */
interface Took {
  wallMs: number;
  localMs: number;
  awsMs: number;
}

/**
 * The Lambda duration modeled for AWS: the function's own time here (wall minus the wait on the stand-ins, at least a
 * tenth of the wall time when calls overlapped) plus each call at AWS's typical latency (bench/cost/meter.ts),
 * counted as if the calls ran one after another (an upper bound where they overlap).
 */
const modeledMs = (t: Took) => Math.max(t.wallMs - t.localMs, 0.1 * t.wallMs) + t.awsMs;

function timer(meter: Meter) {
  let t = { at: performance.now(), local: meter.localMs, aws: meter.awsMs };
  return (): Took => {
    const now = { at: performance.now(), local: meter.localMs, aws: meter.awsMs };
    const took = { wallMs: now.at - t.at, localMs: now.local - t.local, awsMs: now.aws - t.aws };
    t = now;
    return took;
  };
}

interface Pipeline {
  /** one function invocation each, in order; what each took */
  handle(envelope: IngestEnvelope): Promise<Took[]>;
  meter: Meter;
  close(): void;
}

type Clients = ReturnType<typeof meteredClients>;
/** One function of a shape, built on clients of its own: what one invocation does with a message. */
type Fn = (envelope: IngestEnvelope) => Promise<void>;

const accepted = (out: IngestOutcome) => {
  if (!out.accepted) throw new Error(`${out.mn}: refused (${out.reason}: ${out.detail ?? ''})`);
};

/** after: the ingest function as it is, ingesting and evaluating (its own wiring). */
function ingestAndEvaluate(env: Record<string, string>, clients: Clients): Fn {
  const { service } = ingestServiceFromEnv(env, clients);
  return async (envelope) => accepted(await service.ingest(envelope));
}

/** before, first: the ingest function as it was, with its own device directory and no evaluation. */
function ingestOnly(env: Record<string, string>, { db, s3, kms }: Clients): Fn {
  const keysKey = env[ENV.deviceKeysKey];
  const ingest = new IngestService({
    devices: new CachedDeviceDirectory(new DynamoRegistryReader(db, String(env[ENV.registryTable])), 60),
    readings: new DynamoReadingStore(db, String(env[ENV.readingsTable])),
    archive: new SealedArchive(
      new DynamoArchiveStore(db, String(env[ENV.readingsTable])),
      new S3ArchiveObjects(s3, String(env[ENV.evidenceBucket])),
    ),
    retention: { realtimeDays: 30, minuteDays: 180 },
    ...(keysKey ? { keys: new CachingKeyOpener(new KmsKeySealer(kms, keysKey)) } : {}),
  });
  return async (envelope) => accepted(await ingest.ingest(envelope));
}

/** before, second: the evaluator as it was, decoding and judging the envelope again. */
function evaluateAgain(env: Record<string, string>, clients: Clients): Fn {
  const alarms = alarmServicesFromEnv(env, clients);
  return async (envelope) => {
    const message = decodeMessage(envelope);
    const verdict = await judgeMessage(message, alarms.devices, alarms.keys);
    const readings = verdict.normalized?.readings ?? [];
    if (verdict.accepted && verdict.device && readings.length > 0) {
      await alarms.evaluator.evaluate(verdict.device.mn, readings, {
        receivedAt: message.receivedAt,
        source: envelope.source,
        rawSha256: sha256Hex(message.raw),
      });
    }
  };
}

const SHAPES: Record<Shape, ((env: Record<string, string>, clients: Clients) => Fn)[]> = {
  after: [ingestAndEvaluate],
  before: [ingestOnly, evaluateAgain],
};

/** A shape's functions invoked one after another per message, each timed, all counted on one meter. */
function pipelineOf(platform: Platform, env: Record<string, string>, shape: Shape): Pipeline {
  const meter = newMeter();
  const clients = SHAPES[shape].map(() => meteredClients(platform.endpoints, meter));
  const fns = SHAPES[shape].map((build, i) => build(env, clients[i] as Clients));
  return {
    meter,
    handle: async (envelope) => {
      const lap = timer(meter);
      const took: Took[] = [];
      for (const fn of fns) {
        await fn(envelope);
        took.push(lap());
      }
      return took;
    },
    close: () => clients.forEach(destroyClients),
  };
}

// ───────────────────────────── counting ─────────────────────────────

interface Counted {
  messages: number;
  readings: number;
  /** per message */
  dynamo: { wru: number; rru: number; commands: Record<string, number>; conditionFailures: number };
  s3: { put: number; get: number; list: number; bytesPut: number; commands: Record<string, number> };
  kms: number;
  sns: number;
  dynamoBytesWritten: number;
  /** billedMs: the modeled AWS duration per invocation (rounded up to the ms), averaged; localMs: as measured here */
  lambda: { invocations: number; billedMs: number[]; localMs: number[]; standInWaitMs: number[]; memoryMb: number };
  iot: { messages: number; rules: number; actions: number; bytes: number };
  logsBytes: number;
  estimatedUnits: number;
}

const per = (n: number, messages: number) => Math.round((n / messages) * 1000) / 1000;

function tally(
  meter: Meter,
  messages: number,
  readings: number,
  ms: Took[][],
  memoryMb: number,
  scenario: Scenario,
  bytes: number,
): Counted {
  const commands = Object.fromEntries([...meter.commands].sort(([a], [b]) => a.localeCompare(b)));
  const sum = (re: RegExp) =>
    Object.entries(commands)
      .filter(([k]) => re.test(k))
      .reduce((s, [, v]) => s + v, 0);
  const invocations = ms[0]?.length ?? 0;
  /** the median over the counted messages (the machine's other load makes single messages slow now and then) */
  const mean = (f: number, of: (t: Took) => number) => {
    const sorted = ms.map((m) => of(m[f] as Took)).sort((x, y) => x - y);
    return Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10;
  };
  const fns = Array.from({ length: invocations }, (_, f) => f);
  const billed = fns.map((f) => mean(f, (t) => Math.ceil(modeledMs(t))));
  const topic = scenario.message(mnOf(0, 'after', 0), new Date(), 0).topic;
  return {
    messages,
    readings,
    dynamo: {
      wru: per(meter.wru, messages),
      rru: per(meter.rru, messages),
      conditionFailures: per(meter.conditionFailures, messages),
      commands: Object.fromEntries(
        Object.entries(commands)
          .filter(([k]) => k.startsWith('dynamodb:'))
          .map(([k, v]) => [k.slice(9), per(v, messages)]),
      ),
    },
    s3: {
      put: per(sum(/^s3:(PutObject|CopyObject|CreateMultipartUpload)$/), messages),
      list: per(sum(/^s3:List/), messages),
      get: per(sum(/^s3:(GetObject|HeadObject)$/), messages),
      bytesPut: per(meter.s3BytesPut, messages),
      commands: Object.fromEntries(
        Object.entries(commands)
          .filter(([k]) => k.startsWith('s3:'))
          .map(([k, v]) => [k.slice(3), per(v, messages)]),
      ),
    },
    kms: per(sum(/^kms:/), messages),
    sns: per(sum(/^sns:/), messages),
    dynamoBytesWritten: per(meter.bytesWritten, messages),
    lambda: {
      invocations,
      billedMs: billed,
      localMs: fns.map((f) => mean(f, (t) => Math.ceil(t.wallMs))),
      standInWaitMs: fns.map((f) => mean(f, (t) => t.localMs)),
      memoryMb,
    },
    iot: {
      // a device's MQTT publish is metered per 5 KB of payload and topic; Basic Ingest has no messaging charge
      messages: scenario.transport === 'mqtt' ? Math.ceil((bytes + Buffer.byteLength(topic)) / 5120) : 0,
      rules: Math.ceil(bytes / 5120),
      actions: invocations,
      bytes,
    },
    logsBytes: invocations * PLATFORM_LOG_BYTES + FUNCTION_LOG_BYTES * Math.min(invocations, 1),
    estimatedUnits: meter.estimated,
  };
}

// ───────────────────────────── pricing ─────────────────────────────

type Charges = Record<string, number>;

function charges(c: Counted, region: Region): Charges {
  const p = (id: PriceId) => perItem(id, region);
  const gbSeconds = c.lambda.billedMs.reduce((s, ms) => s + (ms / 1000) * (c.lambda.memoryMb / 1024), 0);
  return {
    'IoT messaging': c.iot.messages * p('iotMessage'),
    'IoT rules': c.iot.rules * p('iotRule'),
    'IoT actions': c.iot.actions * p('iotAction'),
    'Lambda requests': c.lambda.invocations * p('lambdaRequest'),
    'Lambda duration': gbSeconds * p('lambdaArmGbSecond'),
    'DynamoDB writes': c.dynamo.wru * p('dynamoWrite'),
    'DynamoDB reads': c.dynamo.rru * p('dynamoRead'),
    'S3 PUT/LIST': (c.s3.put + c.s3.list) * p('s3Put'),
    'S3 GET': c.s3.get * p('s3Get'),
    KMS: c.kms * p('kmsRequest'),
    'CloudWatch Logs': (c.logsBytes / 1024 ** 3) * p('logsIngest'),
  };
}

const total = (ch: Charges) => Object.values(ch).reduce((s, v) => s + v, 0);
const perMillionReadings = (ch: Charges, readingsPerMessage: number) =>
  Object.fromEntries(Object.entries(ch).map(([k, v]) => [k, (v / readingsPerMessage) * 1e6]));

/** One month at a scale: per-message charges × messages, storage of the month's data for a month, fixed charges. */
function monthly(c: Counted, region: Region, devices: number, intervalS: number, transport: 'mqtt' | 'gateway') {
  const p = (id: PriceId) => perItem(id, region);
  const messages = devices * (DAY_S / intervalS) * MONTH_DAYS;
  const variable = total(charges(c, region)) * messages;
  const gb = (bytes: number) => (bytes * messages) / 1024 ** 3;
  const storage = gb(c.s3.bytesPut) * p('s3Storage') + gb(c.dynamoBytesWritten) * p('dynamoStorage');
  let fixed = 0;
  if (transport === 'mqtt') {
    fixed += devices * MONTH_DAYS * 1440 * p('iotConnectivity');
  } else {
    const tasks = Math.max(GATEWAY_TASK.min, Math.ceil(devices / CONNECTIONS_PER_TASK) + 1);
    fixed += tasks * HOURS_PER_MONTH * (GATEWAY_TASK.vcpu * p('fargateArmVcpu') + GATEWAY_TASK.gb * p('fargateArmGb'));
    const bytesPerHour = devices * (3600 / intervalS) * c.iot.bytes;
    const lcu = Math.max(devices / 100_000, bytesPerHour / 1024 ** 3);
    fixed += HOURS_PER_MONTH * (p('nlbHour') + lcu * p('nlbLcu'));
  }
  return {
    messages,
    readings: messages * READINGS,
    perMessageCharges: round(variable),
    storageOfTheMonth: round(storage),
    fixed: round(fixed),
    total: round(variable + storage + fixed),
  };
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const sig = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(3)));

// ───────────────────────────── run ─────────────────────────────

/** The devices of one scenario and shape: `3311260000000000000C<scenario><shape>D<n>`. */
const mnOf = (scenario: number, shape: Shape, n: number) =>
  `3311260000000000000C${scenario}${shape === 'after' ? 1 : 0}D${n}`;

/** Every scenario's devices, per shape, as an administrator registers them (HJ 212-2025 ones with their SM4 key). */
function scenarioDevices() {
  return SCENARIOS.flatMap((scenario, si) => {
    const seed = DEVICES.find((d) => d.mn === scenario.like);
    if (!seed) throw new Error(`no seeded device ${scenario.like}`);
    return (['before', 'after'] as Shape[]).flatMap((shape) =>
      Array.from({ length: scenario.devices }, (_, n) => ({
        ...seed,
        mn: mnOf(si, shape, n),
        password: SEED_DEVICE_PASSWORD,
        ...(scenario.sm4Key
          ? {
              protocol: 'hj212-2025',
              pollutants: ['w01018', 'w21003', 'w21011', 'w21001', 'w01001', 'w00000'],
              sm4Key: scenario.sm4Key,
            }
          : {}),
      })),
    );
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const a = args();
  const tmp = tempDir('cost');
  let platform: Platform | undefined;
  try {
    const bench = await bootBenchPlatform(tmp.dir);
    platform = bench.platform;
    const fn = bench.ingest;
    const env: Record<string, string> = { ...fn.environment };
    await bench.register(scenarioDevices());

    // device time: windows of minutes in the past, new for every series of every shape and scenario
    const perScenario = a.warmup + a.messages;
    let start = Math.floor(Date.now() / 60_000) * 60_000 - (SCENARIOS.length * 2 + 1) * perScenario * 60_000;
    const results: Record<string, Record<Shape, Counted>> = {};
    for (const [si, scenario] of SCENARIOS.entries()) {
      const counted = {} as Record<Shape, Counted>;
      results[scenario.name] = counted;
      for (const shape of ['before', 'after'] as Shape[]) {
        const pipeline = pipelineOf(bench.platform, env, shape);
        try {
          const ms: Took[][] = [];
          let bytes = 0;
          let readings = 0;
          for (let i = 0; i < perScenario; i++) {
            if (i === a.warmup) resetMeter(pipeline.meter);
            const at = new Date(start + i * 60_000);
            for (let n = 0; n < scenario.devices; n++) {
              const mn = mnOf(si, shape, n);
              const m = scenario.message(mn, at, i);
              const took = await pipeline.handle(m.envelope);
              if (i >= a.warmup) {
                ms.push(took);
                bytes = m.bytes;
                readings += READINGS;
              }
            }
          }
          const messages = ms.length;
          counted[shape] = tally(pipeline.meter, messages, readings, ms, fn.memoryMb, scenario, bytes);
        } finally {
          pipeline.close();
        }
        start += perScenario * 60_000;
      }
    }
    return report(results, fn.memoryMb, a);
  } finally {
    await platform?.stop();
    tmp.remove();
  }
}

function report(results: Record<string, Record<Shape, Counted>>, memoryMb: number, a: Args) {
  const out: Record<string, unknown> = {};
  for (const scenario of SCENARIOS) {
    const r = results[scenario.name] as Record<Shape, Counted>;
    const view = (shape: Shape) => {
      const c = r[shape];
      const regions = Object.fromEntries(
        (['global', 'china'] as Region[]).map((region) => {
          const ch = charges(c, region);
          const pm = perMillionReadings(ch, READINGS);
          const scales = Object.fromEntries(
            SCALES.flatMap((s) =>
              INTERVALS.map((iv) => [
                `${s.name} ${s.devices} devices, every ${iv} s`,
                monthly(c, region, s.devices, iv, scenario.transport),
              ]),
            ),
          );
          return [
            region,
            {
              currency: region === 'global' ? 'USD' : 'CNY',
              perMessage: Object.fromEntries(Object.entries(ch).map(([k, v]) => [k, sig(v)])),
              perMessageTotal: sig(total(ch)),
              perMillionReadings: Object.fromEntries(Object.entries(pm).map(([k, v]) => [k, round(v, 4)])),
              perMillionReadingsTotal: round(total(pm), 3),
              monthly: scales,
            },
          ];
        }),
      );
      return { counted: c, ...regions };
    };
    out[scenario.name] = {
      what: scenario.what,
      after: view('after'),
      before: view('before'),
      ratioAfterToBefore: round(total(charges(r.after, 'global')) / total(charges(r.before, 'global')), 3),
    };
  }
  const doc = {
    what: 'cost per device message from the commands the pipeline sends (bench/cost.bench.ts), priced with bench/cost/prices.ts',
    options: a,
    lambdaMemoryMb: memoryMb,
    architecture: 'arm64',
    readingsPerMessage: READINGS,
    assumptions: {
      platformLogBytesPerInvocation: PLATFORM_LOG_BYTES,
      functionLogBytesPerMessage: FUNCTION_LOG_BYTES,
      gatewayTask: GATEWAY_TASK,
      connectionsPerGatewayTask: CONNECTIONS_PER_TASK,
      month: `${MONTH_DAYS} days, ${HOURS_PER_MONTH} hours`,
      storage:
        'the month’s new data (S3 bytes put, DynamoDB item bytes written) priced for one month; retention multiplies it',
      notCounted:
        'per-container registry snapshot reloads (every REGISTRY_CACHE_SECONDS, warm-up), alarms (SNS and SMS per alarm, priced per unit in the table), dead letters, the API and console',
    },
    prices: PRICES,
    scenarios: out,
  };
  writeFileSync(join(ROOT, 'bench', 'results', 'cost.json'), `${JSON.stringify(doc, null, 2)}\n`);
  const md = markdown(doc.scenarios as Record<string, ScenarioOut>);
  writeFileSync(join(ROOT, 'bench', 'results', 'cost.md'), md);
  if (a.doc) writeDoc(md);
  return doc;
}

interface RegionOut {
  perMessage: Record<string, number>;
  perMessageTotal: number;
  perMillionReadings: Record<string, number>;
  perMillionReadingsTotal: number;
  monthly: Record<string, { total: number; fixed: number; perMessageCharges: number; storageOfTheMonth: number }>;
}
interface ScenarioOut {
  what: string;
  after: { counted: Counted; global: RegionOut; china: RegionOut };
  before: { counted: Counted; global: RegionOut; china: RegionOut };
}

/** The tables docs/cost.md shows, from the bench output. */
function markdown(scenarios: Record<string, ScenarioOut>): string {
  const lines: string[] = [];
  const names = Object.keys(scenarios);
  lines.push(`Generated by \`npm run bench -- cost\` on ${new Date().toISOString().slice(0, 10)}.`, '');
  lines.push('**Counted per message** (after = one invocation per message; before = two)', '');
  lines.push(
    '| message | shape | DynamoDB commands | WRU | RRU | S3 PUT | S3 GET | KMS | Lambda invocations (billed ms modeled for AWS; measured here) | IoT msgs / rules / actions |',
  );
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const n of names) {
    for (const shape of ['before', 'after'] as const) {
      const c = (scenarios[n] as ScenarioOut)[shape].counted;
      const cmds = Object.entries(c.dynamo.commands)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      lines.push(
        `| ${n} | ${shape} | ${cmds} | ${c.dynamo.wru} | ${c.dynamo.rru} | ${c.s3.put + c.s3.list} | ${c.s3.get} | ${c.kms} | ${c.lambda.invocations} (${c.lambda.billedMs.join(' + ')}; here ${c.lambda.localMs.join(' + ')}) | ${c.iot.messages} / ${c.iot.rules} / ${c.iot.actions} |`,
      );
    }
  }
  lines.push('');
  for (const region of ['global', 'china'] as const) {
    const cur = region === 'global' ? 'USD' : 'CNY';
    const first = scenarios[names[0] as string] as ScenarioOut;
    const keys = Object.keys(first.after[region].perMillionReadings);
    lines.push(
      `**Per million readings, ${region === 'global' ? 'global (us-east-1)' : 'China (cn-north-1, operator prices)'}, ${cur}**`,
      '',
    );
    lines.push(`| charge | ${names.map((n) => `${n} before | ${n} after`).join(' | ')} |`);
    lines.push(`| --- | ${names.map(() => '---: | ---:').join(' | ')} |`);
    for (const k of keys) {
      const cells = names.map((n) => {
        const s = scenarios[n] as ScenarioOut;
        return `${fmt(s.before[region].perMillionReadings[k] ?? 0)} | ${fmt(s.after[region].perMillionReadings[k] ?? 0)}`;
      });
      lines.push(`| ${k} | ${cells.join(' | ')} |`);
    }
    const totals = names.map((n) => {
      const s = scenarios[n] as ScenarioOut;
      return `**${fmt(s.before[region].perMillionReadingsTotal)}** | **${fmt(s.after[region].perMillionReadingsTotal)}**`;
    });
    lines.push(`| **total** | ${totals.join(' | ')} |`, '');
    lines.push(
      `**Monthly, ${region === 'global' ? 'global' : 'China'}, ${cur}** (per-message charges + the month's storage + fixed: gateway Fargate and NLB, or MQTT connectivity)`,
      '',
    );
    const scaleKeys = Object.keys(first.after[region].monthly);
    lines.push(`| scale | ${names.map((n) => `${n} before | ${n} after`).join(' | ')} |`);
    lines.push(`| --- | ${names.map(() => '---: | ---:').join(' | ')} |`);
    for (const sk of scaleKeys) {
      const cells = names.map((n) => {
        const s = scenarios[n] as ScenarioOut;
        return `${fmt(s.before[region].monthly[sk]?.total ?? 0)} | ${fmt(s.after[region].monthly[sk]?.total ?? 0)}`;
      });
      lines.push(`| ${sk} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(
    '**Prices used** (bench/cost/prices.ts; `checked`: page = read on the price page that day, published = AWS’s published figure not re-read that day, operator = China-region placeholder for the operator to replace)',
    '',
  );
  lines.push('| charge | unit | global USD | China CNY | checked (global / China) | source (global) |');
  lines.push('| --- | --- | ---: | ---: | --- | --- |');
  for (const row of Object.values(PRICES) as PriceRow[]) {
    lines.push(
      `| ${row.what} | ${row.unit} | ${row.global.price} | ${row.china.price} | ${row.global.checked} ${row.global.asOf} / ${row.china.checked} | ${row.global.source} |`,
    );
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 1 ? v.toFixed(2) : v.toFixed(4));

const START = '<!-- cost-table:start -->';
const END = '<!-- cost-table:end -->';

function writeDoc(md: string): void {
  const path = join(ROOT, 'docs', 'cost.md');
  const doc = readFileSync(path, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/cost.md has no ${START} … ${END} markers`);
  writeFileSync(path, `${doc.slice(0, a + START.length)}\n${md}${doc.slice(b)}`);
}
