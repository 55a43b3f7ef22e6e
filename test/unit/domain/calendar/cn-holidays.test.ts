import { describe, expect, it } from 'vitest';
import {
  addWorkingDays,
  CN_CALENDAR,
  calendarAssumedNoteZh,
  compileCalendar,
  isWorkingDay,
  yearsWithoutCalendar,
} from '#shared/domain/calendar/cn-holidays.ts';
import type { HolidayNotice } from '#shared/domain/calendar/model.ts';
import { CN_2026 } from '#shared/domain/calendar/years/2026.ts';
import { NOTICES } from '#shared/domain/calendar/years/index.ts';

const WEEKDAY = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
const weekdayOf = (d: string) => WEEKDAY[new Date(`${d}T00:00:00Z`).getUTCDay()];

/** A notice for tests only (not a real arrangement): a New Year's holiday that starts in the December before. */
const notice = (over: Partial<HolidayNotice> = {}): HolidayNotice => ({
  year: 2031,
  source: { issuer: '测试', title: '测试用通知（非真实安排）', date: '2030-11-01', published: 'test' },
  holidays: [{ name: '元旦', off: ['2030-12-30', '2031-01-01'], days: 3, workdays: ['2030-12-28'] }],
  ...over,
});

describe('the 2026 notice (docs/cases.md「期限与工作日日历」)', () => {
  it('has each holiday and make-up day on the weekday the notice prints', () => {
    const printed = CN_2026.holidays.map((h) => ({
      name: h.name,
      off: h.off.map(weekdayOf),
      days: h.days,
      workdays: h.workdays.map((d) => `${d.slice(5)} ${weekdayOf(d)}`),
    }));
    expect(printed).toEqual([
      { name: '元旦', off: ['周四', '周六'], days: 3, workdays: ['01-04 周日'] },
      { name: '春节', off: ['周日', '周一'], days: 9, workdays: ['02-14 周六', '02-28 周六'] },
      { name: '清明节', off: ['周六', '周一'], days: 3, workdays: [] },
      { name: '劳动节', off: ['周五', '周二'], days: 5, workdays: ['05-09 周六'] },
      { name: '端午节', off: ['周五', '周日'], days: 3, workdays: [] },
      { name: '中秋节', off: ['周五', '周日'], days: 3, workdays: [] },
      { name: '国庆节', off: ['周四', '周三'], days: 7, workdays: ['09-20 周日', '10-10 周六'] },
    ]);
    expect(CN_2026.source).toMatchObject({ issuer: '国务院办公厅', date: '2025-11-04' });
  });

  it('makes 2026 a year of 248 working days', () => {
    let n = 0;
    for (let d = '2025-12-31'; d < '2026-12-31'; ) {
      d = addWorkingDays(d, 1);
      if (d.startsWith('2026-')) n++;
    }
    // 261 Monday–Fridays, 19 of them days off (2 + 6 + 1 + 3 + 1 + 1 + 5), 6 make-up weekend days
    expect(n).toBe(261 - 19 + 6);
  });
});

describe('compileCalendar', () => {
  it('compiles every notice in years/, each year once and with its source', () => {
    expect([...CN_CALENDAR.years]).toEqual(NOTICES.map((n) => n.year));
    for (const n of NOTICES) expect(n.source.title).toContain(`${n.year}年`);
  });

  it('takes a New Year holiday that begins in the December before', () => {
    const c = compileCalendar([notice()]);
    expect(isWorkingDay('2030-12-30', c)).toBe(false);
    expect(isWorkingDay('2030-12-28', c)).toBe(true); // a Saturday worked
    expect([...c.years]).toEqual([2031]);
  });

  it('refuses data an operator mistyped, saying what is wrong', () => {
    const h = notice().holidays[0] as HolidayNotice['holidays'][number];
    const bad = (holidays: HolidayNotice['holidays']) => () => compileCalendar([notice({ holidays })]);
    expect(bad([{ ...h, days: 4 }])).toThrow(/元旦: 2030-12-30…2031-01-01 is 3 days, the notice says 4/);
    expect(bad([{ ...h, workdays: ['2031-01-02'] }])).toThrow(/make-up day 2031-01-02 is not a weekend day/);
    expect(bad([{ ...h, off: ['2032-01-01', '2032-01-03'] }])).toThrow(/are not dates of 2031/);
    expect(bad([{ ...h, off: ['2031-02-30', '2031-03-01'] }])).toThrow(/are not dates of 2031/);
    expect(bad([{ ...h, workdays: ['2030-12-29', '2030-12-30'] }])).toThrow(/2030-12-30 is both a day off/);
    expect(() => compileCalendar([notice(), notice()])).toThrow(/2031: more than one notice/);
    expect(() => compileCalendar([notice({ source: { ...notice().source, date: '1.11.2030' } })])).toThrow(
      /the source needs/,
    );
  });
});

describe('years without a notice', () => {
  const only2026 = compileCalendar([CN_2026]);

  it('counts them Monday–Friday', () => {
    expect(isWorkingDay('2027-01-01', only2026)).toBe(true); // a Friday: no notice says it is a holiday
    expect(isWorkingDay('2027-01-02', only2026)).toBe(false);
    expect(addWorkingDays('2026-12-30', 3, only2026)).toBe('2027-01-04');
  });

  it('names the years of a span that have none', () => {
    expect(yearsWithoutCalendar('2026-12-31', '2027-01-04', only2026)).toEqual([2027]);
    expect(yearsWithoutCalendar('2025-12-31', '2028-01-04', only2026)).toEqual([2025, 2027, 2028]);
    expect(yearsWithoutCalendar('2026-01-01', '2026-12-31', only2026)).toEqual([]);
    expect(yearsWithoutCalendar('2027-01-05', '2027-01-04', only2026)).toEqual([]); // an empty span
  });

  it('says so in Chinese beside a deadline', () => {
    expect(calendarAssumedNoteZh([2027])).toBe(
      '2027年节假日安排尚未录入，期限按周一至周五估算，待国务院节假日安排公布后核对',
    );
    expect(calendarAssumedNoteZh([2027, 2028])).toMatch(/^2027年、2028年节假日安排/);
  });
});
