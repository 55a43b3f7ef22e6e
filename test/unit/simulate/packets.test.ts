import { describe, expect, it } from 'vitest';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import { rejectionReply } from '#shared/domain/hj212/replies.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { JsonTelemetry } from '#shared/domain/ingest/envelope.ts';
import { generateKeyText, keyBytes } from '#shared/domain/registry/device-keys.ts';
import { type SimDevice, seededDevices } from '../../../scripts/simulate/devices.ts';
import {
  beijingIso,
  buildHeartbeat,
  buildHj212,
  buildJson,
  buildKeyRequest,
  buildPower,
  corruptCrc,
  qnClock,
} from '../../../scripts/simulate/packets.ts';
import { type Emission, Timeline } from '../../../scripts/simulate/timeline.ts';
import { emptyInjections, ValueGenerator } from '../../../scripts/simulate/values.ts';

const device = (label: string): SimDevice => {
  const d = seededDevices().find((x) => x.label === label);
  if (!d) throw new Error(label);
  return d;
};
const T0 = Date.parse('2026-11-30T09:00:00+08:00');

/** two hours of one device's emissions from 09:00 Beijing */
function emissions(d: SimDevice): Emission[] {
  return new Timeline(d, new ValueGenerator(d, 42), T0).advance(T0 + 2 * 3_600_000, emptyInjections());
}

function decodedWith(frame: string | Buffer, key: Buffer): Hj212Packet {
  const r = decodeFrame(frame, { keys: [key] });
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.packet;
}

function decoded(frame: string | Buffer): Hj212Packet {
  const r = decodeFrame(frame);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.packet;
}

