import * as z from 'zod';
import type { Role } from '#shared/domain/roles.ts';
import { lineText, multilineText } from '#shared/domain/text.ts';
import {
  ReporterIdentity,
  RewardClaimInput,
  StaffTipInput,
  SuspectedUnit,
  TEXT_LIMITS,
  TipCategory,
  TipChannel,
  TipInput,
  TipLocation,
  TipStatus,
  UploadIds,
} from '#shared/domain/tips/model.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { PLACES, tipPlace } from './places.ts';

/**
 * The public tips API (no token; throttled by the stage). The receipt code travels only in the `x-receipt` header,
 * never in the URL, so it cannot land in access logs or browser history. Every receipt failure is the same 404.
 */
const tags = ['tips'];
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
    scope: { kind: 'open', why: 'public: any citizen reports anywhere' },
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
    scope: { kind: 'open', why: 'public: the reporter, by the receipt' },
    path: '/tips/follow',
    auth: 'public',
    tags,
    summary: '凭查询码查看线索进展 follow a tip',
    description: receiptNote,
    response: ReporterViewSchema,
  },
  add_tip_info: {
    method: 'POST',
    scope: { kind: 'open', why: 'public: the reporter, by the receipt' },
    path: '/tips/follow/info',
    auth: 'public',
    tags,
    summary: '补充线索信息 add information',
    description: receiptNote,
    body: z.strictObject({ text: multilineText(TEXT_LIMITS.info), uploadIds: UploadIds }),
    response: ReporterViewSchema,
    maxBodyBytes: 8 * 1024,
  },
  reply_tip_message: {
    method: 'POST',
    scope: { kind: 'open', why: 'public: the reporter, by the receipt' },
    path: '/tips/follow/replies',
    auth: 'public',
    tags,
    summary: '回复承办人消息 answer the handler',
    description: receiptNote,
    body: z.strictObject({ text: multilineText(TEXT_LIMITS.message) }),
    response: ReporterViewSchema,
    maxBodyBytes: 8 * 1024,
  },
  claim_tip_reward: {
    method: 'POST',
    scope: { kind: 'open', why: 'public: the reporter, by the receipt' },
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

// ───────────────────────────── officials ─────────────────────────────

/**
 * The official tips API: staff intake (phone, letter, visit, patrol), the triage queue, a tip without its reporter's
 * identity, status changes, assignment, messages to the reporter — and, in its own function with kms:Decrypt,
 * opening a reporter's identity (reward post only, with a reason).
 */
export const TIP_INTAKE_ROLES: readonly Role[] = ['analyst', 'duty_officer'];
export const TIP_TRIAGE_ROLES: readonly Role[] = ['analyst', 'duty_officer', 'handler', 'section_chief'];
export const TIP_IDENTITY_ROLES: readonly Role[] = ['reward_post'];
export const TIP_MERGE_ROLES: readonly Role[] = ['analyst'];

const tipId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'tip id is a ULID (线索编号为 26 位 ULID)');
const params = z.strictObject({ id: tipId });
const ifMatchNote = 'Send `If-Match: "<version>"` to refuse the change when someone else changed the tip first (409).';

const Evidence = z.object({
  id: z.string(),
  kind: z.enum(['photo', 'video', 'document']),
  contentType: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  originalKey: z.string(),
  workingKey: z.string().optional(),
  finalizedAt: z.iso.datetime(),
});

