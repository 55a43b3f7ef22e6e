import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '#infra/local/ports.ts';
import { type DynamoDbService, ensureTables, startDynamoDb } from '#infra/local/services/dynamodb.ts';
import type { TableSpec } from '#infra/local/spec.ts';

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

const tips: TableSpec = {
  id: 'Data/TipsTable',
  tableName: 'envwatch-tips',
  arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/envwatch-tips',
  keySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  attributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'status', AttributeType: 'S' },
    { AttributeName: 'receipt', AttributeType: 'S' },
  ],
  globalSecondaryIndexes: [
    {
      IndexName: 'byStatus',
      KeySchema: [
        { AttributeName: 'status', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  ttlAttribute: 'expiresAt',
  streamViewType: 'NEW_AND_OLD_IMAGES',
};

describe('dynamodb', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envwatch-ddb-'));
  const log: string[] = [];
  let service: DynamoDbService | undefined;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    service = await startDynamoDb({ host: '127.0.0.1', port, dataDir, log: (l) => log.push(l) });
  });

  afterAll(async () => {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates tables with GSIs, TTL and streams when they are missing', async () => {
    const endpoint = service?.endpoint ?? '';
    await ensureTables(endpoint, [tips]);
    const ddb = client(endpoint);
    const table = (await ddb.send(new DescribeTableCommand({ TableName: tips.tableName }))).Table;
    expect(table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byStatus']);
    expect(table?.StreamSpecification).toMatchObject({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: tips.tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
    ddb.destroy();
  });

  it('is idempotent and only adds missing GSIs when the table exists', async () => {
    const endpoint = service?.endpoint ?? '';
    const ddb = client(endpoint);
    await ddb.send(new PutItemCommand({ TableName: tips.tableName, Item: { pk: { S: 'T#1' }, sk: { S: 'A' } } }));
    await ensureTables(endpoint, [tips]);
    const withReceiptIndex: TableSpec = {
      ...tips,
      globalSecondaryIndexes: [
        ...tips.globalSecondaryIndexes,
        {
          IndexName: 'byReceipt',
          KeySchema: [{ AttributeName: 'receipt', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    };
    await ensureTables(endpoint, [withReceiptIndex]);
    const table = (await ddb.send(new DescribeTableCommand({ TableName: tips.tableName }))).Table;
    expect(table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['byReceipt', 'byStatus']);
    const item = await ddb.send(
      new GetItemCommand({ TableName: tips.tableName, Key: { pk: { S: 'T#1' }, sk: { S: 'A' } } }),
    );
    expect(item.Item?.pk?.S).toBe('T#1');
    // the table takes writes that fill the new index, and the index answers (DynamoDB Local's in-place UpdateTable
    // left the table unwritable, so the table is rebuilt)
    await ddb.send(
      new PutItemCommand({
        TableName: tips.tableName,
        Item: { pk: { S: 'T#2' }, sk: { S: 'A' }, receipt: { S: 'R-2' }, status: { S: 'received' } },
      }),
    );
    const byReceipt = await ddb.send(
      new QueryCommand({
        TableName: tips.tableName,
        IndexName: 'byReceipt',
        KeyConditionExpression: 'receipt = :r',
        ExpressionAttributeValues: { ':r': { S: 'R-2' } },
      }),
    );
    expect(byReceipt.Items?.map((i) => i.pk?.S)).toEqual(['T#2']);
    ddb.destroy();
  });

  it('rejects with the busy port when the port is already in use', async () => {
    await expect(startDynamoDb({ host: '127.0.0.1', port, dataDir })).rejects.toThrow(String(port));
  });

  it('tells how to install Java 17 when java is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dataDir, 'no-such-bin');
    try {
      await expect(startDynamoDb({ port: await freePort(), dataDir })).rejects.toThrow(
        /Java 17.*openjdk-17-jre-headless/,
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('keeps items when it is restarted on the same data dir', async () => {
    await service?.stop();
    service = await startDynamoDb({ host: '127.0.0.1', port, dataDir });
    const ddb = client(service.endpoint);
    const item = await ddb.send(
      new GetItemCommand({ TableName: tips.tableName, Key: { pk: { S: 'T#1' }, sk: { S: 'A' } } }),
    );
    expect(item.Item?.pk?.S).toBe('T#1');
    ddb.destroy();
  });

  it('releases the port when it is stopped', async () => {
    await service?.stop();
    service = undefined;
    await new Promise<void>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
    expect(log.some((l) => l.includes('ready on'))).toBe(true);
  });
});
