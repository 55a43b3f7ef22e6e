import * as z from 'zod';
import { NOTE_MAX } from '#shared/domain/alarms/lifecycle.ts';
import { ALARM_TYPES, type AlarmLevel, AUDIENCES } from '#shared/domain/alarms/model.ts';
import { EXPLANATION_MAX, RESPONSE_EVIDENCE_MAX, REVIEW_NOTE_MAX } from '#shared/domain/alarms/response.ts';
import { RuleSet, RuleSetInput } from '#shared/domain/alarms/rules.ts';
import { ULID_PATTERN } from '#shared/domain/ids.ts';
import type { Role } from '#shared/domain/roles.ts';
import { lineText, multilineText } from '#shared/domain/text.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { type AlarmPlace, alarmPlace, PLACES } from './places.ts';

/**
 * The officials' alarm API: lists and details of alarms with their timelines, the duty desk's actions (确认, 暂缓提醒,
 * 人工解除, 备注) and the alarm rules (view, history, replace). Actions take `If-Match: "<version>"` (412 when stale).
 */
export const ALARM_READERS: readonly Role[] = [
  'duty_officer',
  'analyst',
  'handler',
  'section_chief',
  'bureau_head',
  'inspector',
  'admin',
];
export const ALARM_ACTORS: readonly Role[] = [
  'duty_officer',
  'analyst',
  'handler',
  'section_chief',
  'bureau_head',
  'admin',
];
export const ALARM_RULE_EDITORS: readonly Role[] = ['admin', 'section_chief'];
/** Who reads alarms: the bureau's readers, and an enterprise user its own unit's (redacted; never withheld types). */
export const ALARM_VIEWERS: readonly Role[] = [...ALARM_READERS, 'enterprise'];
/** Who answers an alarm (企业情况说明): the enterprise itself. */
export const ALARM_RESPONDERS: readonly Role[] = ['enterprise'];
/** Who accepts or sends back the enterprise's answer. */
export const ALARM_RESPONSE_REVIEWERS: readonly Role[] = ALARM_ACTORS;

const tags = ['alarms'];
const params = z.strictObject({ alarmId: z.string().regex(ULID_PATTERN, 'alarm id is a ULID') });
const note = () => multilineText(NOTE_MAX);
const limit = z.coerce.number().int().min(1).max(100).default(50);
const cursor = z.string().max(2048).optional();
const time = () => z.iso.datetime({ offset: true });
const ifMatchNote =
  'Send `If-Match: "<version>"` (the ETag of GET /alarms/{alarmId}) to refuse the change when someone else changed the alarm first (412).';

const AlarmStateSchema = z.enum(['active', 'acknowledged', 'cleared']);
const level = () => z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);

const evidence = () =>
  z.object({
    pollutant: z.string(),
    kind: z.string(),
    dataTime: z.string(),
    value: z.number(),
    flag: z.string().optional(),
    packet: z.object({ receivedAt: z.string(), source: z.string(), rawSha256: z.string() }).optional(),
  });

