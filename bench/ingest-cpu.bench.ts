import type { Platform } from '#infra/local/platform.ts';
import { encodeFrame, encodeSegment, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { DEVICES, SEED_DEVICE_PASSWORD } from '#shared/domain/registry/qingyuan-seed.ts';
import { ratio, tempDir } from './lib.ts';
import { bootBenchPlatform, inParallel, javaChildOf, procSample, stats } from './measure.ts';

/**
 * `npm run bench -- ingestCpu`: the CPU one device message costs the local platform's ingest pipeline, the figure
 * behind the load run's knee (bench/load.bench.ts). The embedded platform is booted from a fresh synth; DEVICES copies
 * of the seeded gas boiler GA01 are registered through the registry API; then the ingest function's real bundle, in the
 * platform's worker threads, is invoked with HJ 212-2017 real-time packets (CN 2011, the boiler's 6 pollutants) as
 * the MQTT rule delivers them, as many at a time as the platform has workers per function (ENVWATCH_LAMBDA_CONCURRENCY,
 * default 4): WARMUP messages not
 * measured, then MESSAGES measured. Per message: this process's CPU (the platform's main thread and the function's
 * workers: decode, verdict, archive, readings, state, alarm rules, logs, metrics, SDK calls) and DynamoDB Local's
 * (its Java process, from /proc), and the wall time. On two cores, 2,000 ms divided by the two summed is the most
 * messages per second the pipeline can work off with the machine to itself (the MQTT broker, the gateway and the
 * devices come on top in the load run). Side by side: DynamoDB Local on disk (as `npm start` runs it: SQLite synced on
 * every write) and in memory (`npm start -- --in-memory`, as the load run uses it).
 * ENVWATCH_CPU_MESSAGES (default 2,000), ENVWATCH_CPU_WARMUP (400), ENVWATCH_CPU_DEVICES (40), ENVWATCH_CPU_STORAGE
 * (`both`, default; `memory` or `disk` for one side only). With as many devices as warm-up messages (e.g. 400 and 400)
 * each device has sent once before the measured messages, which then mostly meet it in a container that has not seen
 * it yet: the cost of the load run's warm-up (a cold chain head and alarm state per device and container).
 */
const MESSAGES = Number(process.env.ENVWATCH_CPU_MESSAGES ?? 2000);
const WARMUP = Number(process.env.ENVWATCH_CPU_WARMUP ?? 400);
const N_DEVICES = Number(process.env.ENVWATCH_CPU_DEVICES ?? 40);
const CONCURRENCY = Number(process.env.ENVWATCH_LAMBDA_CONCURRENCY ?? 4);
const STORAGE = process.env.ENVWATCH_CPU_STORAGE ?? 'both';
if (!['both', 'memory', 'disk'].includes(STORAGE))
  throw new Error(`ENVWATCH_CPU_STORAGE is both, memory or disk, not ${STORAGE}`);
const LIKE = '33112600000000000000GA01';
const mnOf = (i: number) => `3311260000000000CPU${String(i).padStart(5, '0')}`;

/** DEVICES copies of the seeded gas boiler GA01 */
function devices() {
  const seed = DEVICES.find((d) => d.mn === LIKE);
  if (!seed) throw new Error(`no seeded ${LIKE}`);
  return Array.from({ length: N_DEVICES }, (_, i) => ({ ...seed, mn: mnOf(i), password: SEED_DEVICE_PASSWORD }));
}

function envelope(mn: string, at: number, i: number) {
  const w = (base: number) => (base * (1 + 0.05 * Math.sin(i / 7))).toFixed(2);
  const cp =
    `DataTime=${isoToBeijing(new Date(at))};a21026-Rtd=${w(18)},a21026-ZsRtd=${w(21)},a21026-Flag=N;` +
    `a21002-Rtd=${w(60)},a21002-ZsRtd=${w(70)},a21002-Flag=N;a34013-Rtd=${w(4)},a34013-ZsRtd=${w(5)},a34013-Flag=N;` +
    `a19001-Rtd=${w(9)},a19001-Flag=N;a01012-Rtd=${w(120)},a01012-Flag=N;a00000-Rtd=${w(3.1)},a00000-Flag=N`;
  const frame = encodeFrame(
    encodeSegment({
      qn: isoToBeijing(new Date(at), true),
      st: '31',
      cn: '2011',
      pw: SEED_DEVICE_PASSWORD,
      mn,
      flag: 5,
      cp,
    }),
  );
  return { source: 'mqtt-hj212', mn, receivedAt: at + 2_000, raw: Buffer.from(frame).toString('base64'), clientId: mn };
}

type Storage = 'disk' | 'memory';

/** One platform with DynamoDB Local on `storage`: WARMUP then MESSAGES through the ingest function. */
async function measure(storage: Storage): Promise<Record<string, unknown>> {
  const tmp = tempDir(`ingest-cpu-${storage}`);
  let platform: Platform | undefined;
  try {
    const bench = await bootBenchPlatform(tmp.dir, {
      lambdaConcurrency: CONCURRENCY,
      dynamodbInMemory: storage === 'memory',
    });
    platform = bench.platform;
    const fn = bench.ingest;
    await bench.register(devices());
    const java = javaChildOf(process.pid);
    if (!java) throw new Error('no DynamoDB Local among the processes this one started');
    const javaCpuMs = () => (procSample(java)?.cpuTicks ?? Number.NaN) * 10;
    const runtime = platform.runtime;
    // device time: 30 s apart per device, ending a minute ago (real-time data of the recent past)
    const total = WARMUP + MESSAGES;
    const perDevice = Math.ceil(total / N_DEVICES);
    const start = Math.floor(Date.now() / 30_000) * 30_000 - (perDevice + 2) * 30_000;
    const jobs = Array.from({ length: total }, (_, k) => {
      const i = Math.floor(k / N_DEVICES);
      return envelope(mnOf(k % N_DEVICES), start + i * 30_000, i);
    });
    const latencies: number[] = [];
    const drive = (from: number, to: number) =>
      inParallel(jobs.slice(from, to), CONCURRENCY, async (job) => {
        const t0 = performance.now();
        const out = (await runtime.invoke(fn.functionName, job)) as { accepted: boolean; reason?: string }[];
        latencies.push(performance.now() - t0);
        if (!out[0]?.accepted) throw new Error(`refused: ${JSON.stringify(out[0])}`);
      });
    await drive(0, WARMUP);
    latencies.length = 0;
    const cpu0 = process.cpuUsage();
    const java0 = javaCpuMs();
    const t0 = performance.now();
    await drive(WARMUP, total);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const nodeMs = (cpu.user + cpu.system) / 1000 / MESSAGES;
    const dynamoMs = (javaCpuMs() - java0) / MESSAGES;
    return {
      cpuMsPerMessage: { platform: round(nodeMs), dynamodbLocal: round(dynamoMs), both: round(nodeMs + dynamoMs) },
      messagesPerSecond: round((MESSAGES * 1000) / wallMs),
      cpuBoundMessagesPerSecondOnTwoCores: round(2000 / (nodeMs + dynamoMs)),
      invokeMs: stats(latencies),
    };
  } finally {
    await platform?.stop();
    tmp.remove();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export async function run(): Promise<Record<string, unknown>> {
  const disk = STORAGE === 'memory' ? undefined : await measure('disk');
  const memory = STORAGE === 'disk' ? undefined : await measure('memory');
  const rate = (r: Record<string, unknown>) => r.messagesPerSecond as number;
  return {
    what: 'CPU per device message in the local ingest pipeline (function workers + platform) and in DynamoDB Local',
    messages: MESSAGES,
    warmup: WARMUP,
    devices: N_DEVICES,
    concurrency: CONCURRENCY,
    ...(disk ? { disk } : {}),
    ...(memory ? { memory } : {}),
    ...(disk && memory ? { memoryOverDiskMessagesPerSecond: ratio(rate(memory), rate(disk)) } : {}),
  };
}
