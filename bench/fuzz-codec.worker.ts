import { parentPort, workerData } from 'node:worker_threads';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream, type StreamItem } from '#shared/domain/hj212/frame-stream.ts';
import type { DecodeResult } from '#shared/domain/hj212/types.ts';
import { isNullRecord } from '#shared/domain/null-record.ts';
import {
  chunkedStreamOf,
  hostilePacketOf,
  looseFrameOf,
  mutatedFrameOf,
  packetOf,
  type Rng,
  randomBytesOf,
  rng,
} from '../test/fuzz/hj212.ts';

/**
 * The fuzz-codec worker (bench/fuzz-codec.bench.ts starts it and watches it): input i is drawn from
 * rng(inputSeed(seed, i)) — one draw picks its kind, that kind's generator takes the rest — then run through the codec
 * or the frame splitter, checked and timed. Progress goes to the parent every BATCH inputs, so a parent that hears
 * nothing knows which batch hangs.
 */
export interface FuzzJob {
  seed: number;
  inputs: number;
  boundMs: number;
}

export interface Finding {
  kind: string;
  inputSeed: number;
  what: string;
}

export interface FuzzProgress {
  done: number;
  bytes: number;
  /** time spent in the codec and splitter (generation excluded) */
  checkMs: number;
  byKind: Record<string, number>;
  crashes: number;
  hangs: number;
  failures: number;
  findings: Finding[];
  slowest: { kind: string; inputSeed: number; ms: number };
  finished: boolean;
}

export const BATCH = 10_000;
export const inputSeed = (seed: number, i: number) => (seed + Math.imul(i, 0x9e3779b1)) >>> 0;

const REASONS = new Set([
  'bad-frame',
  'oversize',
  'length-mismatch',
  'bad-crc',
  'missing-mn',
  'missing-field',
  'bad-header',
  'malformed-cp',
]);

/** What every decode must satisfy: a packet with null records, or a known reason with a detail. */
function checked(r: DecodeResult): string | undefined {
  if (r.ok) {
    const { params, pollutants, facilities, info } = r.packet.cp;
    if (![params, pollutants, facilities, info].every(isNullRecord)) return 'a CP record is not a null record';
    return r.packet.mn ? undefined : 'a packet without MN';
  }
  return REASONS.has(r.reason) && r.detail ? undefined : `unknown rejection ${r.reason}`;
}

const plain = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? sorted(v) : v));
const sorted = (o: Record<string, unknown>) =>
  Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );

function split(stream: Buffer, sizes: number[]): { frames: Buffer[]; garbage: Buffer } {
  const s = new FrameStream();
  const items: StreamItem[] = [];
  for (let at = 0, i = 0; at < stream.length; i++) {
    const size = sizes[i % sizes.length] as number;
    items.push(...s.push(stream.subarray(at, at + size)));
    at += size;
  }
  items.push(...s.flush());
  return {
    frames: items.filter((x) => x.kind === 'frame').map((x) => x.bytes),
    garbage: Buffer.concat(items.filter((x) => x.kind === 'garbage').map((x) => x.bytes)),
  };
}

/**
 * The kinds of input, by weight out of 100: `make` draws one from the generators, `check` runs it through the codec or
 * the splitter (only this is timed) and returns the bytes it covered and a finding, if any.
 */
interface Kind<T> {
  kind: string;
  weight: number;
  make: (r: Rng) => T;
  check: (input: T) => [number, string | undefined];
}
const kind = <T>(k: Kind<T>) => k as Kind<unknown>;

