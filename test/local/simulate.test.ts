import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import {
  localDataGapJob,
  realtimeArrivals,
  registryCredentials,
  registryKeys,
} from '../../scripts/simulate/credentials.ts';
import { runSimulation, type Simulation } from '../../scripts/simulate/runner.ts';
import { eventually, realAppAssembly, tempDir } from './helpers.ts';

/**
 * What a new user does: `npm start`, then `npm run simulate`. Simulated DAQs of the seeded units send over TCP
 * (HJ 212 through the gateway) and MQTT over TLS (JSON, with a certificate the simulator got from the registry API as an
 * installer would); their readings come back through the officials' API and the sealed archive verifies. The WWTP's
 * DAQ speaks HJ 212-2025 (upgraded in place, its SM4 key entered through the registry): its encrypted data is decoded
 * and stored next to the 2017 device's, and a heartbeat-only quiet period still opens a data-gap alarm.
 */
const TCP_DEVICE = '33112600000000000000BW01'; // bamboo products, hj212-2017 over TCP
const MQTT_DEVICE = '33112600000000000000FW01'; // edible fungi, JSON over MQTT
const DEVICE_2025 = '33112600000000000000AB01'; // the WWTP, hj212-2025 (SM4) over TCP

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
      // packets sent just before the stop may still be on their way into the archive: the verification retries
      // for moments (a record is one write, so a real break stays broken)
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

  it("decodes and stores a 2025 device's encrypted data through a key rotation, and a heartbeat-only quiet period opens a data gap", async () => {
    const access = { api: platform.endpoints.api, token: admin };
    const start = Date.now() - 2 * 3_600_000;
    sim = runSimulation(
      {
        speed: 60,
        seed: 11,
        start,
        only: [DEVICE_2025, TCP_DEVICE],
        reportEveryMs: 0,
        durationMs: 90_000,
        keys: registryKeys({ ...access, dataDir: `${tmp.dir}/data` }),
        dataGapJob: localDataGapJob(platform.endpoints.api),
        arrivals: realtimeArrivals(access),
      },
      { ...(platform.endpoints.hj212 ? { hj212: platform.endpoints.hj212 } : {}) },
    );
    const device = await get(`/registry/devices/${DEVICE_2025}`);
    expect(device.status).toBe(200);
    const from = new Date(start - 60_000).toISOString();
    const to = new Date(Date.now()).toISOString();
    const realtime = async (mn: string) =>
      ((await get(`/devices/${mn}/readings?pollutant=w01018&kind=realtime&from=${from}&to=${to}&limit=500`)).body
        .items ?? []) as { dataTime: string; values: { rtd?: number } }[];
    const stored = await eventually(
      async () => {
        const items = await realtime(DEVICE_2025);
        return items.length >= 3 ? items : undefined;
      },
      30_000,
      'readings of the 2025 device',
    );
    expect(stored.every((i) => typeof i.values.rtd === 'number')).toBe(true);
    const registered = (await get(`/registry/devices/${DEVICE_2025}`)).body.item as Record<string, unknown>;
    expect(registered).toMatchObject({
      protocol: 'hj212-2025',
      protocolSeen: { version: '2025' },
      sm4: { encrypting: true, versions: [{ version: 1, status: 'current', source: 'registration' }] },
    });

    // an administrator asks for a new key: the gateway pushes it (CN 1014) on the device's connection, the device answers
    // 9011/9012 and encrypts with it; its readings go on
    expect(sim.command('rotate-key AB01')).toMatch(/asking the registry for a new SM4 key/);
    await eventually(
      async () => {
        const item = (await get(`/registry/devices/${DEVICE_2025}`)).body.item as {
          sm4: { versions: { version: number; status: string }[] };
        };
        return item.sm4.versions.find((v) => v.version === 2)?.status === 'current' ? true : undefined;
      },
      30_000,
      'the pushed key current',
    );
    expect(sim.stats().devices.find((d) => d.mn === DEVICE_2025)?.keyChanges).toBe(1);

    expect(sim.command('quiet AB01 20')).toMatch(/only 9015 heartbeats/);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(sim.command('datagaps AB01')).toMatch(/data-gap job will run/);
    const gaps = async () => {
      const out: { mn: string; key: string; state: string }[] = [];
      for (const state of ['active', 'cleared'])
        out.push(...(((await get(`/alarms?type=data_gap&state=${state}&limit=100`)).body.items ?? []) as typeof out));
      return out;
    };
    // raised as of the quiet device's last data + 10 min; the RF=1 backlog after the quiet period clears it again
    const gap = await eventually(
      async () => (await gaps()).find((a) => a.mn === DEVICE_2025 && a.key === 'data_gap#realtime'),
      45_000,
      'a real-time data gap of the quiet device',
    );
    expect(['active', 'cleared']).toContain(gap.state);
    // the 2017 device kept sending: no gap for it
    expect((await gaps()).filter((a) => a.mn === TCP_DEVICE)).toEqual([]);
    const quiet = sim.stats().devices.find((d) => d.mn === DEVICE_2025);
    expect(quiet?.heartbeats).toBeGreaterThan(0);

    // after the quiet period the kept data comes re-sent (RF=1): every simulated minute from the first reading on is
    // stored, under the old key, the new key and through the quiet period, once each
    await eventually(
      async () => ((sim?.stats().devices.find((d) => d.mn === DEVICE_2025)?.resent ?? 0) > 0 ? true : undefined),
      30_000,
      're-sent data',
    );
    // the simulation goes on meanwhile and packets are stored in parallel, so a later minute may land before an earlier
    // one: wait for a run of minutes with no gap at least as long as what was sent (a minute lost stays a gap)
    const sent = sim.stats().devices.find((d) => d.mn === DEVICE_2025)?.byCn['2011'] ?? 0;
    const steps = (times: number[]) => new Set(times.slice(1).map((t, i) => t - (times[i] as number)));
    const all = await eventually(
      async () => {
        const times = (await realtime(DEVICE_2025)).map((i) => Date.parse(i.dataTime)).sort((a, b) => a - b);
        return times.length >= sent && steps(times).size === 1 ? times : undefined;
      },
      30_000,
      `${sent} real-time readings of the 2025 device, one a minute`,
    );
    expect(all.length).toBeGreaterThanOrEqual(sent);
    expect(steps(all)).toEqual(new Set([60_000]));
    await sim.stop(500);
    sim = undefined;
  }, 120_000);
});
