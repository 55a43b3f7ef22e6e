import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { StripError, stripImageMetadata } from '#shared/domain/evidence/strip.ts';
import {
  cleanJpeg,
  cleanPng,
  contains,
  jpegWithMetadata,
  PNG_PIXELS,
  pngWithMetadata,
  SECRETS,
} from '../helpers/images.ts';

function pngChunks(b: Buffer): { type: string; data: Buffer }[] {
  const out: { type: string; data: Buffer }[] = [];
  for (let p = 8; p < b.length; ) {
    const length = b.readUInt32BE(p);
    out.push({ type: b.toString('ascii', p + 4, p + 8), data: b.subarray(p + 8, p + 8 + length) });
    p += 12 + length;
  }
  return out;
}

describe('stripImageMetadata', () => {
  it('removes EXIF, GPS, XMP, ICC, IPTC, comments and trailers from a JPEG, leaving the clean image byte for byte', () => {
    const photo = jpegWithMetadata();
    for (const s of SECRETS) expect(contains(photo, s), s).toBe(true);
    const stripped = Buffer.from(stripImageMetadata(photo));
    for (const s of SECRETS) expect(contains(stripped, s), s).toBe(false);
    expect(stripped.equals(cleanJpeg())).toBe(true);
  });

  it('leaves a clean JPEG unchanged and is idempotent', () => {
    const once = stripImageMetadata(cleanJpeg());
    expect(Buffer.from(once).equals(cleanJpeg())).toBe(true);
    expect(Buffer.from(stripImageMetadata(once)).equals(cleanJpeg())).toBe(true);
  });

  it('keeps an Adobe APP14 colour-transform segment, which decoding needs', () => {
    const adobe = Buffer.from([0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 1]);
    const clean = cleanJpeg();
    const withAdobe = Buffer.concat([clean.subarray(0, 2), adobe, clean.subarray(2)]);
    expect(Buffer.from(stripImageMetadata(withAdobe)).equals(withAdobe)).toBe(true);
  });

  it('keeps stuffed bytes and restart markers inside scan data', () => {
    const clean = cleanJpeg();
    const eoi = clean.length - 2;
    const scan = Buffer.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56]);
    const jpeg = Buffer.concat([clean.subarray(0, eoi), scan, clean.subarray(eoi)]);
    expect(Buffer.from(stripImageMetadata(jpeg)).equals(jpeg)).toBe(true);
  });

  it('drops every ancillary PNG chunk but tRNS and the pixels still inflate to the original rows', () => {
    const photo = pngWithMetadata();
    const stripped = Buffer.from(stripImageMetadata(photo));
    expect(pngChunks(stripped).map((c) => c.type)).toEqual(['IHDR', 'tRNS', 'IDAT', 'IEND']);
    for (const s of SECRETS) expect(contains(stripped, s), s).toBe(false);
    expect(stripped.equals(cleanPng())).toBe(true);
    const idat = pngChunks(stripped).find((c) => c.type === 'IDAT');
    expect(inflateSync(idat?.data ?? Buffer.alloc(0)).equals(PNG_PIXELS)).toBe(true);
  });

  it('refuses a truncated JPEG, a PNG without IEND and anything else with StripError', () => {
    const jpeg = jpegWithMetadata();
    expect(() => stripImageMetadata(jpeg.subarray(0, 40))).toThrow(StripError);
    const png = cleanPng();
    expect(() => stripImageMetadata(png.subarray(0, png.length - 12))).toThrow(/no IEND/);
    expect(() => stripImageMetadata(Buffer.from('GIF89a....'))).toThrow(StripError);
    expect(() => stripImageMetadata(Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toThrow(/no frame header/);
  });
});
