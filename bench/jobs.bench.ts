import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { freePort } from '#infra/local/ports.ts';
import { ensureTables, localDynamoDbClient, pkSkTableSpec, startDynamoDb } from '#infra/local/services/dynamodb.ts';
import { localS3ClientConfig, startS3 } from '#infra/local/services/s3.ts';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { archiveKeys, DynamoArchiveStore, toItem } from '#shared/adapters/archive-store.ts';
import { blockStateKey, DynamoRollUpStore } from '#shared/adapters/readings-blocks.ts';
import { DynamoReadingStore, rowItem } from '#shared/adapters/readings-store.ts';
import { DEFAULT_ARCHIVE_TAIL_DAYS } from '#shared/domain/archive/archive.ts';
import { type ArchiveInput, buildRecord, type ChainHead, deliveryKey, GENESIS } from '#shared/domain/archive/record.ts';
import { sealAll } from '#shared/domain/archive/seal.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { BLOCK_LAYOUTS } from '#shared/domain/readings/blocks.ts';
import { DEFAULT_RETENTION, expiresAt, type Reading, type ReadingKind } from '#shared/domain/readings/model.ts';
import { rollUpAll } from '#shared/domain/readings/roll-up.ts';
import { createRng, type Rng } from '../scripts/simulate/rng.ts';
import { type Meter, meteredDynamo, newMeter, resetMeter } from './cost/meter.ts';
import { ratio, tempDir } from './lib.ts';
import { batchPut, inParallel, javaChildOf, procSample } from './measure.ts';

/**
 * `npm run bench -- jobs`: the hourly jobs at county-times-ten scale on DynamoDB Local (in memory, started directly)
 * and s3rver: the readings roll-up (shared/domain/readings/roll-up.ts rollUpAll over DynamoRollUpStore, as
 * functions/readings-roll-up runs it) and the archive sealing (shared/domain/archive/seal.ts sealAll over
 * DynamoArchiveStore and S3ArchiveObjects, as functions/archive-sealer runs it).
 *
 * Data: N devices (BENCH_JOBS_DEVICES, default 2,000), each sending one real-time HJ 212 message of six water
 * pollutants every 30 s (its own phase), stored as ingest stores them: the row item of DynamoReadingStore (rowItem,
 * bulk-loaded), its state through DynamoReadingStore.updateState (the last message), and its archive record chained
 * by buildRecord and stored as DynamoArchiveStore stores it (toItem; the raw packet encoded by the codec).
 * Runs: the first as an hour closes (run 1 at H+1:10, data from H−0:20: closes the 20 minutes of hour H−1 and hour H;
 * no marks yet), then one more hour of data and run 2 at H+2:10 (closes hour H+1: the steady state). Each run is timed
 * for each variant side by side (BENCH_JOBS_VARIANTS: `<code>:<concurrency>`, default `current:1,current:8`; code
 * `before` runs the jobs and adapters of the tree at BENCH_JOBS_BEFORE, e.g. a worktree of main, in the same run), the
 * jobs' marks (block marks, seal marks) restored between variants so that each starts from the same state (each
 * variant seals into a bucket of its own; blocks are rewritten in place, as a rerun would); the order of the variants
 * is reversed in the second run.
 * Each run reports wall time, DynamoDB and S3 commands by operation (cost meter: bench/cost/meter.ts, read and write
 * units as DynamoDB Local answers them), commands per device, this process's CPU (SDK, blocks, hashing) and DynamoDB
 * Local's CPU (the java process) over the run. BENCH_JOBS_PROFILE=<dir> writes a CPU profile of this process per job run.
 */
const DEVICES = Number(process.env.BENCH_JOBS_DEVICES ?? 2000);
/** `<code>:<concurrency>`, code `current` (this tree) or `before` (the tree at BENCH_JOBS_BEFORE) */
const VARIANTS = (process.env.BENCH_JOBS_VARIANTS ?? 'current:1,current:8').split(',').map((spec) => {
  const [code, concurrency] = spec.split(':');
  if ((code !== 'current' && code !== 'before') || !Number.isInteger(Number(concurrency)))
    throw new Error(`BENCH_JOBS_VARIANTS: "${spec}" is not current:<n> or before:<n>`);
  return { code, concurrency: Number(concurrency), name: `${code}C${concurrency}` } as const;
});
const BEFORE = process.env.BENCH_JOBS_BEFORE;
const ONLY = process.env.BENCH_JOBS_ONLY; // 'rollUp' | 'sealing': one job only (profiling)
/** a CPU profile of each job run (this process only) written to this directory */
const PROFILE_DIR = process.env.BENCH_JOBS_PROFILE;
const CODES = ['w01018', 'w21003', 'w01001', 'w00000', 'w21011', 'w01014'];
const STEP = 30_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const BUDGET_MS = 8 * 60_000;
const GRACE = 10;
const TABLE = 'readings';
const BUCKETS = VARIANTS.map((_, v) => `evidence-${v}`);

