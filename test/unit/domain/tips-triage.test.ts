import { describe, expect, it } from 'vitest';
import { isWorkingDay, nextWorkingDay } from '#shared/domain/calendar/cn-holidays.ts';
import type { Tip } from '#shared/domain/tips/model.ts';
import {
  computeLinks,
  duplicateLinks,
  firstPlaceBar,
  firstValidReporter,
  haversineMeters,
  mergeTips,
  nearestUnit,
  overdueCutoffs,
  overdueFlags,
  reportedAtOf,
  spamWave,
  type TriageSources,
  textSimilarity,
  triageDeadline,
  type UnitCandidate,
  unitLink,
} from '#shared/domain/tips/triage.ts';

/** Registry units as in the Qingyuan seed (shared/domain/registry/qingyuan-seed.ts), Songyuan subdistrict. */
const BOILER: UnitCandidate = {
  id: '91331126MA2HQBC04Y',
  name: '庆元县示例集中供热站',
  location: { lat: 27.615, lng: 119.058 },
};
const WWTP: UnitCandidate = {
  id: '91331126MA2HQBC03Y',
  name: '庆元县示例城镇污水处理有限公司',
  location: { lat: 27.622, lng: 119.083 },
};

const tip = (over: Partial<Tip> = {}): Tip => ({
  id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C3',
  channel: 'web',
  category: 'illegal_discharge',
  description: '夜里暗管排放白色废水',
  location: { townshipId: 'songyuan', address: '松源街道工业园区东侧' },
  observedAt: '2026-03-10T22:10:00+08:00',
  reporterKind: 'anonymous',
  insider: false,
  commendationConsent: false,
  evidence: [],
  status: 'received',
  receivedAt: '2026-03-10T14:30:00.000Z',
  updatedAt: '2026-03-10T14:30:00.000Z',
  ...over,
});

describe('working days (cn-holidays)', () => {
  it('counts Mon–Fri, skips 2026 holidays and counts adjusted working weekends', () => {
    expect(isWorkingDay('2026-03-10')).toBe(true); // Tuesday
    expect(isWorkingDay('2026-03-14')).toBe(false); // Saturday
    expect(isWorkingDay('2026-10-05')).toBe(false); // National Day, Monday
    expect(isWorkingDay('2026-10-10')).toBe(true); // adjusted working Saturday
    expect(isWorkingDay('2026-02-14')).toBe(true); // Spring Festival make-up Saturday
    expect(isWorkingDay('2026-02-23')).toBe(false); // Spring Festival Monday
    expect(isWorkingDay('2027-01-04')).toBe(true); // no table for 2027: plain Monday
  });

  it('takes an instant in Beijing time', () => {
    // Friday 2026-03-13 17:00 UTC is Saturday 01:00 in Beijing
    expect(isWorkingDay(new Date('2026-03-13T17:00:00Z'))).toBe(false);
    expect(isWorkingDay(new Date('2026-03-13T15:59:59Z'))).toBe(true);
  });

  it('finds the next working day across a holiday', () => {
    expect(nextWorkingDay('2026-09-30')).toBe('2026-10-08');
    expect(nextWorkingDay('2026-05-08')).toBe('2026-05-09');
  });
});

describe('nearest unit and unit link', () => {
  it('measures distances on the sphere', () => {
    expect(Math.round(haversineMeters(BOILER.location, WWTP.location))).toBeGreaterThan(2500);
    expect(Math.round(haversineMeters(BOILER.location, BOILER.location))).toBe(0);
  });

  it('links the nearest registered enterprise within 2 km with its distance', () => {
    const point = { lat: 27.6185, lng: 119.0625 };
    const link = unitLink(tip({ location: { townshipId: 'songyuan', address: '园区', point } }), undefined, [
      WWTP,
      BOILER,
    ]);
    expect(link).toMatchObject({ enterpriseId: BOILER.id, basis: 'nearest' });
    expect(link?.reason).toMatch(/^nearest, \d+ m$/);
    expect(link?.distanceM).toBeGreaterThan(400);
    expect(link?.distanceM).toBeLessThan(700);
  });

  it('links nothing when no enterprise is within 2 km, and the named unit when one is named', () => {
    expect(nearestUnit({ lat: 27.7, lng: 119.2 }, [BOILER, WWTP])).toBeUndefined();
    const named = tip({ suspectedUnit: { kind: 'registered', enterpriseId: WWTP.id } });
    expect(unitLink(named, WWTP, [BOILER])).toEqual({
      enterpriseId: WWTP.id,
      name: WWTP.name,
      basis: 'named',
      reason: 'named',
    });
    expect(unitLink(named, undefined, [])?.reason).toBe('named, not in the registry');
    expect(unitLink(tip(), undefined, [BOILER])).toBeUndefined(); // no point, no named unit
  });
});

