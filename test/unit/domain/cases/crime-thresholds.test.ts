import { describe, expect, it } from 'vitest';
import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import {
  atLeastMultiple,
  type CaseCrimeFacts,
  type ExceedanceFact,
  exceedanceFromAlarm,
  metalOf,
  proposeCrimeItems,
} from '#shared/domain/cases/crime-thresholds.ts';

/**
 * 法释〔2023〕7号 第一条 against Qingyuan cases (docs/domain.md §6.3). Limits: GB 8978-1996 Table 1 first-class pollutants
 * (total Pb 1.0 mg/L, Cr(VI) 0.5 mg/L) and Table 4 grade 1 (total Cu 0.5 mg/L, Zn 2.0 mg/L), docs/domain.md §4.1.
 */
const pencil = { name: '庆元县示例铅笔制造有限公司', permitClass: 'simplified' as const };
const wwtp = { name: '庆元县示例城镇污水处理有限公司', permitClass: 'key' as const };

const exceed = (
  pollutant: string,
  value: number,
  limit: number,
  over: Partial<ExceedanceFact> = {},
): ExceedanceFact => ({
  pollutant,
  value,
  limit,
  unit: 'mg/L',
  at: '2026-04-14T10:00:00+08:00',
  outletName: '涂装车间废水排口',
  inDrinkingWaterProtectionZone: false,
  source: { kind: 'alarm', id: `01KP0000000000000000000${pollutant.slice(-3)}` },
  ...over,
});
const facts = (over: Partial<CaseCrimeFacts> = {}): CaseCrimeFacts => ({ unit: pencil, exceedances: [], ...over });
const items = (f: CaseCrimeFacts) => proposeCrimeItems(f).map((p) => p.item);

describe('heavy metals: items (三) ≥3× and (四) ≥10×', () => {
  it('does not fire at 2.9× lead and fires at 3.0×', () => {
    expect(items(facts({ exceedances: [exceed('w20120', 2.9, 1.0)] }))).toEqual([]);
    expect(items(facts({ exceedances: [exceed('w20120', 3.0, 1.0)] }))).toEqual(['item3']);
  });

  it('does not fire at 9× copper and fires at 10×', () => {
    expect(items(facts({ exceedances: [exceed('w20122', 4.5, 0.5)] }))).toEqual([]);
    expect(items(facts({ exceedances: [exceed('w20122', 5.0, 0.5)] }))).toEqual(['item4']);
  });

  it('fires at exactly 3× despite binary rounding (0.3 against 0.1)', () => {
    expect(0.3 >= 3 * 0.1).toBe(false); // the trap
    expect(atLeastMultiple(0.3, 0.1, 3)).toBe(true);
    expect(atLeastMultiple(0.2999, 0.1, 3)).toBe(false);
  });

  it('does not apply 3× to copper nor 10× only to lead: 5× copper no, 5× hexavalent chromium yes', () => {
    expect(items(facts({ exceedances: [exceed('w20122', 2.5, 0.5)] }))).toEqual([]);
    expect(items(facts({ exceedances: [exceed('w20117', 2.5, 0.5)] }))).toEqual(['item3']);
  });

  it('does not fire for a non-listed pollutant at any multiple (COD 20×)', () => {
    expect(items(facts({ exceedances: [exceed('w01018', 2000, 100)] }))).toEqual([]);
  });

  it('takes laboratory results by element symbol for metals without an HJ 212 code (thallium)', () => {
    const tl = exceed('Tl', 0.0165, 0.005, { source: { kind: 'evidence', id: 'lab-2026-041' } });
    const [p] = proposeCrimeItems(facts({ exceedances: [tl] }));
    expect(p?.item).toBe('item3');
    expect(p?.facts[0]).toContain('铊');
    expect(p?.sources).toEqual([{ kind: 'evidence', id: 'lab-2026-041' }]);
    expect(metalOf('Ag')).toMatchObject({ item: 'item4', multiple: 10 });
    expect(metalOf('w01018')).toBeUndefined();
  });

  it('cites the article and states the facts with the multiple', () => {
    const [p] = proposeCrimeItems(facts({ exceedances: [exceed('w20120', 3.6, 1.0)] }));
    expect(p?.reference).toBe('法释〔2023〕7号 第一条第（三）项');
    expect(p?.facts[0]).toContain('总铅 3.6mg/L');
    expect(p?.facts[0]).toContain('3.6 倍');
    expect(p?.needsLegalReview).toBe(false);
  });
});

