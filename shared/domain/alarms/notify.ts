import * as z from 'zod';
import { isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { pollutant as pollutantInfo } from '#shared/domain/pollutants.ts';
import { Industry } from '#shared/domain/registry/model.ts';
import {
  ALARM_TYPE_LABELS,
  ALARM_TYPES,
  type AlarmLevel,
  type AlarmSource,
  type AlarmState,
  type AlarmType,
  AUDIENCES,
  type Audience,
  LEVELS,
} from './model.ts';

/**
 * Alarm notification: who is told what, and when. Pure: the alarm lifecycle calls `planNotifications` on
 * every transition (open / level / clear) and the scheduled sweep calls it with `tick`; an adapter
 * (shared/adapters/alarm-publisher.ts) delivers the planned messages to the audience topics and by SMS.
 *
 * The rules, per alarm and audience (生态环境分局 bureau, 行业主管部门 regulator, 企业负责人 enterprise):
 * 1. Open: the audiences of the level (LEVELS[level].audiences) are told at once. The first message to an audience is
 *    never delayed, also when a later rise brings a new audience in (三级 → 二级 adds the regulator).
 * 2. One message per `minIntervalMinutes` (the floor): a level change inside the floor is coalesced — the latest state
 *    goes out when the floor lapses, and a change that returns to what the audience last heard sends nothing.
 *    Exceptions: a rise to 一级 goes out at once (a crime-level case never waits); a clear is coalesced like any change,
 *    so it is never more than one floor late, and neither acknowledgement nor snooze holds it back.
 * 3. A clear goes to every audience that was told about the alarm (and to every tier reached), never to others.
 * 4. Until the alarm is acknowledged, audiences of the current level get a reminder every `reminderMinutes[level]`
 *    (stretched to the floor when shorter), and unacknowledged audiences with a further tier of contacts escalate one
 *    tier every `escalateAfterMinutes[level]`: the escalation message goes to all tiers reached so far, and so do the
 *    reminders and the clear after it. Snooze (snoozedUntil) silences reminders and escalations until it ends; the
 *    escalation clock restarts when it ends. Level changes and clears are news: they go out despite ack or snooze.
 * 5. `enterpriseWithheldTypes` (default: suspected falsification) are not sent to the enterprise: telling a unit that
 *    its data are suspected of being falsified, before the bureau has examined it, would warn the suspect.
 * Every message carries a stable `dedupeId` (alarm, audience, kind, level, sequence) so a retried delivery is
 * recognisable; planning the same event twice from the same state yields the same ids, and planning it again from
 * the committed state yields nothing.
 */

const MIN = 60_000;
const MOBILE = /^1[3-9]\d{9}$/;

// ---------------------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------------------

export const Contact = z.object({
  name: z.string().trim().min(1).max(40),
  phone: z.string().regex(MOBILE, 'SMS goes to a mainland mobile number: 11 digits starting 13–19 (手机号码)'),
  /** 岗位, e.g. 值班员 / 科长 / 分管副局长 */
  role: z.string().trim().min(1).max(40).optional(),
});
export type Contact = z.infer<typeof Contact>;

/** Tier 0 = 值班人员 (duty officers), tier 1 = 科室负责人 (section chief), tier 2 = 局领导 (bureau head). */
export const ContactTiers = z.array(z.array(Contact).min(1).max(10)).min(1).max(3);
export type ContactTiers = z.infer<typeof ContactTiers>;

/** One desk (科室) of a regulator; `industries` limits it to units of those industries. */
export const RegulatorDesk = z.object({
  desk: z.string().trim().min(1).max(40),
  industries: z.array(Industry).min(1).optional(),
  tiers: ContactTiers,
});
export type RegulatorDesk = z.infer<typeof RegulatorDesk>;

export const NotificationContacts = z.object({
  /** the bureau's duty roster, county-wide default */
  bureau: ContactTiers,
  /** per township (registry township id): its own bureau roster; missing tiers fall back to the default roster */
  townships: z.record(z.string().regex(/^[a-z]{2,20}$/), z.object({ bureau: ContactTiers })).default({}),
  /** keyed by the regulator's name exactly as in Enterprise.regulator, e.g. 庆元县经济商务科技局 */
  regulators: z.record(z.string().trim().min(1).max(60), z.array(RegulatorDesk).min(1).max(10)).default({}),
});
export type NotificationContacts = z.infer<typeof NotificationContacts>;

const minutes = z
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 60);
/** minutes per level; null = never */
const PerLevelMinutes = z.object({
  1: minutes.nullable(),
  2: minutes.nullable(),
  3: minutes.nullable(),
  4: minutes.nullable(),
});
export type PerLevelMinutes = z.infer<typeof PerLevelMinutes>;

