import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  filterPolicyMatches,
  type MessagingService,
  type StartMessagingOptions,
  startMessaging,
} from '#infra/local/services/messaging.ts';
import type { QueueSpec } from '#infra/local/spec.ts';

const ACCOUNT = '000000000000';
const topicArn = `arn:aws:sns:us-east-1:${ACCOUNT}:envwatch-alarms`;
const queue = (name: string, extra: Partial<QueueSpec> = {}): QueueSpec => ({
  id: `Data/${name}`,
  queueName: name,
  arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
  ...extra,
});
const fn = (name: string): string => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;

const alarmQueue = queue('alarm-queue');
const okDlq = queue('ok-dlq');
const okQueue = queue('ok-queue', { deadLetterTargetArn: okDlq.arn, maxReceiveCount: 2, visibilityTimeoutSeconds: 1 });
const failDlq = queue('fail-dlq');
const failQueue = queue('fail-queue', {
  deadLetterTargetArn: failDlq.arn,
  maxReceiveCount: 2,
  visibilityTimeoutSeconds: 1,
});

interface Call {
  fn: string;
  event: unknown;
}

interface SqsRecordLike {
  messageId: string;
  body: string;
  eventSource: string;
}

function records(event: unknown): SqsRecordLike[] {
  return (event as { Records: SqsRecordLike[] }).Records;
}

describe('messaging', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envwatch-msg-'));
  const calls: Call[] = [];
  let service: MessagingService | undefined;
  let sns: SNSClient;
  let sqs: SQSClient;

  const options: StartMessagingOptions = {
    port: 0,
    dataDir,
    topics: [{ id: 'Data/Alarms', topicName: 'envwatch-alarms', arn: topicArn }],
    queues: [alarmQueue, okQueue, okDlq, failQueue, failDlq],
    subscriptions: [
      {
        topicArn,
        protocol: 'sqs',
        endpoint: alarmQueue.arn,
        filterPolicy: { severity: ['high'] },
        rawMessageDelivery: true,
      },
      { topicArn, protocol: 'lambda', endpoint: fn('notify'), filterPolicy: { severity: [{ prefix: 'hi' }] } },
      { topicArn, protocol: 'sms', endpoint: '+8613800000001', filterPolicy: { level: [{ numeric: ['>=', 3] }] } },
    ],
    eventSourceMappings: [
      { functionArn: fn('ok'), queueArn: okQueue.arn, batchSize: 10, reportBatchItemFailures: true },
      { functionArn: fn('throws'), queueArn: failQueue.arn, batchSize: 10, reportBatchItemFailures: false },
    ],
    invoke: async (ref, event) => {
      calls.push({ fn: ref, event });
      if (ref === fn('throws')) throw new Error('handler failed');
      if (ref === fn('ok')) {
        return {
          batchItemFailures: records(event)
            .filter((r) => r.body === 'bad')
            .map((r) => ({ itemIdentifier: r.messageId })),
        };
      }
      return undefined;
    },
  };

  const clients = (endpoint: string): void => {
    const config = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    sns = new SNSClient(config);
    sqs = new SQSClient(config);
  };

  beforeAll(async () => {
    service = await startMessaging(options);
    clients(service.endpoint);
  });

  afterAll(async () => {
    sns.destroy();
    sqs.destroy();
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records a topic publish and delivers it to the subscribed queue when the filter policy matches', async () => {
    const url = service?.queueUrl(alarmQueue.arn) ?? '';
    const attrs = (severity: string) => ({ severity: { DataType: 'String', StringValue: severity } });
    const high = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: '超标',
        Message: 'COD high',
        MessageAttributes: attrs('high'),
      }),
    );
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'COD low', MessageAttributes: attrs('low') }));

    const recorded = service?.listMessages({ topicArn }) ?? [];
    expect(recorded.map((m) => m.message)).toEqual(['COD high', 'COD low']);
    expect(recorded[0]).toMatchObject({ id: high.MessageId, subject: '超标', messageAttributes: attrs('high') });

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(received.Messages?.map((m) => m.Body)).toEqual(['COD high']);
  });

  it('invokes a lambda subscription with the SNS event shape when its filter policy matches', async () => {
    await vi.waitFor(() => expect(calls.filter((c) => c.fn === fn('notify'))).toHaveLength(1), { timeout: 5000 });
    const event = calls.find((c) => c.fn === fn('notify'))?.event;
    expect(event).toMatchObject({
      Records: [
        {
          EventSource: 'aws:sns',
          Sns: {
            Type: 'Notification',
            TopicArn: topicArn,
            Subject: '超标',
            Message: 'COD high',
            MessageAttributes: { severity: { Type: 'String', Value: 'high' } },
          },
        },
      ],
    });
  });

  it('captures a direct SMS publish and SMS subscribers of a topic without sending anything', async () => {
    const sent = await sns.send(
      new PublishCommand({ PhoneNumber: '+8613900000002', Message: '【EnvWatch】验证码 123456' }),
    );
    expect(sent.MessageId).toBeTruthy();
    expect(service?.listMessages({ phoneNumber: '+8613900000002' })).toMatchObject([
      { id: sent.MessageId, phoneNumber: '+8613900000002', message: '【EnvWatch】验证码 123456' },
    ]);

    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: 'level 4',
        MessageAttributes: { level: { DataType: 'Number', StringValue: '4' } },
      }),
    );
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: 'level 1',
        MessageAttributes: { level: { DataType: 'Number', StringValue: '1' } },
      }),
    );
    expect(service?.listMessages({ phoneNumber: '+8613800000001' }).map((m) => m.message)).toEqual(['level 4']);
  });

  it('records every entry of a PublishBatch and of an awsJson Publish', async () => {
    await sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: [
          { Id: 'a', Message: 'batch a' },
          { Id: 'b', Message: 'batch b' },
        ],
      }),
    );
    const response = await fetch(service?.endpoint ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSimpleNotificationService.Publish',
      },
      body: JSON.stringify({
        TopicArn: topicArn,
        Message: 'json high',
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'high' } },
      }),
    });
    expect(response.status).toBe(200);
    const { MessageId } = (await response.json()) as { MessageId: string };
    const last3 = service?.listMessages({ topicArn, limit: 3 }) ?? [];
    expect(last3.map((m) => m.message)).toEqual(['batch a', 'batch b', 'json high']);
    expect(last3[2]?.id).toBe(MessageId);
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: service?.queueUrl(alarmQueue.arn), MaxNumberOfMessages: 10 }),
    );
    expect(received.Messages?.map((m) => m.Body)).toEqual(['json high']);
  });

  it('runs an SQS mapping: deletes successes and redrives reported failures to the DLQ', async () => {
    const url = service?.queueUrl(okQueue.arn) ?? '';
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: '1', MessageBody: 'good' },
          { Id: '2', MessageBody: 'bad' },
        ],
      }),
    );
    const dlq = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: service?.queueUrl(okDlq.arn), WaitTimeSeconds: 15 }),
    );
    expect(dlq.Messages?.map((m) => m.Body)).toEqual(['bad']);
    const okCalls = calls.filter((c) => c.fn === fn('ok')).flatMap((c) => records(c.event));
    expect(okCalls.filter((r) => r.body === 'good')).toHaveLength(1);
    expect(okCalls.filter((r) => r.body === 'bad').length).toBeGreaterThanOrEqual(2);
    expect(okCalls[0]?.eventSource).toBe('aws:sqs');
    const left = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(left.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });

  it('moves a message to the DLQ when the mapped function keeps throwing', async () => {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: service?.queueUrl(failQueue.arn),
        Entries: [{ Id: '1', MessageBody: 'boom' }],
      }),
    );
    const dlq = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: service?.queueUrl(failDlq.arn), WaitTimeSeconds: 15 }),
    );
    expect(dlq.Messages?.map((m) => m.Body)).toEqual(['boom']);
    expect(calls.filter((c) => c.fn === fn('throws')).length).toBeGreaterThanOrEqual(2);
  });

  it('hands out queue URLs on its own endpoint that a handler-style client can use', async () => {
    const url = service?.queueUrl(alarmQueue.arn);
    expect(url).toBe(`${service?.endpoint}/${ACCOUNT}/alarm-queue`);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'alarm-queue' }))).QueueUrl).toBe(url);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SQS: service?.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const handlerClient = new SQSClient({});
    try {
      await handlerClient.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'from a handler' }));
    } finally {
      handlerClient.destroy();
      process.env = saved;
    }
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(received.Messages?.map((m) => m.Body)).toEqual(['from a handler']);
  });

  it('keeps the publish log when it is restarted on the same data dir', async () => {
    const before = service?.listMessages() ?? [];
    sns.destroy();
    sqs.destroy();
    await service?.stop();
    service = await startMessaging(options);
    clients(service.endpoint);
    expect(service.listMessages()).toEqual(before);
    expect(before.length).toBeGreaterThanOrEqual(7);
  });
});

