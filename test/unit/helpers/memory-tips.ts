import { randomBytes } from 'node:crypto';
import { ConflictError, PreconditionFailedError } from '#shared/domain/errors.ts';
import type { Patrol } from '#shared/domain/patrols/model.ts';
import type { PatrolStore } from '#shared/domain/patrols/use-cases.ts';
import type { AuditEntry } from '#shared/domain/registry/store.ts';
import { EvidenceError, type EvidenceFinalizer, type EvidenceItem } from '#shared/domain/tips/evidence-port.ts';
import type { TimelineEntry, Tip, TipFilter, TipStatus } from '#shared/domain/tips/model.ts';
import {
  PatrolFindingTakenError,
  ReceiptCollisionError,
  type ReceiptRecord,
  RewardClaimedError,
  TipExistsError,
  type TipStore,
} from '#shared/domain/tips/ports.ts';
import type { DataKeyService, SealedIdentity } from '#shared/domain/tips/vault.ts';

/**
 * In-memory stand-ins (not mocks) for the tip and patrol use-cases, with the ports' semantics: every "transaction"
 * checks all its conditions before it writes anything, as DynamoDB does, and runs without an await in between, so
 * concurrent calls interleave only where real requests would.
 */

/** Evidence uploads as the S3/DynamoDB finalizer keeps them: claimed by one owner, sealed once, unreferenced until
 * the owner's transaction commits them. */
export class MemoryEvidence implements EvidenceFinalizer {
  slots = new Map<string, { owner: string; item: EvidenceItem; unreferenced: boolean }>();
  /** how many originals were sealed (each one is a write to the Object Lock bucket that cannot be undone) */
  sealed = 0;

  async finalize({ owner, uploadIds }: Parameters<EvidenceFinalizer['finalize']>[0]): Promise<EvidenceItem[]> {
    const ref = `${owner.kind}#${owner.id}`;
    for (const id of uploadIds) {
      if (id.startsWith('0BAD')) throw new EvidenceError('upload was never completed', id);
      const slot = this.slots.get(id);
      if (slot && slot.owner !== ref) throw new EvidenceError(`upload ${id} is already attached`, id);
    }
    return uploadIds.map((id) => {
      const done = this.slots.get(id);
      if (done) return done.item;
      this.sealed++;
      const item: EvidenceItem = {
        id: `E-${id}`,
        kind: 'photo',
        contentType: 'image/jpeg',
        bytes: 1000,
        sha256: 'a'.repeat(64),
        originalKey: `evidence/${owner.kind}/${owner.id}/E-${id}/original`,
        workingKey: `evidence/${owner.kind}/${owner.id}/E-${id}/working.jpg`,
        finalizedAt: '2025-03-02T00:00:00.000Z',
      };
      this.slots.set(id, { owner: ref, item, unreferenced: true });
      return item;
    });
  }

  async unreferencedOwner(uploadIds: string[]) {
    const claimed = uploadIds.map((id) => this.slots.get(id)).filter((s) => s !== undefined);
    const owners = new Set(claimed.map((s) => s.owner));
    if (owners.size !== 1 || claimed.some((s) => !s.unreferenced)) return undefined;
    const [kind, id] = (claimed[0]?.owner ?? '').split('#') as ['tip' | 'patrol', string];
    return { kind, id };
  }

  /** What the store's transaction does with `uploadIds`: the condition (still ours), then the mark cleared. */
  checkCommit(owner: string, uploadIds: readonly string[]) {
    for (const id of uploadIds) if (this.slots.get(id)?.owner !== owner) throw new Error('ConditionalCheckFailed');
  }
  commit(uploadIds: readonly string[]) {
    for (const id of uploadIds) {
      const slot = this.slots.get(id);
      if (slot) slot.unreferenced = false;
    }
  }

  /** The orphan report: sealed originals no owner references. */
  unreferenced(): { uploadId: string; owner: string; originalKey: string }[] {
    return [...this.slots]
      .filter(([, s]) => s.unreferenced)
      .map(([uploadId, s]) => ({ uploadId, owner: s.owner, originalKey: s.item.originalKey }));
  }
}

