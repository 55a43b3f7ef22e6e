import { addDays, beijingDate, beijingDayStart, nextWorkingDay } from '#shared/domain/calendar/cn-holidays.ts';
import type { Location } from '#shared/domain/registry/model.ts';
import {
  type AlarmLink,
  type DuplicateLink,
  rewardClaimable,
  type SpamWave,
  TIP_CATEGORY_LABELS,
  type Tip,
  type TipLinks,
  type TipStatus,
  type UnitLink,
} from './model.ts';

/**
 * Triage, pure: which registry unit a tip names or is nearest to, likely duplicates with their reasons, the merge
 * rule for the first reporter, and overdue flags. The data comes from index queries behind TriageSources
 * (shared/adapters/triage-sources.ts); nothing here scans.
 */
export const NEAREST_UNIT_MAX_M = 2000;
export const DUPLICATE_PLACE_DAYS = 3;
export const DUPLICATE_UNIT_DAYS = 7;
export const CONCLUSION_DAYS = 60;

export interface UnitCandidate {
  id: string;
  name: string;
  location: Location;
  /** the township the registry files it under (scope of a link an official confirms) */
  townshipId?: string;
}

/** What triage reads, each by an index query or a key lookup. */
export interface TriageSources {
  enterprise(id: string): Promise<UnitCandidate | undefined>;
  /** registered enterprises of one township */
  enterprisesInTownship(townshipId: string): Promise<UnitCandidate[]>;
  /** open alarms at a unit (USCC) */
  openAlarms(enterpriseId: string): Promise<AlarmLink[]>;
  /** tips of one category in one township observed between two days (inclusive, YYYY-MM-DD) */
  tipsByPlace(category: Tip['category'], townshipId: string, fromDay: string, toDay: string): Promise<Tip[]>;
  /** tips linked to one unit received at or after `since` (ISO) */
  tipsByUnit(enterpriseId: string, since: string): Promise<Tip[]>;
}

/** Great-circle distance in metres (WGS-84 points, spherical earth; ample at county scale). */
export function haversineMeters(a: Location, b: Location): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The nearest candidate within `maxM` of the point, or undefined. Ties go to the smaller id (stable). */
export function nearestUnit(point: Location, candidates: UnitCandidate[], maxM = NEAREST_UNIT_MAX_M) {
  let best: { unit: UnitCandidate; distanceM: number } | undefined;
  for (const unit of candidates) {
    const d = haversineMeters(point, unit.location);
    if (d > maxM) continue;
    if (!best || d < best.distanceM || (d === best.distanceM && unit.id < best.unit.id)) {
      best = { unit, distanceM: d };
    }
  }
  return best;
}

/** The unit link: the registered unit the tip names, else the nearest registered enterprise within 2 km. */
export function unitLink(tip: Tip, named: UnitCandidate | undefined, township: UnitCandidate[]): UnitLink | undefined {
  if (tip.suspectedUnit?.kind === 'registered') {
    const id = tip.suspectedUnit.enterpriseId;
    return named
      ? { enterpriseId: id, name: named.name, basis: 'named', reason: 'named' }
      : { enterpriseId: id, basis: 'named', reason: 'named, not in the registry' };
  }
  if (!tip.location.point) return undefined;
  const near = nearestUnit(tip.location.point, township);
  if (!near) return undefined;
  const distanceM = Math.round(near.distanceM);
  return {
    enterpriseId: near.unit.id,
    name: near.unit.name,
    basis: 'nearest',
    distanceM,
    reason: `nearest, ${distanceM} m`,
  };
}

/** The unit a stored tip is linked to (named or nearest). */
export const linkedUnitId = (tip: Tip): string | undefined =>
  tip.suspectedUnit?.kind === 'registered' ? tip.suspectedUnit.enterpriseId : tip.links?.unit?.enterpriseId;

const dayDiff = (a: string, b: string) => Math.round(Math.abs(Date.parse(a) - Date.parse(b)) / 86_400_000);
const observedDay = (t: Tip) => t.observedAt.slice(0, 10);

/**
 * Likely duplicates of `tip` among candidates found by place (same category + township, observed within ±3 days) and
 * by unit (same linked unit, received within 7 days). Excludes the tip itself and tips already merged away; the
 * windows are re-checked here, so candidates may be a superset. Sorted by number of reasons, then oldest first.
 */
