import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  BLOCK_LAYOUTS,
  type BlockLayout,
  blockKey,
  type EncodedBlock,
  encodeBlock,
  type OpenBlock,
  openBlock,
  type RowItemFields,
} from '#shared/domain/readings/blocks.ts';
import { type ReadingKind, rowKey } from '#shared/domain/readings/model.ts';
import type { BlockState, RollUpStore, StoredRow } from '#shared/domain/readings/roll-up.ts';
import { isConditionFailure } from './dynamodb.ts';

/**
 * Readings blocks on the `readings` table (shared/domain/readings/blocks.ts):
 *   block   pk `rb#<mn>#<kind>` (every code) or `rb#<mn>#<kind>#<code>`, sk `<period start ISO>`: `z` the encoded
 *           block (JSON, gzip; binary), `n` its rows, `expiresAt` the latest TTL of its rows (blocks go with their
 *           rows). A period whose block would pass MAX_BLOCK_BYTES is marked `rows: true` instead: read from rows.
 *   mark    on the device's state item (`d#<mn>` / `state#<kind>`, readings-store.ts): `blocksTo` (every closed period
 *           before it is in blocks) and `late` (a string set of `<DataTime>|<receivedAt>` of data written out of order,
 *           built again by the next roll-up).
 * Codes come from stored row attributes (`p_<code>`, letters and digits, checked again here).
 */
export const CODE_PREFIX = 'p_';
const CODE = /^[A-Za-z0-9]{1,16}$/;
/** DynamoDB items are at most 400 KB: a bigger block is not written (its period is read from rows) */
export const MAX_BLOCK_BYTES = 350_000;

/** a device's state item per kind (the ingest's latest values and the roll-up's marks), readings-store.ts too */
export const STATE_SK_PREFIX = 'state#';
export const blockStateKey = (mn: string, kind: ReadingKind) => ({ pk: `d#${mn}`, sk: `${STATE_SK_PREFIX}${kind}` });

/** The fields of a stored row item a block keeps. */
export function rowFields(item: Record<string, unknown>): RowItemFields {
  const cells = new Map<string, Record<string, unknown>>();
  for (const [key, cell] of Object.entries(item)) {
    if (!key.startsWith(CODE_PREFIX) || !cell || typeof cell !== 'object') continue;
    const code = key.slice(CODE_PREFIX.length);
    if (CODE.test(code)) cells.set(code, cell as Record<string, unknown>);
  }
  return {
    dataTime: typeof item.dataTime === 'string' ? item.dataTime : String(item.sk),
    enterpriseId: String(item.enterpriseId),
    outletId: String(item.outletId),
    source: String(item.source),
    receivedAt: String(item.receivedAt),
    cells,
  };
}

/** A row item as the rows layout stores it (what rowReadings reads), from a block's row. */
export function rowItemOf(mn: string, kind: ReadingKind, row: RowItemFields): Record<string, unknown> {
  const item: Record<string, unknown> = {
    pk: rowKey(mn, kind),
    sk: row.dataTime,
    mn,
    kind,
    dataTime: row.dataTime,
    enterpriseId: row.enterpriseId,
    outletId: row.outletId,
    source: row.source,
    receivedAt: row.receivedAt,
  };
  for (const [code, cell] of row.cells) item[`${CODE_PREFIX}${code}`] = cell;
  return item;
}

export function packBlock(block: EncodedBlock): Uint8Array {
  return gzipSync(JSON.stringify(block));
}

export function unpackBlock(z: Uint8Array): EncodedBlock {
  return JSON.parse(gunzipSync(z).toString('utf8')) as EncodedBlock;
}

/** The state item's block mark, for the roll-up and for queries. */
export async function readBlockState(
  db: DynamoDBDocumentClient,
  table: string,
  mn: string,
  kind: ReadingKind,
  consistent = false,
): Promise<BlockState | undefined> {
  const out = await db.send(
    new GetCommand({
      TableName: table,
      Key: blockStateKey(mn, kind),
      ProjectionExpression: BLOCK_STATE_FIELDS,
      ConsistentRead: consistent,
    }),
  );
  return out.Item ? blockStateOf(out.Item) : undefined;
}

const BLOCK_STATE_FIELDS = 'lastDataTime, blocksTo, late, blocksMovedAt';

function blockStateOf(item: Record<string, unknown>): BlockState {
  const late = item.late instanceof Set ? [...(item.late as Set<string>)].map(String) : [];
  return {
    ...(typeof item.lastDataTime === 'string' ? { lastDataTime: item.lastDataTime } : {}),
    ...(typeof item.blocksTo === 'string' ? { blocksTo: item.blocksTo } : {}),
    late,
    ...(typeof item.blocksMovedAt === 'string' ? { movedAt: item.blocksMovedAt } : {}),
  };
}

