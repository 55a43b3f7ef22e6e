import { describe, expect, it } from 'vitest';
import { StripError } from '#shared/domain/evidence/strip.ts';
import { stripVideoMetadata, stripVideoStream } from '#shared/domain/evidence/strip-video.ts';
import { box, GPS, MEDIA, MODEL, videoWithMetadata as video } from '../helpers/images.ts';

/**
 * Phone-video metadata out of the copy officials watch: GPS, make and model, XMP and the recording times gone, every
 * other byte where it was (sizes unchanged, so the sample tables' offsets still hold and the copy plays).
 */
const has = (b: Uint8Array, text: string) => Buffer.from(b).includes(Buffer.from(text, 'latin1'));

describe('video metadata stripping', () => {
  it('removes location, model, XMP and recording times, keeping every size and the media bytes', () => {
    const original = video();
    const out = stripVideoMetadata(original);
    expect(out.length).toBe(original.length);
    for (const secret of [GPS, MODEL, 'Zhang San', 'com.apple.quicktime.model', 'udta', 'uuid']) {
      expect(has(out, secret), secret).toBe(false);
    }
    expect(has(out, 'free')).toBe(true);
    // the media data and the chunk offset table are untouched
    expect(Buffer.from(out).indexOf(MEDIA)).toBe(original.indexOf(MEDIA));
    expect(has(out, 'stco')).toBe(true);
    const mvhd = Buffer.from(out).indexOf('mvhd');
    expect(Buffer.from(out).readUInt32BE(mvhd + 8)).toBe(0);
    expect(Buffer.from(out).readUInt32BE(mvhd + 12)).toBe(0);
    expect(Buffer.from(out).readUInt32BE(mvhd + 16)).toBe(600); // the time scale stays
  });

  it('streams to the same bytes however the file is cut', async () => {
    const original = video();
    const whole = stripVideoMetadata(original);
    for (const size of [1, 7, 13, 64, 1000, original.length]) {
      const chunks = async function* () {
        for (let i = 0; i < original.length; i += size) yield new Uint8Array(original.subarray(i, i + size));
      };
      const out: Uint8Array[] = [];
      for await (const c of stripVideoStream(chunks())) out.push(c);
      expect(Buffer.concat(out).equals(Buffer.from(whole)), `chunks of ${size}`).toBe(true);
    }
  });

  it('refuses what is not a whole, well-formed video', async () => {
    expect(() => stripVideoMetadata(Buffer.from('not a video at all, no boxes here'))).toThrow(StripError);
    const truncated = video().subarray(0, 120);
    const run = async () => {
      for await (const _ of stripVideoStream(
        (async function* () {
          yield new Uint8Array(truncated);
        })(),
      )) {
        // drain
      }
    };
    await expect(run()).rejects.toBeInstanceOf(StripError);
    const lying = Buffer.concat([box('ftyp', Buffer.from('isom')), Buffer.from([0, 0, 0, 200]), Buffer.from('moov')]);
    expect(() => stripVideoMetadata(lying)).toThrow(StripError);
  });
});
