import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { escapeCell, safeRow } from '../../../web/console/src/alarms/cells.ts';
import { alarmsWorkbook, EXPORT_COLUMNS, type ExportAlarm, exportRow } from '../../../web/console/src/alarms/export.ts';
import { NOT_COMPUTABLE_TEXT, retroText } from '../../../web/console/src/alarms/labels.ts';
import { gapsOf, intervalMs, notComputableShown, plotValue } from '../../../web/console/src/components/series.ts';

/** The console's alarm export (formula escaping, the workbook) and the time-series chart's arithmetic. */
describe('escapeCell', () => {
  it('keeps text that starts with = + - @, a tab or a carriage return (or their full-width forms) as text', () => {
    for (const hostile of ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '＝1+1', '＠A1']) {
      expect(escapeCell(hostile)).toBe(`'${hostile}`);
    }
  });

  it('leaves ordinary text alone, and numbers as numbers', () => {
    expect(escapeCell('庆元县示例铅笔制造有限公司')).toBe('庆元县示例铅笔制造有限公司');
    expect(escapeCell('a=1')).toBe('a=1');
    expect(safeRow(['x', -3.5, undefined, '=1'])).toEqual(['x', -3.5, '', "'=1"]);
  });
});

describe('alarmsWorkbook', () => {
  const hostile: ExportAlarm = {
    alarmId: '01JNK3W7Q8D2V5XG9T4HRB6ZME',
    level: 1,
    type: 'exceedance',
    state: 'active',
    enterpriseName: '=HYPERLINK("http://evil.example","点击")',
    enterpriseId: '91331126MA2BPC7D2X',
    outletName: '@涂装废气',
    townshipId: 'pingdu',
    pollutant: 'w01018',
    lastSignal: { value: -1.5, limit: 50, unit: 'mg/L', multiple: 2.345, reasonZh: '+超标' },
    openedAt: '2026-12-06T02:00:00.000Z',
    raisedAt: '2026-12-06T02:00:05.000Z',
  };

  it('writes a sheet that opens with exceljs, with hostile text escaped and numbers kept numeric', async () => {
    const bytes = await alarmsWorkbook([hostile], (id) => (id === 'pingdu' ? '屏都街道' : id), '状态 未处理');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(bytes);
    const sheet = book.getWorksheet('告警列表');
    expect(sheet?.getRow(2).values).toEqual([undefined, ...EXPORT_COLUMNS.map((c) => c.header)]);
    const row = sheet?.getRow(3);
    const at = (header: string) => row?.getCell(EXPORT_COLUMNS.findIndex((c) => c.header === header) + 1).value;
    expect(at('单位名称')).toBe(`'${hostile.enterpriseName}`);
    expect(at('排放口')).toBe("'@涂装废气");
    expect(at('情况')).toBe("'+超标");
    expect(at('监测值')).toBe(-1.5);
    expect(at('超标倍数')).toBe(2.35);
    expect(at('级别')).toBe('一级');
    expect(at('乡镇（街道）')).toBe('屏都街道');
    expect(at('数据时间（北京时间）')).toBe('2026-12-06 10:00:00');
    // no cell of the sheet is a formula
    sheet?.eachRow((r) =>
      r.eachCell((c) => {
        expect(c.type).not.toBe(ExcelJS.ValueType.Formula);
      }),
    );
  });
});

describe('time-series chart arithmetic', () => {
  const at = (m: number) => new Date(Date.parse('2026-12-06T00:00:00.000Z') + m * 60_000).toISOString();

  it('plots the converted concentration of an air pollutant, the measured one of water', () => {
    expect(plotValue('a21026', { avg: 300, zsAvg: 320 })).toBe(320);
    expect(plotValue('w01018', { avg: 80, zsAvg: 90 })).toBe(80);
    expect(plotValue('w01018', {})).toBeUndefined();
  });

  it('finds the stretches without data, at the edges and between readings', () => {
    const hour = intervalMs('hour');
    const points = [60, 120, 300, 360].map((m) => ({ at: at(m), value: 1 }));
    const from = Date.parse(at(0));
    const to = Date.parse(at(600));
    expect(gapsOf(points, hour, from, to)).toEqual([
      { from: Date.parse(at(120)), to: Date.parse(at(300)) },
      { from: Date.parse(at(360)), to },
    ]);
    expect(gapsOf([], hour, from, to)).toEqual([{ from, to }]);
  });

  it('uses the device’s own intervals for real-time and minute data', () => {
    expect(intervalMs('realtime', { realtimeSeconds: 30 })).toBe(30_000);
    expect(intervalMs('minute', { minuteMinutes: 5 })).toBe(300_000);
    expect(intervalMs('day')).toBe(86_400_000);
  });
});

describe('HJ 212-2025 values and records on the console', () => {
  it('plots nothing (never the raw value) where the converted value was sent as not computable, and says 不可计算', () => {
    expect(plotValue('a21026', { avg: 400 }, ['zsAvg'])).toBeUndefined();
    expect(notComputableShown('a21026', { avg: 400 }, ['zsAvg'])).toBe(true);
    expect(plotValue('a21026', { avg: 400, zsAvg: 80 })).toBe(80);
    expect(notComputableShown('a21026', { avg: 400, zsAvg: 80 }, undefined)).toBe(false);
    expect(plotValue('a01901', { avg: 861.2 })).toBe(861.2);
    expect(NOT_COMPUTABLE_TEXT).toBe('不可计算');
  });

  it('describes a retrospective record (补传超标) in Beijing time and marks it in the export', async () => {
    const window = { from: '2026-11-28T19:00:00.000Z', to: '2026-11-28T21:00:00.000Z', count: 3, resent: true };
    expect(retroText(window)).toBe(
      '补传超标：补传数据（RF=1）显示 2026-11-29 03:00:00 至 2026-11-29 05:00:00 超标，共 3 个数据；仅记录备查，未推送通知',
    );
    expect(retroText(undefined)).toBe('');
    const row = exportRow(
      {
        alarmId: '01KALARM',
        level: 3,
        type: 'exceedance',
        state: 'active',
        enterpriseName: '示例',
        enterpriseId: '91331126MA2BX9K3XY',
        outletName: 'DW001',
        townshipId: 'songyuan',
        lastSignal: { reasonZh: '补传数据显示超标' },
        openedAt: window.from,
        raisedAt: '2026-11-29T10:00:00.000Z',
        retrospective: window,
      },
      (id) => id,
    );
    expect(row[2]).toBe('超标（补传超标）');
  });
});
