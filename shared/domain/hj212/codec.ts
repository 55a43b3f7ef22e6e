import { toCurrentCode } from '../pollutants.ts';
import { crc16, crcHex } from './crc.ts';
import {
  type Cp,
  type DecodeResult,
  type Hj212Packet,
  type ProtocolVersion,
  VALUE_SUFFIXES,
  type ValueSuffix,
} from './types.ts';

/**
 * HJ 212 frame codec: `##` + 4-digit length (UTF-8 bytes of the data segment) + data segment + CRC16 + CR LF.
 * Decoding checks frame, length, CRC, header and CP in one pass over the bytes; a deviation with a clear meaning
 * becomes a warning, anything else a rejection with a precise reason. Never throws on input.
 */
export const MAX_SEGMENT = 1024;
export const MAX_CP = 950;
const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;
const SUFFIX_SET = new Set<string>(VALUE_SUFFIXES);
const HEADER_KEYS = new Set(['QN', 'ST', 'CN', 'PW', 'MN', 'Flag', 'PNUM', 'PNO']);

/** `YYYYMMDDhhmmss[zzz]` in Beijing time → ISO instant, or undefined when it is not a real time. */
export function beijingToIso(text: string): string | undefined {
  if (!/^\d{14}(\d{3})?$/.test(text)) return undefined;
  const y = Number(text.slice(0, 4));
  const mo = Number(text.slice(4, 6));
  const d = Number(text.slice(6, 8));
  const h = Number(text.slice(8, 10));
  const mi = Number(text.slice(10, 12));
  const s = Number(text.slice(12, 14));
  const ms = text.length === 17 ? Number(text.slice(14, 17)) : 0;
  const t = Date.UTC(y, mo - 1, d, h - 8, mi, s, ms);
  const check = new Date(t + 8 * 3_600_000);
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    return undefined;
  }
  return new Date(t).toISOString();
}

