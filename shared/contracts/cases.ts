import * as z from 'zod';
import {
  AddEvidenceInput,
  AssignHandlersInput,
  AttachSourceInput,
  CaseStatus,
  DecisionBody,
  LinkUnitInput,
  OpenCaseInput,
} from '#shared/domain/cases/model.ts';
import { TASK_ROLES } from '#shared/domain/cases/workflow.ts';
import { ULID_PATTERN } from '#shared/domain/ids.ts';
import type { Role } from '#shared/domain/roles.ts';
import { lineText, multilineText } from '#shared/domain/text.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { casePartyPlace, PLACES } from './places.ts';

/**
 * The officials' cases API (案件): open a case from tips, alarms, clues and patrol findings, attach later sources,
 * name the case team, add evidence, record THE decision (which starts the reward or the judicial-transfer workflow),
 * read a case, its timeline and its workflow history; the tasks waiting for me and acting on one; the deadlines due.
 * Changes take `If-Match: "<version>"` (412 when stale). Task tokens never leave the server.
 */

/** Bureau staff who work cases. */
export const CASE_STAFF: readonly Role[] = ['handler', 'section_chief', 'bureau_head', 'analyst'];
/**
 * Who may read a case: the staff, plus the reward post (cases from tips) and the liaisons (suspected-crime cases);
 * the narrower scopes are checked per case in the service (caseReadable).
 */
export const CASE_READERS: readonly Role[] = [...CASE_STAFF, 'reward_post', 'police_liaison', 'procuratorate_liaison'];
export const CASE_OPENERS: readonly Role[] = ['handler', 'section_chief', 'bureau_head'];
/** Sources and evidence: the case team (a handler named on the case) or a section chief. */
export const CASE_WORKERS: readonly Role[] = ['handler', 'section_chief'];
export const TEAM_ASSIGNERS: readonly Role[] = ['section_chief', 'bureau_head'];
/** 行政处罚 and the other decisions are taken by the heads (负责人), not by the handlers. */
export const DECIDERS: readonly Role[] = ['section_chief', 'bureau_head'];
export { TASK_ROLES };
/** The transfer package: the liaisons who receive it and the bureau staff who prepare it. */
export const TRANSFER_PACKAGE_READERS: readonly Role[] = [
  'police_liaison',
  'procuratorate_liaison',
  'handler',
  'section_chief',
  'bureau_head',
];
export const DEADLINE_READERS: readonly Role[] = [
  'handler',
  'section_chief',
  'bureau_head',
  'police_liaison',
  'procuratorate_liaison',
];

const tags = ['cases'];
const ulidOf = (what: string) => z.string().regex(ULID_PATTERN, `${what} is a ULID`);
const caseParams = z.strictObject({ caseId: ulidOf('case id') });
const taskParams = z.strictObject({ taskId: ulidOf('task id') });
const limit = z.coerce.number().int().min(1).max(100).default(50);
const cursor = z.string().max(2048).optional();
const ifMatchNote =
  'Send `If-Match: "<version>"` (the ETag of GET /cases/{caseId}) to refuse the change when someone else changed the case first (412).';
const uscc = z
  .string()
  .regex(/^[0-9A-HJ-NPQRTUWXY]{18}$/, '18-character unified social credit code (须为 18 位统一社会信用代码)');
const factSource = z.strictObject({
  evidenceId: ulidOf('evidence id').describe(
    'the case evidence item (lab report, inspection record…) the fact rests on',
  ),
});
const substance = z.enum(['toxic', 'radioactive', 'pathogen', 'other']);
const desc = multilineText(500);

/**
 * Facts a handler records for the crime-threshold check (法释〔2023〕7号 第一条), each citing an evidence item of the
 * case. Exceedances of the case's alarms are added by the platform; the unit's permit class and the outlets'
 * drinking-water-zone flags come from the registry, never from the request.
 */