describe('buildHj212', () => {
  it('builds 2017 real-time data that decode back to the sampled values, with QN, PW, Flag=5 and SB status', () => {
    const d = device('BW01');
    const e = emissions(d).find((x) => x.cn === '2011');
    if (e?.cn !== '2011') throw new Error('no real-time data');
    const p = decoded(buildHj212(d, e, '20261130090000123'));
    expect(p).toMatchObject({
      qn: '20261130090000123',
      st: '32',
      cn: '2011',
      pw: '123456',
      mn: d.mn,
      flag: 5,
      version: '2017',
      ack: true,
    });
    expect(p.warnings).toEqual([]);
    expect(p.cp.dataTime).toBe(new Date(e.dataTime).toISOString());
    for (const [code, r] of Object.entries(e.sample.values)) {
      expect(p.cp.pollutants[code]).toMatchObject({ code, values: { Rtd: r.v }, flag: 'N' });
    }
    expect(p.cp.facilities).toEqual({ SB1: { rs: 1 }, SB2: { rs: 1 } });
  });

  it('builds minute and hourly data that decode back to the aggregates, DataTime at the window start', () => {
    const d = device('AB01');
    const all = emissions(d);
    const hour = all.find((x) => x.cn === '2061');
    const minute = all.find((x) => x.cn === '2051');
    for (const e of [hour, minute]) {
      if (!e || e.cn === '2011') throw new Error('missing aggregate');
      const p = decoded(buildHj212(d, e, '20261130100000000'));
      expect(p.cn).toBe(e.cn);
      expect(p.cp.dataTime).toBe(new Date(e.dataTime).toISOString());
      for (const [code, a] of Object.entries(e.values)) {
        expect(p.cp.pollutants[code]?.values).toEqual(a.values);
        expect(p.cp.pollutants[code]?.flag).toBe(a.flag);
      }
    }
    expect(hour?.dataTime).toBe(T0);
  });

  it('builds HJ/T 212-2005 packets without QN and Flag, with old codes that the codec maps back', () => {
    const d = device('PW01');
    const e = emissions(d).find((x) => x.cn === '2011');
    if (e?.cn !== '2011') throw new Error('no real-time data');
    const frame = buildHj212(d, e, '20261130090000123');
    expect(frame).not.toContain('QN=');
    expect(frame).not.toContain('Flag=5');
    expect(frame).toContain('011-Rtd=');
    expect(frame).toContain('B01-Rtd=');
    const p = decoded(frame);
    expect(p.version).toBe('2005');
    expect(p.ack).toBe(false);
    expect(p.cp.pollutants.w01018).toMatchObject({ sentCode: '011', values: { Rtd: e.sample.values.w01018?.v } });
    expect(p.cp.pollutants.w00000?.sentCode).toBe('B01');
    expect(p.cp.pollutants.w01001?.sentCode).toBe('001');
  });

  it('keeps every packet of every seeded device over two hours decodable and without warnings', () => {
    for (const d of seededDevices()) {
      if (d.protocol === 'json-mqtt') continue;
      const problems = emissions(d)
        .map((e) => decodeFrame(buildHj212(d, e, '20261130090000000')))
        .flatMap((r) => (r.ok ? r.packet.warnings.map((w) => `${d.label}: ${w}`) : [`${d.label}: ${r.reason}`]));
      expect(problems).toEqual([]);
    }
  });

  it('corrupts the CRC so that the frame is rejected as bad-crc and answered with QnRtn=9', () => {
    const d = device('FA01');
    const e = emissions(d)[0] as Emission;
    const good = buildHj212(d, e, '20261130090000000');
    const bad = buildHj212(d, e, '20261130090000000', { corruptCrc: true });
    expect(bad.length).toBe(good.length);
    expect(bad.slice(0, -6)).toBe(good.slice(0, -6));
    const r = decodeFrame(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('bad-crc');
    expect(r.header.mn).toBe(d.mn);
    expect(decoded(rejectionReply(r) ?? '').cp.params.QnRtn).toBe('9');
    expect(decodeFrame(corruptCrc(bad)).ok).toBe(true);
  });
});

describe('buildPower', () => {
  it('sends the ST=44 electricity meters of a real-time sample as a 2025 CN 2011 packet that wants an answer', () => {
    const d = device('GA01');
    const e = emissions(d).find((x) => x.cn === '2011');
    if (e?.cn !== '2011') throw new Error('no real-time emission');
    const p = decoded(buildPower(d, e.sample, '20261130090000000') ?? '');
    expect(p).toMatchObject({ st: '44', cn: '2011', version: '2025', ack: true, mn: d.mn, warnings: [] });
    expect(Date.parse(p.cp.dataTime ?? '')).toBe(e.dataTime);
    expect(Object.keys(p.cp.pollutants)).toEqual(['d20105', 'd30106']);
    expect(p.cp.pollutants.d30106).toMatchObject({ values: { Rtd: e.sample.power?.d30106 }, flag: 'N' });
    const bw = device('BW01');
    const other = emissions(bw).find((x) => x.cn === '2011');
    if (other?.cn !== '2011') throw new Error('no real-time emission');
    expect(buildPower(bw, other.sample, '20261130090000000')).toBeUndefined();
  });
});

describe('HJ 212-2025 frames', () => {
  const ab = device('AB01');
  const key = keyBytes(generateKeyText());

  it('encrypts data under the device key with the shared codec (Flag=9), RF=1 when re-sent, and corrupts its CRC', () => {
    const e = emissions(ab).find((x) => x.cn === '2051') as Emission;
    const frame = buildHj212(ab, e, '20261130090000000', { key, resent: true });
    expect(Buffer.isBuffer(frame)).toBe(true);
    expect(decodeFrame(frame).ok).toBe(false);
    const p = decodedWith(frame, key);
    expect(p).toMatchObject({ version: '2025', flag: 9, ack: true, resent: true, encryption: { form: 'binary' } });
    expect(p.cp.pollutants.w01018?.values.Avg).toBe(e.cn === '2051' ? e.values.w01018?.values.Avg : undefined);
    const fresh = decodedWith(buildHj212(ab, e, '20261130090000001', { key }), key);
    expect(fresh.resent).toBe(false);
    const bad = decodeFrame(buildHj212(ab, e, '20261130090000002', { key, corruptCrc: true }), { keys: [key] });
    expect(bad.ok ? 'ok' : bad.reason).toBe('decrypt-failed');
  });

  it('encrypts the ST=44 electricity packet of a 2025 device, and sends heartbeats in clear', () => {
    const ga = device('GA01');
    const e = emissions(ga).find((x) => x.cn === '2011');
    if (e?.cn !== '2011') throw new Error('no real-time emission');
    const p = decodedWith(buildPower(ga, e.sample, '20261130090000000', { key }) ?? '', key);
    expect(p).toMatchObject({ st: '44', version: '2025', encryption: { form: 'binary' } });
    expect(decoded(buildHeartbeat(ga, '20261130090000000'))).toMatchObject({
      st: '91',
      cn: '9015',
      flag: 9,
      ack: true,
    });
  });
});

describe('buildKeyRequest', () => {
  it("builds a 2025 device's own key request: CN 1014 with SKCreateTime and no NewSK, encrypted under its key", () => {
    const ga = device('GA01');
    const key = keyBytes(generateKeyText());
    const frame = buildKeyRequest(ga, '20261130090000000', key);
    expect(decodeFrame(frame).ok).toBe(false);
    const p = decodedWith(frame, key);
    expect(p).toMatchObject({ st: '91', cn: '1014', flag: 9, ack: true, mn: ga.mn, encryption: { form: 'binary' } });
    expect(p.cp.params).toEqual({ SKCreateTime: '20261130090000000' });
  });
});

describe('buildJson', () => {
  it('builds telemetry that the JsonTelemetry schema accepts, for real-time and aggregated data', () => {
    const d = device('FW01');
    const all = emissions(d);
    for (const cn of ['2011', '2051', '2061'] as const) {
      const e = all.find((x) => x.cn === cn) as Emission;
      const msg = JsonTelemetry.parse(JSON.parse(JSON.stringify(buildJson(d, e))));
      expect(msg.cn).toBe(cn);
      expect(msg.dataTime).toBe(beijingIso(e.dataTime));
      expect(Date.parse(msg.dataTime)).toBe(e.dataTime);
      if (e.cn === '2011') {
        expect(msg.values.w01018).toEqual({ rtd: e.sample.values.w01018?.v, flag: 'N' });
        expect(msg.facilities).toEqual({ SB1: { rs: 1 }, SB2: { rs: 1 } });
      } else {
        const a = e.values.w01018;
        expect(msg.values.w01018).toEqual({
          avg: a?.values.Avg,
          min: a?.values.Min,
          max: a?.values.Max,
          cou: a?.values.Cou,
          flag: 'N',
        });
      }
    }
  });
});

describe('qnClock', () => {
  it('gives strictly increasing 17-digit QNs in Beijing time', () => {
    const qn = qnClock();
    const a = qn(T0);
    const b = qn(T0);
    expect(a).toBe('20261130090000000');
    expect(b).toBe('20261130090000001');
  });
});
