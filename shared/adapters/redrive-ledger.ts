import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type BackoffState, SOURCES, type SourceName } from '#shared/domain/redrive/model.ts';
import type { RedriveLedger } from '#shared/domain/redrive/ports.ts';

/**
 * The redrive's ledger, as items of the alarms table (its operational items live there, beside the calendar check's
 * once-claims):
 *   `redrive#state#<source>` / `state`    the source's backoff (`failures`, `nextAttemptAt`, `failing`, `since`)
 *   `redrive#replay#<payload key>` / `replay`   `replays` (how often the payload went back), `firstAt`, `lastAt`,
 *                                          TTL `expiresAt` = `ledgerDays` after the last replay
 * No index keys: these items never appear in the alarms' lists.
 */
const stateKey = (source: SourceName) => ({ pk: `redrive#state#${source}`, sk: 'state' });
const replayItemKey = (key: string) => ({ pk: `redrive#replay#${key}`, sk: 'replay' });

export class DynamoRedriveLedger implements RedriveLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ledgerDays: number,
  ) {}

  async states(): Promise<Partial<Record<SourceName, BackoffState>>> {
    const items = await this.batchGet(SOURCES.map(stateKey));
    const out: Partial<Record<SourceName, BackoffState>> = {};
    for (const source of SOURCES) {
      const item = items.get(stateKey(source).pk);
      if (!item) continue;
      out[source] = {
        failures: Number(item.failures ?? 0),
        ...(typeof item.nextAttemptAt === 'string' ? { nextAttemptAt: item.nextAttemptAt } : {}),
        ...(Array.isArray(item.failing) ? { failing: item.failing.map(String) } : {}),
        ...(typeof item.since === 'string' ? { since: item.since } : {}),
      };
    }
    return out;
  }

  async saveState(source: SourceName, state: BackoffState): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...stateKey(source),
          kind: 'redrive-state',
          failures: state.failures,
          ...(state.nextAttemptAt ? { nextAttemptAt: state.nextAttemptAt } : {}),
          ...(state.failing?.length ? { failing: state.failing } : {}),
          ...(state.since ? { since: state.since } : {}),
        },
      }),
    );
  }

  async replays(keys: readonly string[]): Promise<Map<string, number>> {
    const items = await this.batchGet(keys.map(replayItemKey));
    const out = new Map<string, number>();
    for (const key of keys) {
      const item = items.get(replayItemKey(key).pk);
      if (item) out.set(key, Number(item.replays ?? 0));
    }
    return out;
  }

  async recordReplay(key: string, at: Date): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: replayItemKey(key),
        UpdateExpression:
          'ADD replays :one SET firstAt = if_not_exists(firstAt, :at), lastAt = :at, expiresAt = :exp, kind = :kind',
        ExpressionAttributeValues: {
          ':one': 1,
          ':at': at.toISOString(),
          ':exp': Math.floor(at.getTime() / 1000) + this.ledgerDays * 86_400,
          ':kind': 'redrive-replay',
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.replays ?? 1);
  }

  /** Items by pk (100 keys per request; unprocessed keys asked again, a few times). */
  private async batchGet(keys: { pk: string; sk: string }[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt >= 5) throw new Error(`${pending.length} ledger item(s) could not be read`);
        const res: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of res.Responses?.[this.table] ?? []) out.set(String(item.pk), item);
        pending = res.UnprocessedKeys?.[this.table]?.Keys;
        if (pending?.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    return out;
  }
}
