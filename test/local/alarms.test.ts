import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACTS } from '#shared/domain/alarms/notify.ts';
import { CN_CALENDAR } from '#shared/domain/calendar/cn-holidays.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { BAMBOO, BOILER, PENCIL, WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import { apiAs, eventually, localClientConfig, sentMessages, usePlatform } from './helpers.ts';

/**
 * The alarm engine on the local platform, from the real synthesized app: devices publish over MQTT, the IoT rules
 * feed the evaluator, alarms open at the right level, reach the right people once (the local SNS log), officials
 * acknowledge through the API, the scheduled data-gap job raises a gap and the device's return clears it.
 * DataTimes are back-dated so that hours of device time pass in seconds.
 */
const BW01 = '33112600000000000000BW01'; // bamboo factory, water, simplified permit, GB 8978 一级 (COD 100)
const AB01 = '33112600000000000000AB01'; // WWTP, key unit

/** The fields of an alarm (GET /alarms) these tests read. */
interface AlarmView {
  alarmId: string;
  key: string;
  mn: string;
  type: string;
  pollutant?: string;
  level: number;
  state: string;
  summary: string;
  acknowledgedBy?: string;
  clearMode?: string;
  clearedBy?: string;
  lastSignal: { reasonZh: string; evidence: { pollutant: string; value: number }[] };
  items?: AlarmView[];
}

interface Captured {
  at: string;
  phoneNumber?: string;
  topicArn?: string;
  message: string;
  messageAttributes?: Record<string, { StringValue?: string }>;
}

