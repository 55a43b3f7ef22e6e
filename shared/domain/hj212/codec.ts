import { toCurrentCode } from '#shared/domain/pollutants.ts';
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

const isoCache = new Map<string, string | undefined>();

function digitsAt(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `YYYYMMDDhhmmss[zzz]` in Beijing time → ISO instant, or undefined when it is not a real time. */
export function beijingToIso(text: string): string | undefined {
  const cached = isoCache.get(text);
  if (cached !== undefined || isoCache.has(text)) return cached;
  const iso = convertBeijing(text);
  if (isoCache.size > 512) isoCache.clear();
  isoCache.set(text, iso);
  return iso;
}

function convertBeijing(text: string): string | undefined {
  if (text.length !== 14 && text.length !== 17) return undefined;
  const y = digitsAt(text, 0, 4);
  const mo = digitsAt(text, 4, 2);
  const d = digitsAt(text, 6, 2);
  const h = digitsAt(text, 8, 2);
  const mi = digitsAt(text, 10, 2);
  const s = digitsAt(text, 12, 2);
  const ms = text.length === 17 ? digitsAt(text, 14, 3) : 0;
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0)
    return undefined;
  const t = Date.UTC(y, mo - 1, d, h - 8, mi, s, ms);
  if (new Date(t + 8 * 3_600_000).getUTCDate() !== d) return undefined;
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

function hex4(bytes: Uint8Array, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i] as number;
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (v < 0) return -1;
    n = n * 16 + v;
  }
  return n;
}

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
  if (declared !== actual) {
    // some devices count characters instead of UTF-8 bytes when the segment holds Chinese text
    if (declared === segment.length) warnings.push(`length ${declared} counts characters, not UTF-8 bytes (${actual})`);
    else
      return fail(
        'length-mismatch',
        `declared length ${declared} but the data segment has ${actual} bytes`,
        peekHeader(segment),
      );
  }
  const sent = hex4(bytes, segEnd);
  if (sent < 0)
    return fail('bad-frame', `CRC "${buf.toString('latin1', segEnd, end)}" is not 4 hex digits`, peekHeader(segment));
  const expected = crc16(bytes, segStart, segEnd);
  if (sent !== expected) {
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
    return fail('bad-crc', `CRC ${hex(sent)} does not match the data (${hex(expected)})`, peekHeader(segment));
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

function isPrintable(text: string, max: number): boolean {
  if (text.length === 0 || text.length > max) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function isAllDigits(text: string, min: number, max: number): boolean {
  if (text.length < min || text.length > max) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isSystemCode(text: string): boolean {
  if (text.length !== 2) return false;
  for (let i = 0; i < 2; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90))) return false;
  }
  return true;
}

