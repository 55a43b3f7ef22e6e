import type { AlarmSignal, AlarmSource } from '#shared/domain/alarms/model.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';

/** The seeded WWTP's outlet as the lifecycle, the alarm store and the alarm API tests see it. */
export const WWTP_MN = '33112600000000000000WW01';

export const wwtpAlarmSource: AlarmSource = {
  mn: WWTP_MN,
  enterpriseId: WWTP,
  enterpriseName: '庆元县示例城镇污水处理有限公司',
  outletId: `${WWTP}-DW001`,
  outletCode: 'DW001',
  outletName: '尾水排放口',
  medium: 'water',
  townshipId: 'mengzhou',
  industry: 'wastewater_treatment',
  regulator: '庆元县住房和城乡建设局',
  permitClass: 'key',
  inDrinkingWaterProtectionZone: false,
  limits: {},
  intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
  equipment: [],
  deviceStatus: 'active',
};

/** COD hourly average 115 mg/L against the GB 18918 一级A limit of 50 mg/L: 2.3× → 二级. */
export const codSignal = (over: Partial<AlarmSignal> = {}): AlarmSignal => ({
  key: 'exceedance#w01018',
  type: 'exceedance',
  pollutant: 'w01018',
  level: 2,
  at: '2025-03-01T09:00:00.000Z',
  value: 115,
  limit: 50,
  unit: 'mg/L',
  multiple: 2.3,
  rules: ['exceedance.hourly'],
  reasonZh: '化学需氧量小时均值115 mg/L，超过限值50 mg/L的2.3倍',
  reason: 'COD hourly average 115 mg/L is 2.3x the 50 mg/L limit',
  evidence: [{ pollutant: 'w01018', kind: 'avg', dataTime: '2025-03-01T09:00:00.000Z', value: 115, flag: 'N' }],
  ...over,
});
