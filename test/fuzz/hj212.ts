import fc from 'fast-check';
import { encodeFrame, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { crcHex } from '#shared/domain/hj212/crc.ts';
import { VALUE_SUFFIXES } from '#shared/domain/hj212/types.ts';
import { POLLUTANTS } from '#shared/domain/pollutants.ts';
import { samples } from '../unit/hj212/samples.ts';

/**
 * Generators for the HJ 212 codec and frame splitter, shared by the property tests in `npm test` (test/unit/hj212)
 * and the million-input fuzz run (`npm run bench -- fuzz`, bench/fuzz-codec.bench.ts).
 *
 * Each generator is a function of a seeded random source, so the bench can draw a million inputs in seconds and any
 * input is reproduced from its seed; `seeded(make)` turns one into a fast-check arbitrary (fast-check picks and reports
 * the seed; the input itself is not shrunk). Numbers also have a shrinking fast-check arbitrary (numberText).
 */
export type Rng = () => number;

/** mulberry32: a small, fast, seedable generator of uniform numbers in [0, 1). */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const seeded = <T>(make: (r: Rng) => T): fc.Arbitrary<T> =>
  fc.noShrink(fc.integer({ min: 0, max: 0xffffffff })).map((seed) => make(rng(seed)));

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const maybe = (r: Rng, p = 0.5) => r() < p;
function chars(r: Rng, alphabet: string, min: number, max: number): string {
  let s = '';
  for (let n = int(r, min, max); n > 0; n--) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

const DIGITS = '0123456789';
const HEX = '0123456789ABCDEF';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALNUM = `${DIGITS}${UPPER}abcdefghijklmnopqrstuvwxyz`;

/**
 * A number as HJ 212 writes it, at most 24 characters: sign, digits with at most one point, an optional exponent;
 * short decimals (the decoder's fast path), long digit runs and exponents (its slow path), and what JavaScript prints
 * for arbitrary doubles.
 */
export function numberTextOf(r: Rng): string {
  for (;;) {
    const kind = r();
    let t: string;
    if (kind < 0.5)
      t = `${maybe(r, 0.2) ? '-' : ''}${int(r, 0, 99_999)}${maybe(r, 0.7) ? `.${chars(r, DIGITS, 1, 4)}` : ''}`;
    else if (kind < 0.85) {
      const e = maybe(r, 0.3) ? `${pick(r, ['e', 'E'])}${pick(r, ['', '+', '-'])}${chars(r, DIGITS, 1, 3)}` : '';
      t = `${pick(r, ['', '+', '-'])}${chars(r, DIGITS, 0, 12) || '0'}${maybe(r) ? `.${chars(r, DIGITS, 0, 12)}` : ''}${e}`;
    } else {
      const bits = new Float64Array(1);
      new Uint32Array(bits.buffer).set([int(r, 0, 0xffffffff), int(r, 0, 0xffffffff)]);
      t = String(bits[0]);
    }
    if (t.length <= 24 && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && Number.isFinite(Number(t))) return t;
  }
}

/** The same grammar as a shrinking fast-check arbitrary. */
export const numberText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', '+', '-'),
    fc.stringMatching(/^\d{1,14}$/),
    fc.option(fc.stringMatching(/^\d{0,10}$/), { nil: undefined }),
    fc.option(fc.stringMatching(/^[eE][+-]?\d{1,3}$/), { nil: undefined }),
  )
  .map(([sign, a, b, e]) => `${sign}${a}${b !== undefined ? `.${b}` : ''}${e ?? ''}`)
  .filter((t) => t.length <= 24 && Number.isFinite(Number(t)));

/** What decodeFrame must give for a generated packet (as JSON shows it: warnings and segment aside). */
export interface ExpectedPacket {
  qn?: string;
  st: string;
  cn: string;
  pw?: string;
  mn: string;
  flag?: number;
  version: '2005' | '2017' | '2025';
  ack: boolean;
  split: boolean;
  pnum?: number;
  pno?: number;
  resent: boolean;
  cp: {
    dataTime?: string;
    params: Record<string, string>;
    pollutants: Record<string, Record<string, unknown>>;
    facilities: Record<string, { rs?: number; rt?: number }>;
    info: Record<string, string>;
  };
}

export interface GeneratedPacket {
  frame: string;
  expected: ExpectedPacket;
}

const timeOf = (r: Rng) => new Date(Date.UTC(2000, 0, 1) + int(r, 0, 3_155_000_000) * 1000);

/** Real codes (with their 2005 code now and then), made-up codes of the HJ 212 shape, noise codes. */
const CODES = POLLUTANTS.filter((p) => !p.code.startsWith('SB'));
function codeOf(r: Rng): { current: string; sent: string } {
  const k = r();
  if (k < 0.7) {
    const p = pick(r, CODES);
    return { current: p.code, sent: p.oldCode && maybe(r, 0.3) ? p.oldCode : p.code };
  }
  const c =
    k < 0.9
      ? `${pick(r, ['w', 'a', 'e', 'g', 'd', 'p'])}9${chars(r, DIGITS, 4, 4)}`
      : pick(r, ['LA', 'Leq', 'L10', 'Ldn']);
  return { current: c, sent: c };
}

const FLAGS = ['N', 'F', 'M', 'S', 'D', 'C', 'T', 'B', 'P'];
const PARAMS = [
  'QnRtn',
  'ExeRtn',
  'RtdInterval',
  'MinInterval',
  'PolId',
  'BeginTime',
  'EndTime',
  'OverTime',
  'ReCount',
];
const CNS = ['2011', '2051', '2061', '2031', '2021', '2041', '1062', '3020', '9014'];
const INFO_CODES = ['i11001', 'i12001', 'i13001', 'i33200', 'I33400'];

/** A valid packet of any version (2005 without Flag, 2017, 2025; split or not; with or without A) and its decoding. */
export function packetOf(r: Rng): GeneratedPacket {
  for (;;) {
    const p = tryPacket(r);
    if (p) return p;
  }
}

function tryPacket(r: Rng): GeneratedPacket | undefined {
  const version = pick(r, ['2005', '2017', '2025'] as const);
  const ack = maybe(r);
  const pnum = maybe(r, 0.2) ? int(r, 1, 9) : undefined;
  const pno = pnum !== undefined ? int(r, 1, pnum) : undefined;
  const flag =
    version === '2005' && !ack && pnum === undefined
      ? undefined
      : (version === '2005' ? 0 : version === '2017' ? 4 : 8) | (pnum !== undefined ? 2 : 0) | (ack ? 1 : 0);
  const qn = maybe(r, 0.8) ? isoToBeijing(timeOf(r), true) : undefined;
  const st = chars(r, `${DIGITS}${UPPER}`, 2, 2);
  const cn = pick(r, CNS);
  const pw = maybe(r, 0.8) ? chars(r, ALNUM, 1, 12) : undefined;
  const mn = maybe(r, 0.8) ? chars(r, HEX, 24, 24) : chars(r, ALNUM, 1, 24);
  const head = [
    ...(qn !== undefined ? [`QN=${qn}`] : []),
    `ST=${st}`,
    `CN=${cn}`,
    ...(pw !== undefined ? [`PW=${pw}`] : []),
    `MN=${mn}`,
    ...(flag !== undefined ? [`Flag=${flag}`] : []),
    ...(pnum !== undefined ? [`PNUM=${pnum}`, `PNO=${pno}`] : []),
  ];
  const items: string[] = [];
  const cp: ExpectedPacket['cp'] = { params: {}, pollutants: {}, facilities: {}, info: {} };
  if (maybe(r, 0.8)) {
    const t = timeOf(r);
    items.push(`DataTime=${isoToBeijing(t)}`);
    cp.dataTime = new Date(Math.floor(t.getTime() / 1000) * 1000).toISOString();
  }
  for (let n = int(r, 0, 2); n > 0; n--) {
    const k = pick(r, PARAMS);
    if (cp.params[k] !== undefined) continue;
    const v = chars(r, ALNUM, 0, 14);
    items.push(`${k}=${v}`);
    cp.params[k] = v;
  }
  for (let n = int(r, 0, 6); n > 0; n--) {
    const { current, sent } = codeOf(r);
    if (cp.pollutants[current]) continue;
    const subs: string[] = [];
    const entry: Record<string, unknown> = { code: current, ...(sent !== current ? { sentCode: sent } : {}) };
    const values: Record<string, number> = {};
    for (const s of VALUE_SUFFIXES) {
      if (!maybe(r, 0.35)) continue;
      const t = numberTextOf(r);
      subs.push(`${sent}-${s}=${t}`);
      values[s] = Number(t);
    }
    entry.values = values;
    const text = (suffix: string, key: string, value: string) => {
      subs.push(`${sent}-${suffix}=${value}`);
      entry[key] = value;
    };
    if (maybe(r, 0.7)) text('Flag', 'flag', pick(r, FLAGS));
    if (maybe(r, 0.1)) text('EFlag', 'eflag', chars(r, 'ABCDEFG', 1, 3));
    if (maybe(r, 0.1)) text('SN', 'sn', chars(r, HEX, 24, 24));
    if (maybe(r, 0.1)) {
      const t = timeOf(r);
      subs.push(`${sent}-SampleTime=${isoToBeijing(t)}`);
      entry.sampleTime = t.toISOString();
    }
    if (maybe(r, 0.1)) {
      const v = String(int(r, 0, 99));
      subs.push(`${sent}-ValidNum=${v}`);
      entry.extra = { ValidNum: v };
    }
    if (subs.length === 0) continue;
    items.push(subs.join(','));
    cp.pollutants[current] = entry;
  }
  for (let n = int(r, 0, 2); n > 0; n--) {
    const code = `SB${int(r, 1, 99)}`;
    if (cp.facilities[code]) continue;
    const fac: { rs?: number; rt?: number } = {};
    if (maybe(r, 0.7)) {
      fac.rs = int(r, 0, 5);
      items.push(`${code}-RS=${fac.rs}`);
    }
    if (maybe(r, 0.4)) {
      const t = numberTextOf(r);
      items.push(`${code}-RT=${t}`);
      fac.rt = Number(t);
    }
    if (fac.rs !== undefined || fac.rt !== undefined) cp.facilities[code] = fac;
  }
  for (let n = int(r, 0, 2); n > 0; n--) {
    const code = pick(r, INFO_CODES);
    if (cp.info[code] !== undefined) continue;
    const v = maybe(r) ? chars(r, ALNUM, 1, 8) : `//${chars(r, `${ALNUM} ;,=-清洗管路`, 0, 12)}//`;
    items.push(`${code}-Info=${v}`);
    cp.info[code] = v;
  }
  const segment = `${head.join(';')};CP=&&${items.join(';')}&&`;
  if (Buffer.byteLength(segment) > 1024) return undefined;
  return {
    frame: encodeFrame(segment),
    expected: {
      ...(qn !== undefined ? { qn } : {}),
      st,
      cn,
      ...(pw !== undefined ? { pw } : {}),
      mn,
      ...(flag !== undefined ? { flag } : {}),
      version: flag === undefined ? '2005' : version,
      ack: flag !== undefined && (flag & 1) === 1,
      split: flag !== undefined && (flag & 2) === 2,
      ...(pnum !== undefined ? { pnum, pno } : {}),
      resent: false,
      cp,
    },
  };
}

/** Names an object resolves without owning them, and others a device could send as codes. */
export const HOSTILE_NAMES = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'prototype',
  'then',
  'length',
] as const;

