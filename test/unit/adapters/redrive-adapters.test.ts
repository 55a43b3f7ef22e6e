import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { parkedAttributes, SqsDeadLetterQueue, SqsParkedQueue } from '#shared/adapters/dead-letter-queues.ts';
import { bucketProbe, tableProbe } from '#shared/adapters/dependency-probes.ts';
import { DynamoRedriveLedger } from '#shared/adapters/redrive-ledger.ts';
import { iotReplayPublisher } from '#shared/adapters/replay-publisher.ts';

expect.extend(allCustomMatcher);

const local = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const sqs = new SQSClient(local);
const sqsMock = mockClient(sqs);
const db = DynamoDBDocumentClient.from(new DynamoDBClient(local));
const ddb = mockClient(db);
const s3 = new S3Client(local);
const s3Mock = mockClient(s3);
const iot = new IoTDataPlaneClient(local);
const iotMock = mockClient(iot);

const DLQ = 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/EnvWatch-dev-Ingest-IngestDeadLetters';
const PARKED = 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/EnvWatch-dev-Ingest-RedriveParked';
const AT = new Date('2026-03-02T08:00:00Z');

beforeEach(() => {
  sqsMock.reset();
  ddb.reset();
  s3Mock.reset();
  iotMock.reset();
});

describe('SqsDeadLetterQueue', () => {
  const queue = new SqsDeadLetterQueue(sqs, DLQ, 300);

  it('reads the depth from ApproximateNumberOfMessages', async () => {
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '7' } });
    expect(await queue.depth()).toBe(7);
    expect(sqsMock).toHaveReceivedCommandWith(GetQueueAttributesCommand, {
      QueueUrl: DLQ,
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
  });

  it('receives at most 10, hidden for the visibility timeout, with their attributes', async () => {
    sqsMock.on(ReceiveMessageCommand).resolves({
      Messages: [
        {
          MessageId: 'a',
          ReceiptHandle: 'ha',
          Body: '{}',
          MessageAttributes: { reason: { DataType: 'String', StringValue: 'x' } },
        },
        { MessageId: 'b', Body: 'no handle: cannot be deleted, skipped' },
      ],
    });
    expect(await queue.receive(25)).toEqual([{ messageId: 'a', body: '{}', handle: 'ha' }]);
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: DLQ,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 300,
      WaitTimeSeconds: 1,
    });
    expect((await queue.receiveWithAttributes(3))[0]?.attributes).toEqual({ reason: 'x' });
  });

  it('deletes by receipt handle and releases in batches of ten with visibility 0', async () => {
    sqsMock.on(DeleteMessageCommand).resolves({});
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    await queue.remove({ messageId: 'a', body: '', handle: 'ha' });
    expect(sqsMock).toHaveReceivedCommandWith(DeleteMessageCommand, { QueueUrl: DLQ, ReceiptHandle: 'ha' });
    const many = Array.from({ length: 12 }, (_, i) => ({ messageId: `m${i}`, body: '', handle: `h${i}` }));
    await queue.release(many);
    expect(sqsMock).toHaveReceivedCommandTimes(ChangeMessageVisibilityBatchCommand, 2);
    expect(sqsMock).toHaveReceivedNthCommandWith(ChangeMessageVisibilityBatchCommand, 2, {
      Entries: [
        { Id: '0', ReceiptHandle: 'h10', VisibilityTimeout: 0 },
        { Id: '1', ReceiptHandle: 'h11', VisibilityTimeout: 0 },
      ],
    });
  });

  it('fails a release that SQS partly refused', async () => {
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({
      Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
    });
    await expect(queue.release([{ messageId: 'a', body: '', handle: 'stale' }])).rejects.toThrow(
      'could not be released',
    );
  });
});

describe('SqsParkedQueue', () => {
  it('keeps the original body and puts the reason, source and count in message attributes', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'p1' });
    await new SqsParkedQueue(sqs, PARKED).park(
      { messageId: 'orig-1', body: 'not json', handle: 'h' },
      {
        source: 'ingest',
        reason: { code: 'unparseable', detail: 'not JSON' },
        replays: 0,
        at: AT.toISOString(),
      },
    );
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: PARKED,
      MessageBody: 'not json',
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: 'not JSON' },
        reasonCode: { DataType: 'String', StringValue: 'unparseable' },
        source: { DataType: 'String', StringValue: 'ingest' },
        replays: { DataType: 'Number', StringValue: '0' },
        parkedAt: { DataType: 'String', StringValue: AT.toISOString() },
        originalMessageId: { DataType: 'String', StringValue: 'orig-1' },
      },
    });
  });

  it('reads the attributes back, ignoring values it does not know', () => {
    expect(
      parkedAttributes({ source: 'ingest', reasonCode: 'replay-limit', replays: '3', reason: 'r', other: 'x' }),
    ).toEqual({ source: 'ingest', reasonCode: 'replay-limit', replays: 3, reason: 'r' });
    expect(parkedAttributes({ source: 'elsewhere', reasonCode: 'made-up' })).toEqual({});
  });
});