describe('filterPolicyMatches', () => {
  const attrs = {
    kind: { DataType: 'String', StringValue: 'water.cod' },
    level: { DataType: 'Number', StringValue: '4' },
    towns: { DataType: 'String.Array', StringValue: '["松源","屏都"]' },
  };

  it('matches prefix, anything-but, numeric and exists conditions on message attributes', () => {
    expect(filterPolicyMatches({ kind: [{ prefix: 'water.' }] }, undefined, '', attrs)).toBe(true);
    expect(filterPolicyMatches({ kind: [{ 'anything-but': ['water.cod'] }] }, undefined, '', attrs)).toBe(false);
    expect(filterPolicyMatches({ level: [{ numeric: ['>', 3, '<=', 5] }] }, undefined, '', attrs)).toBe(true);
    expect(filterPolicyMatches({ level: [{ numeric: ['<', 3] }] }, undefined, '', attrs)).toBe(false);
    expect(filterPolicyMatches({ missing: [{ exists: false }] }, undefined, '', attrs)).toBe(true);
    expect(filterPolicyMatches({ kind: [{ exists: false }] }, undefined, '', attrs)).toBe(false);
    expect(filterPolicyMatches({ towns: ['屏都'] }, undefined, '', attrs)).toBe(true);
  });

  it('matches nested keys and $or when the scope is MessageBody', () => {
    const body = JSON.stringify({ alarm: { pollutant: 'NH3-N', ratio: 2.5 } });
    expect(filterPolicyMatches({ alarm: { pollutant: ['NH3-N'] } }, 'MessageBody', body, {})).toBe(true);
    expect(
      filterPolicyMatches(
        { $or: [{ alarm: { pollutant: ['COD'] } }, { alarm: { ratio: [{ numeric: ['>=', 2] }] } }] },
        'MessageBody',
        body,
        {},
      ),
    ).toBe(true);
    expect(filterPolicyMatches({ alarm: { pollutant: ['COD'] } }, 'MessageBody', body, {})).toBe(false);
  });
});
