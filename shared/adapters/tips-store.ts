import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { PreconditionFailedError } from '#shared/domain/errors.ts';
import type { TimelineEntry, Tip, TipFilter, TipStatus } from '#shared/domain/tips/model.ts';
import {
  type AuditEntry,
  type Page,
  PatrolFindingTakenError,
  ReceiptCollisionError,
  type ReceiptRecord,
  RewardClaimedError,
  TipExistsError,
  type TipRecord,
  type TipStore,
} from '#shared/domain/tips/ports.ts';
import type { ReceiptGuard } from '#shared/domain/tips/receipt.ts';
import { linkedUnitId } from '#shared/domain/tips/triage.ts';
import type { SealedIdentity } from '#shared/domain/tips/vault.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';
import { commitUploads } from './evidence-store.ts';
import { findingTipUpdate } from './patrols-store.ts';
import { auditPut } from './registry-store.ts';

/** Index reads one filtered queue page may take before it answers with what it found and a cursor. */
const QUEUE_ROUNDS = 5;

/**
 * Tips on DynamoDB. Tips table (no reporter identity, phone, receipt code or IP in any attribute):
 *   tip:      pk `tip#<id>`, sk `#`; the tip under `tip`, plus `version`
 *             gsi1 `status#<status>` / `<receivedAt>#<id>`               → triage queue by status, oldest first
 *             (no gsi1 keys once merged into another tip: it leaves the queue)
 *             gsi2 `unit#<USCC>` / `<receivedAt>#<id>`                   → tips linked to a unit (named, else nearest)
 *             gsi3 `dup#<category>#<township>` / `<observed day>#<id>`   → likely duplicates (same category, place, days)
 *   entry:    pk `tip#<id>`, sk `entry#<at>#<entryId>`; messages, added information, identity accesses, reward claims
 *   receipt:  pk `receipt#<7-digit selector>`, sk `#`; tipId, scrypt hash of the code, guess guard. Unique by a
 *             conditional put, looked up by key: no index needed.
 * Identities table: pk `identity#<tipId>`, sk `#`; the sealed identity (vault.ts) and the open count. Nothing else.
 * A real-name tip's identity is written with the tip; an anonymous reporter's, when they claim the reward.
 * Audit entries go to the audit table in the same transaction as the change they describe. So do the items a tip
 * write settles elsewhere in the tips table: the patrol finding it comes from (patrols-store.ts, claimed on the
 * condition that it is unclaimed) and the upload slots of its evidence (evidence-store.ts, unreferenced mark cleared).
 */
export const tipKeys = {
  tip: (id: string) => ({ pk: `tip#${id}`, sk: '#' }),
  receipt: (selector: string) => ({ pk: `receipt#${selector}`, sk: '#' }),
  identity: (tipId: string) => ({ pk: `identity#${tipId}`, sk: '#' }),
  entry: (tipId: string, e: TimelineEntry) => ({ pk: `tip#${tipId}`, sk: `entry#${e.at}#${e.id}` }),
};

export function tipIndexKeys(tip: Tip): Record<string, string> {
  const order = `${tip.receivedAt}#${tip.id}`;
  const unit = linkedUnitId(tip);
  return {
    // a merged tip leaves the triage queue (and the overdue listing): it has no gsi1 keys
    ...(tip.mergedInto ? {} : { gsi1pk: `status#${tip.status}`, gsi1sk: order }),
    ...(unit ? { gsi2pk: `unit#${unit}`, gsi2sk: order } : {}),
    gsi3pk: `dup#${tip.category}#${tip.location.townshipId}`,
    gsi3sk: `${tip.observedAt.slice(0, 10)}#${tip.id}`,
  };
}

/** The stored item of a tip at a version: its key, its index keys and the tip. The one shape every write uses. */
export function tipItem(tip: Tip, version: number) {
  return { ...tipKeys.tip(tip.id), ...tipIndexKeys(tip), kind: 'tip', tip, version };
}

/**
 * The tips and their timelines on the tips table, with their audit entries: what a reader or writer of tips that
 * never touches reporter identities needs (the case functions: shared/adapters/case-sources.ts). DynamoTipStore adds
 * the identities table.
 */
