import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DescribeCertificateCommand,
  DetachThingPrincipalCommand,
  IoTClient,
  ListThingPrincipalsCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THING } from '#infra/constructs/iot-device-policy.ts';
import { loadOrCreateCa } from '#infra/local/services/iot/local-ca.ts';
import { x509 } from '#infra/local/services/iot/x509.ts';
import { type IotService, LOCAL_IOT_ARN_PREFIX, startIot } from '#infra/local/services/iot.ts';
import type { IotPolicySpec } from '#infra/local/spec.ts';
import { eventually, tempDir } from '../helpers.ts';

/**
 * The IoT Core stand-in's device identities, driven as onboarding and devices use them: the control plane through the
 * real `IoTClient`, the broker through mqtt.js over TLS with client certificates. The policy is the device policy of
 * infra/constructs/iot-device-policy.ts as the local template renders it (the platform test uses the real template).
 */
const POLICY: IotPolicySpec = {
  policyName: 'envwatch-test-device',
  document: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'iot:Connect',
        Resource: `${LOCAL_IOT_ARN_PREFIX}client/${THING}`,
        Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
      },
      { Effect: 'Allow', Action: 'iot:Publish', Resource: `${LOCAL_IOT_ARN_PREFIX}topic/envwatch/devices/${THING}/*` },
      {
        Effect: 'Allow',
        Action: 'iot:Subscribe',
        Resource: `${LOCAL_IOT_ARN_PREFIX}topicfilter/envwatch/devices/${THING}/cmd`,
      },
      {
        Effect: 'Allow',
        Action: 'iot:Receive',
        Resource: `${LOCAL_IOT_ARN_PREFIX}topic/envwatch/devices/${THING}/cmd`,
      },
    ],
  },
};
const MN = '33112600000000000000FW01';
const OTHER = '33112600000000000000FW02';

interface Credentials {
  key: string;
  cert: string;
  id: string;
  arn: string;
}

/** How a connection attempt ended: connected (then closed by us), or the error / close that refused it. */
function attempt(url: string, options: IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    const done = (outcome: string) => {
      client.end(true);
      resolve(outcome);
    };
    client.once('connect', () => done('connected'));
    client.once('error', (err) => done(`error: ${err.message}`));
    client.once('close', () => done('closed'));
  });
}

