import * as z from 'zod';
import { Location } from '#shared/domain/registry/model.ts';
import { isValidUscc } from '#shared/domain/registry/uscc.ts';
import { lineText, multilineText } from '#shared/domain/text.ts';
import type { EvidenceItem } from './evidence-port.ts';

/**
 * Citizen tips (举报线索): the single definition of what a reporter or a staff member may submit, what is stored
 * (never the reporter's identity: that lives sealed in the identity vault) and the status lifecycle.
 * Category ids are stable English slugs; the Chinese labels are what the form and officials see.
 */
export const TipCategory = z
  .enum([
    'illegal_discharge',
    'monitoring_fraud',
    'hazardous_waste_dumping',
    'drinking_water_source',
    'air',
    'water',
    'noise',
    'solid_waste',
    'other',
  ])
  .describe('举报类别');
export type TipCategory = z.infer<typeof TipCategory>;
export const TIP_CATEGORY_LABELS: Record<TipCategory, string> = {
  illegal_discharge: '偷排漏排',
  monitoring_fraud: '篡改伪造监测数据',
  hazardous_waste_dumping: '非法倾倒危险废物',
  drinking_water_source: '饮用水水源保护区排污',
  air: '废气',
  water: '废水',
  noise: '噪声',
  solid_waste: '固体废物',
  other: '其他',
};

export const TipChannel = z.enum(['web', 'phone', 'letter', 'visit', 'patrol']).describe('来源渠道');
export type TipChannel = z.infer<typeof TipChannel>;
/** Channels staff record on intake; `web` is the public form only. */
export const StaffChannel = z.enum(['phone', 'letter', 'visit', 'patrol']);

export const TipStatus = z
  .enum(['received', 'held', 'triaging', 'verifying', 'substantiated', 'unsubstantiated', 'case_opened', 'closed'])
  .describe('线索状态');
export type TipStatus = z.infer<typeof TipStatus>;
export const TIP_STATUS_LABELS: Record<TipStatus, string> = {
  received: '已受理',
  held: '待复核（疑似批量重复）',
  triaging: '研判中',
  verifying: '核查中',
  substantiated: '属实',
  unsubstantiated: '不属实',
  case_opened: '已立案',
  closed: '已办结',
};

/** Allowed status changes. `closed` is final; a finding can go back to verifying when new information arrives. */
export const TIP_TRANSITIONS: Record<TipStatus, readonly TipStatus[]> = {
  received: ['triaging', 'closed'],
  // held back as part of a wave of near-identical tips: an analyst releases it to triage or dismisses it
  held: ['triaging', 'unsubstantiated', 'closed'],
  triaging: ['verifying', 'unsubstantiated', 'closed'],
  verifying: ['substantiated', 'unsubstantiated'],
  substantiated: ['case_opened', 'closed', 'verifying'],
  unsubstantiated: ['closed', 'verifying'],
  case_opened: ['closed'],
  closed: [],
};

export const canTransition = (from: TipStatus, to: TipStatus): boolean => TIP_TRANSITIONS[from].includes(to);

/** Longest accepted free text, in characters (UTF-16 code units, as a browser's maxlength counts); rules: text.ts. */
export const TEXT_LIMITS = { description: 2000, address: 200, unitName: 100, info: 2000, message: 1000, reason: 500 };
/** At most this many evidence files per submission or addition. */
export const MAX_UPLOADS = 20;

const townshipId = z
  .string()
  .regex(/^[a-z]{2,20}$/, 'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)');
export const UploadId = z
  .string()
  .regex(
    /^[0-9A-HJKMNP-TV-Z]{26}$/,
    'upload id is a ULID from POST /evidence/uploads (上传编号为 POST /evidence/uploads 返回的 26 位 ULID)',
  );
export const UploadIds = z
  .array(UploadId)
  .max(MAX_UPLOADS, `at most ${MAX_UPLOADS} files (最多 ${MAX_UPLOADS} 个文件)`)
  .default([]);

export const TipLocation = z.strictObject({
  townshipId,
  address: lineText(TEXT_LIMITS.address).describe('地点描述'),
  /** from the phone's location when the reporter allows it */
  point: Location.optional(),
});
export type TipLocation = z.infer<typeof TipLocation>;

export const SuspectedUnit = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('registered'),
    enterpriseId: z
      .string()
      .refine(isValidUscc, 'must be a valid unified social credit code (须为有效的统一社会信用代码)'),
  }),
  z.strictObject({ kind: z.literal('unregistered'), name: lineText(TEXT_LIMITS.unitName) }),
]);
export type SuspectedUnit = z.infer<typeof SuspectedUnit>;

