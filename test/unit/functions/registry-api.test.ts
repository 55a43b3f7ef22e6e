import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  IoTClient,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FUNGI, OUTLETS, WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import { verifySecret } from '#shared/domain/secrets.ts';
import {
  bodyOf,
  type HttpEvent,
  type HttpResult,
  lambdaContext,
  loadEvent,
  routeEvent,
  withClaims,
  withRoute,
} from '../helpers/events.ts';

expect.extend(allCustomMatcher);

// the handler's module-level document client is mocked through the class prototype
const ddb = mockClient(DynamoDBDocumentClient);
const iot = mockClient(IoTClient);
let handler: (event: HttpEvent, context: typeof lambdaContext) => Promise<HttpResult>;

const AT = '2025-03-01T08:00:00.000Z';
const wwtpOutlet = OUTLETS.find((o) => o.id === `${WWTP}-DW001`);
const township = { id: 'songyuan', name: '松源街道', type: '街道', pinyin: 'Songyuan Jiedao' };
const row = (kind: string, id: string, item: object, version: number) => ({
  ...item,
  pk: `${kind}#${id}`,
  sk: '#',
  kind,
  gsi1pk: kind,
  gsi1sk: id,
  version,
  createdAt: AT,
  updatedAt: AT,
});
const storedDevice = {
  mn: '33112600000000000000AB01',
  enterpriseId: WWTP,
  outletId: `${WWTP}-DW001`,
  st: '32',
  protocol: 'hj212-2017',
  pollutants: ['w01018'],
  intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
  status: 'active',
  passwordHash: 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=',
};

