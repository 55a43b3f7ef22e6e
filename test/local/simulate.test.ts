import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { registryCredentials } from '../../scripts/simulate/credentials.ts';
import { runSimulation, type Simulation } from '../../scripts/simulate/runner.ts';
import { eventually, realAppAssembly, tempDir } from './helpers.ts';

/**
 * What a new user does: `npm start`, then `npm run simulate`. Simulated DAQs of the seeded units send over TCP
 * (HJ 212 through the gateway) and MQTT over TLS (JSON, with a certificate the simulator got from the registry API as an
 * installer would); their readings come back through the officials' API and the sealed archive verifies.
 */
const TCP_DEVICE = '33112600000000000000BW01'; // bamboo products, hj212-2017 over TCP
const MQTT_DEVICE = '33112600000000000000FW01'; // edible fungi, JSON over MQTT

describe('simulated devices on the local platform', () => {
  const tmp = tempDir('simulate');
  let platform: Platform;
  let sim: Simulation | undefined;
  let token: string;
  let admin: string;

  beforeAll(async () => {
    platform = await startPlatform({
      cdkOut: realAppAssembly(),
      dataDir: `${tmp.dir}/data`,
      ports: await freePorts(),
    });
    const keys = await loadOrCreateKeys(`${tmp.dir}/data`);
    const { issuer, audience } = platform.endpoints.auth;
    token = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'duty-1', roles: ['duty_officer'], townships: ['*'] },
      600,
    );
    admin = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'installer-1', roles: ['admin'], townships: ['*'] },
      600,
    );
  });

  afterAll(async () => {
    await sim?.stop(0);
    await platform?.stop();
    tmp.cleanup();
  });

  const get = async (path: string) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('turns simulated TCP and MQTT devices into readings, latest values and a verified archive', async () => {
    const start = Date.now() - 10 * 60_000;
    const credentials = registryCredentials({
      api: platform.endpoints.api,
      token: admin,
      dataDir: `${tmp.dir}/data`,
      ca: readFileSync(platform.endpoints.mqttCa, 'utf8'),
    });
    sim = runSimulation(
      { speed: 60, seed: 7, start, only: [TCP_DEVICE, MQTT_DEVICE], reportEveryMs: 0, durationMs: 60_000, credentials },
      { mqtts: platform.endpoints.mqtts, ...(platform.endpoints.hj212 ? { hj212: platform.endpoints.hj212 } : {}) },
    );
    const from = new Date(start - 60_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    for (const mn of [TCP_DEVICE, MQTT_DEVICE]) {
      const page = await eventually(
        async () => {
          const r = await get(`/devices/${mn}/readings?pollutant=w01018&kind=realtime&from=${from}&to=${to}`);
          const items = (r.body.items ?? []) as { values: { rtd?: number }; flag?: string }[];
          return items.length >= 3 ? items : undefined;
        },
        30_000,
        `realtime COD readings of ${mn}`,
      );
      expect(page.every((i) => typeof i.values.rtd === 'number' && i.flag === 'N')).toBe(true);
      const latest = await get(`/devices/${mn}/latest`);
      expect(latest.status).toBe(200);
      expect(JSON.stringify(latest.body)).toContain('w01018');
    }
    const stats = sim.stats();
    expect(JSON.stringify(stats)).toContain(TCP_DEVICE.slice(-4));
    await sim.stop(500);
    sim = undefined;

    const day = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    for (const mn of [TCP_DEVICE, MQTT_DEVICE]) {
      // packets sent just before the stop may still be on their way into the archive (its head moves first): a break
      // that is real stays, one that is a write in flight heals within moments
      const verify = await eventually(
        async () => {
          const v = await get(`/devices/${mn}/archive/verify?from=${day}&to=${day}`);
          return v.status === 200 && v.body.ok === true ? v : undefined;
        },
        10_000,
        `a verified archive of ${mn}`,
      );
      expect(verify.body).toMatchObject({ ok: true });
    }
  });
});
