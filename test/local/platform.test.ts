import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { synthFixtureApp } from '../fixtures/local-app/app.ts';
import { eventually, localClientConfig, tempDir } from './helpers.ts';

/** The local platform's features, driven through a small fixture CDK app: IoT rules, SNS capture, callback workflows. */
describe('local platform (fixture app)', () => {
  const tmp = tempDir('platform');
  let platform: Platform;
  let db: DynamoDBDocumentClient;
  let sfn: SFNClient;
  let table: string;

  beforeAll(async () => {
    const cdkOut = `${tmp.dir}/cdk.out`;
    synthFixtureApp(cdkOut);
    // plain MQTT (the debugging listener): the fixture app has no device policy; these tests are about the rules
    platform = await startPlatform({
      cdkOut,
      dataDir: `${tmp.dir}/data`,
      seed: false,
      timeScale: 100,
      plainMqtt: true,
    });
    db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)));
    sfn = new SFNClient(localClientConfig(platform.endpoints.stepfunctions));
    table = platform.spec.tables[0]?.tableName as string;
  });

  afterAll(async () => {
    db?.destroy();
    sfn?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  const stored = (pk: string, min = 1) =>
    eventually(
      async () => {
        const out = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': pk },
          }),
        );
        return (out.Items ?? []).length >= min ? (out.Items as { event: Record<string, unknown> }[]) : undefined;
      },
      15_000,
      `${pk} events`,
    );

  it('routes an MQTT message through the template rule to its function with topic(), timestamp() and clientid()', async () => {
    const client = await mqtt.connectAsync(platform.endpoints.mqtt as string, { clientId: 'DAQ-TEST-1' });
    await client.publishAsync('envwatch/devices/33112600000000000000AB01/telemetry', JSON.stringify({ w01018: 42.5 }), {
      qos: 1,
    });
    await client.endAsync();
    const [item] = await stored('telemetry');
    expect(item?.event).toMatchObject({
      w01018: 42.5,
      mn: '33112600000000000000AB01',
      clientId: 'DAQ-TEST-1',
      key: 'telemetry',
    });
    expect(typeof item?.event.receivedAt).toBe('number');
  });

  it('passes a raw (non-JSON) payload as base64 when the rule encodes it', async () => {
    const packet =
      '##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&3240\r\n';
    const client = await mqtt.connectAsync(platform.endpoints.mqtt as string);
    await client.publishAsync('envwatch/devices/010000A8900016F000169DC0/hj212', packet, { qos: 1 });
    await client.endAsync();
    const [item] = await stored('raw');
    expect(Buffer.from(String(item?.event.raw), 'base64').toString('utf8')).toBe(packet);
  });

  it('runs a scheduled rule on its rate, and on demand through /_local/schedules', async () => {
    const [first] = await stored('event', 1);
    expect(first?.event).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    const { schedules } = (await (await fetch(`${platform.endpoints.api}/_local/schedules`)).json()) as {
      schedules: { ruleName: string }[];
    };
    const rule = schedules[0]?.ruleName as string;
    const res = await fetch(`${platform.endpoints.api}/_local/schedules/${encodeURIComponent(rule)}/run`, {
      method: 'POST',
    });
    expect(res.status).toBe(202);
  });

  it('keeps every SNS publish readable at /_local/messages.json', async () => {
    const res = await fetch(`${platform.endpoints.api}/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '庆元县示例污水处理厂 COD 超标', level: '二级' }),
    });
    expect(res.status).toBe(202);
    const { messageId } = (await res.json()) as { messageId: string };
    const page = (await (
      await fetch(platform.endpoints.pages.messages.replace('/messages', '/messages.json'))
    ).json()) as {
      messages: { id: string; message: string; messageAttributes: Record<string, { StringValue?: string }> }[];
    };
    const sent = page.messages.find((m) => m.id === messageId);
    expect(sent?.message).toBe('庆元县示例污水处理厂 COD 超标');
    expect(sent?.messageAttributes.level?.StringValue).toBe('二级');
    const html = await (await fetch(platform.endpoints.pages.messages)).text();
    expect(html).toContain('COD 超标');
  });

  const machineArn = () => platform.spec.stateMachines[0]?.arn as string;
  const tokenFor = async (caseId: string) => {
    const items = await stored('approval', 1);
    return eventually(
      async () => {
        const all = await stored('approval', 1);
        return all.find((i) => i.event.caseId === caseId)?.event.token as string | undefined;
      },
      15_000,
      `task token of ${caseId}`,
    ).then((t) => t ?? items[0]?.event.token);
  };
  const finalStatus = (executionArn: string) =>
    eventually(
      async () => {
        const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return out.status === 'RUNNING' ? undefined : out;
      },
      20_000,
      'execution end',
    );

  it('finishes a callback step after SendTaskSuccess', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn(), input: JSON.stringify({ caseId: 'C-OK' }) }),
    );
    const token = await tokenFor('C-OK');
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true, by: 'section_chief' }) }),
    );
    const done = await finalStatus(executionArn as string);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({ caseId: 'C-OK', decision: { approved: true } });
  });

  it('fails a callback step after SendTaskFailure', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn(), input: JSON.stringify({ caseId: 'C-NO' }) }),
    );
    const token = await tokenFor('C-NO');
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: '证据不足' }));
    const done = await finalStatus(executionArn as string);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('Rejected');
  });

  it('times a callback step out when no heartbeat arrives within HeartbeatSeconds', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn(), input: JSON.stringify({ caseId: 'C-LATE' }) }),
    );
    await tokenFor('C-LATE');
    const done = await finalStatus(executionArn as string);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.HeartbeatTimeout');
  });
});