export const TipSchema = z.object({
  id: z.string(),
  channel: TipChannel,
  category: TipCategory,
  description: z.string(),
  location: TipLocation,
  observedAt: z.string(),
  suspectedUnit: SuspectedUnit.optional(),
  reporterKind: z.enum(['anonymous', 'real_name']),
  insider: z.boolean(),
  commendationConsent: z.boolean(),
  evidence: z.array(Evidence),
  status: TipStatus,
  assignee: z.string().optional(),
  enteredBy: z.string().optional(),
  receivedAt: z.iso.datetime().describe('stored at (queue order, triage and conclusion clocks)'),
  reportedAt: z.iso
    .datetime()
    .optional()
    .describe(
      '收到举报的时间: when the report reached the bureau (a letter received before it was entered keeps its date)',
    ),
  finding: z.enum(['substantiated', 'unsubstantiated']).optional().describe('latest finding, kept after closing'),
  patrolFinding: z
    .object({ patrolId: z.string(), index: z.number().int() })
    .optional()
    .describe('the patrol finding this tip was made from'),
  rewardClaimedAt: z.iso
    .datetime()
    .optional()
    .describe('匿名举报人凭查询码申领奖励的时间: the identity is then in the vault, for the reward post only'),
  updatedAt: z.iso.datetime(),
  links: z
    .object({
      computedAt: z.iso.datetime(),
      unit: z
        .object({
          enterpriseId: z.string(),
          name: z.string().optional(),
          basis: z.enum(['named', 'nearest']),
          distanceM: z.number().int().optional(),
          reason: z.string().describe('e.g. "named" or "nearest, 640 m"'),
        })
        .optional(),
      alarms: z.array(z.object({ alarmId: z.string(), raisedAt: z.string(), summary: z.string().optional() })),
      duplicates: z.array(
        z.object({
          tipId: z.string(),
          category: TipCategory,
          observedAt: z.string(),
          receivedAt: z.string(),
          reasons: z.array(z.string()),
        }),
      ),
      incomplete: z.boolean().optional(),
    })
    .optional()
    .describe('研判关联 triage links computed on intake: the unit, open alarms there, likely duplicates'),
  mergedInto: z.string().optional().describe('merged into this primary tip; out of the queue'),
  mergedTips: z.array(z.string()).optional(),
  firstReporterTipId: z
    .string()
    .optional()
    .describe(
      '首个有效举报: the first valid reporter of the merged group (earliest report time among reports not found unsubstantiated and not staff findings), computed on read; absent when none is valid',
    ),
  firstReportedAt: z.string().optional().describe('when that first valid report reached the bureau'),
});

/** Queue listings carry the overdue flags (1 working day to triage, 60 days to a finding). */
const QueuedTip = () => TipSchema.extend({ overdue: z.object({ triage: z.boolean(), conclusion: z.boolean() }) });

/** A factory: the same schema object nested in two route schemas would be a dangling $ref in the OpenAPI build. */
const entry = () =>
  z.discriminatedUnion('type', [
    z.object({
      type: z.literal('message'),
      id: z.string(),
      at: z.string(),
      from: z.enum(['handler', 'reporter']),
      text: z.string(),
    }),
    z.object({
      type: z.literal('info'),
      id: z.string(),
      at: z.string(),
      text: z.string(),
      evidence: z.array(Evidence),
    }),
    z.object({
      type: z.literal('identity_access'),
      id: z.string(),
      at: z.string(),
      actor: z.string(),
      role: z.literal('reward_post'),
      reason: z.string(),
    }),
    z.object({
      type: z.literal('merge'),
      id: z.string(),
      at: z.string(),
      actor: z.string(),
      direction: z.enum(['merged_into', 'absorbed']),
      otherTipId: z.string(),
      reason: z.string(),
    }),
  ]);

const Versioned = z.object({ tip: TipSchema, version: z.number().int() });