export const CrimeFactsInput = z.strictObject({
  labExceedances: z
    .array(
      z.strictObject({
        pollutant: z.string().min(1).max(10).describe('HJ 212 code or element symbol (Pb, Tl …)'),
        value: z.number().nonnegative(),
        limit: z.number().positive(),
        unit: z.string().max(20).optional(),
        at: z.iso.datetime({ offset: true }),
        outletName: z.string().max(60).optional(),
        inDrinkingWaterProtectionZone: z.boolean().default(false),
        ...factSource.shape,
      }),
    )
    .max(50)
    .default([]),
  protectedZoneDischarges: z
    .array(z.strictObject({ substance, description: desc, ...factSource.shape }))
    .max(20)
    .default([]),
  hazardousWaste: z
    .array(
      z.strictObject({
        wasteCode: z
          .string()
          .regex(/^\d{3}-\d{3}-\d{2}$/, 'hazardous waste code, e.g. 900-041-49 (危险废物代码，如 900-041-49)')
          .optional(),
        quantityKg: z.number().positive(),
        description: desc,
        ...factSource.shape,
      }),
    )
    .max(20)
    .default([]),
  concealedDischarges: z
    .array(
      z.strictObject({
        method: z.enum([
          'concealed_pipe',
          'seepage_well',
          'seepage_pit',
          'fissure',
          'karst_cave',
          'injection',
          'bypass_without_emergency',
        ]),
        substance,
        description: desc,
        ...factSource.shape,
      }),
    )
    .max(20)
    .default([]),
  falsificationFindings: z
    .array(z.strictObject({ substantiated: z.boolean(), description: desc, ...factSource.shape }))
    .max(20)
    .default([]),
  repeatOffence: z
    .strictObject({ matter: z.enum(['heavy_weather_so2_nox', 'toxic_discharge']), offenceOn: z.iso.date() })
    .optional(),
  priorPenalties: z
    .array(
      z.strictObject({
        decisionNumber: lineText(60),
        decidedOn: z.iso.date(),
        matter: z.enum(['heavy_weather_so2_nox', 'toxic_discharge', 'other']),
      }),
    )
    .max(20)
    .default([]),
});
export type CrimeFactsInput = z.infer<typeof CrimeFactsInput>;

export const DecisionRequest = z
  .strictObject({
    decision: DecisionBody,
    crimeFacts: CrimeFactsInput.optional().describe(
      'suspected_crime only: the facts the platform checks against the thresholds (its proposal replaces proposedItems)',
    ),
  })
  .refine((r) => r.crimeFacts === undefined || r.decision.type === 'suspected_crime', {
    path: ['crimeFacts'],
    message: 'crime facts belong to a suspected-crime decision (仅涉嫌犯罪决定需填写入罪事实)',
  });
export type DecisionRequest = z.infer<typeof DecisionRequest>;

const source = () =>
  z.object({
    kind: z.enum(['tip', 'alarm', 'clue', 'patrol']),
    id: z.string(),
    addedAt: z.string(),
    addedBy: z.string(),
  });
const evidence = () =>
  z.object({
    type: z.enum(['object', 'raw_archive']),
    id: z.string(),
    kind: z.string().optional(),
    key: z.string().optional(),
    sha256: z.string().optional(),
    mn: z.string().optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    note: z.string().optional(),
    addedAt: z.string(),
    addedBy: z.string(),
  });

/** A factory: the same schema object nested in two route schemas would be a dangling $ref in the OpenAPI build. */
const caseView = () =>
  z.object({
    caseId: z.string(),
    enterpriseId: z.string().optional().describe('统一社会信用代码 of the registered unit'),
    unitName: z.string().describe('the registry’s name of the unit (an unregistered site: as the official named it)'),
    townshipId: z.string(),
    unitAddress: z.string().optional().describe('where an unregistered site is'),
    needsRegistration: z
      .boolean()
      .optional()
      .describe('true while the unit is not in the registry: register it, then POST /cases/{caseId}/unit'),
    title: z.string(),
    sources: z.array(source()),
    handlers: z.array(z.string()),
    status: CaseStatus,
    statusZh: z.string(),
    evidence: z.array(evidence()),
    decision: z.record(z.string(), z.unknown()).optional().describe('the decision with decidedBy and decidedAt'),
    proposedCrimeItems: z.array(z.string()).optional(),
    openedAt: z.string(),
    openedBy: z.string(),
    updatedAt: z.string(),
    closedAt: z.string().optional(),
    version: z.number().int(),
  });

