import type { EvidenceOwner } from '#shared/domain/evidence/model.ts';

/**
 * The contract between citizen tips and evidence handling. A reporter's browser first asks for upload slots
 * (`POST /evidence/uploads`: content type and size are bound into a presigned POST), uploads the files straight to the
 * evidence bucket under `uploads/`, then submits the tip (or adds to it with the receipt) naming the upload ids.
 * The tip use-case calls `finalize`: each upload is checked (exists, type and size as declared, real content type by
 * its magic bytes), hashed (SHA-256), kept as the sealed original (Object Lock) and, for photos, given a working copy
 * with all metadata (EXIF, GPS, device model) stripped. Only working copies are ever shown to handlers.
 */
export type EvidenceKind = 'photo' | 'video' | 'document';

export interface EvidenceItem {
  id: string;
  kind: EvidenceKind;
  contentType: string;
  bytes: number;
  sha256: string;
  /** sealed original in the evidence bucket */
  originalKey: string;
  /** metadata-stripped copy shown to handlers (photos); videos are shown from the original only to roles that may */
  workingKey?: string;
  /** ISO instant */
  finalizedAt: string;
}

/**
 * Sealing happens before the owner (tip, patrol) is written, and a sealed original cannot be deleted (Object Lock).
 * So every upload claimed by `finalize` stays marked UNREFERENCED until the transaction that writes its owner (or the
 * timeline entry naming it) clears the mark; the store does that in the same transaction (`uploadIds` on TipStore.create
 * and addEntry, PatrolStore.create). A mark that outlives its request is an orphan record operators can list
 * (docs/operations.md); a retried submission with the same uploads resumes the same owner id (`unreferencedOwner`), so
 * the originals already sealed are reused, never sealed twice.
 */
export interface EvidenceFinalizer {
  /**
   * Refuses (EvidenceError) an upload that is missing, of another type or size than declared, or already used by
   * another owner. For the same owner it returns the evidence already sealed (idempotent).
   */
  finalize(input: { owner: EvidenceOwner; uploadIds: string[] }): Promise<EvidenceItem[]>;
  /**
   * The owner an earlier, failed submission sealed some of these uploads for: defined only when every named upload
   * that is already claimed is claimed by that one owner, sealed, and still unreferenced. Optional: finalizers that
   * take no uploads need not implement it.
   */
  unreferencedOwner?(uploadIds: string[]): Promise<EvidenceOwner | undefined>;
}

export class EvidenceError extends Error {
  constructor(
    message: string,
    readonly uploadId: string,
  ) {
    super(message);
    this.name = 'EvidenceError';
  }
}

/**
 * Short-lived read links for officials (shared/adapters/evidence-store.ts presigns a GET): only ever asked for a
 * metadata-stripped working copy, never an original (the use-case picks the key; the function's role may read nothing
 * else). A link lives `EVIDENCE_LINK_SECONDS`.
 */
export interface EvidenceViewer {
  link(key: string, contentType: string): Promise<{ url: string; expiresAt: string }>;
}

export const EVIDENCE_LINK_SECONDS = 300;
