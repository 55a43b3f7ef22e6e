import * as z from 'zod';
import { NOTE_MAX } from '#shared/domain/alarms/lifecycle.ts';
import { ALARM_TYPES, type AlarmLevel, AUDIENCES } from '#shared/domain/alarms/model.ts';
import { RuleSet, RuleSetInput } from '#shared/domain/alarms/rules.ts';
import { ULID_PATTERN } from '#shared/domain/ids.ts';
import type { Role } from '#shared/domain/roles.ts';
import { multilineText } from '#shared/domain/text.ts';
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
    z.object({ ...base, type: z.literal('notified'), audience: z.enum(AUDIENCES), kind: z.string() }),
  ]);

const ruleSet = () => RuleSet.extend({});

export const alarmsRoutes = defineRoutes({
  list_alarms: {
    method: 'GET',
    scope: { kind: 'list', item: (a: AlarmPlace) => alarmPlace(a) },
    path: '/alarms',
    auth: ALARM_READERS,
    tags,
    summary: '告警列表 alarms, newest first',
    description:
      'With `enterprise`, that unit’s alarms (any state unless `state` is given); otherwise the alarms in `state` (default `active`). `from`/`to` bound raisedAt. Other filters may leave a page short of `limit` while a `cursor` is still returned: follow it.',
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
      limit,
      cursor,
    }),
    response: z.object({ items: z.array(alarm()), cursor: z.string().optional() }),
  },
  get_alarm: {
    method: 'GET',
    scope: { kind: 'entity', param: 'alarmId', place: PLACES.alarm },
    path: '/alarms/{alarmId}',
    auth: ALARM_READERS,
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