export function duplicateLinks(tip: Tip, byPlace: Tip[], byUnit: Tip[], unitId?: string): DuplicateLink[] {
  const found = new Map<string, { other: Tip; reasons: string[] }>();
  const add = (other: Tip, reason: string) => {
    if (other.id === tip.id || other.mergedInto) return;
    const hit = found.get(other.id) ?? { other, reasons: [] };
    if (!hit.reasons.includes(reason)) hit.reasons.push(reason);
    found.set(other.id, hit);
  };
  for (const other of byPlace) {
    if (other.category !== tip.category || other.location.townshipId !== tip.location.townshipId) continue;
    const days = dayDiff(`${observedDay(other)}T00:00:00Z`, `${observedDay(tip)}T00:00:00Z`);
    if (days > DUPLICATE_PLACE_DAYS) continue;
    let reason = `same category (${TIP_CATEGORY_LABELS[tip.category]}) in ${tip.location.townshipId}, observed ${
      days === 0 ? 'the same day' : `${days} day${days > 1 ? 's' : ''} apart`
    }`;
    if (tip.location.point && other.location.point) {
      reason += `, ${Math.round(haversineMeters(tip.location.point, other.location.point))} m apart`;
    }
    add(other, reason);
  }
  if (unitId) {
    for (const other of byUnit) {
      if (linkedUnitId(other) !== unitId) continue;
      const ms = Math.abs(Date.parse(other.receivedAt) - Date.parse(tip.receivedAt));
      if (ms > DUPLICATE_UNIT_DAYS * 86_400_000) continue;
      const days = Math.floor(ms / 86_400_000);
      add(
        other,
        `same unit ${unitId}, received ${days === 0 ? 'within a day' : `${days} day${days > 1 ? 's' : ''} apart`}`,
      );
    }
  }
  return [...found.values()]
    .sort((a, b) => b.reasons.length - a.reasons.length || a.other.receivedAt.localeCompare(b.other.receivedAt))
    .map(({ other, reasons }) => ({
      tipId: other.id,
      category: other.category,
      observedAt: other.observedAt,
      receivedAt: other.receivedAt,
      reasons,
    }));
}

/** Computes a new tip's links from the sources: index queries only. */
export async function computeLinks(tip: Tip, sources: TriageSources, now: Date): Promise<TipLinks> {
  const named = tip.suspectedUnit?.kind === 'registered' ? tip.suspectedUnit.enterpriseId : undefined;
  const [namedUnit, township] = await Promise.all([
    named ? sources.enterprise(named) : Promise.resolve(undefined),
    !named && tip.location.point ? sources.enterprisesInTownship(tip.location.townshipId) : Promise.resolve([]),
  ]);
  const unit = unitLink(tip, namedUnit, township);
  const day = observedDay(tip);
  const since = new Date(Date.parse(tip.receivedAt) - DUPLICATE_UNIT_DAYS * 86_400_000).toISOString();
  const [alarms, byPlace, byUnit] = await Promise.all([
    unit ? sources.openAlarms(unit.enterpriseId) : Promise.resolve([]),
    sources.tipsByPlace(
      tip.category,
      tip.location.townshipId,
      addDays(day, -DUPLICATE_PLACE_DAYS),
      addDays(day, DUPLICATE_PLACE_DAYS),
    ),
    unit ? sources.tipsByUnit(unit.enterpriseId, since) : Promise.resolve([]),
  ]);
  const wave = tip.channel === 'web' ? spamWave(tip, byPlace) : undefined;
  return {
    computedAt: now.toISOString(),
    ...(unit ? { unit } : {}),
    alarms,
    duplicates: duplicateLinks(tip, byPlace, byUnit, unit?.enterpriseId),
    ...(wave ? { spamWave: wave } : {}),
  };
}

// ---- spam waves ----

/** How alike two descriptions must be (Jaccard over character bigrams of the normalized text) to count as copies. */
export const SPAM_SIMILARITY = 0.8;
/** A new public tip is held when at least this many near-identical ones came in within the window before it. */
export const SPAM_WAVE_MIN_OTHERS = 2;
export const SPAM_WAVE_WINDOW_MS = 60 * 60_000;

