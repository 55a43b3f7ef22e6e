import * as z from 'zod';
import { TEXT_LIMITS, TipCategory, TipInput, TipStatus, UploadIds } from '../../shared/domain/tips/model.ts';
import { defineRoutes } from '../../shared/http/contract.ts';

/**
 * The public tips API (no token; throttled by the stage). The receipt code travels only in the `x-receipt` header,
 * never in the URL, so it cannot land in access logs or browser history. Every receipt failure is the same 404.
 */
const tags = ['tips'];
const text = (max: number) => z.string().trim().min(1).max(max);
export const RECEIPT_HEADER = 'x-receipt';
const receiptNote = `Send the 16-digit receipt code in the \`${RECEIPT_HEADER}\` header (spaces allowed). A wrong, unknown or locked code answers 404.`;

export const Submitted = z.object({
  tipId: z.string(),
  receipt: z.string().describe('16-digit receipt code, grouped by four: shown once, never again'),
  status: TipStatus,
});

export const ReporterViewSchema = z.object({
  tipId: z.string(),
  status: TipStatus,
  statusLabel: z.string(),
  category: TipCategory,
  receivedAt: z.iso.datetime(),
  messages: z.array(z.object({ at: z.iso.datetime(), from: z.enum(['handler', 'reporter']), text: z.string() })),
  addedInfo: z.array(z.object({ at: z.iso.datetime(), text: z.string(), files: z.number().int() })),
  identityAccess: z.array(z.object({ at: z.iso.datetime(), by: z.string(), reason: z.string() })),
});

export const tipsPublicRoutes = defineRoutes({
  submit_tip: {
    method: 'POST',
    path: '/tips',
    auth: 'public',
    tags,
    summary: '提交举报线索 submit a tip',
    description:
      'Upload evidence first (POST /evidence/uploads) and name the upload ids. The answer carries the receipt code once.',
    body: TipInput,
    response: Submitted,
    status: 201,
    maxBodyBytes: 16 * 1024,
  },
  follow_tip: {
    method: 'GET',
    path: '/tips/follow',
    auth: 'public',
    tags,
    summary: '凭查询码查看线索进展 follow a tip',
    description: receiptNote,
    response: ReporterViewSchema,
  },
  add_tip_info: {
    method: 'POST',
    path: '/tips/follow/info',
    auth: 'public',
    tags,
    summary: '补充线索信息 add information',
    description: receiptNote,
    body: z.strictObject({ text: text(TEXT_LIMITS.info), uploadIds: UploadIds }),
    response: ReporterViewSchema,
    maxBodyBytes: 8 * 1024,
  },
  reply_tip_message: {
    method: 'POST',
    path: '/tips/follow/replies',
    auth: 'public',
    tags,
    summary: '回复承办人消息 answer the handler',
    description: receiptNote,
    body: z.strictObject({ text: text(TEXT_LIMITS.message) }),
    response: ReporterViewSchema,
    maxBodyBytes: 8 * 1024,
  },
});