/** Decodes a data segment (the part between the length and the CRC). */
export function decodeSegment(segment: string, warnings: string[] = []): DecodeResult {
  const cpAt = segment.indexOf('CP=&&');
  if (cpAt < 0) return fail('malformed-cp', 'the data segment has no CP=&&…&&', peekHeader(segment));
  if (cpAt > 0 && segment.charCodeAt(cpAt - 1) !== 0x3b)
    return fail('bad-header', 'CP must follow a ";"', peekHeader(segment));
  const cpBodyStart = cpAt + 5;
  const cpEnd = segment.lastIndexOf('&&');
  if (cpEnd < cpBodyStart) return fail('malformed-cp', 'CP is not closed with &&', peekHeader(segment));
  if (cpEnd + 2 !== segment.length) {
    const tail = segment.slice(cpEnd + 2);
    if (tail.trim() !== '')
      return fail('malformed-cp', `unexpected "${tail.slice(0, 20)}" after CP`, peekHeader(segment));
  }
  if (cpEnd + 2 - cpAt > MAX_CP + 5) warnings.push(`CP is ${cpEnd + 2 - cpAt} characters; HJ 212 allows ${MAX_CP}`);

  let qn: string | undefined;
  let st: string | undefined;
  let cn: string | undefined;
  let pw: string | undefined;
  let mn: string | undefined;
  let flagText: string | undefined;
  let pnumText: string | undefined;
  let pnoText: string | undefined;
  let from = 0;
  const headEnd = cpAt - 1;
  while (from < headEnd) {
    let semi = segment.indexOf(';', from);
    if (semi < 0 || semi > headEnd) semi = headEnd;
    const eq = segment.indexOf('=', from);
    if (eq <= from || eq > semi)
      return fail(
        'bad-header',
        `header item "${segment.slice(from, Math.min(semi, from + 20))}" is not name=value`,
        peekHeader(segment),
      );
    const key = segment.slice(from, eq);
    const value = segment.slice(eq + 1, semi);
    let repeated = false;
    switch (key) {
      case 'QN':
        repeated = qn !== undefined;
        qn = value;
        break;
      case 'ST':
        repeated = st !== undefined;
        st = value;
        break;
      case 'CN':
        repeated = cn !== undefined;
        cn = value;
        break;
      case 'PW':
        repeated = pw !== undefined;
        pw = value;
        break;
      case 'MN':
        repeated = mn !== undefined;
        mn = value;
        break;
      case 'Flag':
        repeated = flagText !== undefined;
        flagText = value;
        break;
      case 'PNUM':
        pnumText = value;
        break;
      case 'PNO':
        pnoText = value;
        break;
      default:
        warnings.push(`unknown header field ${key}`);
    }
    if (repeated) warnings.push(`header field ${key} repeated`);
    from = semi + 1;
  }
  if (!mn) return fail('missing-mn', 'the packet has no MN', peekHeader(segment));
  if (!isPrintable(mn, 24))
    return fail('bad-header', 'MN must be 1–24 printable ASCII characters', peekHeader(segment));
  if (mn.length !== 24) warnings.push(`MN has ${mn.length} characters, not the 24 of HJ 212-2017`);
  if (!st) return fail('missing-field', 'the packet has no ST', peekHeader(segment));
  if (!cn) return fail('missing-field', 'the packet has no CN', peekHeader(segment));
  if (!isSystemCode(st))
    return fail('bad-header', `ST "${st.slice(0, 8)}" is not a 2-character system code`, peekHeader(segment));
  if (!isAllDigits(cn, 4, 4))
    return fail('bad-header', `CN "${cn.slice(0, 8)}" is not a 4-digit command code`, peekHeader(segment));
  let flag: number | undefined;
  if (flagText !== undefined) {
    if (!isAllDigits(flagText, 1, 3) || Number(flagText) > 255)
      return fail('bad-header', 'Flag must be an integer 0–255', peekHeader(segment));
    flag = Number(flagText);
  }
  const version = versionOf(flag);
  if (version === 'unknown') warnings.push(`Flag ${flag} has unknown protocol version bits`);
  if (qn !== undefined && !beijingToIso(qn)) warnings.push('QN is not a YYYYMMDDhhmmsszzz time');
  if (qn === undefined && version !== '2005') warnings.push('QN is missing');
  const split = flag !== undefined && (flag & 2) === 2;
  let pnum: number | undefined;
  let pno: number | undefined;
  if (split || pnumText !== undefined || pnoText !== undefined) {
    pnum = Number(pnumText);
    pno = Number(pnoText);
    if (!Number.isInteger(pnum) || !Number.isInteger(pno) || pnum < 1 || pno < 1 || pno > pnum) {
      return fail('bad-header', 'a split packet needs PNUM ≥ PNO ≥ 1', peekHeader(segment));
    }
    if (!split) warnings.push('PNUM/PNO without the D flag');
  }
  const cp = decodeCp(segment.slice(cpBodyStart, cpEnd), warnings);
  if ('error' in cp) return fail('malformed-cp', cp.error, peekHeader(segment));
  const packet: Hj212Packet = {
    qn,
    st,
    cn,
    pw,
    mn,
    flag,
    version,
    ack: flag !== undefined && (flag & 1) === 1,
    split,
    pnum,
    pno,
    cp,
    segment,
    warnings,
  };
  return { ok: true, packet };
}

