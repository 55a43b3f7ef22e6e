import { ValidationError } from '#shared/domain/errors.ts';

/**
 * Reporting rewards (举报奖励) under 《浙江省生态环境违法行为举报奖励办法》 (浙环发〔2020〕15号, docs/domain.md §5.2), pure.
 *
 * ALL AMOUNTS ARE INTEGER FEN (分). No floating point touches money: 5 % of a fine is `floor(fineFen / 20)`, i.e. the
 * reward is ROUNDED DOWN TO THE FEN (a fine of 1,234,567 fen gives 61,728 fen, not 61,728.35). Rounding down never pays
 * more than the rule allows; the difference is below one fen.
 *
 * A reward is made of COMPONENTS, each granted AT MOST ONCE per case (the rule's "one-off" awards):
 *   penalty     5 % of the fine of the administrative penalty decision, capped at 10,000,000 fen (CNY 100,000)
 *   detention   500,000 fen (CNY 5,000) when the police impose administrative detention
 *   arrest      1,000,000 fen (CNY 10,000) when the procuratorate approves arrest
 *   conviction  1,000,000 fen (CNY 10,000) when a court convicts
 *   special     especially serious / egregious case: an amount the county government approved, ≤ 50,000,000 fen
 *   bounty      a public bounty (悬赏) the county government approved, ≤ 50,000,000 fen
 * Several components apply to the same report: they stack (docs/domain.md §5.2 "stackable"). Later decisions on the same
 * case add only the components not yet granted (`rewardDelta`): a retried or repeated decision never pays twice.
 *
 * DECISION (policy reading, tell the integrator): `special` is modelled as an ADDITIONAL component next to the standard
 * ones, with the government-approved amount as input. The provincial text says "up to CNY 500,000 one-off" for such
 * cases without saying whether it replaces the standard components; the approving government decides the amount with
 * the standard components in view (they are listed in the approval), so the platform never invents the amount.
 *
 * Eligibility (docs/domain.md §5.1 exclusions, typical of provincial rules): the first valid reporter of the clue (computed
 * by tips/triage.ts firstValidReporter, taken here as input); not staff with supervisory duties or their close
 * relatives; a verifiable identity (an anonymous reporter may claim with the receipt and reveal the identity to the
 * reward post only, through the identity vault: `identityVerified`); the clue not already known / under investigation /
 * ordered to correct; not untrue or malicious; and the reporter has not declined the reward.
 */

export const REWARD_RULES = {
  /** 5 % = 1/20: the reward is floor(fineFen / PENALTY_DIVISOR) */
  penaltyDivisor: 20,
  penaltyCapFen: 10_000_000,
  detentionFen: 500_000,
  arrestFen: 1_000_000,
  convictionFen: 1_000_000,
  specialCapFen: 50_000_000,
  bountyCapFen: 50_000_000,
} as const;

export const REWARD_COMPONENTS = ['penalty', 'detention', 'arrest', 'conviction', 'special', 'bounty'] as const;
export type RewardComponent = (typeof REWARD_COMPONENTS)[number];

export const REWARD_COMPONENT_LABELS: Record<RewardComponent, string> = {
  penalty: '行政处罚罚款5%奖励',
  detention: '行政拘留奖励',
  arrest: '批准逮捕奖励',
  conviction: '判决有罪奖励',
  special: '特别重大案件奖励（县政府批准）',
  bounty: '悬赏奖励（县政府批准）',
};

/** Who the reporter is, as far as the reward post has established it. Never the identity itself. */
export interface RewardReporter {
  /** the tip is the first valid report of its merged group (tips/triage.ts firstValidReporter) */
  firstValidReporter: boolean;
  kind: 'real_name' | 'anonymous';
  /**
   * the reward post verified who the reporter is: a real-name report through the vault; an anonymous reporter who came
   * forward with the receipt and revealed the identity to the reward post (logged in the tip's timeline)
   */
  identityVerified: boolean;
  /** staff of the ecology-environment bureau or of another department with supervisory duties */
  supervisoryStaff: boolean;
  /** close relative (近亲属) of such staff */
  closeRelativeOfStaff: boolean;
  /** the reporter declined the reward */
  declined: boolean;
}

