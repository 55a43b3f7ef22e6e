import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { encodePacket } from '#shared/domain/hj212/codec.ts';
import { synthGatewayFixtureApp } from '../fixtures/gateway-app/app.ts';
import { fastHash } from '../unit/helpers/secrets.ts';
import { eventually, localClientConfig, tempDir } from './helpers.ts';

/**
 * The HJ 212 gateway on the local platform, run from the synthesized ECS task definition: a TCP device → gateway →
 * Basic Ingest (`$aws/rules/<rule>/…`) → topic rule → function, and the device gets its 9014.
 */
const MN = '33112600000000000000GW01';

describe('HJ 212 gateway on the local platform', () => {
  const tmp = tempDir('gateway');
  let platform: Platform;
  let db: DynamoDBDocumentClient;
  let eventsTable: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const cdkOut = `${tmp.dir}/cdk.out`;
    synthGatewayFixtureApp(cdkOut);
    platform = await startPlatform({ cdkOut, dataDir: `${tmp.dir}/data`, seed: false });
    db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)));
    const registry = platform.spec.tables.find((t) => t.id.endsWith('/Registry') || t.tableName.includes('Registry'));
    eventsTable = platform.spec.tables.find((t) => t.tableName.includes('Events'))?.tableName as string;
    await db.send(
      new PutCommand({
        TableName: registry?.tableName,
        Item: {
          pk: `devices#${MN}`,
          sk: '#',
          mn: MN,
          status: 'active',
          passwordHash: await fastHash('123456'),
          version: 1,
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-01T00:00:00.000Z',
        },
      }),
    );
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    db?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  const talk = async (frame: string): Promise<string> => {
    const url = new URL(platform.endpoints.hj212 as string);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    sockets.push(socket);
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('utf8');
    });
    socket.write(frame);
    return eventually(async () => (received.includes('\r\n') ? received : undefined), 15_000, 'a reply');
  };

  const envelopes = () =>
    eventually(
      async () => {
        const out = await db.send(
          new QueryCommand({
            TableName: eventsTable,
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': 'envelope' },
          }),
        );
        return (out.Items ?? []).length > 0 ? (out.Items as { event: Record<string, unknown> }[]) : undefined;
      },
      15_000,
      'envelopes',
    );

  it('derives the gateway from the task definition and lists it in endpoints.json', () => {
    expect(platform.spec.containers?.map((c) => c.service)).toEqual(['hj212-gateway']);
    expect(platform.endpoints.hj212).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const written = JSON.parse(readFileSync(`${platform.endpoints.dataDir}/endpoints.json`, 'utf8'));
    expect(written.hj212).toBe(platform.endpoints.hj212);
  });

  it('carries a device packet through Basic Ingest and the rule to the function, and acknowledges it', async () => {
    const frame = encodePacket({
      qn: '20260301120000001',
      st: '32',
      cn: '2011',
      pw: '123456',
      mn: MN,
      flag: 5,
      cp: 'DataTime=20260301120000;w01018-Rtd=42.5,w01018-Flag=N',
    });
    const reply = await talk(frame);
    expect(reply).toContain('CN=9014');
    expect(reply).toContain(`MN=${MN}`);
    const [item] = await envelopes();
    expect(item?.event).toMatchObject({ source: 'tcp-gateway', mn: MN, accepted: true });
    expect(Buffer.from(String(item?.event.raw), 'base64').toString('utf8')).toBe(frame);
  });

  it('answers an unknown MN with QnRtn=4 and still delivers the rejected envelope', async () => {
    const frame = encodePacket({
      qn: '20260301120000002',
      st: '32',
      cn: '2011',
      pw: '123456',
      mn: 'NOSUCHDEVICE01',
      flag: 5,
      cp: '',
    });
    const reply = await talk(frame);
    expect(reply).toContain('QnRtn=4');
    const items = await eventually(
      async () => {
        const all = await envelopes();
        return all.find((i) => i.event.reason === 'unknown-mn');
      },
      15_000,
      'the unknown-mn envelope',
    );
    expect(items.event).toMatchObject({ mn: 'NOSUCHDEVICE01', accepted: false });
  });
});
