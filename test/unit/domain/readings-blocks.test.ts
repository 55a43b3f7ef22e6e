import { describe, expect, it } from 'vitest';
import { isoInstant } from '#shared/domain/readings/blocks.ts';

describe('isoInstant', () => {
  it('formats an instant as toISOString does, across hours, days, years and before 1970', () => {
    let x = 7;
    const next = () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x / 2_147_483_648;
    };
    const samples = [0, -1, 999, 3_599_999, 3_600_000, Date.parse('2026-12-31T23:59:59.999Z'), -62_135_596_800_000];
    for (let i = 0; i < 2_000; i++) samples.push(Math.floor((next() - 0.3) * 4e12));
    // nearby instants alternate within and across cached hours
    for (let i = 0; i < 500; i++) samples.push(1_796_000_000_000 + Math.floor(next() * 2 * 3_600_000));
    for (const ms of samples) expect(isoInstant(ms)).toBe(new Date(ms).toISOString());
  });

  it('keeps what toISOString does for an instant that is not a whole millisecond or not a time', () => {
    expect(isoInstant(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
  });
});
