import { toCurrentCode } from '#shared/domain/pollutants.ts';
import { type PollutantData, VALUE_SUFFIXES, type ValueSuffix } from './types.ts';

/**
 * What a CP field name means (`DataTime`, `RtdInterval`, `w01018-Rtd`, `SB1-RS`, `i11001-Info`, …), classified once per
 * distinct name and then recognised again from the data segment's characters without cutting them out.
 *
 * Codes a device sends become keys further on (readings, device state, the alarm engine's per-pollutant state), so a
 * pollutant, facility or information code must look like one (docs/devices.md): 1–16 letters and digits with at least
 * one digit (every HJ 212 code has one: w01018, a34013, SB1, i12001, the 2005 codes 011, B01, 01), or one of the noise
 * codes of HJ 212-2017 Table B.3, which have none (LA, Leq, Ld, Ln, Ldn, LMx, LMn). No JavaScript built-in property
 * name has a digit, so `__proto__`, `constructor`, `toString`, `valueOf` … can never be a code. Parameter names and
 * other suffixes are 1–32 letters and digits. A field whose name fails this is dropped with a warning; the rest of the
 * packet is kept.
 */
export const Kind = {
  Bad: 0,
  Drop: 1,
  DataTime: 2,
  Param: 3,
  Facility: 4,
  Info: 5,
  Value: 6,
  Flag: 7,
  EFlag: 8,
  SN: 9,
  SampleTime: 10,
  Extra: 11,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface FieldInfo {
  name: string;
  /** the name's characters, to compare with the frame's bytes */
  bytes: Uint8Array;
  /** false for a name with a character outside ASCII: its bytes do not identify it, so it is never cached or guessed */
  ascii: boolean;
  kind: Kind;
  /** the code as sent, before `-` */
  code: string;
  /** the 2017 code (2005 codes mapped) */
  current: string;
  /** the pollutant entry of `current` in the CP being scanned (shared by every field of that code) */
  pollutant: PollutantRef;
  suffix: string;
  /** for Kind.Value: the suffix's index in VALUE_SUFFIXES */
  slot: number;
  /** for Kind.Drop: why */
  why: string;
  /** the field that followed this one the last time (devices repeat their layout): tried first */
  next: FieldInfo | undefined;
  /** the one that followed it before that (two layouts, e.g. real-time and hourly, alternate): tried second */
  alt: FieldInfo | undefined;
}

const NOISE_CODES = new Set(['LA', 'Leq', 'Ld', 'Ln', 'Ldn', 'LMx', 'LMn']);
const SUFFIXES = new Set<string>(VALUE_SUFFIXES);

function isAlnum(text: string, min: number, max: number): boolean {
  if (text.length < min || text.length > max) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

/** A pollutant, facility or information code as HJ 212 writes them (see above). */
export function isCode(code: string): boolean {
  if (!isAlnum(code, 1, 16)) return false;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return NOISE_CODES.has(code);
}

export const isParamName = (name: string): boolean => isAlnum(name, 1, 32);

/**
 * Where the fields of one pollutant code find their entry while a CP is scanned: `entry` belongs to the scan numbered
 * `scan`, so the scanner neither looks the code up in the packet's record nor keeps a map of its own.
 */
export interface PollutantRef {
  scan: number;
  entry: PollutantData | undefined;
}
const REFS = new Map<string, PollutantRef>();
const NO_POLLUTANT: PollutantRef = Object.freeze({ scan: -1, entry: undefined }) as PollutantRef;
function refOf(code: string): PollutantRef {
  let ref = REFS.get(code);
  if (ref === undefined) {
    ref = { scan: 0, entry: undefined };
    REFS.set(code, ref);
    if (REFS.size > SIZE) clearPending = true;
  }
  return ref;
}

const info = (name: string, kind: Kind, code: string, current: string, suffix: string, why = ''): FieldInfo => ({
  name,
  bytes: Uint8Array.from(name, (ch) => Math.min(ch.charCodeAt(0), 0xff)),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is exactly U+0000–U+007F
  ascii: /^[\x00-\x7f]*$/.test(name),
  kind,
  code,
  current,
  pollutant: kind >= Kind.Value ? refOf(current) : NO_POLLUTANT,
  suffix,
  slot: VALUE_SUFFIXES.indexOf(suffix as ValueSuffix),
  why,
  next: undefined,
  alt: undefined,
});

/** The HJ 212 meaning of a CP field name. */
export function classify(name: string): FieldInfo {
  const dash = name.indexOf('-');
  if (dash < 0) {
    if (name === 'DataTime') return info(name, Kind.DataTime, name, name, '');
    if (!isParamName(name)) return info(name, Kind.Drop, name, name, '', 'a parameter name is 1–32 letters and digits');
    return info(name, Kind.Param, name, name, '');
  }
  const code = name.slice(0, dash);
  const suffix = name.slice(dash + 1);
  if (code === '' || suffix === '') return info(name, Kind.Bad, code, code, suffix);
  if (!isCode(code))
    return info(name, Kind.Drop, code, code, suffix, `${JSON.stringify(code.slice(0, 20))} is not an HJ 212 code`);
  if ((suffix === 'RS' || suffix === 'RT') && code.startsWith('SB'))
    return info(name, Kind.Facility, code, code, suffix);
  if (suffix === 'Info') return info(name, Kind.Info, code, code, suffix);
  const current = toCurrentCode(code);
  if (SUFFIXES.has(suffix)) return info(name, Kind.Value, code, current, suffix as ValueSuffix);
  const kind =
    suffix === 'Flag'
      ? Kind.Flag
      : suffix === 'EFlag'
        ? Kind.EFlag
        : suffix === 'SN'
          ? Kind.SN
          : suffix === 'SampleTime'
            ? Kind.SampleTime
            : Kind.Extra;
  if (kind === Kind.Extra && !isParamName(suffix))
    return info(name, Kind.Drop, code, code, suffix, 'a field suffix is 1–32 letters and digits');
  return info(name, kind, code, current, suffix);
}

/**
 * Field names seen recently, in an open-addressed table keyed by a hash of the name's characters. A lookup probes at
 * most PROBES slots, so names made to collide cost a slice and a classification each, never a long walk. When the
 * table is half full (or too many codes were seen) it is cleared, between two scans so that one scan sees one entry
 * per code.
 */
const SIZE = 2048;
const MASK = SIZE - 1;
const PROBES = 8;
const slots: (FieldInfo | undefined)[] = new Array(SIZE).fill(undefined);
let used = 0;
let clearPending = false;
let scans = 0;

/** Starts scanning one CP: returns its number (see PollutantRef). */
export function beginScan(): number {
  // numbers restart after 2^30 scans; the table is cleared with them, so no entry can carry an old number
  if (scans >= 0x3fffffff) {
    scans = 0;
    clearPending = true;
  }
  if (clearPending) {
    slots.fill(undefined);
    used = 0;
    REFS.clear();
    CP_START.next = undefined;
    CP_START.alt = undefined;
    clearPending = false;
  }
  return ++scans;
}

/** Stands before the first field of every CP: its `next` is the first field of the last CP. */
export const CP_START: FieldInfo = info('', Kind.Bad, '', '', '');

/** Is the field at `b[from…]` exactly `f`'s name followed by `=`? */
export function isFieldAt(f: FieldInfo, b: Uint8Array, from: number, to: number): boolean {
  const name = f.bytes;
  const len = name.length;
  if (from + len >= to || b[from + len] !== 61) return false;
  for (let i = 0; i < len; i++) if (name[i] !== b[from + i]) return false;
  return true;
}

/**
 * The field named by bytes `b[from, eq)` (hashed to `hash` with FNV-1a on the way to `=`); `text` holds the same
 * characters at `index - base`. A name with a character outside ASCII is classified each time and never cached: its
 * bytes do not identify it (see decodeSegment).
 */
export function fieldAt(b: Uint8Array, from: number, eq: number, hash: number, text: string, base: number): FieldInfo {
  const len = eq - from;
  let at = (hash ^ (hash >>> 15) ^ len) & MASK;
  for (let probe = 0; probe < PROBES; probe++, at = (at + 1) & MASK) {
    const f = slots[at];
    if (f === undefined) {
      const fresh = classify(text.slice(from - base, eq - base));
      if (!fresh.ascii) return fresh;
      slots[at] = fresh;
      if (++used >= SIZE / 2) clearPending = true;
      return fresh;
    }
    if (f.bytes.length === len && isFieldAt(f, b, from, eq + 1)) return f;
  }
  return classify(text.slice(from - base, eq - base));
}

export const HASH_SEED = 0x811c9dc5 | 0;