describe('registry-api handler', () => {
  beforeAll(async () => {
    vi.stubEnv('REGISTRY_TABLE', 'registry-test');
    vi.stubEnv('AUDIT_TABLE', 'audit-test');
    vi.stubEnv('IOT_DEVICE_POLICY', 'envwatch-test-device');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('LOG_LEVEL', 'error');
    ({ handler } = (await import('#functions/registry-api/handler.ts')) as unknown as {
      handler: typeof handler;
    });
  });

  afterAll(() => {
    vi.unstubAllEnvs();
    ddb.restore();
    iot.restore();
  });

  beforeEach(() => {
    ddb.reset();
    iot.reset();
  });

  it('answers 201 with an ETag when an admin creates a township, auditing the caller', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const res = await handler(loadEvent('registry-create-township'), lambdaContext);

    expect(res.statusCode).toBe(201);
    expect(res.headers?.etag).toBe('"1"');
    expect(bodyOf(res)).toMatchObject({ item: township, version: 1 });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.TableName)).toEqual(['registry-test', 'audit-test']);
    expect(items[1]?.Put?.Item).toMatchObject({ actor: 'u-admin-01', action: 'registry.create' });
  });

  it('answers 403 when a reader tries to create', async () => {
    const event = withClaims(loadEvent('registry-create-township'), { sub: 'u-inspector-01', roles: '[inspector]' });

    const res = await handler(event, lambdaContext);

    expect(res.statusCode).toBe(403);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 412 when If-Match names a version that is no longer current', async () => {
    ddb.on(GetCommand).resolves({ Item: row('townships', 'songyuan', township, 2) });

    const res = await handler(loadEvent('registry-replace-township'), lambdaContext);

    expect(res.statusCode).toBe(412);
    expect(bodyOf(res)).toMatchObject({ type: '/problems/precondition-failed', status: 412 });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 412 when someone else writes between the read and the write', async () => {
    ddb.on(GetCommand).resolves({ Item: row('townships', 'songyuan', township, 1) });
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );

    const res = await handler(loadEvent('registry-replace-township'), lambdaContext);

    expect(res.statusCode).toBe(412);
  });

  it('answers 200 with the next ETag when If-Match is current', async () => {
    ddb.on(GetCommand).resolves({ Item: row('townships', 'songyuan', township, 1) });
    ddb.on(TransactWriteCommand).resolves({});

    const res = await handler(loadEvent('registry-replace-township'), lambdaContext);

    expect(res.statusCode).toBe(200);
    expect(res.headers?.etag).toBe('"2"');
    expect(ddb).toHaveReceivedCommandWith(TransactWriteCommand, {
      TransactItems: [
        expect.objectContaining({
          Put: expect.objectContaining({ ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': 1 } }),
        }),
        expect.anything(),
      ],
    });
  });

  it('answers 400 on headers.if-match when If-Match is not a version', async () => {
    const event = loadEvent('registry-replace-township');
    event.headers['if-match'] = '*';

    const res = await handler(event, lambdaContext);

    expect(res.statusCode).toBe(400);
    expect(bodyOf(res).errors).toEqual([
      { field: 'headers.if-match', message: 'not a version', messageZh: 'If-Match 须为版本号，例如 "3"' },
    ]);
  });

  it('stores a new device’s password only as a hash and never returns it', async () => {
    ddb.on(GetCommand).resolves({ Item: row('outlets', `${WWTP}-DW001`, wwtpOutlet ?? {}, 1) });
    ddb.on(TransactWriteCommand).resolves({});

    const res = await handler(loadEvent('registry-create-device'), lambdaContext);

    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain('passwordHash');
    expect(res.body).not.toContain('s3cret-pw');
    const put = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Put?.Item ?? {};
    expect(put.password).toBeUndefined();
    expect(put.gsi2pk).toBe(`enterprises#${WWTP}`);
    await expect(verifySecret('s3cret-pw', String(put.passwordHash))).resolves.toBe(true);
  });

  it('never returns a stored passwordHash when reading or listing devices', async () => {
    ddb.on(GetCommand).resolves({ Item: row('devices', storedDevice.mn, storedDevice, 4) });
    ddb.on(QueryCommand).resolves({ Items: [row('devices', storedDevice.mn, storedDevice, 4)] });
    const list = withRoute(loadEvent('registry-get-device'), 'GET /registry/devices');
    list.pathParameters = undefined;
    list.queryStringParameters = { enterprise: WWTP, limit: '10' };

    const got = await handler(loadEvent('registry-get-device'), lambdaContext);
    const listed = await handler(list, lambdaContext);

    expect(got.statusCode).toBe(200);
    expect(got.headers?.etag).toBe('"4"');
    expect(listed.statusCode).toBe(200);
    for (const res of [got, listed]) expect(res.body).not.toContain('passwordHash');
    expect(bodyOf(got)).toMatchObject({ item: { mn: storedDevice.mn }, version: 4 });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi2',
      ExpressionAttributeValues: { ':p': `enterprises#${WWTP}`, ':k': 'devices#' },
      Limit: 10,
    });
  });
  describe('MQTT device onboarding', () => {
    const MN = '33112600000000000000FW09';
    const CERT_ID = 'c'.repeat(64);
    const CERT_ARN = `arn:aws:iot:us-east-1:123456789012:cert/${CERT_ID}`;
    const PRIVATE = '-----BEGIN RSA PRIVATE KEY-----\nUFJJVkFURS1LRVktTUFURVJJQUw=\n-----END RSA PRIVATE KEY-----\n';
    const fungiOutlet = OUTLETS.find((o) => o.id === `${FUNGI}-DW001`) ?? {};
    const admin = { sub: 'u-admin-01', roles: '[admin]', townships: '[*]' };
    const device = {
      mn: MN,
      enterpriseId: FUNGI,
      outletId: `${FUNGI}-DW001`,
      st: '32',
      protocol: 'json-mqtt',
      pollutants: ['w01018'],
      intervals: { realtimeSeconds: 60, minuteMinutes: 10 },
      password: 's3cret-pw',
    };
    /** The device as DynamoDB holds it after each write: the get answers with the latest put. */
    function trackDevice() {
      let current: Record<string, unknown> | undefined;
      let version = 0;
      ddb.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
        if (input.Key.pk.startsWith('outlets#')) return { Item: row('outlets', `${FUNGI}-DW001`, fungiOutlet, 1) };
        return current ? { Item: { ...current, version } } : {};
      });
      ddb
        .on(TransactWriteCommand)
        .callsFake((input: { TransactItems: { Put?: { Item?: Record<string, unknown> } }[] }) => {
          current = input.TransactItems[0]?.Put?.Item;
          version = Number(current?.version);
          return {};
        });
      ddb.on(PutCommand).resolves({});
      return () => current;
    }

    it('registers an MQTT device with its thing and a certificate, answering the generated key once and logging it never', async () => {
      const stored = trackDevice();
      iot.on(CreateThingCommand).resolves({ thingName: MN });
      iot.on(CreateKeysAndCertificateCommand).resolves({
        certificateId: CERT_ID,
        certificateArn: CERT_ARN,
        certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        keyPair: { PrivateKey: PRIVATE, PublicKey: '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n' },
      });
      iot.on(AttachPolicyCommand).resolves({});
      iot.on(AttachThingPrincipalCommand).resolves({});
      iot.on(UpdateCertificateCommand).resolves({});
      const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

      const res = await handler(
        routeEvent('POST', '/registry/devices', { body: device, claims: admin }),
        lambdaContext,
      );

      const logged = out.mock.calls.map((c) => String(c[0])).join('');
      out.mockRestore();
      expect(res.statusCode).toBe(201);
      expect(bodyOf(res)).toMatchObject({
        item: {
          mn: MN,
          transport: 'mqtt',
          iot: { thingName: MN, certificates: [{ certificateId: CERT_ID, status: 'active' }] },
        },
        certificate: {
          certificateId: CERT_ID,
          privateKey: PRIVATE,
          policyName: 'envwatch-test-device',
          keySource: 'generated',
        },
      });
      expect(res.headers?.['cache-control']).toBe('no-store');
      expect(iot).toHaveReceivedCommandWith(AttachPolicyCommand, {
        policyName: 'envwatch-test-device',
        target: CERT_ARN,
      });
      expect(iot).toHaveReceivedCommandWith(UpdateCertificateCommand, { certificateId: CERT_ID, newStatus: 'ACTIVE' });
      expect(JSON.stringify(stored())).not.toContain('PRIVATE KEY');
      const audits = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
      expect(JSON.stringify(audits)).not.toContain('PRIVATE KEY');
      expect(logged).not.toContain('UFJJVkFURS1LRVktTUFURVJJQUw');
    });

    it('decommissions: deactivates and detaches the certificate, answering the device retired', async () => {
      const stored = trackDevice();
      iot.on(UpdateCertificateCommand).resolves({});
      iot.on(DetachThingPrincipalCommand).resolves({});
      iot.on(DetachPolicyCommand).resolves({});
      ddb.on(GetCommand).resolves({
        Item: row(
          'devices',
          MN,
          {
            ...storedDevice,
            mn: MN,
            protocol: 'json-mqtt',
            transport: 'mqtt',
            iot: {
              thingName: MN,
              certificates: [
                { certificateId: CERT_ID, certificateArn: CERT_ARN, status: 'active', keySource: 'csr', createdAt: AT },
              ],
            },
          },
          3,
        ),
      });

      const res = await handler(
        routeEvent('POST', '/registry/devices/{id}/decommission', { pathParameters: { id: MN }, claims: admin }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"4"');
      expect(bodyOf(res)).toMatchObject({
        item: { status: 'retired', iot: { certificates: [{ status: 'inactive' }] } },
      });
      expect(res.body).not.toContain('passwordHash');
      expect(iot).toHaveReceivedCommandWith(UpdateCertificateCommand, {
        certificateId: CERT_ID,
        newStatus: 'INACTIVE',
      });
      expect(iot).toHaveReceivedCommandWith(DetachThingPrincipalCommand, { thingName: MN, principal: CERT_ARN });
      expect(iot).toHaveReceivedCommandWith(DetachPolicyCommand, {
        policyName: 'envwatch-test-device',
        target: CERT_ARN,
      });
      expect(stored()).toMatchObject({ status: 'retired' });
    });

    it('answers 409 to a certificate request for a device that already has one, and 403 to a reader', async () => {
      ddb.on(GetCommand).resolves({
        Item: row(
          'devices',
          MN,
          {
            ...storedDevice,
            mn: MN,
            transport: 'mqtt',
            iot: {
              thingName: MN,
              certificates: [
                { certificateId: CERT_ID, certificateArn: CERT_ARN, status: 'active', keySource: 'csr', createdAt: AT },
              ],
            },
          },
          3,
        ),
      });
      const event = (claims: Record<string, unknown>) =>
        routeEvent('POST', '/registry/devices/{id}/certificate', { pathParameters: { id: MN }, body: {}, claims });

      expect((await handler(event(admin), lambdaContext)).statusCode).toBe(409);
      expect((await handler(event({ sub: 'u-analyst', roles: '[analyst]' }), lambdaContext)).statusCode).toBe(403);
      expect(iot.calls()).toEqual([]);
    });
  });
});
