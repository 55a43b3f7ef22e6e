import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { ensureTables } from '#infra/local/services/dynamodb.ts';
import { localS3ClientConfig } from '#infra/local/services/s3.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { beijingDate } from '#shared/domain/archive/record.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { eventually, localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

/**
 * Device ingestion on the embedded platform, from the real synthesized app: devices publish HJ 212 and JSON over MQTT
 * (and a gateway-style envelope through Basic Ingest); officials read readings, latest values and verify the archive.
 * A transient outage of the readings table sends messages to the dead-letter queue, and the scheduled redrive brings
 * them back once the bucket answers; poison is parked with its reason.
 */
const WWTP = '33112600000000000000AB01'; // hj212-2017 water device of the seeded WWTP
const FUNGI = '33112600000000000000FW01'; // json-mqtt device

describe('device ingestion on the local platform', () => {
  const tmp = tempDir('ingest');
  const cdkOut = realAppAssembly();
  const dataDir = `${tmp.dir}/data`;
  let platform: Platform;
  let token: string;
  let client: MqttClient;
  let s3: S3Client;
  let bucket: string;
  type Rec = { seq: number; accepted: boolean; reason: string | null; mn: string; rawBase64: string; source: string };
  /** a chain's records in the readings table (the unsealed tail: every record of these tests until it is sealed) */
  const records = async (chain: string): Promise<{ key: string; rec: Rec }[]> => {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)));
    try {
      const stored = await new DynamoArchiveStore(db, readingsTable()).after(chain, 0, Number.POSITIVE_INFINITY);
      return stored.map((s) => ({ key: `a#${chain}/${s.record.seq}`, rec: s.record }));
    } finally {
      db.destroy();
    }
  };
  const readingsTable = () =>
    platform.spec.functions.map((f) => f.environment[ENV.readingsTable]).find((t) => t) as string;

  beforeAll(async () => {
    // plain MQTT (the debugging listener): this file is about what ingestion stores; devices authenticating over TLS
    // with their certificates is device-onboarding.test.ts's subject
    platform = await startPlatform({ cdkOut, dataDir, ports: await freePorts(), plainMqtt: true });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    token = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'analyst-1', roles: ['analyst'], townships: ['*'] },
      600,
    );
    s3 = new S3Client(localS3ClientConfig(platform.endpoints.s3));
    bucket = platform.spec.functions.map((f) => f.environment[ENV.evidenceBucket]).find((b) => b) as string;
    client = await mqtt.connectAsync(platform.endpoints.mqtt as string, {
      clientId: WWTP,
      reconnectPeriod: 0,
    });
  }, 120_000);

  afterAll(async () => {
    await client?.endAsync();
    s3?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  const get = async (path: string) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const now = new Date();
  const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
  const packet = (cp: string, cn = '2061', mn = WWTP) =>
    encodePacket({ qn: isoToBeijing(now, true), st: '32', cn, pw: '123456', mn, flag: 4, cp });
  const hourly = packet(
    `DataTime=${isoToBeijing(hour)};w01018-Avg=50.0,w01018-Min=40.1,w01018-Max=61.2,w01018-Flag=N;w21003-Avg=8.2,w21003-Flag=N;SB1-RS=1`,
  );
  const range = `from=${encodeURIComponent(new Date(Date.parse(hour) - 60_000).toISOString())}&to=${encodeURIComponent(new Date(Date.parse(hour) + 60_000).toISOString())}`;
  const today = beijingDate(now.toISOString());

  it('stores readings from raw HJ 212 over MQTT and serves them to officials', async () => {
    await client.publishAsync(`envwatch/devices/${WWTP}/hj212`, hourly, { qos: 1 });
    const page = await eventually(
      async () => {
        const r = await get(`/devices/${WWTP}/readings?pollutant=w01018&kind=hour&${range}`);
        return r.status === 200 && (r.body.items as unknown[]).length > 0 ? r.body : undefined;
      },
      10_000,
      'hourly COD reading',
    );
    const items = page.items as { values: { avg: number }; flag: string; outletId: string; source: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ values: { avg: 50, min: 40.1, max: 61.2 }, flag: 'N', source: 'mqtt-hj212' });
    expect(items[0]?.outletId).toMatch(/-DW001$/);
    // the device state is updated right after the readings: wait for it too
    const hourState = await eventually(
      async () => {
        const latest = await get(`/devices/${WWTP}/latest`);
        const kinds = latest.body.kinds as {
          kind: string;
          values: Record<string, { values: Record<string, number> }>;
        }[];
        return kinds.find((k) => k.kind === 'hour');
      },
      10_000,
      'hourly device state',
    );
    expect(hourState?.values.w21003?.values.avg).toBe(8.2);
    expect(hourState?.values.SB1?.values.rs).toBe(1);
  });

  it('stores the same packet delivered twice once, and archives both deliveries', async () => {
    await client.publishAsync(`envwatch/devices/${WWTP}/hj212`, hourly, { qos: 1 });
    await eventually(
      async () => {
        const v = await get(`/devices/${WWTP}/archive/verify?from=${today}&to=${today}`);
        return (v.body.records as number) >= 2 ? true : undefined;
      },
      10_000,
      'second archive record',
    );
    const r = await get(`/devices/${WWTP}/readings?pollutant=w01018&kind=hour&${range}`);
    expect(r.body.items).toHaveLength(1);
  });

  it('stores JSON telemetry of a JSON device', async () => {
    const json = await mqtt.connectAsync(platform.endpoints.mqtt as string, {
      clientId: FUNGI,
      reconnectPeriod: 0,
    });
    const dataTime = new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString();
    await json.publishAsync(
      `envwatch/devices/${FUNGI}/telemetry`,
      JSON.stringify({ cn: '2011', dataTime, values: { w01018: { rtd: 33.3 }, '060': { rtd: 1.5, flag: 'N' } } }),
      { qos: 1 },
    );
    await json.endAsync();
    const q = `from=${encodeURIComponent(new Date(Date.parse(dataTime) - 1000).toISOString())}&to=${encodeURIComponent(new Date(Date.parse(dataTime) + 1000).toISOString())}`;
    const r = await eventually(
      async () => {
        const x = await get(`/devices/${FUNGI}/readings?pollutant=w21003&kind=realtime&${q}`);
        return (x.body.items as unknown[] | undefined)?.length ? x.body : undefined;
      },
      10_000,
      'JSON reading',
    );
    expect((r.items as { values: { rtd: number }; sentCode: string }[])[0]).toMatchObject({
      values: { rtd: 1.5 },
      sentCode: '060',
    });
  });

  it('archives a packet of an unknown MN as rejected in the _unknown chain', async () => {
    const unknown = '33112600000000000000ZZ99';
    await client.publishAsync(
      `envwatch/devices/${unknown}/hj212`,
      packet(`DataTime=${isoToBeijing(hour)};w01018-Avg=1`, '2061', unknown),
      { qos: 1 },
    );
    const report = await eventually(
      async () => {
        const v = await get(`/devices/_unknown/archive/verify?from=${today}&to=${today}`);
        return (v.body.records as number) >= 1 ? v.body : undefined;
      },
      10_000,
      'unknown-MN archive record',
    );
    expect(report.ok).toBe(true);
    const [first] = await records('_unknown');
    expect(first?.rec).toMatchObject({ accepted: false, reason: 'unknown-mn', mn: unknown });
  });

  it('takes gateway envelopes through the Basic Ingest rule and keeps the gateway verdict', async () => {
    const iot = new IoTDataPlaneClient(localClientConfig(platform.endpoints.iotData));
    const raw = Buffer.from(packet(`DataTime=${isoToBeijing(hour)};w21011-Avg=0.4,w21011-Flag=N`)).toString('base64');
    const envelope = { mn: WWTP, receivedAt: new Date().toISOString(), raw, clientId: 'tcp-1', accepted: true };
    await iot.send(
      new PublishCommand({
        topic: `$aws/rules/envwatch_dev_gateway/envwatch/gateway/${WWTP}`,
        payload: Buffer.from(JSON.stringify(envelope)),
      }),
    );
    const refused = {
      ...envelope,
      receivedAt: new Date().toISOString(),
      accepted: false,
      reason: 'auth-failed',
      detail: 'wrong PW',
    };
    await iot.send(
      new PublishCommand({
        topic: `$aws/rules/envwatch_dev_gateway/envwatch/gateway/${WWTP}`,
        payload: Buffer.from(JSON.stringify(refused)),
      }),
    );
    iot.destroy();
    const r = await eventually(
      async () => {
        const x = await get(`/devices/${WWTP}/readings?pollutant=w21011&kind=hour&${range}`);
        return (x.body.items as unknown[] | undefined)?.length ? x.body : undefined;
      },
      10_000,
      'gateway reading',
    );
    expect((r.items as { source: string }[])[0]?.source).toBe('tcp-gateway');
    await eventually(
      async () => {
        const recs = await records(WWTP);
        return recs.some((x) => x.rec.reason === 'auth-failed') ? true : undefined;
      },
      10_000,
      'gateway rejection archived',
    );
  });

  // HJ 212 packets with a valid CRC whose codes are names an object resolves without owning them
  const HOSTILE_CP =
    '__proto__-Avg=1;constructor-Avg=2;toString-Flag=N;hasOwnProperty=3;valueOf-Info=//x//;SBconstructor-RS=1';
  const hostileCp = (code: string, value: number) =>
    `DataTime=${isoToBeijing(hour)};${code}-Avg=${value},${code}-Flag=N;${HOSTILE_CP}`;
  const readingOf = async (mn: string, pollutant: string) =>
    eventually(
      async () => {
        const x = await get(`/devices/${mn}/readings?pollutant=${pollutant}&kind=hour&${range}`);
        return (x.body.items as { values: { avg: number } }[] | undefined)?.[0];
      },
      10_000,
      `${pollutant} reading of ${mn}`,
    );
  const deadLetters = async () => {
    const sqs = new SQSClient(localClientConfig(platform.endpoints.sqs));
    try {
      let n = 0;
      const queues = platform.spec.queues.filter((x) => x.id.includes('DeadLetters'));
      expect(queues.length).toBeGreaterThanOrEqual(2); // the ingest dead letters and the alarm replay rule's
      for (const q of queues) {
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: q.queueName }));
        const a = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
        );
        n += Number(a.Attributes?.ApproximateNumberOfMessages ?? 0);
      }
      return n;
    } finally {
      sqs.destroy();
    }
  };

  it('archives and accepts an MQTT packet with hostile codes, keeps its good value, and takes the next packet', async () => {
    const boiler = '33112600000000000000GA01';
    const letters = await deadLetters();
    await client.publishAsync(`envwatch/devices/${boiler}/hj212`, packet(hostileCp('a21026', 12.5), '2061', boiler), {
      qos: 1,
    });
    await client.publishAsync(`envwatch/devices/${boiler}/hj212`, packet(hostileCp('a21002', 30.5), '2061', boiler), {
      qos: 1,
    });
    expect((await readingOf(boiler, 'a21026')).values.avg).toBe(12.5);
    expect((await readingOf(boiler, 'a21002')).values.avg).toBe(30.5);
    const recs = await eventually(
      async () => {
        const all = await records(boiler);
        return all.length >= 2 ? all : undefined;
      },
      10_000,
      'two archive records',
    );
    for (const { rec } of recs) {
      expect(rec).toMatchObject({ accepted: true, reason: null });
      expect((rec as Rec & { detail: string }).detail).toMatch(/^warnings: CP field "__proto__-Avg" dropped/);
    }
    // the ingest function (ingestion and alarm evaluation) did not fail on them
    expect(await deadLetters()).toBe(letters);
  });

  it('acknowledges a TCP packet with hostile codes through the gateway, archives it, and keeps the frame after a truncated one', async () => {
    const bamboo = '33112600000000000000BW01';
    const letters = await deadLetters();
    const url = new URL(platform.endpoints.hj212 as string);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('utf8');
    });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const tcp = (cp: string) =>
      encodePacket({ qn: isoToBeijing(new Date(), true), st: '32', cn: '2061', pw: '123456', mn: bamboo, flag: 5, cp });
    const hostile = tcp(hostileCp('w01018', 55.5));
    socket.write(hostile);
    await eventually(async () => (received.includes('CN=9014') ? true : undefined), 15_000, 'the 9014');
    const next = tcp(`DataTime=${isoToBeijing(hour)};w21003-Avg=3.5,w21003-Flag=N`);
    socket.write(`${next.slice(0, 70)}${next}`);
    await eventually(
      async () => (received.match(/CN=9014/g)?.length === 2 ? true : undefined),
      15_000,
      'a second 9014',
    );
    socket.end();
    expect((await readingOf(bamboo, 'w01018')).values.avg).toBe(55.5);
    expect((await readingOf(bamboo, 'w21003')).values.avg).toBe(3.5);
    const raw = (r: Rec) => Buffer.from(r.rawBase64, 'base64').toString('utf8');
    const recs = (await records(bamboo)).map((x) => x.rec as Rec & { detail: string | null });
    expect(recs.find((r) => raw(r) === hostile)).toMatchObject({ accepted: true, source: 'tcp-gateway' });
    expect(recs.find((r) => raw(r) === hostile)?.detail).toMatch(/dropped/);
    expect(recs.find((r) => raw(r) === next)).toMatchObject({ accepted: true });
    // the cut-off bytes, published as garbage when the connection closed (their MN is cut: the _unknown chain)
    const garbage = await eventually(
      async () => {
        const all = [...(await records(bamboo)), ...(await records('_unknown'))].map((x) => x.rec);
        return all.find((r) => r.reason === 'garbage' && raw(r) === next.slice(0, 70));
      },
      15_000,
      'the archived truncated frame',
    );
    expect((garbage as Rec & { detail: string }).detail).toContain('resynchronised at the next frame');
    expect(await deadLetters()).toBe(letters);
  });

  describe('dead letters', () => {
    const redrive = () =>
      platform.spec.functions.find((f) => f.environment.PARKED_QUEUE_URL) as {
        arn: string;
        environment: Record<string, string>;
      };
    const sqs = () => new SQSClient(localClientConfig(platform.endpoints.sqs));
    const depth = async (url: string) => {
      const client = sqs();
      const out = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      client.destroy();
      return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
    };
    const depthIs = (url: string, n: number, what: string) =>
      eventually(async () => ((await depth(url)) === n ? true : undefined), 15_000, what);
    /** fires the redrive's EventBridge rule through the local scheduler, as if scheduled at `time` */
    const fire = async (time: Date) => {
      const rule = platform.spec.schedules.find((s) => s.targets.some((t) => t.functionArn === redrive().arn));
      const res = await fetch(
        `${platform.endpoints.api}/_local/schedules/${encodeURIComponent(rule?.ruleName ?? '')}/run?time=${time.toISOString()}`,
        { method: 'POST' },
      );
      expect(res.status).toBe(202);
    };
    const backoff = async () => {
      const db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)));
      const out = await db.send(
        new GetCommand({
          TableName: redrive().environment.ALARMS_TABLE,
          Key: { pk: 'redrive#state#ingest', sk: 'state' },
          ConsistentRead: true,
        }),
      );
      db.destroy();
      return out.Item as { failures: number; nextAttemptAt?: string; failing?: string[] } | undefined;
    };
    // runs as if an hour ahead and later, so that the platform's own 5-minute runs never come between
    const T = Date.now() + 3_600_000;
    const at = (minutes: number) => new Date(T + minutes * 60_000);

    it('brings back every message of a transient readings table outage once the table answers, each ingested once', async () => {
      const dlq = redrive().environment.INGEST_DEAD_LETTER_QUEUE_URL as string;
      const hours = [5, 6, 7].map((h) => new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - h * 3_600_000));
      const packets = hours.map((h, i) =>
        packet(`DataTime=${isoToBeijing(h.toISOString())};w01018-Avg=${20 + i}.0,w01018-Flag=N`),
      );
      const hourQuery = (h: Date) =>
        `/devices/${WWTP}/readings?pollutant=w01018&kind=hour&from=${encodeURIComponent(new Date(h.getTime() - 60_000).toISOString())}&to=${encodeURIComponent(new Date(h.getTime() + 60_000).toISOString())}`;

      // the outage: the readings table is gone (DynamoDB Local), as if DynamoDB failed; ingest archives first (a
      // record item in that table), so every message fails, and after Lambda's two retries its failure record (the
      // envelope) is dead-lettered. The table's items are kept aside and put back when it returns.
      const table = readingsTable();
      const raw = new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb));
      const kept: Record<string, AttributeValue>[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await raw.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        kept.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      await raw.send(new DeleteTableCommand({ TableName: table }));
      try {
        for (const p of packets) await client.publishAsync(`envwatch/devices/${WWTP}/hj212`, p, { qos: 1 });
        await depthIs(dlq, 3, 'three dead letters');
        await fire(at(0));
        const down = await eventually(
          async () => {
            const b = await backoff();
            return (b?.failures ?? 0) >= 1 ? b : undefined;
          },
          10_000,
          'the redrive backing off',
        );
        expect(down?.failing?.[0]).toMatch(new RegExp(`^table ${table}: ResourceNotFoundException`));
        expect(await depth(dlq)).toBe(3);
      } finally {
        await ensureTables(platform.endpoints.dynamodb, platform.spec.tables);
        for (let i = 0; i < kept.length; i += 25) {
          const batch = kept.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
          await raw.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
        }
        raw.destroy();
      }
      // the table answers again, but the source backs off: a run before nextAttemptAt replays nothing
      const state = (await backoff()) as { nextAttemptAt: string };
      await fire(new Date(Date.parse(state.nextAttemptAt) - 120_000));
      expect(await depth(dlq)).toBe(3);
      for (const h of hours) expect((await get(hourQuery(h))).body.items).toEqual([]);

      await fire(new Date(state.nextAttemptAt));
      await depthIs(dlq, 0, 'the dead-letter queue emptied');
      expect(await depth(redrive().environment.ALARMS_DEAD_LETTER_QUEUE_URL as string)).toBe(0);
      for (const [i, h] of hours.entries()) {
        const page = await eventually(
          async () => {
            const r = await get(hourQuery(h));
            return (r.body.items as unknown[]).length > 0 ? r.body : undefined;
          },
          10_000,
          `reading of ${h.toISOString()}`,
        );
        expect(page.items).toHaveLength(1);
        expect((page.items as { values: { avg: number } }[])[0]?.values.avg).toBe(20 + i);
      }
      expect(await backoff()).toMatchObject({ failures: 0 });
      // archived once each, when the table was back (nothing was written during the outage: the archive's record put
      // is its first write); the archive check below finds no gap
      const archived = (await records(WWTP)).filter((r) =>
        packets.some((p) => Buffer.from(p).toString('base64') === r.rec.rawBase64),
      );
      expect(archived.map((r) => Buffer.from(r.rec.rawBase64, 'base64').toString()).sort()).toEqual(
        [...packets].sort(),
      );
      expect(new Set(archived.map((r) => r.rec.seq)).size).toBe(3);
    });

    it('parks what cannot be read, and what failed again after three replays, with the reason', async () => {
      const env = redrive().environment;
      const dlq = env.INGEST_DEAD_LETTER_QUEUE_URL as string;
      const parked = env.PARKED_QUEUE_URL as string;
      const client = sqs();
      await client.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: 'garbage, not a dead letter' }));
      // an async-invocation failure record whose envelope the ingest function refuses every time
      const poison = {
        requestContext: { condition: 'RetriesExhausted' },
        requestPayload: { hello: 'not an envelope' },
      };
      await client.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: JSON.stringify(poison) }));
      let parkedMessages: {
        Body?: string;
        MessageId?: string;
        MessageAttributes?: Record<string, MessageAttributeValue>;
      }[] = [];
      for (let run = 1; run <= 6 && parkedMessages.length < 2; run++) {
        await fire(at(10 + 5 * run));
        if ((await depth(parked)) < 2) {
          // replayed: the ingest function refuses it again (three attempts) and its failure record is back
          await depthIs(dlq, 1, 'the poison back in the dead-letter queue');
          continue;
        }
        // both, however SQS splits them over receives (left visible, for the operator's look below)
        parkedMessages = await eventually(async () => {
          const out = await client.send(
            new ReceiveMessageCommand({
              QueueUrl: parked,
              MaxNumberOfMessages: 10,
              MessageAttributeNames: ['All'],
              VisibilityTimeout: 0,
            }),
          );
          for (const m of out.Messages ?? [])
            if (!parkedMessages.some((p) => p.MessageId === m.MessageId)) parkedMessages.push(m);
          return parkedMessages.length >= 2 ? parkedMessages : undefined;
        });
      }
      const attr = (m: (typeof parkedMessages)[number], k: string) => m.MessageAttributes?.[k]?.StringValue;
      const byCode = Object.fromEntries(parkedMessages.map((m) => [attr(m, 'reasonCode'), m]));
      expect(Object.keys(byCode).sort()).toEqual(['replay-limit', 'unparseable']);
      const garbage = byCode.unparseable as (typeof parkedMessages)[number];
      expect(garbage.Body).toBe('garbage, not a dead letter');
      expect(attr(garbage, 'reason')).toBe('not JSON');
      expect(attr(garbage, 'source')).toBe('ingest');
      const spent = byCode['replay-limit'] as (typeof parkedMessages)[number];
      expect(attr(spent, 'replays')).toBe('3');
      expect(attr(spent, 'reason')).toMatch(/^replayed 3 times and failed again/);
      // the dead letter as it last arrived: the function's failure record, with the refused envelope
      expect(JSON.parse(spent.Body ?? '{}')).toMatchObject({
        requestContext: { condition: 'RetriesExhausted' },
        requestPayload: poison.requestPayload,
        responsePayload: { errorMessage: 'ingest event is not an IngestEnvelope' },
      });
      expect(await depth(dlq)).toBe(0);
      client.destroy();

      // an operator reads the parked queue and discards the garbage (npm run replay-dead-letters -- --parked …)
      const cli = (args: string[]) =>
        promisify(execFile)(
          process.execPath,
          ['--import', 'tsx', 'scripts/replay-dead-letters.ts', ...args, '--data-dir', dataDir],
          {
            env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          },
        );
      // one pass lists every parked message with its reason, and deletes the one named
      const { stdout } = await cli(['--parked', '--discard', garbage.MessageId as string]);
      expect(stdout).toContain(`${garbage.MessageId}  parked`);
      expect(stdout).toContain('from ingest: unparseable (not JSON), replays 0');
      expect(stdout).toContain(`${spent.MessageId}  parked`);
      expect(stdout).toContain('replay-limit (replayed 3 times');
      expect(stdout).toContain(`${garbage.MessageId}  discarded`);
      await depthIs(parked, 1, 'one parked message left');
    });
  });

  it('verifies the archive across its sealed batches and the table, and reports exactly the seq of a changed record', async () => {
    const ok = await get(`/devices/${WWTP}/archive/verify?from=${today}&to=${today}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, breaks: [] });
    const all = await records(WWTP);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const victim = all[1] as { key: string; rec: Rec };
    // a record item changed in the table (the unsealed tail)
    const db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)));
    const itemKey = { pk: `a#${WWTP}`, sk: String(victim.rec.seq).padStart(12, '0') };
    const setRaw = (raw: Uint8Array) =>
      db.send(
        new UpdateCommand({
          TableName: readingsTable(),
          Key: itemKey,
          UpdateExpression: 'SET #raw = :r',
          ExpressionAttributeNames: { '#raw': 'raw' },
          ExpressionAttributeValues: { ':r': raw },
        }),
      );
    await setRaw(Buffer.from('##0000tampered'));
    const badItem = await get(`/devices/${WWTP}/archive/verify?from=${today}&to=${today}`);
    expect((badItem.body.breaks as { kind: string; seq: number }[]).map((b) => [b.kind, b.seq])).toEqual([
      ['changed', victim.rec.seq],
    ]);
    await setRaw(Buffer.from(victim.rec.rawBase64, 'base64'));
    db.destroy();

    // the sealing job, as if run two hours on: every record so far in one object per hour in the bucket, then the
    // table and the bucket verify as one chain, and the same run again writes nothing
    const sealer = platform.spec.functions.find((f) => f.path.includes('ArchiveSealer')) as { arn: string };
    const time = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const run = (await platform.runtime.invoke(sealer.arn, { time })) as { batches: number; problems: string[] };
    expect(run.batches).toBeGreaterThanOrEqual(1);
    expect(run.problems).toEqual([]);
    expect(await platform.runtime.invoke(sealer.arn, { time })).toMatchObject({ batches: 0 });
    const sealed = await get(`/devices/${WWTP}/archive/verify?from=${today}&to=${today}`);
    expect(sealed.body).toMatchObject({ ok: true, tail: 0 });
    expect(sealed.body.sealed).toBe(sealed.body.records);

    // a line of a sealed batch overwritten in s3rver
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `raw/${WWTP}/` }));
    const batches = (listed.Contents ?? []).map((o) => o.Key as string).filter((k) => k.endsWith('.jsonl'));
    let found: { key: string; lines: string[]; at: number } | undefined;
    for (const key of batches) {
      const text = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString();
      const lines = (text ?? '').trimEnd().split('\n');
      const at = lines.findIndex((l) => (JSON.parse(l) as Rec).seq === victim.rec.seq);
      if (at >= 0) found = { key, lines, at };
    }
    expect(found).toBeDefined();
    const { key, lines, at } = found as { key: string; lines: string[]; at: number };
    const rec = {
      ...(JSON.parse(lines[at] as string) as Rec),
      rawBase64: Buffer.from('##0000tampered').toString('base64'),
    };
    lines[at] = JSON.stringify(rec);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${lines.join('\n')}\n` }));
    const bad = await get(`/devices/${WWTP}/archive/verify?from=${today}&to=${today}`);
    expect(bad.body.ok).toBe(false);
    const breaks = bad.body.breaks as { kind: string; seq: number }[];
    expect(breaks.map((b) => [b.kind, b.seq])).toEqual([['changed', rec.seq]]);
    // the same through the command line: npm run verify-archive -- --mn … --from … --to …
    const cli = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/verify-archive.ts',
        '--mn',
        WWTP,
        '--from',
        today,
        '--to',
        today,
        '--data-dir',
        dataDir,
      ],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    ).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
    );
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`hash mismatch at seq ${rec.seq}`);
  });
  it('sends a 3022 to a TCP device through the gateway task holding its connection and records its 9011 / 9012', async () => {
    const pencil = '33112600000000000000PA01';
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    const duty = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'duty-7', roles: ['duty_officer'], townships: ['*'] },
      600,
    );
    const api = async (method: string, path: string, body?: unknown, bearer = duty) => {
      const res = await fetch(`${platform.endpoints.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    // the device logs in by sending data; the gateway then holds it
    const url = new URL(platform.endpoints.hj212 as string);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('utf8');
    });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const frame = (cn: string, qn: string, cp: string, flag: number) =>
      encodePacket({ qn, st: cn.startsWith('90') ? '91' : '31', cn, pw: '123456', mn: pencil, flag, cp });
    socket.write(
      frame('2011', isoToBeijing(new Date(), true), `DataTime=${isoToBeijing(hour)};a24088-Rtd=12.5,a24088-Flag=N`, 5),
    );
    await eventually(async () => (received.includes('CN=9014') ? true : undefined), 15_000, 'the 9014');

    // an analyst may read commands but not send them
    expect((await api('POST', `/devices/${pencil}/commands`, { cn: '3022', polId: 'a24088' }, token)).status).toBe(403);
    const sent = await api('POST', `/devices/${pencil}/commands`, { cn: '3022', polId: 'a24088' });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ cn: '3022', route: 'tcp', status: 'sent', requestedBy: 'duty-7' });
    const qn = String(sent.body.qn);
    const command = await eventually(
      async () => received.split('\r\n').find((l) => l.includes('CN=3022')),
      15_000,
      'the 3022 on the device connection',
    );
    expect(command).toContain(`QN=${qn};ST=31;CN=3022;PW=123456;MN=${pencil};Flag=9;CP=&&PolId=a24088&&`);

    socket.write(frame('9011', qn, 'QnRtn=1', 8));
    socket.write(frame('9012', qn, 'ExeRtn=1', 8));
    const done = await eventually(
      async () => {
        const c = await api('GET', `/devices/${pencil}/commands/${qn}`, undefined, token);
        // the two answers may be ingested in either order (two invocations): wait for both
        return c.body.status === 'executed' && (c.body.answers as unknown[]).length === 2 ? c.body : undefined;
      },
      15_000,
      'the command executed with both answers',
    );
    expect((done.answers as { cn: string; code: number }[]).map((a) => [a.cn, a.code]).sort()).toEqual([
      ['9011', 1],
      ['9012', 1],
    ]);
    const list = await api('GET', `/devices/${pencil}/commands`, undefined, token);
    expect((list.body.items as { qn: string }[])[0]?.qn).toBe(qn);
    socket.end();
  });
});
