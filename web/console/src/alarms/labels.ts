import { ALARM_TYPE_LABELS, ALARM_TYPES } from '../../../../shared/domain/alarms/model.ts';
import { pollutant } from '../../../../shared/domain/pollutants.ts';
import { beijing } from '../time.ts';

/**
 * Chinese names the alarm and device pages show, from the platform's own vocabulary (shared/domain: the alarm types
 * and the HJ 212 pollutant table), so the console never spells a type or a pollutant differently from the API's docs.
 */
export const LEVEL_TEXT: Record<number, string> = { 1: '一级', 2: '二级', 3: '三级', 4: '四级' };
export const levelText = (l: number) => LEVEL_TEXT[l] ?? `${l}级`;

export const TYPE_OPTIONS = ALARM_TYPES.map((value) => ({ value, label: ALARM_TYPE_LABELS[value] }));
export const typeText = (t: string) => (ALARM_TYPE_LABELS as Record<string, string>)[t] ?? t;

/**
 * 补传超标: what a retrospective record's window says (Beijing times), for its tag's title and the alarm detail. Such
 * a record comes from re-sent (RF=1) or late data and was never paged.
 */
export function retroText(w: { from: string; to: string; count: number; resent: boolean } | undefined): string {
  if (!w) return '';
  const source = w.resent ? '补传数据（RF=1）' : '迟到数据';
  return `补传超标：${source}显示 ${beijing(w.from)} 至 ${beijing(w.to)} 超标，共 ${w.count} 个数据；仅记录备查，未推送通知`;
}

export const STATE_TEXT: Record<string, string> = { active: '未处理', acknowledged: '已确认', cleared: '已解除' };
export const stateText = (s: string) => STATE_TEXT[s] ?? s;

export const pollutantText = (code: string | undefined) => (code ? (pollutant(code)?.nameZh ?? code) : '');
export const pollutantUnit = (code: string) => pollutant(code)?.unit ?? '';

export const AUDIENCE_TEXT: Record<string, string> = {
  bureau: '生态环境分局',
  regulator: '行业主管部门',
  enterprise: '企业负责人',
};
export const MESSAGE_KIND_TEXT: Record<string, string> = {
  open: '告警通知',
  level: '等级变化',
  clear: '解除通知',
  reminder: '催办提醒',
  escalation: '逐级上报',
};

export const RESPONSE_STATUS_TEXT: Record<string, string> = {
  submitted: '待审核',
  accepted: '已认可',
  returned: '已退回',
};

/** HJ 212 data flags (数据标记) as an official reads them; N is normal. */
export const FLAG_TEXT: Record<string, string> = {
  N: '正常',
  F: '停运',
  M: '维护',
  S: '手工输入',
  D: '故障',
  C: '校准',
  T: '超测上限',
  B: '通讯异常',
};
export const flagText = (f: string | undefined) => (f ? `${FLAG_TEXT[f] ?? f}（${f}）` : '');

export const KIND_OPTIONS = [
  { value: 'realtime', label: '实时数据' },
  { value: 'minute', label: '分钟数据' },
  { value: 'hour', label: '小时数据' },
  { value: 'day', label: '日数据' },
  { value: 'check', label: '标样核查' },
  { value: 'furnace', label: '炉膛温度（5分钟）' },
] as const;

/** HJ 212-2025 §8.1.1 d): a converted value the device could not compute (+9999.99) is shown as this, never a number */
export const NOT_COMPUTABLE_TEXT = '不可计算';
export type ReadingKind = (typeof KIND_OPTIONS)[number]['value'];