/** What the bureau knew of the clue when the report came in, and what the verification found. */
export interface RewardClue {
  alreadyKnown: boolean;
  underInvestigation: boolean;
  alreadyOrderedToCorrect: boolean;
  /** verification found the report untrue */
  untrue: boolean;
  /** malicious, fabricated, or made to extort improper benefit */
  malicious: boolean;
}

export interface GovernmentApproval {
  /** the amount the county government approved, integer fen */
  approvedFen: number;
  /** the approval document, e.g. 庆政办〔2026〕12号 */
  approvalReference: string;
}

/** Decisions recorded on the case that can carry a reward. Cumulative: every decision so far. */
export interface RewardDecisions {
  penalty?: { decisionNumber: string; fineFen: number };
  detention?: { reference: string };
  arrest?: { reference: string };
  conviction?: { reference: string };
  special?: GovernmentApproval;
  bounty?: GovernmentApproval;
}

export interface RewardInput {
  reporter: RewardReporter;
  clue: RewardClue;
  decisions: RewardDecisions;
}

export const EXCLUSION_CODES = [
  'not_first_reporter',
  'supervisory_staff',
  'staff_relative',
  'identity_not_verified',
  'clue_already_known',
  'clue_under_investigation',
  'clue_already_ordered_to_correct',
  'report_untrue',
  'report_malicious',
  'declined',
] as const;
export type ExclusionCode = (typeof EXCLUSION_CODES)[number];

export interface Exclusion {
  code: ExclusionCode;
  reasonZh: string;
  reason: string;
}

export interface RewardLine {
  component: RewardComponent;
  amountFen: number;
  labelZh: string;
  /** how the amount was reached, e.g. "5% of 30,000,000 fen = 1,500,000 fen" */
  basis: string;
  /** the 5 % was cut to the cap */
  capped?: boolean;
}

/** One approval in the chain; the county government's is recorded by the reward post from its document. */
export interface ApprovalStep {
  step: 'handler' | 'section_chief' | 'bureau_head' | 'county_government';
  labelZh: string;
  /** the platform role that acts on the step */
  role: 'handler' | 'section_chief' | 'bureau_head' | 'reward_post';
}

export interface RewardResult {
  eligible: boolean;
  exclusions: Exclusion[];
  /** payable components (empty when not eligible), in REWARD_COMPONENTS order */
  lines: RewardLine[];
  totalFen: number;
  /** approvals the amount needs, in order (empty when nothing is payable) */
  approvals: ApprovalStep[];
}

const EXCLUSIONS: Record<ExclusionCode, { zh: string; en: string }> = {
  not_first_reporter: { zh: '非首位有效举报人', en: 'not the first valid reporter of the clue' },
  supervisory_staff: {
    zh: '举报人为生态环境部门或其他负有监管职责部门的工作人员',
    en: 'the reporter is staff with supervisory duties',
  },
  staff_relative: { zh: '举报人为负有监管职责工作人员的近亲属', en: 'the reporter is a close relative of such staff' },
  identity_not_verified: {
    zh: '举报人身份未核实（匿名举报人可凭回执向奖励岗表明身份后申领）',
    en: 'identity not verified (an anonymous reporter may claim with the receipt and reveal it to the reward post)',
  },
  clue_already_known: { zh: '线索已被生态环境部门掌握', en: 'the clue was already known' },
  clue_under_investigation: { zh: '线索所涉违法行为已在查处中', en: 'the matter was already under investigation' },
  clue_already_ordered_to_correct: { zh: '已责令改正的违法行为', en: 'the unit had already been ordered to correct' },
  report_untrue: { zh: '举报内容经核查不属实', en: 'the report was found untrue' },
  report_malicious: { zh: '恶意举报、捏造事实或借举报谋取不正当利益', en: 'malicious or fabricated report' },
  declined: { zh: '举报人放弃奖励', en: 'the reporter declined the reward' },
};

