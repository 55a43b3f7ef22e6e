import { createHash } from 'node:crypto';
import type { VerifyReport } from '#shared/domain/archive/verify.ts';
import { ConflictError } from '#shared/domain/errors.ts';
import { computeDeadline, type Deadline, type FilingExtension } from './deadlines.ts';
import { type Case, type CaseEvidence, MIN_HANDLERS } from './model.ts';
import type { RewardComponent } from './reward.ts';
import {
  type ActInput,
  act,
  clockStart,
  startWorkflow,
  type WorkflowDefinition,
  type WorkflowState,
} from './workflow.ts';

/**
 * The judicial transfer (两法衔接) as a pure, data-driven state machine (docs/domain.md §6.1 国务院令第310号, §6.2
 * 环环监〔2017〕17号). The Step Functions standard workflow mirrors TRANSFER_FLOW step for step (workflow.ts
 * stepFunctionsOutline); each human step is a `.waitForTaskToken` task whose timer is the step's statutory deadline.
 *
 *   report_drafting (case team ≥2 writes the transfer report)
 *     └ submit_report ─► head_decision (bureau head, 3 days)
 *          ├ approve ─► handover (case team, 24 h: package to the police, letter copied to the procuratorate)
 *          │              └ hand_over ─► police_receipt (police liaison signs the receipt)
 *          │                               └ acknowledge ─► police_review (3 days; 7 / 30 extended)
 *          │                                    ├ request_materials ─► materials_completion (case team, 3 days) ─► back
 *          │                                    ├ extend (clue check 7 d / complex 30 d, from the receipt)
 *          │                                    ├ file ─► items_handover (case team, 3 days) ─► criminal_proceedings
 *          │                                    ├ return_not_police_matter ─► returned
 *          │                                    └ refuse_filing ─► refusal_response (case team, 3 working days)
 *          │                                          ├ request_reconsideration ─► reconsideration (police, 3 wd)
 *          │                                          │     ├ file ─► items_handover
 *          │                                          │     └ uphold_refusal ─► supervision_option (3 days)
 *          │                                          ├ request_supervision ─► procuratorate_supervision
 *          │                                          └ accept_refusal ─► returned
 *          └ reject ─► not_transferred (reasons recorded; the case stays administrative — never 以罚代刑 silently)
 *   criminal_proceedings: outcomes fed back (detention, arrest approved — both stay; convicted ─► concluded;
 *   not prosecuted / no crime / too minor ─► returned for an administrative penalty, 310号 第十三条, 2017 第十七条).
 *   The proceedings have no end in law and can outlast a Step Functions execution (one year at most), so the step is
 *   `followUp`: the transfer execution ends when the items are handed over after the filing, and the periodic
 *   follow-up (follow-up.ts) keeps the liaisons' task open and re-arms it until a conviction or a return.
 *
 * Refused actions (wrong role, stale step, finished workflow, missing reasons) change nothing (workflow.ts act).
 */

export const TRANSFER_STEPS = [
  'report_drafting',
  'head_decision',
  'handover',
  'police_receipt',
  'police_review',
  'materials_completion',
  'refusal_response',
  'reconsideration',
  'supervision_option',
  'procuratorate_supervision',
  'items_handover',
  'criminal_proceedings',
  'returned',
  'not_transferred',
  'concluded',
] as const;
export type TransferStep = (typeof TRANSFER_STEPS)[number];

export type TransferAction =
  | 'submit_report'
  | 'approve'
  | 'reject'
  | 'hand_over'
  | 'acknowledge'
  | 'request_materials'
  | 'submit_materials'
  | 'extend_clue_check'
  | 'extend_complex'
  | 'file'
  | 'refuse_filing'
  | 'return_not_police_matter'
  | 'request_reconsideration'
  | 'request_supervision'
  | 'accept_refusal'
  | 'uphold_refusal'
  | 'order_filing'
  | 'supervision_upheld_refusal'
  | 'hand_over_items'
  | 'record_detention'
  | 'record_arrest_approved'
  | 'record_conviction'
  | 'return_for_penalty';