export class MemoryPatrolStore implements PatrolStore {
  patrols = new Map<string, Patrol>();
  audit: AuditEntry[] = [];
  constructor(readonly evidence?: MemoryEvidence) {}

  async create(patrol: Patrol, audit: AuditEntry, uploadIds: string[] = []) {
    if (this.patrols.has(patrol.id)) throw new ConflictError(`patrol ${patrol.id} is already recorded`);
    this.evidence?.checkCommit(`patrol#${patrol.id}`, uploadIds);
    this.patrols.set(patrol.id, structuredClone(patrol));
    this.evidence?.commit(uploadIds);
    this.audit.push(audit);
  }
  async get(id: string) {
    const p = this.patrols.get(id);
    return p ? structuredClone(p) : undefined;
  }
  async bySection(sectionId: string) {
    return { items: [...this.patrols.values()].filter((p) => p.sectionId === sectionId) };
  }
  async lastEndedAt(sectionId: string) {
    return (await this.bySection(sectionId)).items
      .map((p) => p.endedAt)
      .sort()
      .at(-1);
  }
}

export class MemoryTipStore implements TipStore {
  tips = new Map<string, { tip: Tip; version: number }>();
  receipts = new Map<string, ReceiptRecord>();
  identities = new Map<string, SealedIdentity>();
  entries = new Map<string, TimelineEntry[]>();
  audit: AuditEntry[] = [];
  failNextAccess = false;
  collisions = 0;
  /** the next N creates fail as a throttled or cancelled transaction would: nothing written */
  failCreates = 0;

  constructor(readonly links: { evidence?: MemoryEvidence; patrols?: MemoryPatrolStore } = {}) {}