const exclusion = (code: ExclusionCode): Exclusion => ({
  code,
  reasonZh: EXCLUSIONS[code].zh,
  reason: EXCLUSIONS[code].en,
});

/** Every reason the reporter cannot be rewarded, in a fixed order; empty when eligible. */
export function rewardExclusions(reporter: RewardReporter, clue: RewardClue): Exclusion[] {
  const checks: [boolean, ExclusionCode][] = [
    [!reporter.firstValidReporter, 'not_first_reporter'],
    [reporter.supervisoryStaff, 'supervisory_staff'],
    [reporter.closeRelativeOfStaff, 'staff_relative'],
    [!reporter.identityVerified, 'identity_not_verified'],
    [clue.alreadyKnown, 'clue_already_known'],
    [clue.underInvestigation, 'clue_under_investigation'],
    [clue.alreadyOrderedToCorrect, 'clue_already_ordered_to_correct'],
    [clue.untrue, 'report_untrue'],
    [clue.malicious, 'report_malicious'],
    [reporter.declined, 'declined'],
  ];
  return checks.filter(([hit]) => hit).map(([, code]) => exclusion(code));
}

const fen = (n: number) => `${n.toLocaleString('en-US')} fen`;

function requireFen(value: number, field: string, max?: number): void {
  const ok = Number.isSafeInteger(value) && value >= 0 && (max === undefined || value <= max);
  if (!ok) {
    const range = max === undefined ? 'a whole number of fen ≥ 0' : `a whole number of fen from 0 to ${fen(max)}`;
    throw new ValidationError(`${field} must be ${range}`, [
      {
        field,
        message: `must be ${range}`,
        messageZh:
          max === undefined ? '金额须为不小于0的整数（单位：分）' : `金额须为0至${max / 100}元之间的整数（单位：分）`,
      },
    ]);
  }
}

/** 5 % of the fine, rounded down to the fen, capped at CNY 100,000. */
export function penaltyReward(fineFen: number): { amountFen: number; capped: boolean } {
  requireFen(fineFen, 'decisions.penalty.fineFen');
  const raw = Math.floor(fineFen / REWARD_RULES.penaltyDivisor);
  return raw > REWARD_RULES.penaltyCapFen
    ? { amountFen: REWARD_RULES.penaltyCapFen, capped: true }
    : { amountFen: raw, capped: false };
}

/** The lines the decisions give, regardless of eligibility (validated; zero-amount lines left out). */
export function rewardLines(decisions: RewardDecisions): RewardLine[] {
  const lines: RewardLine[] = [];
  const add = (component: RewardComponent, amountFen: number, basis: string, capped?: boolean) => {
    if (amountFen > 0) {
      lines.push({
        component,
        amountFen,
        labelZh: REWARD_COMPONENT_LABELS[component],
        basis,
        ...(capped ? { capped } : {}),
      });
    }
  };
  if (decisions.penalty) {
    const { amountFen, capped } = penaltyReward(decisions.penalty.fineFen);
    add(
      'penalty',
      amountFen,
      `5% of the fine ${fen(decisions.penalty.fineFen)} (${decisions.penalty.decisionNumber}), rounded down to the fen` +
        (capped ? `, capped at ${fen(REWARD_RULES.penaltyCapFen)}` : ''),
      capped,
    );
  }
  if (decisions.detention)
    add('detention', REWARD_RULES.detentionFen, `administrative detention (${decisions.detention.reference})`);
  if (decisions.arrest) add('arrest', REWARD_RULES.arrestFen, `arrest approved (${decisions.arrest.reference})`);
  if (decisions.conviction)
    add('conviction', REWARD_RULES.convictionFen, `conviction (${decisions.conviction.reference})`);
  if (decisions.special) {
    requireFen(decisions.special.approvedFen, 'decisions.special.approvedFen', REWARD_RULES.specialCapFen);
    add(
      'special',
      decisions.special.approvedFen,
      `approved by the county government (${decisions.special.approvalReference})`,
    );
  }
  if (decisions.bounty) {
    requireFen(decisions.bounty.approvedFen, 'decisions.bounty.approvedFen', REWARD_RULES.bountyCapFen);
    add(
      'bounty',
      decisions.bounty.approvedFen,
      `bounty approved by the county government (${decisions.bounty.approvalReference})`,
    );
  }
  return lines;
}