export const TRANSFER_FLOW: WorkflowDefinition<TransferStep, TransferAction> = {
  name: 'judicial-transfer',
  start: 'report_drafting',
  steps: {
    report_drafting: {
      labelZh: '专案组撰写移送报告',
      actors: ['case_team'],
      actions: { submit_report: { next: 'head_decision', labelZh: '提交涉嫌犯罪案件移送报告' } },
    },
    head_decision: {
      labelZh: '负责人审批',
      actors: ['bureau_head'],
      deadline: 'head_decision',
      actions: {
        approve: { next: 'handover', labelZh: '批准移送' },
        reject: { next: 'not_transferred', labelZh: '不批准移送', requiresComment: true },
      },
    },
    handover: {
      labelZh: '向公安机关移送（抄送检察院）',
      actors: ['case_team'],
      deadline: 'handover_to_police',
      actions: { hand_over: { next: 'police_receipt', labelZh: '已移送案件材料' } },
    },
    police_receipt: {
      labelZh: '公安机关接收',
      actors: ['police_liaison'],
      actions: { acknowledge: { next: 'police_review', labelZh: '签收回执' } },
    },
    police_review: {
      labelZh: '公安机关审查立案',
      actors: ['police_liaison'],
      deadline: 'filing_decision',
      clock: 'first_entry',
      actions: {
        request_materials: { next: 'materials_completion', labelZh: '书面通知补充材料', requiresComment: true },
        extend_clue_check: { next: 'police_review', labelZh: '需核查线索，延长至7日', requiresComment: true },
        extend_complex: { next: 'police_review', labelZh: '重大复杂案件，延长至30日', requiresComment: true },
        file: { next: 'items_handover', labelZh: '决定立案' },
        refuse_filing: { next: 'refusal_response', labelZh: '决定不予立案', requiresComment: true },
        return_not_police_matter: { next: 'returned', labelZh: '不属公安管辖，退回', requiresComment: true },
      },
    },
    materials_completion: {
      labelZh: '补充移送材料',
      actors: ['case_team'],
      deadline: 'materials_completion',
      actions: { submit_materials: { next: 'police_review', labelZh: '已补充材料' } },
    },
    refusal_response: {
      labelZh: '对不予立案决定的处理',
      actors: ['case_team'],
      deadline: 'reconsideration_request',
      actions: {
        request_reconsideration: { next: 'reconsideration', labelZh: '提请复议' },
        request_supervision: { next: 'procuratorate_supervision', labelZh: '建议检察院立案监督' },
        accept_refusal: { next: 'returned', labelZh: '接受不立案决定，依法行政处理', requiresComment: true },
      },
    },
    reconsideration: {
      labelZh: '公安机关复议',
      actors: ['police_liaison'],
      deadline: 'reconsideration_decision',
      actions: {
        file: { next: 'items_handover', labelZh: '复议决定立案' },
        uphold_refusal: { next: 'supervision_option', labelZh: '复议维持不予立案', requiresComment: true },
      },
    },
    supervision_option: {
      labelZh: '是否提请检察监督',
      actors: ['case_team'],
      deadline: 'supervision_request',
      actions: {
        request_supervision: { next: 'procuratorate_supervision', labelZh: '建议检察院立案监督' },
        accept_refusal: { next: 'returned', labelZh: '接受复议决定，依法行政处理', requiresComment: true },
      },
    },
    procuratorate_supervision: {
      labelZh: '检察机关立案监督',
      actors: ['procuratorate_liaison'],
      actions: {
        order_filing: { next: 'items_handover', labelZh: '通知公安机关立案' },
        supervision_upheld_refusal: { next: 'returned', labelZh: '认为不立案理由成立', requiresComment: true },
      },
    },
    items_handover: {
      labelZh: '移交涉案物品及材料',
      actors: ['case_team'],
      deadline: 'items_handover',
      actions: { hand_over_items: { next: 'criminal_proceedings', labelZh: '已移交涉案物品' } },
    },
    criminal_proceedings: {
      labelZh: '刑事诉讼进展反馈',
      actors: ['police_liaison', 'procuratorate_liaison'],
      followUp: true,
      actions: {
        record_detention: { next: 'criminal_proceedings', labelZh: '行政拘留' },
        record_arrest_approved: { next: 'criminal_proceedings', labelZh: '批准逮捕' },
        record_conviction: { next: 'concluded', labelZh: '判决有罪' },
        return_for_penalty: { next: 'returned', labelZh: '不起诉/无罪/情节轻微，退回行政处罚', requiresComment: true },
      },
    },
    returned: { labelZh: '退回生态环境部门依法处理', actors: [], actions: {}, terminal: true },
    not_transferred: { labelZh: '不予移送（记录理由）', actors: [], actions: {}, terminal: true },
    concluded: { labelZh: '刑事判决已生效', actors: [], actions: {}, terminal: true },
  },
};

