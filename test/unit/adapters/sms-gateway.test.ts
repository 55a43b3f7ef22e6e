import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  InternalErrorException,
  InvalidParameterException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HttpSmsGateway,
  SIGNATURE_HEADER,
  SmsPermanentError,
  SmsTransientError,
  SnsSmsGateway,
  signSmsRequest,
  smsGatewayFromEnv,
  TIMESTAMP_HEADER,
  toE164,
} from '#shared/adapters/sms-gateway.ts';

expect.extend(allCustomMatcher);

const creds = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const TEXT =
  '【庆元环保】二级超标：示例竹木制品 蒸煮废水总排口 化学需氧量152.4mg/L（限值100），03-10 13:00。请核查处置。';
const msg = { phone: '13800000201', text: TEXT, dedupeId: '01JP3K5V7X9Z1B3D5F7H9K1M3P:bureau:open:L2:1|sms|0' };

describe('toE164', () => {
  it('normalises mainland mobile numbers', () => {
    expect(toE164('13800000201')).toBe('+8613800000201');
    expect(toE164('+86 138-0000-0201')).toBe('+8613800000201');
    expect(toE164('008613800000201')).toBe('+8613800000201');
  });

  it('refuses landlines and foreign numbers as permanent errors', () => {
    expect(() => toE164('0578-6123456')).toThrow(SmsPermanentError);
    expect(() => toE164('+14155550100')).toThrow(SmsPermanentError);
  });
});

describe('SnsSmsGateway', () => {
  const sns = new SNSClient(creds);
  const snsMock = mockClient(sns);
  beforeEach(() => snsMock.reset());

  it('publishes to the E.164 number as a transactional SMS', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    expect(await new SnsSmsGateway(sns).send(msg)).toEqual({ messageId: 'sns-1' });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      PhoneNumber: '+8613800000201',
      Message: TEXT,
      MessageAttributes: { 'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' } },
    });
    expect(snsMock.commandCalls(PublishCommand)[0]?.args[0].input.TopicArn).toBeUndefined();
  });

  it('adds the sender id when configured', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-2' });
    await new SnsSmsGateway(sns, { senderId: 'QYHB' }).send(msg);
    expect(snsMock.commandCalls(PublishCommand)[0]?.args[0].input.MessageAttributes?.['AWS.SNS.SMS.SenderID']).toEqual({
      DataType: 'String',
      StringValue: 'QYHB',
    });
  });

  it('reports a rejected number as permanent, throttling and server faults as transient', async () => {
    const gw = new SnsSmsGateway(sns);
    snsMock.on(PublishCommand).rejects(new InvalidParameterException({ message: 'Invalid parameter', $metadata: {} }));
    await expect(gw.send(msg)).rejects.toBeInstanceOf(SmsPermanentError);
    snsMock.on(PublishCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(gw.send(msg)).rejects.toBeInstanceOf(SmsTransientError);
    snsMock.on(PublishCommand).rejects(new InternalErrorException({ message: 'oops', $metadata: {} }));
    await expect(gw.send(msg)).rejects.toBeInstanceOf(SmsTransientError);
  });

  it('refuses a landline without calling SNS', async () => {
    await expect(new SnsSmsGateway(sns).send({ ...msg, phone: '0578-6123456' })).rejects.toBeInstanceOf(
      SmsPermanentError,
    );
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });
});

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('HttpSmsGateway', () => {
  const SECRET = 'qy-sms-shared-secret-0001';
  let server: http.Server;
  let url: string;
  let received: Received[];
  /** what the server answers to the n-th request (0-based); `hang` never answers */
  let answers: ({ status: number; body?: string } | 'hang')[];
  let sleeps: number[];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const answer = answers[received.length - 1] ?? { status: 200, body: '{}' };
        if (answer === 'hang') return;
        // no keep-alive: every attempt opens its own connection, so no test inherits another's socket
        res.writeHead(answer.status, { 'content-type': 'application/json', connection: 'close' });
        res.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms/send`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received = [];
    answers = [];
    sleeps = [];
  });

  const gateway = (over: Partial<ConstructorParameters<typeof HttpSmsGateway>[0]> = {}) =>
    new HttpSmsGateway({
      url,
      secret: SECRET,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      now: () => new Date('2026-03-10T06:00:00.000Z'),
      ...over,
    });

  it('POSTs the JSON message signed with HMAC-SHA256 over timestamp and body', async () => {
    answers = [{ status: 200, body: '{"messageId":"prov-77"}' }];
    expect(await gateway().send(msg)).toEqual({ messageId: 'prov-77' });
    expect(received).toHaveLength(1);
    const [req] = received as [Received];
    expect(JSON.parse(req.body)).toEqual({ phone: '+8613800000201', text: TEXT, dedupeId: msg.dedupeId });
    expect(req.headers[TIMESTAMP_HEADER]).toBe('1773122400');
    expect(req.headers[SIGNATURE_HEADER]).toBe(signSmsRequest(SECRET, '1773122400', req.body));
    expect(req.headers[SIGNATURE_HEADER]).not.toBe(signSmsRequest('another-secret-value', '1773122400', req.body));
    expect(req.headers['idempotency-key']).toBe(msg.dedupeId);
    expect(req.headers['content-type']).toContain('application/json');
  });

  it('retries a 500 with backoff and succeeds on the next attempt', async () => {
    answers = [{ status: 500 }, { status: 200, body: '{"messageId":"prov-78"}' }];
    expect(await gateway().send(msg)).toEqual({ messageId: 'prov-78' });
    expect(received).toHaveLength(2);
    expect(sleeps).toEqual([200]);
    for (const r of received) {
      expect(r.headers[SIGNATURE_HEADER]).toBe(signSmsRequest(SECRET, String(r.headers[TIMESTAMP_HEADER]), r.body));
    }
  });

  it('gives up after three attempts of 5xx with a transient error', async () => {
    answers = [{ status: 503 }, { status: 502 }, { status: 503 }, { status: 200 }];
    const err = await gateway()
      .send(msg)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsTransientError);
    const e = err as SmsTransientError;
    expect([e.attempts, e.status, e.permanent]).toEqual([3, 503, false]);
    expect(received).toHaveLength(3);
    expect(sleeps).toEqual([200, 400]);
  });

  it('does not retry a 400: the message is refused for good', async () => {
    answers = [{ status: 400, body: '{"error":"invalid template"}' }, { status: 200 }];
    const err = await gateway()
      .send(msg)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsPermanentError);
    const e = err as SmsPermanentError;
    expect([e.status, e.permanent]).toEqual([400, true]);
    expect(received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries a request that timed out', async () => {
    answers = ['hang', { status: 200, body: '{"messageId":"prov-79"}' }];
    expect(await gateway({ timeoutMs: 100 }).send(msg)).toEqual({ messageId: 'prov-79' });
    expect(received).toHaveLength(2);
  });

  it('retries network errors and then reports a transient error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await gateway({ url: `http://127.0.0.1:${port}/sms` })
      .send(msg)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsTransientError);
    expect(sleeps).toEqual([200, 400]);
  });

  it('uses the dedupe id when the provider returns no message id', async () => {
    answers = [{ status: 202, body: 'accepted' }];
    expect(await gateway().send(msg)).toEqual({ messageId: msg.dedupeId });
  });

  it('refuses a plain-http URL other than localhost', () => {
    expect(() => new HttpSmsGateway({ url: 'http://sms.example.cn/send', secret: SECRET })).toThrow(/https/);
    expect(() => new HttpSmsGateway({ url: 'https://sms.example.cn/send', secret: SECRET })).not.toThrow();
  });
});

