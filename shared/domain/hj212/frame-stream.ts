import { MAX_SEGMENT, MAX_TEXT_FORM_SEGMENT } from './codec.ts';

/**
 * Splits a TCP byte stream into HJ 212 frames: several frames in one chunk, one frame in several chunks, garbage
 * between frames. Buffered bytes never exceed one maximal frame plus one chunk.
 *
 * A frame ends at the first LF after its `##` (frames hold no LF). Once that LF has arrived:
 *  - when the declared length lands on that CR LF, the bytes are one frame, unless a complete frame (its own length
 *    landing there) starts inside it: then the first one was cut off, its bytes are garbage and the inner frame is read;
 *  - otherwise the declared length does not hold: if the next frame start (`##` and 4 digits) comes before the LF, the
 *    bytes before it are garbage (a truncated or lying frame) and the stream resynchronises there; if not, the bytes up
 *    to the LF are the frame (a device that counts characters instead of bytes; the codec judges it).
 * Every decision waits for the LF, so the frames found do not depend on how the stream was cut into chunks.
 *
 * HJ 212-2025 frames with an SM4-encrypted CP (codec.ts, docs/devices.md §2.1):
 *  - binary ciphertext may hold any byte, LF and CR included. When the first LF after `##` lies inside the CP of a
 *    frame whose Flag says 2025 and before the frame's declared end, the declared length decides: the splitter waits
 *    for it, and a CR LF there ends the frame (unless a complete frame starting inside ends there too: then, as above,
 *    the outer one was cut off). Without CR LF at the declared end, the LF rules above apply.
 *  - the `{0x..}` text form holds no LF, and its declared length counts the plaintext, which ends inside the hex
 *    text: it is never cut there; it ends at its LF, like a length that counts characters. Such a frame (its CP starts
 *    with `{0x`) may be up to `maxTextFrame` bytes long, the ciphertext being written 5 characters per byte.
 */
export type StreamItem = { kind: 'frame'; bytes: Buffer } | { kind: 'garbage'; bytes: Buffer; reason: string };

const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;
/** `##` + 4 + segment + 4 + CR LF, with room for a length that counts characters */
export const MAX_FRAME = 2 + 4 + MAX_SEGMENT + 4 + 2;
/** the same for a frame whose encrypted CP is written as `{0x..}` text */
export const MAX_TEXT_FRAME = 2 + 4 + MAX_TEXT_FORM_SEGMENT + 4 + 2;

export const RESYNC_REASON = 'broken frame (no CR LF where its declared length ends); resynchronised at the next frame';

export class FrameStream {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxFrame = MAX_FRAME,
    private readonly maxTextFrame = Math.max(maxFrame, MAX_TEXT_FRAME),
  ) {}

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
      const end = frameEnd(buf, start, this.maxFrame, this.maxTextFrame);
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
          reason: `no frame end within ${cpOf(buf, start).text ? this.maxTextFrame : this.maxFrame} bytes`,
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

/** The next `#` that is, or may become, the start of `##` (the last two of a run of `#`). */
function findStart(buf: Buffer, from: number): number {
  let i = buf.indexOf(HASH, from);
  while (i >= 0) {
    if (i + 1 >= buf.length) return i; // maybe the first of two
    if (buf[i + 1] === HASH) {
      while (i + 2 < buf.length && buf[i + 2] === HASH) i++;
      return i;
    }
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

/** Where a frame at `start` ends by its declared length (after its CR LF), or -1. */
function endByLength(buf: Buffer, start: number): number {
  if (buf.length - start < 6) return -1;
  const declared = declaredAt(buf, start);
  if (declared < 0) return -1;
  const at = start + 6 + declared + 4;
  return at + 2 <= buf.length && buf[at] === CR && buf[at + 1] === LF ? at + 2 : -1;
}

/** The header is at most this long (QN … PNO, RF and separators, with room): `CP=&&` is looked for within it. */
const HEADER_MAX = 256;
const CP_MARK = Buffer.from('CP=&&');

/**
 * Where the CP area of the frame at `start` begins (-1 when `CP=&&` has not arrived within the header), whether it is
 * the `{0x..}` text form, and whether the header's Flag says HJ 212-2025.
 */
function cpOf(buf: Buffer, start: number): { body: number; text: boolean; v2025: boolean } {
  const at = buf.indexOf(CP_MARK, start + 6);
  if (at < 0 || at > start + HEADER_MAX) return { body: -1, text: false, v2025: false };
  const body = at + 5;
  const text = buf[body] === 0x7b && buf[body + 1] === 0x30 && ((buf[body + 2] ?? 0) | 0x20) === 0x78;
  const flagAt = buf.lastIndexOf('Flag=', at);
  let flag = -1;
  if (flagAt > start) {
    flag = 0;
    for (let i = flagAt + 5; i < at; i++) {
      const d = (buf[i] as number) - 0x30;
      if (d < 0 || d > 9) break;
      flag = flag * 10 + d;
    }
  }
  return { body, text, v2025: flag >= 0 && flag >> 2 === 2 };
}

/**
 * The end of the frame at `start` (exclusive), INCOMPLETE, TOO_LONG, or -(index of the next frame start) when the
 * bytes before it are a broken frame.
 */
function frameEnd(buf: Buffer, start: number, maxFrame: number, maxTextFrame: number): number {
  const cp = cpOf(buf, start);
  const max = cp.text ? maxTextFrame : maxFrame;
  const limit = Math.min(buf.length, start + max);
  const lf = buf.indexOf(LF, start + 2);
  if (lf < 0 || lf >= limit) return buf.length - start >= max ? TOO_LONG : INCOMPLETE;
  const end = lf + 1;
  if (cp.v2025 && !cp.text && cp.body >= 0 && lf >= cp.body) {
    // binary ciphertext may hold LF: the declared length decides (see above)
    const declared = declaredAt(buf, start);
    const at = declared < 0 ? -1 : start + 6 + declared + 4;
    // a complete frame starting inside and ending at this LF means this one was cut off (as below)
    for (let inner = nextFrameStart(buf, start + 2, lf); inner >= 0; inner = nextFrameStart(buf, inner + 1, lf)) {
      if (endByLength(buf, inner) === end) return -inner;
    }
    if (at > lf) {
      if (at + 2 > buf.length) return at + 2 - start <= max ? INCOMPLETE : TOO_LONG;
      if (buf[at] === CR && buf[at + 1] === LF) {
        for (let inner = nextFrameStart(buf, start + 2, at); inner >= 0; inner = nextFrameStart(buf, inner + 1, at)) {
          if (endByLength(buf, inner) === at + 2) return -inner;
        }
        return at + 2;
      }
    }
  }
  if (endByLength(buf, start) === end) {
    // a complete frame inside, ending here too, means this one was cut off before it
    for (let inner = nextFrameStart(buf, start + 2, lf); inner >= 0; inner = nextFrameStart(buf, inner + 1, lf)) {
      if (endByLength(buf, inner) === end) return -inner;
    }
    return end;
  }
  const next = nextFrameStart(buf, start + 2, lf);
  return next >= 0 ? -next : end;
}