export class DynamoTipRecords {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly tables: { tips: string; audit: string },
  ) {}

  get tipsTable(): string {
    return this.tables.tips;
  }

  async get(tipId: string): Promise<TipRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tables.tips, Key: tipKeys.tip(tipId) }));
    if (out.Item?.kind !== 'tip') return undefined;
    return { tip: out.Item.tip as Tip, version: Number(out.Item.version) };
  }

  async timeline(tipId: string): Promise<TimelineEntry[]> {
    const entries: TimelineEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tables.tips,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
          ExpressionAttributeValues: { ':pk': tipKeys.tip(tipId).pk, ':e': 'entry#' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) entries.push(item.entry as TimelineEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return entries;
  }

  async addEntry(tipId: string, entry: TimelineEntry, audit: AuditEntry, uploadIds: string[] = []): Promise<void> {
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: this.tables.tips,
              Key: tipKeys.tip(tipId),
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
          this.entryPut(tipId, entry),
          auditPut(this.tables.audit, audit),
          ...commitUploads(this.tables.tips, { kind: 'tip', id: tipId }, uploadIds, entry.at),
        ],
      }),
    );
  }

  async update(tip: Tip, expectedVersion: number, audit: AuditEntry): Promise<TipRecord> {
    const version = expectedVersion + 1;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [this.tipPut(tip, expectedVersion), auditPut(this.tables.audit, audit)],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err))
        throw new PreconditionFailedError(
          `tip ${tip.id} was changed by someone else; reload (线索已被他人修改，请重新读取)`,
        );
      throw err;
    }
    return { tip, version };
  }

  /** The tip at the next version, on the condition that it is still at `expectedVersion`. */
  protected tipPut(tip: Tip, expectedVersion: number) {
    return {
      Put: {
        TableName: this.tables.tips,
        Item: tipItem(tip, expectedVersion + 1),
        ConditionExpression: 'version = :v',
        ExpressionAttributeValues: { ':v': expectedVersion },
      },
    };
  }

  /** A new timeline entry under the tip (never overwrites: a seeded entry id written twice fails the condition). */
  protected entryPut(tipId: string, entry: TimelineEntry) {
    return {
      Put: {
        TableName: this.tables.tips,
        Item: { ...tipKeys.entry(tipId, entry), kind: 'entry', entry },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
}

export class DynamoTipStore extends DynamoTipRecords implements TipStore {
  private readonly identities: string;

  constructor(db: DynamoDBDocumentClient, tables: { tips: string; identities: string; audit: string }) {
    super(db, { tips: tables.tips, audit: tables.audit });
    this.identities = tables.identities;
  }

  async create(input: Parameters<TipStore['create']>[0]): Promise<void> {
    const { tip, receipt, identity, audit, finding } = input;
    const notExists = 'attribute_not_exists(pk)';
    const own = [
      { Put: { TableName: this.tables.tips, Item: tipItem(tip, 1), ConditionExpression: notExists } },
      {
        Put: {
          TableName: this.tables.tips,
          Item: {
            ...tipKeys.receipt(receipt.selector),
            kind: 'receipt',
            tipId: tip.id,
            hash: receipt.hash,
            guard: { failures: 0 },
          },
          ConditionExpression: notExists,
        },
      },
      ...(identity
        ? [
            {
              Put: {
                TableName: this.identities,
                Item: { ...tipKeys.identity(tip.id), sealed: identity, openCount: 0 },
                ConditionExpression: notExists,
              },
            },
          ]
        : []),
      auditPut(this.tables.audit, audit),
    ];
    const findingAt = own.length;
    const items = [
      ...own,
      ...(finding
        ? [
            findingTipUpdate(this.tables.tips, finding.patrolId, finding.index, tip.id),
            auditPut(this.tables.audit, finding.audit),
          ]
        : []),
      ...commitUploads(this.tables.tips, { kind: 'tip', id: tip.id }, input.uploadIds ?? [], tip.receivedAt),
    ];
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      const code = (i: number) => reasons[i]?.Code;
      // the finding first: a lost race for it is the expected failure (a TransactionConflict while the winner commits)
      if (finding && (code(findingAt) === 'ConditionalCheckFailed' || code(findingAt) === 'TransactionConflict')) {
        throw new PatrolFindingTakenError(finding.patrolId, finding.index);
      }
      if (code(0) === 'ConditionalCheckFailed') throw new TipExistsError(tip.id);
      if (code(1) === 'ConditionalCheckFailed') throw new ReceiptCollisionError();
      throw err;
    }
  }

  async receipt(selector: string): Promise<ReceiptRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tables.tips, Key: tipKeys.receipt(selector) }));
    if (out.Item?.kind !== 'receipt') return undefined;
    return {
      selector,
      tipId: String(out.Item.tipId),
      hash: String(out.Item.hash),
      guard: (out.Item.guard as ReceiptGuard | undefined) ?? { failures: 0 },
    };
  }

  async recordReceiptFailure(selector: string, guard: ReceiptGuard, audit?: AuditEntry): Promise<void> {
    const update = {
      TableName: this.tables.tips,
      Key: tipKeys.receipt(selector),
      UpdateExpression: 'SET guard = :g',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':g': guard },
    };
    if (!audit) {
      await this.db.send(new UpdateCommand(update));
      return;
    }
    await this.db.send(
      new TransactWriteCommand({ TransactItems: [{ Update: update }, auditPut(this.tables.audit, audit)] }),
    );
  }

  async queue(status: TipStatus, query: { limit: number; cursor?: string; filter?: TipFilter }): Promise<Page<Tip>> {
    const { townshipId, category, from, to } = query.filter ?? {};
    // the time range is a key condition on the index (received time first in the sort key); township and category a
    // filter: each round reads at most what is still missing, so a page never holds more than `limit` tips
    const range =
      from && to ? ' AND gsi1sk BETWEEN :from AND :to' : from ? ' AND gsi1sk >= :from' : to ? ' AND gsi1sk < :to' : '';
    const filters = [
      ...(townshipId ? ['#tip.#location.#township = :township'] : []),
      ...(category ? ['#tip.#category = :category'] : []),
    ];
    const names = {
      ...(townshipId ? { '#tip': 'tip', '#location': 'location', '#township': 'townshipId' } : {}),
      ...(category ? { '#tip': 'tip', '#category': 'category' } : {}),
    };
    const values = {
      ':s': `status#${status}`,
      ...(from ? { ':from': new Date(from).toISOString() } : {}),
      // BETWEEN is inclusive: stop just before `to` (`<instant>#<id>` sorts after the bare instant)
      ...(to ? { ':to': from ? `${new Date(Date.parse(to) - 1).toISOString()}#~` : new Date(to).toISOString() } : {}),
      ...(townshipId ? { ':township': townshipId } : {}),
      ...(category ? { ':category': category } : {}),
    };
    const items: Tip[] = [];
    let start = startKeyOf(query.cursor);
    for (let round = 0; round < QUEUE_ROUNDS; round++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tables.tips,
          IndexName: 'gsi1',
          KeyConditionExpression: `gsi1pk = :s${range}`,
          ...(filters.length ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          Limit: query.limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []).map((i) => i.tip as Tip));
      start = out.LastEvaluatedKey;
      if (!start || items.length >= query.limit || filters.length === 0) break;
    }
    const cursor = encodeCursor(start);
    return { items, ...(cursor ? { cursor } : {}) };
  }

  /** Tips in one status received before `before` (exclusive ISO instant), oldest first: one gsi1 query. */
  async queueBefore(status: TipStatus, before: string, limit: number): Promise<Tip[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.tips,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :s AND gsi1sk < :b',
        ExpressionAttributeValues: { ':s': `status#${status}`, ':b': before },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => i.tip as Tip);
  }

  async merge(input: {
    primary: TipRecord;
    duplicate: TipRecord;
    entries: { primary: TimelineEntry; duplicate: TimelineEntry };
    audit: AuditEntry;
  }): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.tipPut(input.primary.tip, input.primary.version),
            this.tipPut(input.duplicate.tip, input.duplicate.version),
            this.entryPut(input.primary.tip.id, input.entries.primary),
            this.entryPut(input.duplicate.tip.id, input.entries.duplicate),
            auditPut(this.tables.audit, input.audit),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err))
        throw new PreconditionFailedError(
          'one of the tips was changed by someone else; reload (其中一条线索已被他人修改，请重新读取)',
        );
      throw err;
    }
  }

  async sealedIdentity(tipId: string): Promise<SealedIdentity | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.identities, Key: tipKeys.identity(tipId), ConsistentRead: true }),
    );
    return out.Item?.sealed as SealedIdentity | undefined;
  }

  async recordIdentityAccess(
    tipId: string,
    entry: Extract<TimelineEntry, { type: 'identity_access' }>,
    audit: AuditEntry,
  ): Promise<void> {
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          auditPut(this.tables.audit, audit),
          this.entryPut(tipId, entry),
          {
            Update: {
              TableName: this.identities,
              Key: tipKeys.identity(tipId),
              UpdateExpression: 'SET openCount = openCount + :one, lastOpenedAt = :at',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':one': 1, ':at': entry.at },
            },
          },
        ],
      }),
    );
  }

  async recordRewardClaim(input: Parameters<TipStore['recordRewardClaim']>[0]): Promise<void> {
    const { tip, expectedVersion, identity, entry, audit } = input;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.tipPut(tip, expectedVersion),
            {
              Put: {
                TableName: this.identities,
                Item: { ...tipKeys.identity(tip.id), sealed: identity, openCount: 0 },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            this.entryPut(tip.id, entry),
            auditPut(this.tables.audit, audit),
          ],
        }),
      );
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[1]?.Code === 'ConditionalCheckFailed') throw new RewardClaimedError(tip.id);
      if (reasons[0]?.Code === 'ConditionalCheckFailed') {
        throw new PreconditionFailedError(
          `tip ${tip.id} was changed by someone else; reload (线索已被他人修改，请重新读取)`,
        );
      }
      throw err;
    }
  }
}
