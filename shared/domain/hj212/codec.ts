import { nullRecord } from '#shared/domain/null-record.ts';
import { crc16, crcHex } from './crc.ts';
import { beginScan, CP_START, type FieldInfo, fieldAt, HASH_SEED, isFieldAt, Kind } from './fields.ts';
import { numberEnd, scanNumber } from './numbers.ts';
import { SM4_BLOCK, sm4DecryptBlocks, sm4EncryptBlocks } from './sm4.ts';
import { isoToBeijing, timeIso, timeKey } from './times.ts';
import type {
  Cp,
  DecodeOptions,
  DecodeResult,
  Hj212Packet,
  PollutantData,
  ProtocolVersion,
  ValueSuffix,
} from './types.ts';

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

/**
 * Decodes one frame (with or without its CR LF). An HJ 212-2025 frame whose CP is SM4-encrypted is opened with the
 * keys in `opts` (decrypt first, then the CRC: see decodeEncrypted); without keys it is refused as `no-key`.
 */
export function decodeFrame(input: Uint8Array | string, opts?: DecodeOptions): DecodeResult {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (opts !== undefined && (opts.keys?.length || opts.requireEncryption)) return decodeEncrypted(bytes, opts);
  const plain = decodePlain(bytes);
  if (plain.ok) return plain;
  const cp = locateCp(bytes);
  if (cp?.encryptable && (cp.form === 'text' || (cp.version === '2025' && !cp.printable))) {
    return fail(
      'no-key',
      `the CP is SM4-encrypted (${cp.form === 'text' ? '{0x..} text' : 'ciphertext bytes'}) and no key of this device is known`,
      cp.header,
    );
  }
  return plain;
}

/** CN whose CP a device encrypts (HJ 212-2025 §6.4.4): data 2000–2999, key 1014, field information 3020. */
export function isEncryptableCn(cn: string | undefined): boolean {
  if (cn === undefined || cn.length !== 4) return false;
  return (cn >= '2000' && cn <= '2999') || cn === '1014' || cn === '3020';
}

/** Where a frame's CP lies and in which form, read from the header (ASCII) before anything is decoded. */
interface CpLayout {
  header: Fail['header'];
  version: ProtocolVersion;
  encryptable: boolean;
  /** index of the first byte after `CP=&&` */
  body: number;
  /** index of the closing `&&` (the last two bytes of the segment) */
  close: number;
  /** index of the CRC */
  crcAt: number;
  form: 'text' | 'binary';
  /** every byte of the CP area is printable ASCII or part of UTF-8 text (plaintext looks like this; ciphertext not) */
  printable: boolean;
}

const CP_MARK = Buffer.from('CP=&&');
/** the `{0x..,}` text form takes up to 5 characters per byte: a 1024-byte segment becomes at most about 5 KiB */
export const MAX_TEXT_FORM_SEGMENT = 6 * MAX_SEGMENT;

function locateCp(bytes: Uint8Array): CpLayout | undefined {
  let end = bytes.length;
  if (end >= 2 && bytes[end - 2] === CR && bytes[end - 1] === LF) end -= 2;
  else if (end >= 1 && bytes[end - 1] === LF) end -= 1;
  if (end < 10 || bytes[0] !== HASH || bytes[1] !== HASH) return undefined;
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const crcAt = end - 4;
  const at = buf.indexOf(CP_MARK, 6);
  if (at < 0 || at + 5 > crcAt - 2 || buf[crcAt - 1] !== AMP || buf[crcAt - 2] !== AMP) return undefined;
  const header = peekHeader(buf.toString('latin1', 6, at + 3));
  const body = at + 5;
  const close = crcAt - 2;
  const form =
    buf[body] === 0x7b && buf[body + 1] === 0x30 && ((buf[body + 2] as number) | 0x20) === 0x78 ? 'text' : 'binary';
  let printable = true;
  for (let i = body; i < close; i++) {
    const c = buf[i] as number;
    if (c < 0x20 || c === 0x7f) {
      printable = false;
      break;
    }
  }
  if (printable && buf.toString('utf8', body, close).includes('\ufffd')) printable = false;
  return {
    header,
    version: versionOf(header.flag),
    encryptable: isEncryptableCn(header.cn),
    body,
    close,
    crcAt,
    form,
    printable,
  };
}

