import { beijing } from '../time.ts';
import { type Cell, safeRow } from './cells.ts';
import { levelText, pollutantText, stateText, typeText } from './labels.ts';

/**
 * 告警导出: the alarms a filter shows, as an XLSX workbook written in the browser with exceljs (loaded only when an
 * official exports). Every text cell passes cells.ts escapeCell, since unit names and reasons come from elsewhere.
 */
export interface ExportAlarm {
  alarmId: string;
  level: number;
  type: string;
  state: string;
  enterpriseName: string;
  enterpriseId: string;
  outletName: string;
  townshipId: string;
  pollutant?: string | undefined;
  lastSignal: {
    value?: number | undefined;
    limit?: number | undefined;
    unit?: string | undefined;
    multiple?: number | undefined;
    reasonZh: string;
  };
  openedAt: string;
  raisedAt: string;
  acknowledgedAt?: string | undefined;
  clearedAt?: string | undefined;
  /** 补传超标: a retrospective record (never paged) */
  retrospective?: { from: string; to: string } | undefined;
}

export const EXPORT_COLUMNS: { header: string; width: number }[] = [
  { header: '告警编号', width: 28 },
  { header: '级别', width: 6 },
  { header: '类型', width: 12 },
  { header: '状态', width: 8 },
  { header: '单位名称', width: 30 },
  { header: '统一社会信用代码', width: 20 },
  { header: '排放口', width: 16 },
  { header: '乡镇（街道）', width: 12 },
  { header: '污染物', width: 12 },
  { header: '监测值', width: 10 },
  { header: '限值', width: 10 },
  { header: '计量单位', width: 10 },
  { header: '超标倍数', width: 8 },
  { header: '情况', width: 50 },
  { header: '数据时间（北京时间）', width: 20 },
  { header: '告警时间（北京时间）', width: 20 },
  { header: '确认时间（北京时间）', width: 20 },
  { header: '解除时间（北京时间）', width: 20 },
];

export function exportRow(a: ExportAlarm, townshipName: (id: string) => string): (string | number)[] {
  const s = a.lastSignal;
  const row: Cell[] = [
    a.alarmId,
    levelText(a.level),
    a.retrospective ? `${typeText(a.type)}（补传超标）` : typeText(a.type),
    stateText(a.state),
    a.enterpriseName,
    a.enterpriseId,
    a.outletName,
    townshipName(a.townshipId),
    pollutantText(a.pollutant),
    s.value,
    s.limit,
    s.unit,
    s.multiple !== undefined ? Math.round(s.multiple * 100) / 100 : undefined,
    s.reasonZh,
    beijing(a.openedAt),
    beijing(a.raisedAt),
    beijing(a.acknowledgedAt),
    beijing(a.clearedAt),
  ];
  return safeRow(row);
}

/** The workbook's bytes: one sheet 告警列表 with a header row, frozen, and a note of the filter and the time. */
export async function alarmsWorkbook(
  alarms: readonly ExportAlarm[],
  townshipName: (id: string) => string,
  filterText: string,
): Promise<ArrayBuffer> {
  const { default: ExcelJS } = await import('exceljs');
  const book = new ExcelJS.Workbook();
  book.creator = '庆元县环境污染问题发现平台';
  book.created = new Date();
  const sheet = book.addWorksheet('告警列表', { views: [{ state: 'frozen', ySplit: 2 }] });
  sheet.addRow(safeRow([`导出时间：${beijing(new Date().toISOString())}（北京时间）；筛选条件：${filterText}`]));
  const header = sheet.addRow(EXPORT_COLUMNS.map((c) => c.header));
  header.font = { bold: true };
  EXPORT_COLUMNS.forEach((c, i) => {
    sheet.getColumn(i + 1).width = c.width;
  });
  for (const a of alarms) sheet.addRow(exportRow(a, townshipName));
  return (await book.xlsx.writeBuffer()) as ArrayBuffer;
}
