import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReadingQuery, ReadingReader, ReadingStore } from '#shared/domain/ingest/ports.ts';
import { nullRecord } from '#shared/domain/null-record.ts';
import {
  expiresAt,
  type KindState,
  READING_KINDS,
  type Reading,
  type ReadingKind,
  type RetentionPolicy,
  readingIdentity,
  seriesKey,
} from '#shared/domain/readings/model.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';

/**
 * Readings and device state on the `readings` table (pk/sk strings, TTL on `expiresAt`):
 *   reading      pk `r#<mn>#<pollutant>#<kind>`  sk `<DataTime ISO>`   → Query one series over a time range, no scan;
 *                conditional put `attribute_not_exists(pk)`: the same reading twice is stored once (first wins);
 *                real-time and minute readings carry `expiresAt` (TTL), hourly and daily none.
 *   device state pk `d#<mn>`  sk `state#<kind>`: lastDataTime, lastReceivedAt, one attribute `p_<code>` per pollutant
 *                with its last values; updated only when not older (condition on lastDataTime).
 * The sealed archive's records share the table (pk `a#<chain>`, and the head item of before batching `d#<chain>` /
 * `archive`): see archive-store.ts.
 * Cost: one write per reading (no GSI is set on readings, so no index write), plus per message one state update (and
 * the archive's one record put); no reads in steady state. Single conditional PutItems rather than BatchWriteItem, which cannot
 * carry a condition: with a batch a resent packet would overwrite the first values (last writer wins) and duplicates
 * could not be counted; the puts of one message run in parallel, so latency stays one round trip.
 */
const PARALLEL = 16;
const STATE_PREFIX = 'state#';

export const readingKeys = {
  reading: (r: Pick<Reading, 'mn' | 'pollutant' | 'kind' | 'dataTime'>) => {
    const id = readingIdentity(r);
    return { pk: id.series, sk: id.at };
  },
  state: (mn: string, kind: ReadingKind) => ({ pk: `d#${mn}`, sk: `${STATE_PREFIX}${kind}` }),
};

const READING_FIELDS = [
  'mn',
  'enterpriseId',
  'outletId',
  'pollutant',
  'subject',
  'kind',
  'dataTime',
  'values',
  'flag',
  'eflag',
  'sentCode',
  'sampleTime',
  'notComputable',
  'resent',
  'source',
  'receivedAt',
] as const;

function toReading(item: Record<string, unknown>): Reading {
  const out: Record<string, unknown> = {};
  for (const f of READING_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as Reading;
}

export class DynamoReadingStore implements ReadingStore, ReadingReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(readings: Reading[], retention: RetentionPolicy): Promise<{ stored: number; duplicates: number }> {
    let stored = 0;
    let duplicates = 0;
    for (let i = 0; i < readings.length; i += PARALLEL) {
      const results = await Promise.all(
        readings.slice(i, i + PARALLEL).map(async (r) => {
          const ttl = expiresAt(r.kind, r.dataTime, retention);
          try {
            await this.db.send(
              new PutCommand({
                TableName: this.table,
                Item: { ...readingKeys.reading(r), ...r, ...(ttl !== undefined ? { expiresAt: ttl } : {}) },
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            );
            return true;
          } catch (err) {
            if (isConditionFailure(err)) return false;
            throw err;
          }
        }),
      );
      for (const ok of results) ok ? stored++ : duplicates++;
    }
    return { stored, duplicates };
  }

  async updateState(
    mn: string,
    kind: ReadingKind,
    dataTime: string,
    receivedAt: string,
    readings: Reading[],
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':t': dataTime, ':r': receivedAt, ':k': kind, ':mn': mn };
    const sets = ['lastDataTime = :t', 'lastReceivedAt = :r', 'lastArrivalAt = :r', 'kind = :k', 'mn = :mn'];
    readings.forEach((r, i) => {
      names[`#p${i}`] = `p_${r.pollutant}`;
      values[`:p${i}`] = {
        values: r.values,
        subject: r.subject,
        ...(r.flag !== undefined ? { flag: r.flag } : {}),
        ...(r.notComputable !== undefined ? { notComputable: r.notComputable } : {}),
      };
      sets.push(`#p${i} = :p${i}`);
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: readingKeys.state(mn, kind),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(lastDataTime) OR lastDataTime <= :t',
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    // older data (a backfill, a device clock set back): the last values stay, but the device did speak now, so the
    // data-gap job must not call it silent (one more write, only for out-of-order messages)
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: readingKeys.state(mn, kind),
          UpdateExpression: 'SET lastArrivalAt = :r',
          ConditionExpression: 'attribute_not_exists(lastArrivalAt) OR lastArrivalAt < :r',
          ExpressionAttributeValues: { ':r': receivedAt },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    return false;
  }

  async query(q: ReadingQuery): Promise<{ items: Reading[]; cursor?: string }> {
    const start = startKeyOf(q.cursor);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': seriesKey(q.mn, q.pollutant, q.kind), ':from': q.from, ':to': q.to },
        ScanIndexForward: q.order === 'asc',
        Limit: q.limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map(toReading), ...(cursor ? { cursor } : {}) };
  }

  async latest(mn: string): Promise<KindState[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':pk': `d#${mn}`, ':s': STATE_PREFIX },
      }),
    );
    const states: KindState[] = [];
    for (const item of out.Items ?? []) {
      const kind = String(item.sk).slice(STATE_PREFIX.length) as ReadingKind;
      if (!READING_KINDS.includes(kind)) continue;
      // keyed by device-sent codes: a null record, whatever the code
      const values: KindState['values'] = nullRecord();
      for (const [k, v] of Object.entries(item))
        if (k.startsWith('p_')) values[k.slice(2)] = v as KindState['values'][string];
      states.push({
        kind,
        lastDataTime: String(item.lastDataTime),
        lastReceivedAt: String(item.lastReceivedAt),
        ...(typeof item.lastArrivalAt === 'string' ? { lastArrivalAt: item.lastArrivalAt } : {}),
        values,
      });
    }
    return states.sort((a, b) => READING_KINDS.indexOf(a.kind) - READING_KINDS.indexOf(b.kind));
  }
}