const PHONE = /^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/;
const PHONE_MESSAGE = 'phone must be a mainland mobile or landline number (请填写正确的 11 位手机号码或固定电话号码)';
const ID_NUMBER = /^\d{17}[\dX]$/;
const ID_NUMBER_MESSAGE =
  'ID number is 18 characters: 17 digits and a digit or X (身份证号为 18 位：17 位数字加一位数字或 X)';

export const ReporterIdentity = z.strictObject({
  name: lineText(40),
  phone: z.string().regex(PHONE, PHONE_MESSAGE),
  idNumber: z.string().regex(ID_NUMBER, ID_NUMBER_MESSAGE).optional(),
});
export type ReporterIdentity = z.infer<typeof ReporterIdentity>;

/**
 * An anonymous reporter's reward claim (申领举报奖励), sent with the receipt: who they are, for the reward post only.
 * The ID number is required here (payment and the exclusion checks need it), unlike on the tip form.
 */
export const RewardClaimInput = z.strictObject({
  identity: ReporterIdentity.extend({
    idNumber: z.string().regex(ID_NUMBER, ID_NUMBER_MESSAGE),
  }),
});
export type RewardClaimInput = z.infer<typeof RewardClaimInput>;

export const Reporter = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('anonymous') }),
  z.strictObject({ kind: z.literal('real_name'), identity: ReporterIdentity }),
]);
export type Reporter = z.infer<typeof Reporter>;

const tipFields = {
  category: TipCategory,
  description: multilineText(TEXT_LIMITS.description).describe('看到了什么'),
  location: TipLocation,
  observedAt: z.iso.datetime({ offset: true }).describe('发现时间'),
  suspectedUnit: SuspectedUnit.optional(),
  reporter: Reporter,
  insider: z.boolean().default(false).describe('是否内部人员'),
  commendationConsent: z.boolean().default(false).describe('同意公开表彰'),
  uploadIds: UploadIds,
};

const consentNeedsName = (t: { reporter: Reporter; commendationConsent: boolean }) =>
  !(t.commendationConsent && t.reporter.kind === 'anonymous');
const consentIssue = {
  path: ['commendationConsent'],
  message: 'an anonymous reporter cannot be commended publicly (匿名举报无法公开表彰)',
};

/** What the public form submits. */
export const TipInput = z.strictObject(tipFields).refine(consentNeedsName, consentIssue);
export type TipInput = z.infer<typeof TipInput>;

/**
 * What staff enter for a tip received by phone, letter, visit or patrol. `reportedAt` is when the citizen's report
 * reached the bureau (the time of the call, the date a letter was received, the visit): a letter entered days after it
 * arrived keeps its own date, which is what counts for first-reporter standing (triage.ts, firstValidReporter).
 * Defaults to the moment of entry; never in the future, never before the observation it reports.
 */
export const StaffTipInput = z
  .strictObject({
    ...tipFields,
    channel: StaffChannel,
    reportedAt: z.iso.datetime({ offset: true }).optional().describe('收到举报的时间（来电时间、来信收到日期）'),
  })
  .refine(consentNeedsName, consentIssue);
export type StaffTipInput = z.infer<typeof StaffTipInput>;

/** A stored tip as handlers see it: no identity, no receipt. */
export interface Tip {
  id: string;
  channel: TipChannel;
  category: TipCategory;
  description: string;
  location: TipLocation;
  observedAt: string;
  suspectedUnit?: SuspectedUnit;
  reporterKind: Reporter['kind'];
  insider: boolean;
  commendationConsent: boolean;
  evidence: EvidenceItem[];
  status: TipStatus;
  assignee?: string;
  /** staff member who entered it (non-web channels) */
  enteredBy?: string;
  /** when the tip was stored: orders the triage queue and starts the triage and conclusion clocks */
  receivedAt: string;
  /**
   * When the citizen's report reached the bureau: `receivedAt` for the web form; for staff intake the time of the call
   * or the date the letter was received, which may be days before it was entered. First-reporter standing uses this.
   * Absent on tips stored before the field existed: read it through `reportedAtOf` (triage.ts).
   */
  reportedAt?: string;
  /**
   * The latest finding on the report (set with the status substantiated / unsubstantiated, kept when the tip is
   * closed or goes back to verifying, replaced only by a new finding): a closed tip still says whether it was untrue.
   */
  finding?: 'substantiated' | 'unsubstantiated';
  /** a tip made from a patrol finding: which one (at most one tip per finding) */
  patrolFinding?: { patrolId: string; index: number };
  /**
   * An anonymous reporter claimed the reward with the receipt (when): the identity they gave is sealed in the vault
   * like a real-name reporter's, and only the reward post opens it. The tip stays `reporterKind: 'anonymous'`.
   */
  rewardClaimedAt?: string;
  updatedAt: string;
  /** triage links computed on intake (shared/domain/tips/triage.ts) */
  links?: TipLinks;
  /** set when an analyst merged this tip into another: it left the queue and points to the primary */
  mergedInto?: string;
  /** on a primary: the tips merged into it */
  mergedTips?: string[];
  /**
   * Official view only, computed on every read and never stored (a stored copy goes stale as soon as one report of
   * the group is found untrue): the first valid reporter of the tip's merged group (a lone tip is a group of one) and
   * when that report reached the bureau. Absent when no report of the group is valid. Rule: triage.ts,
   * firstValidReporter.
   */
  firstReporterTipId?: string;
  firstReportedAt?: string;
}

