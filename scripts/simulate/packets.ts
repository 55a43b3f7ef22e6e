import { encodeCp, encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import type { ValueSuffix } from '#shared/domain/hj212/types.ts';
import type { JsonTelemetry } from '#shared/domain/ingest/envelope.ts';
import { POLLUTANTS } from '#shared/domain/pollutants.ts';
import type { AggSuffix } from './aggregate.ts';
import type { SimDevice } from './devices.ts';
import type { Emission } from './timeline.ts';
import type { Sample } from './values.ts';

/**
 * What a simulated DAQ puts on the wire, built with the project's codec (encodePacket / encodeCp):
 * - HJ 212-2017: `QN=<simulated time, ms>;ST;CN;PW;MN;Flag=5` (2017 + acknowledgement wanted → the platform answers 9014);
 * - HJ/T 212-2005: no QN and no Flag (so no acknowledgement), old pollutant codes (011, 060, B01 …);
 * - JSON for `envwatch/devices/{mn}/telemetry` (schema JsonTelemetry).
 * Factory devices add `SB1-RS` (production) and `SB2-RS` (treatment facility) to real-time and minute data; devices with
 * electricity meters send an ST=44 real-time packet (`buildPower`) beside each real-time packet.
 */
export const FLAG_2017_ACK = 5;
const AGG_ORDER: AggSuffix[] = ['Cou', 'Min', 'Avg', 'Max'];
const OLD_CODE = new Map(POLLUTANTS.filter((p) => p.oldCode).map((p) => [p.code, p.oldCode as string]));

/** The HJ/T 212-2005 code of a 2017 code, when Appendix B prints one. */
export const oldCodeOf = (code: string): string => OLD_CODE.get(code) ?? code;

type CpPollutants = Record<string, { values: Partial<Record<ValueSuffix, number>>; flag?: string }>;

function cpOf(device: SimDevice, e: Emission): string {
  const legacy = device.protocol === 'hj212-2005';
  const name = (code: string) => (legacy ? oldCodeOf(code) : code);
  const pollutants: CpPollutants = {};
  if (e.cn === '2011') {
    for (const [code, r] of Object.entries(e.sample.values))
      pollutants[name(code)] = { values: { Rtd: r.v }, flag: r.flag };
  } else {
    for (const [code, a] of Object.entries(e.values)) {
      const values: Partial<Record<ValueSuffix, number>> = {};
      for (const s of AGG_ORDER) if (a.values[s] !== undefined) values[s] = a.values[s];
      pollutants[name(code)] = { values, flag: a.flag };
    }
  }
  const facilities = e.cn === '2011' ? e.sample.facilities : e.cn === '2051' ? e.facilities : undefined;
  const params: Record<string, string> = {};
  for (const [sb, rs] of Object.entries(facilities ?? {})) params[`${sb}-RS`] = String(rs);
  return encodeCp({ dataTime: new Date(e.dataTime).toISOString(), params, pollutants });
}

/** One HJ 212 frame (with CR LF). `qn` is ignored for 2005 devices. */
export function buildHj212(device: SimDevice, e: Emission, qn: string, opts: { corruptCrc?: boolean } = {}): string {
  const legacy = device.protocol === 'hj212-2005';
  const frame = encodePacket({
    ...(legacy ? {} : { qn, flag: FLAG_2017_ACK }),
    st: device.st,
    cn: e.cn,
    pw: device.password,
    mn: device.mn,
    cp: cpOf(device, e),
  });
  return opts.corruptCrc ? corruptCrc(frame) : frame;
}

/**
 * HJ 212-2025 Flag with an answer wanted (version bits 000010, A=1): the ST=44 electricity data is a 2025 system, so
 * its packets say so whatever the device's other packets use (docs/devices.md).
 */
export const FLAG_2025_ACK = 9;

/** The ST=44 real-time electricity packet (CN 2011) of a sample with `power`, or undefined (with CR LF). */
export function buildPower(device: SimDevice, sample: Sample, qn: string): string | undefined {
  if (!sample.power) return undefined;
  const pollutants: CpPollutants = {};
  for (const [code, kw] of Object.entries(sample.power)) pollutants[code] = { values: { Rtd: kw }, flag: 'N' };
  return encodePacket({
    qn,
    flag: FLAG_2025_ACK,
    st: '44',
    cn: '2011',
    pw: device.password,
    mn: device.mn,
    cp: encodeCp({ dataTime: new Date(sample.t).toISOString(), params: {}, pollutants }),
  });
}

/** The same frame with a CRC that cannot match (every bit of the sent CRC flipped). */
export function corruptCrc(frame: string): string {
  const end = frame.endsWith('\r\n') ? frame.length - 2 : frame.length;
  const crc = Number.parseInt(frame.slice(end - 4, end), 16);
  const bad = (crc ^ 0xffff).toString(16).toUpperCase().padStart(4, '0');
  return frame.slice(0, end - 4) + bad + frame.slice(end);
}

/** `2026-11-29T16:00:00+08:00` */
export function beijingIso(t: number): string {
  const b = isoToBeijing(new Date(t));
  return `${b.slice(0, 4)}-${b.slice(4, 6)}-${b.slice(6, 8)}T${b.slice(8, 10)}:${b.slice(10, 12)}:${b.slice(12, 14)}+08:00`;
}

/** The JSON telemetry message of a json-mqtt device. */
export function buildJson(device: SimDevice, e: Emission): JsonTelemetry {
  const values: JsonTelemetry['values'] = {};
  if (e.cn === '2011') {
    for (const [code, r] of Object.entries(e.sample.values)) values[code] = { rtd: r.v, flag: r.flag };
  } else {
    for (const [code, a] of Object.entries(e.values)) {
      values[code] = {
        ...(a.values.Avg !== undefined ? { avg: a.values.Avg } : {}),
        ...(a.values.Min !== undefined ? { min: a.values.Min } : {}),
        ...(a.values.Max !== undefined ? { max: a.values.Max } : {}),
        ...(a.values.Cou !== undefined ? { cou: a.values.Cou } : {}),
        flag: a.flag,
      };
    }
  }
  const facilities = e.cn === '2011' ? e.sample.facilities : e.cn === '2051' ? e.facilities : undefined;
  return {
    cn: e.cn,
    dataTime: beijingIso(e.dataTime),
    pw: device.password,
    values,
    ...(facilities
      ? { facilities: Object.fromEntries(Object.entries(facilities).map(([sb, rs]) => [sb, { rs }])) }
      : {}),
  };
}

/** A QN source for one device: `YYYYMMDDhhmmsszzz` of simulated time, strictly increasing. */
export function qnClock(): (t: number) => string {
  let last = 0;
  return (t: number) => {
    last = Math.max(last + 1, t);
    return isoToBeijing(new Date(last), true);
  };
}
