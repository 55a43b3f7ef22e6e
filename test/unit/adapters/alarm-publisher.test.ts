import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AlarmDeliveryError,
  AlarmPublisher,
  deliveryKeys,
  smsKey,
  topicKey,
} from '#shared/adapters/alarm-publisher.ts';
import {
  type SmsGateway,
  type SmsMessage,
  SmsPermanentError,
  SmsTransientError,
} from '#shared/adapters/sms-gateway.ts';
import type { AlarmSource } from '#shared/domain/alarms/model.ts';
import {
  emptyNotifyState,
  NotificationPolicy,
  type OutboundMessage,
  planNotifications,
} from '#shared/domain/alarms/notify.ts';
import { BAMBOO } from '#shared/domain/registry/qingyuan-seed.ts';
import { createLogger } from '#shared/observability/logger.ts';

expect.extend(allCustomMatcher);

const creds = { region: 'cn-northwest-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const sns = new SNSClient(creds);
const snsMock = mockClient(sns);
const topics = {
  bureau: 'arn:aws-cn:sns:cn-northwest-1:123456789012:EnvWatch-bureau',
  regulator: 'arn:aws-cn:sns:cn-northwest-1:123456789012:EnvWatch-regulator',
  enterprise: 'arn:aws-cn:sns:cn-northwest-1:123456789012:EnvWatch-enterprise',
};

const source: AlarmSource = {
  mn: '33112600000000000000BW01',
  enterpriseId: BAMBOO,
  enterpriseName: '庆元县示例竹木制品有限公司',
  outletId: `${BAMBOO}-DW001`,
  outletCode: 'DW001',
  outletName: '蒸煮废水总排口',
  medium: 'water',
  townshipId: 'huangtian',
  industry: 'bamboo_wood',
  regulator: '庆元县经济商务科技局',
  responsiblePerson: { name: '吴建国（示例）', phone: '13800000101' },
  permitClass: 'simplified',
  inDrinkingWaterProtectionZone: false,
  limits: {
    w01018: {
      pollutant: 'w01018',
      max: 100,
      unit: 'mg/L',
      standard: 'GB 8978-1996',
      grade: '表4 一级',
      basis: 'hourly',
    },
  },
  intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
  equipment: [],
  deviceStatus: 'active',
};

/** The three messages of a 二级 COD exceedance opening at the sample bamboo works, as the planner makes them. */
const messages: OutboundMessage[] = planNotifications({
  event: 'open',
  alarm: {
    alarmId: '01JP3K5V7X9Z1B3D5F7H9K1M3P',
    type: 'exceedance',
    pollutant: 'w01018',
    level: 2,
    state: 'active',
    openedAt: '2026-03-10T06:00:00.000Z',
    at: '2026-03-10T05:00:00.000Z',
    value: 152.4,
    limit: 100,
    unit: 'mg/L',
  },
  source,
  notify: emptyNotifyState(),
  policy: NotificationPolicy.parse({}),
  now: new Date('2026-03-10T06:00:00.000Z'),
}).messages;

class FakeSms implements SmsGateway {
  sent: SmsMessage[] = [];
  failures = new Map<string, Error>();
  async send(msg: SmsMessage) {
    const failure = this.failures.get(msg.phone);
    if (failure) throw failure;
    this.sent.push(msg);
    return { messageId: `sms-${this.sent.length}` };
  }
}

let sms: FakeSms;
let publisher: AlarmPublisher;
beforeEach(() => {
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'topic-msg' });
  sms = new FakeSms();
  publisher = new AlarmPublisher({ sns, topics, sms });
});

