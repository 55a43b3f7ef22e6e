import { describe, expect, it } from 'vitest';
import { addWorkingDays, onOrNextWorkingDay } from '#shared/domain/calendar/cn-holidays.ts';
import {
  computeDeadline,
  DEADLINE_KINDS,
  deadlineState,
  TRANSFER_DEADLINES,
  warnInstant,
} from '#shared/domain/cases/deadlines.ts';
import { ValidationError } from '#shared/domain/errors.ts';

/**
 * Judicial-transfer deadlines across the 2026 holidays (docs/domain.md §6.4): Spring Festival Feb 15–23 with make-up
 * Saturdays Feb 14 and Feb 28; National Day Oct 1–7 with make-up Sunday Sep 20 and Saturday Oct 10; New Year Jan 1–3
 * with make-up Sunday Jan 4. Times are written in Beijing time (+08:00).
 */
/** the instant 24:00 Beijing of a date (16:00 UTC the same date), as ISO */
const midnightAfter = (date: string) => new Date(`${date}T16:00:00Z`).toISOString();

describe('calendar helpers', () => {
  it('counts working days after a date, with make-up weekends and holidays', () => {
    expect(addWorkingDays('2026-02-13', 1)).toBe('2026-02-14'); // make-up Saturday
    expect(addWorkingDays('2026-02-13', 2)).toBe('2026-02-24'); // over the Spring Festival
    expect(addWorkingDays('2026-03-10', 0)).toBe('2026-03-10');
    expect(() => addWorkingDays('2026-03-10', -1)).toThrow(RangeError);
  });

  it('moves a non-working day to the next working day and leaves a working day alone', () => {
    expect(onOrNextWorkingDay('2026-10-03')).toBe('2026-10-08');
    expect(onOrNextWorkingDay('2026-10-10')).toBe('2026-10-10'); // make-up Saturday
    expect(onOrNextWorkingDay('2026-03-12')).toBe('2026-03-12');
  });
});

describe('calendar-day deadlines (first day not counted, rollover on holidays)', () => {
  it('ends at 24:00 Beijing of the third day when that is a working day', () => {
    const d = computeDeadline('head_decision', '2026-03-09T10:00:00+08:00'); // Monday
    expect(d.dueDate).toBe('2026-03-12');
    expect(d.dueAt).toBe('2026-03-12T16:00:00.000Z');
    expect(d.escalateAt).toBe(d.dueAt);
    expect(d.rolledOverFrom).toBeUndefined();
    expect(d.actor).toBe('bureau_head');
  });

  it('rolls a period ending in the Spring Festival to the first working day after it', () => {
    // report received Friday Feb 13; +3 = Monday Feb 16, a holiday; holidays run to Monday Feb 23
    const d = computeDeadline('head_decision', '2026-02-13T10:00:00+08:00');
    expect(d.rolledOverFrom).toBe('2026-02-16');
    expect(d.dueDate).toBe('2026-02-24');
    expect(d.dueAt).toBe(midnightAfter('2026-02-24'));
  });

  it('does not roll when rollover is switched off', () => {
    const d = computeDeadline('head_decision', '2026-02-13T10:00:00+08:00', { rollOverHolidays: false });
    expect(d.dueDate).toBe('2026-02-16');
    expect(d.rolledOverFrom).toBeUndefined();
  });

  it('does not roll when the last day is an adjusted working Saturday', () => {
    const d = computeDeadline('materials_completion', '2026-02-11T15:00:00+08:00'); // Wed → Sat Feb 14, worked
    expect(d.dueDate).toBe('2026-02-14');
    expect(d.rolledOverFrom).toBeUndefined();
  });

  it('rolls an ordinary weekend to Monday', () => {
    const d = computeDeadline('items_handover', '2026-03-11T09:00:00+08:00'); // Wed → Sat Mar 14
    expect(d.dueDate).toBe('2026-03-16');
    expect(d.rolledOverFrom).toBe('2026-03-14');
  });

  it('rolls across New Year onto the make-up Sunday Jan 4', () => {
    const d = computeDeadline('items_handover', '2025-12-31T16:00:00+08:00'); // +3 = Sat Jan 3, a holiday
    expect(d.dueDate).toBe('2026-01-04');
  });

  it('takes the Beijing date of the start: 00:30 Beijing is the next UTC day', () => {
    const d = computeDeadline('head_decision', '2026-03-08T16:30:00Z'); // Monday Mar 9 00:30 Beijing
    expect(d.dueDate).toBe('2026-03-12');
  });

  it('gives the police 3, 7 or 30 days to decide on filing', () => {
    const received = '2026-01-30T11:00:00+08:00'; // Friday
    expect(computeDeadline('filing_decision', received).dueDate).toBe('2026-02-02'); // Mon
    const check = computeDeadline('filing_decision', received, { extension: 'clue_check' });
    expect([check.amount, check.dueDate]).toEqual([7, '2026-02-06']);
    const complex = computeDeadline('filing_decision', received, { extension: 'complex' });
    expect([complex.amount, complex.dueDate, complex.rolledOverFrom]).toEqual([30, '2026-03-02', '2026-03-01']);
  });

  it('rolls a filing decision due in National Day week to Oct 8', () => {
    const d = computeDeadline('filing_decision', '2026-09-28T14:00:00+08:00'); // +3 = Oct 1
    expect(d.dueDate).toBe('2026-10-08');
  });
});