export const tipsOfficialRoutes = defineRoutes({
  intake_tip: {
    method: 'POST',
    scope: { kind: 'body', place: tipPlace },
    path: '/tips/intake',
    auth: TIP_INTAKE_ROLES,
    tags,
    summary: '录入电话、来信、来访、巡查线索 staff intake',
    description: 'Same pipeline and protections as the public form; give the receipt code to the reporter.',
    body: StaffTipInput,
    response: Submitted,
    status: 201,
    maxBodyBytes: 16 * 1024,
  },
  list_tips: {
    method: 'GET',
    scope: { kind: 'list', item: tipPlace },
    path: '/tips',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '研判队列 triage queue by status, oldest first',
    description:
      'Narrowed by where the tip was seen (`township`), its `category` and when it was received (`from` inclusive, `to` exclusive). With a township or category a page may hold fewer than `limit` tips while `cursor` goes on.',
    query: z.strictObject({
      status: TipStatus.default('received'),
      township: z
        .string()
        .regex(/^[a-z]{2,20}$/, 'township id is its pinyin in lower case (乡镇编号为小写拼音)')
        .optional(),
      category: TipCategory.optional(),
      from: z.iso.datetime({ offset: true }).optional().describe('received at or after'),
      to: z.iso.datetime({ offset: true }).optional().describe('received before'),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().max(2048).optional(),
    }),
    response: z.object({ items: z.array(QueuedTip()), cursor: z.string().optional() }),
  },
  list_overdue_tips: {
    method: 'GET',
    scope: { kind: 'list', item: tipPlace },
    path: '/tips/overdue',
    auth: TIP_MERGE_ROLES,
    tags,
    summary: '超期线索 overdue tips',
    description:
      'Tips still received after 1 working day (Mon–Fri with the Chinese holiday table, Beijing dates), or open (received, triaging, verifying) after 60 days. One index query per open status; at most `limit` per status, oldest first.',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(100) }),
    response: z.object({ items: z.array(QueuedTip()) }),
  },
  merge_tip: {
    method: 'POST',
    scope: {
      kind: 'entity',
      param: 'id',
      place: PLACES.tip,
      others: ({ body }) => [{ ref: body?.into, place: PLACES.tip }],
    },
    path: '/tips/{id}/merge',
    auth: TIP_MERGE_ROLES,
    tags,
    summary: '合并重复线索 merge a duplicate into a primary tip',
    description:
      'The tip leaves the queue and points to the primary. Both timelines note it; audit entry in the same transaction. Both tips in the answer carry the first valid reporter of the merged group (firstReporterTipId), whatever the merge order and whichever tip is the primary.',
    params,
    body: z.strictObject({
      into: tipId,
      reason: multilineText(TEXT_LIMITS.reason),
    }),
    response: z.object({
      primary: z.object({ tip: TipSchema, version: z.number().int() }),
      merged: z.object({ tip: TipSchema.extend({}), version: z.number().int() }),
    }),
  },
  get_tip: {
    method: 'GET',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '查看线索（不含举报人身份）a tip without identity',
    params,
    response: Versioned.extend({ timeline: z.array(entry()) }),
  },
  set_tip_status: {
    method: 'POST',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}/status',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '变更线索状态 set status',
    description: ifMatchNote,
    params,
    body: z.strictObject({ status: TipStatus }),
    response: Versioned,
  },
  assign_tip: {
    method: 'POST',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}/assignee',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '分派承办人 assign',
    description: ifMatchNote,
    params,
    body: z.strictObject({ assignee: lineText(64) }),
    response: Versioned,
  },
  link_tip_unit: {
    method: 'POST',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}/unit',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '关联被举报单位 link the tip to a registered unit',
    description: `Usually the unit triage suggested (\`links.unit\`), confirmed: the tip then names it as its suspected unit, and a case opened from it must be on that unit. A code not in the registry (or outside the caller's townships) is a 400 on \`enterpriseId\`; a tip already in a case or closed is a 409. ${ifMatchNote}`,
    params,
    body: z.strictObject({ enterpriseId: SuspectedUnit.options[0].shape.enterpriseId }),
    response: Versioned,
  },
  tip_evidence: {
    method: 'GET',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}/evidence',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '查看线索证据（去除元数据的副本）evidence links',
    description:
      'Every evidence file of the tip (sent with it or added later by the reporter) with a link to its metadata-stripped copy that lives 5 minutes (fetch it; do not store it). Originals are never linked: a file without a stripped copy is listed with `withheld`, the reason.',
    params,
    response: z.object({
      items: z.array(
        z.object({
          evidenceId: z.string(),
          kind: z.enum(['photo', 'video', 'document']),
          contentType: z.string(),
          bytes: z.number().int(),
          sha256: z.string(),
          source: z.enum(['tip', 'info']).describe('sent with the report, or added later by the reporter'),
          addedAt: z.string(),
          link: z.object({ url: z.string(), expiresAt: z.iso.datetime() }).optional(),
          withheld: z
            .string()
            .optional()
            .describe('why there is no link (no stripped copy; originals are never shown)'),
        }),
      ),
    }),
  },
  message_tip: {
    method: 'POST',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}/messages',
    auth: TIP_TRIAGE_ROLES,
    tags,
    summary: '给举报人留言 write to the reporter',
    params,
    body: z.strictObject({ text: multilineText(TEXT_LIMITS.message) }),
    response: entry(),
    status: 201,
  },
});

export const tipsIdentityRoutes = defineRoutes({
  open_tip_identity: {
    method: 'POST',
    scope: { kind: 'entity', param: 'id', place: PLACES.tip },
    path: '/tips/{id}/identity/open',
    auth: TIP_IDENTITY_ROLES,
    tags,
    summary: '查看实名举报人身份（举报奖励岗）open the reporter identity',
    description:
      'Reward post only, with a reason. The opening is written to the audit trail and to the reporter-visible access log in one transaction before the identity is returned.',
    params,
    body: z.strictObject({ reason: multilineText(TEXT_LIMITS.reason) }),
    response: z.object({ tipId: z.string(), identity: ReporterIdentity, openedAt: z.iso.datetime() }),
  },
});
