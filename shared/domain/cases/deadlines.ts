import {
  addDays,
  addWorkingDays,
  beijingDate,
  beijingDayStart,
  onOrNextWorkingDay,
  type WorkingCalendar,
  yearsWithoutCalendar,
} from '#shared/domain/calendar/cn-holidays.ts';
import { ValidationError } from '#shared/domain/errors.ts';

/**
 * Statutory deadlines of the judicial transfer (两法衔接, docs/domain.md §6.1 国务院令第310号 and §6.2 环环监〔2017〕17号),
 * computed on the China calendar (calendar/cn-holidays.ts: each year's holidays and adjusted working days as data,
 * calendar/years/). A day count that reaches into a year without that data counts it Monday–Friday and says so:
 * `calendarAssumed` lists those years, and what officials see carries the note (calendarAssumedNoteZh).
 *
 * HOW PERIODS ARE COUNTED (docs/domain.md §6.2 Art.38 of the 2017 办法: "periods are calendar days unless stated as working
 * days; the first day is not counted; a period ending on a holiday rolls to the next working day"; the same rule as
 * 民事诉讼法 第八十五条 and 行政处罚法 第八十五条):
 *   - `calendar_days`: the day of the triggering event is not counted; the period ends at the end (24:00 Beijing) of
 *     the n-th calendar day after it. If that last day is not a working day (a statutory holiday, or a weekend that is
 *     not an adjusted working day) it ROLLS OVER to the next working day. Rollover is an option (`rollOverHolidays`)
 *     that defaults ON, because docs/domain.md §6.2 states it for these periods.
 *   - `working_days`: the n-th working day after the triggering day (holidays and rest days skipped, adjusted working
 *     weekends counted), ending at 24:00 Beijing. Only reconsideration is stated in working days (2017 Art.11,
 *     docs/domain.md §11); 国务院令第310号 Art.9 says "3 days" for it, the later and more specific 2017 办法 governs.
 *   - `hours`: an exact duration from the triggering instant (24 h hand-over to the police, 24 h notice of missing
 *     materials). Hour periods never roll over: the law counts them by the clock.
 *
 * Each deadline gives `dueAt` (the instant it lapses: 24:00 Beijing of the last day, or the exact hour), `warnAt`
 * (day periods: 00:00 Beijing of the last day, i.e. one day before `dueAt`; hour periods: a quarter of the period
 * before `dueAt`, so a 24-hour hand-over warns 6 h before) and `escalateAt` (= `dueAt`: the Step Functions timer
 * fires then).
 */

export type Counting = 'calendar_days' | 'working_days' | 'hours';

/** Who must act before the deadline lapses (platform roles; `case_team` is the ≥2 officers of the case). */
export type DeadlineActor = 'case_team' | 'bureau_head' | 'police_liaison' | 'procuratorate_liaison';

export interface DeadlineRule {
  labelZh: string;
  actor: DeadlineActor;
  counting: Counting;
  amount: number;
  /** what starts the period */
  from: string;
  basis: string;
}

