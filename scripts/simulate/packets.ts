import {
  encodeCp,
  encodeEncryptedFrame,
  encodeFrame,
  encodePacket,
  encodeSegment,
  isoToBeijing,
  type SegmentFields,
} from '#shared/domain/hj212/codec.ts';
import type { ValueSuffix } from '#shared/domain/hj212/types.ts';
import type { JsonTelemetry } from '#shared/domain/ingest/envelope.ts';
import { POLLUTANTS } from '#shared/domain/pollutants.ts';
import type { AggSuffix } from './aggregate.ts';
import type { SimDevice } from './devices.ts';
import type { Emission } from './timeline.ts';
import type { Sample } from './values.ts';

/**
 * What a simulated DAQ puts on the wire, built with the project's codec (encodePacket / encodeCp / encodeEncryptedFrame):
 * - HJ 212-2017: `QN=<simulated time, ms>;ST;CN;PW;MN;Flag=5` (2017 + acknowledgement wanted → the platform answers 9014);
 * - HJ 212-2025: `Flag=9` (2025 + acknowledgement wanted), the CP SM4-encrypted under the device's current key by the
 *   shared codec (docs/devices.md §2.1: whole 16-byte blocks, the tail and the CRC over the plaintext), `RF=1` on data
 *   re-sent after a quiet period, and 9015 heartbeats (in clear, as every non-data command);
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

/** A frame on the wire: text, or bytes when its CP is SM4-encrypted (the ciphertext is not text). */
export type Frame = string | Buffer;

export interface FrameOptions {
  corruptCrc?: boolean;
  /** HJ 212-2025: the SM4 key the CP is encrypted under (the device's current key) */
  key?: Uint8Array;
  /** HJ 212-2025 `RF=1`: data re-sent after the link was down */
  resent?: boolean;
}

/**
 * HJ 212-2025 Flag with an answer wanted (version bits 000010, A=1). The ST=44 electricity data is a 2025 system, so
 * its packets say so whatever the device's other packets use (docs/devices.md).
 */
export const FLAG_2025_ACK = 9;

/** the header fields of a device's uploads: 2005 has no QN nor Flag, 2017 Flag=5, 2025 Flag=9 (and RF=1 when re-sent) */
function header(device: SimDevice, qn: string, opts: FrameOptions): Omit<SegmentFields, 'st' | 'cn' | 'cp'> {
  const base = { pw: device.password, mn: device.mn };
  if (device.protocol === 'hj212-2005') return base;
  if (device.protocol !== 'hj212-2025') return { ...base, qn, flag: FLAG_2017_ACK };
  return { ...base, qn, flag: FLAG_2025_ACK, ...(opts.resent ? { resent: true } : {}) };
}

/** The frame of a segment: encrypted by the shared codec when a key is given, then its CRC corrupted when asked. */
function frameOf(fields: SegmentFields, opts: FrameOptions): Frame {
  const segment = encodeSegment(fields);
  const frame: Frame = opts.key ? encodeEncryptedFrame(segment, opts.key) : encodeFrame(segment);
  return opts.corruptCrc ? corruptCrc(frame) : frame;
}

/** One HJ 212 data frame (with CR LF). `qn` is ignored for 2005 devices. */
export function buildHj212(device: SimDevice, e: Emission, qn: string, opts: FrameOptions = {}): Frame {
  return frameOf({ ...header(device, qn, opts), st: device.st, cn: e.cn, cp: cpOf(device, e) }, opts);
}

/** The ST=44 real-time electricity packet (CN 2011) of a sample with `power`, or undefined (with CR LF). */
export function buildPower(device: SimDevice, sample: Sample, qn: string, opts: FrameOptions = {}): Frame | undefined {
  if (!sample.power) return undefined;
  const pollutants: CpPollutants = {};
  for (const [code, kw] of Object.entries(sample.power)) pollutants[code] = { values: { Rtd: kw }, flag: 'N' };
  const cp = encodeCp({ dataTime: new Date(sample.t).toISOString(), params: {}, pollutants });
  const fields = { ...header(device, qn, opts), qn, flag: FLAG_2025_ACK, st: '44', cn: '2011', cp };
  return frameOf(fields, opts);
}

/** HJ 212-2025 heartbeat (CN 9015, ST=91, in clear; Flag=9 asks the platform for its 9013). */
export const buildHeartbeat = (device: SimDevice, qn: string): string =>
  encodePacket({ qn, st: '91', cn: '9015', pw: device.password, mn: device.mn, flag: FLAG_2025_ACK, cp: '' });

/**
 * HJ 212-2025 key request (CN 1014 `SKCreateTime=<now>` without NewSK, ST=91, Flag=9): the device asks the platform for
 * a new key; encrypted under its current key like every 1014 (docs/devices.md §2.2).
 */
export const buildKeyRequest = (device: SimDevice, qn: string, key: Uint8Array): Frame =>
  frameOf(
    { qn, st: '91', cn: '1014', pw: device.password, mn: device.mn, flag: FLAG_2025_ACK, cp: `SKCreateTime=${qn}` },
    {
      key,
    },
  );

/** The same frame with a CRC that cannot match (every bit of the sent CRC flipped; the CRC is ASCII in any frame). */
export function corruptCrc(frame: Frame): Frame {
  const bytes = Buffer.from(frame);
  const end = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d ? bytes.length - 2 : bytes.length;
  const crc = Number.parseInt(bytes.toString('latin1', end - 4, end), 16);
  bytes.write((crc ^ 0xffff).toString(16).toUpperCase().padStart(4, '0'), end - 4, 'latin1');
  return typeof frame === 'string' ? bytes.toString('utf8') : bytes;
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
