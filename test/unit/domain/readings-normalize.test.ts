import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodePacket } from '#shared/domain/hj212/codec.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { JsonTelemetry } from '#shared/domain/ingest/envelope.ts';
import { DEFAULT_RETENTION, expiresAt, kindOfCn, readingIdentity } from '#shared/domain/readings/model.ts';
import { normalizeJson, normalizePacket } from '#shared/domain/readings/normalize.ts';

const device = {
  mn: '33112600000000000000AB01',
  enterpriseId: '91331126MA2BX9K3XY',
  outletId: '91331126MA2BX9K3XY-DW001',
};
const at = { source: 'mqtt-hj212', receivedAt: '2024-06-01T01:00:05.000Z' };
const samples = readFileSync(new URL('../../fixtures/hj212/samples.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('##'))
  .map((l) => l.split('\t')[0] as string);

function decode(frame: string): Hj212Packet {
  const r = decodeFrame(frame);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.packet;
}

describe('normalizePacket', () => {
  it('turns the hourly sample packet into one reading per pollutant with its values, flag and DataTime', () => {
    const hourly = samples.find((s) => s.includes('CN=2061') && s.includes('DataTime')) as string;
    const r = normalizePacket(decode(hourly), device, at);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.kind).toBe('hour');
    const cod = r.readings.find((x) => x.pollutant === 'w01018');
    expect(cod).toMatchObject({
      mn: device.mn,
      outletId: device.outletId,
      enterpriseId: device.enterpriseId,
      kind: 'hour',
      dataTime: '2024-06-01T00:00:00.000Z',
      values: { cou: 3.15, min: 40.1, avg: 50, max: 61.2 },
      flag: 'N',
      subject: 'pollutant',
      source: 'mqtt-hj212',
    });
    expect(r.readings.map((x) => x.pollutant).sort()).toEqual(['w00000', 'w01001', 'w01018', 'w21003', 'w21011']);
  });

  it('maps the old HJ/T 212-2005 codes of a 2005 packet (no QN, no Flag) to the 2017 codes', () => {
    const frame = encodePacket({
      st: '32',
      cn: '2011',
      pw: '123456',
      mn: device.mn,
      cp: 'DataTime=20240601093000;011-Rtd=55.1,011-Flag=N;060-Rtd=3.2,060-Flag=N;B01-Rtd=12',
    });
    const r = normalizePacket(decode(frame), device, at);
    expect(r.ok && r.kind).toBe('realtime');
    if (!r.ok) return;
    const byCode = Object.fromEntries(r.readings.map((x) => [x.pollutant, x]));
    expect(byCode.w01018).toMatchObject({ sentCode: '011', values: { rtd: 55.1 }, flag: 'N' });
    expect(byCode.w21003).toMatchObject({ sentCode: '060', values: { rtd: 3.2 } });
    expect(byCode.w00000?.sentCode).toBe('B01');
  });

  it('keeps facility status and electricity / production info as readings of their own', () => {
    const frame = encodePacket({
      qn: '20240601093000000',
      st: '32',
      cn: '2011',
      mn: device.mn,
      flag: 4,
      cp: 'DataTime=20240601093000;w01018-Rtd=20,w01018-ZsRtd=21;SB1-RS=0;SB2-RT=12.5;i33200-Info=35.2;I33400-Info=80;i11001-Info=//log//',
    });
    const r = normalizePacket(decode(frame), device, at);
    if (!r.ok) throw new Error('refused');
    const byCode = Object.fromEntries(r.readings.map((x) => [x.pollutant, x]));
    expect(byCode.w01018?.values).toEqual({ rtd: 20, zsRtd: 21 });
    expect(byCode.SB1).toMatchObject({ subject: 'facility', values: { rs: 0 } });
    expect(byCode.SB2).toMatchObject({ subject: 'facility', values: { rt: 12.5 } });
    expect(byCode.i33200).toMatchObject({ subject: 'info', values: { info: 35.2 } });
    expect(byCode.I33400).toMatchObject({ subject: 'info', values: { info: 80 } });
    expect(byCode.i11001).toBeUndefined();
  });

  it('reads HJ 212-2025 electricity (ST=44) and production conditions (ST=45) as power and condition readings', () => {
    const power = encodePacket({
      qn: '20260601085857223',
      st: '44',
      cn: '2011',
      pw: '123456',
      mn: device.mn,
      flag: 8,
      cp: 'DataTime=20260601085800;d20105-Rtd=52.4,d20105-Flag=N;d30106-Rtd=0,d30106-Flag=D',
    });
    const r = normalizePacket(decode(power), device, at);
    if (!r.ok) throw new Error('refused');
    expect(r.readings.map((x) => [x.pollutant, x.subject, x.values, x.flag])).toEqual([
      ['d20105', 'power', { rtd: 52.4 }, 'N'],
      ['d30106', 'power', { rtd: 0 }, 'D'],
    ]);
    const condition = encodePacket({
      qn: '20260601085857224',
      st: '45',
      cn: '2011',
      pw: '123456',
      mn: device.mn,
      flag: 8,
      cp: 'DataTime=20260601085800;p99101-Rtd=1',
    });
    const c = normalizePacket(decode(condition), device, at);
    if (!c.ok) throw new Error('refused');
    expect(c.readings).toMatchObject([{ pollutant: 'p99101', subject: 'condition', values: { rtd: 1 } }]);
  });

  it('gives no readings for a command that is not data, and refuses data without DataTime', () => {
    const ack = samples.find((s) => s.includes('CN=9014')) as string;
    expect(normalizePacket(decode(ack), device, at)).toEqual({ ok: true, readings: [] });
    const frame = encodePacket({
      st: '32',
      cn: '2051',
      mn: device.mn,
      flag: 4,
      qn: '20240601093000000',
      cp: 'w01018-Avg=1',
    });
    expect(normalizePacket(decode(frame), device, at)).toMatchObject({ ok: false, reason: 'missing-datatime' });
  });
});

describe('normalizeJson', () => {
  it('normalizes JSON telemetry with old codes mapped and facilities kept', () => {
    const msg = JsonTelemetry.parse({
      cn: '2051',
      dataTime: '2026-11-29T16:00:00+08:00',
      values: { w01018: { avg: 40, max: 50 }, '060': { avg: 2 } },
      facilities: { SB1: { rs: 1 } },
    });
    const r = normalizeJson(msg, device, { source: 'mqtt-json', receivedAt: '2026-11-29T08:00:03.000Z' });
    if (!r.ok) throw new Error('refused');
    expect(r.kind).toBe('minute');
    const byCode = Object.fromEntries(r.readings.map((x) => [x.pollutant, x]));
    expect(byCode.w01018).toMatchObject({
      dataTime: '2026-11-29T08:00:00.000Z',
      values: { avg: 40, max: 50 },
      flag: 'N',
    });
    expect(byCode.w21003?.sentCode).toBe('060');
    expect(byCode.SB1?.values).toEqual({ rs: 1 });
  });

  it('keeps converted flue-gas concentrations from JSON telemetry', () => {
    const msg = JsonTelemetry.parse({
      cn: '2061',
      dataTime: '2026-11-29T16:00:00+08:00',
      values: { a21026: { avg: 31.2, zsAvg: 38.5, flag: 'N' } },
    });
    const r = normalizeJson(msg, device, { source: 'mqtt-json', receivedAt: '2026-11-29T09:00:03.000Z' });
    if (!r.ok) throw new Error('refused');
    expect(r.readings[0]?.values).toEqual({ avg: 31.2, zsAvg: 38.5 });
  });

  it('keeps a current meter (i332xx) in JSON telemetry as an info reading, not a pollutant', () => {
    const msg = JsonTelemetry.parse({
      cn: '2011',
      dataTime: '2026-11-29T16:00:30+08:00',
      values: { w01018: { rtd: 40 }, i33200: { rtd: 1.2 } },
    });
    const r = normalizeJson(msg, device, { source: 'mqtt-json', receivedAt: '2026-11-29T08:00:31.000Z' });
    if (!r.ok) throw new Error('refused');
    const meter = r.readings.find((x) => x.pollutant === 'i33200');
    expect(meter).toMatchObject({ subject: 'info', values: { info: 1.2 } });
    expect(meter?.flag).toBeUndefined();
    expect(r.readings.find((x) => x.pollutant === 'w01018')?.subject).toBe('pollutant');
  });

  it('keeps electricity meters sent as JSON as power readings with their flag', () => {
    const msg = JsonTelemetry.parse({
      cn: '2011',
      dataTime: '2026-11-29T16:00:30+08:00',
      values: { d30106: { rtd: 0.2, flag: 'N' } },
    });
    const r = normalizeJson(msg, device, { source: 'mqtt-json', receivedAt: '2026-11-29T08:00:31.000Z' });
    if (!r.ok) throw new Error('refused');
    expect(r.readings).toMatchObject([{ pollutant: 'd30106', subject: 'power', values: { rtd: 0.2 }, flag: 'N' }]);
  });
});

describe('reading identity and retention', () => {
  it('gives the same identity to the same device, pollutant, kind and instant however DataTime is written', () => {
    const a = readingIdentity({ mn: 'M1', pollutant: 'w01018', kind: 'hour', dataTime: '2026-11-29T16:00:00+08:00' });
    const b = readingIdentity({ mn: 'M1', pollutant: 'w01018', kind: 'hour', dataTime: '2026-11-29T08:00:00.000Z' });
    expect(a).toEqual(b);
    expect(a).toEqual({ series: 'r#M1#w01018#hour', at: '2026-11-29T08:00:00.000Z' });
    expect(readingIdentity({ mn: 'M1', pollutant: 'w01018', kind: 'minute', dataTime: a.at })).not.toEqual(a);
  });

  it('expires real-time and minute readings after their retention and keeps hourly and daily ones', () => {
    const t = '2026-01-01T00:00:00.000Z';
    const base = Date.parse(t) / 1000;
    expect(expiresAt('realtime', t, DEFAULT_RETENTION)).toBe(base + 30 * 86_400);
    expect(expiresAt('minute', t, { realtimeDays: 7, minuteDays: 90 })).toBe(base + 90 * 86_400);
    expect(expiresAt('hour', t, DEFAULT_RETENTION)).toBeUndefined();
    expect(expiresAt('day', t, DEFAULT_RETENTION)).toBeUndefined();
  });

  it('maps data CNs to kinds', () => {
    expect(['2011', '2051', '2061', '2031', '9014'].map(kindOfCn)).toEqual([
      'realtime',
      'minute',
      'hour',
      'day',
      undefined,
    ]);
  });
});