const mnOf = (d: number) => `88331126W${String(d).padStart(5, '0')}`;
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

interface DeviceFeed {
  mn: string;
  phase: number;
  head: ChainHead;
  last?: Reading[];
}

function message(rng: Rng, feed: DeviceFeed, at: number): { readings: Reading[]; archive: ArchiveInput } {
  const dataTime = new Date(at).toISOString();
  const receivedAt = new Date(at + 2_000 + Math.floor(rng.next() * 3_000)).toISOString();
  const source = feed.phase % 2 === 0 ? 'mqtt-hj212' : 'tcp-hj212';
  const values = CODES.map((_c, k) => round(5 + k * 3 + rng.next() * 4, 2));
  const readings: Reading[] = CODES.map((pollutant, k) => ({
    mn: feed.mn,
    enterpriseId: 'E-bench',
    outletId: 'O-bench-1',
    pollutant,
    subject: 'pollutant',
    kind: 'realtime',
    dataTime,
    values: { rtd: values[k] as number },
    flag: 'N',
    source,
    receivedAt,
  }));
  const cp = CODES.map((c, k) => `${c}-Rtd=${(values[k] as number).toFixed(2)},${c}-Flag=N`).join(';');
  const raw = encodePacket({
    qn: isoToBeijing(receivedAt, true),
    st: '32',
    cn: '2011',
    pw: '123456',
    mn: feed.mn,
    flag: 4,
    cp: `DataTime=${isoToBeijing(dataTime)};${cp}`,
  });
  return {
    readings,
    archive: { mn: feed.mn, receivedAt, source, clientId: feed.mn, accepted: true, raw: Buffer.from(raw) },
  };
}

/** Stores every device's messages of [from, to) as ingest does (row items, archive records) and each device's state. */
async function load(
  db: DynamoDBDocumentClient,
  store: DynamoReadingStore,
  rng: Rng,
  feeds: DeviceFeed[],
  from: number,
  to: number,
): Promise<{ rows: number; records: number }> {
  let rows = 0;
  let records = 0;
  let batch: Record<string, unknown>[] = [];
  const tailSeconds = Math.round(DEFAULT_ARCHIVE_TAIL_DAYS * 86_400);
  for (const feed of feeds) {
    for (let t = Math.ceil((from - feed.phase) / STEP) * STEP + feed.phase; t < to; t += STEP) {
      const { readings, archive } = message(rng, feed, t);
      batch.push(rowItem(readings, expiresAt('realtime', readings[0]?.dataTime as string, DEFAULT_RETENTION)));
      const record = buildRecord(feed.mn, archive, feed.head);
      feed.head = { seq: record.seq, hash: record.hash };
      batch.push(toItem(record, deliveryKey(archive), Math.floor(Date.parse(archive.receivedAt) / 1000) + tailSeconds));
      feed.last = readings;
      rows++;
      records++;
    }
    if (batch.length >= 4_000) {
      await batchPut(db, TABLE, batch);
      batch = [];
    }
  }
  await batchPut(db, TABLE, batch);
  // each device's state as ingest leaves it after its last message (its lastDataTime closes the periods before it)
  await inParallel(feeds, 8, async (feed) => {
    const first = feed.last?.[0];
    if (first) await store.updateState(feed.mn, 'realtime', first.dataTime, first.receivedAt, feed.last ?? []);
  });
  return { rows, records };
}

/** The jobs' marks of every device: the block marks (state items) and the seal marks. */
type Marks = Map<string, Record<string, unknown> | undefined>;

async function snapshot(db: DynamoDBDocumentClient, mns: string[]): Promise<Marks> {
  const marks: Marks = new Map();
  const keys = mns.flatMap((mn) => [
    ...(Object.keys(BLOCK_LAYOUTS) as ReadingKind[]).map((kind) => blockStateKey(mn, kind)),
    archiveKeys.sealMark(mn),
  ]);
  await inParallel(keys, 16, async (key) => {
    const out = await db.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }));
    marks.set(`${key.pk}|${key.sk}`, out.Item);
  });
  return marks;
}

