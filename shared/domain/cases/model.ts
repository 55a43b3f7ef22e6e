import * as z from 'zod';
import { isValidUscc } from '#shared/domain/registry/uscc.ts';
import { multilineText } from '#shared/domain/text.ts';
import type { CrimeItem } from './crime-thresholds.ts';

/**
 * Cases (案件): every tip, alarm, clue or patrol finding that holds up becomes a case; the case ends in a decision.
 * These zod schemas are the single definition of a stored case and of what the official API accepts (validated at the
 * edge; the OpenAPI document is generated from them). Pure: no AWS.
 *
 * A case NEVER holds a reporter's identity: a tip source is referenced by its tip id only; the identity stays sealed in
 * the identity vault (tips/vault.ts) and only the reward post opens it, logged.
 *
 * Lifecycle:   open ──► investigating ──► decided ──► closed
 *                             ▲              │
 *                             │              ▼ (suspected crime)
 *                             └──────── transferred ──► closed
 *               returned by the police (no filing, no crime or too minor): investigated again for a penalty
 * `investigating` needs at least two handlers (行政执法 两名以上执法人员); `decided` needs a decision; `transferred`
 * only follows a suspected-crime decision; `closed` is final.
 */

export const ULID = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a ULID (须为ULID)');
const text = (max: number) => multilineText(max);
const principal = z.string().min(1).max(128).describe('principal id (人员标识)');
const instant = z.iso.datetime({ offset: true });
const day = z.iso.date();
const townshipId = z
  .string()
  .regex(/^[a-z]{2,20}$/, 'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)');
const enterpriseId = z
  .string()
  .refine(isValidUscc, 'must be a valid unified social credit code (须为有效的统一社会信用代码)');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 is 64 lower-case hex digits (SHA-256须为64位小写十六进制)');

/** Minimum case team for an investigation and for a judicial transfer (国务院令第310号 第五条: 二名以上). */
export const MIN_HANDLERS = 2;

export const CaseStatus = z.enum(['open', 'investigating', 'decided', 'transferred', 'closed']).describe('案件状态');
export type CaseStatus = z.infer<typeof CaseStatus>;
export const CASE_STATUS_LABELS: Record<CaseStatus, string> = {
  open: '已立案',
  investigating: '调查中',
  decided: '已作出决定',
  transferred: '已移送司法机关',
  closed: '已结案',
};

export const CASE_TRANSITIONS: Record<CaseStatus, readonly CaseStatus[]> = {
  open: ['investigating', 'closed'],
  investigating: ['decided'],
  decided: ['transferred', 'closed'],
  // the police return the case (no filing, no crime, or too minor): the bureau investigates again for a penalty
  transferred: ['investigating', 'closed'],
  closed: [],
};
export const canTransition = (from: CaseStatus, to: CaseStatus): boolean => CASE_TRANSITIONS[from].includes(to);

export const SourceKind = z.enum(['tip', 'alarm', 'clue', 'patrol']).describe('案件来源：举报/告警/线索/巡查');
export type SourceKind = z.infer<typeof SourceKind>;

export const CaseSource = z.strictObject({
  kind: SourceKind,
  /** tip id, alarm id, clue id, or `<patrolId>#<finding index>` */
  id: z.string().min(1).max(64),
  addedAt: instant,
  addedBy: principal,
});
export type CaseSource = z.infer<typeof CaseSource>;

export const EvidenceKind = z
  .enum(['photo', 'video', 'document', 'lab_report', 'inspection_record', 'interview_record', 'monitoring_export'])
  .describe('证据类型');
export type EvidenceKind = z.infer<typeof EvidenceKind>;