/** The bytes of a `{0xE4,0x3E,…}` list from `from` (at `{`), and where the text after its `}` starts; or an error. */
function hexList(buf: Buffer, from: number, to: number): { bytes: Buffer; after: number } | string {
  const out: number[] = [];
  let i = from + 1;
  for (;;) {
    while (i < to && buf[i] === 0x20) i++;
    if (i + 4 > to || buf[i] !== 0x30 || ((buf[i + 1] as number) | 0x20) !== 0x78)
      return 'the {0x..} ciphertext is not a list of 0xHH bytes';
    const hi = hexDigit(buf[i + 2] as number);
    const lo = hexDigit(buf[i + 3] as number);
    if (hi < 0 || lo < 0) return 'the {0x..} ciphertext is not a list of 0xHH bytes';
    out.push(hi * 16 + lo);
    i += 4;
    while (i < to && buf[i] === 0x20) i++;
    if (buf[i] === COMMA) i++;
    else if (buf[i] === 0x7d) return { bytes: Buffer.from(out), after: i + 1 };
    else return 'the {0x..} ciphertext is not closed with }';
  }
}

const hexDigit = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

/**
 * HJ 212-2025 §6.4 with the device's keys: the CP area between `CP=&&` and `&&` is SM4-ECB over whole 16-byte blocks, a
 * shorter tail in clear, and the CRC covers the plaintext. Two wire forms are accepted (docs/devices.md):
 *  - binary: the ciphertext bytes themselves; the length counts them (it equals the plaintext's, SM4 without padding);
 *  - text: `{0xE4,0x3E,…}` followed by the clear tail; the length counts the plaintext (the standard's printed
 *    example) or the characters on the wire (some implementations): both are accepted.
 * Each key is tried in order (current first); the first whose plaintext passes the CRC opens the packet. A frame of an
 * encryptable command in clear passes its CRC as it is: refused as `plaintext-refused` when the device must encrypt.
 */
function decodeEncrypted(bytes: Uint8Array, opts: DecodeOptions): DecodeResult {
  const keys = opts.keys ?? [];
  const cp = locateCp(bytes);
  if (cp === undefined || !cp.encryptable) return decodePlain(bytes);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (cp.form === 'binary') {
    // a CP in clear is text; a ciphertext almost never is (16 random bytes all printable: ~1e-7), and if it is, its
    // CRC fails as it stands and the keys are tried all the same. (A ciphertext passes the CRC as it stands once in
    // 65,536 frames: it is never read as plaintext, being no text.)
    if (cp.printable) {
      const plain = decodePlain(bytes);
      if (plain.ok) {
        if (opts.requireEncryption)
          return fail(
            'plaintext-refused',
            `CN ${plain.packet.cn} arrived in clear from a device registered as encrypting (SM4, HJ 212-2025 §6.4)`,
            cp.header,
          );
        return plain;
      }
      if (plain.reason !== 'bad-crc') return plain;
    }
    if (keys.length === 0)
      return fail('no-key', 'the CP is SM4-encrypted and no key of this device is known', cp.header);
    const region = buf.subarray(cp.body, cp.close);
    let other: DecodeResult | undefined;
    for (let k = 0; k < keys.length; k++) {
      const copy = Buffer.from(buf);
      sm4DecryptBlocks(keys[k] as Uint8Array, region).copy(copy, cp.body);
      const r = decodePlain(copy);
      if (r.ok) {
        r.packet.encryption = { form: 'binary', key: k };
        return r;
      }
      // a wrong key passes the 16-bit CRC once in 65,536 tries and then reads as garbage: the next key may open it
      if (r.reason !== 'bad-crc') other ??= r;
    }
    if (other !== undefined) return other;
    return fail(
      'decrypt-failed',
      `the CRC fails after SM4 decryption with each of the device's ${keys.length} key(s) (wrong key or damaged data)`,
      cp.header,
    );
  }
  // text form
  const list = hexList(buf, cp.body, cp.close);
  if (typeof list === 'string') return fail('decrypt-failed', list, cp.header);
  if (list.bytes.length === 0 || list.bytes.length % SM4_BLOCK !== 0)
    return fail(
      'decrypt-failed',
      `the ciphertext has ${list.bytes.length} bytes, not whole ${SM4_BLOCK}-byte blocks (a shorter tail is sent in clear)`,
      cp.header,
    );
  if (keys.length === 0)
    return fail('no-key', 'the CP is SM4-encrypted ({0x..} text) and no key of this device is known', cp.header);
  const declared = Number(buf.toString('latin1', 2, 6));
  const wire = cp.crcAt - 6;
  const plainLength = cp.body - 6 + list.bytes.length + (cp.close - list.after) + 2;
  if (wire > MAX_TEXT_FORM_SEGMENT) return fail('oversize', `data segment is ${wire} bytes`, cp.header);
  if (declared !== plainLength && declared !== wire)
    return fail(
      'length-mismatch',
      `declared length ${declared} is neither the plaintext's ${plainLength} bytes nor the ${wire} on the wire`,
      cp.header,
    );
  const length = Buffer.from(String(plainLength).padStart(4, '0'), 'latin1');
  let other: DecodeResult | undefined;
  for (let k = 0; k < keys.length; k++) {
    const frame = Buffer.concat([
      buf.subarray(0, 2),
      length,
      buf.subarray(6, cp.body),
      sm4DecryptBlocks(keys[k] as Uint8Array, list.bytes),
      buf.subarray(list.after, cp.crcAt),
      buf.subarray(cp.crcAt, cp.crcAt + 4),
    ]);
    const r = decodePlain(frame);
    if (r.ok) {
      r.packet.encryption = { form: 'text', key: k };
      return r;
    }
    if (r.reason !== 'bad-crc') other ??= r;
  }
  if (other !== undefined) return other;
  return fail(
    'decrypt-failed',
    `the CRC fails after SM4 decryption with each of the device's ${keys.length} key(s) (wrong key or damaged data)`,
    cp.header,
  );
}

