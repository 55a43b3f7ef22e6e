import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CalendarCheckDeps,
  calendarGapMessage,
  calendarGaps,
  checkCalendar,
  type OpsMessage,
} from '#shared/domain/calendar/coverage.ts';

/** The ops alarm's decision over Beijing dates, and the once-per-day check with an in-memory claim store. */
const known = (...years: number[]) => ({ years: new Set(years) });
/** the instant a Beijing wall-clock time is (UTC+8) */
const beijing = (local: string) => new Date(`${local}+08:00`);

describe('calendarGaps', () => {
  it('asks nothing of next year before 1 November (Beijing)', () => {
    expect(calendarGaps(beijing('2026-10-31T23:59:59'), known(2026))).toEqual([]);
    expect(calendarGaps(beijing('2026-03-01T09:00:00'), known(2026))).toEqual([]);
  });

  it('wants next year from 00:00 Beijing on 1 November, still 31 October in UTC', () => {
    const at = beijing('2026-11-01T00:00:00');
    expect(at.toISOString()).toBe('2026-10-31T16:00:00.000Z');
    expect(calendarGaps(at, known(2026))).toEqual([{ year: 2027, which: 'next' }]);
    expect(calendarGaps(beijing('2026-12-31T23:59:00'), known(2026))).toEqual([{ year: 2027, which: 'next' }]);
  });

  it('is quiet once next year is entered', () => {
    expect(calendarGaps(beijing('2026-12-06T09:00:00'), known(2026, 2027))).toEqual([]);
  });

  it('wants the current year all year when it is missing, and both from 1 November', () => {
    expect(calendarGaps(beijing('2027-01-01T09:00:00'), known(2026))).toEqual([{ year: 2027, which: 'current' }]);
    expect(calendarGaps(beijing('2027-11-02T09:00:00'), known(2026))).toEqual([
      { year: 2027, which: 'current' },
      { year: 2028, which: 'next' },
    ]);
  });
});

describe('calendarGapMessage', () => {
  it('tells ops in Chinese what is missing, what it means and where to add it', () => {
    const m = calendarGapMessage([{ year: 2027, which: 'next' }], '2026-11-01');
    expect(m.textZh).toContain('【工作日日历缺失】');
    expect(m.textZh).toContain('明年（2027年）的节假日安排尚未录入');
    expect(m.textZh).toContain('docs/operations.md「工作日日历」');
    expect(m.textZh).toContain('按周一至周五估算，待国务院节假日安排公布后核对');
    expect(m.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(m.attributes).toEqual({
      kind: 'calendar_missing',
      years: '2027',
      day: '2026-11-01',
      dedupeId: 'calendar#2026-11-01',
    });
  });
});

describe('checkCalendar', () => {
  let claims: Set<string>;
  let sent: OpsMessage[];
  let now: Date;
  let failPublish: boolean;
  const deps = (): CalendarCheckDeps => ({
    calendar: known(2026),
    claim: async (key) => {
      if (claims.has(key)) return false;
      claims.add(key);
      return true;
    },
    release: async (key) => {
      claims.delete(key);
    },
    notifyOps: async (m) => {
      if (failPublish) throw new Error('SNS is down');
      sent.push(m);
    },
    now: () => now,
  });

  beforeEach(() => {
    claims = new Set();
    sent = [];
    failPublish = false;
    now = beijing('2026-11-01T09:00:00');
  });

  it('tells ops once per Beijing day, however often it runs', async () => {
    expect(await checkCalendar(deps())).toEqual({ day: '2026-11-01', missing: [2027], notified: true });
    expect(await checkCalendar(deps())).toEqual({ day: '2026-11-01', missing: [2027], notified: false });
    now = beijing('2026-11-01T23:30:00');
    await checkCalendar(deps());
    expect(sent).toHaveLength(1);
    now = beijing('2026-11-02T09:00:00');
    await checkCalendar(deps());
    expect(sent.map((m) => m.attributes.day)).toEqual(['2026-11-01', '2026-11-02']);
  });

  it('claims nothing and sends nothing when the calendar is complete', async () => {
    now = beijing('2026-10-31T09:00:00');
    expect(await checkCalendar(deps())).toEqual({ day: '2026-10-31', missing: [], notified: false });
    expect([claims.size, sent.length]).toEqual([0, 0]);
  });

  it('gives the day back when the publish fails, so the retry sends it', async () => {
    failPublish = true;
    await expect(checkCalendar(deps())).rejects.toThrow('SNS is down');
    expect(claims.size).toBe(0);
    failPublish = false;
    expect((await checkCalendar(deps())).notified).toBe(true);
    expect(sent).toHaveLength(1);
  });
});