async function restore(db: DynamoDBDocumentClient, marks: Marks): Promise<void> {
  await inParallel([...marks], 16, async ([id, item]) => {
    const [pk, sk] = id.split('|') as [string, string];
    if (sk === 'sealed') {
      if (item) await db.send(new PutCommand({ TableName: TABLE, Item: item }));
      else await db.send(new DeleteCommand({ TableName: TABLE, Key: { pk, sk } }));
      return;
    }
    if (!item) return; // no state of this kind: the roll-up writes none
    const set = (['blocksTo', 'blocksMovedAt', 'late'] as const).filter((k) => item[k] !== undefined);
    const remove = (['blocksTo', 'blocksMovedAt', 'late'] as const).filter((k) => item[k] === undefined);
    await db.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk, sk },
        UpdateExpression: [
          set.length > 0 ? `SET ${set.map((k) => `${k} = :${k}`).join(', ')}` : '',
          remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
        ].join(' '),
        ...(set.length > 0
          ? { ExpressionAttributeValues: Object.fromEntries(set.map((k) => [`:${k}`, item[k]])) }
          : {}),
      }),
    );
  });
}

function meteredS3Client(endpoint: string, m: Meter): S3Client {
  const client = new S3Client({ ...localS3ClientConfig(endpoint), maxAttempts: 1 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = `s3:${String(context.commandName).replace(/Command$/, '')}`;
      m.commands.set(name, (m.commands.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'jobsMeter' },
  );
  return client;
}

/** Times one job run: wall, this process's CPU, DynamoDB Local's CPU, commands by operation and per device. */
async function measured<T>(m: Meter, javaPid: number | undefined, name: string, job: () => Promise<T>) {
  resetMeter(m);
  const profiler = PROFILE_DIR ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const java0 = javaPid ? procSample(javaPid) : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await job();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const java1 = javaPid ? procSample(javaPid) : undefined;
  if (profiler && PROFILE_DIR) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    profiler.disconnect();
  }
  const commands = Object.fromEntries([...m.commands].sort(([a], [b]) => (a < b ? -1 : 1)));
  const total = [...m.commands.values()].reduce((s, n) => s + n, 0);
  return {
    wallSeconds: round(wallMs / 1000, 2),
    benchCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
    dynamoLocalCpuSeconds: java0 && java1 ? round((java1.cpuTicks - java0.cpuTicks) / 100, 2) : null,
    msPerDevice: round(wallMs / DEVICES, 2),
    commands,
    commandsPerDevice: round(total / DEVICES, 2),
    commandsPerDeviceByOperation: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, round(v / DEVICES)])),
    readUnits: round(m.rru, 1),
    writeUnits: round(m.wru, 1),
    result,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const tmp = tempDir('jobs');
  const dynamo = await startDynamoDb({ port: await freePort(), dataDir: tmp.dir, inMemory: true });
  const s3svc = await startS3({
    port: await freePort(),
    dataDir: `${tmp.dir}/s3`,
    buckets: BUCKETS.map((b) => ({
      id: b,
      bucketName: b,
      arn: `arn:aws:s3:::${b}`,
      versioned: true,
      objectLock: true,
    })),
  });
  const javaPid = javaChildOf(process.pid);
  const meter = newMeter();
  const plainClient = localDynamoDbClient(dynamo.endpoint);
  const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
  const plain = DynamoDBDocumentClient.from(plainClient, { marshallOptions: { removeUndefinedValues: true } });
  const db = meteredDynamo(dynamo.endpoint, meter);
  const s3 = meteredS3Client(s3svc.endpoint, meter);
  try {
    await ensureTables(dynamo.endpoint, [pkSkTableSpec(TABLE, 'Bench')]);
    const rng = createRng(15);
    const feeds: DeviceFeed[] = Array.from({ length: DEVICES }, (_, d) => ({
      mn: mnOf(d),
      phase: Math.floor(rng.next() * STEP),
      head: GENESIS,
    }));
    const mns = feeds.map((f) => f.mn);
    // H: an hour well in the past (the runs' `now` is before the real clock; TTLs stay in the future)
    const H = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
    const runsAt = [H + HOUR + GRACE * MIN, H + 2 * HOUR + GRACE * MIN];
    const readingStore = new DynamoReadingStore(plain, TABLE);
    // each variant's code: the jobs and their adapters from this tree, or from the tree of before (BENCH_JOBS_BEFORE)
    const current = { rollUpAll, sealAll, DynamoRollUpStore, DynamoArchiveStore, S3ArchiveObjects };
    const before: typeof current | undefined = VARIANTS.some((v) => v.code === 'before')
      ? await (async () => {
          if (!BEFORE) throw new Error('a `before` variant needs BENCH_JOBS_BEFORE: a worktree of the code before');
          const at = (path: string) => import(join(BEFORE, path));
          return {
            rollUpAll: (await at('shared/domain/readings/roll-up.ts')).rollUpAll,
            sealAll: (await at('shared/domain/archive/seal.ts')).sealAll,
            DynamoRollUpStore: (await at('shared/adapters/readings-blocks.ts')).DynamoRollUpStore,
            DynamoArchiveStore: (await at('shared/adapters/archive-store.ts')).DynamoArchiveStore,
            S3ArchiveObjects: (await at('shared/adapters/archive-objects.ts')).S3ArchiveObjects,
          };
        })()
      : undefined;
    const devices = async function* () {
      yield* mns;
    };
    const runs: Record<string, unknown>[] = [];
    let loadedFrom = H - 20 * MIN;
    for (const [i, now] of runsAt.entries()) {
      const loadStarted = performance.now();
      const loaded = await load(plain, readingStore, rng, feeds, loadedFrom, now);
      loadedFrom = now;
      process.stderr.write(
        `jobs bench: loaded ${loaded.rows} rows and ${loaded.records} records up to run ${i + 1} in ${round((performance.now() - loadStarted) / 1000, 1)} s\n`,
      );
      const marks = await snapshot(plain, mns);
      const order = VARIANTS.map((variant, v) => ({ ...variant, bucket: BUCKETS[v] as string }));
      if (i % 2 === 1) order.reverse();
      const byVariant: Record<
        string,
        { rollUp?: { wallSeconds: number }; sealing?: { wallSeconds: number } } & object
      > = {};
      for (const [n, { code, concurrency, name, bucket }] of order.entries()) {
        if (n > 0) await restore(plain, marks);
        const jobs = (code === 'before' ? before : current) as typeof current;
        const rollUpStore = new jobs.DynamoRollUpStore(db, TABLE);
        const records = new jobs.DynamoArchiveStore(db, TABLE);
        const rollUp =
          ONLY === 'sealing'
            ? undefined
            : await measured(meter, javaPid, `rollUp-run${i + 1}-${name}`, () =>
                jobs.rollUpAll(rollUpStore, devices, now, { graceMinutes: GRACE, budgetMs: BUDGET_MS, concurrency }),
              );
        const sealing =
          ONLY === 'rollUp'
            ? undefined
            : await measured(meter, javaPid, `sealing-run${i + 1}-${name}`, () =>
                jobs.sealAll(
                  { records, objects: new jobs.S3ArchiveObjects(s3, bucket), chains: devices },
                  new Date(now),
                  { graceMinutes: GRACE, concurrency },
                ),
              );
        process.stderr.write(
          `jobs bench: run ${i + 1} ${name}: roll-up ${rollUp?.wallSeconds ?? '-'} s, sealing ${sealing?.wallSeconds ?? '-'} s\n`,
        );
        const measuredRun = {
          ...(rollUp ? { rollUp } : {}),
          ...(sealing
            ? { sealing: { ...sealing, result: { ...sealing.result, problems: sealing.result.problems.length } } }
            : {}),
        };
        byVariant[name] = measuredRun;
      }
      const first = VARIANTS[0]?.name as string;
      const base = byVariant[first];
      runs.push({
        run: i + 1,
        now: new Date(now).toISOString(),
        loaded,
        order: order.map((v) => v.name),
        ...byVariant,
        wallRatios: Object.fromEntries(
          VARIANTS.slice(1).flatMap(({ name }) =>
            (['rollUp', 'sealing'] as const).map((job) => [
              `${job}${name[0]?.toUpperCase()}${name.slice(1)}Vs${first[0]?.toUpperCase()}${first.slice(1)}`,
              base?.[job] && byVariant[name]?.[job]
                ? ratio(byVariant[name]?.[job]?.wallSeconds as number, base[job]?.wallSeconds as number)
                : null,
            ]),
          ),
        ),
      });
    }
    return {
      devices: DEVICES,
      messageEverySeconds: STEP / 1000,
      codesPerMessage: CODES.length,
      dynamoDbLocal: 'in memory',
      runs,
    };
  } finally {
    plainClient.destroy();
    db.destroy();
    s3.destroy();
    await s3svc.stop();
    await dynamo.stop();
    tmp.remove();
  }
}