describe('item (一): drinking-water source protection zone', () => {
  it('fires for a heavy-metal exceedance at an outlet in the zone, below the 3× line', () => {
    const e = exceed('w20120', 1.4, 1.0, { inDrinkingWaterProtectionZone: true });
    expect(items(facts({ exceedances: [e] }))).toEqual(['item1']);
  });

  it('does not fire for COD over the limit in the zone (not a toxic substance)', () => {
    const e = exceed('w01018', 180, 100, { inDrinkingWaterProtectionZone: true });
    expect(items(facts({ exceedances: [e] }))).toEqual([]);
  });

  it('fires for a recorded toxic discharge in the zone and not for an ordinary one', () => {
    const src = { kind: 'record' as const, id: 'insp-0412' };
    const toxic = facts({
      protectedZoneDischarges: [{ substance: 'toxic', description: '向兰溪桥水库一级保护区倾倒含氰废液', source: src }],
    });
    expect(items(toxic)).toEqual(['item1']);
    const other = facts({
      protectedZoneDischarges: [{ substance: 'other', description: '保护区内排放生活污水', source: src }],
    });
    expect(items(other)).toEqual([]);
  });
});

describe('item (二): hazardous waste ≥ 3 t', () => {
  const src = { kind: 'record' as const, id: 'weigh-01' };
  it('fires at 3,000 kg summed over the recorded quantities', () => {
    const f = facts({
      hazardousWaste: [
        { wasteCode: 'HW12 900-252-12', quantityKg: 1_800, description: '废油漆渣倾倒于屏都废弃矿坑', source: src },
        {
          wasteCode: 'HW49 900-041-49',
          quantityKg: 1_200,
          description: '沾染涂料的包装桶',
          source: { kind: 'record', id: 'weigh-02' },
        },
      ],
    });
    const [p] = proposeCrimeItems(f);
    expect(p?.item).toBe('item2');
    expect(p?.facts.at(-1)).toContain('合计 3 吨');
    expect(p?.sources).toHaveLength(2);
  });

  it('does not fire at 2,999 kg', () => {
    expect(items(facts({ hazardousWaste: [{ quantityKg: 2_999, description: '废油漆渣', source: src }] }))).toEqual([]);
  });
});

describe('item (五): concealed discharge', () => {
  const src = { kind: 'record' as const, id: 'insp-0415' };
  it('fires for a concealed pipe carrying toxic wastewater', () => {
    const f = facts({
      concealedDischarges: [
        {
          method: 'concealed_pipe',
          substance: 'toxic',
          description: '车间雨水井接暗管通松源溪，排放含铬废水',
          source: src,
        },
      ],
    });
    expect(items(f)).toEqual(['item5']);
    expect(proposeCrimeItems(f)[0]?.facts[0]).toContain('通过暗管排放有毒物质');
  });

  it('does not fire for a concealed pipe carrying ordinary wastewater', () => {
    const f = facts({
      concealedDischarges: [
        { method: 'concealed_pipe', substance: 'other', description: '暗管排放蒸煮废水', source: src },
      ],
    });
    expect(items(f)).toEqual([]);
  });
});

