import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import { pollutant as pollutantInfo } from '#shared/domain/pollutants.ts';

/**
 * Crime thresholds of "严重污染环境" (法释〔2023〕7号 第一条, docs/domain.md §6.3) checked against what a case holds. The
 * platform PROPOSES items with the facts that support each; a person (the case team, then the bureau head) confirms
 * or rejects every item (model.ts, SuspectedCrimeDecision). Nothing here decides that a crime was committed.
 *
 * Items checked, with the facts they need:
 *   （一）  toxic (incl. heavy-metal), radioactive or pathogen-containing discharge in a drinking-water source
 *          protection zone: a heavy-metal exceedance at an outlet in the zone, or a discharge the handler recorded there
 *   （二）  illegal discharge / dumping / disposal of hazardous waste ≥ 3 t: quantities the handler records (kg)
 *   （三）  Pb, Hg, Cd, Cr, As, Tl, Sb: C ≥ 3 × L          （四） Ni, Cu, Zn, Ag, V, Mn, Co: C ≥ 10 × L
 *          judged as the judicial reading "超过标准三倍以上" = C ≥ k × L (docs/domain.md §6.3 caution; the same reading as
 *          the alarm engine's 一级, alarms/evaluation-rules.ts DEFAULT_STATUTORY_GROUPS). A value exactly at k × L fires.
 *   （五）  concealed pipes, seepage wells/pits, fissures, karst caves, injection, or an emergency air bypass opened
 *          without an emergency, used to discharge toxic, radioactive or pathogen-containing substances
 *   （六）  repeat over-standard SO2/NOx discharge during a heavy-pollution-weather alert after ≥ 2 penalties in 2 years
 *   （七）  a key unit (重点管理 permit class) tampering with / forging automatic monitoring data or interfering with the
 *          facilities: a SUBSTANTIATED falsification finding (a suspicion alarm alone does not count)
 *   （八）  repeat discharge of toxic, radioactive or pathogen-containing substances after ≥ 2 penalties in 2 years
 * Items （六） and （八） are [unverified] in docs/domain.md §6.3: they are proposed with `needsLegalReview: true`.
 *
 * Floating point: a value at exactly k × L must fire (0.3 mg/L against 0.1 mg/L is 3×, although 3 * 0.1 in binary is
 * 0.30000000000000004), so the comparison allows a relative tolerance of 1e-9.
 */

export const INTERPRETATION = '法释〔2023〕7号';

export type CrimeItem = 'item1' | 'item2' | 'item3' | 'item4' | 'item5' | 'item6' | 'item7' | 'item8';

export const CRIME_ITEMS: Record<CrimeItem, { reference: string; titleZh: string; needsLegalReview: boolean }> = {
  item1: {
    reference: `${INTERPRETATION} 第一条第（一）项`,
    titleZh: '在饮用水水源保护区排放、倾倒、处置有毒物质',
    needsLegalReview: false,
  },
  item2: {
    reference: `${INTERPRETATION} 第一条第（二）项`,
    titleZh: '非法处置危险废物三吨以上',
    needsLegalReview: false,
  },
  item3: {
    reference: `${INTERPRETATION} 第一条第（三）项`,
    titleZh: '排放含铅、汞、镉、铬、砷、铊、锑的污染物超标三倍以上',
    needsLegalReview: false,
  },
  item4: {
    reference: `${INTERPRETATION} 第一条第（四）项`,
    titleZh: '排放含镍、铜、锌、银、钒、锰、钴的污染物超标十倍以上',
    needsLegalReview: false,
  },
  item5: {
    reference: `${INTERPRETATION} 第一条第（五）项`,
    titleZh: '通过暗管、渗井、渗坑、裂隙、溶洞、灌注或非紧急情况下开启大气应急排放通道等逃避监管的方式排放有毒物质',
    needsLegalReview: false,
  },
  item6: {
    reference: `${INTERPRETATION} 第一条第（六）项`,
    titleZh: '二年内曾因重污染天气预警期间超标排放二氧化硫、氮氧化物受过二次以上行政处罚又实施此类行为',
    needsLegalReview: true,
  },
  item7: {
    reference: `${INTERPRETATION} 第一条第（七）项`,
    titleZh: '重点排污单位篡改、伪造自动监测数据或者干扰自动监测设施',
    needsLegalReview: false,
  },
  item8: {
    reference: `${INTERPRETATION} 第一条第（八）项`,
    titleZh: '二年内曾因排放有毒物质受过二次以上行政处罚又实施此类行为',
    needsLegalReview: true,
  },
};

