import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream, MAX_FRAME, RESYNC_REASON } from '#shared/domain/hj212/frame-stream.ts';
import { SplitReassembler } from '#shared/domain/hj212/split.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { samples } from './samples.ts';

const frames = (items: ReturnType<FrameStream['push']>) =>
  items.filter((i) => i.kind === 'frame').map((i) => i.bytes.toString('utf8'));
const garbage = (items: ReturnType<FrameStream['push']>) => items.filter((i) => i.kind === 'garbage');

describe('FrameStream', () => {
  const all = samples().map((s) => s.packet);

  it('yields several frames delivered in one chunk', () => {
    const stream = new FrameStream();
    expect(frames(stream.push(Buffer.from(all.join(''))))).toEqual(all);
    expect(stream.pending).toBe(0);
  });

  it('reassembles a frame delivered one byte at a time', () => {
    const stream = new FrameStream();
    const out: string[] = [];
    const bytes = Buffer.from(all.join(''));
    for (let i = 0; i < bytes.length; i++) out.push(...frames(stream.push(bytes.subarray(i, i + 1))));
    expect(out).toEqual(all);
  });

  it('reports bytes between frames as garbage and keeps the frames', () => {
    const stream = new FrameStream();
    const items = stream.push(Buffer.from(`noise\r\n${all[0]}\x00\x01junk${all[1]}`));
    expect(frames(items)).toEqual([all[0], all[1]]);
    expect(garbage(items).map((g) => g.bytes.toString('latin1'))).toEqual(['noise\r\n', '\x00\x01junk']);
  });

  it('finds the end of a frame whose length counts characters, by its CR LF', () => {
    const seg =
      'QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&i11001-Info=//清洗管路//&&';
    const wrong = `##${String(seg.length).padStart(4, '0')}${seg}0000\r\n`;
    const stream = new FrameStream();
    expect(frames(stream.push(Buffer.from(wrong + all[0])))).toEqual([wrong, all[0]]);
  });

  it('drops an unterminated oversize frame and recovers at the next frame', () => {
    const stream = new FrameStream();
    const items = stream.push(Buffer.from(`##0100${'x'.repeat(MAX_FRAME + 10)}${all[0]}`));
    expect(garbage(items)[0]?.reason).toMatch(/no frame end/);
    expect(frames(items)).toEqual([all[0]]);
    expect(stream.pending).toBe(0);
  });

  it('never buffers more than one maximal frame plus a chunk', () => {
    const stream = new FrameStream();
    for (let i = 0; i < 200; i++) stream.push(Buffer.from(`##${'7'.repeat(100)}`));
    expect(stream.pending).toBeLessThanOrEqual(MAX_FRAME + 110);
  });

  it('returns an unfinished frame as garbage on flush', () => {
    const stream = new FrameStream();
    stream.push(Buffer.from((all[0] as string).slice(0, 20)));
    expect((stream.flush()[0] as { reason?: string } | undefined)?.reason).toMatch(/closed inside a frame/);
  });
});