/** A factory: the same schema object nested in two route schemas would be a dangling $ref in the OpenAPI build. */
const alarm = () =>
  z.object({
    alarmId: z.string(),
    key: z.string().describe('`<type>#<pollutant or ->`'),
    mn: z.string(),
    enterpriseId: z.string(),
    enterpriseName: z.string(),
    outletId: z.string(),
    outletName: z.string(),
    townshipId: z.string(),
    industry: z.string(),
    regulator: z.string(),
    type: z.enum(ALARM_TYPES),
    pollutant: z.string().optional(),
    level: level().describe('1 = 一级 (most severe) … 4 = 四级'),
    state: AlarmStateSchema,
    openedAt: z.string().describe('DataTime of the deciding reading'),
    raisedAt: z.string().describe('when the platform recorded the alarm'),
    updatedAt: z.string(),
    lastSignal: z.object({
      at: z.string(),
      value: z.number().optional(),
      limit: z.number().optional(),
      unit: z.string().optional(),
      multiple: z.number().optional(),
      reasonZh: z.string(),
      reason: z.string(),
      evidence: z.array(evidence()),
      rules: z.array(z.string()),
    }),
    acknowledgedBy: z.string().optional(),
    acknowledgedAt: z.string().optional(),
    snoozedUntil: z.string().optional(),
    snoozedBy: z.string().optional(),
    clearedAt: z.string().optional(),
    clearedBy: z.string().optional(),
    clearMode: z.enum(['auto', 'manual']).optional(),
    version: z.number().int(),
    notify: z.record(z.string(), z.unknown()),
    notifyDue: z.string().optional(),
    summary: z.string(),
    ruleVersion: z.number().int(),
    retrospective: z
      .object({
        from: z.string().describe('DataTime of the first violating value'),
        to: z.string().describe('DataTime of the last violating value'),
        kind: z.string().describe('the kind of data judged (hour, realtime, furnace …)'),
        count: z.number().int().describe('violating values in the window'),
        peak: z.number().describe('the value furthest beyond the limit'),
        resent: z.boolean().describe('true: HJ 212-2025 RF=1 re-sent data; false: late data without RF'),
      })
      .optional()
      .describe(
        '补传超标: a retrospective, non-paging record of a violation found in data judged long after its DataTime (docs/alarms.md); absent on live alarms',
      ),
  });

const base = { at: z.string(), by: z.string().describe("principal id or 'system'"), note: z.string().optional() };
const event = () =>
  z.discriminatedUnion('type', [
    z.object({ ...base, type: z.literal('open'), level: level(), dataTime: z.string() }),
    z.object({ ...base, type: z.literal('level'), from: level(), to: level(), dataTime: z.string() }),
    z.object({ ...base, type: z.literal('ack') }),
    z.object({ ...base, type: z.literal('snooze'), until: z.string() }),
    z.object({ ...base, type: z.literal('clear'), mode: z.enum(['auto', 'manual']), dataTime: z.string().optional() }),
    z.object({ ...base, type: z.literal('comment') }),
    z.object({
      ...base,
      type: z.literal('notified'),
      audience: z.enum(AUDIENCES),
      kind: z.string(),
      recipients: z
        .array(z.object({ name: z.string(), role: z.string().optional(), phone: z.string().describe('masked') }))
        .optional()
        .describe('who the SMS went to (numbers masked); absent on events recorded before the log'),
      sms: z.string().optional().describe('the SMS text as sent'),
    }),
    z.object({ ...base, type: z.literal('response'), round: z.number().int(), rectifyBy: z.string() }),
    z.object({ ...base, type: z.literal('response_review'), decision: z.enum(['accept', 'return']) }),
  ]);

const responseView = () =>
  z.object({
    alarmId: z.string(),
    enterpriseId: z.string(),
    status: z.enum(['submitted', 'accepted', 'returned']).describe('待审核 / 已认可 / 已退回'),
    explanation: z.string().describe('情况说明'),
    rectifyBy: z.string().describe('承诺整改完成日期 (Beijing date)'),
    evidence: z.array(
      z.object({
        name: z.string(),
        sha256: z.string().optional().describe('SHA-256 of the sealed original (hex)'),
        evidenceId: z.string().optional().describe('absent on items an earlier answer only named'),
        kind: z.enum(['photo', 'video', 'document']).optional(),
        contentType: z.string().optional(),
        bytes: z.number().int().optional(),
      }),
    ),
    round: z.number().int().describe('1 for the first answer; +1 after each return'),
    submittedBy: z.string(),
    submittedAt: z.string(),
    reviewedBy: z.string().optional(),
    reviewedAt: z.string().optional(),
    reviewNote: z.string().optional(),
    version: z.number().int(),
  });
const responseIfMatch =
  'Send `If-Match: "<version>"` (the ETag of GET /alarms/{alarmId}/response) to refuse the change when the answer changed first (412).';

const ruleSet = () => RuleSet.extend({});

