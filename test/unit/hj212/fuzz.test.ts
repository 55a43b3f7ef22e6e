import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import type { DecodeResult } from '#shared/domain/hj212/types.ts';
import { isNullRecord } from '#shared/domain/null-record.ts';
import { hostilePacket, looseFrameOf, mutatedFrameOf, randomBytesOf, seeded } from '../../fuzz/hj212.ts';

/**
 * The codec against arbitrary input, on the generators the fuzz bench drives a million times (`npm run bench -- fuzz`):
 * every input is answered with a packet or a known reason, never an exception (a hang fails the test's timeout).
 */
const REASONS = [
  'bad-frame',
  'oversize',
  'length-mismatch',
  'bad-crc',
  'missing-mn',
  'missing-field',
  'bad-header',
  'malformed-cp',
];

function checkDecode(bytes: Uint8Array): DecodeResult {
  const r = decodeFrame(bytes);
  if (r.ok) {
    expect(r.packet.mn.length).toBeGreaterThan(0);
    const { params, pollutants, facilities, info } = r.packet.cp;
    for (const record of [params, pollutants, facilities, info]) expect(isNullRecord(record)).toBe(true);
  } else {
    expect(REASONS).toContain(r.reason);
    expect(r.detail.length).toBeGreaterThan(0);
  }
  return r;
}

describe('HJ 212 codec under fuzzing', () => {
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(seeded(randomBytesOf), (b) => void checkDecode(b)),
      { numRuns: 2000 },
    );
  });

  it('never throws on frames with a right length and CRC around random content', () => {
    fc.assert(
      fc.property(seeded(looseFrameOf), (b) => void checkDecode(b)),
      { numRuns: 2000 },
    );
  });

  it('rejects or reads consistently every mutation of a valid packet', () => {
    fc.assert(
      fc.property(seeded(mutatedFrameOf), (b) => void checkDecode(b)),
      { numRuns: 2000 },
    );
  });

  it('accepts a packet with hostile codes, keeps its good value and drops the rest with warnings', () => {
    fc.assert(
      fc.property(hostilePacket, (frame) => {
        const r = checkDecode(Buffer.from(frame));
        if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
        expect(r.packet.cp.pollutants.w01018?.values.Rtd).toBe(50.5);
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
        expect({} as Record<string, unknown>).not.toHaveProperty('flag');
      }),
      { numRuns: 1000 },
    );
  });
});