/** A sealed S3 object with its hash, or a span of the raw HJ 212 archive (verifiable against its hash chain). */
export const CaseEvidence = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('object'),
    id: ULID,
    kind: EvidenceKind,
    /** key of the sealed original in the evidence bucket (Object Lock) */
    key: z.string().min(1).max(512),
    sha256,
    contentType: z.string().min(1).max(100).optional(),
    bytes: z.number().int().positive().optional(),
    note: text(500).optional(),
    addedAt: instant,
    addedBy: principal,
  }),
  z.strictObject({
    type: z.literal('raw_archive'),
    id: ULID,
    /** device MN: the archive chain `d#<mn>` */
    mn: z.string().regex(/^[0-9A-Za-z]{1,24}$/, 'MN is up to 24 letters or digits (MN为1至24位字母或数字)'),
    from: instant,
    to: instant,
    note: text(500).optional(),
    addedAt: instant,
    addedBy: principal,
  }),
]);
export type CaseEvidence = z.infer<typeof CaseEvidence>;

// ---- decisions ----

/**
 * 轻微违法不予处罚 (docs/domain.md §10): 行政处罚法 第三十三条 — (a) a minor violation corrected promptly with no harmful
 * consequence is not punished; (b) a FIRST violation with slight harm, corrected promptly, may go unpunished. The
 * conditions met are recorded as a checklist; the list item relied on (e.g. the Yangtze-Delta list, effective
 * 2023-07-01) is named. "免罚不免责": the party must still be educated and the correction followed up.
 */
export const MinorConditions = z.strictObject({
  firstViolation: z.boolean().describe('初次违法'),
  harm: z.enum(['none', 'slight']).describe('危害后果：无/轻微'),
  correctedPromptly: z.boolean().describe('及时改正'),
  /** the date set in the order to correct, and when it was done */
  correctionDeadline: day.describe('责令改正期限'),
  correctedOn: day.describe('实际改正日期'),
  /** e.g. no toxic or hazardous pollutant involved, single factor, < 0.1× over (docs/domain.md §10.2 examples) */
  listConditionsMet: z.array(text(200)).max(20).default([]).describe('清单所列其他条件'),
  educated: z.boolean().describe('已进行教育（免罚不免责）'),
});
export type MinorConditions = z.infer<typeof MinorConditions>;

const minorConditionsHold = (c: MinorConditions) =>
  c.correctedPromptly &&
  c.correctedOn <= c.correctionDeadline &&
  c.educated &&
  (c.harm === 'none' || (c.harm === 'slight' && c.firstViolation));

export const PenaltyItem = z.strictObject({
  kind: z
    .enum([
      'fine',
      'warning',
      'order_to_correct',
      'restrict_production',
      'suspend_production',
      'confiscation',
      'daily_continuous_penalty',
      'other',
    ])
    .describe('处罚种类'),
  note: text(200).optional(),
});

export const CrimeItemId = z.enum(['item1', 'item2', 'item3', 'item4', 'item5', 'item6', 'item7', 'item8']);

const decisionVariants = {
  no_violation: z.strictObject({
    type: z.literal('no_violation'),
    reason: text(1000).describe('不予立案/无违法事实理由'),
  }),
  minor_not_punished: z.strictObject({
    type: z.literal('minor_not_punished'),
    listReference: text(200).describe('依据的轻微违法不予处罚清单及事项'),
    conditions: MinorConditions,
  }),
  administrative_penalty: z.strictObject({
    type: z.literal('administrative_penalty'),
    decisionNumber: text(60).describe('处罚决定书文号，如 庆环罚〔2026〕8号'),
    decidedOn: day,
    legalBasis: text(500).describe('法律依据，如《水污染防治法》第八十三条'),
    /** the fine in integer fen (分); 0 when the penalty has no fine */
    fineFen: z.number().int('fine is a whole number of fen (罚款金额须为整数分)').min(0).max(Number.MAX_SAFE_INTEGER),
    items: z.array(PenaltyItem).min(1, 'at least one penalty item (至少一项处罚内容)').max(10),
  }),
  suspected_crime: z.strictObject({
    type: z.literal('suspected_crime'),
    /** what the platform proposed (crime-thresholds.ts proposeCrimeItems), kept as proposed */
    proposedItems: z.array(z.strictObject({ item: CrimeItemId, reference: text(100) })).max(8),
    /** what a person confirmed, each with the facts relied on; at least one */
    confirmedItems: z
      .array(z.strictObject({ item: CrimeItemId, facts: text(2000), confirmedBy: principal, confirmedAt: instant }))
      .min(1, 'a person must confirm at least one threshold item (须人工确认至少一项入罪标准)')
      .max(8),
  }),
};