function hostileNameOf(r: Rng): string {
  return maybe(r, 0.75) ? pick(r, HOSTILE_NAMES) : chars(r, '_$aAzZ09.', 1, 12);
}

/**
 * A valid-CRC packet with hostile names as pollutant, facility and info codes, parameter names and suffixes, next to
 * one good value (w01018-Rtd=50.5).
 */
export function hostilePacketOf(r: Rng): string {
  const items: string[] = [];
  for (let n = int(r, 1, 8); n > 0; n--) {
    const name = hostileNameOf(r);
    const kind = pick(r, ['Rtd', 'Avg', 'Flag', 'Info', 'RS', 'RT', 'param', 'suffix']);
    items.push(
      kind === 'param'
        ? `${name}=1`
        : kind === 'suffix'
          ? `w21003-${name}=1`
          : kind === 'RS' || kind === 'RT'
            ? `SB${name}-${kind}=1`
            : `${name}-${kind}=${kind === 'Flag' ? 'N' : kind === 'Info' ? '//x//' : '1.5'}`,
    );
  }
  return encodeFrame(
    `QN=20261129100000001;ST=32;CN=2011;PW=123456;MN=33112600000000000000AB01;Flag=5;CP=&&DataTime=20261129100000;w01018-Rtd=50.5,w01018-Flag=N;${items.join(';')}&&`,
  );
}

