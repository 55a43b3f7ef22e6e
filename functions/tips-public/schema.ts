import * as z from 'zod';
import {
  RewardClaimInput,
  TEXT_LIMITS,
  TipCategory,
  TipInput,
  TipStatus,
  UploadIds,
} from '#shared/domain/tips/model.ts';
import { defineRoutes } from '#shared/http/contract.ts';

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
  identityAccess: z
    .array(z.object({ at: z.iso.datetime(), by: z.string(), reason: z.string() }))
    .describe('身份信息查看记录: every opening of the identity by the reward post'),
  reward: z
    .object({
      claimable: z
        .boolean()
        .describe('可申领奖励: an anonymous report found true, not yet claimed (POST /tips/follow/claim)'),
      claimedAt: z.iso.datetime().optional().describe('when the reward was claimed'),
    })
    .describe('举报奖励申领'),
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
  claim_tip_reward: {
    method: 'POST',
    path: '/tips/follow/claim',
    auth: 'public',
    tags,
    summary: '匿名举报人申领奖励 claim the reward',
    description:
      `${receiptNote} Open to an anonymous reporter once the report is found true (\`reward.claimable\`). ` +
      'The identity is sealed in the identity vault: only the reward post (举报奖励岗) can open it, every opening is ' +
      'listed in `identityAccess`, and nothing of it is echoed back. Once only: a second claim, a real-name or patrol ' +
      'tip, or a report not yet found true is a 409 and changes nothing.',
    body: RewardClaimInput,
    response: ReporterViewSchema,
    maxBodyBytes: 4 * 1024,
  },
});
