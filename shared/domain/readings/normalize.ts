import type { Hj212Packet, ValueSuffix } from '#shared/domain/hj212/types.ts';
import type { JsonTelemetry } from '#shared/domain/ingest/envelope.ts';
import { toCurrentCode } from '#shared/domain/pollutants.ts';
import type { DeviceKeyRing } from '#shared/domain/registry/device-keys.ts';
import { kindOfCn, type Reading, type ReadingKind, type ReadingValues, type ValueKey, valueSubject } from './model.ts';

/**
 * Pure normalization of a decoded HJ 212 packet or a JSON telemetry message into readings, with the outlet and
 * enterprise of the registered device. Data commands (2011, 2021, 2031, 2041, 2051, 2061, and HJ 212-2025's 2062
 * standard-sample checks and 2111 furnace temperatures) give readings; any other CN (replies, parameters, logs, 2013 raw
 * data) gives none. A converted value sent as +9999.99 in a 2025 packet is absent from the values and named in
 * `notComputable`; an `RF=1` packet's readings carry `resent`. A data command without a DataTime is refused ('missing-datatime').
 * Facility status (SBx-RS / SBx-RT) and numeric electricity / production info (i332xx, I33400) become readings of
 * their own, so the alarm engine can relate them to the pollutant values (e.g. treatment off while producing); so do
 * HJ 212-2025's electricity meters (`d2xxxx`/`d3xxxx`, ST=44) and production conditions (`pxxxxx`, ST=45), recognised
 * by their code whatever the packet's ST, with their values and flag as sent.
 */
export interface DeviceRef {
  mn: string;
  enterpriseId: string;
  outletId: string;
  status?: string;
  /** an HJ 212-2025 device's sealed keys (registry device-keys.ts), when it encrypts */
  sm4?: DeviceKeyRing;
}

export interface Received {
  source: string;
  /** ISO instant */
  receivedAt: string;
}

export type Normalized =
  | { ok: true; readings: Reading[]; kind?: ReadingKind; warnings?: string[] }
  | { ok: false; reason: string; detail: string };

const SUFFIX_KEYS: Record<ValueSuffix, ValueKey> = {
  Rtd: 'rtd',
  Avg: 'avg',
  Min: 'min',
  Max: 'max',
  Cou: 'cou',
  ZsRtd: 'zsRtd',
  ZsAvg: 'zsAvg',
  ZsMin: 'zsMin',
  ZsMax: 'zsMax',
};

/** Info codes kept as readings: electricity (i332xx) and production load (I33400 / i33400). */
const ENERGY_INFO = /^[iI]33[2-4]\d{2}$/;

/**
 * Every reading is built here with the same fields in the same order (absent ones undefined), so they all share one
 * hidden class: the alarm engine reads millions per second and polymorphic shapes cost it ~3× (bench/alarm-eval).
 */
export function buildReading(
  base: Base,
  pollutant: string,
  subject: Reading['subject'],
  values: ReadingValues,
  extra?: { flag?: string; eflag?: string; sentCode?: string; sampleTime?: string; notComputable?: ValueKey[] },
): Reading {
  return {
    mn: base.mn,
    enterpriseId: base.enterpriseId,
    outletId: base.outletId,
    pollutant,
    subject,
    kind: base.kind,
    dataTime: base.dataTime,
    values,
    flag: extra?.flag,
    eflag: extra?.eflag,
    sentCode: extra?.sentCode,
    sampleTime: extra?.sampleTime,
    notComputable: extra?.notComputable,
    resent: base.resent,
    source: base.source,
    receivedAt: base.receivedAt,
  };
}

export interface Base {
  mn: string;
  enterpriseId: string;
  outletId: string;
  kind: ReadingKind;
  dataTime: string;
  source: string;
  receivedAt: string;
  /** HJ 212-2025 `RF=1` (re-sent); absent otherwise */
  resent?: boolean;
}

/** A standard-sample check's fields (HJ 212-2025 CN 2062: `x-SampleRd;x-StandardValue;x-ResultType`) as value keys. */
const CHECK_FIELDS: Record<string, ValueKey> = {
  SampleRd: 'sampleRd',
  StandardValue: 'standardValue',
  ResultType: 'result',
};

/** The numbers of a 2062 record (kept as extra suffixes by the codec); a field that is not a number is left out. */
function checkValues(extra: Record<string, string> | undefined, values: ReadingValues): void {
  if (extra === undefined) return;
  for (const [suffix, key] of Object.entries(CHECK_FIELDS)) {
    const text = extra[suffix];
    if (text === undefined || text.trim() === '') continue;
    const n = Number(text);
    if (Number.isFinite(n)) values[key] = n;
  }
}

