import type { HolidayNotice } from './model.ts';
import { NOTICES } from './years/index.ts';

/**
 * The China working-day calendar: public holidays and adjusted working days (调休上班) from the State Council's notice
 * for each year (years/<year>.ts, model.ts). A date is a working day when a notice makes it one (a make-up weekend),
 * or when it is a Monday–Friday that no notice makes a holiday. Dates are Beijing calendar dates (UTC+8, no DST).
 *
 * A year without a notice is counted Monday–Friday: that is an assumption, never silent. `yearsWithoutCalendar`
 * names the years of a span that were assumed; the deadlines carry them (`calendarAssumed`), and an ops alarm fires
 * while the current year, or from 1 November the next year, is missing (coverage.ts).
 */
export interface WorkingCalendar {
  /** the years that have a notice */
  years: ReadonlySet<number>;
  /** days off */
  holidays: ReadonlySet<string>;
  /** weekend days that are worked */
  workdays: ReadonlySet<string>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();
const isDate = (s: string) => DATE.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;

/**
 * The calendar of a list of notices, checked: each notice once; every date real and in its year (or in the December
 * before: a New Year's holiday may begin there); each holiday's days off as many as the notice states; every make-up
 * day a Saturday or Sunday; no date both off and worked. Bad data fails here, at load, with what is wrong.
 */
export function compileCalendar(notices: readonly HolidayNotice[]): WorkingCalendar {
  const years = new Set<number>();
  const holidays = new Set<string>();
  const workdays = new Set<string>();
  const problems: string[] = [];
  for (const n of notices) {
    if (years.has(n.year)) problems.push(`${n.year}: more than one notice`);
    years.add(n.year);
    if (!isDate(n.source.date) || !n.source.title || !n.source.issuer || !n.source.published)
      problems.push(`${n.year}: the source needs issuer, title, published and a YYYY-MM-DD date`);
    const inYear = (d: string) => isDate(d) && (d.startsWith(`${n.year}-`) || d.startsWith(`${n.year - 1}-12-`));
    for (const h of n.holidays) {
      const where = `${n.year} ${h.name}`;
      const [first, last] = h.off;
      if (!inYear(first) || !inYear(last) || first > last) {
        problems.push(`${where}: days off ${first}…${last} are not dates of ${n.year} in order`);
        continue;
      }
      const off: string[] = [];
      for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += DAY_MS) {
        off.push(new Date(t).toISOString().slice(0, 10));
      }
      if (off.length !== h.days)
        problems.push(`${where}: ${first}…${last} is ${off.length} days, the notice says ${h.days}`);
      for (const d of off) holidays.add(d);
      for (const d of h.workdays) {
        if (!inYear(d)) problems.push(`${where}: make-up day ${d} is not a date of ${n.year}`);
        else if (weekday(d) !== 0 && weekday(d) !== 6) problems.push(`${where}: make-up day ${d} is not a weekend day`);
        workdays.add(d);
      }
    }
  }
  for (const d of workdays) if (holidays.has(d)) problems.push(`${d} is both a day off and a make-up day`);
  if (problems.length > 0) throw new Error(`working-day calendar (calendar/years): ${problems.join('; ')}`);
  return { years, holidays, workdays };
}

/** The calendar of every notice in years/. */
export const CN_CALENDAR: WorkingCalendar = compileCalendar(NOTICES);

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
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whether a Beijing date (YYYY-MM-DD, or an instant taken in Beijing time) is a working day. */
export function isWorkingDay(date: string | Date, calendar: WorkingCalendar = CN_CALENDAR): boolean {
  const day = typeof date === 'string' ? date : beijingDate(date);
  if (calendar.workdays.has(day)) return true;
  if (calendar.holidays.has(day)) return false;
  const w = weekday(day);
  return w >= 1 && w <= 5;
}

/** The first working day strictly after a Beijing date. */
export function nextWorkingDay(date: string, calendar?: WorkingCalendar): string {
  let d = addDays(date, 1);
  while (!isWorkingDay(d, calendar)) d = addDays(d, 1);
  return d;
}

/**
 * The Beijing date `count` working days after `date`, the start day not counted (docs/domain.md §6.2 Art.38: "the first
 * day is not counted"). Adjusted working weekends count; holidays and ordinary weekends do not. `count` ≥ 0;
 * 0 returns the date itself. The days it looked at are those after `date` up to the result.
 */
export function addWorkingDays(date: string, count: number, calendar?: WorkingCalendar): string {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`working-day count must be a whole number ≥ 0`);
  let d = date;
  for (let i = 0; i < count; i++) d = nextWorkingDay(d, calendar);
  return d;
}

/**
 * A Beijing date moved forward to the first working day on or after it: the rule for a period counted in calendar
 * days whose last day falls on a holiday or rest day (docs/domain.md §6.2 Art.38; 民事诉讼法 第八十五条 期间届满的最后一日
 * 是法定休假日的，以法定休假日后的第一日为期间届满的日期). A working day is returned unchanged. The days it looked at
 * are `date` up to the result.
 */
export function onOrNextWorkingDay(date: string, calendar?: WorkingCalendar): string {
  return isWorkingDay(date, calendar) ? date : nextWorkingDay(date, calendar);
}

/**
 * The years from `from` to `to` (Beijing dates, inclusive) that have no notice: a count over those days assumed
 * Monday–Friday there. Empty when every year is known or the span is empty.
 */
export function yearsWithoutCalendar(from: string, to: string, calendar: WorkingCalendar = CN_CALENDAR): number[] {
  const out: number[] = [];
  if (from > to) return out;
  for (let y = Number(from.slice(0, 4)); y <= Number(to.slice(0, 4)); y++) if (!calendar.years.has(y)) out.push(y);
  return out;
}

/** What officials read beside a deadline counted over years without a notice. */
export function calendarAssumedNoteZh(years: readonly number[]): string {
  return `${years.map((y) => `${y}年`).join('、')}节假日安排尚未录入，期限按周一至周五估算，待国务院节假日安排公布后核对`;
}
