import { nullRecord } from '#shared/domain/null-record.ts';
import { crc16, crcHex } from './crc.ts';
import { beginScan, CP_START, type FieldInfo, fieldAt, HASH_SEED, isFieldAt, Kind } from './fields.ts';
import { numberEnd, scanNumber } from './numbers.ts';
import { isoToBeijing, timeIso, timeKey } from './times.ts';
import type { Cp, DecodeResult, Hj212Packet, PollutantData, ProtocolVersion, ValueSuffix } from './types.ts';

export { beijingToIso, isoToBeijing } from './times.ts';

/**
 * HJ 212 frame codec: `##` + 4-digit length (UTF-8 bytes of the data segment) + data segment + CRC16 + CR LF.
 * Decoding checks frame, length, CRC, header and CP: the bytes are turned into one string (the packet's `segment`),
 * which is then read once from left to right; field names are recognised without cutting them out (fields.ts), numbers
 * are read in place (numbers.ts), and only values the packet keeps become strings. A deviation with a clear meaning
 * becomes a warning, anything else a rejection with a precise reason. Never throws on input.
 *
 * Device-chosen names land only in null records (null-record.ts), and codes that do not look like HJ 212 codes are
 * dropped with a warning (fields.ts): no name can reach an object prototype. A field given twice in one CP keeps its
 * first value, with a warning (docs/devices.md).
 */
export const MAX_SEGMENT = 1024;
export const MAX_CP = 950;
const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;
const SEMI = 0x3b;
const COMMA = 0x2c;
const EQ = 0x3d;
const SLASH = 0x2f;
const AMP = 0x26;

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

/** The 4 hex digits at `at` (either case), or -1. */
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

const hasLowerHex = (bytes: Uint8Array, at: number): boolean =>
  (bytes[at] as number) >= 97 ||
  (bytes[at + 1] as number) >= 97 ||
  (bytes[at + 2] as number) >= 97 ||
  (bytes[at + 3] as number) >= 97;

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
  // UTF-8 (no encoding named: Buffer goes straight to its UTF-8 slice)
  const segment = buf.toString(undefined, segStart, segEnd);
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
  if (hasLowerHex(bytes, segEnd)) warnings.push('CRC is written in lower case');
  // one character per byte: every ASCII byte is its character at the same place (a stray non-UTF-8 byte became
  // U+FFFD, still one character), so the frame's bytes serve as the segment's syntax; otherwise derive it
  return segment.length === actual
    ? parseSegment(bytes, segStart, segment, warnings)
    : parseSegment(syntaxOf(segment), 0, segment, warnings);
}

/**
 * The segment's characters as bytes for the scanner: ASCII as is, anything else 0xFF (never a separator, digit or
 * letter), so offsets in the bytes are offsets in the string.
 */
function syntaxOf(segment: string): Uint8Array {
  const b = new Uint8Array(segment.length);
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    b[i] = c < 0x80 ? c : 0xff;
  }
  return b;
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

