/**
 * Chinese public holidays and adjusted working days (调休上班), kept as data an operator extends each autumn when the
 * State Council publishes the next year's table (domain.md §6.4). A date is a working day when it is an adjusted
 * working day, or a Monday–Friday that is not a holiday. Dates are Beijing calendar dates (UTC+8, no DST).
 * Years without a table fall back to plain Monday–Friday.
 */
export interface HolidayYear {
  /** days off, YYYY-MM-DD */
  holidays: readonly string[];
  /** weekend days that are worked, YYYY-MM-DD */
  workingWeekends: readonly string[];
}

const range = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let d = Date.parse(`${from}T00:00:00Z`); d <= Date.parse(`${to}T00:00:00Z`); d += 86_400_000) {
    out.push(new Date(d).toISOString().slice(0, 10));
  }
  return out;
};

/** State Council General Office notice of 2025-11-04 (2026 table). */
export const CN_HOLIDAYS: Readonly<Record<number, HolidayYear>> = {
  2026: {
    holidays: [
      ...range('2026-01-01', '2026-01-03'), // New Year
      ...range('2026-02-15', '2026-02-23'), // Spring Festival
      ...range('2026-04-04', '2026-04-06'), // Qingming
      ...range('2026-05-01', '2026-05-05'), // Labour Day
      ...range('2026-06-19', '2026-06-21'), // Dragon Boat
      ...range('2026-09-25', '2026-09-27'), // Mid-Autumn
      ...range('2026-10-01', '2026-10-07'), // National Day
    ],
    workingWeekends: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
  },
};

const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** The Beijing calendar date (YYYY-MM-DD) of an instant. */
export function beijingDate(at: Date): string {
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** The instant a Beijing calendar date starts (00:00 UTC+8). */
export function beijingDayStart(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00Z`) - BEIJING_OFFSET_MS);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Whether a Beijing date (YYYY-MM-DD, or an instant taken in Beijing time) is a working day. */
export function isWorkingDay(date: string | Date, table: Readonly<Record<number, HolidayYear>> = CN_HOLIDAYS): boolean {
  const day = typeof date === 'string' ? date : beijingDate(date);
  const year = table[Number(day.slice(0, 4))];
  if (year?.workingWeekends.includes(day)) return true;
  if (year?.holidays.includes(day)) return false;
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return weekday >= 1 && weekday <= 5;
}

/** The first working day strictly after a Beijing date. */
export function nextWorkingDay(date: string, table?: Readonly<Record<number, HolidayYear>>): string {
  let d = addDays(date, 1);
  while (!isWorkingDay(d, table)) d = addDays(d, 1);
  return d;
}

/**
 * The Beijing date `count` working days after `date`, the start day not counted (domain.md §6.2 Art.38: "the first
 * day is not counted"). Adjusted working weekends count; holidays and ordinary weekends do not. `count` ≥ 0;
 * 0 returns the date itself.
 */
export function addWorkingDays(date: string, count: number, table?: Readonly<Record<number, HolidayYear>>): string {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`working-day count must be a whole number ≥ 0`);
  let d = date;
  for (let i = 0; i < count; i++) d = nextWorkingDay(d, table);
  return d;
}

/**
 * A Beijing date moved forward to the first working day on or after it: the rule for a period counted in calendar
 * days whose last day falls on a holiday or rest day (domain.md §6.2 Art.38; 民事诉讼法 第八十五条 期间届满的最后一日
 * 是法定休假日的，以法定休假日后的第一日为期间届满的日期). A working day is returned unchanged.
 */
export function onOrNextWorkingDay(date: string, table?: Readonly<Record<number, HolidayYear>>): string {
  return isWorkingDay(date, table) ? date : nextWorkingDay(date, table);
}