const VALID = samples().map((s) => s.packet);
const LOOSE = 'QNSTCPWMFlagPNUO=;,&-0123456789wa.e+#/SBRInfoDataTime_清';

/** A frame around any segment, with the right length and CRC: content the parser has to judge. */
export function looseFrameOf(r: Rng): Buffer {
  const seg = Buffer.from(chars(r, LOOSE, 0, 400));
  return Buffer.from(`##${String(seg.length).padStart(4, '0')}${seg}${crcHex(seg)}\r\n`);
}

/** A sample packet with a few bytes changed (the HJ 212 CRC keeps 8 bits between bytes: many still pass). */
export function mutatedFrameOf(r: Rng): Buffer {
  const b = Buffer.from(pick(r, VALID));
  for (let n = int(r, 1, 4); n > 0; n--) b[int(r, 0, b.length - 1)] = int(r, 0, 255);
  return b;
}

export function randomBytesOf(r: Rng): Buffer {
  const b = Buffer.alloc(int(r, 0, 1200));
  for (let i = 0; i < b.length; i++) b[i] = int(r, 0, 255);
  return b;
}

/** A piece of a TCP stream: a valid frame, a truncated or lying one, `##` junk, random bytes. */
function streamPieceOf(r: Rng): Buffer {
  const k = r();
  const f = pick(r, VALID);
  if (k < 0.4) return Buffer.from(f);
  if (k < 0.6) return Buffer.from(f.slice(0, int(r, 6, f.length - 3)));
  if (k < 0.7) return Buffer.from(`##${String(int(r, 0, 1024)).padStart(4, '0')}${f.slice(6)}`);
  if (k < 0.8) return Buffer.from(pick(r, ['##', '##ab', '#', '\r\n', '\n', '##00x1;']));
  const b = Buffer.alloc(int(r, 0, 60));
  for (let i = 0; i < b.length; i++) b[i] = int(r, 0, 255);
  return b;
}

/** A byte stream of such pieces and the chunk sizes to cut it into. */
export function chunkedStreamOf(r: Rng): { stream: Buffer; sizes: number[] } {
  const pieces: Buffer[] = [];
  for (let n = int(r, 0, 12); n > 0; n--) pieces.push(streamPieceOf(r));
  const sizes: number[] = [];
  for (let n = int(r, 1, 12); n > 0; n--) sizes.push(int(r, 1, 200));
  return { stream: Buffer.concat(pieces), sizes };
}

export const validPacket = seeded(packetOf);
export const hostilePacket = seeded(hostilePacketOf);
export const chunkedStream = seeded(chunkedStreamOf);
