import { MAX_SEGMENT } from './codec.ts';

/**
 * Splits a TCP byte stream into HJ 212 frames: several frames in one chunk, one frame in several chunks, garbage
 * between frames. A frame is found by its declared length when that lands on CR LF, else by the next CR LF (devices
 * that count characters instead of bytes). Buffered bytes never exceed one maximal frame plus one chunk.
 */
export type StreamItem = { kind: 'frame'; bytes: Buffer } | { kind: 'garbage'; bytes: Buffer; reason: string };

const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;
/** `##` + 4 + segment + 4 + CR LF, with room for a length that counts characters */
export const MAX_FRAME = 2 + 4 + MAX_SEGMENT + 4 + 2;

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
      if (end === 'incomplete') {
        pos = start;
        break;
      }
      if (end === 'too-long') {
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

function findStart(buf: Buffer, from: number): number {
  let i = buf.indexOf(HASH, from);
  while (i >= 0) {
    if (i + 1 >= buf.length) return i; // maybe the first of two
    if (buf[i + 1] === HASH) return i;
    i = buf.indexOf(HASH, i + 1);
  }
  return -1;
}

function frameEnd(buf: Buffer, start: number, maxFrame: number): number | 'incomplete' | 'too-long' {
  if (buf.length - start < 6) return 'incomplete';
  const d = (k: number) => (buf[start + k] as number) - 0x30;
  const digits = [d(2), d(3), d(4), d(5)];
  if (digits.every((x) => x >= 0 && x <= 9)) {
    const declared =
      (digits[0] as number) * 1000 + (digits[1] as number) * 100 + (digits[2] as number) * 10 + (digits[3] as number);
    const byLength = start + 6 + declared + 4;
    if (declared <= MAX_SEGMENT && byLength + 2 <= buf.length && buf[byLength] === CR && buf[byLength + 1] === LF)
      return byLength + 2;
  }
  const limit = Math.min(buf.length, start + maxFrame);
  const lf = buf.indexOf(LF, start + 2);
  if (lf >= 0 && lf < limit) return lf + 1;
  return buf.length - start >= maxFrame ? 'too-long' : 'incomplete';
}