describe('smsGatewayFromEnv', () => {
  it('chooses SNS or the HTTP provider by SMS_GATEWAY', () => {
    expect(smsGatewayFromEnv({ SMS_GATEWAY: 'sns' }, { sns: new SNSClient(creds) })).toBeInstanceOf(SnsSmsGateway);
    expect(
      smsGatewayFromEnv({
        SMS_GATEWAY: 'http',
        SMS_HTTP_URL: 'https://sms.example.cn/send',
        SMS_HTTP_SECRET: 'qy-sms-shared-secret-0001',
        SMS_HTTP_TIMEOUT_MS: '3000',
      }),
    ).toBeInstanceOf(HttpSmsGateway);
  });

  it('fails fast on a missing choice or a missing HTTP setting, naming the variable but not the secret', () => {
    expect(() => smsGatewayFromEnv({})).toThrow(/SMS_GATEWAY/);
    expect(() => smsGatewayFromEnv({ SMS_GATEWAY: 'aliyun' })).toThrow(/SMS_GATEWAY/);
    const weak = () =>
      smsGatewayFromEnv({ SMS_GATEWAY: 'http', SMS_HTTP_URL: 'https://sms.example.cn/send', SMS_HTTP_SECRET: 'short' });
    expect(weak).toThrow(/SMS_HTTP_SECRET/);
    expect(weak).not.toThrow(/short/);
    expect(() => smsGatewayFromEnv({ SMS_GATEWAY: 'http', SMS_HTTP_SECRET: 'qy-sms-shared-secret-0001' })).toThrow(
      /SMS_HTTP_URL/,
    );
  });
});
