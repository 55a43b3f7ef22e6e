import { ConflictError, NotFoundError, PreconditionFailedError } from '#shared/domain/errors.ts';
import type {
  AuditEntry,
  ListQuery,
  Page,
  ParentKey,
  RegistryKind,
  RegistryStore,
  Versioned,
} from '#shared/domain/registry/store.ts';

/**
 * A RegistryStore in memory for use-case tests: same contract as the DynamoDB adapter (conflict on create,
 * not-found and version check on replace, audit entry per write, parent listing, numeric cursor).
 */
interface Row {
  value: Versioned<unknown>;
  parent: ParentKey | undefined;
}

export class MemoryRegistryStore implements RegistryStore {
  readonly rows = new Map<string, Row>();
  readonly audits: AuditEntry[] = [];

  private key(kind: RegistryKind, id: string) {
    return `${kind}#${id}`;
  }

  /** The raw stored item, hash included. */
  raw(kind: RegistryKind, id: string): unknown {
    return this.rows.get(this.key(kind, id))?.value.item;
  }

  async get<T>(kind: RegistryKind, id: string): Promise<Versioned<T> | undefined> {
    const row = this.rows.get(this.key(kind, id));
    return row ? structuredClone(row.value as Versioned<T>) : undefined;
  }

  async list<T>(kind: RegistryKind, query: ListQuery): Promise<Page<Versioned<T>>> {
    const all = [...this.rows.entries()]
      .filter(([k, row]) => {
        if (!k.startsWith(`${kind}#`)) return false;
        if (!query.parent) return true;
        return row.parent?.kind === query.parent.kind && row.parent.id === query.parent.id;
      })
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, row]) => structuredClone(row.value as Versioned<T>));
    const start = query.cursor ? Number(query.cursor) : 0;
    const items = all.slice(start, start + query.limit);
    const next = start + query.limit;
    return { items, ...(next < all.length ? { cursor: String(next) } : {}) };
  }

  async create<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    audit: AuditEntry,
  ): Promise<Versioned<T>> {
    const key = this.key(kind, id);
    if (this.rows.has(key)) throw new ConflictError(`${kind} ${id} already exists`);
    const value = { item: structuredClone(item), version: 1, createdAt: audit.at, updatedAt: audit.at };
    this.rows.set(key, { value, parent });
    this.audits.push(audit);
    return structuredClone(value);
  }

  async replace<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    expectedVersion: number | undefined,
    audit: AuditEntry,
  ): Promise<Versioned<T>> {
    const key = this.key(kind, id);
    const row = this.rows.get(key);
    if (!row) throw new NotFoundError(`${kind} ${id} does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== row.value.version) {
      throw new PreconditionFailedError(`${kind} ${id} is at version ${row.value.version}`);
    }
    const value = {
      item: structuredClone(item),
      version: row.value.version + 1,
      createdAt: row.value.createdAt,
      updatedAt: audit.at,
    };
    this.rows.set(key, { value, parent });
    this.audits.push(audit);
    return structuredClone(value) as Versioned<T>;
  }

  async audit(entry: AuditEntry): Promise<void> {
    this.audits.push(structuredClone(entry));
  }
}