export function normalizePacket(packet: Hj212Packet, device: DeviceRef, at: Received): Normalized {
  const kind = kindOfCn(packet.cn);
  if (!kind) return { ok: true, readings: [] };
  const dataTime = packet.cp.dataTime;
  if (!dataTime) return { ok: false, reason: 'missing-datatime', detail: `CN=${packet.cn} data without DataTime` };
  const base: Base = {
    mn: device.mn,
    enterpriseId: device.enterpriseId,
    outletId: device.outletId,
    kind,
    dataTime,
    ...at,
    ...(packet.resent ? { resent: true } : {}),
  };
  const out = new ReadingSet(base);
  for (const p of Object.values(packet.cp.pollutants)) {
    const values: ReadingValues = {};
    for (const [suffix, v] of Object.entries(p.values) as [ValueSuffix, number][]) values[SUFFIX_KEYS[suffix]] = v;
    if (kind === 'check') checkValues(p.extra, values);
    // +9999.99 (HJ 212-2025 §8.1.1 d): the codec kept no number; the reading says which value is not computable
    const notComputable = p.notComputable?.map((suffix) => SUFFIX_KEYS[suffix]);
    if (Object.keys(values).length === 0 && notComputable === undefined) continue;
    out.add(p.code, valueSubject(p.code), values, {
      flag: p.flag,
      eflag: p.eflag,
      sentCode: p.sentCode,
      sampleTime: p.sampleTime,
      notComputable,
    });
  }
  for (const [code, f] of Object.entries(packet.cp.facilities)) {
    const values: ReadingValues = {};
    if (f.rs !== undefined) values.rs = f.rs;
    if (f.rt !== undefined) values.rt = f.rt;
    out.add(code, 'facility', values);
  }
  for (const [code, text] of Object.entries(packet.cp.info)) {
    if (!ENERGY_INFO.test(code)) continue;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) continue;
    out.add(code, 'info', { info: n });
  }
  return out.result(kind);
}

/**
 * The readings of one message, one per code: a code sent twice (SB1-Rtd and SB1-RS; `060` and `w21003` in JSON) would
 * give two readings with one identity and two writes of one device-state attribute. The first is kept, with a warning.
 */
class ReadingSet {
  private readonly readings: Reading[] = [];
  private readonly taken = new Set<string>();
  private readonly warnings: string[] = [];

  constructor(private readonly base: Base) {}

  add(code: string, subject: Reading['subject'], values: ReadingValues, extra?: Parameters<typeof buildReading>[4]) {
    if (this.taken.has(code)) {
      this.warnings.push(`${code} is given twice (as a ${subject} too); the first value is kept`);
      return;
    }
    this.taken.add(code);
    this.readings.push(buildReading(this.base, code, subject, values, extra));
  }

  result(kind: ReadingKind): Normalized {
    return this.warnings.length > 0
      ? { ok: true, readings: this.readings, kind, warnings: this.warnings }
      : { ok: true, readings: this.readings, kind };
  }
}

export function normalizeJson(msg: JsonTelemetry, device: DeviceRef, at: Received): Normalized {
  const kind = kindOfCn(msg.cn);
  if (!kind) return { ok: false, reason: 'invalid-telemetry', detail: `cn ${msg.cn} is not a data command` };
  const dataTime = new Date(msg.dataTime).toISOString();
  const base: Base = {
    mn: device.mn,
    enterpriseId: device.enterpriseId,
    outletId: device.outletId,
    kind,
    dataTime,
    ...at,
  };
  const out = new ReadingSet(base);
  for (const [sent, v] of Object.entries(msg.values)) {
    const code = toCurrentCode(sent);
    if (ENERGY_INFO.test(code)) {
      // a current / power meter (i332xx) or production load (i33400): a field-information reading, like HJ 212's -Info
      const n = v.rtd ?? v.avg;
      if (n !== undefined) out.add(code, 'info', { info: n });
      continue;
    }
    const values: ReadingValues = {};
    if (v.rtd !== undefined) values.rtd = v.rtd;
    if (v.avg !== undefined) values.avg = v.avg;
    if (v.min !== undefined) values.min = v.min;
    if (v.max !== undefined) values.max = v.max;
    if (v.cou !== undefined) values.cou = v.cou;
    if (v.zsRtd !== undefined) values.zsRtd = v.zsRtd;
    if (v.zsAvg !== undefined) values.zsAvg = v.zsAvg;
    if (v.zsMin !== undefined) values.zsMin = v.zsMin;
    if (v.zsMax !== undefined) values.zsMax = v.zsMax;
    if (Object.keys(values).length === 0) continue;
    out.add(code, valueSubject(code), values, { flag: v.flag, ...(code !== sent ? { sentCode: sent } : {}) });
  }
  for (const [code, f] of Object.entries(msg.facilities ?? {})) {
    const values: ReadingValues = {};
    if (f.rs !== undefined) values.rs = f.rs;
    if (f.rt !== undefined) values.rt = f.rt;
    if (Object.keys(values).length > 0) out.add(code, 'facility', values);
  }
  return out.result(kind);
}
