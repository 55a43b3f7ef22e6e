import { describe, expect, it } from 'vitest';
import { decodeFrame, encodePacket } from '#shared/domain/hj212/codec.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { DEFAULT_RETENTION, expiresAt } from '#shared/domain/readings/model.ts';
import { normalizePacket } from '#shared/domain/readings/normalize.ts';

const device = {
  mn: '010000A8900016F000169DC0',
  enterpriseId: '91331126MA2BX9K3XY',
  outletId: '91331126MA2BX9K3XY-DA001',
};
const at = { source: 'tcp-gateway', receivedAt: '2026-03-01T02:00:05.000Z' };

/** A plaintext HJ 212-2025 packet (Flag=9: version bits 000010, reply wanted). */
function packet(cn: string, cp: string, resent = false): Hj212Packet {
  const frame = encodePacket({
    qn: '20260301100000000',
    st: '31',
    cn,
    pw: '123456',
    mn: device.mn,
    flag: 9,
    resent,
    cp,
  });
  const r = decodeFrame(frame);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.packet;
}

describe('normalizePacket (HJ 212-2025 data)', () => {
  it('keeps a converted value sent as +9999.99 as not computable, never as a number', () => {
    const r = normalizePacket(
      packet(
        '2051',
        'DataTime=20260301095000;a21026-Avg=120.5,a21026-ZsAvg=9999.99,a21026-Flag=N;a34013-ZsAvg=9999.99',
      ),
      device,
      at,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const so2 = r.readings.find((x) => x.pollutant === 'a21026');
    expect(so2?.values).toEqual({ avg: 120.5 });
    expect(so2?.notComputable).toEqual(['zsAvg']);
    // a pollutant whose only value is not computable is still a reading (shown as 不可计算), with no value at all
    const dust = r.readings.find((x) => x.pollutant === 'a34013');
    expect(dust?.values).toEqual({});
    expect(dust?.notComputable).toEqual(['zsAvg']);
    expect(JSON.stringify(r.readings)).not.toContain('9999.99');
  });

  it('marks the readings of an RF=1 (re-sent) packet as resent, and only those', () => {
    const cp = 'DataTime=20260301080000;w01018-Avg=50.1,w01018-Flag=N';
    const resent = normalizePacket(packet('2061', cp, true), device, at);
    const fresh = normalizePacket(packet('2061', cp), device, at);
    expect(resent.ok && resent.readings.map((x) => x.resent)).toEqual([true]);
    expect(fresh.ok && fresh.readings.map((x) => x.resent)).toEqual([undefined]);
  });

  it('stores CN 2062 standard-sample checks as readings of kind check with the measured and certified values and the result', () => {
    const r = normalizePacket(
      packet(
        '2062',
        'DataTime=20260301093000;w01018-SampleRd=58.2;w01018-StandardValue=50.0;w01018-ResultType=0;w21003-SampleRd=1.02;w21003-StandardValue=1.00;w21003-ResultType=1',
      ),
      device,
      at,
    );
    expect(r.ok && r.kind).toBe('check');
    if (!r.ok) return;
    expect(r.readings.map((x) => [x.pollutant, x.kind, x.values])).toEqual([
      ['w01018', 'check', { sampleRd: 58.2, standardValue: 50, result: 0 }],
      ['w21003', 'check', { sampleRd: 1.02, standardValue: 1, result: 1 }],
    ]);
    expect(r.readings[0]?.dataTime).toBe('2026-03-01T01:30:00.000Z');
    expect(expiresAt('check', r.readings[0]?.dataTime as string, DEFAULT_RETENTION)).toBeUndefined();
  });

  it('stores CN 2111 furnace temperature 5-minute averages as readings of kind furnace, kept like minute data', () => {
    const r = normalizePacket(packet('2111', 'DataTime=20260301095500;a01901-Avg=823.4'), device, at);
    expect(r.ok && r.readings.map((x) => [x.pollutant, x.kind, x.values])).toEqual([
      ['a01901', 'furnace', { avg: 823.4 }],
    ]);
    expect(expiresAt('furnace', '2026-03-01T01:55:00.000Z', DEFAULT_RETENTION)).toBe(
      expiresAt('minute', '2026-03-01T01:55:00.000Z', DEFAULT_RETENTION),
    );
  });

  it('gives no readings for CN 2013 raw data (kept in the sealed archive only)', () => {
    const r = normalizePacket(
      packet(
        '2013',
        'DataTime=20260301093000;w01018-SampleTime=20260301092000,w01018-CompleteTime=20260301093000,w01018-SampleType=1,w01018-Avg=50.2,w01018-Flag=N',
      ),
      device,
      at,
    );
    expect(r).toEqual({ ok: true, readings: [] });
  });
});
