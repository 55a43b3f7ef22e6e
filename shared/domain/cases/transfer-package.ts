import { isoToBeijing } from '#shared/domain/hj212/times.ts';
import { CRIME_ITEMS, type CrimeItem } from './crime-thresholds.ts';
import { CASE_STATUS_LABELS, type Case, type CaseTimelineEntry } from './model.ts';
import type { TaskView } from './ports.ts';
import { TRANSFER_FLOW } from './transfer.ts';

/**
 * 移送材料: what the bureau hands the police (and copies to the procuratorate) for a suspected-crime case, as one set
 * of documents in Chinese — the index, the case summary with the articles relied on, the evidence list with each
 * item's SHA-256 (the sealed originals stay in the evidence store; the hashes let the receiver check what it gets),
 * the case timeline and the transfer steps so far. Pure: the case functions read, zip and audit around it.
 * Nothing here names a reporter (a case holds tip ids, never identities).
 */
export interface PackageFile {
  name: string;
  text: string;
}

/** `YYYY-MM-DD HH:mm:ss`, Beijing time. */
export function beijingTime(iso: string | undefined): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return '';
  const b = isoToBeijing(iso);
  return `${b.slice(0, 4)}-${b.slice(4, 6)}-${b.slice(6, 8)} ${b.slice(8, 10)}:${b.slice(10, 12)}:${b.slice(12, 14)}`;
}

/**
 * One CSV cell: quoted, quotes doubled, and a cell a spreadsheet would read as a formula (`= + - @`, or a tab or
 * carriage return first) prefixed with `'` so it stays text.
 */
export function csvCell(value: string | number | undefined): string {
  let s = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replaceAll('"', '""')}"`;
}

const SOURCE_LABELS: Record<string, string> = {
  tip: '举报线索',
  alarm: '在线监测告警',
  clue: '其他线索',
  patrol: '巡查发现',
};
const EVIDENCE_LABELS: Record<string, string> = { raw_archive: '在线监测原始报文（归档）' };

export function transferPackageFiles(
  c: Case,
  timeline: readonly CaseTimelineEntry[],
  tasks: readonly TaskView[],
  generated: { at: string; by: string },
): PackageFile[] {
  const decision = c.decision?.type === 'suspected_crime' ? c.decision : undefined;
  const summary = [
    '涉嫌环境污染犯罪案件基本情况',
    '',
    `案件编号：${c.caseId}`,
    `案件名称：${c.title}`,
    `当事人：${c.unitName}${c.needsRegistration ? '（尚未登记）' : ''}`,
    `统一社会信用代码：${c.enterpriseId ?? '无（未登记场所）'}`,
    ...(c.unitAddress ? [`地址：${c.unitAddress}`] : []),
    `所在乡镇（街道）：${c.townshipId}`,
    `案件状态：${CASE_STATUS_LABELS[c.status]}`,
    `立案时间：${beijingTime(c.openedAt)}（${c.openedBy}）`,
    `承办人：${c.handlers.join('、') || '未指定'}`,
    '',
    '案件来源：',
    ...c.sources.map(
      (s, i) => `  ${i + 1}. ${SOURCE_LABELS[s.kind] ?? s.kind} ${s.id}（${beijingTime(s.addedAt)} 关联）`,
    ),
    '',
    '移送决定：',
    ...(decision
      ? [
          `  作出人：${decision.decidedBy}，时间：${beijingTime(decision.decidedAt)}`,
          ...decision.confirmedItems.flatMap((item, i) => {
            const def = CRIME_ITEMS[item.item as CrimeItem];
            return [
              `  ${i + 1}. ${def.reference} ${def.titleZh}`,
              `     认定事实：${item.facts}`,
              `     确认人：${item.confirmedBy}，${beijingTime(item.confirmedAt)}`,
            ];
          }),
          ...(c.proposedCrimeItems?.length
            ? [`  平台核对建议：${c.proposedCrimeItems.map((i) => CRIME_ITEMS[i].reference).join('；')}`]
            : []),
        ]
      : ['  （尚未作出涉嫌犯罪移送决定）']),
    '',
  ].join('\n');

  const header = [
    '序号',
    '证据编号',
    '证据类型',
    '内容说明',
    'SHA-256',
    '存储位置或设备',
    '起始时间',
    '截止时间',
    '添加人',
    '添加时间',
  ];
  const rows = c.evidence.map((e, i) =>
    e.type === 'object'
      ? [i + 1, e.id, e.kind, e.note, e.sha256, e.key, '', '', e.addedBy, beijingTime(e.addedAt)]
      : [
          i + 1,
          e.id,
          EVIDENCE_LABELS.raw_archive,
          e.note,
          '（按归档哈希链校验）',
          `设备 MN ${e.mn}`,
          beijingTime(e.from),
          beijingTime(e.to),
          e.addedBy,
          beijingTime(e.addedAt),
        ],
  );
  // a byte-order mark so spreadsheet programs read the Chinese as UTF-8
  const evidence = `\uFEFF${[header, ...rows].map((r) => r.map((v) => csvCell(v)).join(',')).join('\r\n')}\r\n`;

  const events = [
    '案件时间线（北京时间）',
    '',
    ...timeline.map((e) => `${beijingTime(e.at)}  ${e.by}  ${e.note ?? e.type}`),
    '',
  ].join('\n');

  const transferTasks = tasks.filter((t) => t.workflow === 'transfer');
  const steps = [
    '移送流程记录（北京时间）',
    '',
    ...transferTasks.map((t) => {
      const label = (TRANSFER_FLOW.steps as Record<string, { labelZh: string }>)[t.step]?.labelZh ?? t.step;
      const state = t.state === 'done' ? '已办理' : t.state === 'lapsed' ? '已超期' : '待办理';
      const outcome = t.outcome
        ? `；${t.outcome.by} 于 ${beijingTime(t.completedAt)} 办理（${t.outcome.action}）${t.outcome.comment ? `：${t.outcome.comment}` : ''}`
        : '';
      return `${label}：${state}；收到 ${beijingTime(t.createdAt)}${t.dueAt ? `；期限 ${beijingTime(t.dueAt)}` : ''}${outcome}`;
    }),
    '',
  ].join('\n');

  const files: PackageFile[] = [
    { name: '02-案件基本情况.txt', text: summary },
    { name: '03-证据清单.csv', text: evidence },
    { name: '04-案件时间线.txt', text: events },
    { name: '05-移送流程记录.txt', text: steps },
  ];
  const index = [
    '涉嫌环境污染犯罪案件移送材料清单',
    '',
    `案件：${c.title}（${c.caseId}）`,
    `生成：${beijingTime(generated.at)}，${generated.by}`,
    `证据：${c.evidence.length} 项（证据原件由生态环境部门封存，凭证据清单中的 SHA-256 核对）`,
    '',
    ...files.map((f, i) => `${i + 1}. ${f.name.replace(/^\d+-/, '')}`),
    '',
  ].join('\n');
  return [{ name: '01-移送材料清单.txt', text: index }, ...files];
}