function isPrintableAt(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i] as number;
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** The value of 1–3 digits at `b[from, to)`, or -1. */
function smallIntAt(b: Uint8Array, from: number, to: number): number {
  if (to - from < 1 || to - from > 3) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (b[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** System and command codes repeat across packets: one string each. */
const SYSTEM_CODES = new Map<number, string>();
const COMMAND_CODES: (string | undefined)[] = [];

const isSystemChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90);

/** ST: 2 characters 0–9 A–Z, or undefined. */
function systemCodeAt(b: Uint8Array, from: number, to: number): string | undefined {
  if (to - from !== 2) return undefined;
  const c0 = b[from] as number;
  const c1 = b[from + 1] as number;
  if (!isSystemChar(c0) || !isSystemChar(c1)) return undefined;
  const key = (c0 << 8) | c1;
  let code = SYSTEM_CODES.get(key);
  if (code === undefined) {
    code = String.fromCharCode(c0, c1);
    SYSTEM_CODES.set(key, code);
  }
  return code;
}

/** CN: 4 digits, or undefined. */
function commandCodeAt(b: Uint8Array, from: number, to: number): string | undefined {
  if (to - from !== 4) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (b[i] as number) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  let code = COMMAND_CODES[n];
  if (code === undefined) {
    code = String.fromCharCode(b[from] as number, b[from + 1] as number, b[from + 2] as number, b[from + 3] as number);
    COMMAND_CODES[n] = code;
  }
  return code;
}

/** A device-chosen name for a warning: as is when it is plain letters and digits, else quoted and escaped. */
const shown = (name: string): string => (/^[0-9A-Za-z]{1,40}$/.test(name) ? name : JSON.stringify(name.slice(0, 40)));

/** Header fields, as small integers so the scanner compares bytes, not strings. */
const Head = { Unknown: 0, QN: 1, ST: 2, CN: 3, PW: 4, MN: 5, Flag: 6, PNUM: 7, PNO: 8 } as const;
type Head = (typeof Head)[keyof typeof Head];

/** Which header field `b[from, eq)` names. */
function headerKey(b: Uint8Array, from: number, eq: number): Head {
  const c0 = b[from];
  const c1 = b[from + 1];
  switch (eq - from) {
    case 2:
      if (c0 === 81 && c1 === 78) return Head.QN;
      if (c0 === 83 && c1 === 84) return Head.ST;
      if (c0 === 67 && c1 === 78) return Head.CN;
      if (c0 === 80 && c1 === 87) return Head.PW;
      if (c0 === 77 && c1 === 78) return Head.MN;
      return Head.Unknown;
    case 3:
      return c0 === 80 && c1 === 78 && b[from + 2] === 79 ? Head.PNO : Head.Unknown;
    case 4:
      if (c0 === 70 && c1 === 108 && b[from + 2] === 97 && b[from + 3] === 103) return Head.Flag;
      if (c0 === 80 && c1 === 78 && b[from + 2] === 85 && b[from + 3] === 77) return Head.PNUM;
      return Head.Unknown;
    default:
      return Head.Unknown;
  }
}

/** Decodes a data segment (the part between the length and the CRC). */
export function decodeSegment(segment: string, warnings: string[] = []): DecodeResult {
  return parseSegment(syntaxOf(segment), 0, segment, warnings);
}

/**
 * The segment's structure is read from bytes `b`, where the character `segment[i]` is `b[base + i]` for every ASCII
 * character (and a byte ≥ 0x80 for every other one); values the packet keeps are cut from `segment`.
 */
function parseSegment(b: Uint8Array, base: number, segment: string, warnings: string[]): DecodeResult {
  const cpAt = segment.indexOf('CP=&&');
  if (cpAt < 0) return fail('malformed-cp', 'the data segment has no CP=&&…&&', peekHeader(segment));
  if (cpAt > 0 && segment.charCodeAt(cpAt - 1) !== SEMI)
    return fail('bad-header', 'CP must follow a ";"', peekHeader(segment));
  const cpBodyStart = cpAt + 5;
  // `&&` ends a well-formed segment: look there before searching backwards
  const n = segment.length;
  const cpEnd = b[base + n - 1] === AMP && b[base + n - 2] === AMP ? n - 2 : segment.lastIndexOf('&&');
  if (cpEnd < cpBodyStart) return fail('malformed-cp', 'CP is not closed with &&', peekHeader(segment));
  if (cpEnd + 2 !== segment.length) {
    const tail = segment.slice(cpEnd + 2);
    if (tail.trim() !== '')
      return fail('malformed-cp', `unexpected "${tail.slice(0, 20)}" after CP`, peekHeader(segment));
  }
  if (cpEnd + 2 - cpAt > MAX_CP + 5) warnings.push(`CP is ${cpEnd + 2 - cpAt} characters; HJ 212 allows ${MAX_CP}`);

  // where each header value lies in `b` (a repeated field: the last one, with a warning)
  let qnAt = -1;
  let qnEnd = 0;
  let stAt = -1;
  let stEnd = 0;
  let cnAt = -1;
  let cnEnd = 0;
  let pwAt = -1;
  let pwEnd = 0;
  let mnAt = -1;
  let mnEnd = 0;
  let flagAt = -1;
  let flagEnd = 0;
  let pnumText: string | undefined;
  let pnoText: string | undefined;
  let from = base;
  const headEnd = base + cpAt - 1;
  while (from < headEnd) {
    // the item ends at the next `;` (a native search: values are long), its name at the first `=` (names are short)
    let semi = segment.indexOf(';', from - base) + base;
    if (semi < base || semi > headEnd) semi = headEnd;
    let eq = from;
    while (eq < semi && b[eq] !== EQ) eq++;
    if (eq === semi || eq === from)
      return fail(
        'bad-header',
        `header item "${segment.slice(from - base, Math.min(semi, from + 20) - base)}" is not name=value`,
        peekHeader(segment),
      );
    let repeated = false;
    switch (headerKey(b, from, eq)) {
      case Head.QN:
        repeated = qnAt >= 0;
        qnAt = eq + 1;
        qnEnd = semi;
        break;
      case Head.ST:
        repeated = stAt >= 0;
        stAt = eq + 1;
        stEnd = semi;
        break;
      case Head.CN:
        repeated = cnAt >= 0;
        cnAt = eq + 1;
        cnEnd = semi;
        break;
      case Head.PW:
        repeated = pwAt >= 0;
        pwAt = eq + 1;
        pwEnd = semi;
        break;
      case Head.MN:
        repeated = mnAt >= 0;
        mnAt = eq + 1;
        mnEnd = semi;
        break;
      case Head.Flag:
        repeated = flagAt >= 0;
        flagAt = eq + 1;
        flagEnd = semi;
        break;
      case Head.PNUM:
        pnumText = segment.slice(eq + 1 - base, semi - base);
        break;
      case Head.PNO:
        pnoText = segment.slice(eq + 1 - base, semi - base);
        break;
      default:
        warnings.push(`unknown header field ${shown(segment.slice(from - base, eq - base))}`);
    }
    if (repeated) warnings.push(`header field ${segment.slice(from - base, eq - base)} repeated`);
    from = semi + 1;
  }
  if (mnAt < 0 || mnEnd === mnAt) return fail('missing-mn', 'the packet has no MN', peekHeader(segment));
  if (mnEnd - mnAt > 24 || !isPrintableAt(b, mnAt, mnEnd))
    return fail('bad-header', 'MN must be 1–24 printable ASCII characters', peekHeader(segment));
  if (mnEnd - mnAt !== 24) warnings.push(`MN has ${mnEnd - mnAt} characters, not the 24 of HJ 212-2017`);
  if (stAt < 0 || stEnd === stAt) return fail('missing-field', 'the packet has no ST', peekHeader(segment));
  if (cnAt < 0 || cnEnd === cnAt) return fail('missing-field', 'the packet has no CN', peekHeader(segment));
  const st = systemCodeAt(b, stAt, stEnd);
  if (st === undefined)
    return fail(
      'bad-header',
      `ST "${segment.slice(stAt - base, stEnd - base).slice(0, 8)}" is not a 2-character system code`,
      peekHeader(segment),
    );
  const cn = commandCodeAt(b, cnAt, cnEnd);
  if (cn === undefined)
    return fail(
      'bad-header',
      `CN "${segment.slice(cnAt - base, cnEnd - base).slice(0, 8)}" is not a 4-digit command code`,
      peekHeader(segment),
    );
  let flag: number | undefined;
  if (flagAt >= 0) {
    flag = smallIntAt(b, flagAt, flagEnd);
    if (flag > 255 || flag < 0) return fail('bad-header', 'Flag must be an integer 0–255', peekHeader(segment));
  }
  const version = versionOf(flag);
  if (version === 'unknown') warnings.push(`Flag ${flag} has unknown protocol version bits`);
  if (qnAt >= 0 && timeKey(b, qnAt, qnEnd) < 0) warnings.push('QN is not a YYYYMMDDhhmmsszzz time');
  if (qnAt < 0 && version !== '2005') warnings.push('QN is missing');
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
  const qn = qnAt >= 0 ? segment.slice(qnAt - base, qnEnd - base) : undefined;
  const pw = pwAt >= 0 ? segment.slice(pwAt - base, pwEnd - base) : undefined;
  const mn = segment.slice(mnAt - base, mnEnd - base);
  const cp = scanCp(b, base + cpBodyStart, base + cpEnd, segment, base, warnings);
  if (typeof cp === 'string') return fail('malformed-cp', cp, peekHeader(segment));
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

/** Parses the CP data area: `;` separates items, `,` sub-values, each `name=value`. */
export function decodeCp(body: string, warnings: string[]): Cp | { error: string } {
  const cp = scanCp(syntaxOf(body), 0, body.length, body, 0, warnings);
  return typeof cp === 'string' ? { error: cp } : cp;
}

/** Where the value after `=` at `eq` ends: the next `;` or `,`, past a `//…//` text (of an `-Info` field) first. */
function valueEnd(b: Uint8Array, eq: number, to: number): number {
  let i = eq + 1;
  if (i + 1 < to && b[i] === SLASH && b[i + 1] === SLASH) {
    i += 2;
    while (i + 1 < to && !(b[i] === SLASH && b[i + 1] === SLASH)) i++;
    i = i + 1 < to ? i + 2 : to;
  }
  for (; i < to; i++) {
    const c = b[i];
    if (c === SEMI || c === COMMA) return i;
  }
  return to;
}

const endsField = (b: Uint8Array, at: number, to: number): boolean => at === to || b[at] === SEMI || b[at] === COMMA;

const twice = (f: FieldInfo): string =>
  f.current === f.code || f.kind === Kind.Param || f.kind === Kind.DataTime
    ? `${f.name} is given twice; the first value is kept`
    : `${f.name} repeats ${f.current}-${f.suffix}; the first value is kept`;

/**
 * The CP data area `b[from, to)` (characters of `text` at `index - base`), or the reason it is malformed. Items are
 * `name=value`, separated by `;` or `,`. A field name is first compared with the field that followed the previous one
 * last time (devices repeat their layout; fields.ts) and only hashed and looked up when that guess is wrong; numbers
 * are read in place (numbers.ts).
 */
function scanCp(b: Uint8Array, from: number, to: number, text: string, base: number, warnings: string[]): Cp | string {
  const cp: Cp = {
    dataTime: undefined,
    params: nullRecord(),
    pollutants: nullRecord(),
    facilities: nullRecord(),
    info: nullRecord(),
  };
  const scan = beginScan();
  let prev = CP_START;
  let start = from;
  while (start < to) {
    let f = guess(prev, b, start, to);
    let eq: number;
    if (f !== undefined) eq = start + f.bytes.length;
    else {
      let hash = HASH_SEED;
      let c = 0;
      for (eq = start; eq < to; eq++) {
        c = b[eq] as number;
        if (c === EQ || c === SEMI || c === COMMA) break;
        hash = Math.imul(hash ^ c, 16777619);
      }
      if (eq === to || c !== EQ) {
        if (eq === start) {
          if (eq < to) warnings.push('empty CP item');
          start = eq + 1;
          continue;
        }
        return `CP item "${text.slice(start - base, Math.min(eq, start + 30) - base)}" is not name=value`;
      }
      if (eq === start)
        return `CP item "${text.slice(start - base, Math.min(valueEnd(b, eq, to), start + 30) - base)}" is not name=value`;
      f = fieldAt(b, start, eq, hash, text, base);
      if (f.ascii) {
        prev.alt = prev.next;
        prev.next = f;
      }
    }
    prev = f;
    const v = eq + 1;
    let stop: number;
    switch (f.kind) {
      case Kind.Value: {
        const pollutant = f.pollutant.scan === scan ? (f.pollutant.entry as PollutantData) : pollutantOf(cp, f, scan);
        const num = scanNumber(b, v, to, text, base);
        stop = numberEnd;
        if (!endsField(b, stop, to)) {
          stop = valueEnd(b, eq, to);
          return `${f.name}="${text.slice(v - base, Math.min(stop, v + 20) - base)}" is not a number`;
        }
        if (stop === v) warnings.push(`${f.name} is empty`);
        else if (Number.isNaN(num))
          return `${f.name}="${text.slice(v - base, Math.min(stop, v + 20) - base)}" is not a number`;
        else if (!setValue(pollutant.values, f.slot, num)) warnings.push(twice(f));
        break;
      }
      case Kind.Flag:
      case Kind.EFlag:
      case Kind.SN: {
        const pollutant = f.pollutant.scan === scan ? (f.pollutant.entry as PollutantData) : pollutantOf(cp, f, scan);
        stop = valueEnd(b, eq, to);
        if (!setText(pollutant, f.kind, valueText(b, v, stop, text, base))) warnings.push(twice(f));
        break;
      }
      case Kind.SampleTime: {
        const pollutant = f.pollutant.scan === scan ? (f.pollutant.entry as PollutantData) : pollutantOf(cp, f, scan);
        stop = valueEnd(b, eq, to);
        const iso = timeIso(b, v, stop);
        if (!iso) warnings.push(`${f.name} is not a time`);
        else if (pollutant.sampleTime === undefined) pollutant.sampleTime = iso;
        else warnings.push(twice(f));
        break;
      }
      case Kind.Extra: {
        const pollutant = f.pollutant.scan === scan ? (f.pollutant.entry as PollutantData) : pollutantOf(cp, f, scan);
        stop = valueEnd(b, eq, to);
        pollutant.extra ??= nullRecord();
        if (pollutant.extra[f.suffix] === undefined) pollutant.extra[f.suffix] = valueText(b, v, stop, text, base);
        else warnings.push(twice(f));
        break;
      }
      case Kind.DataTime: {
        stop = valueEnd(b, eq, to);
        const iso = timeIso(b, v, stop);
        if (!iso)
          return `DataTime "${text.slice(v - base, Math.min(stop, v + 20) - base)}" is not a YYYYMMDDhhmmss time`;
        if (cp.dataTime === undefined) cp.dataTime = iso;
        else warnings.push(twice(f));
        break;
      }
      case Kind.Param:
        stop = valueEnd(b, eq, to);
        if (cp.params[f.name] === undefined) cp.params[f.name] = valueText(b, v, stop, text, base);
        else warnings.push(twice(f));
        break;
      case Kind.Facility: {
        stop = valueEnd(b, eq, to);
        const num = scanNumber(b, v, stop, text, base);
        if (numberEnd !== stop || Number.isNaN(num)) return `${f.name} must be a number`;
        let fac = cp.facilities[f.code];
        if (fac === undefined) {
          fac = {};
          cp.facilities[f.code] = fac;
        }
        if ((f.suffix === 'RS' ? fac.rs : fac.rt) !== undefined) warnings.push(twice(f));
        else if (f.suffix === 'RS') fac.rs = num;
        else fac.rt = num;
        break;
      }
      case Kind.Info:
        stop = valueEnd(b, eq, to);
        if (cp.info[f.code] === undefined) cp.info[f.code] = valueText(b, v, stop, text, base);
        else warnings.push(twice(f));
        break;
      case Kind.Drop:
        stop = valueEnd(b, eq, to);
        warnings.push(`CP field ${JSON.stringify(f.name.slice(0, 40))} dropped: ${f.why}`);
        break;
      default:
        return `CP field "${f.name.slice(0, 30)}" has an empty code or suffix`;
    }
    start = stop + 1;
  }
  return cp;
}

/** The field that followed `prev` before, when it is the one at `b[start…]`. */
function guess(prev: FieldInfo, b: Uint8Array, start: number, to: number): FieldInfo | undefined {
  const next = prev.next;
  if (next !== undefined && isFieldAt(next, b, start, to)) return next;
  const alt = prev.alt;
  return alt !== undefined && isFieldAt(alt, b, start, to) ? alt : undefined;
}

/** Single ASCII characters as strings (flags are one letter: N, F, M, …). */
const CHARS = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));

/** The value at `b[from, to)` as text: a single ASCII character from CHARS, anything else cut from `text`. */
function valueText(b: Uint8Array, from: number, to: number, text: string, base: number): string {
  if (to - from === 1) {
    const c = b[from] as number;
    if (c < 0x80) return CHARS[c] as string;
  }
  return text.slice(from - base, to - base);
}

/** Creates the entry of a pollutant on its first field in the CP numbered `scan`. */
function pollutantOf(cp: Cp, f: FieldInfo, scan: number): PollutantData {
  const p: PollutantData =
    f.current === f.code ? { code: f.current, values: {} } : { code: f.current, sentCode: f.code, values: {} };
  cp.pollutants[f.current] = p;
  f.pollutant.scan = scan;
  f.pollutant.entry = p;
  return p;
}

/** Sets a pollutant's flag, extended flag or instrument number (named stores); false when it was set. */
function setText(p: PollutantData, kind: Kind, text: string): boolean {
  if (kind === Kind.Flag) {
    if (p.flag !== undefined) return false;
    p.flag = text;
  } else if (kind === Kind.EFlag) {
    if (p.eflag !== undefined) return false;
    p.eflag = text;
  } else {
    if (p.sn !== undefined) return false;
    p.sn = text;
  }
  return true;
}

/** Sets one value by its suffix's slot (VALUE_SUFFIXES order) with a named store each; false when it was set. */
function setValue(values: PollutantData['values'], slot: number, n: number): boolean {
  switch (slot) {
    case 0:
      if (values.Rtd !== undefined) return false;
      values.Rtd = n;
      return true;
    case 1:
      if (values.Avg !== undefined) return false;
      values.Avg = n;
      return true;
    case 2:
      if (values.Min !== undefined) return false;
      values.Min = n;
      return true;
    case 3:
      if (values.Max !== undefined) return false;
      values.Max = n;
      return true;
    case 4:
      if (values.Cou !== undefined) return false;
      values.Cou = n;
      return true;
    case 5:
      if (values.ZsRtd !== undefined) return false;
      values.ZsRtd = n;
      return true;
    case 6:
      if (values.ZsAvg !== undefined) return false;
      values.ZsAvg = n;
      return true;
    case 7:
      if (values.ZsMin !== undefined) return false;
      values.ZsMin = n;
      return true;
    default:
      if (values.ZsMax !== undefined) return false;
      values.ZsMax = n;
      return true;
  }
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
