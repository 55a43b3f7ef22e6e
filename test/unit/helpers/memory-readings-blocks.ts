import type { BlockLayout, RowItemFields } from '#shared/domain/readings/blocks.ts';
import type { ReadingKind } from '#shared/domain/readings/model.ts';
import type { BlockState, RollUpStore } from '#shared/domain/readings/roll-up.ts';

/** An in-memory RollUpStore: rows by device and kind, blocks and marks as the DynamoDB adapter keeps them. */
export class MemoryRollUpStore implements RollUpStore {
  readonly rows = new Map<string, RowItemFields[]>();
  readonly states = new Map<string, BlockState>();
  /** `<mn>#<kind>#<period start>` → rows in the block(s) */
  readonly blocks = new Map<string, number>();
  puts = 0;

  /** a row made by a packet received at `receivedAt` (default: its DataTime), its state moved as ingest moves it */
  addRow(mn: string, kind: ReadingKind, dataTime: string, receivedAt = dataTime, lateOnly = false): void {
    const state = this.states.get(`${mn}#${kind}`) ?? { late: [] };
    this.states.set(`${mn}#${kind}`, state);
    if (!state.lastDataTime || state.lastDataTime <= dataTime) state.lastDataTime = dataTime;
    else state.late.push(`${dataTime}|${receivedAt}`);
    if (!lateOnly) this.landRow(mn, kind, dataTime, receivedAt);
  }

  /** the row alone (its state written before, with `addRow(…, lateOnly)`: ingest writes both side by side) */
  landRow(mn: string, kind: ReadingKind, dataTime: string, receivedAt = dataTime, rtd = 1): void {
    const list = this.rows.get(`${mn}#${kind}`) ?? [];
    this.rows.set(`${mn}#${kind}`, list);
    list.push({
      dataTime,
      enterpriseId: 'E1',
      outletId: 'O1',
      source: 'mqtt-hj212',
      receivedAt,
      cells: new Map([['a21026', { values: { rtd } }]]),
    });
    list.sort((a, b) => (a.dataTime < b.dataTime ? -1 : 1));
  }

  async state(mn: string, kind: ReadingKind): Promise<BlockState | undefined> {
    const s = this.states.get(`${mn}#${kind}`);
    return s ? { ...s, late: [...s.late] } : undefined;
  }

  async firstRowAt(mn: string, kind: ReadingKind, from?: string): Promise<string | undefined> {
    return (this.rows.get(`${mn}#${kind}`) ?? []).find((r) => from === undefined || r.dataTime >= from)?.dataTime;
  }

  async periodRows(mn: string, kind: ReadingKind, from: string, to: string) {
    return { rows: (this.rows.get(`${mn}#${kind}`) ?? []).filter((r) => r.dataTime >= from && r.dataTime < to) };
  }

  async putBlocks(
    mn: string,
    kind: ReadingKind,
    _layout: BlockLayout,
    start: number,
    rows: RowItemFields[],
  ): Promise<number> {
    this.puts++;
    this.blocks.set(`${mn}#${kind}#${new Date(start).toISOString()}`, rows.length);
    return 1;
  }

  async advance(mn: string, kind: ReadingKind, from: string | undefined, to: string, seen: string[]): Promise<boolean> {
    const s = this.states.get(`${mn}#${kind}`);
    if (!s || s.blocksTo !== from) return false;
    s.blocksTo = to;
    s.late = s.late.filter((t) => !seen.includes(t));
    return true;
  }
}
