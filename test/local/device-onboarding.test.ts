import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { loadOrCreateCa } from '#infra/local/services/iot/local-ca.ts';
import { x509 } from '#infra/local/services/iot/x509.ts';
import { FUNGI } from '#shared/domain/registry/qingyuan-seed.ts';
import { eventually, realAppAssembly, tempDir } from './helpers.ts';

/**
 * Onboarding an MQTT device on the embedded platform, from the real synthesized app, as an installer with an admin
 * token does it: register the device through the API, take the certificate (and key) from the answer, connect over
 * TLS as IoT Core expects, publish telemetry and read it back; then decommission it and be refused.
 */
const MN = '33112600000000000000FW07';
const CSR_MN = '33112600000000000000FW08';

interface Registered {
  item: { mn: string; status: string; transport: string; iot?: { certificates: { status: string }[] } };
  version: number;
  certificate: { certificateId: string; certificatePem: string; privateKey?: string; thingName: string };
}

/** How a connection attempt ended: connected (then closed by us), or the error or close that refused it. */
function attempt(url: string, options: IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const done = (outcome: string) => {
      client.end(true);
      resolve(outcome);
    };
    client.once('connect', () => done('connected'));
    client.once('error', (err) => done(`error: ${err.message}`));
    client.once('close', () => done('closed'));
  });
}

describe('MQTT device onboarding on the local platform', () => {
  const tmp = tempDir('onboarding');
  const dataDir = `${tmp.dir}/data`;
  let platform: Platform;
  let admin: string;
  let ca: string;

  beforeAll(async () => {
    platform = await startPlatform({ cdkOut: realAppAssembly(), dataDir, ports: await freePorts() });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    admin = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'installer-1', roles: ['admin'], townships: ['*'] },
      600,
    );
    ca = readFileSync(platform.endpoints.mqttCa, 'utf8');
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const device = (mn: string) => ({
    mn,
    enterpriseId: FUNGI,
    outletId: `${FUNGI}-DW001`,
    st: '32',
    protocol: 'json-mqtt',
    pollutants: ['w00000', 'w01018'],
    intervals: { realtimeSeconds: 60, minuteMinutes: 10 },
    password: 'install-pw-1',
  });

  it('serves MQTT over TLS only, and no plain MQTT unless asked', () => {
    expect(platform.endpoints.mqtts).toMatch(/^mqtts:\/\//);
    expect(platform.endpoints.mqtt).toBeUndefined();
    const written = JSON.parse(readFileSync(`${dataDir}/endpoints.json`, 'utf8')) as Record<string, string>;
    expect(written.mqtts).toBe(platform.endpoints.mqtts);
    expect(written.mqttCa).toBe(platform.endpoints.mqttCa);
  });

  it('registers an MQTT device with its certificate; with it the device connects over TLS and its telemetry is stored; decommissioned, it is cut off and refused', async () => {
    const res = await call('POST', '/registry/devices', device(MN));
    expect(res.status).toBe(201);
    const { certificate, item } = res.body as unknown as Registered;
    expect(item).toMatchObject({ transport: 'mqtt', iot: { certificates: [{ status: 'active' }] } });
    expect(certificate.thingName).toBe(MN);
    expect(certificate.privateKey).toContain('BEGIN RSA PRIVATE KEY');
    const tls = { ca, key: certificate.privateKey as string, cert: certificate.certificatePem };

    const client = await mqtt.connectAsync(platform.endpoints.mqtts, { clientId: MN, reconnectPeriod: 0, ...tls });
    const dataTime = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    await client.publishAsync(
      `envwatch/devices/${MN}/telemetry`,
      JSON.stringify({ cn: '2011', dataTime, values: { w01018: { rtd: 21.5 } } }),
      { qos: 1 },
    );
    const window = `from=${encodeURIComponent(new Date(Date.parse(dataTime) - 1000).toISOString())}&to=${encodeURIComponent(new Date(Date.parse(dataTime) + 1000).toISOString())}`;
    const readings = await eventually(
      async () => {
        const r = await call('GET', `/devices/${MN}/readings?pollutant=w01018&kind=realtime&${window}`);
        return (r.body.items as unknown[] | undefined)?.length
          ? (r.body.items as { values: { rtd: number } }[])
          : undefined;
      },
      15_000,
      'the reading of the onboarded device',
    );
    expect(readings[0]?.values.rtd).toBe(21.5);

    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const retired = await call('POST', `/registry/devices/${MN}/decommission`);
    expect(retired.status).toBe(200);
    expect(retired.body).toMatchObject({
      item: { status: 'retired', iot: { certificates: [{ status: 'inactive' }] } },
    });
    await closed;
    expect(await attempt(platform.endpoints.mqtts, { clientId: MN, ...tls })).toBe(
      'error: Connection refused: Not authorized',
    );
  });

  it('refuses a client without a certificate, and one with a certificate of another CA', async () => {
    expect(await attempt(platform.endpoints.mqtts, { clientId: MN, ca })).toMatch(/certificate required|closed/);
    const foreign = await (await loadOrCreateCa(`${tmp.dir}/another-ca`, [])).issueWithNewKey();
    expect(
      await attempt(platform.endpoints.mqtts, {
        clientId: MN,
        ca,
        key: foreign.privateKeyPem,
        cert: foreign.certificatePem,
      }),
    ).toMatch(/unknown ca|closed/);
  });

  it('signs the CSR of a key the installer keeps, answering no private key, and that key connects', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${CSR_MN}`,
      keys: keys as never,
      signingAlgorithm: alg,
    });

    const res = await call('POST', '/registry/devices', { ...device(CSR_MN), csr: csr.toString('pem') });

    expect(res.status).toBe(201);
    const { certificate } = res.body as unknown as Registered;
    expect(certificate).not.toHaveProperty('privateKey');
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n`;
    expect(
      await attempt(platform.endpoints.mqtts, { clientId: CSR_MN, ca, key, cert: certificate.certificatePem }),
    ).toBe('connected');
    const bad = await call('POST', '/registry/devices', {
      ...device('33112600000000000000FW09'),
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errors: [{ field: 'body.csr' }] });
    expect((await call('GET', '/registry/devices/33112600000000000000FW09')).status).toBe(404);
  });

  it('issues the seeded MQTT device its first certificate, and rotates it: the old one is refused', async () => {
    const seeded = '33112600000000000000FW01';
    const first = await call('POST', `/registry/devices/${seeded}/certificate`, {});
    expect(first.status).toBe(201);
    expect((await call('POST', `/registry/devices/${seeded}/certificate`, {})).status).toBe(409);
    const second = await call('POST', `/registry/devices/${seeded}/certificate`, { rotate: true });
    expect(second.status).toBe(201);

    const old = (first.body as unknown as Registered).certificate;
    const now = (second.body as unknown as Registered).certificate;
    expect(
      await attempt(platform.endpoints.mqtts, {
        clientId: seeded,
        ca,
        key: old.privateKey as string,
        cert: old.certificatePem,
      }),
    ).toBe('error: Connection refused: Not authorized');
    expect(
      await attempt(platform.endpoints.mqtts, {
        clientId: seeded,
        ca,
        key: now.privateKey as string,
        cert: now.certificatePem,
      }),
    ).toBe('connected');
  });
});
