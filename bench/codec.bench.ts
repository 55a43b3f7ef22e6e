import { randomBytes } from 'node:crypto';
import {
  decodeFrame,
  encodeCp,
  encodeEncryptedFrame,
  encodePacket,
  encodeSegment,
  isoToBeijing,
} from '#shared/domain/hj212/codec.ts';
import { crc16 } from '#shared/domain/hj212/crc.ts';
import type { ValueSuffix } from '#shared/domain/hj212/types.ts';

/**
 * HJ 212 codec throughput, side by side in one run:
 *  - decodeFrame (framing, length, CRC, header and CP validation, 2005 code mapping) in bytes/s,
 *  - V8's JSON.parse on the same readings written as JSON, in bytes/s (target: decode ≥ 1.0× of it),
 *  - a naive split-based decoder without any checks (a reference point, ≈0.4×),
 *  - CRC16 alone in MB/s (target ≥ 300 MB/s),
 *  - HJ 212-2025 with the CP SM4-encrypted (the same readings, Flag=8, ciphertext bytes on the wire, one random key per
 *    device; decodeFrame given the device's current key: decrypt, CRC, decode), and the same with two keys where the
 *    first is the wrong one (a device still on its previous key during a rotation's grace window), beside 2017 plain.
 * Rates are the median of 15 interleaved passes after a warm-up; ratios the median of the ratios within each round.
 */
const DEVICES = 200;
const PACKETS = 20_000;

function workload() {
  const frames: Buffer[] = [];
  const encrypted: { frame: Buffer; keys: Uint8Array[]; graceKeys: Uint8Array[] }[] = [];
  const deviceKeys = Array.from({ length: DEVICES }, () => randomBytes(16));
  const jsons: string[] = [];
  const start = Date.parse('2026-11-29T00:00:00Z');
  for (let i = 0; i < PACKETS; i++) {
    const mn = `331126000000000000${String(i % DEVICES).padStart(6, '0')}`;
    const dataTime = new Date(start + Math.floor(i / DEVICES) * 60_000).toISOString();
    const hourly = i % 4 === 0;
    const v = (base: number) => Math.round((base + ((i * 7919) % 100) / 10) * 100) / 100;
    const pollutants: Record<string, { values: Partial<Record<ValueSuffix, number>>; flag: string }> = hourly
      ? {
          w00000: { values: { Cou: v(60), Min: v(15), Avg: v(17), Max: v(20) }, flag: 'N' },
          w01001: { values: { Min: v(7), Avg: v(7.4), Max: v(7.8) }, flag: 'N' },
          w01018: { values: { Cou: v(3), Min: v(40), Avg: v(50), Max: v(60) }, flag: 'N' },
          w21003: { values: { Cou: v(0.5), Min: v(4), Avg: v(8), Max: v(9) }, flag: 'N' },
        }
      : {
          w00000: { values: { Rtd: v(17) }, flag: 'N' },
          w01001: { values: { Rtd: v(7.4) }, flag: 'N' },
          w01018: { values: { Rtd: v(50) }, flag: 'N' },
          w21003: { values: { Rtd: v(8) }, flag: 'N' },
          w01012: { values: { Rtd: v(20) }, flag: 'N' },
        };
    const qn = isoToBeijing(dataTime, true);
    const cn = hourly ? '2061' : '2011';
    frames.push(
      Buffer.from(
        encodePacket({ qn, st: '32', cn, pw: '123456', mn, flag: 5, cp: encodeCp({ dataTime, pollutants }) }),
      ),
    );
    jsons.push(JSON.stringify({ qn, st: '32', cn, pw: '123456', mn, flag: 5, dataTime, pollutants }));
    const key = deviceKeys[i % DEVICES] as Uint8Array;
    const segment = encodeSegment({
      qn,
      st: '32',
      cn,
      pw: '123456',
      mn,
      flag: 8,
      cp: encodeCp({ dataTime, pollutants }),
    });
    encrypted.push({ frame: encodeEncryptedFrame(segment, key), keys: [key], graceKeys: [randomBytes(16), key] });
  }
  return { frames, jsons, encrypted };
}