export const TRANSFER_DEADLINES = {
  head_decision: {
    labelZh: '负责人审批是否移送',
    actor: 'bureau_head',
    counting: 'calendar_days',
    amount: 3,
    from: 'receipt of the transfer report',
    basis: '国务院令第310号 第五条；环环监〔2017〕17号 第五条',
  },
  handover_to_police: {
    labelZh: '批准后移送公安机关',
    actor: 'case_team',
    counting: 'hours',
    amount: 24,
    from: 'the head approving the transfer',
    basis: '国务院令第310号 第五条；环环监〔2017〕17号 第六条',
  },
  materials_notice: {
    labelZh: '公安机关书面通知补充材料',
    actor: 'police_liaison',
    counting: 'hours',
    amount: 24,
    from: 'receipt of the case by the police',
    basis: '环环监〔2017〕17号 第八条',
  },
  materials_completion: {
    labelZh: '补充移送材料',
    actor: 'case_team',
    counting: 'calendar_days',
    amount: 3,
    from: 'the police notice of missing materials',
    basis: '环环监〔2017〕17号 第八条',
  },
  filing_decision: {
    labelZh: '公安机关决定是否立案',
    actor: 'police_liaison',
    counting: 'calendar_days',
    amount: 3,
    from: 'receipt of the case by the police',
    basis: '国务院令第310号 第八条；环环监〔2017〕17号 第九条（需核查线索7日，重大复杂30日）',
  },
  reconsideration_request: {
    labelZh: '提请复议',
    actor: 'case_team',
    counting: 'working_days',
    amount: 3,
    from: 'receipt of the non-filing notice',
    basis: '环环监〔2017〕17号 第十一条（3个工作日）；国务院令第310号 第九条',
  },
  reconsideration_decision: {
    labelZh: '公安机关作出复议决定',
    actor: 'police_liaison',
    counting: 'working_days',
    amount: 3,
    from: 'receipt of the reconsideration request',
    basis: '环环监〔2017〕17号 第十一条（3个工作日）',
  },
  supervision_request: {
    labelZh: '建议检察机关立案监督',
    actor: 'case_team',
    counting: 'calendar_days',
    amount: 3,
    from: 'receipt of the reconsideration decision',
    basis: '国务院令第310号 第九条',
  },
  transfer_after_advice: {
    labelZh: '按检察机关建议移送',
    actor: 'case_team',
    counting: 'calendar_days',
    amount: 3,
    from: 'receipt of the procuratorate advising a transfer',
    basis: '环环监〔2017〕17号 第十二条至第十五条',
  },
  items_handover: {
    labelZh: '立案后移交涉案物品及材料',
    actor: 'case_team',
    counting: 'calendar_days',
    amount: 3,
    from: 'receipt of the filing notice',
    basis: '国务院令第310号 第十二条；环环监〔2017〕17号 第十条',
  },
} as const satisfies Record<string, DeadlineRule>;

export type DeadlineKind = keyof typeof TRANSFER_DEADLINES;
export const DEADLINE_KINDS = Object.keys(TRANSFER_DEADLINES) as DeadlineKind[];

/** Filing-decision extensions (2017 Art.9): the clue needs checking (7 days) or the case is major/complex (30 days). */
export type FilingExtension = 'none' | 'clue_check' | 'complex';
export const FILING_DAYS: Record<FilingExtension, number> = { none: 3, clue_check: 7, complex: 30 };

export interface DeadlineOptions {
  /** filing_decision only */
  extension?: FilingExtension;
  /** calendar-day periods ending on a non-working day move to the next working day; default true (docs/domain.md §6.2) */
  rollOverHolidays?: boolean;
  calendar?: WorkingCalendar;
}

export interface Deadline {
  kind: DeadlineKind;
  labelZh: string;
  actor: DeadlineActor;
  basis: string;
  counting: Counting;
  /** the period as applied (3, 7, 30 days; 24 hours) */
  amount: number;
  /** the triggering instant */
  startedAt: string;
  /** day periods: the Beijing date of the last day (after any rollover) */
  dueDate?: string;
  /** when a calendar-day period ended on a non-working day: the date it would have ended */
  rolledOverFrom?: string;
  /**
   * the years the day count looked at that have no holiday data: counted Monday–Friday, to be checked once the State
   * Council's notice is entered (absent when every year was known, and for hour periods)
   */
  calendarAssumed?: number[];
  /** the instant the period lapses */
  dueAt: string;
  warnAt: string;
  /** = dueAt: the escalation timer */
  escalateAt: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** No deadline warns earlier than this before it is due (warnInstant): how far ahead a warning sweep must look. */
export const MAX_WARNING_LEAD_MS = DAY;

/** The instant a Beijing date ends (24:00 UTC+8 = the next day's start). */
export const beijingDayEnd = (date: string): Date => beijingDayStart(addDays(date, 1));

/**
 * When to warn: one day before the deadline, or a quarter of the period before it when that is shorter (a 24 h
 * period warns 6 h before). A day period always lasts more than a day (the start day is not counted), so it warns
 * at 00:00 Beijing of its last day.
 */
export function warnInstant(startedAt: Date, dueAt: Date, counting: Counting = 'hours'): Date {
  const period = dueAt.getTime() - startedAt.getTime();
  const lead = counting === 'hours' ? Math.min(MAX_WARNING_LEAD_MS, Math.floor(period / 4)) : MAX_WARNING_LEAD_MS;
  return new Date(dueAt.getTime() - lead);
}

function toDate(at: Date | string, field: string): Date {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) {
    throw new ValidationError(`${field} is not a valid instant`, [
      {
        field,
        message: 'must be an ISO 8601 instant',
        messageZh: '时间格式无效，应为 ISO 8601（如 2026-05-01T08:30:00+08:00）',
      },
    ]);
  }
  return d;
}

