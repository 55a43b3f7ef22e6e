import { describe, expect, it } from 'vitest';
import {
  assignRest,
  cellMeta,
  cellMetaIndex,
  cellPosition,
  cellValues,
  decodeBlock,
  encodeBlock,
  isoInstant,
  openBlock,
  type RowItemFields,
} from '#shared/domain/readings/blocks.ts';

describe('isoInstant', () => {
  it('formats an instant as toISOString does, across hours, days, years and before 1970', () => {
    let x = 7;
    const next = () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x / 2_147_483_648;
    };
    const samples = [0, -1, 999, 3_599_999, 3_600_000, Date.parse('2026-12-31T23:59:59.999Z'), -62_135_596_800_000];
    for (let i = 0; i < 2_000; i++) samples.push(Math.floor((next() - 0.3) * 4e12));
    // nearby instants alternate within and across cached hours
    for (let i = 0; i < 500; i++) samples.push(1_796_000_000_000 + Math.floor(next() * 2 * 3_600_000));
    // whole seconds and whole minutes (every DataTime), each second of an hour
    for (let i = 0; i < 3_700; i++) samples.push(1_796_000_000_000 + i * 1_000, 1_796_000_000_000 + i * 60_000);
    for (const ms of samples) expect(isoInstant(ms)).toBe(new Date(ms).toISOString());
  });

  it('keeps what toISOString does for an instant that is not a whole millisecond or not a time', () => {
    expect(isoInstant(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
  });
});

describe('encodeBlock', () => {
  const START = Date.parse('2026-12-01T02:00:00.000Z');
  const row = (i: number, origin: [string, string, string], cell: Record<string, unknown>): RowItemFields => ({
    dataTime: new Date(START + i * 30_000).toISOString(),
    enterpriseId: origin[0],
    outletId: origin[1],
    source: origin[2],
    receivedAt: new Date(START + i * 30_000 + 3_000).toISOString(),
    cells: new Map([['a21026', cell]]),
  });

  it('keeps apart origins and cell rests whose texts run together, and gives each rest its JSON once', () => {
    const rows = [
      row(0, ['E1', 'O1', 'mqtt-hj212'], { values: { rtd: 1 }, flag: 'N' }),
      row(1, ['E1O', '1', 'mqtt-hj212'], { values: { rtd: 2 }, flag: '1a' }),
      row(2, ['E1', 'O1', 'mqtt-hj212'], { values: { rtd: 3 }, flag: '1', a: '' }),
      row(3, ['E1', 'O1', 'mqtt-hj212'], { values: { rtd: 4 }, flag: 1 }),
      row(4, ['E1', 'O1', 'mqtt-hj212'], { flag: 'N' }),
      row(5, ['E1', 'O1', 'mqtt-hj212'], { values: { rtd: 6 }, flag: 'N', notComputable: ['zsRtd'] }),
      row(6, ['E1', 'O1', 'mqtt-hj212'], { flag: 'N', values: { rtd: 7 }, eflag: undefined }),
    ];
    const block = encodeBlock(START, rows);
    expect(block.d).toEqual([
      ['E1', 'O1', 'mqtt-hj212'],
      ['E1O', '1', 'mqtt-hj212'],
    ]);
    expect(block.md).toEqual([
      '{"flag":"N"}',
      '{"flag":"1a"}',
      '{"flag":"1","a":""}',
      '{"flag":1}',
      '{"flag":"N","_nv":1}',
      '{"flag":"N","notComputable":["zsRtd"]}',
    ]);
    expect(block.c.a21026?.m).toEqual([0, 1, 2, 3, 4, 5, 0]);
    expect(decodeBlock(START, block).map((r) => r.cells.get('a21026'))).toEqual(
      rows.map((r) => {
        const { eflag: _eflag, ...cell } = r.cells.get('a21026') as Record<string, unknown>;
        return cell;
      }),
    );
  });

  it('refuses a row whose DataTime is not the ISO instant it stands for', () => {
    const bad = { ...row(0, ['E1', 'O1', 's'], { values: { rtd: 1 } }), dataTime: '2026-12-01T02:00:00Z' };
    expect(() => encodeBlock(START, [bad])).toThrow(/not an ISO instant/);
  });
});

describe('openBlock', () => {
  it('gives each cell as decodeBlock does: values full or with gaps, the rest by dictionary, cells without values', () => {
    const start = Date.parse('2026-11-28T16:00:00.000Z');
    const rows: RowItemFields[] = Array.from({ length: 6 }, (_, i) => ({
      dataTime: new Date(start + i * 60_000).toISOString(),
      enterpriseId: 'E1',
      outletId: 'O1',
      source: 'mqtt-hj212',
      receivedAt: new Date(start + i * 60_000 + 4_321).toISOString(),
      cells: new Map<string, Record<string, unknown>>([
        // every key in every cell
        ['a21026', { values: { avg: i + 0.5, min: i, max: i + 1.25 }, flag: i === 3 ? 'D' : 'N' }],
        // a key missing from some cells, a rest with a merged arrival, a cell without values
        [
          'a34013',
          i === 2
            ? { notComputable: ['zsAvg'] }
            : {
                values: { avg: i, ...(i % 2 === 0 ? {} : { zsAvg: i * 2 }) },
                ...(i === 4 ? { source: 'tcp-hj212', receivedAt: 'x' } : {}),
              },
        ],
        ...(i === 5 ? [['SB1', { values: { rs: 1 }, subject: 'facility' }] as const] : []),
      ]),
    }));
    const block = encodeBlock(start, rows);
    const decoded = decodeBlock(start, block);
    const open = openBlock(start, block);
    rows.forEach((_, row) => {
      for (const code of ['a21026', 'a34013', 'SB1']) {
        const n = cellPosition(open, code, row);
        const expected = decoded[row]?.cells.get(code);
        if (n < 0) {
          expect(expected).toBeUndefined();
          continue;
        }
        const meta = cellMeta(open, cellMetaIndex(open, code, n));
        const cell: Record<string, unknown> = {};
        assignRest(meta.rest, cell);
        if (meta.values) cell.values = cellValues(open, code, n);
        expect(cell).toEqual(expected);
        // keys in the same order
        expect(JSON.stringify(cell.values)).toBe(JSON.stringify(expected?.values));
      }
    });
  });
});
