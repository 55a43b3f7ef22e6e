import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { freePort } from '#infra/local/ports.ts';
import { localDynamoDbClient, startDynamoDb } from '#infra/local/services/dynamodb.ts';
import { localS3ClientConfig, startS3 } from '#infra/local/services/s3.ts';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore, toItem } from '#shared/adapters/archive-store.ts';
import { isConditionFailure } from '#shared/adapters/dynamodb.ts';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import {
  type ArchiveInput,
  buildRecord,
  type ChainHead,
  deliveryKey,
  GENESIS,
  recordKey,
  serializeRecord,
} from '#shared/domain/archive/record.ts';
import { sealChain } from '#shared/domain/archive/seal.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { ratio, tempDir } from './lib.ts';
import { inParallel, type Recorded, recordingClient } from './measure.ts';

/**
 * `npm run bench -- archive`: the sealed archive's cost per message, before and after one-write archiving, side by
 * side in one run against the local stand-ins (DynamoDB Local, s3rver):
 *   before  the layout until now, re-enacted here: a conditional update of the chain head item (`d#<chain>`/`archive`)
 *           and one S3 PUT of the record per message (the code as it was: git show 228dcc8^:shared/domain/archive);
 *   after   SealedArchive + DynamoArchiveStore: one conditional put of the record item per message; plus the hourly
 *           sealing (sealChain) of the same records, reported per record.
 * Messages: DEVICES devices × PER_DEVICE real-time HJ 212 packets of six pollutants, one a minute, appended WIDTH at a
 * time across devices (a device's messages in order, as a device sends them). Commands are counted by the SDK
 * middleware of each client (every command the archive sends), appends/s is wall time on this machine's stand-ins
 * (relative: the ratio matters, not the absolute figure). The record store's cold start per chain (one Query of the
 * seal mark and the newest records; for a chain without records yet also a GetItem of the head item of before)
 * happens once per chain and container.
 */
const DEVICES = 20;
const PER_DEVICE = 60;
const WIDTH = 8;

const mnOf = (d: number) => `33112600000000000000B${String(d).padStart(3, '0')}`;
function message(d: number, i: number): ArchiveInput {
  const at = new Date(Date.parse('2026-11-29T08:00:00+08:00') + i * 60_000);
  const cp = ['w01018', 'w21003', 'w01001', 'w00000', 'w21011', 'w21001']
    .map((c, k) => `${c}-Rtd=${(10 + k + (i % 7) / 10).toFixed(2)},${c}-Flag=N`)
    .join(';');
  const raw = encodePacket({
    qn: isoToBeijing(at.toISOString(), true),
    st: '32',
    cn: '2011',
    pw: '123456',
    mn: mnOf(d),
    flag: 4,
    cp: `DataTime=${isoToBeijing(at.toISOString())};${cp}`,
  });
  return {
    mn: mnOf(d),
    receivedAt: at.toISOString(),
    source: 'mqtt-hj212',
    clientId: mnOf(d),
    accepted: true,
    raw: Buffer.from(raw),
  };
}

/** The archive before: head item advanced by a conditional put, then the record's object (cached head, as it was). */
function legacyArchive(db: DynamoDBDocumentClient, table: string, s3: S3Client, bucket: string) {
  const heads = new Map<string, ChainHead & { recent: { k: string; seq: number }[] }>();
  return async (chain: string, input: ArchiveInput) => {
    const k = deliveryKey(input);
    let head = heads.get(chain);
    if (!head) {
      const out = await db.send(
        new GetCommand({ TableName: table, Key: { pk: `d#${chain}`, sk: 'archive' }, ConsistentRead: true }),
      );
      head = out.Item
        ? { seq: Number(out.Item.seq), hash: String(out.Item.hash), recent: out.Item.recent }
        : { ...GENESIS, recent: [] };
    }
    const record = buildRecord(chain, input, head);
    const next = { seq: record.seq, hash: record.hash, recent: [...head.recent, { k, seq: record.seq }].slice(-24) };
    try {
      await db.send(
        new PutCommand({
          TableName: table,
          Item: {
            pk: `d#${chain}`,
            sk: 'archive',
            chain,
            ...next,
            lastDate: '2026-11-29',
            updatedAt: input.receivedAt,
          },
          ...(head.seq === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'seq = :prev', ExpressionAttributeValues: { ':prev': head.seq } }),
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new Error('the bench appends one chain at a time: no contention expected');
      throw err;
    }
    heads.set(chain, next);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: recordKey(record),
        Body: serializeRecord(record),
        ContentType: 'application/json',
      }),
    );
  };
}

function countingS3(endpoint: string, calls: string[]): S3Client {
  const s3 = new S3Client({ ...localS3ClientConfig(endpoint), maxAttempts: 1 });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      // every command sent, answered or not (a HEAD of a missing object answers 404)
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countS3' },
  );
  return s3;
}

const tally = (names: string[]) =>
  Object.fromEntries([...new Set(names)].sort().map((n) => [n, names.filter((x) => x === n).length]));
const perMessage = (counts: Record<string, number>, n: number) =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round((v / n) * 1000) / 1000]));

