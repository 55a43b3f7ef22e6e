/**
 * Removes every piece of metadata from a photo (EXIF with GPS and device model, XMP, IPTC, ICC profiles, comments,
 * embedded thumbnails and trailing data), keeping only what a decoder needs. Pixels are untouched: no re-encoding.
 *
 * JPEG keeps SOI, APP0 "JFIF", APP14 "Adobe" (12 bytes of colour-transform flags: dropping them would change the
 * colours of CMYK/YCCK files; they carry nothing personal), DQT, SOFn, DHT, DAC, DRI, DNL, DHP, EXP, SOS with its
 * entropy-coded data, EOI. It drops APP1–APP15 otherwise (EXIF, XMP, ICC, MPF, IPTC …), COM and everything after
 * EOI (multi-picture trailers). Dropping the ICC profile may shift colours slightly on wide-gamut photos; accepted.
 * PNG keeps IHDR, PLTE, tRNS, IDAT, IEND and drops every other chunk (tEXt, iTXt, zTXt, eXIf, tIME, iCCP, gAMA …).
 * A file that does not parse throws StripError: it is refused, never passed on half-stripped.
 */
export class StripError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StripError';
  }
}

export type StrippableType = 'image/jpeg' | 'image/png';

export function stripImageMetadata(bytes: Uint8Array, type?: StrippableType): Uint8Array {
  const kind =
    type ?? (bytes[0] === 0xff && bytes[1] === 0xd8 ? 'image/jpeg' : bytes[0] === 0x89 ? 'image/png' : undefined);
  if (kind === 'image/jpeg') return stripJpeg(bytes);
  if (kind === 'image/png') return stripPng(bytes);
  throw new StripError('not a JPEG or PNG image');
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;
/** Segments that affect decoding: DQT, DHT, DAC, DRI, DNL, DHP, EXP and every SOFn. */
const KEEP = new Set([0xdb, 0xc4, 0xcc, 0xdd, 0xdc, 0xde, 0xdf]);
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

const ascii = (b: Uint8Array, from: number, text: string) => [...text].every((c, i) => b[from + i] === c.charCodeAt(0));

function stripJpeg(b: Uint8Array): Uint8Array {
  if (b[0] !== 0xff || b[1] !== SOI) throw new StripError('JPEG does not start with SOI');
  const out: Uint8Array[] = [b.subarray(0, 2)];
  let pos = 2;
  let sawFrame = false;
  while (pos < b.length) {
    if (b[pos] !== 0xff) throw new StripError(`JPEG: expected a marker at byte ${pos}`);
    let marker = b[pos + 1] ?? -1;
    while (marker === 0xff) {
      pos++; // fill bytes
      marker = b[pos + 1] ?? -1;
    }
    if (marker < 0) throw new StripError('JPEG: truncated marker');
    if (marker === EOI) {
      out.push(b.subarray(pos, pos + 2));
      if (!sawFrame) throw new StripError('JPEG: no frame header (SOF) before EOI');
      return concat(out);
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      out.push(b.subarray(pos, pos + 2)); // standalone TEM / stray RSTn
      pos += 2;
      continue;
    }
    const length = ((b[pos + 2] ?? 0) << 8) | (b[pos + 3] ?? 0);
    const end = pos + 2 + length;
    if (length < 2 || end > b.length) throw new StripError(`JPEG: segment 0x${marker.toString(16)} overruns the file`);
    const data = pos + 4;
    const keep =
      KEEP.has(marker) ||
      isSof(marker) ||
      marker === SOS ||
      (marker === APP0 && ascii(b, data, 'JFIF\0')) ||
      (marker === APP14 && length === 14 && ascii(b, data, 'Adobe'));
    if (isSof(marker)) sawFrame = true;
    if (keep) out.push(b.subarray(pos, end));
    pos = end;
    if (marker === SOS) {
      // entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor a restart marker
      let scan = pos;
      while (scan < b.length) {
        if (b[scan] === 0xff) {
          const next = b[scan + 1] ?? -1;
          if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) break;
        }
        scan++;
      }
      if (scan >= b.length) throw new StripError('JPEG: scan data without EOI');
      out.push(b.subarray(pos, scan));
      pos = scan;
    }
  }
  throw new StripError('JPEG: no EOI');
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_KEEP = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);

function stripPng(b: Uint8Array): Uint8Array {
  if (!PNG_SIGNATURE.every((v, i) => b[i] === v)) throw new StripError('PNG signature missing');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Uint8Array[] = [b.subarray(0, 8)];
  let pos = 8;
  let first = true;
  while (pos + 12 <= b.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    const end = pos + 12 + length;
    if (end > b.length) throw new StripError(`PNG: chunk ${type} overruns the file`);
    if (first && type !== 'IHDR') throw new StripError('PNG: first chunk is not IHDR');
    first = false;
    if (PNG_KEEP.has(type)) out.push(b.subarray(pos, end));
    pos = end;
    if (type === 'IEND') return concat(out);
  }
  throw new StripError('PNG: no IEND');
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