const KINDS: Kind<unknown>[] = [
  kind({ kind: 'randomBytes', weight: 20, make: randomBytesOf, check: decodeOnly }),
  kind({ kind: 'looseFrame', weight: 25, make: looseFrameOf, check: decodeOnly }),
  kind({ kind: 'mutatedFrame', weight: 25, make: mutatedFrameOf, check: decodeOnly }),
  kind({
    kind: 'hostilePacket',
    weight: 10,
    make: (r) => Buffer.from(hostilePacketOf(r)),
    check: (frame) => {
      const d = decodeFrame(frame);
      if (!d.ok) return [frame.length, `hostile packet refused: ${d.reason}`];
      const good = d.packet.cp.pollutants.w01018?.values.Rtd === 50.5;
      return [frame.length, checked(d) ?? (good ? undefined : 'good value lost')];
    },
  }),
  kind({
    kind: 'validPacket',
    weight: 5,
    make: packetOf,
    check: ({ frame, expected }) => {
      const d = decodeFrame(frame);
      if (!d.ok) return [frame.length, `valid packet refused: ${d.reason} ${d.detail}`];
      const { segment: _s, warnings: _w, ...packet } = d.packet;
      return [frame.length, plain(packet) === plain(expected) ? checked(d) : 'round trip differs'];
    },
  }),
  kind({
    kind: 'chunkedStream',
    weight: 15,
    make: chunkedStreamOf,
    check: ({ stream, sizes }) => {
      const whole = split(stream, [stream.length || 1]);
      const cut = split(stream, sizes);
      const same =
        cut.frames.length === whole.frames.length &&
        cut.frames.every((f, i) => f.equals(whole.frames[i] as Buffer)) &&
        cut.garbage.equals(whole.garbage);
      if (!same) return [stream.length, 'chunking changed the frames'];
      for (const f of whole.frames) {
        const bad = checked(decodeFrame(f));
        if (bad) return [stream.length, bad];
      }
      return [stream.length, undefined];
    },
  }),
];

function decodeOnly(bytes: Buffer): [number, string | undefined] {
  return [bytes.length, checked(decodeFrame(bytes))];
}

const TABLE = KINDS.flatMap((k) => Array.from({ length: k.weight }, () => k));

/** Runs one input: its time, and a crash or a finding into `p`. */
function runOne(k: Kind<unknown>, input: unknown, s: number, p: FuzzProgress): number {
  const started = performance.now();
  try {
    const [bytes, finding] = k.check(input);
    p.bytes += bytes;
    if (finding) {
      p.failures++;
      if (p.findings.length < 20) p.findings.push({ kind: k.kind, inputSeed: s, what: finding });
    }
  } catch (err) {
    p.crashes++;
    const what = `threw ${err instanceof Error ? err.stack : String(err)}`;
    if (p.findings.length < 20) p.findings.push({ kind: k.kind, inputSeed: s, what });
  }
  return performance.now() - started;
}

/** The time of one more run: an input over the bound is a hang only when it stays slow (not a paused machine). */
function again(k: Kind<unknown>, input: unknown): number {
  const started = performance.now();
  try {
    k.check(input);
  } catch {
    // counted by the first run
  }
  return performance.now() - started;
}

function fuzz(job: FuzzJob, post: (p: FuzzProgress) => void): void {
  const p: FuzzProgress = {
    done: 0,
    bytes: 0,
    checkMs: 0,
    byKind: Object.fromEntries(KINDS.map((k) => [k.kind, 0])),
    crashes: 0,
    hangs: 0,
    failures: 0,
    findings: [],
    slowest: { kind: '', inputSeed: 0, ms: 0 },
    finished: false,
  };
  for (let i = 0; i < job.inputs; i++) {
    const s = inputSeed(job.seed, i);
    const r = rng(s);
    const k = TABLE[Math.floor(r() * TABLE.length)] as Kind<unknown>;
    p.byKind[k.kind] = (p.byKind[k.kind] ?? 0) + 1;
    const input = k.make(r);
    let ms = runOne(k, input, s, p);
    p.checkMs += ms;
    for (let retry = 0; retry < 2 && ms > job.boundMs; retry++) ms = Math.min(ms, again(k, input));
    if (ms > p.slowest.ms) p.slowest = { kind: k.kind, inputSeed: s, ms: Math.round(ms * 1000) / 1000 };
    if (ms > job.boundMs) {
      p.hangs++;
      if (p.findings.length < 20) p.findings.push({ kind: k.kind, inputSeed: s, what: `took ${ms.toFixed(1)} ms` });
    }
    p.done = i + 1;
    if (p.done % BATCH === 0) post(p);
  }
  p.finished = true;
  post(p);
}

if (parentPort && workerData) {
  const port = parentPort;
  fuzz(workerData as FuzzJob, (p) => port.postMessage(p));
}