/** Element groups of items （三） and （四） with the HJ 212-2017 codes that carry them (pollutants.ts). */
export const METAL_GROUPS = {
  item3: {
    multiple: 3,
    elements: {
      Pb: ['w20120'],
      Hg: ['w20111'],
      Cd: ['w20115'],
      Cr: ['w20116', 'w20117'],
      As: ['w20119'],
      Tl: [],
      Sb: [],
    },
  },
  item4: {
    multiple: 10,
    elements: { Ni: ['w20121'], Cu: ['w20122'], Zn: ['w20123'], Ag: [], V: [], Mn: ['w20124'], Co: [] },
  },
} as const;

export type MetalElement =
  | keyof (typeof METAL_GROUPS)['item3']['elements']
  | keyof (typeof METAL_GROUPS)['item4']['elements'];

const ELEMENT_ZH: Record<MetalElement, string> = {
  Pb: '铅',
  Hg: '汞',
  Cd: '镉',
  Cr: '铬',
  As: '砷',
  Tl: '铊',
  Sb: '锑',
  Ni: '镍',
  Cu: '铜',
  Zn: '锌',
  Ag: '银',
  V: '钒',
  Mn: '锰',
  Co: '钴',
};

/** The listed element and group a pollutant code or element symbol belongs to, if any. */
export function metalOf(
  pollutantOrElement: string,
): { item: 'item3' | 'item4'; element: MetalElement; multiple: number } | undefined {
  for (const item of ['item3', 'item4'] as const) {
    const group = METAL_GROUPS[item];
    for (const [element, codes] of Object.entries(group.elements) as [MetalElement, readonly string[]][]) {
      if (element === pollutantOrElement || codes.includes(pollutantOrElement)) {
        return { item, element, multiple: group.multiple };
      }
    }
  }
  return undefined;
}

/**
 * One measured exceedance: from an alarm (`exceedanceFromAlarm`) or a laboratory result the handler records (which
 * may name an element without an HJ 212 code, e.g. Tl). `value` and `limit` in the same unit; `limit` is the
 * applicable national or local discharge standard (the outlet's permit limit).
 */
export interface ExceedanceFact {
  /** HJ 212-2017 code or element symbol (Pb, Tl …) */
  pollutant: string;
  value: number;
  limit: number;
  unit?: string;
  at: string;
  outletName?: string;
  inDrinkingWaterProtectionZone: boolean;
  source: FactSource;
}

/** Where a fact comes from, for the proposal's references. */
export interface FactSource {
  kind: 'alarm' | 'evidence' | 'record';
  id: string;
}

export type DangerousSubstance = 'toxic' | 'radioactive' | 'pathogen';
export type DischargeSubstance = DangerousSubstance | 'other';

export interface CaseCrimeFacts {
  unit: { name: string; permitClass: 'key' | 'simplified' | 'registration' };
  exceedances: ExceedanceFact[];
  /** discharges the handler recorded in a drinking-water source protection zone (or other legally designated area) */
  protectedZoneDischarges?: { substance: DischargeSubstance; description: string; source: FactSource }[];
  /** hazardous waste illegally discharged, dumped or disposed of, by quantity the handler recorded */
  hazardousWaste?: { wasteCode?: string; quantityKg: number; description: string; source: FactSource }[];
  concealedDischarges?: {
    method:
      | 'concealed_pipe'
      | 'seepage_well'
      | 'seepage_pit'
      | 'fissure'
      | 'karst_cave'
      | 'injection'
      | 'bypass_without_emergency';
    substance: DischargeSubstance;
    description: string;
    source: FactSource;
  }[];
  /** findings on monitoring-data falsification; only `substantiated` ones count */
  falsificationFindings?: { substantiated: boolean; description: string; source: FactSource }[];
  /** the conduct now under investigation, for the repeat-offence items */
  repeatOffence?: { matter: RepeatMatter; offenceOn: string };
  priorPenalties?: { decisionNumber: string; decidedOn: string; matter: RepeatMatter | 'other' }[];
}