/** What a quick parser does: split on separators, no CRC, no length, no validation. */
function naiveDecode(frame: Buffer): Record<string, string> {
  const text = frame.toString('utf8', 6, frame.length - 6);
  const out: Record<string, string> = {};
  for (const part of text.split(';')) {
    for (const item of part.replace('CP=&&', '').replace('&&', '').split(',')) {
      const eq = item.indexOf('=');
      if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Times the passes interleaved (A B C, then C B A, …) so that a busy machine slows all of them alike; returns each
 * pass's times (ms) per round.
 */
function timings(passes: { pass: () => void }[], rounds: number): number[][] {
  for (const p of passes) {
    p.pass();
    p.pass();
  }
  const times = passes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? passes.map((_, i) => i) : passes.map((_, i) => passes.length - 1 - i);
    for (const i of order) {
      const t = performance.now();
      passes[i]?.pass();
      times[i]?.push(performance.now() - t);
    }
  }
  return times;
}

/** bytes/s from the median pass */
const rateOf = (bytes: number, times: number[]) => bytes / (median(times) / 1000);

/** The median over rounds of one round's bytes/s ratio (a ratio taken within a round drifts less with the load). */
const ratioOf = (aBytes: number, a: number[], bBytes: number, b: number[]) =>
  median(a.map((t, r) => aBytes / t / (bBytes / (b[r] as number))));

export async function run(): Promise<Record<string, unknown>> {
  const { frames, jsons, encrypted } = workload();
  const hjBytes = frames.reduce((n, f) => n + f.length, 0);
  const encBytes = encrypted.reduce((n, e) => n + e.frame.length, 0);
  const jsonBytes = jsons.reduce((n, j) => n + Buffer.byteLength(j), 0);
  let sink = 0;
  const [decodeTimes = [], jsonTimes = [], naiveTimes = [], encTimes = [], graceTimes = []] = timings(
    [
      {
        pass: () => {
          for (const f of frames) {
            const r = decodeFrame(f);
            if (r.ok) sink += r.packet.mn.length;
          }
        },
      },
      {
        pass: () => {
          for (const j of jsons) sink += (JSON.parse(j) as { mn: string }).mn.length;
        },
      },
      {
        pass: () => {
          for (const f of frames) sink += Object.keys(naiveDecode(f)).length;
        },
      },
      {
        pass: () => {
          for (const e of encrypted) {
            const r = decodeFrame(e.frame, { keys: e.keys, requireEncryption: true });
            if (r.ok) sink += r.packet.mn.length;
            else throw new Error(r.detail);
          }
        },
      },
      {
        pass: () => {
          for (const e of encrypted) {
            const r = decodeFrame(e.frame, { keys: e.graceKeys, requireEncryption: true });
            if (r.ok) sink += r.packet.mn.length;
            else throw new Error(r.detail);
          }
        },
      },
    ],
    15,
  );
  const encRate = rateOf(encBytes, encTimes);
  const graceRate = rateOf(encBytes, graceTimes);
  const decodeRate = rateOf(hjBytes, decodeTimes);
  const jsonRate = rateOf(jsonBytes, jsonTimes);
  const naiveRate = rateOf(hjBytes, naiveTimes);
  const ratio = ratioOf(hjBytes, decodeTimes, jsonBytes, jsonTimes);
  const big = Buffer.alloc(64 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const [crcTimes = []] = timings([{ pass: () => (sink += crc16(big)) }], 5);
  const crcRate = rateOf(big.length, crcTimes);
  const mb = (bps: number) => Math.round((bps / 1e6) * 10) / 10;
  return {
    workload: {
      packets: PACKETS,
      devices: DEVICES,
      hj212Bytes: hjBytes,
      jsonBytes,
      jsonToHj212SizeRatio: Math.round((jsonBytes / hjBytes) * 100) / 100,
    },
    decodeMBps: mb(decodeRate),
    jsonParseMBps: mb(jsonRate),
    naiveSplitMBps: mb(naiveRate),
    crc16MBps: mb(crcRate),
    hj2025EncryptedDecodeMBps: mb(encRate),
    hj2025EncryptedSecondKeyDecodeMBps: mb(graceRate),
    ratios: {
      packetsPerSecond2017Plain: Math.round(decodeRate / (hjBytes / PACKETS)),
      packetsPerSecond2025Encrypted: Math.round(encRate / (encBytes / PACKETS)),
      packetsPerSecond2025EncryptedSecondKey: Math.round(graceRate / (encBytes / PACKETS)),
      encrypted2025VsPlain2017: Math.round(ratioOf(encBytes, encTimes, hjBytes, decodeTimes) * 100) / 100,
      decodeVsJsonParse: Math.round(ratio * 100) / 100,
      naiveVsJsonParse: Math.round(ratioOf(hjBytes, naiveTimes, jsonBytes, jsonTimes) * 100) / 100,
      decodeVsNaive: Math.round(ratioOf(hjBytes, decodeTimes, hjBytes, naiveTimes) * 100) / 100,
      packetsPerSecond: Math.round(decodeRate / (hjBytes / PACKETS)),
    },
    targets: [
      { name: 'decode ≥ 1.0× JSON.parse bytes/s', value: Math.round(ratio * 100) / 100, pass: ratio >= 1 },
      { name: 'CRC16 ≥ 300 MB/s', value: mb(crcRate), pass: crcRate >= 300e6 },
    ],
    sink: sink > 0,
  };
}