export async function run(): Promise<Record<string, unknown>> {
  const tmp = tempDir('bench-archive');
  const table = 'readings';
  const bucket = 'evidence';
  const dynamo = await startDynamoDb({ port: await freePort(), dataDir: `${tmp.dir}/dynamodb` });
  const s3svc = await startS3({
    port: await freePort(),
    dataDir: `${tmp.dir}/s3`,
    buckets: [{ id: 'Evidence', bucketName: bucket, arn: `arn:aws:s3:::${bucket}`, versioned: true, objectLock: true }],
  });
  try {
    const admin = localDynamoDbClient(dynamo.endpoint);
    await admin.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      }),
    );
    admin.destroy();
    const n = DEVICES * PER_DEVICE;
    const devices = Array.from({ length: DEVICES }, (_, d) => d);
    const messages = devices.map((d) => Array.from({ length: PER_DEVICE }, (_, i) => message(d, i)));
    const drive = async (append: (chain: string, input: ArchiveInput) => Promise<unknown>) => {
      const started = performance.now();
      // WIDTH appends in flight at a time, each device's messages in order
      await inParallel(devices, WIDTH, async (d) => {
        for (const m of messages[d] ?? []) await append(mnOf(d), m);
      });
      return performance.now() - started;
    };

    // before
    const beforeDb: Recorded[] = [];
    const beforeS3: string[] = [];
    const legacy = legacyArchive(
      recordingClient(dynamo.endpoint, beforeDb),
      table,
      countingS3(s3svc.endpoint, beforeS3),
      bucket,
    );
    const beforeMs = await drive(legacy);

    // after (other chains: the same devices with another MN prefix would do, but a fresh table partition is enough)
    const afterDb: Recorded[] = [];
    const afterS3: string[] = [];
    const db = recordingClient(dynamo.endpoint, afterDb);
    const records = new DynamoArchiveStore(db, table, { tailDays: 7 });
    const objects = new S3ArchiveObjects(countingS3(s3svc.endpoint, afterS3), bucket);
    const archive = new SealedArchive(records, objects);
    const afterMs = await drive((chain, input) => archive.append(chain, input));
    const afterAppendDb = afterDb.length;
    const afterAppendS3 = afterS3.length;

    // the hourly sealing of the same records (60 messages a device: one hour, one batch per device)
    const sealDb0 = afterDb.length;
    const sealS30 = afterS3.length;
    let batches = 0;
    for (const d of devices) {
      const r = await sealChain({ records, objects }, mnOf(d), new Date('2026-11-29T10:00:00+08:00'), {
        graceMinutes: 10,
      });
      batches += r.batches.length;
    }
    const sealCalls = {
      ...tally(afterDb.slice(sealDb0).map((c) => c.command)),
      ...tally(afterS3.slice(sealS30)),
    };
    const sample = messages[0]?.[0] as ArchiveInput;
    const item = toItem(buildRecord(mnOf(0), sample, GENESIS), deliveryKey(sample), 0);
    const beforeCalls = { ...tally(beforeDb.map((c) => c.command)), ...tally(beforeS3) };
    const afterCalls = {
      ...tally(afterDb.slice(0, afterAppendDb).map((c) => c.command)),
      ...tally(afterS3.slice(0, afterAppendS3)),
    };
    const beforePer = (beforeDb.length + beforeS3.length) / n;
    const afterPer = (afterAppendDb + afterAppendS3) / n;
    const sealPer = (afterDb.length - sealDb0 + afterS3.length - sealS30) / n;
    return {
      messages: n,
      devices: DEVICES,
      inFlight: WIDTH,
      typicalMessage: {
        rawBytes: sample.raw.byteLength,
        recordItemBytes: Object.entries(item).reduce(
          (s, [k, v]) =>
            s +
            k.length +
            (typeof v === 'string'
              ? Buffer.byteLength(v)
              : v instanceof Uint8Array
                ? v.byteLength
                : typeof v === 'number'
                  ? Math.ceil(String(v).length / 2) + 1
                  : 1),
          0,
        ),
        objectBytesBefore: serializeRecord(buildRecord(mnOf(0), sample, GENESIS)).length,
      },
      before: {
        appendsPerSecond: Math.round(n / (beforeMs / 1000)),
        commands: beforeCalls,
        commandsPerAppend: perMessage(beforeCalls, n),
        s3PutsPerAppend: (beforeCalls.PutObjectCommand ?? 0) / n,
      },
      after: {
        appendsPerSecond: Math.round(n / (afterMs / 1000)),
        commands: afterCalls,
        commandsPerAppend: perMessage(afterCalls, n),
        s3PutsPerAppend: (afterCalls.PutObjectCommand ?? 0) / n,
        sealing: { batches, commands: sealCalls, commandsPerRecord: Math.round(sealPer * 1000) / 1000 },
      },
      ratios: {
        appendsPerSecondAfterVsBefore: ratio(n / afterMs, n / beforeMs),
        commandsPerAppendAfterVsBefore: ratio(afterPer, beforePer),
        commandsPerMessageWithSealingAfterVsBefore: ratio(afterPer + sealPer, beforePer),
      },
    };
  } finally {
    await s3svc.stop();
    await dynamo.stop();
    tmp.remove();
  }
}
