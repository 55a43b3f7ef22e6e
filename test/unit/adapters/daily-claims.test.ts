import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDailyClaims } from '#shared/adapters/daily-claims.ts';
import { topicPublisher } from '#shared/adapters/topic-publisher.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
const sns = new SNSClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const snsMock = mockClient(sns);
const claims = new DynamoDailyClaims(db, 'alarms');
const AT = new Date('2026-11-01T01:00:00Z');

beforeEach(() => {
  ddb.reset();
  snsMock.reset();
});

describe('DynamoDailyClaims', () => {
  it('claims a key with one conditional put that expires after 40 days', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await claims.claim('calendar#2026-11-01', AT)).toBe(true);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'alarms',
      Item: {
        pk: 'once#calendar#2026-11-01',
        sk: 'once',
        kind: 'once',
        at: AT.toISOString(),
        expiresAt: AT.getTime() / 1000 + 40 * 86_400,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('answers false when the key was claimed already, and lets other failures through', async () => {
    ddb.on(PutCommand).rejectsOnce(new ConditionalCheckFailedException({ message: 'taken', $metadata: {} }));
    expect(await claims.claim('calendar#2026-11-01', AT)).toBe(false);
    ddb.on(PutCommand).rejects(new Error('throttled'));
    await expect(claims.claim('calendar#2026-11-01', AT)).rejects.toThrow('throttled');
  });

  it('gives a key back by deleting its item', async () => {
    ddb.on(DeleteCommand).resolves({});
    await claims.release('calendar#2026-11-01');
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'alarms',
      Key: { pk: 'once#calendar#2026-11-01', sk: 'once' },
    });
  });
});

describe('topicPublisher', () => {
  it('publishes the Chinese text with the subject and string attributes', async () => {
    snsMock.on(PublishCommand).resolves({});
    await topicPublisher(sns, 'arn:ops')({ subject: 'S', textZh: '文本', attributes: { kind: 'calendar_missing' } });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:ops',
      Subject: 'S',
      Message: '文本',
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'calendar_missing' } },
    });
  });
});
