import * as z from 'zod';
import { MAX_FILES_PER_REQUEST, UPLOAD_CONTENT_TYPES } from '#shared/domain/evidence/model.ts';
import { lineText } from '#shared/domain/text.ts';
import { defineRoutes } from '#shared/http/contract.ts';

/**
 * The public evidence API: a citizen's browser asks for upload slots before submitting a tip. Each slot is a presigned
 * PUT with the content type and size signed, so the upload must be exactly the declared file; the URL lives 15 minutes.
 * Type and size limits are checked by the domain (shared/domain/evidence/model.ts) with a precise error per file.
 */
const UploadFile = z.strictObject({
  contentType: z
    .string()
    .min(1)
    .max(100)
    .describe(`one of ${UPLOAD_CONTENT_TYPES.join(', ')}`),
  bytes: z.number().int().positive().describe('exact size in bytes; photos ≤ 15 MB, videos ≤ 200 MB'),
  /** accepted for the form's convenience, never stored (a file name can name the reporter) */
  fileName: lineText(255).optional(),
});

const UploadSlot = z.object({
  uploadId: z.string(),
  url: z.url(),
  method: z.literal('PUT'),
  headers: z.object({ 'content-type': z.string() }),
  contentType: z.enum(UPLOAD_CONTENT_TYPES),
  bytes: z.number().int(),
  expiresAt: z.iso.datetime(),
});

export const evidencePublicRoutes = defineRoutes({
  create_uploads: {
    method: 'POST',
    scope: { kind: 'open', why: 'public: a citizen’s upload slots' },
    path: '/evidence/uploads',
    auth: 'public',
    tags: ['evidence'],
    summary: '申请证据上传地址 request evidence upload slots',
    description:
      'Returns one presigned PUT per file. Upload the file with exactly the returned `content-type` (the size is signed too), then name the `uploadId`s when submitting the tip. Unused uploads expire after 2 days.',
    body: z.strictObject({ files: z.array(UploadFile).min(1).max(MAX_FILES_PER_REQUEST) }),
    response: z.object({ uploads: z.array(UploadSlot) }),
    status: 201,
    maxBodyBytes: 8 * 1024,
  },
});
