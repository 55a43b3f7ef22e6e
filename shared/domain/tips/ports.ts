import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import type { TimelineEntry, Tip, TipFilter, TipStatus } from './model.ts';
import type { ReceiptGuard } from './receipt.ts';
import type { SealedIdentity } from './vault.ts';

/**
 * The ports the tip use-cases need. shared/adapters/tips-store.ts implements TipStore on DynamoDB (tips, identities
 * and audit tables); shared/domain/tips/vault.ts seals identities over a DataKeyService (KMS in
 * shared/adapters/kms-data-keys.ts). Every write that changes a tip carries its audit entry into the same transaction.
 */
export type { AuditEntry, Page };

export interface TipRecord {
  tip: Tip;
  version: number;
}

export interface ReceiptRecord {
  selector: string;
  tipId: string;
  /** scrypt hash of the whole 16-digit code */
  hash: string;
  guard: ReceiptGuard;
}

/** The receipt selector is already taken (1 in 10⁷ per tip): the use-case draws another code. */
export class ReceiptCollisionError extends Error {
  constructor() {
    super('receipt selector already in use');
    this.name = 'ReceiptCollisionError';
  }
}

/** A tip with this id already exists (a concurrent retry of the same submission committed first). */
export class TipExistsError extends Error {
  constructor(readonly tipId: string) {
    super(`tip ${tipId} already exists`);
    this.name = 'TipExistsError';
  }
}

/**
 * The patrol finding is already marked as turned into a tip, or another conversion of it is committing right now:
 * nothing was written. The caller re-reads the finding to answer with the tip that won.
 */
export class PatrolFindingTakenError extends Error {
  constructor(
    readonly patrolId: string,
    readonly index: number,
  ) {
    super(`finding ${index} of patrol ${patrolId} already became a tip`);
    this.name = 'PatrolFindingTakenError';
  }
}

export interface TipStore {
  /**
   * One transaction: the tip (TipExistsError if its id exists), its receipt item (ReceiptCollisionError if the selector
   * exists), the sealed identity (identities table, real-name tips only) and the audit entry; plus
   * - `finding` (patrol tips): the patrol finding marked as turned into this tip, on the condition that it is not yet
   *   marked (PatrolFindingTakenError), with the patrol's audit entry: one tip per finding, however many race;
   * - `uploadIds`: the uploads sealed for this tip, their unreferenced marks cleared (evidence-port.ts).
   */
  create(input: {
    tip: Tip;
    receipt: { selector: string; hash: string };
    identity?: SealedIdentity;
    audit: AuditEntry;
    finding?: { patrolId: string; index: number; audit: AuditEntry };
    uploadIds?: string[];
  }): Promise<void>;
  get(tipId: string): Promise<TipRecord | undefined>;
  timeline(tipId: string): Promise<TimelineEntry[]>;
  receipt(selector: string): Promise<ReceiptRecord | undefined>;
  /** Stores the guard after a wrong code; with `audit` (the lock) in the same transaction. */
  recordReceiptFailure(selector: string, guard: ReceiptGuard, audit?: AuditEntry): Promise<void>;
  /**
   * Adds a timeline entry (the tip must exist) with its audit entry, in one transaction; `uploadIds` (evidence added by
   * the reporter) get their unreferenced marks cleared in the same transaction.
   */
  addEntry(tipId: string, entry: TimelineEntry, audit: AuditEntry, uploadIds?: string[]): Promise<void>;
  /** Replaces the tip when it is still at `expectedVersion` (PreconditionFailedError otherwise), with its audit entry. */
  update(tip: Tip, expectedVersion: number, audit: AuditEntry): Promise<TipRecord>;
  /**
   * The triage queue: tips in one status, oldest first; `filter` narrows it by township, category and the time the
   * tip was received (a page may then hold fewer than `limit` tips while the cursor goes on).
   */
  queue(status: TipStatus, query: { limit: number; cursor?: string; filter?: TipFilter }): Promise<Page<Tip>>;
  /** Tips in one status received before `before` (exclusive), oldest first, at most `limit`: an index query. */
  queueBefore(status: TipStatus, before: string, limit: number): Promise<Tip[]>;
  /**
   * ONE transaction: both tips at their expected versions (PreconditionFailedError otherwise), a merge note in each
   * timeline, and the audit entry.
   */
  merge(input: {
    primary: TipRecord;
    duplicate: TipRecord;
    entries: { primary: TimelineEntry; duplicate: TimelineEntry };
    audit: AuditEntry;
  }): Promise<void>;
  sealedIdentity(tipId: string): Promise<SealedIdentity | undefined>;
  /**
   * Records an identity opening in ONE transaction: the audit entry, the reporter-visible access entry under the tip,
   * and the grant on the identity item (open count). Throws when any part fails; the caller then returns nothing.
   */
  recordIdentityAccess(
    tipId: string,
    entry: Extract<TimelineEntry, { type: 'identity_access' }>,
    audit: AuditEntry,
  ): Promise<void>;
  /**
   * Records an anonymous reporter's reward claim in ONE transaction: the tip (with `rewardClaimedAt`) at
   * `expectedVersion` (PreconditionFailedError otherwise), the sealed identity on the condition that the tip has none
   * (RewardClaimedError otherwise: a second claim changes nothing), the reporter-visible claim entry and the audit entry.
   */
  recordRewardClaim(input: {
    tip: Tip;
    expectedVersion: number;
    identity: SealedIdentity;
    entry: Extract<TimelineEntry, { type: 'reward_claim' }>;
    audit: AuditEntry;
  }): Promise<void>;
}

/** The tip already holds an identity (a claim was recorded, or it was a real-name report): nothing was written. */
export class RewardClaimedError extends Error {
  constructor(readonly tipId: string) {
    super(`tip ${tipId} already holds a reporter identity`);
    this.name = 'RewardClaimedError';
  }
}