const timelineEntry = () =>
  z.object({
    id: z.string(),
    at: z.string(),
    by: z.string(),
    type: z.string(),
    note: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  });

const calendarAssumed = () =>
  z
    .array(z.number().int())
    .optional()
    .describe(
      'years without holiday data that the due date’s day count assumed Monday–Friday (按周一至周五估算，待国务院节假日安排公布后核对); absent when every year was known',
    );

const taskView = () =>
  z.object({
    taskId: z.string(),
    caseId: z.string(),
    workflow: z.enum(['reward', 'transfer']),
    executionArn: z.string(),
    step: z.string(),
    stepZh: z.string().optional(),
    actors: z.array(z.string()),
    createdAt: z.string(),
    dueAt: z.string().optional(),
    warnAt: z.string().optional(),
    calendarAssumed: calendarAssumed(),
    state: z.enum(['open', 'done', 'lapsed']),
    input: z.record(z.string(), z.unknown()).optional(),
    outcome: z.object({ action: z.string(), comment: z.string().optional(), by: z.string() }).optional(),
    completedAt: z.string().optional(),
    lapsedAt: z.string().optional(),
    actions: z
      .array(z.object({ action: z.string(), labelZh: z.string(), requiresComment: z.boolean() }))
      .optional()
      .describe('what the caller may do now (open tasks only)'),
  });

const workflowStart = () =>
  z.object({
    workflow: z.enum(['reward', 'transfer']),
    executionName: z.string(),
    executionArn: z.string().optional(),
    started: z.boolean().describe('false when an execution of that name already existed (a retried request)'),
  });

