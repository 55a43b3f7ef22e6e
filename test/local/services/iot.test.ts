import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { GetThingShadowCommand, IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IotService, startIot } from '#infra/local/services/iot.ts';
import type { TopicRuleSpec } from '#infra/local/spec.ts';

const ACCOUNT = '000000000000';
const VERSION = '2016-03-23';
const fnArn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
const dlqArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:iot-rule-dlq`;
const readingsArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:iot-readings`;
const alarmTopicArn = `arn:aws:sns:us-east-1:${ACCOUNT}:alarms`;
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const rules: TopicRuleSpec[] = [
  {
    ruleName: 'TelemetryRule',
    sql: "SELECT *, topic(2) AS deviceId, timestamp() AS receivedAt, clientid() AS clientId FROM 'devices/+/telemetry' WHERE temperature > 30",
    sqlVersion: VERSION,
    actions: [{ kind: 'lambda', functionArn: fnArn('telemetry') }],
  },
  {
    ruleName: 'RawRule',
    sql: "SELECT encode(*, 'base64') AS data, topic(2) AS deviceId FROM 'raw/+'",
    sqlVersion: VERSION,
    actions: [{ kind: 'lambda', functionArn: fnArn('raw') }],
  },
  {
    ruleName: 'FailingRule',
    sql: "SELECT * FROM 'fail/+'",
    sqlVersion: VERSION,
    actions: [{ kind: 'lambda', functionArn: fnArn('failing') }],
    errorAction: { kind: 'sqs', queueArn: dlqArn },
  },
  {
    ruleName: 'IngestRule',
    sql: "SELECT *, topic() AS t FROM 'ingest/#'",
    sqlVersion: VERSION,
    actions: [{ kind: 'lambda', functionArn: fnArn('ingest') }],
  },
  {
    ruleName: 'RepublishRule',
    sql: "SELECT level FROM 'alerts/+' WHERE level >= 2",
    sqlVersion: VERSION,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an AWS IoT substitution template, not JS
    actions: [{ kind: 'republish', topic: 'notify/${topic(2)}', qos: 1 }],
  },
  {
    ruleName: 'QueueRule',
    sql: "SELECT * FROM 'queue/+'",
    sqlVersion: VERSION,
    actions: [
      { kind: 'sqs', queueArn: readingsArn },
      { kind: 'sns', topicArn: alarmTopicArn },
    ],
  },
];

interface Call {
  fn: string;
  event: Record<string, unknown>;
}

/** Resolve once `probe` returns something (the test timeout bounds the wait). */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Received {
  topic: string;
  payload: string;
}