describe('AlarmPublisher', () => {
  it('uses the planner’s three messages with four SMS recipients', () => {
    expect(messages.map((m) => [m.audience, m.recipients.length])).toEqual([
      ['bureau', 2],
      ['regulator', 1],
      ['enterprise', 1],
    ]);
  });

  it('publishes each message to its audience topic with string attributes, dedupe id and a JSON body', async () => {
    const { delivered } = await publisher.deliver(messages);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 3);
    const bureau = messages[0] as OutboundMessage;
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: topics.bureau,
      Subject: 'EnvWatch alarm L2 exceedance open',
      MessageAttributes: {
        audience: { DataType: 'String', StringValue: 'bureau' },
        township: { DataType: 'String', StringValue: 'huangtian' },
        industry: { DataType: 'String', StringValue: 'bamboo_wood' },
        enterpriseId: { DataType: 'String', StringValue: BAMBOO },
        level: { DataType: 'String', StringValue: '2' },
        type: { DataType: 'String', StringValue: 'exceedance' },
        kind: { DataType: 'String', StringValue: 'open' },
        regulator: { DataType: 'String', StringValue: '庆元县经济商务科技局' },
        tier: { DataType: 'String', StringValue: '0' },
        dedupeId: { DataType: 'String', StringValue: bureau.dedupeId },
      },
    });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: topics.regulator });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: topics.enterprise });
    const published = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
    for (const input of published) {
      expect(Object.keys(input.MessageAttributes ?? {}).length).toBeLessThanOrEqual(10); // SQS raw-delivery limit
      expect(input.Message).not.toMatch(/1380000\d{4}/); // no phone numbers in what every subscriber sees
    }
    const body = JSON.parse(published[0]?.Message ?? '{}');
    expect(body).toMatchObject({
      dedupeId: bureau.dedupeId,
      alarmId: '01JP3K5V7X9Z1B3D5F7H9K1M3P',
      audience: 'bureau',
      kind: 'open',
      level: 2,
      levelLabel: '二级',
      typeLabel: '超标',
      text: bureau.sms,
      recipients: ['王志华（示例）', '李晓燕（示例）'],
    });
    expect(delivered.sort()).toEqual(messages.flatMap(deliveryKeys).sort());
  });

  it('sends the SMS to every recipient with a per-recipient dedupe id', async () => {
    await publisher.deliver(messages);
    expect(sms.sent.map((s) => s.phone)).toEqual(['13800000201', '13800000202', '13800000301', '13800000101']);
    const bureau = messages[0] as OutboundMessage;
    expect(sms.sent[0]).toEqual({ phone: '13800000201', text: bureau.sms, dedupeId: smsKey(bureau, 0) });
    expect(sms.sent[1]?.dedupeId).toBe(`${bureau.dedupeId}|sms|1`);
  });

  it('tries everything, then reports which deliveries failed and which did not', async () => {
    snsMock
      .on(PublishCommand, { TopicArn: topics.regulator })
      .rejects(Object.assign(new Error('Service unavailable'), { name: 'InternalErrorException' }));
    sms.failures.set('13800000202', new SmsTransientError('SMS provider failed 3 times: HTTP 503', 3, 503));
    sms.failures.set('13800000101', new SmsPermanentError('SMS provider rejected the message: HTTP 400', 400));
    const err = await publisher.deliver(messages).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlarmDeliveryError);
    const failure = err as AlarmDeliveryError;
    const [bureau, regulator, enterprise] = messages as [OutboundMessage, OutboundMessage, OutboundMessage];
    expect(failure.failed.map((f) => [f.key, f.channel, f.recipient, f.permanent])).toEqual([
      [smsKey(bureau, 1), 'sms', 1, false],
      [topicKey(regulator), 'topic', undefined, false],
      [smsKey(enterprise, 0), 'sms', 0, true],
    ]);
    expect(failure.retryable).toBe(true);
    expect(failure.delivered).toHaveLength(7 - 3);
    expect(sms.sent.map((s) => s.phone)).toEqual(['13800000201', '13800000301']);
    expect(failure.message).not.toMatch(/1380000\d{4}/);
  });

  it('logs the count of failed SMS on the failure line, which the Ops stack turns into a metric', async () => {
    const lines: string[] = [];
    const logged = new AlarmPublisher({ sns, topics, sms, log: createLogger('t', 'info', (l) => lines.push(l)) });
    snsMock.on(PublishCommand, { TopicArn: topics.regulator }).rejects(new Error('Service unavailable'));
    sms.failures.set('13800000202', new SmsTransientError('timeout', 3));
    sms.failures.set('13800000101', new SmsPermanentError('rejected', 400));
    await logged.deliver(messages).catch(() => undefined);
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'alarm notification deliveries failed');
    expect(failure).toMatchObject({ level: 'WARN', smsFailures: 2 });
    expect(lines.join('\n')).not.toMatch(/1380000\d{4}/);
  });

  it('on retry, skips what was already delivered', async () => {
    sms.failures.set('13800000202', new SmsTransientError('timeout', 3));
    const first = (await publisher.deliver(messages).catch((e: unknown) => e)) as AlarmDeliveryError;
    sms.failures.clear();
    sms.sent = [];
    snsMock.resetHistory();
    const { delivered } = await publisher.deliver(messages, { skip: first.delivered });
    expect(delivered).toEqual([smsKey(messages[0] as OutboundMessage, 1)]);
    expect(sms.sent.map((s) => s.phone)).toEqual(['13800000202']);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it('is not retryable when every failure is permanent', async () => {
    sms.failures.set('13800000101', new SmsPermanentError('rejected', 400));
    const err = (await publisher.deliver(messages).catch((e: unknown) => e)) as AlarmDeliveryError;
    expect(err.retryable).toBe(false);
  });

  it('publishes a message without SMS recipients to the topic only', async () => {
    const topicOnly = { ...(messages[1] as OutboundMessage), recipients: [] };
    expect(await publisher.deliver([topicOnly])).toEqual({ delivered: [topicKey(topicOnly)] });
    expect(sms.sent).toEqual([]);
  });

  it('keeps an unknown SMS error’s message out of the report (it might echo the number)', async () => {
    sms.failures.set('13800000101', new TypeError('bad number 13800000101'));
    const err = (await publisher.deliver(messages).catch((e: unknown) => e)) as AlarmDeliveryError;
    expect(err.failed).toEqual([expect.objectContaining({ reason: 'TypeError', permanent: false })]);
    expect(err.message).not.toContain('13800000101');
  });
});
