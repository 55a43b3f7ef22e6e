import { MAX_SEGMENT } from './codec.ts';

/**
 * Splits a TCP byte stream into HJ 212 frames: several frames in one chunk, one frame in several chunks, garbage
 * between frames. Buffered bytes never exceed one maximal frame plus one chunk.
 *
 * Where a frame ends:
 *  - at its declared length, when that lands on CR LF and no complete frame starts inside it (a truncated frame
 *    whose length happens to reach the end of the next frame does not swallow it);
 *  - otherwise the declared length does not hold, and the stream resynchronises: the frame ends at its LF (devices
 *    that count characters instead of bytes), unless the next frame start (`##` and 4 digits) comes first, in which
 *    case the bytes before it are garbage (a truncated or lying frame) and the next frame is read from there.
 * A frame whose length cannot be checked yet waits for more bytes until it can be, or until an LF has arrived.
 */
export type StreamItem = { kind: 'frame'; bytes: Buffer } | { kind: 'garbage'; bytes: Buffer; reason: string };

const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;
/** `##` + 4 + segment + 4 + CR LF, with room for a length that counts characters */
export const MAX_FRAME = 2 + 4 + MAX_SEGMENT + 4 + 2;

export const RESYNC_REASON = 'broken frame (no CR LF where its declared length ends); resynchronised at the next frame';

export class FrameStream {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrame = MAX_FRAME) {}

  /** bytes waiting for the rest of a frame */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): StreamItem[] {
    const buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: StreamItem[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const start = findStart(buf, pos);
      if (start < 0) {
        // keep a trailing '#' that may begin the next frame
        const keep = buf[buf.length - 1] === HASH ? 1 : 0;
        if (buf.length - keep > pos)
          out.push({ kind: 'garbage', bytes: buf.subarray(pos, buf.length - keep), reason: 'bytes outside a frame' });
        pos = buf.length - keep;
        break;
      }
      if (start > pos) out.push({ kind: 'garbage', bytes: buf.subarray(pos, start), reason: 'bytes outside a frame' });
      const end = frameEnd(buf, start, this.maxFrame);
      if (end === INCOMPLETE) {
        pos = start;
        break;
      }
      if (end === TOO_LONG) {
        const next = findStart(buf, start + 2);
        const stop = next < 0 ? buf.length : next;
        out.push({
          kind: 'garbage',
          bytes: buf.subarray(start, stop),
          reason: `no frame end within ${this.maxFrame} bytes`,
        });
        pos = stop;
        continue;
      }
      if (end < 0) {
        // resynchronise: the bytes up to the next `##` (at -end) were a broken frame
        out.push({ kind: 'garbage', bytes: buf.subarray(start, -end), reason: RESYNC_REASON });
        pos = -end;
        continue;
      }
      out.push({ kind: 'frame', bytes: buf.subarray(start, end) });
      pos = end;
    }
    this.buf = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    return out;
  }

  /** Whatever is left when the connection closes. */
  flush(): StreamItem[] {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest.length > 0 ? [{ kind: 'garbage', bytes: rest, reason: 'connection closed inside a frame' }] : [];
  }
}

/** The next `#` that is, or may become, the start of `##`. */
function findStart(buf: Buffer, from: number): number {
  let i = buf.indexOf(HASH, from);
  while (i >= 0) {
    if (i + 1 >= buf.length) return i; // maybe the first of two
    if (buf[i + 1] === HASH) return i;
    i = buf.indexOf(HASH, i + 1);
  }
  return -1;
}

/** The next frame start in `[from, to)`: `##` and 4 digits, all arrived; or -1. */
function nextFrameStart(buf: Buffer, from: number, to: number): number {
  let i = buf.indexOf(HASH, from);
  while (i >= 0 && i < to) {
    if (buf[i + 1] === HASH && i + 6 <= buf.length && isDigits4(buf, i + 2)) return i;
    i = buf.indexOf(HASH, i + 1);
  }
  return -1;
}

function isDigits4(buf: Buffer, at: number): boolean {
  for (let k = at; k < at + 4; k++) {
    const c = buf[k] as number;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

const INCOMPLETE = Number.POSITIVE_INFINITY;
const TOO_LONG = Number.NEGATIVE_INFINITY;

/** The declared data length of a frame at `start`, or -1 when the 4 characters after `##` are not a usable length. */
function declaredAt(buf: Buffer, start: number): number {
  let n = 0;
  for (let k = 2; k < 6; k++) {
    const d = (buf[start + k] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= MAX_SEGMENT ? n : -1;
}

/** Where a frame at `start` ends by its declared length, when the bytes are there and it lands on CR LF; else -1. */
function endByLength(buf: Buffer, start: number, to: number): number {
  if (to - start < 6) return -1;
  const declared = declaredAt(buf, start);
  if (declared < 0) return -1;
  const at = start + 6 + declared + 4;
  return at + 2 <= to && buf[at] === CR && buf[at + 1] === LF ? at + 2 : -1;
}

/**
 * The end of the frame at `start` (exclusive), INCOMPLETE, TOO_LONG, or -(index of the next frame start) when the
 * bytes before it are a broken frame.
 */
function frameEnd(buf: Buffer, start: number, maxFrame: number): number {
  if (buf.length - start < 6) return INCOMPLETE;
  const declared = declaredAt(buf, start);
  if (declared >= 0) {
    const at = start + 6 + declared + 4;
    if (at + 2 <= buf.length) {
      if (buf[at] === CR && buf[at + 1] === LF) {
        // a complete frame inside (its own length landing within) means this one was cut off before it
        for (let inner = nextFrameStart(buf, start + 2, at); inner >= 0; inner = nextFrameStart(buf, inner + 1, at)) {
          if (endByLength(buf, inner, at + 2) >= 0) return -inner;
        }
        return at + 2;
      }
    } else if (buf.indexOf(LF, start + 2) < 0) {
      // the length cannot be checked yet and no frame has ended since: wait (a `##` alone does not end a frame that
      // is still arriving: its data may hold one)
      return buf.length - start >= maxFrame ? TOO_LONG : INCOMPLETE;
    }
  }
  // the declared length does not hold: the frame ends at its LF, unless the next frame starts first
  const limit = Math.min(buf.length, start + maxFrame);
  const lf = buf.indexOf(LF, start + 2);
  const next = nextFrameStart(buf, start + 2, limit);
  if (next >= 0 && (lf < 0 || next < lf)) return -next;
  if (lf >= 0 && lf < limit) return lf + 1;
  return buf.length - start >= maxFrame ? TOO_LONG : INCOMPLETE;
}
