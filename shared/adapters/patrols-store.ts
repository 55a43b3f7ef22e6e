import { type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '#shared/domain/errors.ts';
import type { Patrol } from '#shared/domain/patrols/model.ts';
import type { PatrolStore } from '#shared/domain/patrols/use-cases.ts';
import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import { encodeCursor, startKeyOf } from './dynamodb.ts';
import { commitUploads } from './evidence-store.ts';
import { auditPut } from './registry-store.ts';

/**
 * Patrol reports as an item family in the TIPS table (the tips functions already hold it, and evidence for
 * owner kind `patrol` is tracked there too; no new table or grant):
 *   patrol: pk `patrol#<id>`, sk `#`; the patrol under `patrol`
 *           gsi1 `patrols#<sectionId | grid#<gridId>>` / `<endedAt>#<id>` → a section's patrols; latest = newest first
 * The gsi1 partition prefix `patrols#` never meets the triage queue's `status#`. Audit entries in the same transaction.
 * A finding becomes a tip inside the TIP's create transaction (tips-store.ts) through `findingTipUpdate`, so the tip
 * and the finding's mark are written together or not at all.
 */
export const patrolKeys = {
  patrol: (id: string) => ({ pk: `patrol#${id}`, sk: '#' }),
  partition: (p: { sectionId?: string; gridId?: string }) =>
    p.sectionId ? `patrols#${p.sectionId}` : `patrols#grid#${p.gridId}`,
};

/**
 * The transaction item that marks finding `n` of a patrol as turned into `tipId`, on the condition that the finding
 * exists and is not marked yet: of two conversions racing, exactly one transaction can pass it.
 */
export function findingTipUpdate(table: string, patrolId: string, n: number, tipId: string) {
  return {
    Update: {
      TableName: table,
      Key: patrolKeys.patrol(patrolId),
      UpdateExpression: `SET patrol.findings[${n}].tipId = :t`,
      ConditionExpression: `attribute_exists(patrol.findings[${n}]) AND attribute_not_exists(patrol.findings[${n}].tipId)`,
      ExpressionAttributeValues: { ':t': tipId },
    },
  };
}

export class DynamoPatrolStore implements PatrolStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { tips: string; audit: string },
  ) {}

  async create(patrol: Patrol, audit: AuditEntry, uploadIds: string[] = []): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.tips,
                Item: {
                  ...patrolKeys.patrol(patrol.id),
                  gsi1pk: patrolKeys.partition(patrol),
                  gsi1sk: `${patrol.endedAt}#${patrol.id}`,
                  kind: 'patrol',
                  patrol,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            auditPut(this.tables.audit, audit),
            ...commitUploads(this.tables.tips, { kind: 'patrol', id: patrol.id }, uploadIds, patrol.recordedAt),
          ],
        }),
      );
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      // a concurrent retry of the same patrol (same photos, resumed id) was written first
      if (reasons[0]?.Code === 'ConditionalCheckFailed')
        throw new ConflictError(`patrol ${patrol.id} is already recorded (巡查记录 ${patrol.id} 已存在)`);
      throw err;
    }
  }

  async get(id: string): Promise<Patrol | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.tips, Key: patrolKeys.patrol(id), ConsistentRead: true }),
    );
    return out.Item?.kind === 'patrol' ? (out.Item.patrol as Patrol) : undefined;
  }

  async bySection(sectionId: string, query: { limit: number; cursor?: string }): Promise<Page<Patrol>> {
    const start = startKeyOf(query.cursor);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.tips,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': patrolKeys.partition({ sectionId }) },
        ScanIndexForward: false,
        Limit: query.limit,
        ExclusiveStartKey: start,
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => i.patrol as Patrol), ...(cursor ? { cursor } : {}) };
  }

  async lastEndedAt(sectionId: string): Promise<string | undefined> {
    return (await this.bySection(sectionId, { limit: 1 })).items[0]?.endedAt;
  }
}