/** A period as the rules above count it: `amount` calendar days, working days or hours. */
export interface Period {
  counting: Counting;
  amount: number;
}

/** Where a period started at `startedAt` ends (the counting rules above), and when it warns. */
export interface PeriodEnd {
  /** day periods: the Beijing date of the last day (after any rollover) */
  dueDate?: string;
  /** when a calendar-day period ended on a non-working day: the date it would have ended */
  rolledOverFrom?: string;
  /** years the day count looked at that have no holiday data (absent when none, and for hour periods) */
  calendarAssumed?: number[];
  dueAt: string;
  warnAt: string;
}

/**
 * The end of any period counted as the statutory ones are: the transfer's deadlines (computeDeadline) and the
 * bureau's service levels where no statute sets one (timers.ts).
 */
export function periodEnd(
  period: Period,
  startedAt: Date | string,
  options: Pick<DeadlineOptions, 'rollOverHolidays' | 'calendar'> = {},
): PeriodEnd {
  const start = toDate(startedAt, 'startedAt');
  const { counting, amount } = period;
  const calendar = options.calendar;
  const end = (fields: Omit<PeriodEnd, 'dueAt' | 'warnAt'>, due: Date): PeriodEnd => ({
    ...fields,
    dueAt: due.toISOString(),
    warnAt: warnInstant(start, due, counting).toISOString(),
  });
  if (counting === 'hours') return end({}, new Date(start.getTime() + amount * HOUR));
  const startDay = beijingDate(start);
  // the days the count looked up in the calendar: after the start day (working days), or from the plain last day on
  // (rollover); a calendar-day period without rollover looks nothing up
  const assumed = (from: string, to: string) => {
    const years = yearsWithoutCalendar(from, to, calendar);
    return years.length > 0 ? { calendarAssumed: years } : {};
  };
  if (counting === 'working_days') {
    const dueDate = addWorkingDays(startDay, amount, calendar);
    return end({ dueDate, ...assumed(addDays(startDay, 1), dueDate) }, beijingDayEnd(dueDate));
  }
  const plain = addDays(startDay, amount);
  if (options.rollOverHolidays === false) return end({ dueDate: plain }, beijingDayEnd(plain));
  const dueDate = onOrNextWorkingDay(plain, calendar);
  return end(
    { dueDate, ...(dueDate !== plain ? { rolledOverFrom: plain } : {}), ...assumed(plain, dueDate) },
    beijingDayEnd(dueDate),
  );
}

/** THE DEADLINE of one transfer step, started by the event at `startedAt`. */
export function computeDeadline(kind: DeadlineKind, startedAt: Date | string, options: DeadlineOptions = {}): Deadline {
  const rule: DeadlineRule = TRANSFER_DEADLINES[kind];
  const start = toDate(startedAt, 'startedAt');
  const amount = kind === 'filing_decision' ? FILING_DAYS[options.extension ?? 'none'] : rule.amount;
  const end = periodEnd({ counting: rule.counting, amount }, start, options);
  return {
    kind,
    labelZh: rule.labelZh,
    actor: rule.actor,
    basis: rule.basis,
    counting: rule.counting,
    amount,
    startedAt: start.toISOString(),
    ...end,
    escalateAt: end.dueAt,
  };
}

export type DeadlineState = 'pending' | 'warning' | 'overdue';

/** Where a deadline stands at `now`: pending, in its warning window, or lapsed (escalated). */
export function deadlineState(deadline: Pick<Deadline, 'warnAt' | 'dueAt'>, now: Date): DeadlineState {
  const t = now.getTime();
  if (t >= Date.parse(deadline.dueAt)) return 'overdue';
  if (t >= Date.parse(deadline.warnAt)) return 'warning';
  return 'pending';
}
