import { StripError } from './strip.ts';

/**
 * Metadata out of a phone video (MP4 / QuickTime, ISO BMFF) for the copy officials watch, without re-encoding and
 * without moving a byte: every box that carries who, where or with what — `udta` (©xyz GPS, ©mod model, ©day), `meta`
 * (Apple's keys: location, make, model, software), `uuid` (XMP, vendor data) — is renamed `free` and zeroed, and the
 * creation and modification times of the movie, track and media headers are zeroed. Sizes stay as they are, so the
 * chunk offsets of the sample tables still point at the same media data and the copy plays as the original does.
 *
 * Streams: media data (`mdat`, GBs) passes through untouched; only the `moov` box and top-level metadata boxes are held
 * in memory, up to MAX_HELD_BYTES (a phone's `moov` is some hundred KB to a few MB). A file that is not a well-formed box
 * sequence throws StripError: it is refused, never passed on half-stripped.
 */
export const MAX_HELD_BYTES = 64 * 1024 * 1024;

const METADATA = new Set(['udta', 'meta', 'uuid', 'XMP_']);
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf', 'mvex', 'moof', 'traf']);
const TIMED = new Set(['mvhd', 'tkhd', 'mdhd']);
const FREE = [0x66, 0x72, 0x65, 0x65];

const typeAt = (b: Uint8Array, at: number) =>
  String.fromCharCode(b[at] ?? 0, b[at + 1] ?? 0, b[at + 2] ?? 0, b[at + 3] ?? 0);

interface BoxHeader {
  size: number;
  type: string;
  headerBytes: number;
}

function header(b: Uint8Array, at: number, end: number): BoxHeader | undefined {
  if (end - at < 8) return undefined;
  const view = new DataView(b.buffer, b.byteOffset + at, end - at);
  let size = view.getUint32(0);
  const type = typeAt(b, at + 4);
  let headerBytes = 8;
  if (size === 1) {
    if (end - at < 16) throw new StripError('truncated 64-bit box size');
    const large = view.getBigUint64(8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw new StripError('box too large');
    size = Number(large);
    headerBytes = 16;
  } else if (size === 0) {
    size = end - at; // to the end of the enclosing space
  }
  if (size < headerBytes || at + size > end) throw new StripError(`box ${JSON.stringify(type)} overruns its parent`);
  return { size, type, headerBytes };
}

/** Neutralises the metadata boxes inside b[start, end) in place, recursing into containers. */
function neutralise(b: Uint8Array, start: number, end: number): void {
  let at = start;
  while (at < end) {
    if (end - at < 8) {
      // QuickTime allows a 4-byte zero terminator at the end of some containers
      if (b.subarray(at, end).every((x) => x === 0)) return;
      throw new StripError('trailing bytes in a box');
    }
    const h = header(b, at, end) as BoxHeader;
    const body = at + h.headerBytes;
    if (METADATA.has(h.type)) {
      b.set(FREE, at + 4);
      b.fill(0, body, at + h.size);
    } else if (TIMED.has(h.type) && at + h.size > body + 4) {
      const version = b[body] ?? 0;
      const width = version === 1 ? 8 : 4;
      b.fill(0, body + 4, Math.min(body + 4 + 2 * width, at + h.size));
    } else if (CONTAINERS.has(h.type)) {
      neutralise(b, body, at + h.size);
    }
    at += h.size;
  }
}

/** The whole of a small in-memory video, stripped (tests, and the streaming function's held boxes). */
export function stripVideoMetadata(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  if (typeAt(out, 4) !== 'ftyp') throw new StripError('not an ISO BMFF video (no ftyp box)');
  neutralise(out, 0, out.length);
  return out;
}

/**
 * The same, streaming: yields the stripped file chunk by chunk, holding only `moov` and top-level metadata boxes.
 * The output has exactly as many bytes as the input.
 */
export async function* stripVideoStream(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pending = new Uint8Array(0);
  let passThrough = 0; // bytes of the current pass-through box still to forward
  let toEnd = false; // a size-0 box runs to the end of the file
  let first = true;
  const append = (chunk: Uint8Array) => {
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    pending = joined;
  };
  for await (const chunk of source) {
    if (toEnd) {
      yield chunk;
      continue;
    }
    append(chunk);
    for (;;) {
      if (passThrough > 0) {
        if (pending.length === 0) break;
        const n = Math.min(passThrough, pending.length);
        yield pending.subarray(0, n);
        pending = pending.subarray(n);
        passThrough -= n;
        continue;
      }
      if (pending.length < 16 && !(pending.length >= 8 && readSize(pending) !== 1)) break;
      const size32 = readSize(pending);
      const type = typeAt(pending, 4);
      if (first && type !== 'ftyp') throw new StripError('not an ISO BMFF video (no ftyp box)');
      first = false;
      const size = size32 === 1 ? Number(new DataView(pending.buffer, pending.byteOffset).getBigUint64(8)) : size32;
      if (size32 === 0) {
        if (type === 'moov' || METADATA.has(type)) throw new StripError(`box ${type} of unknown size`);
        toEnd = true;
        yield pending;
        pending = new Uint8Array(0);
        break;
      }
      if (size < (size32 === 1 ? 16 : 8)) throw new StripError('box smaller than its header');
      if (type === 'moov' || METADATA.has(type)) {
        if (size > MAX_HELD_BYTES) throw new StripError(`box ${type} is too large to strip (${size} bytes)`);
        if (pending.length < size) break;
        const box = new Uint8Array(pending.subarray(0, size));
        neutralise(box, 0, size);
        yield box;
        pending = pending.subarray(size);
        continue;
      }
      passThrough = size;
    }
  }
  if (!toEnd && (passThrough > 0 || pending.length > 0)) throw new StripError('the video ends inside a box');
}

const readSize = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