/** Decodes one frame whose CP is in clear. */
function decodePlain(bytes: Uint8Array): DecodeResult {
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
const Head = { Unknown: 0, QN: 1, ST: 2, CN: 3, PW: 4, MN: 5, Flag: 6, PNUM: 7, PNO: 8, RF: 9 } as const;
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
      if (c0 === 82 && c1 === 70) return Head.RF;
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
  let rfText: string | undefined;
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
      case Head.RF:
        rfText = segment.slice(eq + 1 - base, semi - base);
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
  if (rfText !== undefined && rfText !== '1') warnings.push(`RF=${shown(rfText)}: only RF=1 (re-sent) has a meaning`);
  const qn = qnAt >= 0 ? segment.slice(qnAt - base, qnEnd - base) : undefined;
  const pw = pwAt >= 0 ? segment.slice(pwAt - base, pwEnd - base) : undefined;
  const mn = segment.slice(mnAt - base, mnEnd - base);
  const cp = scanCp(b, base + cpBodyStart, base + cpEnd, segment, base, warnings, version === '2025');
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
    resent: rfText === '1',
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
 * `name=value`, separated by `;` or `,`. In an HJ 212-2025 packet (`sentinel`), a converted (Zs) value of +9999.99 is
 * "not computable" (§8.1.1 d), kept as a name in `notComputable`, not as a number. A field name is first compared with the field that followed the previous one
 * last time (devices repeat their layout; fields.ts) and only hashed and looked up when that guess is wrong; numbers
 * are read in place (numbers.ts).
 */
function scanCp(
  b: Uint8Array,
  from: number,
  to: number,
  text: string,
  base: number,
  warnings: string[],
  sentinel = false,
): Cp | string {
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
        else if (sentinel && num === NOT_COMPUTABLE && f.slot >= ZS_SLOT) {
          // HJ 212-2025 §8.1.1 d): a converted value that cannot be computed is sent as +9999.99; never a number
          pollutant.notComputable ??= [];
          pollutant.notComputable.push(f.suffix as ValueSuffix);
        } else if (!setValue(pollutant.values, f.slot, num)) warnings.push(twice(f));
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

/** HJ 212-2025's sentinel for a converted (Zs) value that cannot be computed, and the first Zs slot of VALUE_SUFFIXES. */
const NOT_COMPUTABLE = 9999.99;
const ZS_SLOT = 5;

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

/**
 * Wraps a data segment into an HJ 212-2025 frame with its CP SM4-encrypted under `key` (sm4.ts): the length and the CRC
 * are those of the plaintext, whole 16-byte blocks of the CP area are encrypted and a shorter tail stays in clear.
 * `binary` puts the ciphertext bytes on the wire, `text` writes them as `{0xE4,0x3E,…}` (the length still counts the
 * plaintext, as the standard's example prints it).
 */
export function encodeEncryptedFrame(segment: string, key: Uint8Array, form: 'binary' | 'text' = 'binary'): Buffer {
  const plain = Buffer.from(encodeFrame(segment), 'utf8');
  const at = plain.indexOf(CP_MARK, 6);
  if (at < 0) throw new RangeError('the segment has no CP=&&');
  const body = at + 5;
  const close = plain.length - 2 - 4 - 2;
  const region = plain.subarray(body, close);
  const full = region.length - (region.length % SM4_BLOCK);
  const sealed = sm4EncryptBlocks(key, region);
  if (form === 'binary') {
    sealed.copy(plain, body);
    return plain;
  }
  const list = Array.from(sealed.subarray(0, full), (b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`);
  return Buffer.concat([
    plain.subarray(0, body),
    Buffer.from(`{${list.join(',')}}`, 'latin1'),
    plain.subarray(body + full),
  ]);
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
  /** HJ 212-2025: a re-sent (补传) packet carries `RF=1` */
  resent?: boolean;
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
  if (f.resent) parts.push('RF=1');
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