describe('iotReplayPublisher', () => {
  it('publishes the payload bytes to the topic with QoS 1', async () => {
    iotMock.on(PublishCommand).resolves({});
    await iotReplayPublisher(iot).publish('envwatch/replay/ingest', Buffer.from('{"a":1}'));
    expect(iotMock).toHaveReceivedCommandWith(PublishCommand, {
      topic: 'envwatch/replay/ingest',
      qos: 1,
      payload: Buffer.from('{"a":1}'),
    });
  });
});

describe('dependency probes', () => {
  it('probe a table with one read of a key that never exists, and a bucket with a listing of an empty folder under the prefix', async () => {
    ddb.on(GetCommand).resolves({});
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    await tableProbe(db, 'readings').check();
    await bucketProbe(s3, 'evidence', 'raw/').check();
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'readings',
      Key: { pk: 'probe#redrive', sk: 'probe' },
    });
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'evidence',
      Prefix: 'raw/.probe/',
      MaxKeys: 1,
    });
  });

  it('fail when the dependency answers with an error', async () => {
    s3Mock.on(ListObjectsV2Command).rejects(Object.assign(new Error('bucket gone'), { name: 'NoSuchBucket' }));
    const probe = bucketProbe(s3, 'evidence', 'raw/');
    expect(probe.name).toBe('bucket evidence/raw/');
    await expect(probe.check()).rejects.toThrow('bucket gone');
  });
});

describe('DynamoRedriveLedger', () => {
  const ledger = new DynamoRedriveLedger(db, 'alarms', 15);

  it('reads both sources’ backoff states in one consistent batch read', async () => {
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        alarms: [
          {
            pk: 'redrive#state#ingest',
            sk: 'state',
            failures: 2,
            nextAttemptAt: '2026-03-02T08:15:00.000Z',
            failing: ['bucket evidence/raw/'],
          },
        ],
      },
    });
    expect(await ledger.states()).toEqual({
      ingest: { failures: 2, nextAttemptAt: '2026-03-02T08:15:00.000Z', failing: ['bucket evidence/raw/'] },
    });
    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        alarms: {
          Keys: [
            { pk: 'redrive#state#ingest', sk: 'state' },
            { pk: 'redrive#state#alarms', sk: 'state' },
          ],
          ConsistentRead: true,
        },
      },
    });
  });

  it('stores a state as one item per source', async () => {
    ddb.on(PutCommand).resolves({});
    await ledger.saveState('alarms', { failures: 0 });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'alarms',
      Item: { pk: 'redrive#state#alarms', sk: 'state', kind: 'redrive-state', failures: 0 },
    });
  });

  it('counts replays per payload key, asking again for unprocessed keys', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { alarms: [{ pk: 'redrive#replay#k1', sk: 'replay', replays: 2 }] },
        UnprocessedKeys: { alarms: { Keys: [{ pk: 'redrive#replay#k2', sk: 'replay' }] } },
      })
      .resolvesOnce({ Responses: { alarms: [] } });
    expect(await ledger.replays(['k1', 'k2'])).toEqual(new Map([['k1', 2]]));
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 2);
  });

  it('records a replay with an atomic ADD and a TTL ledgerDays after it', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { replays: 3 } });
    expect(await ledger.recordReplay('k1', AT)).toBe(3);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'alarms',
      Key: { pk: 'redrive#replay#k1', sk: 'replay' },
      UpdateExpression:
        'ADD replays :one SET firstAt = if_not_exists(firstAt, :at), lastAt = :at, expiresAt = :exp, kind = :kind',
      ExpressionAttributeValues: {
        ':one': 1,
        ':at': AT.toISOString(),
        ':exp': AT.getTime() / 1000 + 15 * 86_400,
        ':kind': 'redrive-replay',
      },
    });
  });
});
