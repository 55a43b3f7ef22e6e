import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeEncryptedFrame,
  encodePacket,
  encodeSegment,
  isoToBeijing,
} from '#shared/domain/hj212/codec.ts';
import { DEVICES } from '#shared/domain/registry/qingyuan-seed.ts';
import { packetOf, useDeviceLink } from './device-link.ts';
import { apiAs, eventually, usePlatform } from './helpers.ts';

/**
 * The scheduled 90-day key rotation on the embedded platform, from the real synthesized app: an HJ 212-2025 device
 * over TCP and one over MQTT, each registered with its SM4 key; the local schedule runner fires the KeyRotation rule
 * as if 91 days had passed; the TCP device gets its CN 1014 from the gateway task holding its connection (through the
 * gateway command topic), the MQTT device on its command topic, each encrypted under its current key; each answers
 * 9011 / 9012 and the new key becomes current; data under the new key is read, and under the old one still within
 * the grace window. Then the MQTT device asks for a key itself (CN 1014 without NewSK): ingest answers it through the
 * same command path, and its 9012 makes that key current.
 */
const TCP_MN = '33112600000000000000KR01';
const MQTT_MN = '33112600000000000000KR02';
const TCP_KEY = 'h3Nw8qLz5RtB2xVe';
const MQTT_KEY = 'Zp4mT9wQ2vKx7Ls3';
const PW = 'Kr01-2026';

