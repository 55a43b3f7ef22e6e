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

export interface EvidenceFinalizer {
  /** Refuses (EvidenceError) an upload that is missing, of another type or size than declared, or already used. */
  finalize(input: { owner: { kind: 'tip' | 'patrol'; id: string }; uploadIds: string[] }): Promise<EvidenceItem[]>;
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