describe('duplicate links', () => {
  const earlier = tip({
    id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C0',
    observedAt: '2026-03-09T21:00:00+08:00',
    receivedAt: '2026-03-09T13:05:00.000Z',
    links: {
      computedAt: '2026-03-09T13:05:00.000Z',
      unit: { enterpriseId: BOILER.id, basis: 'nearest', distanceM: 300, reason: 'nearest, 300 m' },
      alarms: [],
      duplicates: [],
    },
  });

  it('lists the same category in the same township a day apart, with both reasons when the unit matches too', () => {
    const links = duplicateLinks(tip(), [earlier, tip()], [earlier], BOILER.id);
    expect(links).toEqual([
      {
        tipId: earlier.id,
        category: 'illegal_discharge',
        observedAt: earlier.observedAt,
        receivedAt: earlier.receivedAt,
        reasons: [
          'same category (偷排漏排) in songyuan, observed 1 day apart',
          `same unit ${BOILER.id}, received 1 day apart`,
        ],
      },
    ]);
  });

  it('leaves out itself, merged tips, other categories and tips observed more than 3 days apart', () => {
    const far = { ...earlier, id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C4', observedAt: '2026-03-06T09:00:00+08:00' };
    const noise = { ...earlier, id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C5', category: 'noise' as const };
    const merged = { ...earlier, id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C6', mergedInto: earlier.id };
    expect(duplicateLinks(tip(), [tip(), far, noise, merged], [])).toEqual([]);
  });

  it('lists a tip at the same unit within 7 days and not beyond', () => {
    const week = { ...earlier, category: 'air' as const, receivedAt: '2026-03-04T14:00:00.000Z' };
    const old = { ...week, id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C7', receivedAt: '2026-03-02T14:00:00.000Z' };
    const links = duplicateLinks(tip(), [], [week, old], BOILER.id);
    expect(links.map((l) => [l.tipId, l.reasons])).toEqual([
      [week.id, [`same unit ${BOILER.id}, received 6 days apart`]],
    ]);
  });

  it('computes all links from the sources: unit, open alarms there, duplicates', async () => {
    const calls: string[] = [];
    const sources: TriageSources = {
      enterprise: async () => undefined,
      enterprisesInTownship: async (t) => {
        calls.push(`township ${t}`);
        return [BOILER, WWTP];
      },
      openAlarms: async (id) => {
        calls.push(`alarms ${id}`);
        return [{ alarmId: 'A1', raisedAt: '2026-03-10T01:00:00Z' }];
      },
      tipsByPlace: async (c, t, from, to) => {
        calls.push(`place ${c} ${t} ${from}..${to}`);
        return [earlier];
      },
      tipsByUnit: async (id, since) => {
        calls.push(`unit ${id} ${since}`);
        return [];
      },
    };
    const fresh = tip({
      location: { townshipId: 'songyuan', address: '园区', point: { lat: 27.6155, lng: 119.0585 } },
    });
    const links = await computeLinks(fresh, sources, new Date('2026-03-10T14:30:00Z'));
    expect(links.unit).toMatchObject({ enterpriseId: BOILER.id, basis: 'nearest' });
    expect(links.alarms).toEqual([{ alarmId: 'A1', raisedAt: '2026-03-10T01:00:00Z' }]);
    expect(links.duplicates.map((d) => d.tipId)).toEqual([earlier.id]);
    expect(calls).toContain('place illegal_discharge songyuan 2026-03-07..2026-03-13');
    expect(calls).toContain(`unit ${BOILER.id} 2026-03-03T14:30:00.000Z`);
  });
});

describe('merge', () => {
  const a = tip({ id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CA', receivedAt: '2026-03-09T10:00:00.000Z' });
  const b = tip({ id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CB', receivedAt: '2026-03-10T10:00:00.000Z' });
  const at = '2026-03-11T02:00:00.000Z';

  // Changed with the first-reporter fix: mergeTips used to store a first-reporter snapshot on the primary, which went
  // stale as soon as a report of the group was found untrue. It now only links the two tips; the rule is computed on
  // read (firstValidReporter below).
  it('links the duplicate to the primary and stores no first-reporter snapshot, dropping a stale one', () => {
    const stale = { ...b, firstReporterTipId: 'OLD', firstReportedAt: '2026-01-01T00:00:00.000Z' };
    const out = mergeTips(stale, a, at);
    expect(out.primary).toMatchObject({ id: b.id, mergedTips: [a.id], updatedAt: at });
    expect(out.duplicate).toMatchObject({ id: a.id, mergedInto: b.id, updatedAt: at });
    expect(out.primary).not.toHaveProperty('firstReporterTipId');
    expect(out.primary).not.toHaveProperty('firstReportedAt');
  });
});

describe('firstValidReporter (docs/domain.md §5.1: the first valid reporter gets the reward)', () => {
  const a = tip({ id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CA', receivedAt: '2026-03-09T10:00:00.000Z' });
  const b = tip({ id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CB', receivedAt: '2026-03-10T10:00:00.000Z' });
  const c = tip({ id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CC', receivedAt: '2026-03-11T10:00:00.000Z' });

  it('picks the earliest report whatever the order of the group', () => {
    for (const group of [
      [a, b, c],
      [c, b, a],
      [b, a, c],
    ]) {
      expect(firstValidReporter(group)).toEqual({ tipId: a.id, reportedAt: a.receivedAt });
    }
  });

  it('passes first place to the next valid report when the first is found unsubstantiated, even once closed', () => {
    expect(firstValidReporter([{ ...a, status: 'unsubstantiated' }, b, c])?.tipId).toBe(b.id);
    // closing an untrue report keeps its finding: it does not become valid again
    expect(firstValidReporter([{ ...a, status: 'closed', finding: 'unsubstantiated' }, b, c])?.tipId).toBe(b.id);
    // back to verifying on new information: the finding stands until a new one replaces it
    expect(firstValidReporter([{ ...a, status: 'verifying', finding: 'unsubstantiated' }, b])?.tipId).toBe(b.id);
  });

  it('keeps first place for a report that is open, substantiated or closed after being substantiated', () => {
    for (const status of ['received', 'triaging', 'verifying', 'substantiated', 'case_opened'] as const) {
      expect(firstValidReporter([{ ...a, status }, b])?.tipId).toBe(a.id);
    }
    expect(firstValidReporter([{ ...a, status: 'closed', finding: 'substantiated' }, b])?.tipId).toBe(a.id);
    // re-verified after an unsubstantiated finding and substantiated: first place comes back
    expect(firstValidReporter([{ ...a, status: 'substantiated', finding: 'substantiated' }, b])?.tipId).toBe(a.id);
  });

  it('counts a staff-entered letter from the day the bureau received it, not the day it was entered', () => {
    const letter = tip({
      id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CD',
      channel: 'letter',
      enteredBy: 'u-duty',
      reportedAt: '2026-03-08T01:00:00.000Z',
      receivedAt: '2026-03-12T02:00:00.000Z',
    });
    expect(reportedAtOf(letter)).toBe('2026-03-08T01:00:00.000Z');
    expect(reportedAtOf(a)).toBe(a.receivedAt);
    expect(firstValidReporter([a, b, letter])).toEqual({ tipId: letter.id, reportedAt: '2026-03-08T01:00:00.000Z' });
    // entered days later and received after the first web tip: no standing over it
    const lateLetter = { ...letter, reportedAt: '2026-03-09T12:00:00.000Z' };
    expect(firstValidReporter([a, lateLetter])?.tipId).toBe(a.id);
  });

  it("gives a patrol finding no standing: it is the bureau's own discovery", () => {
    const patrol = tip({ id: '01JNZ3Q8X7K2M4V6W8Y0A1B2CE', channel: 'patrol', receivedAt: '2026-03-01T00:00:00.000Z' });
    expect(firstPlaceBar(patrol)).toBe('staff_finding');
    expect(firstPlaceBar(a)).toBeUndefined();
    expect(firstValidReporter([patrol, b, a])?.tipId).toBe(a.id);
  });

  it('breaks a tie by the smaller tip id and answers nothing when no report is valid', () => {
    const twin = { ...b, receivedAt: a.receivedAt };
    expect(firstValidReporter([twin, a])?.tipId).toBe(a.id);
    expect(firstValidReporter([{ ...a, status: 'unsubstantiated' }])).toBeUndefined();
    expect(firstValidReporter([])).toBeUndefined();
  });
});

describe('overdue flags', () => {
  // received Friday 2026-09-18 evening Beijing: next working day is Sunday 09-20 (adjusted), deadline its end
  const friday = tip({ receivedAt: '2026-09-18T11:00:00.000Z' });

  it('flags triage after the end of the next working day (Beijing), counting adjusted working days', () => {
    expect(triageDeadline(friday.receivedAt).toISOString()).toBe('2026-09-20T16:00:00.000Z');
    expect(overdueFlags(friday, new Date('2026-09-20T15:59:00Z')).triage).toBe(false);
    expect(overdueFlags(friday, new Date('2026-09-20T16:00:00Z')).triage).toBe(true);
    expect(overdueFlags({ ...friday, status: 'triaging' }, new Date('2026-09-25T00:00:00Z')).triage).toBe(false);
  });

  it('flags conclusion after 60 days while still open, and never a merged tip', () => {
    const late = new Date('2026-11-18T12:00:00Z');
    expect(overdueFlags({ ...friday, status: 'verifying' }, late)).toEqual({ triage: false, conclusion: true });
    expect(overdueFlags({ ...friday, status: 'substantiated' }, late).conclusion).toBe(false);
    expect(overdueFlags({ ...friday, mergedInto: 'X' }, late)).toEqual({ triage: false, conclusion: false });
  });

  it('gives index cutoffs consistent with the flags', () => {
    // Thursday 2026-10-08 10:00 Beijing: tips from 09-30 (next working day 10-08, deadline its end) are not yet overdue
    const now = new Date('2026-10-08T02:00:00Z');
    const cut = overdueCutoffs(now);
    expect(cut.triage).toBe('2026-09-29T16:00:00.000Z'); // days up to 09-29 (deadline end of 09-30) are overdue
    const justBefore = tip({ receivedAt: '2026-09-29T15:59:59.000Z' });
    const justAfter = tip({ receivedAt: '2026-09-29T16:00:00.000Z' });
    expect(overdueFlags(justBefore, now).triage).toBe(true);
    expect(overdueFlags(justAfter, now).triage).toBe(false);
    expect(cut.conclusion).toBe('2026-08-09T02:00:00.000Z');
  });
});

describe('spam waves', () => {
  const base = (id: string, description: string, minutesAgo: number, over: Partial<Tip> = {}): Tip =>
    ({
      id,
      channel: 'web',
      category: 'water',
      description,
      location: { townshipId: 'zuoxi', address: '左溪镇' },
      observedAt: '2026-11-29T08:00:00+08:00',
      reporterKind: 'anonymous',
      insider: false,
      commendationConsent: false,
      evidence: [],
      status: 'received',
      receivedAt: new Date(Date.parse('2026-11-29T02:00:00Z') - minutesAgo * 60_000).toISOString(),
      updatedAt: '2026-11-29T02:00:00Z',
      ...over,
    }) as Tip;
  const text = '左溪镇某厂半夜偷排黄色废水，河水发臭！';

  it('scores copies that differ only in punctuation and spacing as alike, other reports as different', () => {
    expect(textSimilarity(text, '左溪镇某厂半夜偷排黄色废水 河水发臭')).toBe(1);
    expect(textSimilarity(text, '左溪上游养猪场粪水直排入河，已持续一周')).toBeLessThan(0.3);
  });

  it('holds a tip when two near-identical ones came within the hour before it', () => {
    const tip = base('T3', text, 0);
    const wave = spamWave(tip, [base('T1', text, 30), base('T2', `${text}!`, 10)]);
    expect(wave?.similarTipIds).toEqual(['T1', 'T2']);
    expect(wave?.reason).toMatch(/2 near-identical tips/);
  });

  it('does not hold a tip for one copy, for copies older than an hour, or for another township', () => {
    const tip = base('T3', text, 0);
    expect(spamWave(tip, [base('T1', text, 30)])).toBeUndefined();
    expect(spamWave(tip, [base('T1', text, 90), base('T2', text, 70)])).toBeUndefined();
    const elsewhere = { location: { townshipId: 'hedi', address: '荷地镇' } } as Partial<Tip>;
    expect(spamWave(tip, [base('T1', text, 30, elsewhere), base('T2', text, 10, elsewhere)])).toBeUndefined();
  });
});