export type TransferState = WorkflowState<TransferStep, TransferAction> & {
  filingExtension: FilingExtension;
};

/** A transfer starts on a suspected-crime decision with a case team of at least two officers. */
export function startTransfer(c: Pick<Case, 'caseId' | 'handlers' | 'decision'>, at: string): TransferState {
  if (c.decision?.type !== 'suspected_crime') {
    throw new ConflictError(`case ${c.caseId} has no suspected-crime decision (案件未作出涉嫌犯罪决定)`);
  }
  if (new Set(c.handlers).size < MIN_HANDLERS) {
    throw new ConflictError(
      `a transfer needs a case team of at least ${MIN_HANDLERS} officers (须指定两名以上专案人员)`,
    );
  }
  return { ...startWorkflow(TRANSFER_FLOW, at), filingExtension: 'none' };
}

/** One transfer action; an extension changes the filing deadline (still counted from the police's receipt). */
export function transferAct(state: TransferState, input: ActInput<TransferStep, TransferAction>): TransferState {
  const next = act(TRANSFER_FLOW, state, input);
  const filingExtension: FilingExtension =
    input.action === 'extend_complex'
      ? 'complex'
      : input.action === 'extend_clue_check' && state.filingExtension !== 'complex'
        ? 'clue_check'
        : state.filingExtension;
  return { ...next, filingExtension };
}

/** The deadline running at the current step, if any: the timer the state machine waits on. */
export function currentTransferDeadline(state: TransferState): Deadline | undefined {
  const step = TRANSFER_FLOW.steps[state.step];
  const start = clockStart(TRANSFER_FLOW, state);
  if (!step.deadline || !start) return undefined;
  return computeDeadline(step.deadline, start, { extension: state.filingExtension });
}

/** The reward component an outcome action brings (a further reward round on a case that came from a tip). */
export const OUTCOME_REWARD: Partial<Record<TransferAction, RewardComponent>> = {
  record_detention: 'detention',
  record_arrest_approved: 'arrest',
  record_conviction: 'conviction',
};

// ---- the transfer package ----

/** Materials of a transfer (环环监〔2017〕17号 第六条 ①–⑦, plus the penalty decision when one was issued). */
export const TRANSFER_MATERIALS = {
  transfer_letter: { labelZh: '涉嫌犯罪案件移送书', required: 'always' },
  investigation_report: { labelZh: '涉嫌犯罪案件情况的调查报告', required: 'always' },
  inspection_records: { labelZh: '现场检查（勘察）笔录、调查询问笔录、现场勘验图、采样记录单', required: 'always' },
  seized_items: { labelZh: '涉案物品清单及查封扣押等行政强制措施文书', required: 'if_seized' },
  audiovisual_list: { labelZh: '现场照片、录音录像及清单', required: 'if_media' },
  monitoring_reports: { labelZh: '监测、检验报告，突发环境事件调查报告，认定意见', required: 'always' },
  penalty_decision: { labelZh: '行政处罚决定书', required: 'if_penalised' },
  other: { labelZh: '其他有关涉嫌犯罪的材料', required: 'never' },
} as const;
export type TransferMaterial = keyof typeof TRANSFER_MATERIALS;

export interface PackageInput {
  case: Pick<Case, 'caseId' | 'unitName' | 'evidence'>;
  /** which case evidence items (ids) are each material document */
  documents: Partial<Record<TransferMaterial, string[]>>;
  seized: boolean;
  penalised: boolean;
  /** the monitoring-data export attached (an S3 object with its hash) */
  monitoringExport?: { key: string; sha256: string; mn: string; from: string; to: string };
  /** verification of the raw archive over the case's spans (archive/verify.ts), one report per chain */
  archiveVerification: VerifyReport[];
  builtAt: string;
}