/** ISO instant → `YYYYMMDDhhmmss` (or with `ms`, 17 digits) in Beijing time. */
export function isoToBeijing(iso: string | Date, ms = false): string {
  const d = new Date(new Date(iso).getTime() + 8 * 3_600_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return ms ? base + p(d.getUTCMilliseconds(), 3) : base;
}

function versionOf(flag: number | undefined): ProtocolVersion {
  if (flag === undefined) return '2005';
  const v = flag >> 2;
  return v === 0 ? '2005' : v === 1 ? '2017' : v === 2 ? '2025' : 'unknown';
}

type Fail = Extract<DecodeResult, { ok: false }>;
const fail = (reason: Fail['reason'], detail: string, header: Fail['header'] = {}): Fail => ({
  ok: false,
  reason,
  detail,
  header,
});

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/** Decodes one frame (with or without its CR LF). */
export function decodeFrame(input: Uint8Array | string): DecodeResult {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let end = bytes.length;
  const warnings: string[] = [];
  if (end >= 2 && bytes[end - 2] === CR && bytes[end - 1] === LF) end -= 2;
  else if (end >= 1 && bytes[end - 1] === LF) {
    end -= 1;
    warnings.push('frame ends with LF only');
  }
  if (end < 10 || bytes[0] !== HASH || bytes[1] !== HASH)
    return fail('bad-frame', 'a frame starts with ## and a 4-digit length');
  if (!isDigit(bytes[2]) || !isDigit(bytes[3]) || !isDigit(bytes[4]) || !isDigit(bytes[5])) {
    return fail('bad-frame', 'the 4 characters after ## must be the decimal data length');
  }
  const declared =
    (bytes[2] as number) * 1000 + (bytes[3] as number) * 100 + (bytes[4] as number) * 10 + (bytes[5] as number) - 53328;
  const segStart = 6;
  const segEnd = end - 4;
  const actual = segEnd - segStart;
  if (actual > MAX_SEGMENT || declared > MAX_SEGMENT) {
    return fail(
      'oversize',
      `data segment is ${Math.max(actual, declared)} bytes; HJ 212 allows at most ${MAX_SEGMENT}`,
    );
  }
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segment = buf.toString('utf8', segStart, segEnd);
  const header = peekHeader(segment);
  if (declared !== actual) {
    // some devices count characters instead of UTF-8 bytes when the segment holds Chinese text
    if (declared === segment.length) warnings.push(`length ${declared} counts characters, not UTF-8 bytes (${actual})`);
    else return fail('length-mismatch', `declared length ${declared} but the data segment has ${actual} bytes`, header);
  }
  const sent = buf.toString('latin1', segEnd, end);
  if (!/^[0-9A-Fa-f]{4}$/.test(sent)) return fail('bad-frame', `CRC "${sent}" is not 4 hex digits`, header);
  const expected = crc16(bytes, segStart, segEnd);
  if (Number.parseInt(sent, 16) !== expected) {
    return fail(
      'bad-crc',
      `CRC ${sent.toUpperCase()} does not match the data (${expected.toString(16).toUpperCase().padStart(4, '0')})`,
      header,
    );
  }
  return decodeSegment(segment, warnings);
}

/** What can be read of the header even when the frame is rejected (for replies and the archive). */
export function peekHeader(segment: string): Fail['header'] {
  const out: Fail['header'] = {};
  const cpAt = segment.indexOf('CP=');
  const head = cpAt >= 0 ? segment.slice(0, cpAt) : segment.slice(0, 200);
  for (const item of head.split(';')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const k = item.slice(0, eq);
    const v = item.slice(eq + 1);
    if (k === 'QN') out.qn = v;
    else if (k === 'ST') out.st = v;
    else if (k === 'CN') out.cn = v;
    else if (k === 'PW') out.pw = v;
    else if (k === 'MN') out.mn = v;
    else if (k === 'Flag' && /^\d{1,3}$/.test(v)) {
      out.flag = Number(v);
      out.ack = (out.flag & 1) === 1;
    }
  }
  return out;
}

/** Decodes a data segment (the part between the length and the CRC). */
export function decodeSegment(segment: string, warnings: string[] = []): DecodeResult {
  const cpAt = segment.indexOf('CP=&&');
  const header = peekHeader(segment);
  if (cpAt < 0) return fail('malformed-cp', 'the data segment has no CP=&&…&&', header);
  if (cpAt > 0 && segment.charCodeAt(cpAt - 1) !== 0x3b) return fail('bad-header', 'CP must follow a ";"', header);
  const cpBodyStart = cpAt + 5;
  const cpEnd = segment.lastIndexOf('&&');
  if (cpEnd < cpBodyStart) return fail('malformed-cp', 'CP is not closed with &&', header);
  if (cpEnd + 2 !== segment.length) {
    const tail = segment.slice(cpEnd + 2);
    if (tail.trim() !== '') return fail('malformed-cp', `unexpected "${tail.slice(0, 20)}" after CP`, header);
  }
  if (cpEnd + 2 - cpAt > MAX_CP + 5) warnings.push(`CP is ${cpEnd + 2 - cpAt} characters; HJ 212 allows ${MAX_CP}`);

  const fields: Record<string, string> = {};
  const head = segment.slice(0, cpAt);
  if (head.length > 0) {
    for (const item of head.slice(0, -1).split(';')) {
      const eq = item.indexOf('=');
      if (eq <= 0) return fail('bad-header', `header item "${item.slice(0, 20)}" is not name=value`, header);
      const k = item.slice(0, eq);
      if (!HEADER_KEYS.has(k)) warnings.push(`unknown header field ${k}`);
      if (k in fields) warnings.push(`header field ${k} repeated`);
      fields[k] = item.slice(eq + 1);
    }
  }
  const mn = fields.MN;
  if (!mn) return fail('missing-mn', 'the packet has no MN', header);
  if (!/^[\x21-\x7e]{1,24}$/.test(mn)) return fail('bad-header', 'MN must be 1–24 printable ASCII characters', header);
  if (mn.length !== 24) warnings.push(`MN has ${mn.length} characters, not the 24 of HJ 212-2017`);
  const st = fields.ST;
  const cn = fields.CN;
  if (!st) return fail('missing-field', 'the packet has no ST', header);
  if (!cn) return fail('missing-field', 'the packet has no CN', header);
  if (!/^[0-9A-Z]{2}$/.test(st))
    return fail('bad-header', `ST "${st.slice(0, 8)}" is not a 2-character system code`, header);
  if (!/^\d{4}$/.test(cn)) return fail('bad-header', `CN "${cn.slice(0, 8)}" is not a 4-digit command code`, header);
  let flag: number | undefined;
  if (fields.Flag !== undefined) {
    if (!/^\d{1,3}$/.test(fields.Flag) || Number(fields.Flag) > 255)
      return fail('bad-header', 'Flag must be an integer 0–255', header);
    flag = Number(fields.Flag);
  }
  const version = versionOf(flag);
  if (version === 'unknown') warnings.push(`Flag ${flag} has unknown protocol version bits`);
  if (fields.QN !== undefined && !beijingToIso(fields.QN)) warnings.push('QN is not a YYYYMMDDhhmmsszzz time');
  if (fields.QN === undefined && version !== '2005') warnings.push('QN is missing');
  const split = flag !== undefined && (flag & 2) === 2;
  let pnum: number | undefined;
  let pno: number | undefined;
  if (split || fields.PNUM !== undefined || fields.PNO !== undefined) {
    pnum = Number(fields.PNUM);
    pno = Number(fields.PNO);
    if (!Number.isInteger(pnum) || !Number.isInteger(pno) || pnum < 1 || pno < 1 || pno > pnum) {
      return fail('bad-header', 'a split packet needs PNUM ≥ PNO ≥ 1', header);
    }
    if (!split) warnings.push('PNUM/PNO without the D flag');
  }
  const cp = decodeCp(segment.slice(cpBodyStart, cpEnd), warnings);
  if ('error' in cp) return fail('malformed-cp', cp.error, header);
  const packet: Hj212Packet = {
    ...(fields.QN !== undefined ? { qn: fields.QN } : {}),
    st,
    cn,
    ...(fields.PW !== undefined ? { pw: fields.PW } : {}),
    mn,
    ...(flag !== undefined ? { flag } : {}),
    version,
    ack: flag !== undefined && (flag & 1) === 1,
    split,
    ...(pnum !== undefined ? { pnum, pno } : {}),
    cp,
    segment,
    warnings,
  };
  return { ok: true, packet };
}

function toNumber(v: string): number | undefined {
  if (v === '' || v.length > 20) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? n : undefined;
}

/** Parses the CP data area: `;` separates items, `,` sub-values, each `name=value`. */
export function decodeCp(body: string, warnings: string[]): Cp | { error: string } {
  const cp: Cp = { params: {}, pollutants: {}, facilities: {}, info: {} };
  if (body === '') return cp;
  let start = 0;
  const n = body.length;
  while (start <= n) {
    let stop = start;
    // a `-Info` value may contain ; and , between // markers
    while (stop < n) {
      const c = body.charCodeAt(stop);
      if (c === 0x3b || c === 0x2c) break;
      if (c === 0x2f && body.charCodeAt(stop + 1) === 0x2f) {
        const close = body.indexOf('//', stop + 2);
        stop = close < 0 ? n : close + 2;
        continue;
      }
      stop++;
    }
    const item = body.slice(start, stop);
    start = stop + 1;
    if (item === '') {
      if (stop < n) warnings.push('empty CP item');
      continue;
    }
    const eq = item.indexOf('=');
    if (eq <= 0) return { error: `CP item "${item.slice(0, 30)}" is not name=value` };
    const name = item.slice(0, eq);
    const value = item.slice(eq + 1);
    const dash = name.indexOf('-');
    if (dash < 0) {
      if (name === 'DataTime') {
        const iso = beijingToIso(value);
        if (!iso) return { error: `DataTime "${value.slice(0, 20)}" is not a YYYYMMDDhhmmss time` };
        cp.dataTime = iso;
      } else {
        cp.params[name] = value;
      }
      continue;
    }
    const code = name.slice(0, dash);
    const suffix = name.slice(dash + 1);
    if (code === '' || suffix === '') return { error: `CP field "${name.slice(0, 30)}" has an empty code or suffix` };
    if (/^SB\w*$/.test(code) && (suffix === 'RS' || suffix === 'RT')) {
      const num = toNumber(value);
      if (num === undefined) return { error: `${name} must be a number` };
      const f = (cp.facilities[code] ??= {});
      if (suffix === 'RS') f.rs = num;
      else f.rt = num;
      continue;
    }
    if (suffix === 'Info') {
      cp.info[code] = value;
      continue;
    }
    const current = toCurrentCode(code);
    let p = cp.pollutants[current];
    if (!p) {
      p = { code: current, values: {} };
      if (current !== code) p.sentCode = code;
      cp.pollutants[current] = p;
    }
    if (SUFFIX_SET.has(suffix)) {
      if (value === '') {
        warnings.push(`${name} is empty`);
        continue;
      }
      const num = toNumber(value);
      if (num === undefined) return { error: `${name}="${value.slice(0, 20)}" is not a number` };
      p.values[suffix as ValueSuffix] = num;
    } else if (suffix === 'Flag') p.flag = value;
    else if (suffix === 'EFlag') p.eflag = value;
    else if (suffix === 'SN') p.sn = value;
    else if (suffix === 'SampleTime') {
      const iso = beijingToIso(value);
      if (iso) p.sampleTime = iso;
      else warnings.push(`${name} is not a time`);
    } else {
      (p.extra ??= {})[suffix] = value;
    }
  }
  return cp;
}

/** Wraps a data segment into a frame with its length and CRC. */
export function encodeFrame(segment: string): string {
  const bytes = Buffer.from(segment, 'utf8');
  if (bytes.length > MAX_SEGMENT) throw new RangeError(`data segment is ${bytes.length} bytes; at most ${MAX_SEGMENT}`);
  return `##${String(bytes.length).padStart(4, '0')}${segment}${crcHex(bytes)}\r\n`;
}

export interface SegmentFields {
  qn?: string;
  st: string;
  cn: string;
  pw?: string;
  mn: string;
  flag?: number;
  pnum?: number;
  pno?: number;
  /** the CP data area without `&&` */
  cp: string;
}

export function encodeSegment(f: SegmentFields): string {
  const parts: string[] = [];
  if (f.qn !== undefined) parts.push(`QN=${f.qn}`);
  parts.push(`ST=${f.st}`, `CN=${f.cn}`);
  if (f.pw !== undefined) parts.push(`PW=${f.pw}`);
  parts.push(`MN=${f.mn}`);
  if (f.flag !== undefined) parts.push(`Flag=${f.flag}`);
  if (f.pnum !== undefined) parts.push(`PNUM=${f.pnum}`, `PNO=${f.pno}`);
  return `${parts.join(';')};CP=&&${f.cp}&&`;
}

export const encodePacket = (f: SegmentFields): string => encodeFrame(encodeSegment(f));

/** The CP text of a data upload, from readings: `DataTime=…;w01018-Rtd=…,w01018-Flag=N;…`. */
export function encodeCp(cp: {
  dataTime?: string;
  params?: Record<string, string>;
  pollutants?: Record<string, { values: Partial<Record<ValueSuffix, number>>; flag?: string }>;
}): string {
  const items: string[] = [];
  if (cp.dataTime) items.push(`DataTime=${isoToBeijing(cp.dataTime)}`);
  for (const [k, v] of Object.entries(cp.params ?? {})) items.push(`${k}=${v}`);
  for (const [code, p] of Object.entries(cp.pollutants ?? {})) {
    const subs = Object.entries(p.values).map(([s, v]) => `${code}-${s}=${v}`);
    if (p.flag) subs.push(`${code}-Flag=${p.flag}`);
    items.push(subs.join(','));
  }
  return items.join(';');
}
