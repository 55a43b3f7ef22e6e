/**
 * River sections patrolled on a schedule (河长制巡河). Data, not code: the seven main streams of Qingyuan
 * (docs/domain.md §9.3), each as one section for now, with the patrol interval the bureau requires. The intervals and
 * townships are placeholders to confirm with the river-chief office; an operator extends this list (finer sections,
 * grid ids) without code changes elsewhere.
 */
export interface RiverSection {
  id: string;
  name: string;
  /** main township the section runs through; a finding turned into a tip defaults to it */
  townshipId: string;
  /** a patrol must end within this many days of the previous one */
  intervalDays: number;
}

export const RIVER_SECTIONS: readonly RiverSection[] = [
  { id: 'songyuanxi', name: '松源溪', townshipId: 'songyuan', intervalDays: 7 },
  { id: 'anxi', name: '安溪', townshipId: 'annan', intervalDays: 10 },
  { id: 'zhukouxi', name: '竹口溪', townshipId: 'zhukou', intervalDays: 10 },
  { id: 'nanyangxi', name: '南阳溪', townshipId: 'huangtian', intervalDays: 10 },
  { id: 'zuoxi', name: '左溪', townshipId: 'zuoxi', intervalDays: 10 },
  { id: 'xixi', name: '西溪', townshipId: 'songyuan', intervalDays: 10 },
  { id: 'baluxi', name: '八炉溪', townshipId: 'pingdu', intervalDays: 10 },
];

export const sectionById = (id: string): RiverSection | undefined => RIVER_SECTIONS.find((s) => s.id === id);

/**
 * Sections not patrolled on schedule: no patrol yet, or the last one ended more than `intervalDays` ago. Pure;
 * `lastEndedAt` maps section id to the end of its latest patrol.
 */
export function missedSections(
  sections: readonly RiverSection[],
  lastEndedAt: ReadonlyMap<string, string | undefined>,
  now: Date,
): { section: RiverSection; lastPatrolEndedAt?: string; daysSince?: number }[] {
  const out: { section: RiverSection; lastPatrolEndedAt?: string; daysSince?: number }[] = [];
  for (const section of sections) {
    const last = lastEndedAt.get(section.id);
    if (!last) {
      out.push({ section });
      continue;
    }
    const days = (now.getTime() - Date.parse(last)) / 86_400_000;
    if (days > section.intervalDays) out.push({ section, lastPatrolEndedAt: last, daysSince: Math.floor(days) });
  }
  return out;
}
