import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream, MAX_FRAME } from '#shared/domain/hj212/frame-stream.ts';
import { samples } from './samples.ts';

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
const valid = samples().map((s) => Buffer.from(s.packet));

/** decodeFrame answers every input with a packet or a known reason and never throws (a hang fails the test's timeout). */
function checkDecode(bytes: Uint8Array) {
  const r = decodeFrame(bytes);
  if (r.ok) {
    expect(typeof r.packet.mn).toBe('string');
    expect(r.packet.mn.length).toBeGreaterThan(0);
  } else {
    expect(REASONS).toContain(r.reason);
    expect(r.detail.length).toBeGreaterThan(0);
  }
}

describe('HJ 212 codec under fuzzing', () => {
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (b) => checkDecode(b)),
      { numRuns: 2000 },
    );
  });

  it('never throws on random frames with a valid envelope and random content', () => {
    const segment = fc.string({
      unit: fc.constantFrom(...'QNSTCPWMFlag=;,&-0123456789wa.#/\u6e05'.split('')),
      maxLength: 400,
    });
    fc.assert(
      fc.property(segment, (seg) => {
        checkDecode(Buffer.from(encodeFrameLoose(seg)));
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects or reads consistently every mutation of a valid packet', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (base, edits) => {
          const b = Buffer.from(base);
          for (const [at, value] of edits) b[at % b.length] = value;
          checkDecode(b);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('splits truncated and concatenated frames without losing a complete one or growing without bound', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom(...valid),
            fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)),
          ),
          { maxLength: 20 },
        ),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        (pieces, cuts) => {
          const stream = Buffer.concat(pieces.map((p) => Buffer.from(p)));
          const s = new FrameStream();
          let at = 0;
          let i = 0;
          const found: string[] = [];
          while (at < stream.length) {
            const size = cuts[i++ % cuts.length] as number;
            for (const item of s.push(stream.subarray(at, at + size))) {
              if (item.kind === 'frame') found.push(item.bytes.toString('latin1'));
            }
            expect(s.pending).toBeLessThanOrEqual(MAX_FRAME + 300);
            at += size;
          }
          // every valid packet preceded by clean bytes is found intact
          const text = stream.toString('latin1');
          for (const v of valid) {
            const packet = v.toString('latin1');
            if (text.startsWith(packet)) expect(found[0]).toBe(packet);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** A frame around any segment, even one encodeFrame would refuse. */
function encodeFrameLoose(seg: string): string {
  try {
    return encodeFrame(seg);
  } catch {
    return `##9999${seg}0000\r\n`;
  }
}
