import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodePacket } from '#shared/domain/hj212/codec.ts';

expect.extend(allCustomMatcher);

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
let handler: (
  event: unknown,
) => Promise<{ accepted: boolean; reason?: string; seq: number; stored: number; duplicates: number; chain: string }[]>;

const MN = '33112600000000000000AB01';
const device = {
  pk: `devices#${MN}`,
  sk: '#',
  mn: MN,
  enterpriseId: '91331126MA2BX9K3XY',
  outletId: '91331126MA2BX9K3XY-DW001',
  status: 'active',
  st: '32',
  protocol: 'hj212-2017',
  pollutants: ['w01018', 'w21003'],
  intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
  version: 1,
  createdAt: 'x',
  updatedAt: 'x',
};
const ENTERPRISE = device.enterpriseId;
const outlet = {
  pk: `outlets#${device.outletId}`,
  sk: '#',
  id: device.outletId,
  enterpriseId: ENTERPRISE,
  code: 'DW001',
  name: '污水总排口',
  medium: 'water',
  location: { lat: 27.6, lng: 119.06 },
  limits: [],
  version: 1,
};
const enterprise = {
  pk: `enterprises#${ENTERPRISE}`,
  sk: '#',
  id: ENTERPRISE,
  name: '庆元县城污水处理厂',
  townshipId: 'songyuan',
  industry: 'wastewater_treatment',
  version: 1,
};
/** The registry as the ingest function reads it: the alarm engine's by-kind snapshot, and single items on a miss. */
const registryItems: Record<string, Record<string, unknown>[]> = {
  devices: [device],
  outlets: [outlet],
  enterprises: [enterprise],
};
const frame = encodePacket({
  qn: '20261129160000000',
  st: '32',
  cn: '2061',
  pw: '123456',
  mn: MN,
  flag: 4,
  cp: 'DataTime=20261129150000;w01018-Avg=50,w01018-Flag=N;w21003-Avg=8.2,w21003-Flag=N',
});
const envelope = (raw: string, extra: Record<string, unknown> = {}) => ({
  raw: Buffer.from(raw).toString('base64'),
  mn: MN,
  receivedAt: 1_795_939_205_000,
  clientId: MN,
  source: 'mqtt-hj212',
  ...extra,
});