function bigrams(text: string): Set<string> {
  const norm = text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
  const out = new Set<string>();
  for (let i = 0; i < norm.length - 1; i++) out.add(norm.slice(i, i + 2));
  if (norm.length === 1) out.add(norm);
  return out;
}

/** Jaccard similarity of two texts' character bigrams, 0–1 (whitespace and punctuation ignored). */
export function textSimilarity(a: string, b: string): number {
  const x = bigrams(a);
  const y = bigrams(b);
  if (x.size === 0 && y.size === 0) return 1;
  let shared = 0;
  for (const g of x) if (y.has(g)) shared++;
  return shared / (x.size + y.size - shared);
}

/**
 * A wave of near-identical public tips: the same category and township (the duplicate-search neighbourhood), received
 * within the hour before this one, with descriptions at least 80 % alike. Real reporters are not blocked: the tip is
 * stored and its receipt issued as usual, but it waits in the `held` queue for an analyst instead of the triage queue.
 * False-positive risk: several honest neighbours reporting the same smoke in the same words; an analyst releases them.
 */
export function spamWave(tip: Tip, recent: Tip[]): SpamWave | undefined {
  const t = Date.parse(tip.receivedAt);
  const similar = recent.filter(
    (o) =>
      o.id !== tip.id &&
      o.category === tip.category &&
      o.location.townshipId === tip.location.townshipId &&
      t - Date.parse(o.receivedAt) >= 0 &&
      t - Date.parse(o.receivedAt) <= SPAM_WAVE_WINDOW_MS &&
      textSimilarity(o.description, tip.description) >= SPAM_SIMILARITY,
  );
  if (similar.length < SPAM_WAVE_MIN_OTHERS) return undefined;
  return {
    similarTipIds: similar.map((o) => o.id),
    reason: `${similar.length} near-identical tips (≥${SPAM_SIMILARITY * 100}% alike) in the same category and township within the hour before`,
  };
}

// ---- merge and the first valid reporter ----

/** When the citizen's report reached the bureau (staff intake may give an earlier time than entry); see Tip.reportedAt. */
export const reportedAtOf = (t: Tip): string => t.reportedAt ?? t.receivedAt;

/**
 * Why a report cannot hold first place in its merged group, or undefined when it can:
 * - `unsubstantiated`: found untrue, now or in its latest finding (a closed tip keeps its finding);
 * - `staff_finding`: a patrol finding is the bureau's own discovery, not a citizen's report (no reward standing).
 */
export function firstPlaceBar(t: Tip): 'unsubstantiated' | 'staff_finding' | undefined {
  if (t.status === 'unsubstantiated' || t.finding === 'unsubstantiated') return 'unsubstantiated';
  if (t.channel === 'patrol') return 'staff_finding';
  return undefined;
}

/**
 * THE FIRST VALID REPORTER (docs/domain.md §5.1: "same violation reported by several people: the first valid reporter gets
 * the reward"). Among all reports of one merged group (the primary, every tip merged into it, and tips merged into
 * those), it is the report that
 *   1. is valid: not found unsubstantiated and not excluded (firstPlaceBar), and
 *   2. reached the bureau first: `reportedAt` (a letter's date of receipt or the time of a call, not when staff typed
 *      it in; `receivedAt` for the web form and for older tips), ties broken by the smaller tip id.
 * It is computed from the group as it is NOW, on every read: the order in which analysts merged, and which tip they
 * chose as primary, do not matter; a report later found unsubstantiated loses first place to the next valid one and
 * regains it if a new finding substantiates it. Validity is per report: whether the matter itself is substantiated
 * (the primary's status) and whether the reporter is eligible at all (real name, not staff, clue not already known)
 * remain conditions the reward post checks; this rule only says who is first. Undefined when no report is valid.
 */
export function firstValidReporter(group: readonly Tip[]): { tipId: string; reportedAt: string } | undefined {
  let first: { tipId: string; reportedAt: string } | undefined;
  for (const t of group) {
    if (firstPlaceBar(t)) continue;
    const at = reportedAtOf(t);
    const ms = Date.parse(at);
    const best = first ? Date.parse(first.reportedAt) : Number.POSITIVE_INFINITY;
    if (!first || ms < best || (ms === best && t.id < first.tipId)) first = { tipId: t.id, reportedAt: at };
  }
  return first;
}