export type RepeatMatter = 'heavy_weather_so2_nox' | 'toxic_discharge';

export interface ProposedCrimeItem {
  item: CrimeItem;
  reference: string;
  titleZh: string;
  /** the facts that support it, in Chinese, for the transfer report */
  facts: string[];
  sources: FactSource[];
  /** docs/domain.md §6.3 marks the item [unverified]: a lawyer checks the wording before it goes into a transfer letter */
  needsLegalReview: boolean;
}

export const HAZARDOUS_WASTE_THRESHOLD_KG = 3_000;
const TOLERANCE = 1e-9;

/** C ≥ k × L, with a relative tolerance so that a value at exactly k × L fires despite binary rounding. */
export function atLeastMultiple(value: number, limit: number, k: number): boolean {
  if (!(limit > 0) || !Number.isFinite(value)) return false;
  return value >= k * limit * (1 - TOLERANCE);
}

const DANGEROUS: readonly DischargeSubstance[] = ['toxic', 'radioactive', 'pathogen'];
const SUBSTANCE_ZH: Record<DischargeSubstance, string> = {
  toxic: '有毒物质',
  radioactive: '放射性废物',
  pathogen: '含传染病病原体的废物',
  other: '其他污染物',
};
const METHOD_ZH = {
  concealed_pipe: '暗管',
  seepage_well: '渗井',
  seepage_pit: '渗坑',
  fissure: '裂隙',
  karst_cave: '溶洞',
  injection: '灌注',
  bypass_without_emergency: '非紧急情况下开启大气应急排放通道',
} as const;

const fmt = (n: number) => String(Number(n.toPrecision(6)));
const nameOf = (code: string) => {
  const metal = metalOf(code);
  return pollutantInfo(code)?.nameZh ?? (metal ? ELEMENT_ZH[metal.element] : code);
};
const exceedanceText = (e: ExceedanceFact) =>
  `${e.at}${e.outletName ? ` ${e.outletName}` : ''} ${nameOf(e.pollutant)} ${fmt(e.value)}${e.unit ?? ''}，` +
  `标准限值 ${fmt(e.limit)}${e.unit ?? ''}，为限值的 ${fmt(e.value / e.limit)} 倍`;

/** The date two years before `day` (YYYY-MM-DD); Feb 29 maps to Feb 28. */
function twoYearsBefore(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y - 2, m - 1, d));
  if (date.getUTCMonth() !== m - 1) date.setUTCDate(0);
  return date.toISOString().slice(0, 10);
}