const c = (name: string, phone: string, role: string): Contact => ({ name, phone, role });

/**
 * SAMPLE contacts (示例数据): invented people with placeholder numbers of a valid format (138 0000 0xxx), so that a
 * fresh platform routes end to end. The bureau replaces them through the rules API before going live.
 */
export const SAMPLE_CONTACTS: NotificationContacts = {
  bureau: [
    [c('王志华（示例）', '13800000201', '值班员'), c('李晓燕（示例）', '13800000202', '值班员')],
    [c('张卫东（示例）', '13800000203', '环境监察科科长')],
    [c('陈国平（示例）', '13800000204', '分管副局长')],
  ],
  townships: {
    // 竹口镇 (edible-fungi base): the local 执法中队 takes the first call, the county roster the rest
    zhukou: { bureau: [[c('叶建平（示例）', '13800000211', '竹口执法中队值班员')]] },
  },
  regulators: {
    庆元县经济商务科技局: [
      {
        desk: '工业发展科',
        industries: ['bamboo_wood', 'pencil', 'paper', 'chemical', 'other'],
        tiers: [
          [c('吴丽娟（示例）', '13800000301', '工业发展科科员')],
          [c('周建明（示例）', '13800000302', '工业发展科科长')],
          [c('刘海涛（示例）', '13800000303', '分管副局长')],
        ],
      },
      {
        desk: '能源与节能科',
        industries: ['boiler_heating'],
        tiers: [
          [c('胡晓东（示例）', '13800000304', '能源科科员')],
          [c('郑伟（示例）', '13800000305', '能源科科长')],
          [c('刘海涛（示例）', '13800000303', '分管副局长')],
        ],
      },
    ],
    庆元县农业农村局: [
      {
        desk: '食用菌产业发展中心',
        tiers: [[c('季红梅（示例）', '13800000311', '产业科科员')], [c('范立新（示例）', '13800000312', '中心主任')]],
      },
    ],
    庆元县住房和城乡建设局: [
      {
        desk: '城建科（排水）',
        tiers: [[c('毛晓军（示例）', '13800000321', '排水管理员')], [c('林志强（示例）', '13800000322', '城建科科长')]],
      },
    ],
  },
};

export const NotificationPolicy = z.object({
  /** the floor: at most one message per alarm and audience within this many minutes (a rise to 一级 excepted) */
  minIntervalMinutes: minutes.default(15),
  /** reminders until acknowledged; intervals shorter than the floor are stretched to it */
  reminderMinutes: PerLevelMinutes.default(() => ({ 1: 15, 2: 30, 3: 120, 4: null })),
  /** unacknowledged this long at the current tier → the next tier is told */
  escalateAfterMinutes: PerLevelMinutes.default(() => ({ 1: 30, 2: 60, 3: 240, 4: null })),
  /** alarm types never sent to the enterprise audience */
  enterpriseWithheldTypes: z
    .array(z.enum(ALARM_TYPES))
    .default(() => ['suspected_falsification' as const])
    .describe('不通知企业的告警类型（默认：数据造假嫌疑，避免打草惊蛇）'),
  contacts: NotificationContacts.default(() => structuredClone(SAMPLE_CONTACTS)),
});
export type NotificationPolicy = z.infer<typeof NotificationPolicy>;

// ---------------------------------------------------------------------------------------------------------------
// State and messages
// ---------------------------------------------------------------------------------------------------------------