describe('item (七): monitoring-data falsification at a key unit', () => {
  const finding = (substantiated: boolean) => ({
    substantiated,
    description: '运维人员修改COD分析仪量程与斜率参数，致上传数据严重失真',
    source: { kind: 'record' as const, id: 'finding-07' },
  });

  it('fires for a substantiated finding at a key (重点管理) unit', () => {
    expect(items(facts({ unit: wwtp, falsificationFindings: [finding(true)] }))).toEqual(['item7']);
  });

  it('does not fire for a suspicion alone, nor at a unit under simplified management', () => {
    expect(items(facts({ unit: wwtp, falsificationFindings: [finding(false)] }))).toEqual([]);
    expect(items(facts({ unit: pencil, falsificationFindings: [finding(true)] }))).toEqual([]);
  });
});

describe('items (六) and (八): repeat offences after ≥ 2 penalties in 2 years', () => {
  const penalties = [
    { decisionNumber: '庆环罚〔2024〕21号', decidedOn: '2024-06-10', matter: 'toxic_discharge' as const },
    { decisionNumber: '庆环罚〔2025〕9号', decidedOn: '2025-03-02', matter: 'toxic_discharge' as const },
  ];

  it('fires after two penalties for the same matter within two years, flagged for legal review', () => {
    const [p] = proposeCrimeItems(
      facts({ repeatOffence: { matter: 'toxic_discharge', offenceOn: '2026-04-14' }, priorPenalties: penalties }),
    );
    expect(p?.item).toBe('item8');
    expect(p?.needsLegalReview).toBe(true);
    expect(p?.sources.map((s) => s.id)).toEqual(['庆环罚〔2024〕21号', '庆环罚〔2025〕9号']);
  });

  it('does not fire when one penalty is older than two years', () => {
    const f = facts({
      repeatOffence: { matter: 'toxic_discharge', offenceOn: '2026-06-11' },
      priorPenalties: penalties,
    });
    expect(items(f)).toEqual([]);
  });

  it('does not count penalties for another matter', () => {
    const f = facts({
      repeatOffence: { matter: 'heavy_weather_so2_nox', offenceOn: '2026-01-10' },
      priorPenalties: penalties,
    });
    expect(items(f)).toEqual([]);
  });
});

describe('several items and alarms', () => {
  it('lists every item met, in article order, each with its own facts', () => {
    const f = facts({
      exceedances: [
        exceed('w20122', 6.0, 0.5),
        exceed('w20120', 4.0, 1.0, { inDrinkingWaterProtectionZone: true }),
        exceed('w20120', 2.0, 1.0),
      ],
    });
    const proposed = proposeCrimeItems(f);
    expect(proposed.map((p) => p.item)).toEqual(['item1', 'item3', 'item4']);
    expect(proposed.find((p) => p.item === 'item3')?.facts).toHaveLength(1);
  });

  it('reads an exceedance alarm and ignores a fault alarm', () => {
    const alarm = {
      alarmId: '01KP7Q4XZ3V5B2N8M6C4R0T9WE',
      type: 'exceedance' as const,
      pollutant: 'w20120',
      outletName: '涂装车间废水排口',
      lastSignal: {
        at: '2026-04-14T10:00:00+08:00',
        value: 3.2,
        limit: 1.0,
        unit: 'mg/L',
        multiple: 3.2,
        reasonZh: '总铅超标3.2倍',
        reason: 'total lead 3.2x',
        evidence: [],
        rules: ['exceedance', 'exceedance.statutory'],
      },
    } satisfies Pick<Alarm, 'alarmId' | 'type' | 'pollutant' | 'outletName' | 'lastSignal'>;
    const fact = exceedanceFromAlarm(alarm, false);
    expect(fact).toMatchObject({ value: 3.2, limit: 1.0, source: { kind: 'alarm', id: alarm.alarmId } });
    expect(items(facts({ exceedances: fact ? [fact] : [] }))).toEqual(['item3']);
    expect(exceedanceFromAlarm({ ...alarm, type: 'device_fault' }, false)).toBeUndefined();
  });
});