/** rows per page of the roll-up's stream: a few periods' worth (a real-time hour at 30 s is 120 rows, a minute day 1,440) */
export const ROLL_UP_PAGE_ROWS = 2_000;

export class DynamoRollUpStore implements RollUpStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * The device's state items side by side (pk `d#<mn>`, sk `state#<kind>`): one consistent Query for every kind, where
   * a GetItem per kind cost a round trip and at least one read unit each.
   */
  async blockStates(mn: string): Promise<Partial<Record<ReadingKind, BlockState>>> {
    const states: Partial<Record<ReadingKind, BlockState>> = {};
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)',
          ExpressionAttributeValues: { ':pk': blockStateKey(mn, 'realtime').pk, ':s': STATE_SK_PREFIX },
          ProjectionExpression: `sk, ${BLOCK_STATE_FIELDS}`,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const kind = String(item.sk).slice(STATE_SK_PREFIX.length);
        if (Object.hasOwn(BLOCK_LAYOUTS, kind)) states[kind as ReadingKind] = blockStateOf(item);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return states;
  }

  /** One page (at most 1 MB, DynamoDB's page) of rows of [from, to), ascending, consistent, each with its TTL. */
  async rowsPage(
    mn: string,
    kind: ReadingKind,
    from: string | undefined,
    to: string,
  ): Promise<{ rows: StoredRow[]; more: boolean }> {
    const out: QueryCommandOutput = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression:
          from !== undefined ? 'pk = :pk AND sk BETWEEN :from AND :last' : 'pk = :pk AND sk <= :last',
        ExpressionAttributeValues: {
          ':pk': rowKey(mn, kind),
          ...(from !== undefined ? { ':from': from } : {}),
          ':last': new Date(Date.parse(to) - 1).toISOString(),
        },
        ConsistentRead: true,
        // a page of at most ROLL_UP_PAGE_ROWS: DynamoDB stops at 1 MB, but DynamoDB Local gathers every row of the
        // range first (a month of rows from a device's first row ran it out of heap on its first roll-up)
        Limit: ROLL_UP_PAGE_ROWS,
      }),
    );
    const rows = (out.Items ?? []).map((item) => ({
      row: rowFields(item),
      ...(typeof item.expiresAt === 'number' ? { ttl: item.expiresAt } : {}),
    }));
    return { rows, more: out.LastEvaluatedKey !== undefined };
  }

  async putBlocks(
    mn: string,
    kind: ReadingKind,
    layout: BlockLayout,
    start: number,
    rows: RowItemFields[],
    ttl: number | undefined,
  ): Promise<number> {
    const sk = new Date(start).toISOString();
    const groups: [string, ReadonlySet<string> | undefined][] = layout.perCode
      ? [...new Set(rows.flatMap((r) => [...r.cells.keys()]))].map((code) => [
          blockKey(mn, kind, code),
          new Set([code]),
        ])
      : [[blockKey(mn, kind), undefined]];
    await Promise.all(
      groups.map(async ([pk, codes]) => {
        const block = encodeBlock(start, rows, codes);
        const z = packBlock(block);
        const base = { pk, sk, mn, kind, n: block.t.length, ...(ttl !== undefined ? { expiresAt: ttl } : {}) };
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: z.byteLength > MAX_BLOCK_BYTES ? { ...base, rows: true } : { ...base, z },
          }),
        );
      }),
    );
    return groups.length;
  }

  async advance(mn: string, kind: ReadingKind, from: string | undefined, to: string, seen: string[]): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: blockStateKey(mn, kind),
          // the move's time: a query that read the first page of blocks beside the mark trusts that page only when
          // the mark moved well before (readings-store.ts queryBlocks)
          UpdateExpression: `SET blocksTo = :to, blocksMovedAt = :now${seen.length > 0 ? ' DELETE late :seen' : ''}`,
          ConditionExpression: from === undefined ? 'attribute_not_exists(blocksTo)' : 'blocksTo = :from',
          ExpressionAttributeValues: {
            ':to': to,
            ':now': new Date().toISOString(),
            ...(from !== undefined ? { ':from': from } : {}),
            ...(seen.length > 0 ? { ':seen': new Set(seen) } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}

/** One block item opened for reading (undefined: the period is marked to be read from rows). */
export function openBlockItem(item: Record<string, unknown>, start: number): OpenBlock | undefined {
  if (item.rows === true || !(item.z instanceof Uint8Array)) return undefined;
  return openBlock(start, unpackBlock(item.z));
}
