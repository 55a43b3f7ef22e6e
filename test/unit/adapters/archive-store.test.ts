import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore, fromItem, toItem } from '#shared/adapters/archive-store.ts';
import { buildRecord, GENESIS } from '#shared/domain/archive/record.ts';
import { encodePacket } from '#shared/domain/hj212/codec.ts';

expect.extend(allCustomMatcher);

const local = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const db = DynamoDBDocumentClient.from(new DynamoDBClient(local));
const ddb = mockClient(db);
const s3 = new S3Client(local);
const s3Mock = mockClient(s3);
const MN = '33112600000000000000AB01';

/** a typical message: an HJ 212 real-time packet of six pollutants */
const packet = encodePacket({
  qn: '20261129160000001',
  st: '32',
  cn: '2011',
  pw: '123456',
  mn: MN,
  flag: 4,
  cp: 'DataTime=20261129160000;w01018-Rtd=50.2,w01018-Flag=N;w21003-Rtd=8.21,w21003-Flag=N;w01001-Rtd=7.31,w01001-Flag=N;w00000-Rtd=12.5,w00000-Flag=N;w21011-Rtd=0.41,w21011-Flag=N;w21001-Rtd=12.9,w21001-Flag=N',
});
const record = buildRecord(
  MN,
  {
    mn: MN,
    receivedAt: '2026-11-29T08:00:00.123Z',
    source: 'mqtt-hj212',
    clientId: MN,
    accepted: true,
    raw: Buffer.from(packet),
  },
  GENESIS,
);

/** DynamoDB's item size: attribute names and values (UTF-8 strings, binary bytes, numbers ~ digits/2 + 1) */
function itemBytes(item: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    n += Buffer.byteLength(k);
    if (typeof v === 'string') n += Buffer.byteLength(v);
    else if (v instanceof Uint8Array) n += v.byteLength;
    else if (typeof v === 'number') n += Math.ceil(String(v).length / 2) + 1;
    else n += 1;
  }
  return n;
}

beforeEach(() => {
  ddb.reset();
  s3Mock.reset();
});

describe('DynamoArchiveStore', () => {
  const store = new DynamoArchiveStore(db, 'readings', { tailDays: 7 });

  it('stores a typical message as one item under 1 KB, the raw bytes and hashes as binary, and reads it back whole', () => {
    const item = toItem(record, 'k1', 1);
    expect(packet.length).toBeGreaterThan(300);
    expect(itemBytes(item)).toBeLessThan(1024);
    expect(item.raw).toEqual(Buffer.from(packet));
    expect((item.h as Buffer).byteLength).toBe(32);
    // through DynamoDB's wire form and back
    expect(fromItem(unmarshall(marshall(item)))).toEqual({ record, k: 'k1' });
  });

  it('claims a seq with one conditional put that expires tailDays after receipt, and says when it is taken', async () => {
    ddb
      .on(PutCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    expect(await store.putNew(record, 'k1')).toBe(true);
    expect(await store.putNew(record, 'k1')).toBe(false);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'readings',
      Item: expect.objectContaining({
        pk: `a#${MN}`,
        sk: '000000000001',
        expiresAt: Math.floor(Date.parse(record.receivedAt) / 1000) + 7 * 86_400,
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('reads the head in one consistent query, newest first, from the seal mark down to the seq range', async () => {
    const mark = { seq: 7, hash: 'ab'.repeat(32), lastDate: '2026-11-29', key: 'raw/x.jsonl' };
    ddb.on(QueryCommand).resolves({ Items: [{ pk: `a#${MN}`, sk: 'sealed', ...mark }, toItem(record, 'k1', 1)] });
    expect(await store.head(MN, 24)).toEqual({ newest: [{ seq: 1, hash: record.hash, k: 'k1' }], sealed: mark });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':pk': `a#${MN}`, ':lo': '000000000000', ':hi': 'sealed' },
      ProjectionExpression: 'sk, h, k, #seq, #hash, lastDate, #key',
      ScanIndexForward: false,
      Limit: 25,
      ConsistentRead: true,
    });
  });

  it('gives at most `limit` records and no seal mark when the chain has none', async () => {
    const items = [3, 2, 1].map((seq) => {
      const { raw: _raw, ...projected } = toItem({ ...record, seq }, `k${seq}`, 1);
      return projected;
    });
    ddb.on(QueryCommand).resolves({ Items: items });
    const head = await store.head(MN, 2);
    expect(head.newest.map((s) => s.seq)).toEqual([3, 2]);
    expect(head).not.toHaveProperty('sealed');
  });
});

describe('S3ArchiveObjects.putIfAbsent', () => {
  const objects = new S3ArchiveObjects(s3, 'evidence');
  const notFound = new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } });

  it('writes a batch once with If-None-Match, and never over an object that is there', async () => {
    s3Mock.on(HeadObjectCommand).rejectsOnce(notFound).resolvesOnce({});
    s3Mock.on(PutObjectCommand).resolves({});
    expect(await objects.putIfAbsent('raw/X/2026-11-29/000000000001-h16.jsonl', 'a\n')).toBe(true);
    expect(await objects.putIfAbsent('raw/X/2026-11-29/000000000001-h16.jsonl', 'b\n')).toBe(false);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { IfNoneMatch: '*', Body: 'a\n' });
  });

  it('takes a lost race (412 Precondition Failed) as the object being there', async () => {
    s3Mock.on(HeadObjectCommand).rejects(notFound);
    s3Mock
      .on(PutObjectCommand)
      .rejects(
        new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 } }),
      );
    expect(await objects.putIfAbsent('raw/X/2026-11-29/000000000001-h16.jsonl', 'a\n')).toBe(false);
  });
});