/** Narrows the triage queue: where the tip was seen, its category, when it was received (ISO, from inclusive, to exclusive). */
export interface TipFilter {
  townshipId?: string;
  category?: TipCategory;
  from?: string;
  to?: string;
}

/** The registry unit a tip is linked to, and why. */
export interface UnitLink {
  enterpriseId: string;
  name?: string;
  basis: 'named' | 'nearest';
  distanceM?: number;
  /** e.g. "named" or "nearest, 640 m" */
  reason: string;
}

/** An open alarm at the linked unit (the alarm engine). */
export interface AlarmLink {
  alarmId: string;
  raisedAt: string;
  summary?: string;
}

export interface DuplicateLink {
  tipId: string;
  category: TipCategory;
  observedAt: string;
  receivedAt: string;
  reasons: string[];
}

export interface SpamWave {
  similarTipIds: string[];
  reason: string;
}

export interface TipLinks {
  computedAt: string;
  unit?: UnitLink;
  alarms: AlarmLink[];
  duplicates: DuplicateLink[];
  /** part of a wave of near-identical public tips: the tip is held for review instead of entering the queue */
  spamWave?: SpamWave;
  /** a source could not be read on intake; the tip was stored anyway */
  incomplete?: boolean;
}

/** Entries under a tip, in time order: messages both ways, information the reporter added, identity accesses. */
export type TimelineEntry =
  | { type: 'message'; id: string; at: string; from: 'handler' | 'reporter'; text: string }
  | { type: 'info'; id: string; at: string; text: string; evidence: EvidenceItem[] }
  | { type: 'identity_access'; id: string; at: string; actor: string; role: 'reward_post'; reason: string }
  /** the anonymous reporter claimed the reward with the receipt; the identity itself is only in the vault */
  | { type: 'reward_claim'; id: string; at: string }
  | {
      type: 'merge';
      id: string;
      at: string;
      actor: string;
      /** `merged_into`: this tip was merged into otherTipId; `absorbed`: otherTipId was merged into this one */
      direction: 'merged_into' | 'absorbed';
      otherTipId: string;
      reason: string;
    };

/** What the reporter sees with the receipt, and nothing else. */
export interface ReporterView {
  tipId: string;
  status: TipStatus;
  statusLabel: string;
  category: TipCategory;
  receivedAt: string;
  messages: { at: string; from: 'handler' | 'reporter'; text: string }[];
  addedInfo: { at: string; text: string; files: number }[];
  identityAccess: { at: string; by: string; reason: string }[];
  /** the reward claim: open to an anonymous reporter of a substantiated tip (rewardClaimable), and when it was made */
  reward: { claimable: boolean; claimedAt?: string };
}

/** Whether a reporter identity is sealed in the vault for `tip`: a real-name report, or an anonymous one claimed. */
export const hasSealedIdentity = (tip: Pick<Tip, 'reporterKind' | 'rewardClaimedAt'>): boolean =>
  tip.reporterKind === 'real_name' || tip.rewardClaimedAt !== undefined;

/**
 * Whether the reporter of `tip` may claim the reward with the receipt: the report was anonymous (a real-name reporter
 * is known already), not the bureau's own patrol finding, not claimed yet, and the report was found true (`finding`
 * of the tip or, for a tip merged into another, of its group's primary: the finding is made there).
 */
export function rewardClaimable(tip: Tip, groupFinding: Tip['finding'] = tip.finding): boolean {
  return (
    tip.reporterKind === 'anonymous' &&
    tip.channel !== 'patrol' &&
    tip.rewardClaimedAt === undefined &&
    (tip.finding ?? groupFinding) === 'substantiated'
  );
}