  async create(i: Parameters<TipStore['create']>[0]) {
    if (this.failCreates > 0) {
      this.failCreates--;
      throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' });
    }
    const patrol = i.finding ? this.links.patrols?.patrols.get(i.finding.patrolId) : undefined;
    if (i.finding && (!patrol?.findings[i.finding.index] || patrol.findings[i.finding.index]?.tipId)) {
      throw new PatrolFindingTakenError(i.finding.patrolId, i.finding.index);
    }
    if (this.tips.has(i.tip.id)) throw new TipExistsError(i.tip.id);
    if (this.collisions > 0 || this.receipts.has(i.receipt.selector)) {
      this.collisions--;
      throw new ReceiptCollisionError();
    }
    this.links.evidence?.checkCommit(`tip#${i.tip.id}`, i.uploadIds ?? []);
    this.tips.set(i.tip.id, { tip: i.tip, version: 1 });
    this.receipts.set(i.receipt.selector, { ...i.receipt, tipId: i.tip.id, guard: { failures: 0 } });
    if (i.identity) this.identities.set(i.tip.id, i.identity);
    this.audit.push(i.audit);
    const finding = i.finding && patrol?.findings[i.finding.index];
    if (i.finding && finding) {
      finding.tipId = i.tip.id;
      this.audit.push(i.finding.audit);
    }
    this.links.evidence?.commit(i.uploadIds ?? []);
  }
  async get(id: string) {
    return this.tips.get(id);
  }
  async timeline(id: string) {
    return this.entries.get(id) ?? [];
  }
  async receipt(selector: string) {
    return this.receipts.get(selector);
  }
  async recordReceiptFailure(selector: string, guard: ReceiptRecord['guard'], audit?: AuditEntry) {
    const r = this.receipts.get(selector);
    if (r) this.receipts.set(selector, { ...r, guard });
    if (audit) this.audit.push(audit);
  }
  async addEntry(id: string, entry: TimelineEntry, audit: AuditEntry, uploadIds: string[] = []) {
    if (!this.tips.has(id)) throw new Error('no tip');
    this.links.evidence?.checkCommit(`tip#${id}`, uploadIds);
    this.entries.set(id, [...(this.entries.get(id) ?? []), entry]);
    this.audit.push(audit);
    this.links.evidence?.commit(uploadIds);
  }
  async update(tip: Tip, expectedVersion: number, audit: AuditEntry) {
    this.tips.set(tip.id, { tip, version: expectedVersion + 1 });
    this.audit.push(audit);
    return { tip, version: expectedVersion + 1 };
  }
  async queue(status: TipStatus, query: { limit: number; filter?: TipFilter } = { limit: 100 }) {
    const f = query.filter ?? {};
    const items = [...this.tips.values()]
      .map((t) => t.tip)
      .filter(
        (t) =>
          t.status === status &&
          !t.mergedInto &&
          (!f.townshipId || t.location.townshipId === f.townshipId) &&
          (!f.category || t.category === f.category) &&
          (!f.from || Date.parse(t.receivedAt) >= Date.parse(f.from)) &&
          (!f.to || Date.parse(t.receivedAt) < Date.parse(f.to)),
      )
      .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
    return { items: items.slice(0, query.limit) };
  }
  async queueBefore(status: TipStatus, before: string, limit: number) {
    return [...this.tips.values()]
      .map((t) => t.tip)
      .filter((t) => t.status === status && !t.mergedInto && t.receivedAt < before)
      .slice(0, limit);
  }
  async merge(i: Parameters<TipStore['merge']>[0]) {
    for (const r of [i.primary, i.duplicate]) {
      if (this.tips.get(r.tip.id)?.version !== r.version) throw new Error('version');
    }
    for (const r of [i.primary, i.duplicate]) this.tips.set(r.tip.id, { tip: r.tip, version: r.version + 1 });
    this.entries.set(i.primary.tip.id, [...(this.entries.get(i.primary.tip.id) ?? []), i.entries.primary]);
    this.entries.set(i.duplicate.tip.id, [...(this.entries.get(i.duplicate.tip.id) ?? []), i.entries.duplicate]);
    this.audit.push(i.audit);
  }
  async sealedIdentity(id: string) {
    return this.identities.get(id);
  }
  async recordIdentityAccess(
    id: string,
    entry: Extract<TimelineEntry, { type: 'identity_access' }>,
    audit: AuditEntry,
  ) {
    if (this.failNextAccess) throw new Error('TransactionCanceled');
    await this.addEntry(id, entry, audit);
  }
  /** the next N claims lose a race with an official's change: PreconditionFailedError, nothing written */
  staleClaims = 0;
  async recordRewardClaim(i: Parameters<TipStore['recordRewardClaim']>[0]) {
    if (this.identities.has(i.tip.id)) throw new RewardClaimedError(i.tip.id);
    if (this.staleClaims > 0 || this.tips.get(i.tip.id)?.version !== i.expectedVersion) {
      this.staleClaims = Math.max(0, this.staleClaims - 1);
      throw new PreconditionFailedError(`tip ${i.tip.id} was changed by someone else; reload`);
    }
    this.tips.set(i.tip.id, { tip: i.tip, version: i.expectedVersion + 1 });
    this.identities.set(i.tip.id, i.identity);
    this.entries.set(i.tip.id, [...(this.entries.get(i.tip.id) ?? []), i.entry]);
    this.audit.push(i.audit);
  }
}

/** Wraps data keys with XOR of a local master (enough to test the envelope; the KMS adapter has its own test). */
export class LocalKeys implements DataKeyService {
  master = randomBytes(32);
  decrypts = 0;
  async generateDataKey(context: Record<string, string>) {
    const plaintext = randomBytes(32);
    return { plaintext: Buffer.from(plaintext), encrypted: this.wrap(plaintext, context) };
  }
  async decrypt(encrypted: Uint8Array, context: Record<string, string>) {
    this.decrypts++;
    const tag = Buffer.from(JSON.stringify(context));
    const buf = Buffer.from(encrypted);
    if (!buf.subarray(32).equals(tag)) throw new Error('InvalidCiphertextException');
    return Buffer.from(buf.subarray(0, 32).map((b, i) => b ^ (this.master[i] ?? 0)));
  }
  private wrap(key: Buffer, context: Record<string, string>) {
    return Buffer.concat([key.map((b, i) => b ^ (this.master[i] ?? 0)), Buffer.from(JSON.stringify(context))]);
  }
}