describe('HJ 212-2025 key rotation on the local platform', () => {
  const local = usePlatform('key-rotation', { plainMqtt: true });
  const api = apiAs(local, 'admin-1', ['admin']);
  const link = useDeviceLink(local);
  let device: MqttClient;
  const mqttFrames: Buffer[] = [];
  /** the MQTT device's key once the scheduled push is current */
  let mqttKey = MQTT_KEY;

  beforeAll(async () => {
    const mqttUrl = local.platform.endpoints.mqtt as string;
    device = await mqtt.connectAsync(mqttUrl, { clientId: MQTT_MN, reconnectPeriod: 0 });
    device.on('message', (_topic, payload) => mqttFrames.push(Buffer.from(payload)));
    await device.subscribeAsync(`envwatch/devices/${MQTT_MN}/cmd`, { qos: 1 });
  });

  afterAll(async () => {
    await device?.endAsync();
  });

  const base = Date.now() - 3 * 3_600_000;
  const minute = (i: number) => new Date(Math.floor(base / 60_000) * 60_000 + i * 60_000);
  let qn = 0;
  const data = (mn: string, i: number, key: string) =>
    encodeEncryptedFrame(
      encodeSegment({
        qn: isoToBeijing(new Date(base + qn++), true),
        st: '32',
        cn: '2051',
        pw: PW,
        mn,
        flag: 9,
        cp: `DataTime=${isoToBeijing(minute(i))};w01018-Avg=${20 + i},w01018-Flag=N`,
      }),
      Buffer.from(key, 'latin1'),
    );
  const answer = (mn: string, pushQn: string, cn: '9011' | '9012') =>
    encodePacket({ qn: pushQn, st: '91', cn, pw: PW, mn, flag: 8, cp: cn === '9011' ? 'QnRtn=1' : 'ExeRtn=1' });
  const averages = async (mn: string) => {
    const from = encodeURIComponent(minute(-1).toISOString());
    const to = encodeURIComponent(minute(60).toISOString());
    const r = await api('GET', `/devices/${mn}/readings?pollutant=w01018&kind=minute&from=${from}&to=${to}&limit=100`);
    return ((r.body.items as { values: { avg: number } }[] | undefined) ?? []).map((x) => x.values.avg);
  };
  const statuses = async (mn: string) => {
    const d = await api('GET', `/registry/devices/${mn}`);
    return (d.body.item as { sm4: { versions: { status: string }[] } }).sm4.versions.map((v) => v.status);
  };

  it('registers a TCP and an MQTT 2025 device with their keys, and reads their encrypted data', async () => {
    const seed = DEVICES.find((d) => d.mn === '33112600000000000000BW01');
    for (const [mn, key, transport] of [
      [TCP_MN, TCP_KEY, 'tcp'],
      [MQTT_MN, MQTT_KEY, 'mqtt'],
    ] as const) {
      const created = await api('POST', '/registry/devices', {
        ...seed,
        mn,
        protocol: 'hj212-2025',
        transport,
        password: PW,
        sm4Key: key,
      });
      expect(created.status).toBe(201);
    }
    expect(packetOf((await link.send(data(TCP_MN, 1, TCP_KEY), 1))[0]).cn).toBe('9014');
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, data(MQTT_MN, 1, MQTT_KEY), { qos: 1 });
    await eventually(async () => ((await averages(TCP_MN)).includes(21) ? true : undefined), 15_000, 'TCP reading');
    await eventually(async () => ((await averages(MQTT_MN)).includes(21) ? true : undefined), 15_000, 'MQTT reading');
  });

  it('pushes new keys from the 90-day schedule over TCP and MQTT; each becomes current on the 9012, the old one still read in the grace window', async () => {
    const schedules = (await (await fetch(`${local.platform.endpoints.api}/_local/schedules`)).json()) as {
      schedules: { ruleName: string; scheduleExpression: string }[];
    };
    const rule = schedules.schedules.find((r) => /keyrotation/i.test(r.ruleName));
    expect(rule?.scheduleExpression).toBe('cron(0 18 * * ? *)');
    const in91Days = new Date(Date.now() + 91 * 86_400_000).toISOString();
    const fired = await fetch(
      `${local.platform.endpoints.api}/_local/schedules/${encodeURIComponent(rule?.ruleName ?? '')}/run?time=${in91Days}`,
      { method: 'POST' },
    );
    expect(fired.status).toBe(202);

    // TCP: the gateway task holding the connection writes the 1014, with the PW, under the current key
    await eventually(async () => (link.frames.length >= 2 ? true : undefined), 20_000, 'the TCP push');
    const tcpPush = packetOf(link.frames[1], TCP_KEY);
    expect(tcpPush).toMatchObject({ cn: '1014', mn: TCP_MN, pw: PW, encryption: { form: 'binary' } });
    const newTcpKey = tcpPush.cp.params.NewSK as string;
    expect(newTcpKey).toMatch(/^[0-9A-Za-z]{16}$/);
    // MQTT: the frame on the device's command topic, under its current key
    await eventually(async () => (mqttFrames.length >= 1 ? true : undefined), 20_000, 'the MQTT push');
    expect(decodeFrame(mqttFrames[0] as Buffer).ok).toBe(false);
    const mqttPush = packetOf(mqttFrames[0], MQTT_KEY);
    expect(mqttPush).toMatchObject({ cn: '1014', mn: MQTT_MN });
    const newMqttKey = mqttPush.cp.params.NewSK as string;

    // both pushes are commands with their QN, the key nowhere in them
    for (const [mn, push, key] of [
      [TCP_MN, tcpPush, newTcpKey],
      [MQTT_MN, mqttPush, newMqttKey],
    ] as const) {
      const command = await api('GET', `/devices/${mn}/commands/${push.qn}`);
      expect(command.body).toMatchObject({ cn: '1014', status: 'sent', requestedBy: 'system:key-rotation' });
      expect(JSON.stringify(command.body)).not.toContain(key);
      expect(await statuses(mn)).toEqual(['current', 'pending']);
    }

    // the devices answer 9011 and 9012
    link.write(answer(TCP_MN, tcpPush.qn as string, '9011'));
    link.write(answer(TCP_MN, tcpPush.qn as string, '9012'));
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, answer(MQTT_MN, mqttPush.qn as string, '9011'));
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, answer(MQTT_MN, mqttPush.qn as string, '9012'));
    for (const [mn, push] of [
      [TCP_MN, tcpPush],
      [MQTT_MN, mqttPush],
    ] as const) {
      await eventually(
        async () => ((await statuses(mn)).join() === 'previous,current' ? true : undefined),
        20_000,
        `${mn}: the new key current`,
      );
      await eventually(
        async () =>
          (await api('GET', `/devices/${mn}/commands/${push.qn}`)).body.status === 'executed' ? true : undefined,
        20_000,
        `${mn}: the push executed`,
      );
    }

    // data under the new key, and under the old one within the grace window
    expect(packetOf((await link.send(data(TCP_MN, 30, newTcpKey), 1))[0]).cn).toBe('9014');
    expect(packetOf((await link.send(data(TCP_MN, 31, TCP_KEY), 1))[0]).cn).toBe('9014');
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, data(MQTT_MN, 30, newMqttKey), { qos: 1 });
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, data(MQTT_MN, 31, MQTT_KEY), { qos: 1 });
    for (const mn of [TCP_MN, MQTT_MN]) {
      await eventually(
        async () => {
          const avg = await averages(mn);
          return avg.includes(50) && avg.includes(51) ? true : undefined;
        },
        20_000,
        `${mn}: readings under both keys`,
      );
    }
    const audit = await api('GET', `/registry/devices/${TCP_MN}`);
    expect(JSON.stringify(audit.body)).not.toContain(newTcpKey);
    mqttKey = newMqttKey;
  });

  it("answers an MQTT device's own key request with a push on its command topic; its 9012 makes the key current", async () => {
    const before = mqttFrames.length;
    const requestQn = isoToBeijing(new Date(base + qn++), true);
    const request = encodeEncryptedFrame(
      encodeSegment({
        qn: requestQn,
        st: '91',
        cn: '1014',
        pw: PW,
        mn: MQTT_MN,
        flag: 9,
        cp: `SKCreateTime=${requestQn}`,
      }),
      Buffer.from(mqttKey, 'latin1'),
    );
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, request, { qos: 1 });
    await eventually(async () => (mqttFrames.length > before ? true : undefined), 20_000, 'the answer to the request');
    const push = packetOf(mqttFrames[before], mqttKey);
    expect(push).toMatchObject({ cn: '1014', mn: MQTT_MN, flag: 9 });
    expect(push.qn).not.toBe(requestQn);
    const newKey = push.cp.params.NewSK as string;
    expect(newKey).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(newKey).not.toBe(mqttKey);
    const command = await api('GET', `/devices/${MQTT_MN}/commands/${push.qn}`);
    expect(command.body).toMatchObject({
      cn: '1014',
      status: 'sent',
      requestedBy: 'system:key-rotation',
      route: 'mqtt',
    });
    expect(JSON.stringify(command.body)).not.toContain(newKey);
    const ring = await api('GET', `/registry/devices/${MQTT_MN}`);
    const versions = (ring.body.item as { sm4: { versions: { status: string; source: string }[] } }).sm4.versions;
    expect(versions.at(-1)).toMatchObject({ status: 'pending', source: 'device-request' });

    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, answer(MQTT_MN, push.qn as string, '9011'));
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, answer(MQTT_MN, push.qn as string, '9012'));
    await eventually(
      async () => ((await statuses(MQTT_MN)).join() === 'previous,previous,current' ? true : undefined),
      20_000,
      'the requested key current',
    );
    await device.publishAsync(`envwatch/devices/${MQTT_MN}/hj212`, data(MQTT_MN, 40, newKey), { qos: 1 });
    await eventually(async () => ((await averages(MQTT_MN)).includes(60) ? true : undefined), 20_000, 'data under it');
  });
});
