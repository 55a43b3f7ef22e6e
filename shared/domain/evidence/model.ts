/**
 * Evidence uploads: which files a citizen may upload, how large, where they land and where the sealed copies go.
 * Pure rules, no AWS: the adapter (shared/adapters/evidence-store.ts) does the S3 and DynamoDB work.
 */

import { type FieldIssue, ValidationError } from '#shared/domain/errors.ts';
import type { EvidenceKind } from '#shared/domain/tips/evidence-port.ts';

/** Content types accepted, with their kind and the largest size. WebP is not accepted: no metadata stripper for it. */
export const UPLOAD_TYPES = {
  'image/jpeg': { kind: 'photo', maxBytes: 15 * 1024 * 1024, ext: 'jpg' },
  'image/png': { kind: 'photo', maxBytes: 15 * 1024 * 1024, ext: 'png' },
  'video/mp4': { kind: 'video', maxBytes: 200 * 1024 * 1024, ext: 'mp4' },
  'video/quicktime': { kind: 'video', maxBytes: 200 * 1024 * 1024, ext: 'mov' },
} as const satisfies Record<string, { kind: EvidenceKind; maxBytes: number; ext: string }>;

export type UploadContentType = keyof typeof UPLOAD_TYPES;
export const UPLOAD_CONTENT_TYPES = Object.keys(UPLOAD_TYPES) as [UploadContentType, ...UploadContentType[]];

/** Files per request, presigned URL lifetime, and how long an unused slot (and its object) is kept. */
export const MAX_FILES_PER_REQUEST = 10;
export const UPLOAD_URL_SECONDS = 15 * 60;
export const UPLOAD_KEEP_SECONDS = 2 * 24 * 3600;

export interface UploadRequest {
  contentType: string;
  bytes: number;
  fileName?: string;
}

export const isUploadType = (t: string): t is UploadContentType => Object.hasOwn(UPLOAD_TYPES, t);

/** Checks every requested file; throws one ValidationError naming each bad file (`files.N.field`), in both languages. */
export function validateUploadRequests(files: UploadRequest[]): { contentType: UploadContentType; bytes: number }[] {
  const issues: FieldIssue[] = [];
  if (files.length === 0) issues.push({ field: 'files', message: 'at least one file', messageZh: '至少上传一个文件' });
  if (files.length > MAX_FILES_PER_REQUEST) {
    issues.push({
      field: 'files',
      message: `at most ${MAX_FILES_PER_REQUEST} files per request`,
      messageZh: `每次最多上传 ${MAX_FILES_PER_REQUEST} 个文件`,
    });
  }
  files.forEach((f, i) => {
    if (!isUploadType(f.contentType)) {
      issues.push({
        field: `files.${i}.contentType`,
        message: `${f.contentType} is not accepted; use ${UPLOAD_CONTENT_TYPES.join(', ')}`,
        messageZh: '只接受 JPEG、PNG 照片和 MP4、MOV 视频',
      });
      return;
    }
    const { maxBytes, kind } = UPLOAD_TYPES[f.contentType];
    if (!Number.isInteger(f.bytes) || f.bytes < 1) {
      issues.push({
        field: `files.${i}.bytes`,
        message: 'size must be a positive whole number of bytes',
        messageZh: '文件大小无效',
      });
    } else if (f.bytes > maxBytes) {
      const mb = maxBytes / 1024 / 1024;
      issues.push({
        field: `files.${i}.bytes`,
        message: `${kind}s may be at most ${mb} MB (${maxBytes} bytes); this one is ${f.bytes} bytes`,
        messageZh: `${kind === 'photo' ? '照片' : '视频'}不能超过 ${mb} MB`,
      });
    }
  });
  if (issues.length > 0) throw new ValidationError('some files cannot be uploaded', issues);
  return files.map((f) => ({ contentType: f.contentType as UploadContentType, bytes: f.bytes }));
}

/** `uploads/<yyyy-mm-dd>/<uploadId>`: the temporary object in the uploads bucket. */
export const uploadKey = (uploadId: string, at: Date): string => `uploads/${at.toISOString().slice(0, 10)}/${uploadId}`;

/** What evidence belongs to: a tip, a patrol, or an enterprise's answer to an alarm (`response`, id = the alarm's). */
export interface EvidenceOwner {
  kind: 'tip' | 'patrol' | 'response';
  id: string;
}

/** `evidence/<owner kind>/<owner id>/<evidence id>/`: the sealed original and the working copy live under it. */
export function evidenceKeys(owner: EvidenceOwner, evidenceId: string, contentType: UploadContentType) {
  const base = `evidence/${owner.kind}/${owner.id}/${evidenceId}`;
  const { kind, ext } = UPLOAD_TYPES[contentType];
  // photos and videos get a metadata-stripped working copy (strip.ts, strip-video.ts): the only copy officials see
  return {
    originalKey: `${base}/original`,
    ...(kind === 'photo' || kind === 'video' ? { workingKey: `${base}/working.${ext}` } : {}),
  };
}
