import { beijingDate, CN_CALENDAR, calendarAssumedNoteZh, type WorkingCalendar } from './cn-holidays.ts';

/**
 * The ops alarm for a working-day calendar that runs out (docs/operations.md「工作日日历」): a daily scheduled check
 * (functions/alarm-jobs, job `calendar`) tells the ops topic, once per Beijing day, when
 *   - the current year has no notice (every working-day deadline of the year is being assumed Monday–Friday), or
 *   - it is 1 November or later and next year has no notice (the State Council publishes next year's arrangement in
 *     autumn; from then on deadlines that reach into January are being assumed).
 */

/** Month and day (Beijing) from which next year's notice is expected. */
export const NEXT_YEAR_DUE_FROM = '11-01';

export interface CalendarGap {
  year: number;
  which: 'current' | 'next';
}

/** The pure decision: which years the calendar should have on the Beijing day of `now` and does not. */
export function calendarGaps(now: Date, calendar: Pick<WorkingCalendar, 'years'> = CN_CALENDAR): CalendarGap[] {
  const today = beijingDate(now);
  const year = Number(today.slice(0, 4));
  const gaps: CalendarGap[] = [];
  if (!calendar.years.has(year)) gaps.push({ year, which: 'current' });
  if (today.slice(5) >= NEXT_YEAR_DUE_FROM && !calendar.years.has(year + 1))
    gaps.push({ year: year + 1, which: 'next' });
  return gaps;
}

export interface OpsMessage {
  /** ASCII (e-mail subscribers see it) */
  subject: string;
  textZh: string;
  attributes: Record<string, string>;
}

/** The ops message for the gaps found on `day` (a Beijing date). */
export function calendarGapMessage(gaps: readonly CalendarGap[], day: string): OpsMessage {
  const years = gaps.map((g) => g.year);
  const why = gaps
    .map((g) =>
      g.which === 'current'
        ? `今年（${g.year}年）的节假日安排缺失，今年所有按工作日计算的期限都在按周一至周五估算`
        : `明年（${g.year}年）的节假日安排尚未录入（国务院办公厅通常在11月公布），跨入${g.year}年的期限正在按周一至周五估算`,
    )
    .join('；');
  return {
    subject: `EnvWatch working-day calendar missing ${years.join(', ')}`,
    textZh:
      `【工作日日历缺失】${why}。请在国务院办公厅发布通知后，按 docs/operations.md「工作日日历」录入` +
      `shared/domain/calendar/years/ 并部署。在此之前，待办、期限和案件时间线会注明：${calendarAssumedNoteZh(years)}。`,
    attributes: {
      kind: 'calendar_missing',
      years: years.join(','),
      day,
      dedupeId: `calendar#${day}`,
    },
  };
}

export interface CalendarCheckDeps {
  calendar?: Pick<WorkingCalendar, 'years'>;
  /** once per key: false when this key was claimed already (an earlier run the same day, a retried event) */
  claim(key: string, at: Date): Promise<boolean>;
  release(key: string): Promise<void>;
  notifyOps(message: OpsMessage): Promise<void>;
  now(): Date;
}

/**
 * The check, once per Beijing day: (1) the gaps on today's date; none → done; (2) claim the day; already claimed →
 * done; (3) publish to the ops topic; a publish that fails gives the claim back and throws, so the schedule's retry
 * sends it.
 */
export async function checkCalendar(
  deps: CalendarCheckDeps,
): Promise<{ day: string; missing: number[]; notified: boolean }> {
  const now = deps.now();
  const day = beijingDate(now);
  const gaps = calendarGaps(now, deps.calendar);
  const missing = gaps.map((g) => g.year);
  if (gaps.length === 0) return { day, missing, notified: false };
  const key = `calendar#${day}`;
  if (!(await deps.claim(key, now))) return { day, missing, notified: false };
  try {
    await deps.notifyOps(calendarGapMessage(gaps, day));
  } catch (err) {
    await deps.release(key);
    throw err;
  }
  return { day, missing, notified: true };
}