/** THE PROPOSAL: every item of 法释〔2023〕7号 第一条 the case's facts meet, with the supporting facts. */
export function proposeCrimeItems(facts: CaseCrimeFacts): ProposedCrimeItem[] {
  const out: ProposedCrimeItem[] = [];
  const propose = (item: CrimeItem, lines: string[], sources: FactSource[]) => {
    if (lines.length > 0) out.push({ item, ...CRIME_ITEMS[item], facts: lines, sources: dedupe(sources) });
  };

  // （一） toxic substances in a drinking-water source protection zone
  const zoneMetals = facts.exceedances.filter((e) => e.inDrinkingWaterProtectionZone && metalOf(e.pollutant));
  const zoneRecorded = (facts.protectedZoneDischarges ?? []).filter((d) => DANGEROUS.includes(d.substance));
  propose(
    'item1',
    [
      ...zoneMetals.map((e) => `饮用水水源保护区内排放口排放含重金属污染物：${exceedanceText(e)}`),
      ...zoneRecorded.map((d) => `饮用水水源保护区内排放${SUBSTANCE_ZH[d.substance]}：${d.description}`),
    ],
    [...zoneMetals.map((e) => e.source), ...zoneRecorded.map((d) => d.source)],
  );

  // （二） hazardous waste ≥ 3 t
  const waste = facts.hazardousWaste ?? [];
  const totalKg = waste.reduce((t, w) => t + w.quantityKg, 0);
  if (totalKg >= HAZARDOUS_WASTE_THRESHOLD_KG) {
    propose(
      'item2',
      [
        ...waste.map((w) => `${w.wasteCode ? `${w.wasteCode} ` : ''}${w.description}：${fmt(w.quantityKg / 1000)} 吨`),
        `合计 ${fmt(totalKg / 1000)} 吨，达到三吨以上`,
      ],
      waste.map((w) => w.source),
    );
  }

  // （三）（四） heavy metals at k × L
  for (const item of ['item3', 'item4'] as const) {
    const hits = facts.exceedances.filter((e) => {
      const metal = metalOf(e.pollutant);
      return metal?.item === item && atLeastMultiple(e.value, e.limit, metal.multiple);
    });
    propose(
      item,
      hits.map((e) => exceedanceText(e)),
      hits.map((e) => e.source),
    );
  }

  // （五） concealed discharge of dangerous substances
  const concealed = (facts.concealedDischarges ?? []).filter((c) => DANGEROUS.includes(c.substance));
  propose(
    'item5',
    concealed.map((c) => `通过${METHOD_ZH[c.method]}排放${SUBSTANCE_ZH[c.substance]}：${c.description}`),
    concealed.map((c) => c.source),
  );

  // （六）（八） repeat offences after ≥ 2 penalties within 2 years
  if (facts.repeatOffence) {
    const { matter, offenceOn } = facts.repeatOffence;
    const since = twoYearsBefore(offenceOn);
    const prior = (facts.priorPenalties ?? []).filter(
      (p) => p.matter === matter && p.decidedOn >= since && p.decidedOn < offenceOn,
    );
    if (prior.length >= 2) {
      propose(
        matter === 'heavy_weather_so2_nox' ? 'item6' : 'item8',
        [
          ...prior.map((p) => `${p.decidedOn} 行政处罚 ${p.decisionNumber}`),
          `二年内（${since} 至 ${offenceOn}）受过 ${prior.length} 次同类行政处罚后又实施同类行为`,
        ],
        prior.map((p) => ({ kind: 'record', id: p.decisionNumber })),
      );
    }
  }

  // （七） key unit: substantiated monitoring-data falsification
  if (facts.unit.permitClass === 'key') {
    const found = (facts.falsificationFindings ?? []).filter((f) => f.substantiated);
    propose(
      'item7',
      found.map((f) => `${facts.unit.name}（重点管理排污单位）：${f.description}`),
      found.map((f) => f.source),
    );
  }
  return out.sort((a, b) => a.item.localeCompare(b.item));
}

function dedupe(sources: FactSource[]): FactSource[] {
  const seen = new Set<string>();
  return sources.filter((s) => {
    const key = `${s.kind}#${s.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * An exceedance fact from a stored alarm: the deciding reading's value and the limit it was judged against. Undefined
 * for alarms that carry no value and upper limit (faults, gaps, pH ranges). Whether the outlet is in a drinking-water
 * source protection zone is an outlet property (registry), passed in.
 */
export function exceedanceFromAlarm(
  alarm: Pick<Alarm, 'alarmId' | 'type' | 'pollutant' | 'outletName' | 'lastSignal'>,
  inDrinkingWaterProtectionZone: boolean,
): ExceedanceFact | undefined {
  const { value, limit, unit, at } = alarm.lastSignal;
  if (alarm.type !== 'exceedance' || !alarm.pollutant || value === undefined || limit === undefined) return undefined;
  return {
    pollutant: alarm.pollutant,
    value,
    limit,
    ...(unit !== undefined ? { unit } : {}),
    at,
    outletName: alarm.outletName,
    inDrinkingWaterProtectionZone,
    source: { kind: 'alarm', id: alarm.alarmId },
  };
}