describe('IoT device identities (TLS, certificates, policies)', () => {
  const tmp = tempDir('iot-identity');
  const calls: { fn: string; event: Record<string, unknown> }[] = [];
  const clients: MqttClient[] = [];
  let iot: IotService;
  let control: IoTClient;
  let ca: string;
  let url: string;

  /** A thing with a certificate IoT Core generated, attached to the device policy: what onboarding makes. */
  async function onboard(thingName: string): Promise<Credentials> {
    await control.send(new CreateThingCommand({ thingName }));
    const out = await control.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    const arn = out.certificateArn as string;
    await control.send(new AttachPolicyCommand({ policyName: POLICY.policyName, target: arn }));
    await control.send(
      new AttachThingPrincipalCommand({ thingName, principal: arn, thingPrincipalType: 'EXCLUSIVE_THING' }),
    );
    return {
      key: out.keyPair?.PrivateKey as string,
      cert: out.certificatePem as string,
      id: out.certificateId as string,
      arn,
    };
  }

  async function connect(creds: Credentials, clientId: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { clientId, key: creds.key, cert: creds.cert, ca, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    iot = await startIot({
      identity: { mqttsPort: 0, controlPlanePort: 0, dataDir: tmp.dir, policies: [POLICY] },
      dataPlanePort: 0,
      rules: [
        {
          ruleName: 'json',
          sql: "SELECT *, topic(3) AS mn, clientid() AS clientId, principal() AS principal FROM 'envwatch/devices/+/telemetry'",
          sqlVersion: '2016-03-23',
          actions: [{ kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest' }],
        },
      ],
      invoke: async (fn, event) => {
        calls.push({ fn, event: event as Record<string, unknown> });
        return null;
      },
    });
    control = new IoTClient({
      region: 'us-east-1',
      endpoint: iot.controlPlaneEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    ca = readFileSync(iot.caFile as string, 'utf8');
    url = iot.mqttsUrl as string;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await iot?.stop();
    control?.destroy();
    tmp.cleanup();
  });

  it('listens only with TLS when plain MQTT is not asked for', () => {
    expect(iot.mqttUrl).toBeUndefined();
    expect(url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
  });

  it('lets a device in with its certificate and client id = thing name, and runs the rules with principal() = certificate id', async () => {
    const creds = await onboard(MN);
    const device = await connect(creds, MN);

    await device.publishAsync(`envwatch/devices/${MN}/telemetry`, JSON.stringify({ w01018: 12.5 }), { qos: 1 });

    const call = await eventually(async () => calls.find((c) => c.event.mn === MN));
    expect(call.event).toMatchObject({ w01018: 12.5, clientId: MN, principal: creds.id });
  });

  it('delivers the device its own command topic and refuses a subscription outside it', async () => {
    const creds = await onboard('33112600000000000000CMD1');
    const device = await connect(creds, '33112600000000000000CMD1');
    const got: string[] = [];
    device.on('message', (topic, payload) => got.push(`${topic} ${payload}`));

    const granted = await device.subscribeAsync('envwatch/devices/33112600000000000000CMD1/cmd', { qos: 1 });
    await expect(device.subscribeAsync('envwatch/devices/#')).rejects.toThrow('Subscribe error');

    expect(granted.map((g) => g.qos)).toEqual([1]);
    await device.publishAsync('envwatch/devices/33112600000000000000CMD1/cmd', 'ping', { qos: 1 });
    await eventually(async () => (got.length > 0 ? got : undefined));
    expect(got).toEqual(['envwatch/devices/33112600000000000000CMD1/cmd ping']);
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed, in the TLS handshake', async () => {
    expect(await attempt(url, { clientId: MN, ca })).toMatch(/certificate required|closed/);

    const foreign = await (await loadOrCreateCa(`${tmp.dir}/other-ca`, [])).issueWithNewKey();
    expect(await attempt(url, { clientId: MN, ca, key: foreign.privateKeyPem, cert: foreign.certificatePem })).toMatch(
      /unknown ca|closed/,
    );
  });

  it('refuses a certificate of the local CA that the control plane does not know', async () => {
    const local = await (await loadOrCreateCa(`${tmp.dir}/iot/ca`, [])).issueWithNewKey();

    expect(await attempt(url, { clientId: MN, ca, key: local.privateKeyPem, cert: local.certificatePem })).toBe(
      'error: Connection refused: Not authorized',
    );
  });

  it('refuses a client id that is not the thing the certificate is attached to', async () => {
    const creds = await onboard(OTHER);

    expect(await attempt(url, { clientId: MN, ca, key: creds.key, cert: creds.cert })).toBe(
      'error: Connection refused: Not authorized',
    );
    expect(await attempt(url, { clientId: OTHER, ca, key: creds.key, cert: creds.cert })).toBe('connected');
  });

  it('disconnects a device that publishes under another MN', async () => {
    const creds = await onboard('33112600000000000000PUB1');
    const device = await connect(creds, '33112600000000000000PUB1');
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));

    device.publish(`envwatch/devices/${MN}/telemetry`, JSON.stringify({ spoofed: true }), { qos: 0 });

    await closed;
    expect(calls.some((c) => c.event.spoofed)).toBe(false);
  });

  it('cuts off a connected device when its certificate is deactivated, and refuses it from then on', async () => {
    const creds = await onboard('33112600000000000000OFF1');
    const device = await connect(creds, '33112600000000000000OFF1');
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));

    await control.send(new UpdateCertificateCommand({ certificateId: creds.id, newStatus: 'INACTIVE' }));

    await closed;
    expect(await attempt(url, { clientId: '33112600000000000000OFF1', ca, key: creds.key, cert: creds.cert })).toBe(
      'error: Connection refused: Not authorized',
    );
    const described = await control.send(new DescribeCertificateCommand({ certificateId: creds.id }));
    expect(described.certificateDescription?.status).toBe('INACTIVE');
  });

  it('refuses an active certificate detached from its thing', async () => {
    const creds = await onboard('33112600000000000000DET1');
    await control.send(
      new DetachThingPrincipalCommand({ thingName: '33112600000000000000DET1', principal: creds.arn }),
    );

    expect(
      (await control.send(new ListThingPrincipalsCommand({ thingName: '33112600000000000000DET1' }))).principals,
    ).toEqual([]);
    expect(await attempt(url, { clientId: '33112600000000000000DET1', ca, key: creds.key, cert: creds.cert })).toBe(
      'error: Connection refused: Not authorized',
    );
  });

  it('signs an installer’s CSR, and refuses a CSR that is not one', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=installer',
      keys: keys as never,
      signingAlgorithm: alg,
    });
    const out = await control.send(
      new CreateCertificateFromCsrCommand({ certificateSigningRequest: csr.toString('pem'), setAsActive: true }),
    );
    expect(new x509.X509Certificate(out.certificatePem as string).subject).toBe('CN=AWS IoT Certificate');
    await control.send(new CreateThingCommand({ thingName: 'CSR1' }));
    await control.send(new AttachPolicyCommand({ policyName: POLICY.policyName, target: out.certificateArn }));
    await control.send(new AttachThingPrincipalCommand({ thingName: 'CSR1', principal: out.certificateArn }));
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n`;
    expect(await attempt(url, { clientId: 'CSR1', ca, key, cert: out.certificatePem as string })).toBe('connected');

    await expect(
      control.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: 'not a csr' })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException', $metadata: { httpStatusCode: 400 } });
  });

  it('answers as IoT Core for an existing thing, an unknown policy, an unknown thing and an unsupported operation', async () => {
    await expect(control.send(new CreateThingCommand({ thingName: MN }))).resolves.toMatchObject({ thingName: MN });
    const { certificateArn } = await control.send(new CreateKeysAndCertificateCommand({ setAsActive: false }));
    await expect(
      control.send(new AttachPolicyCommand({ policyName: 'no-such-policy', target: certificateArn })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      control.send(new AttachThingPrincipalCommand({ thingName: 'no-such-thing', principal: certificateArn })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const unsupported = await fetch(`${iot.controlPlaneEndpoint}/thing-groups/g1`, { method: 'POST', body: '{}' });
    expect(unsupported.status).toBe(404);
    expect(unsupported.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(((await unsupported.json()) as { message: string }).message).toContain('supported: CreateThing');
  });
});