describe('ingest handler', () => {
  beforeAll(async () => {
    vi.stubEnv('READINGS_TABLE', 'readings-test');
    vi.stubEnv('REGISTRY_TABLE', 'registry-test');
    vi.stubEnv('EVIDENCE_BUCKET', 'evidence-test');
    // one invocation per message: the function also evaluates the alarm rules (shared/wiring/ingest.ts)
    vi.stubEnv('ALARMS_TABLE', 'alarms-test');
    vi.stubEnv('BUREAU_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:bureau');
    vi.stubEnv('REGULATOR_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:regulator');
    vi.stubEnv('ENTERPRISE_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:enterprise');
    vi.stubEnv('SMS_GATEWAY', 'sns');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('LOG_LEVEL', 'error');
    ({ handler } = (await import('#functions/ingest/handler.ts')) as unknown as { handler: typeof handler });
  });
  afterAll(() => vi.unstubAllEnvs());
  beforeEach(() => {
    ddb.reset();
    s3.reset();
    ddb.on(GetCommand, { TableName: 'registry-test' }).callsFake((input: { Key: { pk: string } }) => ({
      Item: Object.values(registryItems)
        .flat()
        .find((i) => i.pk === input.Key.pk),
    }));
    ddb.on(GetCommand, { TableName: 'readings-test' }).resolves({});
    ddb.on(GetCommand, { TableName: 'alarms-test' }).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb
      .on(QueryCommand, { TableName: 'registry-test' })
      .callsFake((input: { ExpressionAttributeValues?: Record<string, string> }) => ({
        Items: registryItems[input.ExpressionAttributeValues?.[':k'] ?? ''] ?? [],
      }));
    s3.on(PutObjectCommand).resolves({});
  });

  it("archives, stores the message's readings as one row without TTL for hourly data, and updates the device state", async () => {
    const [out] = await handler(envelope(frame, { receivedAt: 1_795_939_205_001 }));
    expect(out).toMatchObject({ accepted: true, stored: 2, duplicates: 0, chain: MN });
    const rows = ddb
      .commandCalls(UpdateCommand)
      .filter((c) => String(c.args[0].input.Key?.pk).startsWith('rd#'))
      .map((c) => c.args[0].input);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      TableName: 'readings-test',
      Key: { pk: `rd#${MN}#hour`, sk: '2026-11-29T07:00:00.000Z' },
      ReturnValues: 'UPDATED_OLD',
    });
    expect(Object.values(rows[0]?.ExpressionAttributeNames ?? {})).toEqual(
      expect.arrayContaining(['p_w01018', 'p_w21003']),
    );
    expect(rows[0]?.UpdateExpression).not.toContain('expiresAt');
    // the archive record: one conditional put (the claim of seq 1), the exact bytes as Binary, no S3 PUT per message
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'readings-test',
      Item: expect.objectContaining({ pk: `a#${MN}`, sk: '000000000001', raw: Buffer.from(frame), ok: true }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `d#${MN}`, sk: 'state#hour' },
      ConditionExpression: 'attribute_not_exists(lastDataTime) OR lastDataTime <= :t',
    });
  });

  it('counts readings already stored as duplicates, not errors, and needs no read for the next message', async () => {
    // the row holds both codes already: UPDATED_OLD returns them
    ddb
      .on(UpdateCommand)
      .callsFake((input: { Key: { pk: string } }) =>
        input.Key.pk.startsWith('rd#') ? { Attributes: { p_w01018: { values: { avg: 50 } }, p_w21003: {} } } : {},
      );
    const [out] = await handler(envelope(frame, { receivedAt: 1_795_939_205_002 }));
    expect(out).toMatchObject({ accepted: true, stored: 0, duplicates: 2 });
    expect(ddb.commandCalls(GetCommand).filter((c) => c.args[0].input.TableName === 'readings-test')).toHaveLength(0);
  });

  it('archives a packet whose MN differs from the topic as rejected, and stores no reading', async () => {
    const [out] = await handler(envelope(frame, { mn: '33112600000000000000BW01', receivedAt: 1_795_939_205_003 }));
    expect(out).toMatchObject({ accepted: false, reason: 'mn-mismatch' });
    expect(
      ddb.commandCalls(UpdateCommand).filter((c) => String(c.args[0].input.Key?.pk).startsWith('rd#')),
    ).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand).filter((c) => String(c.args[0].input.Item?.pk).startsWith('a#'))).toHaveLength(
      1,
    );
  });

  it('archives garbage and an unknown MN in the _unknown chain', async () => {
    ddb.on(GetCommand, { TableName: 'registry-test' }).resolves({});
    const [garbage, unknown] = await handler([
      envelope('not a frame', { mn: 'ZZ', receivedAt: 1_795_939_205_004 }),
      envelope(
        encodePacket({
          st: '32',
          cn: '2061',
          mn: '33112600000000000000ZZ99',
          flag: 4,
          qn: '20261129160000000',
          cp: 'DataTime=20261129150000;w01018-Avg=1',
        }),
        { mn: '33112600000000000000ZZ99', receivedAt: 1_795_939_205_005 },
      ),
    ]);
    expect(garbage).toMatchObject({ accepted: false, reason: 'bad-frame', chain: '_unknown' });
    expect(unknown).toMatchObject({ accepted: false, reason: 'unknown-mn', chain: '_unknown' });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ pk: 'a#_unknown' }) });
  });

  it('keeps the verdict of the TCP gateway', async () => {
    const [out] = await handler(
      envelope(frame, {
        source: 'tcp-gateway',
        accepted: false,
        reason: 'auth-failed',
        clientId: 'conn-1',
        receivedAt: '2026-11-29T08:00:00.000Z',
      }),
    );
    expect(out).toMatchObject({ accepted: false, reason: 'auth-failed', chain: MN });
  });

  it('writes one EnvWatch/Ingest EMF line per message, by source and outcome', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let written: unknown[][] = [];
    try {
      await handler(envelope(frame, { receivedAt: 1_795_939_205_100 }));
      await handler(envelope('##garbage', { mn: 'NOPE', receivedAt: 1_795_939_205_200 }));
      written = [...out.mock.calls];
    } finally {
      out.mockRestore();
    }
    const emf = written
      .map(([chunk]) => JSON.parse(String(chunk)) as Record<string, unknown> & { _aws?: unknown })
      .filter((line) => line._aws);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'EnvWatch/Ingest',
            Dimensions: [['source', 'outcome']],
            Metrics: [
              { Name: 'Messages', Unit: 'Count' },
              { Name: 'ReadingsStored', Unit: 'Count' },
              { Name: 'ReadingDuplicates', Unit: 'Count' },
            ],
          },
        ],
      },
      source: 'mqtt-hj212',
      outcome: 'accepted',
      Messages: 1,
      ReadingsStored: 2,
      ReadingDuplicates: 0,
    });
    expect(emf[1]).toMatchObject({ source: 'mqtt-hj212', Messages: 1, ReadingsStored: 0 });
    expect(emf[1]?.outcome).not.toBe('accepted');
  });

  it('fails on an event that is not an envelope, so it goes to the retry and dead-letter path', async () => {
    await expect(handler({ hello: 'world' })).rejects.toThrow(/not an IngestEnvelope/);
  });
});
