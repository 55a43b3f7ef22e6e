import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream, MAX_FRAME, type StreamItem } from '#shared/domain/hj212/frame-stream.ts';
import { chunkedStream, numberText, numberTextOf, seeded, validPacket } from '../../fuzz/hj212.ts';

/**
 * Properties of the HJ 212 codec and frame splitter, on the generators the fuzz bench drives a million times
 * (`npm run bench -- fuzz`); here a few thousand runs each, in seconds.
 */
const plain = (x: unknown) => JSON.parse(JSON.stringify(x));

describe('decodeFrame on generated packets', () => {
  it('gives back every field of a valid packet of any version, flag and suffix', () => {
    fc.assert(
      fc.property(validPacket, ({ frame, expected }) => {
        const r = decodeFrame(frame);
        if (!r.ok) throw new Error(`${r.reason}: ${r.detail}\n${frame}`);
        const { segment: _s, warnings: _w, ...packet } = r.packet;
        expect(plain(packet)).toEqual(plain(expected));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads every number bit-identical to Number() of its field', () => {
    fc.assert(
      fc.property(fc.oneof(numberText, seeded(numberTextOf)), fc.constantFrom('Rtd', 'Avg', 'ZsMax'), (t, suffix) => {
        const r = decodeFrame(
          encodeFrame(`ST=32;CN=2011;MN=33112600000000000000AB01;CP=&&w01018-${suffix}=${t};SB1-RT=${t}&&`),
        );
        if (!r.ok) throw new Error(`${t}: ${r.reason} ${r.detail}`);
        expect(Object.is(r.packet.cp.pollutants.w01018?.values[suffix], Number(t))).toBe(true);
        expect(Object.is(r.packet.cp.facilities.SB1?.rt, Number(t))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a field that is not an HJ 212 number, whatever Number() makes of it', () => {
    const notNumbers = fc.oneof(
      fc.constantFrom(
        '',
        '-',
        '+',
        '.',
        'e5',
        '1e',
        '1e+',
        '1.2.3',
        '0x10',
        ' 5',
        '5 ',
        'Infinity',
        'NaN',
        '1_000',
        '1e400',
      ),
      fc.string({ maxLength: 10 }).filter((s) => !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)),
    );
    fc.assert(
      fc.property(notNumbers, (t) => {
        fc.pre(!/[;,&]/.test(t));
        const r = decodeFrame(encodeFrame(`ST=32;CN=2011;MN=33112600000000000000AB01;CP=&&w01018-Avg=${t}&&`));
        if (t === '') expect(r.ok && r.packet.warnings).toContain('w01018-Avg is empty');
        else expect(r).toMatchObject({ ok: false, reason: 'malformed-cp' });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('FrameStream on generated streams', () => {
  const split = (stream: Buffer, sizes: number[]) => {
    const s = new FrameStream();
    const items: StreamItem[] = [];
    for (let at = 0, i = 0; at < stream.length; at += sizes[i++ % sizes.length] as number) {
      items.push(...s.push(stream.subarray(at, at + (sizes[i % sizes.length] as number))));
      expect(s.pending).toBeLessThanOrEqual(MAX_FRAME + 200);
    }
    items.push(...s.flush());
    return {
      frames: items.filter((x) => x.kind === 'frame').map((x) => x.bytes.toString('latin1')),
      garbage: Buffer.concat(items.filter((x) => x.kind === 'garbage').map((x) => x.bytes)).toString('latin1'),
    };
  };

  it('finds the same frames and the same garbage however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(chunkedStream, ({ stream, sizes }) => {
        expect(split(stream, sizes)).toEqual(split(stream, [stream.length || 1]));
      }),
      { numRuns: 1500 },
    );
  });

  it('never loses a valid frame that follows a truncated or lying one', () => {
    fc.assert(
      fc.property(chunkedStream, validPacket, ({ stream, sizes }, { frame }) => {
        const { frames } = split(Buffer.concat([stream, Buffer.from(frame)]), sizes);
        expect(frames.at(-1)).toBe(Buffer.from(frame).toString('latin1'));
      }),
      { numRuns: 1000 },
    );
  });
});