export const DecisionBody = z
  .discriminatedUnion('type', [
    decisionVariants.no_violation,
    decisionVariants.minor_not_punished,
    decisionVariants.administrative_penalty,
    decisionVariants.suspected_crime,
  ])
  .superRefine((d, ctx) => {
    if (d.type === 'minor_not_punished' && !minorConditionsHold(d.conditions)) {
      ctx.addIssue({
        code: 'custom',
        path: ['conditions'],
        message:
          'no-penalty needs prompt correction within the deadline, education, and no harm (or slight harm on a first violation) ' +
          '(不予处罚须及时在期限内改正、已教育，且无危害后果或初次违法危害轻微)',
      });
    }
    if (d.type === 'administrative_penalty') {
      const hasFineItem = d.items.some((i) => i.kind === 'fine');
      if (hasFineItem !== d.fineFen > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['fineFen'],
          message: 'a fine item needs a fine above 0 and a fine needs a fine item (罚款金额与处罚种类不一致)',
        });
      }
    }
  });
export type DecisionBody = z.infer<typeof DecisionBody>;

export type CaseDecision = DecisionBody & { decidedBy: string; decidedAt: string };

export const CASE_DECISION_LABELS: Record<DecisionBody['type'], string> = {
  no_violation: '无违法行为',
  minor_not_punished: '轻微违法不予处罚',
  administrative_penalty: '行政处罚',
  suspected_crime: '涉嫌犯罪移送',
};

// ---- the stored case ----

export type TimelineType =
  | 'opened'
  | 'source_added'
  | 'evidence_added'
  | 'handlers_changed'
  | 'status_changed'
  | 'decision_recorded'
  | 'crime_items_proposed'
  | 'transfer_step'
  | 'reward_step'
  | 'unit_linked'
  | 'comment';

/** One entry of the case's timeline: every action, who, when. Never an identity of a reporter. */
export interface CaseTimelineEntry {
  id: string;
  at: string;
  by: string;
  type: TimelineType;
  note?: string;
  /** small, typed by `type`: e.g. { from, to } for status_changed, { sourceKind, sourceId } for source_added */
  data?: Record<string, string | number | boolean | string[]>;
}

export interface Case {
  caseId: string;
  /** USCC of a registered unit; absent for an unregistered site (a dumping ground, a workshop not in the registry) */
  enterpriseId?: string;
  /** the registry's name of the unit; for an unregistered site, the name the official gave */
  unitName: string;
  /** the registry's township of the unit; for an unregistered site, where it is */
  townshipId: string;
  /** where an unregistered site is (as the official described it) */
  unitAddress?: string;
  /** the unit is not in the registry yet: the bureau is to register it and link the case (POST /cases/{id}/unit) */
  needsRegistration?: boolean;
  title: string;
  sources: CaseSource[];
  /** principal ids of the case team; ≥ 2 from `investigating` on */
  handlers: string[];
  status: CaseStatus;
  evidence: CaseEvidence[];
  decision?: CaseDecision;
  /** items the platform proposed at the last check, for the suspected-crime decision form */
  proposedCrimeItems?: CrimeItem[];
  openedAt: string;
  openedBy: string;
  updatedAt: string;
  closedAt?: string;
  version: number;
}

// ---- API input ----

const SourceRef = z.strictObject({ kind: SourceKind, id: z.string().trim().min(1).max(64) });

/**
 * The party of a case: a unit of the registry by its credit code (its name and township come from the registry), or,
 * only when marked so, a site not registered yet (a workshop found by a tip or a patrol), named by the official; such
 * a case is flagged for registration until the bureau links it to the registered unit.
 */