/**
 * The approval chain for a set of lines: 承办人 → 科室负责人 → 局领导, then the county government when a special
 * amount or a bounty is among them (its approval document is recorded by the reward post). Empty for nothing payable.
 */
export function approvalChain(lines: readonly RewardLine[]): ApprovalStep[] {
  if (lines.length === 0) return [];
  const chain: ApprovalStep[] = [
    { step: 'handler', labelZh: '承办人审核', role: 'handler' },
    { step: 'section_chief', labelZh: '科室负责人审核', role: 'section_chief' },
    { step: 'bureau_head', labelZh: '局领导审批', role: 'bureau_head' },
  ];
  if (lines.some((l) => l.component === 'special' || l.component === 'bounty')) {
    chain.push({ step: 'county_government', labelZh: '县政府批准（奖励岗登记批准文件）', role: 'reward_post' });
  }
  return chain;
}

const sum = (lines: readonly { amountFen: number }[]) => lines.reduce((t, l) => t + l.amountFen, 0);

/** THE REWARD for a report: eligibility, payable lines, total in fen and the approvals it needs. */
export function computeReward(input: RewardInput): RewardResult {
  const lines = rewardLines(input.decisions);
  const exclusions = rewardExclusions(input.reporter, input.clue);
  if (exclusions.length > 0) return { eligible: false, exclusions, lines: [], totalFen: 0, approvals: [] };
  return { eligible: true, exclusions: [], lines, totalFen: sum(lines), approvals: approvalChain(lines) };
}

/** A component already granted on the case (approved or paid): the ledger the delta is taken against. */
export interface GrantedComponent {
  component: RewardComponent;
  amountFen: number;
}

export interface RewardDelta {
  /** the result over all decisions so far */
  result: RewardResult;
  /** lines not granted yet: what this round approves and pays */
  lines: RewardLine[];
  totalFen: number;
  approvals: ApprovalStep[];
  /** components already granted, left alone */
  alreadyGranted: RewardComponent[];
  /**
   * components granted before at a different amount than the decisions now give (e.g. a fine reduced on
   * administrative reconsideration): never re-paid or clawed back automatically; people decide
   */
  discrepancies: { component: RewardComponent; grantedFen: number; nowFen: number }[];
}

/**
 * What a later round pays: the components the decisions now give that were not granted before. Idempotent by
 * component: running it again with the same ledger and decisions gives the same answer, and after the new lines are
 * recorded as granted it gives nothing. A conviction recorded after the penalty adds 1,000,000 fen and nothing else.
 */
export function rewardDelta(alreadyGranted: readonly GrantedComponent[], input: RewardInput): RewardDelta {
  const result = computeReward(input);
  const granted = new Map<RewardComponent, number>();
  for (const g of alreadyGranted) granted.set(g.component, (granted.get(g.component) ?? 0) + g.amountFen);
  const lines = result.lines.filter((l) => !granted.has(l.component));
  const discrepancies = result.lines
    .filter((l) => granted.has(l.component) && granted.get(l.component) !== l.amountFen)
    .map((l) => ({ component: l.component, grantedFen: granted.get(l.component) ?? 0, nowFen: l.amountFen }));
  return {
    result,
    lines,
    totalFen: sum(lines),
    approvals: approvalChain(lines),
    alreadyGranted: REWARD_COMPONENTS.filter((c) => granted.has(c)),
    discrepancies,
  };
}

/** 1234567 fen → "12,345.67" (CNY, for Chinese text); integer arithmetic only. */
export function formatYuan(amountFen: number): string {
  const sign = amountFen < 0 ? '-' : '';
  const abs = Math.abs(amountFen);
  const yuan = Math.floor(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  return `${sign}${yuan.toLocaleString('en-US')}.${cents}`;
}
