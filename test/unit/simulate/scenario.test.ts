import { describe, expect, it } from 'vitest';
import { DEMO_DURATION_MS, DEMO_SPEED, demoStart } from '../../../scripts/simulate/scenario.ts';

const beijing = (iso: string) => Date.parse(iso);

describe('demoStart', () => {
  it('starts at 09:55 Beijing time today when the whole demo is already in the past', () => {
    const now = beijing('2026-11-29T19:30:00+08:00');
    expect(new Date(demoStart(now)).toISOString()).toBe('2026-11-29T01:55:00.000Z');
  });

  it('starts yesterday in the early morning, so that no DataTime lies in the future', () => {
    const now = beijing('2026-11-29T07:00:00+08:00');
    const start = demoStart(now);
    expect(new Date(start).toISOString()).toBe('2026-11-28T01:55:00.000Z');
    expect(start + DEMO_SPEED * DEMO_DURATION_MS).toBeLessThanOrEqual(now);
  });
});