/**
 * The reporter a reward claim is for in a merged group (`primary` and the tips merged into it): the group's first
 * valid reporter, when that reporter may still claim with the receipt (model.ts rewardClaimable).
 */
export function pendingClaimant(group: readonly Tip[], primary: Tip): Tip | undefined {
  const first = firstValidReporter(group);
  const tip = group.find((t) => t.id === first?.tipId);
  return tip && rewardClaimable(tip, primary.finding) ? tip : undefined;
}

/**
 * `root` and every tip merged into it, directly or through another merged tip: one read per tip, level by level, at
 * most `max` tips (should the data ever loop). `root` is a group's primary for the whole group.
 */
export async function mergedGroup(
  root: Tip,
  get: (tipId: string) => Promise<Tip | undefined>,
  max = 200,
): Promise<Tip[]> {
  const group = new Map<string, Tip>([[root.id, root]]);
  let level = [root];
  while (level.length > 0 && group.size < max) {
    const ids = [...new Set(level.flatMap((t) => t.mergedTips ?? []))].filter((id) => !group.has(id));
    const next = await Promise.all(ids.map(get));
    level = next.filter((t): t is Tip => t !== undefined);
    for (const t of level) group.set(t.id, t);
  }
  return [...group.values()];
}

/** A tip with its computed first-reporter fields (official view); stale stored copies of them are dropped. */
export function withFirstReporter(tip: Tip, group: readonly Tip[]): Tip {
  const { firstReporterTipId: _id, firstReportedAt: _at, ...rest } = tip;
  const first = firstValidReporter(group);
  return first ? { ...rest, firstReporterTipId: first.tipId, firstReportedAt: first.reportedAt } : rest;
}

/**
 * Merges `duplicate` into `primary`: the duplicate points to the primary, the primary lists it. Pure; the caller checks
 * both exist and writes both. The first valid reporter is NOT stored here: it is computed on read over the whole group
 * (firstValidReporter), so merge order and later findings cannot leave a stale answer behind.
 */
export function mergeTips(primary: Tip, duplicate: Tip, at: string): { primary: Tip; duplicate: Tip } {
  const { firstReporterTipId: _pi, firstReportedAt: _pa, ...p } = primary;
  const { firstReporterTipId: _di, firstReportedAt: _da, ...d } = duplicate;
  return {
    primary: { ...p, mergedTips: [...(p.mergedTips ?? []), duplicate.id], updatedAt: at },
    duplicate: { ...d, mergedInto: primary.id, updatedAt: at },
  };
}

// ---- overdue ----

export interface OverdueFlags {
  /** still `received` after the end of the first working day after the day it was received (Beijing) */
  triage: boolean;
  /** no finding (substantiated / unsubstantiated / case opened / closed) within 60 days of receipt */
  conclusion: boolean;
}

export const OPEN_STATUSES: readonly TipStatus[] = ['received', 'held', 'triaging', 'verifying'];

/** The instant a tip received at `receivedAt` becomes overdue for triage. */
export function triageDeadline(receivedAt: string): Date {
  return beijingDayStart(addDays(nextWorkingDay(beijingDate(new Date(receivedAt))), 1));
}

export function overdueFlags(tip: Tip, now: Date): OverdueFlags {
  if (tip.mergedInto) return { triage: false, conclusion: false };
  return {
    triage:
      (tip.status === 'received' || tip.status === 'held') && now.getTime() >= triageDeadline(tip.receivedAt).getTime(),
    conclusion:
      OPEN_STATUSES.includes(tip.status) && now.getTime() - Date.parse(tip.receivedAt) > CONCLUSION_DAYS * 86_400_000,
  };
}

/**
 * Upper bounds on receivedAt for the overdue index queries: tips received before `triage` are overdue for triage when
 * still `received`; tips received before `conclusion` are overdue for a finding when still open. The triage bound is
 * the start of the latest Beijing day whose deadline has passed, plus one day (exclusive).
 */
export function overdueCutoffs(now: Date): { triage: string; conclusion: string } {
  let day = beijingDate(now);
  while (triageDeadline(beijingDayStart(day).toISOString()).getTime() > now.getTime()) day = addDays(day, -1);
  return {
    triage: beijingDayStart(addDays(day, 1)).toISOString(),
    conclusion: new Date(now.getTime() - CONCLUSION_DAYS * 86_400_000).toISOString(),
  };
}
