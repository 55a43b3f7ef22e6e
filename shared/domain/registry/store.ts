/** The port the registry use-cases need; shared/adapters/registry-store.ts implements it on DynamoDB. */
export type RegistryKind = 'townships' | 'enterprises' | 'outlets' | 'devices' | 'loggers';
/** Each kind in Chinese, for messages. */
export const REGISTRY_KIND_LABELS: Record<RegistryKind, string> = {
  townships: '乡镇（街道）',
  enterprises: '排污单位',
  outlets: '排放口',
  devices: '监测设备',
  loggers: '待分配数采仪',
};

export interface Versioned<T> {
  item: T;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface AuditEntry {
  actor: string;
  action: string;
  entity: string;
  at: string;
  detail?: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  /** opaque; pass back to get the next page */
  cursor?: string;
}

export interface ListQuery {
  /** children of one parent, e.g. `{ kind: 'enterprises', id: USCC }` for its outlets and devices */
  parent?: { kind: RegistryKind; id: string };
  limit: number;
  cursor?: string;
}

export interface RegistryStore {
  get<T>(kind: RegistryKind, id: string): Promise<Versioned<T> | undefined>;
  list<T>(kind: RegistryKind, query: ListQuery): Promise<Page<Versioned<T>>>;
  /** Fails with ConflictError if the id exists. Writes the audit entry in the same transaction. */
  create<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    audit: AuditEntry,
  ): Promise<Versioned<T>>;
  /**
   * Replaces an existing item (NotFoundError if absent), bumping its version; with `expectedVersion`,
   * fails with PreconditionFailedError when someone else changed it first. Audit entry in the same transaction.
   */
  replace<T>(
    kind: RegistryKind,
    id: string,
    item: T,
    parent: ParentKey | undefined,
    expectedVersion: number | undefined,
    audit: AuditEntry,
  ): Promise<Versioned<T>>;
  /** Appends an audit entry on its own: a step taken outside the registry table (an IoT Core call, say). */
  audit(entry: AuditEntry): Promise<void>;
}

/** The parent an item is listed under (enterprise → township; outlet and device → enterprise). */
export interface ParentKey {
  kind: RegistryKind;
  id: string;
}