/** A decimal number as HJ 212 writes it (sign, digits, one point, optional exponent), or undefined. */
function toNumber(v: string): number | undefined {
  const n = v.length;
  if (n === 0 || n > 24) return undefined;
  let i = 0;
  let c = v.charCodeAt(0);
  if (c === 43 || c === 45) i++;
  let digits = 0;
  let dot = false;
  for (; i < n; i++) {
    c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else if ((c === 101 || c === 69) && digits > 0) break;
    else return undefined;
  }
  if (digits === 0) return undefined;
  if (i < n) {
    i++;
    c = v.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    if (i >= n) return undefined;
    for (; i < n; i++) {
      c = v.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
  }
  const num = Number(v);
  return Number.isFinite(num) ? num : undefined;
}

type FieldKind =
  | 'bad'
  | 'dataTime'
  | 'param'
  | 'facility'
  | 'info'
  | 'value'
  | 'flag'
  | 'eflag'
  | 'sn'
  | 'sampleTime'
  | 'extra';
interface FieldInfo {
  kind: FieldKind;
  /** the code as sent, before `-` */
  code: string;
  /** the 2017 code */
  current: string;
  suffix: string;
}

/** CP field names repeat across packets: classify each once. */
const FIELD_CACHE = new Map<string, FieldInfo>();

function fieldOf(name: string): FieldInfo {
  const hit = FIELD_CACHE.get(name);
  if (hit) return hit;
  const info = classify(name);
  if (FIELD_CACHE.size > 4096) FIELD_CACHE.clear();
  FIELD_CACHE.set(name, info);
  return info;
}

function classify(name: string): FieldInfo {
  const dash = name.indexOf('-');
  if (dash < 0) return { kind: name === 'DataTime' ? 'dataTime' : 'param', code: name, current: name, suffix: '' };
  const code = name.slice(0, dash);
  const suffix = name.slice(dash + 1);
  if (code === '' || suffix === '') return { kind: 'bad', code, current: code, suffix };
  if ((suffix === 'RS' || suffix === 'RT') && code.startsWith('SB'))
    return { kind: 'facility', code, current: code, suffix };
  if (suffix === 'Info') return { kind: 'info', code, current: code, suffix };
  const current = toCurrentCode(code);
  const kind: FieldKind = SUFFIX_SET.has(suffix)
    ? 'value'
    : suffix === 'Flag'
      ? 'flag'
      : suffix === 'EFlag'
        ? 'eflag'
        : suffix === 'SN'
          ? 'sn'
          : suffix === 'SampleTime'
            ? 'sampleTime'
            : 'extra';
  return { kind, code, current, suffix };
}

/** Parses the CP data area: `;` separates items, `,` sub-values, each `name=value`. */
export function decodeCp(body: string, warnings: string[]): Cp | { error: string } {
  const cp: Cp = { params: {}, pollutants: {}, facilities: {}, info: {} };
  if (body === '') return cp;
  const n = body.length;
  let start = 0;
  // next `;` and `,` at or after `start`, kept between items so the body is scanned once
  let semi = body.indexOf(';');
  let comma = body.indexOf(',');
  while (start <= n) {
    if (semi >= 0 && semi < start) semi = body.indexOf(';', start);
    if (comma >= 0 && comma < start) comma = body.indexOf(',', start);
    const eq = body.indexOf('=', start);
    let stop = semi < 0 ? (comma < 0 ? n : comma) : comma < 0 ? semi : Math.min(semi, comma);
    if (eq < 0 || eq > stop) {
      if (stop === start) {
        if (stop < n) warnings.push('empty CP item');
        start = stop + 1;
        continue;
      }
      return { error: `CP item "${body.slice(start, Math.min(stop, start + 30))}" is not name=value` };
    }
    if (eq === start) return { error: `CP item "${body.slice(start, Math.min(stop, start + 30))}" is not name=value` };
    // a `-Info` value may hold ; and , between // markers
    if (body.charCodeAt(eq + 1) === 0x2f && body.charCodeAt(eq + 2) === 0x2f) {
      const close = body.indexOf('//', eq + 3);
      const after = close < 0 ? n : close + 2;
      if (after > stop) {
        semi = body.indexOf(';', after);
        comma = body.indexOf(',', after);
        stop = semi < 0 ? (comma < 0 ? n : comma) : comma < 0 ? semi : Math.min(semi, comma);
      }
    }
    const name = body.slice(start, eq);
    const value = body.slice(eq + 1, stop);
    start = stop + 1;
    const f = fieldOf(name);
    switch (f.kind) {
      case 'bad':
        return { error: `CP field "${name.slice(0, 30)}" has an empty code or suffix` };
      case 'dataTime': {
        const iso = beijingToIso(value);
        if (!iso) return { error: `DataTime "${value.slice(0, 20)}" is not a YYYYMMDDhhmmss time` };
        cp.dataTime = iso;
        break;
      }
      case 'param':
        cp.params[name] = value;
        break;
      case 'facility': {
        const num = toNumber(value);
        if (num === undefined) return { error: `${name} must be a number` };
        let fac = cp.facilities[f.code];
        if (!fac) {
          fac = {};
          cp.facilities[f.code] = fac;
        }
        if (f.suffix === 'RS') fac.rs = num;
        else fac.rt = num;
        break;
      }
      case 'info':
        cp.info[f.code] = value;
        break;
      default: {
        let p = cp.pollutants[f.current];
        if (!p) {
          p =
            f.current === f.code ? { code: f.current, values: {} } : { code: f.current, sentCode: f.code, values: {} };
          cp.pollutants[f.current] = p;
        }
        if (f.kind === 'value') {
          if (value === '') {
            warnings.push(`${name} is empty`);
            break;
          }
          const num = toNumber(value);
          if (num === undefined) return { error: `${name}="${value.slice(0, 20)}" is not a number` };
          p.values[f.suffix as ValueSuffix] = num;
        } else if (f.kind === 'flag') p.flag = value;
        else if (f.kind === 'eflag') p.eflag = value;
        else if (f.kind === 'sn') p.sn = value;
        else if (f.kind === 'sampleTime') {
          const iso = beijingToIso(value);
          if (iso) p.sampleTime = iso;
          else warnings.push(`${name} is not a time`);
        } else {
          if (!p.extra) p.extra = {};
          p.extra[f.suffix] = value;
        }
      }
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