describe('FrameStream resynchronisation', () => {
  const all = samples().map((s) => s.packet);
  const big = all[5] as string; // the hourly water sample, 458-byte segment
  const valid = all[0] as string;
  /** frames and garbage of a stream cut into `size`-byte chunks (0: whole) */
  const split = (stream: string, size = 0) => {
    const s = new FrameStream();
    const bytes = Buffer.from(stream);
    const items: ReturnType<FrameStream['push']> = [];
    for (let i = 0; i < bytes.length; i += size || bytes.length)
      items.push(...s.push(bytes.subarray(i, i + (size || bytes.length))));
    expect(s.pending).toBe(0);
    return { frames: frames(items), garbage: garbage(items).map((g) => [g.bytes.toString('utf8'), g.reason]) };
  };
  const lying = (frame: string, length: string) => `##${length}${frame.slice(6)}`;
  const truncated = big.slice(0, 100);
  // a truncated frame whose declared length lands exactly on the CR LF of the frame after it
  const spanning = `##${String(50 + Buffer.byteLength(valid) - 6).padStart(4, '0')}${big.slice(6, 56)}`;

  for (const size of [0, 1, 7, 64]) {
    const cut = size ? `cut into ${size}-byte chunks` : 'in one chunk';
    it(`keeps the valid frame after a truncated one (${cut})`, () => {
      expect(split(truncated + valid, size)).toEqual({ frames: [valid], garbage: [[truncated, RESYNC_REASON]] });
    });

    it(`keeps the valid frame after a truncated one whose length reaches the end of it (${cut})`, () => {
      expect(split(spanning + valid, size)).toEqual({ frames: [valid], garbage: [[spanning, RESYNC_REASON]] });
    });

    it(`keeps the valid frame after frames that claim a longer or shorter length (${cut})`, () => {
      for (const length of ['0999', '0100', '0000']) {
        expect(split(lying(big, length) + valid, size)).toEqual({ frames: [lying(big, length), valid], garbage: [] });
      }
    });

    it(`keeps the valid frame after ## junk, a bad length, two truncated frames and extra # (${cut})`, () => {
      expect(split(`##ab##00x1;${truncated}${truncated}#${valid}`, size)).toEqual({
        frames: [valid],
        // a frame starts at ## and 4 digits: junk runs to the next one
        garbage: [
          ['##ab##00x1;', RESYNC_REASON],
          [truncated, RESYNC_REASON],
          [`${truncated}#`, RESYNC_REASON],
        ],
      });
    });
  }

  it('does not split a valid frame whose data holds ## and digits, even when it arrives byte by byte', () => {
    const inner = encodeFrame('ST=32;CN=3020;MN=010000A8900016F000169DC0;CP=&&i11001-Info=//##0012 清洗//&&');
    expect(split(inner + valid, 1).frames).toEqual([inner, valid]);
  });

  it('waits for the LF of a frame whose length it cannot check yet', () => {
    const stream = new FrameStream();
    expect(stream.push(Buffer.from(truncated))).toEqual([]);
    expect(stream.pending).toBe(truncated.length);
    expect(frames(stream.push(Buffer.from(valid)))).toEqual([valid]);
  });
});

function part(pno: number, pnum: number, cp: string, qn = '20160801085857534'): Hj212Packet {
  const r = decodeFrame(
    encodeFrame(
      `QN=${qn};ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=${pnum};PNO=${pno};CP=&&${cp}&&`,
    ),
  );
  if (!r.ok) throw new Error(r.detail);
  return r.packet;
}

describe('SplitReassembler', () => {
  it('merges the parts of a split message in PNO order once all arrived', () => {
    const r = new SplitReassembler(60_000);
    expect(r.add(part(2, 2, 'DataTime=20160801080000;w01018-Avg=50,w01018-Flag=N'), 0)).toEqual({});
    const { complete } = r.add(part(1, 2, 'DataTime=20160801080000;w00000-Cou=63.0,w00000-Flag=N'), 10);
    expect(complete?.split).toBe(false);
    expect(complete?.pnum).toBeUndefined();
    expect(Object.keys(complete?.cp.pollutants ?? {}).sort()).toEqual(['w00000', 'w01018']);
    expect(r.size).toBe(0);
  });

  it('ignores a repeated part', () => {
    const r = new SplitReassembler();
    r.add(part(1, 3, 'w01018-Avg=1'), 0);
    expect(r.add(part(1, 3, 'w01018-Avg=1'), 1)).toEqual({ duplicate: true });
  });

  it('gives up an incomplete message after the timeout and says what arrived', () => {
    const r = new SplitReassembler(1000);
    r.add(part(1, 3, 'w01018-Avg=1'), 0);
    r.add(part(3, 3, 'w21003-Avg=1'), 100);
    expect(r.expire(999)).toEqual([]);
    const [expired] = r.expire(1000);
    expect(expired).toMatchObject({ mn: '010000A8900016F000169DC0', cn: '2061', pnum: 3, received: [1, 3] });
    expect(r.size).toBe(0);
  });

  it('bounds the number of open messages by evicting the oldest', () => {
    const r = new SplitReassembler(60_000, 2);
    r.add(part(1, 2, 'a-Avg=1', '20160801085857001'), 0);
    r.add(part(1, 2, 'a-Avg=1', '20160801085857002'), 0);
    const { evicted } = r.add(part(1, 2, 'a-Avg=1', '20160801085857003'), 0);
    expect(evicted?.qn).toBe('20160801085857001');
    expect(r.size).toBe(2);
  });

  it('passes an unsplit packet straight through', () => {
    const p = decodeFrame(samples()[0]?.packet as string);
    if (!p.ok) throw new Error('sample');
    expect(new SplitReassembler().add(p.packet, 0).complete).toBe(p.packet);
  });
});
