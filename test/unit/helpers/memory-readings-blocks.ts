import type { BlockLayout, RowItemFields } from '#shared/domain/readings/blocks.ts';
import type { ReadingKind } from '#shared/domain/readings/model.ts';
import type { BlockState, RollUpStore } from '#shared/domain/readings/roll-up.ts';

/** An in-memory RollUpStore: rows by device and kind, blocks and marks as the DynamoDB adapter keeps them. */
export class MemoryRollUpStore implements RollUpStore {
  readonly rows = new Map<string, RowItemFields[]>();
  readonly states = new Map<string, BlockState>();
  /** `<mn>#<kind>#<period start>` → rows in the block(s) */
  readonly blocks = new Map<string, number>();
  /** `<mn>#<kind>#<period start>` → the block's TTL */
  readonly ttls = new Map<string, number | undefined>();
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

  /** every read the roll-up makes, by kind of read: `states` (one per device), `rows` (one per page) */
  readonly reads = { states: 0, rows: 0 };
  /** rows per page of `rowsPage` (DynamoDB's page is 1 MB) */
  pageRows = 5;

  async blockStates(mn: string): Promise<Partial<Record<ReadingKind, BlockState>>> {
    this.reads.states++;
    const out: Partial<Record<ReadingKind, BlockState>> = {};
    for (const kind of ['realtime', 'minute'] as const) {
      const s = await this.state(mn, kind);
      if (s) out[kind] = s;
    }
    return out;
  }

  async rowsPage(mn: string, kind: ReadingKind, from: string | undefined, to: string) {
    this.reads.rows++;
    const all = (this.rows.get(`${mn}#${kind}`) ?? []).filter(
      (r) => (from === undefined || r.dataTime >= from) && r.dataTime < to,
    );
    const rows = all.slice(0, this.pageRows).map((row) => ({ row, ttl: Date.parse(row.dataTime) / 1000 + 86_400 }));
    return { rows, more: all.length > this.pageRows };
  }

  async putBlocks(
    mn: string,
    kind: ReadingKind,
    _layout: BlockLayout,
    start: number,
    rows: RowItemFields[],
    ttl: number | undefined,
  ): Promise<number> {
    this.puts++;
    this.blocks.set(`${mn}#${kind}#${new Date(start).toISOString()}`, rows.length);
    this.ttls.set(`${mn}#${kind}#${new Date(start).toISOString()}`, ttl);
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