describe('working-day deadlines (reconsideration)', () => {
  it('counts the make-up Saturday before the Spring Festival and skips the holidays', () => {
    const d = computeDeadline('reconsideration_request', '2026-02-13T17:00:00+08:00'); // Fri
    expect(d.counting).toBe('working_days');
    expect(d.dueDate).toBe('2026-02-25'); // Feb 14 (Sat, worked), Feb 24, Feb 25
    expect(d.dueAt).toBe('2026-02-25T16:00:00.000Z');
  });

  it('ends on the make-up Saturday Oct 10 after National Day', () => {
    const d = computeDeadline('reconsideration_decision', '2026-09-30T10:00:00+08:00');
    expect(d.dueDate).toBe('2026-10-10'); // Oct 8, Oct 9, Oct 10
  });

  it('counts the make-up Sunday Sep 20', () => {
    expect(computeDeadline('reconsideration_request', '2026-09-18T10:00:00+08:00').dueDate).toBe('2026-09-22');
  });

  it('differs from calendar days in an ordinary week only across the weekend', () => {
    // Thursday Mar 12: 3 working days = Tue Mar 17; 3 calendar days (supervision request) = Sun Mar 15 → Mon Mar 16
    expect(computeDeadline('reconsideration_request', '2026-03-12T10:00:00+08:00').dueDate).toBe('2026-03-17');
    expect(computeDeadline('supervision_request', '2026-03-12T10:00:00+08:00').dueDate).toBe('2026-03-16');
  });
});

describe('hour deadlines', () => {
  it('hands over to the police exactly 24 h after approval, even into National Day', () => {
    const d = computeDeadline('handover_to_police', '2026-09-30T17:30:00+08:00');
    expect(d.dueAt).toBe('2026-10-01T09:30:00.000Z');
    expect(d.dueDate).toBeUndefined();
    expect(d.warnAt).toBe('2026-10-01T03:30:00.000Z'); // a quarter of 24 h = 6 h before
  });
});

describe('warnings and state', () => {
  it('warns one day before a multi-day deadline', () => {
    const d = computeDeadline('head_decision', '2026-03-09T10:00:00+08:00');
    expect(d.warnAt).toBe('2026-03-11T16:00:00.000Z');
  });

  it('warns a quarter of the period before when that is under a day', () => {
    const start = new Date('2026-03-09T00:00:00Z');
    expect(warnInstant(start, new Date('2026-03-09T08:00:00Z')).toISOString()).toBe('2026-03-09T06:00:00.000Z');
  });

  it('is pending, then warning, then overdue', () => {
    const d = computeDeadline('head_decision', '2026-03-09T10:00:00+08:00');
    expect(deadlineState(d, new Date('2026-03-10T00:00:00Z'))).toBe('pending');
    expect(deadlineState(d, new Date('2026-03-11T16:00:00Z'))).toBe('warning');
    expect(deadlineState(d, new Date('2026-03-12T15:59:59Z'))).toBe('warning');
    expect(deadlineState(d, new Date('2026-03-12T16:00:00Z'))).toBe('overdue');
  });

  it('refuses an invalid start', () => {
    expect(() => computeDeadline('head_decision', 'yesterday')).toThrow(ValidationError);
  });

  it('gives every rule a legal basis, an actor and a positive period', () => {
    for (const kind of DEADLINE_KINDS) {
      const rule = TRANSFER_DEADLINES[kind];
      expect(rule.basis).toMatch(/第.+条/);
      expect(rule.amount).toBeGreaterThan(0);
      const d = computeDeadline(kind, '2026-06-01T09:00:00+08:00');
      expect(Date.parse(d.warnAt)).toBeLessThan(Date.parse(d.dueAt));
    }
  });
});