describe('alarm engine on the local platform', () => {
  // plain MQTT (the debugging listener): devices here publish as their MN without certificates; device
  // authentication over TLS is device-onboarding.test.ts's subject
  const local = usePlatform('alarms', { plainMqtt: true });
  const duty = apiAs(local, 'duty-1', ['duty_officer']);
  const clients = new Map<string, MqttClient>();

  afterAll(async () => {
    for (const c of clients.values()) await c.endAsync();
  });

  const client = async (mn: string) => {
    const existing = clients.get(mn);
    if (existing) return existing;
    const c = await mqtt.connectAsync(local.platform.endpoints.mqtt as string, { clientId: mn, reconnectPeriod: 0 });
    clients.set(mn, c);
    return c;
  };
  const hj212 = async (mn: string, cn: string, dataTime: Date, cp: string, st = '32', flag = 4) => {
    const packet = encodePacket({
      qn: isoToBeijing(new Date(), true),
      st,
      cn,
      pw: '123456',
      mn,
      flag,
      cp: `DataTime=${isoToBeijing(dataTime.toISOString())};${cp}`,
    });
    await (await client(mn)).publishAsync(`envwatch/devices/${mn}/hj212`, packet, { qos: 1 });
  };
  const messages = () => sentMessages<Captured>(local.platform);
  const api = (method: string, path: string, body?: unknown) => duty<AlarmView>(method, path, body);
  const alarmsOf = async (enterprise: string) =>
    (await api('GET', `/alarms?enterprise=${enterprise}`)).body.items ?? [];
  const alarmOf = (enterprise: string, type: string, state?: string) =>
    eventually(
      async () =>
        (await alarmsOf(enterprise)).find((a) => a.type === type && (state === undefined || a.state === state)),
      20_000,
      `${type} alarm at ${enterprise}${state ? ` (${state})` : ''}`,
    );
  const pace = () => new Promise((r) => setTimeout(r, 100));

  const hour = (back: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - back * 3_600_000);
  const minutesAgo = (m: number) => new Date(Math.floor(Date.now() / 60_000) * 60_000 - m * 60_000);

  it('opens one 二级 exceedance for an hourly COD at 2.5× the limit and tells the three audiences once', async () => {
    const cp = 'w01018-Avg=250.0,w01018-Flag=N;w21003-Avg=3.1,w21003-Flag=N;w00000-Avg=5.2,w00000-Flag=N';
    await hj212(BW01, '2061', hour(3), cp);
    const alarm = await alarmOf(BAMBOO, 'exceedance');
    expect(alarm).toMatchObject({ pollutant: 'w01018', level: 2, state: 'active', mn: BW01 });
    expect(alarm.summary).toContain('化学需氧量');

    // the same hourly packet delivered three more times: still one alarm, no new message
    const sent = await eventually(
      async () => {
        const all = await messages();
        return all.filter((m) => m.message.includes(alarm.alarmId)).length === 3 ? all : undefined;
      },
      10_000,
      'three topic messages',
    );
    for (let i = 0; i < 3; i++) await hj212(BW01, '2061', hour(3), cp);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await messages();
    expect(after.length).toBe(sent.length);
    expect((await alarmsOf(BAMBOO)).filter((a) => a.type === 'exceedance')).toHaveLength(1);

    // three topics (bureau, regulator, enterprise) and SMS to the duty officers, the regulator desk and the unit
    const topics = after.filter((m) => m.topicArn && m.message.includes(alarm.alarmId));
    expect(topics.map((m) => m.messageAttributes?.audience?.StringValue).sort()).toEqual([
      'bureau',
      'enterprise',
      'regulator',
    ]);
    const texts = after.filter((m) => m.phoneNumber && m.message.includes('化学需氧量250'));
    const phones = texts.map((m) => m.phoneNumber);
    const bureau = SAMPLE_CONTACTS.bureau[0]?.map((c) => `+86${c.phone}`) ?? [];
    expect(phones).toEqual(expect.arrayContaining([...bureau, '+8613800000301', '+8613800000101']));
    expect(new Set(phones).size).toBe(phones.length);
    const sms = texts[0]?.message ?? '';
    expect(sms).toMatch(/^【庆元环保】二级超标：.*化学需氧量250mg\/L（限值100）/);
  });

  it('records who acknowledged, and clears the exceedance once an hourly value is back below 0.9 × the limit', async () => {
    const alarm = await alarmOf(BAMBOO, 'exceedance', 'active');
    const ack = await api('POST', `/alarms/${alarm.alarmId}/acknowledge`, { note: '已电话通知企业' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'duty-1' });

    // 95 is under the limit but not clearly: the alarm holds (hysteresis)
    await hj212(BW01, '2061', hour(2), 'w01018-Avg=95.0,w01018-Flag=N;w00000-Avg=5.0,w00000-Flag=N');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await api('GET', `/alarms/${alarm.alarmId}`)).body.state).toBe('acknowledged');
    await hj212(BW01, '2061', hour(1), 'w01018-Avg=42.0,w01018-Flag=N;w00000-Avg=5.1,w00000-Flag=N');
    const cleared = await eventually(
      async () => {
        const a = (await api('GET', `/alarms/${alarm.alarmId}`)).body;
        return a.state === 'cleared' ? a : undefined;
      },
      10_000,
      'the exceedance to clear',
    );
    expect(cleared).toMatchObject({ clearMode: 'auto', clearedBy: 'system' });

    const timeline = (await api('GET', `/alarms/${alarm.alarmId}/timeline`)).body.items as unknown as {
      type: string;
      by: string;
    }[];
    expect(timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['open', 'notified', 'ack', 'clear']));
    expect(timeline.find((e) => e.type === 'ack')?.by).toBe('duty-1');
    // a late copy of the 2.5× hour does not reopen what cleared
    await hj212(BW01, '2061', hour(3), 'w01018-Avg=250.0,w01018-Flag=N');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await alarmsOf(BAMBOO)).filter((a) => a.type === 'exceedance' && a.state !== 'cleared')).toHaveLength(0);
  });

  it('raises 治污设施异常 when production runs for 30 minutes while the treatment facility is off', async () => {
    for (let m = 40; m >= 0; m -= 2) {
      const cod = (60 + ((m * 7) % 11)).toFixed(1);
      await hj212(
        BW01,
        '2011',
        minutesAgo(m),
        `w01018-Rtd=${cod},w01018-Flag=N;w00000-Rtd=${(5 + (m % 3) / 10).toFixed(2)},w00000-Flag=N;SB1-RS=1;SB2-RS=0`,
      );
      await pace();
    }
    const alarm = await alarmOf(BAMBOO, 'facility_abnormal');
    expect(alarm).toMatchObject({ level: 2, state: 'active' });
  });

  it('raises 治污设施异常 from HJ 212-2025 electricity (ST=44): the treatment meter at zero while production draws power', async () => {
    // GA01 (heating station) registers d20105 (boiler, production, ≥ 10 kW) and d30106 (recirculation fan, treatment)
    const GA01 = '33112600000000000000GA01';
    for (let m = 40; m >= 0; m -= 2) {
      const kw = (60 + (m % 7)).toFixed(1);
      await hj212(GA01, '2011', minutesAgo(m), `d20105-Rtd=${kw},d20105-Flag=N;d30106-Rtd=0,d30106-Flag=N`, '44', 8);
      await pace();
    }
    const alarm = await alarmOf(BOILER, 'facility_abnormal');
    expect(alarm).toMatchObject({ level: 2, state: 'active', mn: GA01 });
    expect(alarm.lastSignal.reasonZh).toContain('烟气再循环风机用电');
    expect(alarm.lastSignal.evidence.find((e) => e.pollutant === 'd30106')).toMatchObject({ value: 0 });
    // and the meters are on the device's data, as power readings (stored by ingestion, which may finish after the
    // alarm opened)
    type Latest = {
      kinds: { kind: string; values: Record<string, { subject: string; values: { rtd?: number } }> }[];
    };
    const realtime = await eventually(
      async () => {
        const latest = (await api('GET', `/devices/${GA01}/latest`)).body as unknown as Latest;
        const values = latest.kinds.find((k) => k.kind === 'realtime')?.values;
        return values?.d30106 ? values : undefined;
      },
      15_000,
      'the meters in the latest real-time values',
    );
    expect(realtime.d30106).toMatchObject({ subject: 'power', values: { rtd: 0 } });
    expect(realtime.d20105?.subject).toBe('power');
  });

  it('flags a flat-lined suspended-solids analyser at a key unit as suspected falsification (一级)', async () => {
    for (let m = 45; m >= 0; m--) {
      const cod = (30 + ((m * 13) % 9) / 2).toFixed(1);
      await hj212(
        AB01,
        '2011',
        minutesAgo(m),
        `w01012-Rtd=6.30,w01012-Flag=N;w01018-Rtd=${cod},w01018-Flag=N;w00000-Rtd=${(80 + (m % 5)).toFixed(1)},w00000-Flag=N`,
      );
      await pace();
    }
    const alarm = await alarmOf(WWTP, 'suspected_falsification');
    expect(alarm).toMatchObject({ pollutant: 'w01012', level: 1 });
    expect(alarm.lastSignal.evidence.length).toBeGreaterThan(0);
    expect(alarm.lastSignal.evidence[0]).toMatchObject({ pollutant: 'w01012', value: 6.3 });
  });

  it('raises a data gap from the scheduled job and clears it when the device speaks again, even with old data', async () => {
    // PA01 (pencil factory, flue gas) last reached the platform 30 minutes ago, through the HJ 212 gateway
    const PA01 = '33112600000000000000PA01';
    const iot = new IoTDataPlaneClient(localClientConfig(local.platform.endpoints.iotData));
    const old = minutesAgo(30);
    const raw = encodePacket({
      qn: isoToBeijing(old, true),
      st: '31',
      cn: '2011',
      pw: '123456',
      mn: PA01,
      flag: 4,
      cp: `DataTime=${isoToBeijing(old.toISOString())};a24088-Rtd=12.5,a24088-Flag=N;a00000-Rtd=3.2,a00000-Flag=N`,
    });
    const envelope = {
      mn: PA01,
      receivedAt: old.toISOString(),
      raw: Buffer.from(raw).toString('base64'),
      clientId: 'tcp-9',
      accepted: true,
    };
    await iot.send(
      new PublishCommand({
        topic: `$aws/rules/envwatch_dev_gateway/envwatch/gateway/${PA01}`,
        payload: Buffer.from(JSON.stringify(envelope)),
      }),
    );
    iot.destroy();
    const schedules = (await (await fetch(`${local.platform.endpoints.api}/_local/schedules`)).json()) as {
      schedules: { ruleName: string }[];
    };
    const gaps = schedules.schedules.find((s) => /datagaps/i.test(s.ruleName))?.ruleName as string;
    const runGaps = async () => {
      const fired = await fetch(`${local.platform.endpoints.api}/_local/schedules/${encodeURIComponent(gaps)}/run`, {
        method: 'POST',
      });
      expect(fired.status).toBe(202);
    };
    // the job judges what ingest has stored: fired again until the packet is in (a busy machine may take seconds)
    const gap = await eventually(
      async () => {
        await runGaps();
        return (await alarmsOf(PENCIL)).find((a) => a.type === 'data_gap' && a.state === 'active');
      },
      20_000,
      'a data_gap alarm at the pencil factory',
    );
    expect({ level: gap.level, key: gap.key, reason: gap.lastSignal.reasonZh }).toEqual({
      level: 3,
      key: 'data_gap#realtime',
      reason: expect.stringContaining('实时数据'),
    });

    // the device speaks again, first with backfilled (older) data: that is not silence either
    await hj212(PA01, '2011', minutesAgo(45), 'a24088-Rtd=12.9,a24088-Flag=N;a00000-Rtd=3.1,a00000-Flag=N');
    const cleared = await eventually(
      async () => {
        await runGaps();
        const a = (await api('GET', `/alarms/${gap.alarmId}`)).body;
        return a.state === 'cleared' ? a : undefined;
      },
      15_000,
      'the gap to clear',
    );
    expect(cleared.clearMode).toBe('auto');
  });

  it('tells ops once a day, from 1 November, that next year has no holiday data (the daily calendar check)', async () => {
    // the last year with data: on its 31 October nothing is missing; from its 1 November, the year after it is
    const last = Math.max(...CN_CALENDAR.years);
    const schedules = (await (await fetch(`${local.platform.endpoints.api}/_local/schedules`)).json()) as {
      schedules: { ruleName: string; scheduleExpression: string }[];
    };
    const rule = schedules.schedules.find((r) => /calendar/i.test(r.ruleName));
    expect(rule?.scheduleExpression).toBe('cron(0 1 * * ? *)');
    const fire = async (time: string) =>
      (
        await fetch(
          `${local.platform.endpoints.api}/_local/schedules/${encodeURIComponent(rule?.ruleName ?? '')}/run?time=${time}`,
          { method: 'POST' },
        )
      ).status;
    const ops = local.platform.spec.topics.find((t) => /ops/i.test(t.id))?.arn;
    const calendarMessages = async () =>
      (await messages()).filter(
        (m) => m.topicArn === ops && m.messageAttributes?.kind?.StringValue === 'calendar_missing',
      );

    expect(await fire(`${last}-10-31T01:00:00Z`)).toBe(202);
    expect(await fire(`${last}-11-02T01:00:00Z`)).toBe(202);
    expect(await fire(`${last}-11-02T01:00:00Z`)).toBe(202); // a retried event: the day is claimed already
    expect(await fire(`${last}-11-03T01:00:00Z`)).toBe(202);
    const sent = await calendarMessages();
    expect(sent.map((m) => m.messageAttributes?.day?.StringValue)).toEqual([`${last}-11-02`, `${last}-11-03`]);
    expect(sent[0]?.messageAttributes?.years?.StringValue).toBe(String(last + 1));
    expect(sent[0]?.message).toContain(`明年（${last + 1}年）的节假日安排尚未录入`);
    expect(await fire('not-a-time')).toBe(400);
  });

  it('refuses alarms to callers without a token, and acting on one to roles that may not', async () => {
    const anyAlarm = (await alarmsOf(BAMBOO))[0] as { alarmId: string };
    const anonymous = await fetch(`${local.platform.endpoints.api}/alarms/${anyAlarm.alarmId}/acknowledge`, {
      method: 'POST',
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${local.platform.endpoints.api}/alarms`)).status).toBe(401);
    const rewardPost = local.token('reward-1', ['reward_post']);
    const res = await fetch(`${local.platform.endpoints.api}/alarms/${anyAlarm.alarmId}/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rewardPost}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(403);
  });
});