export const alarmsRoutes = defineRoutes({
  list_alarms: {
    method: 'GET',
    scope: { kind: 'list', item: (a: AlarmPlace) => alarmPlace(a) },
    path: '/alarms',
    auth: ALARM_VIEWERS,
    tags,
    summary: '告警列表 alarms, newest first',
    description:
      'With `enterprise`, that unit’s alarms (any state unless `state` is given); otherwise the alarms in `state` (default `active`). `from`/`to` bound raisedAt. `response=submitted`: the alarms whose enterprise answer waits for review (the other filters then apply to each page). `retrospective=true`: only the retrospective records (补传超标: violations found in re-sent or late data, recorded for review and never paged; they carry `retrospective`). Other filters may leave a page short of `limit` while a `cursor` is still returned: follow it. An enterprise user always gets its own unit’s alarms, without the bureau’s bookkeeping and without the types withheld from enterprises (suspected falsification by default).',
    query: z.strictObject({
      state: AlarmStateSchema.optional(),
      level: z.coerce
        .number()
        .int()
        .min(1)
        .max(4)
        .transform((n) => n as AlarmLevel)
        .optional(),
      type: z.enum(ALARM_TYPES).optional(),
      township: z
        .string()
        .regex(
          /^[a-z]{2,20}$/,
          'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)',
        )
        .optional(),
      enterprise: z
        .string()
        .regex(/^[0-9A-Z]{18}$/, '18-character unified social credit code (须为 18 位统一社会信用代码)')
        .optional(),
      from: time().optional(),
      to: time().optional(),
      response: z
        .literal('submitted')
        .optional()
        .describe('only alarms whose enterprise answer waits for review (待审核), latest answer first'),
      retrospective: z
        .enum(['true', 'false'])
        .transform((v) => v === 'true')
        .optional()
        .describe('true: only retrospective records (补传超标, never paged); false: only live alarms; absent: both'),
      limit,
      cursor,
    }),
    response: z.object({ items: z.array(alarm()), cursor: z.string().optional() }),
  },
  get_alarm: {
    method: 'GET',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}',
    auth: ALARM_VIEWERS,
    tags,
    summary: '查看告警 an alarm',
    description: 'The ETag is the alarm version, for If-Match on the actions.',
    params,
    response: alarm(),
  },
  alarm_timeline: {
    method: 'GET',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/timeline',
    auth: ALARM_READERS,
    tags,
    summary: '告警时间线 timeline, oldest first',
    params,
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(100), cursor }),
    response: z.object({ items: z.array(event()), cursor: z.string().optional() }),
  },
  acknowledge_alarm: {
    method: 'POST',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/acknowledge',
    auth: ALARM_ACTORS,
    tags,
    summary: '确认告警 acknowledge',
    description: `Only an active alarm (409 otherwise); repeating it as the same person changes nothing. Body \`{}\` or \`{ "note": "…" }\`. ${ifMatchNote}`,
    params,
    body: z.strictObject({ note: note().optional() }),
    response: alarm(),
  },
  snooze_alarm: {
    method: 'POST',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/snooze',
    auth: ALARM_ACTORS,
    tags,
    summary: '暂缓提醒 snooze reminders',
    description: `Active or acknowledged alarms; \`until\` at most 24 hours ahead; a note is required. A rise in level ends the snooze. ${ifMatchNote}`,
    params,
    body: z.strictObject({ until: time(), note: note() }),
    response: alarm(),
  },
  clear_alarm: {
    method: 'POST',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/clear',
    auth: ALARM_ACTORS,
    tags,
    summary: '人工解除告警 clear manually',
    description: `Active or acknowledged alarms, with a note. If the data still show the condition afterwards, a new alarm is raised. ${ifMatchNote}`,
    params,
    body: z.strictObject({ note: note() }),
    response: alarm(),
  },
  comment_alarm: {
    method: 'POST',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/comments',
    auth: ALARM_ACTORS,
    tags,
    summary: '添加备注 comment',
    description: 'Any state, also after clearing.',
    params,
    body: z.strictObject({ note: note() }),
    response: event(),
    status: 201,
  },
  get_alarm_response: {
    method: 'GET',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/response',
    auth: ALARM_VIEWERS,
    tags,
    summary: '企业情况说明 the enterprise’s answer to an alarm',
    description: '404 while the enterprise has not answered. The ETag is the answer’s version.',
    params,
    response: responseView(),
  },
  answer_alarm: {
    method: 'PUT',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/response',
    auth: ALARM_RESPONDERS,
    tags,
    summary: '提交情况说明 the enterprise answers its alarm',
    description: `The unit’s explanation, the date by which it commits to have rectified (today to a year ahead, Beijing date) and its evidence files: each a new upload (\`uploadId\` from POST /evidence/uploads; photos and videos, sealed with their SHA-256 and given a metadata-stripped copy) or a file of the current answer it keeps (\`evidenceId\`). Answering again replaces the answer (after a return it counts as a new round); refused (409) once the bureau accepted it. ${responseIfMatch}`,
    params,
    body: z.strictObject({
      explanation: multilineText(EXPLANATION_MAX).describe('情况说明'),
      rectifyBy: z.iso.date().describe('承诺整改完成日期, YYYY-MM-DD'),
      evidence: z
        .array(
          z.union([
            z.strictObject({
              name: lineText(120).describe('材料名称'),
              uploadId: z
                .string()
                .regex(ULID_PATTERN, 'upload id is a ULID from POST /evidence/uploads (上传编号须为 26 位 ULID)'),
            }),
            z.strictObject({
              name: lineText(120).describe('材料名称'),
              evidenceId: z.string().min(1).max(64).describe('a file of the current answer, kept'),
            }),
          ]),
        )
        .max(RESPONSE_EVIDENCE_MAX)
        .default([]),
    }),
    response: responseView(),
  },
  alarm_response_evidence: {
    method: 'GET',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/response/evidence',
    auth: ALARM_READERS,
    tags,
    summary: '查看情况说明材料（去除元数据的副本）links to the answer’s files',
    description:
      'Every file of the enterprise’s answer with a link to its metadata-stripped copy that lives 5 minutes (fetch it; do not store it). Originals are never linked; an item an earlier answer only named, or a file without a stripped copy, is listed with `withheld`, the reason. 404 while there is no answer.',
    params,
    response: z.object({
      items: z.array(
        z.object({
          name: z.string(),
          evidenceId: z.string().optional(),
          kind: z.enum(['photo', 'video', 'document']).optional(),
          contentType: z.string().optional(),
          bytes: z.number().int().optional(),
          sha256: z.string().optional(),
          link: z.object({ url: z.string(), expiresAt: z.iso.datetime() }).optional(),
          withheld: z.string().optional().describe('why there is no link'),
        }),
      ),
    }),
  },
  review_alarm_response: {
    method: 'POST',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}/response/review',
    auth: ALARM_RESPONSE_REVIEWERS,
    tags,
    summary: '审核情况说明 accept or send back the enterprise’s answer',
    description: `\`accept\`, or \`return\` with a reason the enterprise sees. Only a submitted answer (409 otherwise). ${responseIfMatch}`,
    params,
    body: z.strictObject({ decision: z.enum(['accept', 'return']), note: multilineText(REVIEW_NOTE_MAX).optional() }),
    response: responseView(),
  },
  get_alarm_rules: {
    method: 'GET',
    scope: { kind: 'open', why: 'the rule set is the county’s, the same for every township' },
    path: '/alarm-rules',
    auth: ALARM_READERS,
    tags,
    summary: '现行告警规则 the alarm rules in force',
    description: 'The ETag is the rules version, for If-Match on PUT.',
    response: ruleSet(),
  },
  list_alarm_rule_versions: {
    method: 'GET',
    scope: { kind: 'open', why: 'the rule set is the county’s, the same for every township' },
    path: '/alarm-rules/versions',
    auth: ALARM_READERS,
    tags,
    summary: '告警规则历史版本 rule versions, newest first',
    query: z.strictObject({ limit, cursor }),
    response: z.object({ items: z.array(ruleSet()), cursor: z.string().optional() }),
  },
  replace_alarm_rules: {
    method: 'PUT',
    scope: { kind: 'county' },
    path: '/alarm-rules',
    auth: ALARM_RULE_EDITORS,
    tags,
    summary: '修改告警规则 replace the alarm rules',
    description:
      'Stores the next version (applies to evaluations from now on; open alarms are untouched). Send `If-Match: "<version>"` to refuse the change when someone else changed the rules first (412).',
    body: RuleSetInput,
    response: ruleSet(),
  },
});