export const CaseUnit = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('registered'),
      enterpriseId: enterpriseId.describe('统一社会信用代码 of a unit in the registry'),
    }),
    z.strictObject({
      kind: z.literal('unregistered'),
      name: text(100).describe('当事人名称（未登记的作坊、场所）'),
      townshipId: townshipId.describe('乡镇（街道）id, e.g. songyuan'),
      address: text(200).optional().describe('地址或位置描述'),
    }),
  ])
  .describe('当事人：已登记单位（统一社会信用代码），或标明未登记的场所（立案后待登记）');
export type CaseUnit = z.infer<typeof CaseUnit>;

export const OpenCaseInput = z
  .strictObject({
    title: text(120).describe('案件名称'),
    unit: CaseUnit,
    sources: z
      .array(SourceRef)
      .min(1, 'a case opens from at least one tip, alarm, clue or patrol finding (至少关联一个来源)')
      .max(50),
    handlers: z.array(principal).max(10).default([]),
  })
  .refine((c) => new Set(c.sources.map((s) => `${s.kind}#${s.id}`)).size === c.sources.length, {
    path: ['sources'],
    message: 'a source is listed twice (来源重复)',
  });
export type OpenCaseInput = z.infer<typeof OpenCaseInput>;

export const AttachSourceInput = SourceRef;
export type AttachSourceInput = z.infer<typeof AttachSourceInput>;

export const AssignHandlersInput = z
  .strictObject({
    handlers: z
      .array(principal)
      .min(MIN_HANDLERS, `an investigation needs at least ${MIN_HANDLERS} handlers (调查须有两名以上执法人员)`)
      .max(10),
  })
  .refine((h) => new Set(h.handlers).size === h.handlers.length, {
    path: ['handlers'],
    message: 'a handler is listed twice (承办人重复)',
  });
export type AssignHandlersInput = z.infer<typeof AssignHandlersInput>;

export const AddEvidenceInput = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('object'),
    kind: EvidenceKind,
    key: z.string().min(1).max(512),
    sha256,
    note: text(500).optional(),
  }),
  z
    .strictObject({
      type: z.literal('raw_archive'),
      mn: z.string().regex(/^[0-9A-Za-z]{1,24}$/, 'MN is up to 24 letters or digits (MN为1至24位字母或数字)'),
      from: instant,
      to: instant,
      note: text(500).optional(),
    })
    .refine((r) => Date.parse(r.from) < Date.parse(r.to), {
      path: ['to'],
      message: 'the span must end after it starts (结束时间须晚于开始时间)',
    }),
]);
export type AddEvidenceInput = z.infer<typeof AddEvidenceInput>;

export const LinkUnitInput = z.strictObject({
  enterpriseId: enterpriseId.describe('统一社会信用代码 of the unit now in the registry'),
});
export type LinkUnitInput = z.infer<typeof LinkUnitInput>;

export const RecordDecisionInput = z.strictObject({ decision: DecisionBody });
export type RecordDecisionInput = z.infer<typeof RecordDecisionInput>;

/** Whether a case in `status` still takes later sources: open or under investigation (not decided, not closed). */
export const acceptsSources = (status: CaseStatus): boolean => status === 'open' || status === 'investigating';

/** Whether a later source belongs to this case: an open (not decided, not closed) case of the same unit. */
export function acceptsSourcesFor(c: Pick<Case, 'status' | 'enterpriseId'>, enterpriseId: string): boolean {
  return acceptsSources(c.status) && c.enterpriseId === enterpriseId;
}

/**
 * Whether a decision can carry a reward, i.e. starts the reward workflow when the case came from a tip: an
 * administrative penalty with a fine. Detention, arrest and conviction arrive later as transfer outcomes
 * (transfer.ts) and start a further reward round (reward.ts rewardDelta).
 */
export const decisionCarriesReward = (d: DecisionBody): boolean => d.type === 'administrative_penalty' && d.fineFen > 0;

/** Whether a case in `status` with `handlers` may record a decision: investigating, with a team of two or more. */
export function canDecide(c: Pick<Case, 'status' | 'handlers'>): boolean {
  return c.status === 'investigating' && new Set(c.handlers).size >= MIN_HANDLERS;
}