export interface PackageMaterial {
  material: TransferMaterial;
  labelZh: string;
  required: boolean;
  evidenceIds: string[];
  present: boolean;
}

export interface TransferPackage {
  caseId: string;
  unitName: string;
  builtAt: string;
  materials: PackageMaterial[];
  /** every object of the case with its SHA-256, in evidence order */
  evidenceManifest: { id: string; kind: string; key: string; sha256: string; note?: string }[];
  rawArchive: { mn: string; from: string; to: string }[];
  monitoringExport?: PackageInput['monitoringExport'];
  archiveVerification: { chain: string; from: string; to: string; ok: boolean; records: number; breaks: number }[];
  /** required materials not yet present, and archive chains that failed verification */
  missing: string[];
  complete: boolean;
  /** SHA-256 of the manifest's canonical JSON (everything above): printed on the transfer letter */
  manifestSha256: string;
}

const isObject = (e: CaseEvidence): e is Extract<CaseEvidence, { type: 'object' }> => e.type === 'object';

/** Builds the package manifest the case team hands over; says what is missing rather than refusing. */
export function buildTransferPackage(input: PackageInput): TransferPackage {
  const objects = input.case.evidence.filter(isObject);
  const known = new Set(objects.map((o) => o.id));
  const hasMedia = objects.some((o) => o.kind === 'photo' || o.kind === 'video');
  const materials = (Object.keys(TRANSFER_MATERIALS) as TransferMaterial[]).map((material) => {
    const rule = TRANSFER_MATERIALS[material].required;
    const required =
      rule === 'always' ||
      (rule === 'if_seized' && input.seized) ||
      (rule === 'if_media' && hasMedia) ||
      (rule === 'if_penalised' && input.penalised);
    let evidenceIds = (input.documents[material] ?? []).filter((id) => known.has(id));
    if (material === 'audiovisual_list' && evidenceIds.length === 0) {
      evidenceIds = objects.filter((o) => o.kind === 'photo' || o.kind === 'video').map((o) => o.id);
    }
    if (material === 'monitoring_reports' && evidenceIds.length === 0) {
      evidenceIds = objects.filter((o) => o.kind === 'lab_report' || o.kind === 'monitoring_export').map((o) => o.id);
    }
    return {
      material,
      labelZh: TRANSFER_MATERIALS[material].labelZh,
      required,
      evidenceIds,
      present: evidenceIds.length > 0,
    };
  });
  const archiveVerification = input.archiveVerification.map((r) => ({
    chain: r.chain,
    from: r.from,
    to: r.to,
    ok: r.ok,
    records: r.records,
    breaks: r.breaks.length,
  }));
  const rawArchive = input.case.evidence.flatMap((e) =>
    e.type === 'raw_archive' ? [{ mn: e.mn, from: e.from, to: e.to }] : [],
  );
  const missing = [
    ...materials.filter((m) => m.required && !m.present).map((m) => `缺少：${m.labelZh}`),
    ...archiveVerification.filter((v) => !v.ok).map((v) => `原始数据存档校验未通过：${v.chain}（${v.from}至${v.to}）`),
    ...(rawArchive.length > 0 && archiveVerification.length === 0 ? ['缺少：原始数据存档校验'] : []),
  ];
  const body = {
    caseId: input.case.caseId,
    unitName: input.case.unitName,
    builtAt: input.builtAt,
    materials,
    evidenceManifest: objects.map((o) => ({
      id: o.id,
      kind: o.kind,
      key: o.key,
      sha256: o.sha256,
      ...(o.note ? { note: o.note } : {}),
    })),
    rawArchive,
    ...(input.monitoringExport ? { monitoringExport: input.monitoringExport } : {}),
    archiveVerification,
    missing,
    complete: missing.length === 0,
  };
  return { ...body, manifestSha256: createHash('sha256').update(JSON.stringify(body)).digest('hex') };
}