function collect(client: MqttClient): Received[] {
  const seen: Received[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  return seen;
}

function listenOn(server: net.Server | Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/**
 * The broker and the rules engine over plain MQTT (the debugging listener, `mqttPort`): clients here have no
 * certificates. Certificates, TLS and IoT policies are iot-identity.test.ts's subject.
 */
describe('iot', () => {
  const calls: Call[] = [];
  const clients: MqttClient[] = [];
  const sqsSends: { QueueUrl: string; MessageBody: string }[] = [];
  const snsPublishes: URLSearchParams[] = [];
  /** Stands in for the local SNS/SQS endpoint: records SQS SendMessage (JSON) and SNS Publish (query). */
  const fakeAws = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.headers['x-amz-target'] === 'AmazonSQS.SendMessage') {
        const send = JSON.parse(body) as { QueueUrl: string; MessageBody: string };
        sqsSends.push(send);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({
            MessageId: 'm-1',
            MD5OfMessageBody: createHash('md5').update(send.MessageBody).digest('hex'),
          }),
        );
        return;
      }
      snsPublishes.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
      );
    });
  });
  let iot: IotService;
  let awsEndpoint = '';
  let dataPlane: IoTDataPlaneClient;

  async function connect(clientId: string, protocolVersion: 4 | 5 = 4): Promise<MqttClient> {
    const client = await mqtt.connectAsync(iot.mqttUrl ?? '', { clientId, protocolVersion, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  }

  const sentTo = (queueName: string) =>
    until(() => sqsSends.find((m) => m.QueueUrl === `${awsEndpoint}/${ACCOUNT}/${queueName}`)?.MessageBody);

  const callTo = (fn: string, match: (event: Record<string, unknown>) => boolean = () => true) =>
    until(() => calls.find((c) => c.fn === fnArn(fn) && match(c.event))?.event);

  beforeAll(async () => {
    awsEndpoint = `http://127.0.0.1:${await listenOn(fakeAws)}`;
    iot = await startIot({
      mqttPort: 0,
      dataPlanePort: 0,
      rules,
      awsEndpoints: { sqs: awsEndpoint, sns: awsEndpoint },
      invoke: async (fn, event) => {
        calls.push({ fn, event: event as Record<string, unknown> });
        if (fn === fnArn('failing')) throw new Error('boom: sensor offline');
        return null;
      },
    });
    dataPlane = new IoTDataPlaneClient({
      region: 'us-east-1',
      credentials: CREDENTIALS,
      endpoint: iot.dataPlaneEndpoint,
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await iot?.stop();
    dataPlane?.destroy();
    await new Promise((resolve) => fakeAws.close(resolve));
  });

  it('invokes the Lambda with the SELECT result when an MQTT 3.1.1 client publishes JSON', async () => {
    const device = await connect('daq-001');
    const before = Date.now();
    await device.publishAsync('devices/dev-1/telemetry', JSON.stringify({ temperature: 20 }), { qos: 1 });
    await device.publishAsync('devices/dev-1/telemetry', JSON.stringify({ temperature: 35, pm25: 80 }), { qos: 1 });

    const event = await callTo('telemetry');
    expect(event).toEqual({
      temperature: 35,
      pm25: 80,
      deviceId: 'dev-1',
      receivedAt: expect.any(Number),
      clientId: 'daq-001',
    });
    expect(event.receivedAt).toBeGreaterThanOrEqual(before);
    expect(calls.filter((c) => c.fn === fnArn('telemetry'))).toHaveLength(1);
  });

  it('passes a raw text payload base64-encoded with encode(*, base64)', async () => {
    const device = await connect('daq-hj212');
    const frame = '##0101QN=20240101120000000;ST=32;CN=2011;MN=88888880000001&&4C01\r\n';
    await device.publishAsync('raw/dev-7', frame, { qos: 0 });

    expect(await callTo('raw')).toEqual({ data: Buffer.from(frame).toString('base64'), deviceId: 'dev-7' });
  });

  it('sends the AWS-shaped error message to the error action when the Lambda fails', async () => {
    const device = await connect('daq-002');
    await device.publishAsync('fail/dev-2', '{"x":1}', { qos: 1 });

    const body = await sentTo('iot-rule-dlq');
    const message = JSON.parse(body) as Record<string, unknown>;
    expect(message).toEqual({
      ruleName: 'FailingRule',
      topic: 'fail/dev-2',
      cloudwatchTraceId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      clientId: 'daq-002',
      base64OriginalPayload: Buffer.from('{"x":1}').toString('base64'),
      failures: [
        {
          failedAction: 'LambdaAction',
          failedResource: fnArn('failing'),
          errorMessage: expect.stringContaining('boom: sensor offline'),
        },
      ],
    });
  });

  it('sends the SELECT result to SQS and SNS actions', async () => {
    const device = await connect('daq-queue');
    await device.publishAsync('queue/q1', '{"v":1}', { qos: 1 });

    expect(await sentTo('iot-readings')).toBe('{"v":1}');
    const publish = await until(() => snsPublishes.find((p) => p.get('Action') === 'Publish'));
    expect(publish.get('TopicArn')).toBe(alarmTopicArn);
    expect(publish.get('Message')).toBe('{"v":1}');
  });

  it('delivers an IoT Data Plane Publish to MQTT subscribers and to the rules', async () => {
    const watcher = await connect('console-watcher');
    const seen = collect(watcher);
    await watcher.subscribeAsync('devices/+/telemetry', { qos: 1 });

    await dataPlane.send(
      new PublishCommand({ topic: 'devices/dev-3/telemetry', qos: 1, payload: Buffer.from('{"temperature":40}') }),
    );

    expect(await until(() => seen.find((m) => m.topic === 'devices/dev-3/telemetry'))).toEqual({
      topic: 'devices/dev-3/telemetry',
      payload: '{"temperature":40}',
    });
    expect(await callTo('telemetry', (e) => e.deviceId === 'dev-3')).toMatchObject({
      clientId: 'n/a',
      temperature: 40,
    });
  });

  it('routes Basic Ingest to the named rule only, with topic() after the prefix, and to no subscriber', async () => {
    const watcher = await connect('ingest-watcher');
    const seen = collect(watcher);
    await watcher.subscribeAsync('#', { qos: 1 });
    await expect(watcher.subscribeAsync('$aws/rules/IngestRule/#', { qos: 1 })).rejects.toThrow('Subscribe error');
    const device = await connect('daq-ingest');

    await device.publishAsync('$aws/rules/IngestRule/ingest/site-1/pm', '{"pm10":5}', { qos: 1 });
    await dataPlane.send(
      new PublishCommand({ topic: '$aws/rules/IngestRule/ingest/site-2', payload: Buffer.from('{}') }),
    );
    await device.publishAsync('marker/ingest', 'done', { qos: 1 });

    expect(await callTo('ingest', (e) => e.pm10 === 5)).toEqual({ pm10: 5, t: 'ingest/site-1/pm' });
    expect(await callTo('ingest', (e) => e.t === 'ingest/site-2')).toEqual({ t: 'ingest/site-2' });
    await until(() => seen.find((m) => m.topic === 'marker/ingest'));
    expect(seen.filter((m) => m.topic.startsWith('$aws'))).toEqual([]);
  });

  it('republishes to a topic built from a substitution template', async () => {
    const watcher = await connect('notify-watcher');
    const seen = collect(watcher);
    await watcher.subscribeAsync('notify/#', { qos: 1 });
    const device = await connect('daq-alerts');

    await device.publishAsync('alerts/dev-5', '{"level":1,"note":"low"}', { qos: 1 });
    await device.publishAsync('alerts/dev-5', '{"level":3,"note":"high"}', { qos: 1 });

    expect(await until(() => seen[0])).toEqual({ topic: 'notify/dev-5', payload: '{"level":3}' });
  });

  it('serves MQTT 5 clients: subscribe, receive, unsubscribe and trigger rules', async () => {
    const listener = await connect('v5-listener', 5);
    const seen = collect(listener);
    await listener.subscribeAsync('v5/#', { qos: 1 });
    const device = await connect('v5-device', 5);

    await device.publishAsync('v5/hello', 'hi', { qos: 1 });
    await device.publishAsync('devices/dev-9/telemetry', '{"temperature":99}', { qos: 1 });

    expect(await until(() => seen.find((m) => m.topic === 'v5/hello'))).toEqual({ topic: 'v5/hello', payload: 'hi' });
    expect(await callTo('telemetry', (e) => e.deviceId === 'dev-9')).toMatchObject({ clientId: 'v5-device' });
    await expect(listener.unsubscribeAsync('v5/#')).resolves.toBeDefined();
  });

  it('closes the connection of a client that publishes with QoS 2, which AWS IoT does not support', async () => {
    const device = await connect('daq-qos2');
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('devices/dev-1/telemetry', '{"temperature":90}', { qos: 2 });

    await closed;
    expect(calls.filter((c) => c.event.temperature === 90)).toEqual([]);
  });

  it('answers data plane operations other than Publish with an AWS error', async () => {
    await expect(dataPlane.send(new GetThingShadowCommand({ thingName: 'dev-1' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringContaining('GetThingShadow is not supported'),
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses to start with a rule it cannot run and names the rule', async () => {
    const bad: TopicRuleSpec = {
      ruleName: 'ShadowRule',
      sql: "SELECT get_thing_shadow('t', 'arn:aws:iam::1:role/r') AS s FROM 'a/#'",
      sqlVersion: VERSION,
      actions: [],
    };
    await expect(startIot({ mqttPort: 0, dataPlanePort: 0, rules: [bad], invoke: async () => null })).rejects.toThrow(
      'IoT rule "ShadowRule": unsupported SQL function "get_thing_shadow" in SELECT',
    );
  });

  it('frees both ports on stop()', async () => {
    const other = await startIot({ mqttPort: 0, dataPlanePort: 0, rules: [], invoke: async () => null });
    const client = await mqtt.connectAsync(other.mqttUrl ?? '', { clientId: 'leftover', reconnectPeriod: 0 });
    const ports = [Number(new URL(other.mqttUrl ?? '').port), Number(new URL(other.dataPlaneEndpoint).port)];

    await other.stop();

    for (const port of ports) {
      const probe = net.createServer();
      expect(await listenOn(probe, port)).toBe(port);
      await new Promise((resolve) => probe.close(resolve));
    }
    await client.endAsync(true);
  });
});