export const MESSAGE_KINDS = ['open', 'level', 'clear', 'reminder', 'escalation'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

const Level = z.literal([1, 2, 3, 4]);
const Instant = z.iso.datetime({ offset: true });

/** What one audience has heard about one alarm. */
export const AudienceNotice = z.object({
  /** messages sent so far (the sequence in dedupe ids) */
  seq: z.number().int().min(1),
  firstSentAt: Instant,
  lastSentAt: Instant,
  lastLevel: Level,
  lastKind: z.enum(MESSAGE_KINDS),
  /** highest escalation tier reached (0 = duty officers) and since when */
  tier: z.number().int().min(0).max(2),
  tierSince: Instant,
  /** a coalesced change waiting for the floor to lapse */
  pending: z.object({ kind: z.enum(['level', 'clear']), level: Level, dueAt: Instant }).optional(),
});
export type AudienceNotice = z.infer<typeof AudienceNotice>;

/** Per-alarm notification state, stored with the alarm (JSON, well under 1 KB). */
export const NotifyState = z.object({
  audiences: z
    .object({
      bureau: AudienceNotice.optional(),
      regulator: AudienceNotice.optional(),
      enterprise: AudienceNotice.optional(),
    })
    .default({}),
});
export type NotifyState = z.infer<typeof NotifyState>;

export const emptyNotifyState = (): NotifyState => ({ audiences: {} });

/** The alarm as the planner needs it (the lifecycle's record, or the evaluator's transition plus its state). */
export interface NotifiableAlarm {
  alarmId: string;
  type: AlarmType;
  pollutant?: string;
  level: AlarmLevel;
  state: AlarmState;
  openedAt: string;
  /** set (or state 'acknowledged') = no more reminders or escalations */
  acknowledgedAt?: string;
  snoozedUntil?: string;
  clearedAt?: string;
  /** DataTime of the reading that decided the latest level (AlarmSignal.at) */
  at?: string;
  value?: number;
  limit?: number;
  unit?: string;
}

export type NotifyEvent = 'open' | 'level' | 'clear' | 'tick';

export interface OutboundMessage {
  alarmId: string;
  audience: Audience;
  tier: number;
  kind: MessageKind;
  level: AlarmLevel;
  /** SMS recipients (mobile numbers only); may be empty: the topic publication still informs subscribers */
  recipients: Contact[];
  sms: string;
  /** Chinese subject for the JSON body, e-mail digests and the console */
  subject: string;
  /** SNS message attributes for subscription filter policies (all strings, all non-empty) */
  attributes: Record<string, string>;
  /** `<alarmId>:<audience>:<kind>:L<level>:<seq>` */
  dedupeId: string;
  plannedAt: string;
}

export interface PlanInput {
  event: NotifyEvent;
  alarm: NotifiableAlarm;
  source: AlarmSource;
  notify: NotifyState;
  policy: NotificationPolicy;
  now: Date;
}

export interface Plan {
  messages: OutboundMessage[];
  notify: NotifyState;
  /** when the sweep should next look at this alarm (a coalesced change, a reminder or an escalation is due) */
  nextDueAt?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------------------------

/** The regulator desk for a source: the first desk listing its industry, else the first desk without a filter. */
export function regulatorDesk(source: AlarmSource, policy: NotificationPolicy): RegulatorDesk | undefined {
  const desks = policy.contacts.regulators[source.regulator] ?? [];
  return (
    desks.find((d) => d.industries?.includes(source.industry as z.infer<typeof Industry>)) ??
    desks.find((d) => d.industries === undefined)
  );
}

/** Contact tiers of an audience for a source. The enterprise has one tier: its responsible person. */
export function contactTiers(audience: Audience, source: AlarmSource, policy: NotificationPolicy): Contact[][] {
  if (audience === 'bureau') {
    const local = policy.contacts.townships[source.townshipId]?.bureau ?? [];
    const county = policy.contacts.bureau;
    return Array.from({ length: Math.max(local.length, county.length) }, (_, i) => local[i] ?? county[i] ?? []);
  }
  if (audience === 'regulator') return regulatorDesk(source, policy)?.tiers ?? [];
  return source.responsiblePerson ? [[source.responsiblePerson]] : [];
}

/** Everyone of tiers 0..tier, mobiles only (a landline cannot take an SMS), each number once. */
export function recipientsUpTo(tiers: Contact[][], tier: number): Contact[] {
  const seen = new Set<string>();
  const out: Contact[] = [];
  for (const contact of tiers.slice(0, tier + 1).flat()) {
    if (!MOBILE.test(contact.phone) || seen.has(contact.phone)) continue;
    seen.add(contact.phone);
    out.push(contact);
  }
  return out;
}

/** Whether an audience hears about an alarm at its current level (withheld types excepted). */
export function audienceOfLevel(audience: Audience, alarm: NotifiableAlarm, policy: NotificationPolicy): boolean {
  if (audience === 'enterprise' && policy.enterpriseWithheldTypes.includes(alarm.type)) return false;
  return LEVELS[alarm.level].audiences.includes(audience);
}

// ---------------------------------------------------------------------------------------------------------------
// Planner
// ---------------------------------------------------------------------------------------------------------------

interface Ctx {
  alarm: NotifiableAlarm;
  policy: NotificationPolicy;
  t: number;
  floor: number;
  cleared: boolean;
  acknowledged: boolean;
  snoozedUntil: number;
}

type Decision = { send: MessageKind; tier: number } | { defer: 'level' | 'clear'; dueAt: number } | undefined;

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

function reminderDue(n: AudienceNotice, ctx: Ctx): number | undefined {
  const every = ctx.policy.reminderMinutes[ctx.alarm.level];
  if (every === null) return undefined;
  return Math.max(ms(n.lastSentAt) + Math.max(every * MIN, ctx.floor), ctx.snoozedUntil);
}

function escalationDue(n: AudienceNotice, tierCount: number, ctx: Ctx): number | undefined {
  const after = ctx.policy.escalateAfterMinutes[ctx.alarm.level];
  if (after === null || n.tier + 1 >= tierCount) return undefined;
  const clockFrom = Math.max(ms(n.tierSince), ctx.snoozedUntil);
  return Math.max(clockFrom + after * MIN, ms(n.lastSentAt) + ctx.floor);
}

/** Whether reminders and escalations apply to this audience now (its level, not acknowledged, not cleared). */
const nagging = (audience: Audience, ctx: Ctx) =>
  !ctx.cleared && !ctx.acknowledged && audienceOfLevel(audience, ctx.alarm, ctx.policy);

function decide(
  audience: Audience,
  n: AudienceNotice | undefined,
  tierCount: number,
  tick: boolean,
  ctx: Ctx,
): Decision {
  const { alarm, t } = ctx;
  if (!n) return !ctx.cleared && audienceOfLevel(audience, alarm, ctx.policy) ? { send: 'open', tier: 0 } : undefined;
  if (n.lastKind === 'clear') return undefined;
  if (ctx.cleared || alarm.level !== n.lastLevel) {
    const kind = ctx.cleared ? 'clear' : 'level';
    const riseToFirst = !ctx.cleared && alarm.level === 1;
    const floorEnds = ms(n.lastSentAt) + ctx.floor;
    if (riseToFirst || t >= floorEnds) return { send: kind, tier: n.tier };
    return { defer: kind, dueAt: floorEnds };
  }
  if (!tick || !nagging(audience, ctx)) return undefined;
  const escalateAt = escalationDue(n, tierCount, ctx);
  if (escalateAt !== undefined && t >= escalateAt) return { send: 'escalation', tier: n.tier + 1 };
  const remindAt = reminderDue(n, ctx);
  if (remindAt !== undefined && t >= remindAt) return { send: 'reminder', tier: n.tier };
  return undefined;
}

function nextDue(audience: Audience, n: AudienceNotice | undefined, tierCount: number, ctx: Ctx): number | undefined {
  if (!n || n.lastKind === 'clear') return undefined;
  if (n.pending) return ms(n.pending.dueAt);
  if (!nagging(audience, ctx)) return undefined;
  const dues = [reminderDue(n, ctx), escalationDue(n, tierCount, ctx)].filter((d): d is number => d !== undefined);
  return dues.length > 0 ? Math.min(...dues) : undefined;
}

/**
 * Plans the messages for one alarm event (or the scheduled `tick`) and returns the state to store with the alarm.
 * Steps: (1) per audience, decide from what it last heard and the alarm now: first message, change (now or coalesced),
 * clear, escalation or reminder; (2) build each message (recipients by tier, SMS, attributes, dedupe id);
 * (3) work out when the sweep must look again. The input state is not mutated. Commit the returned state only
 * once the messages are delivered (or stored in an outbox): planning again from the old state gives the same ids.
 */
export function planNotifications(input: PlanInput): Plan {
  const { alarm, source, policy, now, event } = input;
  const notify: NotifyState = structuredClone(input.notify ?? emptyNotifyState());
  notify.audiences ??= {};
  const ctx: Ctx = {
    alarm,
    policy,
    t: now.getTime(),
    floor: policy.minIntervalMinutes * MIN,
    cleared: event === 'clear' || alarm.state === 'cleared',
    acknowledged: alarm.state === 'acknowledged' || alarm.acknowledgedAt !== undefined,
    snoozedUntil: alarm.snoozedUntil ? ms(alarm.snoozedUntil) : Number.NEGATIVE_INFINITY,
  };
  const messages: OutboundMessage[] = [];
  let due: number | undefined;
  for (const audience of AUDIENCES) {
    const tiers = contactTiers(audience, source, policy);
    const before = notify.audiences[audience];
    const decision: Decision = decide(audience, before, tiers.length, event === 'tick', ctx);
    let after = before;
    if (decision && 'send' in decision) {
      const seq = (before?.seq ?? 0) + 1;
      const nowIso = now.toISOString();
      const escalated = decision.send === 'escalation' || !before;
      messages.push(
        buildMessage({
          audience,
          kind: decision.send,
          tier: decision.tier,
          seq,
          previousLevel: before?.lastLevel,
          recipients: recipientsUpTo(tiers, decision.tier),
          alarm,
          source,
          now,
        }),
      );
      after = {
        seq,
        firstSentAt: before?.firstSentAt ?? nowIso,
        lastSentAt: nowIso,
        lastLevel: alarm.level,
        lastKind: decision.send,
        tier: decision.tier,
        tierSince: escalated ? nowIso : (before?.tierSince ?? nowIso),
      };
    } else if (before && decision && 'defer' in decision) {
      after = { ...before, pending: { kind: decision.defer, level: alarm.level, dueAt: iso(decision.dueAt) } };
    } else if (before?.pending) {
      // the change went back to what this audience last heard: nothing left to say
      const { pending: _dropped, ...rest } = before;
      after = rest;
    }
    if (after) notify.audiences[audience] = after;
    const next = nextDue(audience, after, tiers.length, ctx);
    if (next !== undefined) due = due === undefined ? next : Math.min(due, next);
  }
  return { messages, notify, ...(due !== undefined ? { nextDueAt: iso(due) } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// Message text
// ---------------------------------------------------------------------------------------------------------------

interface BuildArgs {
  audience: Audience;
  kind: MessageKind;
  tier: number;
  seq: number;
  previousLevel: AlarmLevel | undefined;
  recipients: Contact[];
  alarm: NotifiableAlarm;
  source: AlarmSource;
  now: Date;
}

function buildMessage(a: BuildArgs): OutboundMessage {
  const { alarm, source } = a;
  const attributes: Record<string, string> = {
    audience: a.audience,
    township: source.townshipId,
    industry: source.industry,
    enterpriseId: source.enterpriseId,
    level: String(alarm.level),
    type: alarm.type,
    kind: a.kind,
    regulator: source.regulator,
    tier: String(a.tier),
  };
  for (const [k, v] of Object.entries(attributes)) if (!v) delete attributes[k];
  return {
    alarmId: alarm.alarmId,
    audience: a.audience,
    tier: a.tier,
    kind: a.kind,
    level: alarm.level,
    recipients: a.recipients,
    sms: smsText({ kind: a.kind, audience: a.audience, alarm, source, previousLevel: a.previousLevel, now: a.now }),
    subject: subjectText(a.kind, alarm, source),
    attributes,
    dedupeId: `${alarm.alarmId}:${a.audience}:${a.kind}:L${alarm.level}:${a.seq}`,
    plannedAt: a.now.toISOString(),
  };
}

/** A single SMS holds 70 UCS-2 characters; a long SMS is split into 67-character segments. */
export const SMS_SINGLE = 70;
export const SMS_MAX = 134;
export const SMS_SIGNATURE = '【庆元环保】';

/** `MM-DD HH:mm`, Beijing time. */
export function beijingShort(at: string | Date): string {
  const b = isoToBeijing(at);
  return `${b.slice(4, 6)}-${b.slice(6, 8)} ${b.slice(8, 10)}:${b.slice(10, 12)}`;
}

/** 庆元县示例竹木制品有限公司 → 示例竹木制品: drops the county prefix, bracketed parts and the company-form suffix. */
export function shortEnterpriseName(name: string): string {
  const short = name
    .replace(/[（(][^）)]*[）)]/g, '')
    .trim()
    .replace(/^(浙江省)?(丽水市)?(庆元县|庆元)/, '')
    .replace(/(股份有限公司|有限责任公司|有限公司|公司)$/, '')
    .trim();
  return short || name;
}

/** Compact numbers: 152.37 → 152.4, 0.05234 → 0.0523, 12345.6 → 12346. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return String(a >= 1000 ? Math.round(v) : Number(v.toPrecision(a >= 1 ? 4 : 3)));
}

function limitText(alarm: NotifiableAlarm, source: Pick<AlarmSource, 'limits'>): string | undefined {
  const lv = alarm.pollutant ? source.limits[alarm.pollutant] : undefined;
  if (lv?.min !== undefined && lv.max !== undefined) return `${formatValue(lv.min)}-${formatValue(lv.max)}`;
  if (alarm.limit !== undefined) return formatValue(alarm.limit);
  if (lv?.max !== undefined) return formatValue(lv.max);
  if (lv?.min !== undefined) return `≥${formatValue(lv.min)}`;
  return undefined;
}

/** 化学需氧量152.4mg/L（限值100）, or just the pollutant's name when there is no value. */
function measureText(alarm: NotifiableAlarm, source: Pick<AlarmSource, 'limits'>): string {
  const info = alarm.pollutant ? pollutantInfo(alarm.pollutant) : undefined;
  const name = alarm.pollutant ? (info?.nameZh ?? alarm.pollutant) : '';
  if (alarm.value === undefined) return name;
  const unit = alarm.unit ?? (alarm.pollutant ? source.limits[alarm.pollutant]?.unit : undefined) ?? info?.unit ?? '';
  const limit = limitText(alarm, source);
  return `${name}${formatValue(alarm.value)}${unit === '无量纲' ? '' : unit}${limit ? `（限值${limit}）` : ''}`;
}

function actionText(audience: Audience, type: AlarmType): string {
  if (audience === 'regulator') return '请督促整改。';
  if (audience === 'enterprise') return type === 'prewarning' ? '请及时自查。' : '请立即自查整改。';
  return '请核查处置。';
}

export interface SmsInput {
  kind: MessageKind;
  audience: Audience;
  alarm: NotifiableAlarm;
  source: Pick<AlarmSource, 'enterpriseName' | 'outletName' | 'outletCode' | 'limits'>;
  /** the level the audience last heard (for 升为/降为) */
  previousLevel?: AlarmLevel;
  now: Date;
}

/**
 * The SMS, in Chinese, built from structured fields only (never free text, so nothing about tips or reporters can
 * slip in). Aims at one SMS (≤ 70 characters): when the full text is longer it uses the outlet code instead of its
 * name, then a shorter enterprise name, then drops the closing request; it never exceeds two segments (134).
 *   open        【庆元环保】二级超标：示例竹木制品 蒸煮废水总排口 化学需氧量152.4mg/L（限值100），03-10 14:00。请核查处置。
 *   level       【庆元环保】升为一级超标：…（同上）
 *   reminder    【庆元环保】提醒：示例竹木制品 蒸煮废水总排口 化学需氧量二级超标自03-10 14:00起未确认，请尽快处置。
 *   escalation  【庆元环保】督办：示例竹木制品 蒸煮废水总排口 化学需氧量一级超标已45分钟未确认，请督促处置。
 *   clear       【庆元环保】已恢复：示例竹木制品 蒸煮废水总排口 化学需氧量超标告警于03-10 16:20解除。
 */
export function smsText(input: SmsInput): string {
  const { kind, audience, alarm, source } = input;
  const levelType = `${LEVELS[alarm.level].label}${ALARM_TYPE_LABELS[alarm.type]}`;
  const info = alarm.pollutant ? pollutantInfo(alarm.pollutant) : undefined;
  const pName = alarm.pollutant ? (info?.nameZh ?? alarm.pollutant) : '';
  const measure = measureText(alarm, source);
  const since = beijingShort(alarm.openedAt);
  const when = beijingShort(alarm.at ?? alarm.openedAt);
  const render = (ent: string, outlet: string, withAction: boolean): string => {
    const where = `${ent} ${outlet}`;
    const action = withAction ? actionText(audience, alarm.type) : '';
    switch (kind) {
      case 'open':
      case 'level': {
        const lead =
          kind === 'level' && input.previousLevel !== undefined
            ? `${alarm.level < input.previousLevel ? '升为' : '降为'}${levelType}`
            : levelType;
        const fact = measure ? `${where} ${measure}，${when}` : `${where}，${when}起`;
        return `${SMS_SIGNATURE}${lead}：${fact}。${action}`;
      }
      case 'reminder': {
        const open = audience === 'enterprise' ? '未消除' : '未确认';
        return `${SMS_SIGNATURE}提醒：${where} ${pName}${levelType}自${since}起${open}${withAction ? '，请尽快处置。' : '。'}`;
      }
      case 'escalation': {
        const mins = Math.max(0, Math.floor((input.now.getTime() - ms(alarm.openedAt)) / MIN));
        return `${SMS_SIGNATURE}督办：${where} ${pName}${levelType}已${mins}分钟未确认${withAction ? '，请督促处置。' : '。'}`;
      }
      case 'clear': {
        const at = beijingShort(alarm.clearedAt ?? input.now);
        return `${SMS_SIGNATURE}已恢复：${where} ${pName}${ALARM_TYPE_LABELS[alarm.type]}告警于${at}解除。`;
      }
    }
  };
  const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);
  const ent = shortEnterpriseName(source.enterpriseName);
  const attempts = [
    render(clip(ent, 10), clip(source.outletName, 10), true),
    render(clip(ent, 10), source.outletCode, true),
    render(clip(ent, 6), source.outletCode, true),
    render(clip(ent, 6), source.outletCode, false),
  ];
  const fits = attempts.find((s) => s.length <= SMS_SINGLE);
  const last = attempts[attempts.length - 1] as string;
  return fits ?? (last.length <= SMS_MAX ? last : `${last.slice(0, SMS_MAX - 1)}…`);
}

const KIND_SUBJECT: Record<MessageKind, string> = {
  open: '告警',
  level: '告警级别变化',
  clear: '告警解除',
  reminder: '告警提醒',
  escalation: '告警督办',
};

/** Chinese subject: full names, for the JSON body, e-mail digests and the console. */
export function subjectText(
  kind: MessageKind,
  alarm: NotifiableAlarm,
  source: Pick<AlarmSource, 'enterpriseName' | 'outletName'>,
): string {
  const pName = alarm.pollutant ? ` ${pollutantInfo(alarm.pollutant)?.nameZh ?? alarm.pollutant}` : '';
  return `${SMS_SIGNATURE}${KIND_SUBJECT[kind]}｜${LEVELS[alarm.level].label}${ALARM_TYPE_LABELS[alarm.type]}｜${source.enterpriseName} ${source.outletName}${pName}`;
}
