import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { BAMBOO } from '#shared/domain/registry/qingyuan-seed.ts';
import { apiAs, eventually, sentMessages, usePlatform } from './helpers.ts';

/**
 * HJ 212-2025 data and the alarm engine on the local platform, from the real synthesized app: a device cut off during
 * an exceedance re-sends its backlog (RF=1) over MQTT; the exceedance becomes one retrospective record (补传超标) that
 * the duty officer finds with `retrospective=true`, nobody is paged, and a second re-send of the backlog records
 * nothing. A failed standard-sample check (CN 2062) opens a device-quality alarm that is paged like a device fault.
 * DataTimes are back-dated: hours of device time pass in seconds.
 */
const BW01 = '33112600000000000000BW01'; // bamboo factory, water, GB 8978 一级 (COD 100 mg/L, hourly)

interface AlarmView {
  alarmId: string;
  type: string;
  pollutant?: string;
  level: number;
  state: string;
  summary: string;
  notifyDue?: string;
  retrospective?: { from: string; to: string; count: number; peak: number; resent: boolean };
  lastSignal: { reasonZh: string; evidence: { dataTime: string; packet?: { rawSha256: string } }[] };
}

describe('HJ 212-2025 alarms on the local platform', () => {
  const local = usePlatform('hj212-2025-alarms', { plainMqtt: true });
  const duty = apiAs(local, 'duty-1', ['duty_officer']);
  let device: MqttClient;

  beforeAll(async () => {
    device = await mqtt.connectAsync(local.platform.endpoints.mqtt as string, { clientId: BW01, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await device?.endAsync();
  });

  /** a plaintext HJ 212-2025 packet (Flag=8: version bits 000010, no reply over MQTT) */
  const send = async (cn: string, dataTime: Date, cp: string, resent = false) => {
    const packet = encodePacket({
      qn: isoToBeijing(new Date(), true),
      st: '32',
      cn,
      pw: '123456',
      mn: BW01,
      flag: 8,
      resent,
      cp: `DataTime=${isoToBeijing(dataTime.toISOString())};${cp}`,
    });
    await device.publishAsync(`envwatch/devices/${BW01}/hj212`, packet, { qos: 1 });
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await duty<T>('GET', path);
    expect(res.status).toBe(200);
    return res.body;
  };
  const alarms = async (query: string) =>
    (await api<{ items: AlarmView[] }>(`/alarms?enterprise=${BAMBOO}${query}`)).items;
  const messages = () => sentMessages(local.platform);
  const hour = (back: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - back * 3_600_000);
  const cod = (avg: number) => `w01018-Avg=${avg},w01018-Flag=N`;

  it('records an exceedance in a re-sent backlog once, as 补传超标, and pages nobody', async () => {
    await send('2061', hour(2), cod(60)); // the live hour: the device is back
    await eventually(
      async () => ((await api<{ kinds: unknown[] }>(`/devices/${BW01}/latest`)).kinds.length > 0 ? true : undefined),
      20_000,
      'the live hour stored',
    );
    // the backlog of the hours it was cut off, re-sent (RF=1) one packet per hour, oldest first
    const backlog: [number, number][] = [
      [9, 60],
      [8, 180],
      [7, 240],
      [6, 70],
    ];
    let record: AlarmView | undefined;
    for (const [back, avg] of backlog) {
      await send('2061', hour(back), cod(avg), true);
      if (avg > 100) {
        const seen = record?.retrospective?.count ?? 0;
        record = await eventually(
          async () => {
            const found = (await alarms('&retrospective=true')).find((a) => a.type === 'exceedance');
            return found && (found.retrospective?.count ?? 0) > seen ? found : undefined;
          },
          20_000,
          'the retrospective record',
        );
      }
    }
    expect(record).toMatchObject({
      pollutant: 'w01018',
      state: 'active',
      retrospective: { from: hour(8).toISOString(), to: hour(7).toISOString(), count: 2, peak: 240, resent: true },
    });
    expect(record?.notifyDue).toBeUndefined();
    expect(record?.lastSignal.reasonZh).toContain('补传');
    expect(record?.lastSignal.evidence.every((e) => e.packet?.rawSha256.length === 64)).toBe(true);

    // the same backlog re-sent again: nothing new
    for (const [back, avg] of backlog) await send('2061', hour(back), cod(avg), true);
    await new Promise((r) => setTimeout(r, 2_000));
    const all = await alarms('');
    expect(all.filter((a) => a.type === 'exceedance')).toHaveLength(1);
    expect((await alarms('&retrospective=false')).filter((a) => a.type === 'exceedance')).toEqual([]);
    // nothing about it on any topic or phone
    const sent = await messages();
    expect(sent.filter((m) => m.message.includes(record?.alarmId as string))).toEqual([]);
    expect(sent.filter((m) => m.phoneNumber && m.message.includes('化学需氧量'))).toEqual([]);
  });

  it('opens a device-quality alarm for a failed standard-sample check (CN 2062) and pages it', async () => {
    await send('2062', hour(1), 'w01018-SampleRd=63.5;w01018-StandardValue=50.0;w01018-ResultType=0');
    const alarm = await eventually(
      async () => (await alarms('')).find((a) => a.type === 'standard_check_failed'),
      20_000,
      'the standard-check alarm',
    );
    expect(alarm).toMatchObject({ pollutant: 'w01018', level: 3, state: 'active' });
    expect(alarm.retrospective).toBeUndefined();
    expect(alarm.lastSignal.reasonZh).toContain('标准值 50');
    await eventually(
      async () => ((await messages()).some((m) => m.message.includes(alarm.alarmId)) ? true : undefined),
      20_000,
      'the alarm announced',
    );
    // the check itself is stored as a reading of kind check
    const from = encodeURIComponent(hour(2).toISOString());
    const readings = await api<{ items: { values: Record<string, number> }[] }>(
      `/devices/${BW01}/readings?pollutant=w01018&kind=check&from=${from}`,
    );
    expect(readings.items.map((r) => r.values)).toEqual([{ sampleRd: 63.5, standardValue: 50, result: 0 }]);
  });
});
