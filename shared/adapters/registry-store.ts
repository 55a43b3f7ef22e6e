import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, PreconditionFailedError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import {
  type AuditEntry,
  type ListQuery,
  type Page,
  type ParentKey,
  REGISTRY_KIND_LABELS,
  type RegistryKind,
  type RegistryStore,
  type Versioned,
} from '#shared/domain/registry/store.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';

/**
 * The registry on one DynamoDB table.
 *   item:  pk `<kind>#<id>`, sk `#`; the entity's fields at top level, plus version/createdAt/updatedAt
 *   GSI1:  gsi1pk `<kind>`, gsi1sk `<id>`                    → list every item of a kind
 *   GSI2:  gsi2pk `<parentKind>#<parentId>`, gsi2sk `<kind>#<id>` → an enterprise's outlets and devices, a township's enterprises
 * Audit entries go to the audit table in the same transaction: pk `<entity>`, sk `<at>#<ulid>`.
 */
const META = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'version', 'createdAt', 'updatedAt', 'kind'] as const;

export const registryKeys = {
  pk: (kind: RegistryKind, id: string) => `${kind}#${id}`,
  sk: '#',
};

function toVersioned<T>(raw: Record<string, unknown>): Versioned<T> {
  const item: Record<string, unknown> = { ...raw };
  for (const k of META) delete item[k];
  return {
    item: item as T,
    version: Number(raw.version),
    createdAt: String(raw.createdAt),
    updatedAt: String(raw.updatedAt),
  };
}

export function auditPut(auditTable: string, audit: AuditEntry) {
  return {
    Put: {
      TableName: auditTable,
      Item: {
        pk: audit.entity,
        sk: `${audit.at}#${ulid()}`,
        gsi1pk: `actor#${audit.actor}`,
        gsi1sk: audit.at,
        ...audit,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** The registry read-only (get and list): for the functions and the gateway that never write it; no audit table. */
export class DynamoRegistryReader implements Pick<RegistryStore, 'get' | 'list'> {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly table: string,
  ) {}

  async get<T>(kind: RegistryKind, id: string): Promise<Versioned<T> | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: registryKeys.pk(kind, id), sk: registryKeys.sk } }),
    );
    return out.Item ? toVersioned<T>(out.Item) : undefined;
  }

  async list<T>(kind: RegistryKind, query: ListQuery): Promise<Page<Versioned<T>>> {
    const start = startKeyOf(query.cursor);
    const out = await this.db.send(
      new QueryCommand(
        query.parent
          ? {
              TableName: this.table,
              IndexName: 'gsi2',
              KeyConditionExpression: 'gsi2pk = :p AND begins_with(gsi2sk, :k)',
              ExpressionAttributeValues: { ':p': `${query.parent.kind}#${query.parent.id}`, ':k': `${kind}#` },
              Limit: query.limit,
              ExclusiveStartKey: start,
            }
          : {
              TableName: this.table,
              IndexName: 'gsi1',
              KeyConditionExpression: 'gsi1pk = :k',
              ExpressionAttributeValues: { ':k': kind },
              Limit: query.limit,
              ExclusiveStartKey: start,
            },
      ),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => toVersioned<T>(i)), ...(cursor ? { cursor } : {}) };
  }
}

/** The registry read and written: every create and replace writes its audit entry in the same transaction. */
export class DynamoRegistryStore extends DynamoRegistryReader implements RegistryStore {
  constructor(
    db: DynamoDBDocumentClient,
    table: string,
    private readonly auditTable: string,
  ) {
    super(db, table);
  }

  async create<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    audit: AuditEntry,
  ): Promise<Versioned<T>> {
    const record = this.record(kind, id, item, parent, 1, audit.at, audit.at);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.table, Item: record, ConditionExpression: 'attribute_not_exists(pk)' } },
            auditPut(this.auditTable, { ...audit, detail: { ...audit.detail, version: 1 } }),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err))
        throw new ConflictError(`${kind} ${id} already exists (${REGISTRY_KIND_LABELS[kind]} ${id} 已存在)`);
      throw err;
    }
    return { item, version: 1, createdAt: audit.at, updatedAt: audit.at };
  }

  async replace<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    expectedVersion: number | undefined,
    audit: AuditEntry,
  ): Promise<Versioned<T>> {
    const current = await this.get<T>(kind, id);
    if (!current) throw new NotFoundError(`${kind} ${id} does not exist (${REGISTRY_KIND_LABELS[kind]} ${id} 不存在)`);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError(
        `${kind} ${id} is at version ${current.version}, not ${expectedVersion} (${REGISTRY_KIND_LABELS[kind]}当前为第 ${current.version} 版，不是第 ${expectedVersion} 版，请重新读取)`,
      );
    }
    const version = current.version + 1;
    const record = this.record(kind, id, item, parent, version, current.createdAt, audit.at);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: record,
                ConditionExpression: 'version = :v',
                ExpressionAttributeValues: { ':v': current.version },
              },
            },
            auditPut(this.auditTable, { ...audit, detail: { ...audit.detail, version } }),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err))
        throw new PreconditionFailedError(
          `${kind} ${id} was changed by someone else; reload and retry (${REGISTRY_KIND_LABELS[kind]}已被他人修改，请重新读取后重试)`,
        );
      throw err;
    }
    return { item, version, createdAt: current.createdAt, updatedAt: audit.at };
  }

  async audit(entry: AuditEntry): Promise<void> {
    await this.db.send(new PutCommand(auditPut(this.auditTable, entry).Put));
  }

  private record<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    version: number,
    createdAt: string,
    updatedAt: string,
  ) {
    return {
      ...(item as Record<string, unknown>),
      pk: registryKeys.pk(kind, id),
      sk: registryKeys.sk,
      kind,
      gsi1pk: kind,
      gsi1sk: id,
      ...(parent ? { gsi2pk: `${parent.kind}#${parent.id}`, gsi2sk: `${kind}#${id}` } : {}),
      version,
      createdAt,
      updatedAt,
    };
  }
}