export const casesRoutes = defineRoutes({
  open_case: {
    method: 'POST',
    scope: { kind: 'body', place: casePartyPlace },
    path: '/cases',
    auth: CASE_OPENERS,
    tags,
    summary: '立案 open a case',
    description:
      'From one or more tips (substantiated), alarms, clues or patrol findings (`<patrolId>#<finding index>`). The party is a registered unit by its credit code, `unit: {kind: "registered", enterpriseId}` (its name and township come from the registry; a code not in the registry is a 400), or, marked as such, a site not registered yet, `unit: {kind: "unregistered", name, townshipId, address?}` (a workshop found by a tip or patrol): that case carries `needsRegistration: true` until it is linked to the registered unit. Every source that names a unit must name the case’s unit (400). A unit with a case still under investigation gets its later sources attached there (409 names it); a source already in a case is a 409. With two or more handlers the case starts under investigation.',
    body: OpenCaseInput,
    response: caseView(),
    status: 201,
  },
  list_cases: {
    method: 'GET',
    scope: {
      kind: 'list',
      item: (c: { townshipId: string; enterpriseId?: string }) => ({
        townshipId: c.townshipId,
        enterpriseId: c.enterpriseId,
      }),
    },
    path: '/cases',
    auth: CASE_STAFF,
    tags,
    summary: '案件列表 cases, oldest first',
    description:
      'With `needsRegistration=true`, the cases whose unit is not registered yet; with `enterprise`, that unit’s cases (`open=true`: only those still taking sources); otherwise the cases in `status` (default `investigating`). The listing is audited.',
    query: z.strictObject({
      status: CaseStatus.optional(),
      enterprise: uscc.optional(),
      open: z
        .enum(['true', 'false'])
        .transform((v) => v === 'true')
        .optional(),
      needsRegistration: z
        .enum(['true'])
        .transform(() => true as const)
        .optional()
        .describe('待登记: cases on a unit not in the registry yet'),
      limit,
      cursor,
    }),
    response: z.object({ items: z.array(caseView()), cursor: z.string().optional() }),
  },
  get_case: {
    method: 'GET',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}',
    auth: CASE_READERS,
    tags,
    summary: '查看案件 a case',
    description:
      'The ETag is the case version, for If-Match on the changes. The reward post sees cases from tips, the liaisons suspected-crime cases (403 otherwise). Every read is audited.',
    params: caseParams,
    response: caseView(),
  },
  attach_source: {
    method: 'POST',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/sources',
    auth: CASE_WORKERS,
    tags,
    summary: '关联来源 attach a later source',
    description: `Only to a case still open or under investigation, and only a source of the same unit (or naming none); a source already in a case is a 409. ${ifMatchNote}`,
    params: caseParams,
    // a copy: the same object also sits inside OpenCaseInput, and a route schema nested in another dangles in OpenAPI
    body: AttachSourceInput.extend({}),
    response: caseView(),
  },
  assign_handlers: {
    method: 'POST',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/handlers',
    auth: TEAM_ASSIGNERS,
    tags,
    summary: '指定承办人 name the case team',
    description: `At least two distinct handlers (two officers investigate). An open case starts its investigation. ${ifMatchNote}`,
    params: caseParams,
    body: AssignHandlersInput,
    response: caseView(),
  },
  link_unit: {
    method: 'POST',
    scope: {
      kind: 'entity',
      param: 'caseId',
      place: PLACES.case,
      others: ({ body }) => [{ ref: body?.enterpriseId, place: PLACES.enterprise }],
    },
    path: '/cases/{caseId}/unit',
    auth: CASE_OPENERS,
    tags,
    summary: '关联登记单位 link the case to its registered unit',
    description: `For a case opened on an unregistered site (\`needsRegistration\`), once the unit is in the registry: the case takes the registry’s credit code, name and township and leaves the registration list; the name it was opened under stays on the timeline. 400 when the code is not registered; 409 when the case refers to a registered unit already, or the unit has another case under way. A handler must be on the case team. ${ifMatchNote}`,
    params: caseParams,
    body: LinkUnitInput,
    response: caseView(),
  },
  add_evidence: {
    method: 'POST',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/evidence',
    auth: CASE_WORKERS,
    tags,
    summary: '添加证据 add evidence',
    description: `A sealed object of the evidence bucket with its SHA-256, or a span of a device’s raw HJ 212 archive. Handlers of the case team and section chiefs; not on a closed case. ${ifMatchNote}`,
    params: caseParams,
    body: AddEvidenceInput,
    response: caseView(),
    status: 201,
  },
  record_decision: {
    method: 'POST',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/decision',
    auth: DECIDERS,
    tags,
    summary: '作出决定 record the decision',
    description: `No violation; minor violation not punished (conditions met); administrative penalty (decision number, date, legal basis, fine in fen); or suspected crime: the platform checks the thresholds against the case’s alarms and the recorded \`crimeFacts\` and replaces \`proposedItems\` with its proposal; each confirmed item must be proposed and confirmed by the caller. A case under investigation with two or more handlers only (409). A penalty with a fine on a case from a tip starts the reward approval, a suspected crime the judicial transfer. Repeating the same decision only makes sure its workflow runs. ${ifMatchNote}`,
    params: caseParams,
    body: DecisionRequest,
    response: z.object({ case: caseView(), workflows: z.array(workflowStart()) }),
  },
  case_timeline: {
    method: 'GET',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/timeline',
    auth: CASE_READERS,
    tags,
    summary: '案件时间线 timeline, oldest first',
    description: 'Every action on the case, its workflows’ steps included. Audited.',
    params: caseParams,
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(100), cursor }),
    response: z.object({ items: z.array(timelineEntry()), cursor: z.string().optional() }),
  },
  transfer_package: {
    method: 'GET',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/transfer-package',
    auth: TRANSFER_PACKAGE_READERS,
    tags,
    summary: '移送材料下载 the transfer package of a suspected-crime case',
    description:
      'One ZIP (base64 in `zipBase64`) of the documents in Chinese: the index, the case summary with the articles of 法释〔2023〕7号 relied on, the evidence list with each item’s SHA-256 (CSV, cells that would start a formula kept as text), the case timeline and the transfer steps, all times in Beijing time; with each file’s SHA-256 and the archive’s. The sealed originals stay in the evidence store. 409 on a case without a suspected-crime decision. The read is audited.',
    params: caseParams,
    response: z.object({
      fileName: z.string(),
      contentType: z.literal('application/zip'),
      sha256: z.string().describe('of the ZIP'),
      zipBase64: z.string(),
      files: z.array(z.object({ name: z.string(), bytes: z.number().int(), sha256: z.string() })),
      generatedAt: z.iso.datetime(),
    }),
  },
  case_tasks: {
    method: 'GET',
    scope: { kind: 'entity', param: 'caseId', place: PLACES.case },
    path: '/cases/{caseId}/tasks',
    auth: CASE_READERS,
    tags,
    summary: '流程记录 the case’s workflow tasks, oldest first',
    description: 'Open, done and lapsed tasks of the reward and transfer workflows, with who did what.',
    params: caseParams,
    query: z.strictObject({ limit, cursor }),
    response: z.object({ items: z.array(taskView()), cursor: z.string().optional() }),
  },
  my_tasks: {
    method: 'GET',
    scope: { kind: 'list', item: (t: { caseId: string }) => ({ ref: t.caseId, place: PLACES.case }) },
    path: '/tasks',
    auth: TASK_ROLES,
    tags,
    summary: '我的待办 tasks waiting for me, oldest first',
    description:
      'The open tasks of the caller’s roles (`role` narrows to one); `case_team` tasks only on cases that name the caller as a handler. Each lists the actions the caller may take.',
    query: z.strictObject({ role: z.enum(TASK_ROLES as [Role, ...Role[]]).optional(), limit, cursor }),
    response: z.object({ items: z.array(taskView()), cursor: z.string().optional() }),
  },
  act_on_task: {
    method: 'POST',
    scope: { kind: 'entity', param: 'taskId', place: PLACES.task },
    path: '/tasks/{taskId}/act',
    auth: TASK_ROLES,
    tags,
    summary: '办理待办 act on a task',
    description:
      'Approve, reject, hand over… (the step’s actions). A rejection, refusal or return needs a comment (400). Wrong role 403; a task already done, lapsed or no longer current 409 — and nothing changes.',
    params: taskParams,
    body: z.strictObject({
      action: z.string().min(1).max(40),
      comment: multilineText(2000, { allowEmpty: true }).optional(),
    }),
    response: taskView(),
  },
  deadlines_due: {
    method: 'GET',
    scope: { kind: 'list', item: (d: { caseId: string }) => ({ ref: d.caseId, place: PLACES.case }) },
    path: '/deadlines',
    auth: DEADLINE_READERS,
    tags,
    summary: '到期期限 deadlines due, earliest first',
    description:
      'Deadlines of the workflows’ steps due in [from, to] (default: now to 7 days ahead), with whether each is pending, in its warning window or overdue.',
    query: z.strictObject({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      limit,
      cursor,
    }),
    response: z.object({
      items: z.array(
        z.object({
          taskId: z.string(),
          caseId: z.string(),
          workflow: z.enum(['reward', 'transfer']),
          step: z.string(),
          stepLabelZh: z.string().optional(),
          kind: z.string().optional(),
          actors: z.array(z.string()),
          dueAt: z.string(),
          warnAt: z.string().optional(),
          calendarAssumed: calendarAssumed(),
          state: z.enum(['open', 'lapsed']),
          status: z.enum(['pending', 'warning', 'overdue']),
        }),
      ),
      cursor: z.string().optional(),
    }),
  },
});
