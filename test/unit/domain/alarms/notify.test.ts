import { describe, expect, it } from 'vitest';
import { ALARM_TYPES, type AlarmLevel, type AlarmSource, type Audience } from '#shared/domain/alarms/model.ts';
import {
  Contact,
  contactTiers,
  emptyNotifyState,
  formatValue,
  type MessageKind,
  type NotifiableAlarm,
  NotificationPolicy,
  type NotifyEvent,
  NotifyState,
  type OutboundMessage,
  planNotifications,
  SMS_MAX,
  SMS_SINGLE,
  shortEnterpriseName,
  smsText,
} from '#shared/domain/alarms/notify.ts';
import { BAMBOO, BOILER, FUNGI, WWTP } from '#shared/domain/registry/qingyuan-seed.ts';

const MIN = 60_000;
const T0 = new Date('2026-03-10T06:00:00.000Z'); // 14:00 Beijing
const at = (minutes: number) => new Date(T0.getTime() + minutes * MIN);
const policy = NotificationPolicy.parse({});

const source: AlarmSource = {
  mn: '33112600000000000000BW01',
  enterpriseId: BAMBOO,
  enterpriseName: '庆元县示例竹木制品有限公司',
  outletId: `${BAMBOO}-DW001`,
  outletCode: 'DW001',
  outletName: '蒸煮废水总排口',
  medium: 'water',
  townshipId: 'huangtian',
  industry: 'bamboo_wood',
  regulator: '庆元县经济商务科技局',
  responsiblePerson: { name: '吴建国（示例）', phone: '13800000101' },
  permitClass: 'simplified',
  inDrinkingWaterProtectionZone: false,
  limits: {
    w01018: {
      pollutant: 'w01018',
      max: 100,
      unit: 'mg/L',
      standard: 'GB 8978-1996',
      grade: '表4 一级',
      basis: 'hourly',
    },
    w01001: {
      pollutant: 'w01001',
      min: 6,
      max: 9,
      unit: '无量纲',
      standard: 'GB 8978-1996',
      grade: '表4 一级',
      basis: 'hourly',
    },
  },
  intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
  equipment: [],
  deviceStatus: 'active',
};

const baseAlarm = (over: Partial<NotifiableAlarm> = {}): NotifiableAlarm => ({
  alarmId: '01JP3K5V7X9Z1B3D5F7H9K1M3P',
  type: 'exceedance',
  pollutant: 'w01018',
  level: 2,
  state: 'active',
  openedAt: T0.toISOString(),
  at: '2026-03-10T05:00:00.000Z', // the 13:00 hourly average
  value: 152.4,
  limit: 100,
  unit: 'mg/L',
  ...over,
});

/** Drives the planner through a sequence of steps, committing each returned state as the lifecycle would. */
function run(
  steps: { event: NotifyEvent; at: number; alarm?: Partial<NotifiableAlarm> }[],
  opts: { policy?: NotificationPolicy; source?: AlarmSource; start?: Partial<NotifiableAlarm> } = {},
) {
  let notify = emptyNotifyState();
  let alarm = baseAlarm(opts.start);
  const sent: Sent[] = [];
  let nextDueAt: string | undefined;
  for (const step of steps) {
    alarm = { ...alarm, ...step.alarm };
    const plan = planNotifications({
      event: step.event,
      alarm,
      source: opts.source ?? source,
      notify,
      policy: opts.policy ?? policy,
      now: at(step.at),
    });
    notify = NotifyState.parse(JSON.parse(JSON.stringify(plan.notify)));
    nextDueAt = plan.nextDueAt;
    sent.push(...plan.messages.map((m) => ({ ...m, minute: step.at })));
  }
  return { sent, notify, nextDueAt };
}

const ticks = (from: number, to: number, every = 1) =>
  Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => ({
    event: 'tick' as const,
    at: from + i * every,
  }));

type Sent = OutboundMessage & { minute: number };
const to = <M extends OutboundMessage>(sent: M[], audience: Audience) => sent.filter((m) => m.audience === audience);
const kinds = (sent: Sent[], audience: Audience) => to(sent, audience).map((m) => `${m.minute}:${m.kind}:${m.tier}`);

describe('NotificationPolicy', () => {
  it('parses {} into complete defaults: floor, reminders, escalation, sample contacts', () => {
    expect(policy.minIntervalMinutes).toBe(15);
    expect(policy.reminderMinutes).toEqual({ 1: 15, 2: 30, 3: 120, 4: null });
    expect(policy.escalateAfterMinutes).toEqual({ 1: 30, 2: 60, 3: 240, 4: null });
    expect(policy.enterpriseWithheldTypes).toEqual(['suspected_falsification']);
    expect(policy.contacts.bureau).toHaveLength(3);
    expect(Object.keys(policy.contacts.regulators)).toEqual([
      '庆元县经济商务科技局',
      '庆元县农业农村局',
      '庆元县住房和城乡建设局',
    ]);
    // the defaults themselves pass the schema (zod does not re-check a default)
    expect(NotificationPolicy.parse(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });

  it('hands out a fresh copy of the default contacts each time', () => {
    const a = NotificationPolicy.parse({});
    a.contacts.bureau[0]?.push({ name: '临时', phone: '13900000000' });
    expect(NotificationPolicy.parse({}).contacts.bureau[0]).toHaveLength(2);
  });

  it('rejects a landline as an SMS contact and an unknown industry on a regulator desk', () => {
    expect(Contact.safeParse({ name: '值班室', phone: '0578-6123456' }).success).toBe(false);
    expect(Contact.safeParse({ name: '值班员', phone: '13800000201' }).success).toBe(true);
    const bad = NotificationPolicy.safeParse({
      contacts: {
        bureau: [[{ name: '值班员', phone: '13800000201' }]],
        regulators: {
          庆元县水利局: [{ desk: '水政科', industries: ['mining'], tiers: [[{ name: 'x', phone: '13800000209' }]] }],
        },
      },
    });
    expect(bad.success).toBe(false);
  });

  it('accepts null to switch reminders off for a level and rejects a zero interval', () => {
    expect(NotificationPolicy.parse({ reminderMinutes: { 1: 10, 2: null, 3: null, 4: null } }).reminderMinutes[2]).toBe(
      null,
    );
    expect(NotificationPolicy.safeParse({ minIntervalMinutes: 0 }).success).toBe(false);
  });
});

describe('planNotifications: open', () => {
  const expected: Record<AlarmLevel, Audience[]> = {
    1: ['bureau', 'regulator', 'enterprise'],
    2: ['bureau', 'regulator', 'enterprise'],
    3: ['bureau', 'enterprise'],
    4: ['enterprise'],
  };
  it.each([1, 2, 3, 4] as AlarmLevel[])('an alarm opening at level %i reaches exactly its audiences', (level) => {
    const { sent } = run([{ event: 'open', at: 0 }], { start: { level } });
    expect(sent.map((m) => m.audience)).toEqual(expected[level]);
    expect(sent.every((m) => m.kind === 'open' && m.tier === 0 && m.level === level)).toBe(true);
  });

  it('sends tier-0 contacts: the bureau duty officers, the regulator desk of the industry, the responsible person', () => {
    const { sent } = run([{ event: 'open', at: 0 }]);
    expect(to(sent, 'bureau')[0]?.recipients.map((r) => r.phone)).toEqual(['13800000201', '13800000202']);
    expect(to(sent, 'regulator')[0]?.recipients.map((r) => r.name)).toEqual(['吴丽娟（示例）']);
    expect(to(sent, 'enterprise')[0]?.recipients).toEqual([{ name: '吴建国（示例）', phone: '13800000101' }]);
  });

  it('routes a boiler to the energy desk of the same regulator (industry filter)', () => {
    const boiler = { ...source, enterpriseId: BOILER, industry: 'boiler_heating', townshipId: 'songyuan' };
    const { sent } = run([{ event: 'open', at: 0 }], { source: boiler });
    expect(to(sent, 'regulator')[0]?.recipients.map((r) => r.name)).toEqual(['胡晓东（示例）']);
  });

  it('routes the bureau by township, falling back to the county roster for higher tiers', () => {
    const fungi = {
      ...source,
      enterpriseId: FUNGI,
      townshipId: 'zhukou',
      industry: 'edible_fungi',
      regulator: '庆元县农业农村局',
    };
    const tiers = contactTiers('bureau', fungi, policy);
    expect(tiers.map((t) => t.map((c) => c.name))).toEqual([
      ['叶建平（示例）'],
      ['张卫东（示例）'],
      ['陈国平（示例）'],
    ]);
    const { sent } = run([{ event: 'open', at: 0 }], { source: fungi });
    expect(to(sent, 'bureau')[0]?.recipients.map((r) => r.name)).toEqual(['叶建平（示例）']);
    expect(to(sent, 'regulator')[0]?.recipients.map((r) => r.name)).toEqual(['季红梅（示例）']);
  });

  it('still plans a topic message when an audience has no SMS contact (unknown regulator, landline)', () => {
    const other = {
      ...source,
      regulator: '庆元县水利局',
      responsiblePerson: { name: '值班室', phone: '0578-6123456' },
    };
    const { sent } = run([{ event: 'open', at: 0 }], { source: other });
    expect(sent.map((m) => [m.audience, m.recipients.length])).toEqual([
      ['bureau', 2],
      ['regulator', 0],
      ['enterprise', 0],
    ]);
  });

  it('withholds suspected falsification from the enterprise by default, and follows LEVELS when told to', () => {
    const start = { type: 'suspected_falsification' as const, level: 1 as const };
    expect(run([{ event: 'open', at: 0 }], { start }).sent.map((m) => m.audience)).toEqual(['bureau', 'regulator']);
    const open = NotificationPolicy.parse({ enterpriseWithheldTypes: [] });
    expect(run([{ event: 'open', at: 0 }], { start, policy: open }).sent.map((m) => m.audience)).toEqual([
      'bureau',
      'regulator',
      'enterprise',
    ]);
  });

  it('carries string attributes for filter policies and a stable dedupe id', () => {
    const { sent } = run([{ event: 'open', at: 0 }]);
    expect(to(sent, 'regulator')[0]?.attributes).toEqual({
      audience: 'regulator',
      township: 'huangtian',
      industry: 'bamboo_wood',
      enterpriseId: BAMBOO,
      level: '2',
      type: 'exceedance',
      kind: 'open',
      regulator: '庆元县经济商务科技局',
      tier: '0',
    });
    expect(to(sent, 'bureau')[0]?.dedupeId).toBe('01JP3K5V7X9Z1B3D5F7H9K1M3P:bureau:open:L2:1');
  });

  it('plans the same ids from the same state, and nothing when the open is replayed on the committed state', () => {
    const input = {
      event: 'open' as const,
      alarm: baseAlarm(),
      source,
      notify: emptyNotifyState(),
      policy,
      now: at(0),
    };
    const first = planNotifications(input);
    expect(planNotifications(input).messages.map((m) => m.dedupeId)).toEqual(first.messages.map((m) => m.dedupeId));
    expect(input.notify).toEqual(emptyNotifyState()); // not mutated
    expect(planNotifications({ ...input, notify: first.notify, now: at(1) }).messages).toEqual([]);
  });
});

describe('planNotifications: one message per alarm and audience within the floor', () => {
  it('never sends two messages to an audience within 15 minutes while the level flaps between 二级 and 四级', () => {
    const steps = [];
    for (let m = 0; m <= 120; m++) {
      if (m === 0) steps.push({ event: 'open' as const, at: 0 });
      else if (m % 4 === 0)
        steps.push({ event: 'level' as const, at: m, alarm: { level: ([2, 3, 4] as AlarmLevel[])[(m / 4) % 3] } });
      else steps.push({ event: 'tick' as const, at: m });
    }
    const { sent } = run(steps);
    for (const audience of ['bureau', 'regulator', 'enterprise'] as Audience[]) {
      const minutes = to(sent, audience).map((m) => m.minute);
      expect(minutes.length).toBeGreaterThan(1);
      for (let i = 1; i < minutes.length; i++)
        expect((minutes[i] ?? 0) - (minutes[i - 1] ?? 0)).toBeGreaterThanOrEqual(15);
    }
  });

  it('sends the latest state when the floor lapses, as a coalesced level change', () => {
    const { sent, notify } = run([
      { event: 'open', at: 0, alarm: { level: 3 } },
      { event: 'level', at: 5, alarm: { level: 2, value: 230 } },
      ...ticks(6, 14),
    ]);
    // the regulator is new at 二级: told at once; the bureau and the enterprise wait for the floor
    expect(kinds(sent, 'regulator')).toEqual(['5:open:0']);
    expect(kinds(sent, 'bureau')).toEqual(['0:open:0']);
    expect(notify.audiences.bureau?.pending).toEqual({ kind: 'level', level: 2, dueAt: at(15).toISOString() });
    const later = planNotifications({
      event: 'tick',
      alarm: baseAlarm({ level: 2, value: 230 }),
      source,
      notify,
      policy,
      now: at(15),
    });
    expect(later.messages.map((m) => `${m.audience}:${m.kind}:L${m.level}`)).toEqual([
      'bureau:level:L2',
      'enterprise:level:L2',
    ]);
    expect(later.messages[0]?.sms).toContain('升为二级超标');
    expect(later.notify.audiences.bureau?.pending).toBeUndefined();
  });

  it('sends nothing when the level returns to what the audience last heard before the floor lapses', () => {
    const { sent, notify } = run([
      { event: 'open', at: 0, alarm: { level: 3 } },
      { event: 'level', at: 5, alarm: { level: 2 } },
      { event: 'level', at: 9, alarm: { level: 3 } },
      ...ticks(10, 60),
    ]);
    expect(kinds(sent, 'bureau')).toEqual(['0:open:0']);
    expect(notify.audiences.bureau?.pending).toBeUndefined();
  });

  it('sends a rise to 一级 at once, inside the floor', () => {
    const { sent } = run([
      { event: 'open', at: 0 },
      { event: 'level', at: 3, alarm: { level: 1, value: 420 } },
    ]);
    expect(sent.filter((m) => m.minute === 3).map((m) => `${m.audience}:${m.kind}:L${m.level}`)).toEqual([
      'bureau:level:L1',
      'regulator:level:L1',
      'enterprise:level:L1',
    ]);
  });

  it('reports when the sweep must look again', () => {
    const open = run([{ event: 'open', at: 0 }]);
    expect(open.nextDueAt).toBe(at(30).toISOString()); // 二级 reminder
    const deferred = run([
      { event: 'open', at: 0, alarm: { level: 3 } },
      { event: 'level', at: 5, alarm: { level: 2 } },
    ]);
    expect(deferred.nextDueAt).toBe(at(15).toISOString());
  });
});

describe('planNotifications: reminders, acknowledgement, snooze', () => {
  it('reminds the audiences of the level every reminder interval until acknowledged', () => {
    const { sent } = run([{ event: 'open', at: 0 }, ...ticks(1, 59)]);
    expect(kinds(sent, 'bureau')).toEqual(['0:open:0', '30:reminder:0']);
    expect(kinds(sent, 'enterprise')).toEqual(['0:open:0', '30:reminder:0']);
    expect(to(sent, 'bureau')[1]?.sms).toContain('未确认');
    expect(to(sent, 'enterprise')[1]?.sms).toContain('未消除');
  });

  it('does not remind on an event other than the sweep', () => {
    const { sent } = run([
      { event: 'open', at: 0 },
      { event: 'level', at: 40 },
    ]);
    expect(sent.filter((m) => m.kind === 'reminder')).toEqual([]);
  });

  it('stops reminders and escalations once acknowledged', () => {
    const { sent, nextDueAt } = run([
      { event: 'open', at: 0 },
      ...ticks(1, 30),
      { event: 'tick', at: 31, alarm: { state: 'acknowledged', acknowledgedAt: at(31).toISOString() } },
      ...ticks(32, 600),
    ]);
    expect(sent.filter((m) => m.minute > 30)).toEqual([]);
    expect(nextDueAt).toBeUndefined();
  });

  it('never reminds about a 四级 prewarning', () => {
    const { sent, nextDueAt } = run([{ event: 'open', at: 0 }, ...ticks(1, 600, 5)], {
      start: { level: 4, type: 'prewarning', value: 92 },
    });
    expect(kinds(sent, 'enterprise')).toEqual(['0:open:0']);
    expect(nextDueAt).toBeUndefined();
  });

  it('stays silent while snoozed and resumes when the snooze ends, restarting the escalation clock', () => {
    const snoozedUntil = at(90).toISOString();
    const { sent } = run([
      { event: 'open', at: 0 },
      { event: 'tick', at: 1, alarm: { snoozedUntil } },
      ...ticks(2, 160),
    ]);
    expect(kinds(sent, 'bureau')).toEqual(['0:open:0', '90:reminder:0', '120:reminder:0', '150:escalation:1']);
  });

  it('stretches a reminder interval shorter than the floor to the floor', () => {
    const slow = NotificationPolicy.parse({ minIntervalMinutes: 30 });
    const { sent } = run([{ event: 'open', at: 0, alarm: { level: 1 } }, ...ticks(1, 29)], { policy: slow });
    expect(kinds(sent, 'bureau')).toEqual(['0:open:0']);
  });
});

describe('planNotifications: escalation', () => {
  it('escalates one tier at a time, and later messages reach every tier reached', () => {
    const { sent } = run([{ event: 'open', at: 0, alarm: { level: 1 } }, ...ticks(1, 95)]);
    expect(kinds(sent, 'bureau')).toEqual([
      '0:open:0',
      '15:reminder:0',
      '30:escalation:1',
      '45:reminder:1',
      '60:escalation:2',
      '75:reminder:2',
      '90:reminder:2',
    ]);
    const bureau = to(sent, 'bureau');
    expect(bureau[2]?.recipients.map((r) => r.name)).toEqual(['王志华（示例）', '李晓燕（示例）', '张卫东（示例）']);
    expect(bureau[2]?.sms).toContain('已30分钟未确认');
    expect(bureau[4]?.recipients).toHaveLength(4);
    expect(kinds(sent, 'regulator').slice(0, 5)).toEqual([
      '0:open:0',
      '15:reminder:0',
      '30:escalation:1',
      '45:reminder:1',
      '60:escalation:2',
    ]);
  });

  it('never escalates the enterprise (one responsible person) nor a desk without further tiers', () => {
    const wwtp = {
      ...source,
      enterpriseId: WWTP,
      industry: 'wastewater_treatment',
      regulator: '庆元县住房和城乡建设局',
    };
    const { sent } = run([{ event: 'open', at: 0, alarm: { level: 1 } }, ...ticks(1, 95)], { source: wwtp });
    expect(to(sent, 'enterprise').every((m) => m.kind !== 'escalation')).toBe(true);
    expect(
      to(sent, 'regulator')
        .filter((m) => m.kind === 'escalation')
        .map((m) => m.tier),
    ).toEqual([1]);
  });

  it('does not escalate an acknowledged alarm', () => {
    const { sent } = run([{ event: 'open', at: 0, alarm: { level: 1, state: 'acknowledged' } }, ...ticks(1, 300, 5)]);
    expect(sent.filter((m) => m.kind === 'escalation' || m.kind === 'reminder')).toEqual([]);
  });
});

describe('planNotifications: clear', () => {
  it('tells everyone who heard about the alarm, at every tier reached', () => {
    const { sent } = run([
      { event: 'open', at: 0, alarm: { level: 3 } },
      { event: 'level', at: 20, alarm: { level: 2 } },
      ...ticks(21, 130),
      { event: 'clear', at: 131, alarm: { state: 'cleared', clearedAt: at(131).toISOString() } },
      ...ticks(132, 150),
    ]);
    expect(kinds(sent, 'bureau')).toEqual([
      '0:open:0',
      '20:level:0',
      '50:reminder:0',
      '65:escalation:1',
      '95:reminder:1',
      '125:escalation:2',
      '140:clear:2', // the floor after the escalation at 125
    ]);
    expect(kinds(sent, 'regulator')).toEqual([
      '20:open:0',
      '50:reminder:0',
      '80:escalation:1',
      '110:reminder:1',
      '131:clear:1',
    ]);
    expect(kinds(sent, 'enterprise')).toEqual([
      '0:open:0',
      '20:level:0',
      '50:reminder:0',
      '80:reminder:0',
      '110:reminder:0',
      '131:clear:0',
    ]);
    expect(to(sent, 'bureau').at(-1)?.recipients).toHaveLength(4);
  });

  it('does not tell audiences that never heard about the alarm', () => {
    const { sent } = run(
      [
        { event: 'open', at: 0 },
        { event: 'clear', at: 40, alarm: { state: 'cleared' } },
      ],
      { start: { level: 4, type: 'prewarning' } },
    );
    expect(sent.map((m) => `${m.audience}:${m.kind}`)).toEqual(['enterprise:open', 'enterprise:clear']);
  });

  it('coalesces a clear inside the floor and sends it when the floor lapses, despite acknowledgement and snooze', () => {
    const { sent, nextDueAt } = run([
      { event: 'open', at: 0 },
      { event: 'tick', at: 2, alarm: { state: 'acknowledged', snoozedUntil: at(600).toISOString() } },
      { event: 'clear', at: 6, alarm: { state: 'cleared', clearedAt: at(6).toISOString() } },
      ...ticks(7, 14),
    ]);
    expect(sent.filter((m) => m.kind === 'clear')).toEqual([]);
    expect(nextDueAt).toBe(at(15).toISOString());
    const { sent: later } = run([
      { event: 'open', at: 0 },
      { event: 'clear', at: 6, alarm: { state: 'cleared', clearedAt: at(6).toISOString() } },
      ...ticks(7, 15),
    ]);
    expect(later.filter((m) => m.kind === 'clear').map((m) => `${m.minute}:${m.audience}`)).toEqual([
      '15:bureau',
      '15:regulator',
      '15:enterprise',
    ]);
    expect(later.find((m) => m.kind === 'clear')?.sms).toContain('于03-10 14:06解除');
  });

  it('sends the clear once: a replayed clear and later sweeps send nothing', () => {
    const { sent, nextDueAt } = run([
      { event: 'open', at: 0 },
      { event: 'clear', at: 20, alarm: { state: 'cleared' } },
      { event: 'clear', at: 21 },
      ...ticks(22, 200, 10),
    ]);
    expect(sent.filter((m) => m.kind === 'clear')).toHaveLength(3);
    expect(sent.filter((m) => m.minute > 20)).toEqual([]);
    expect(nextDueAt).toBeUndefined();
  });

  it('sends the clear from the sweep when the alarm is cleared but the clear event was missed', () => {
    const { sent } = run([
      { event: 'open', at: 0 },
      { event: 'tick', at: 20, alarm: { state: 'cleared' } },
    ]);
    expect(sent.filter((m) => m.kind === 'clear').map((m) => m.audience)).toEqual([
      'bureau',
      'regulator',
      'enterprise',
    ]);
  });
});

describe('smsText', () => {
  const sms = (
    kind: MessageKind,
    audience: Audience,
    over: Partial<NotifiableAlarm> = {},
    src: AlarmSource = source,
    now = at(45),
  ) => smsText({ kind, audience, alarm: baseAlarm(over), source: src, previousLevel: 3, now });

  it('writes the open SMS with short name, outlet, pollutant, value, limit, Beijing time, level and type', () => {
    const text = sms('open', 'bureau');
    expect(text).toBe(
      '【庆元环保】二级超标：示例竹木制品 蒸煮废水总排口 化学需氧量152.4mg/L（限值100），03-10 13:00。请核查处置。',
    );
    expect(text.length).toBeLessThanOrEqual(SMS_SINGLE);
  });

  it('asks each audience for its own action', () => {
    expect(sms('open', 'regulator')).toMatch(/请督促整改。$/);
    expect(sms('open', 'enterprise')).toMatch(/请立即自查整改。$/);
    expect(sms('open', 'enterprise', { type: 'prewarning', level: 4, value: 92 })).toMatch(
      /^【庆元环保】四级接近限值：.*化学需氧量92mg\/L（限值100）.*请及时自查。$/,
    );
  });

  it('writes the level, reminder, escalation and clear variants', () => {
    expect(sms('level', 'bureau', { level: 1 })).toMatch(/^【庆元环保】升为一级超标：/);
    expect(sms('level', 'bureau', { level: 4, type: 'prewarning' })).toMatch(/^【庆元环保】降为四级接近限值：/);
    expect(sms('reminder', 'bureau')).toBe(
      '【庆元环保】提醒：示例竹木制品 蒸煮废水总排口 化学需氧量二级超标自03-10 14:00起未确认，请尽快处置。',
    );
    expect(sms('escalation', 'bureau', { level: 1 })).toBe(
      '【庆元环保】督办：示例竹木制品 蒸煮废水总排口 化学需氧量一级超标已45分钟未确认，请督促处置。',
    );
    expect(sms('clear', 'enterprise', { state: 'cleared', clearedAt: '2026-03-10T08:20:00.000Z' })).toBe(
      '【庆元环保】已恢复：示例竹木制品 蒸煮废水总排口 化学需氧量超标告警于03-10 16:20解除。',
    );
  });

  it('shows pH as a range without a unit', () => {
    expect(sms('open', 'bureau', { pollutant: 'w01001', value: 9.8, limit: 9, unit: '无量纲' })).toContain(
      'pH值9.8（限值6-9）',
    );
  });

  it('writes alarms without a value with their start time', () => {
    const text = sms('open', 'bureau', { type: 'comm_loss', level: 3, pollutant: undefined, value: undefined });
    expect(text).toBe('【庆元环保】三级通讯异常：示例竹木制品 蒸煮废水总排口，03-10 13:00起。请核查处置。');
  });

  it('shows the time in Beijing time across midnight', () => {
    expect(sms('open', 'bureau', { at: '2026-03-10T16:30:00.000Z' })).toContain('03-11 00:30');
  });

  it('fits one SMS for every kind, audience, type and level of the seed units', () => {
    const units = [
      { name: '庆元县示例竹木制品有限公司', outlet: '蒸煮废水总排口' },
      { name: '庆元县示例香菇食品有限公司', outlet: '灭菌锅炉烟囱' },
      { name: '庆元县示例城镇污水处理有限公司', outlet: '尾水排放口' },
      { name: '庆元县示例集中供热站', outlet: '燃气锅炉烟囱' },
    ];
    for (const u of units)
      for (const kind of ['open', 'level', 'reminder', 'escalation', 'clear'] as MessageKind[])
        for (const audience of ['bureau', 'regulator', 'enterprise'] as Audience[])
          for (const type of ALARM_TYPES)
            for (const level of [1, 2, 3, 4] as AlarmLevel[]) {
              const src = { ...source, enterpriseName: u.name, outletName: u.outlet };
              const text = sms(kind, audience, { type, level, pollutant: 'w21003', value: 1234.5, limit: 15 }, src);
              expect(text.length, text).toBeLessThanOrEqual(SMS_SINGLE);
            }
  });

  it('shortens long names and never exceeds two segments', () => {
    const long = {
      ...source,
      enterpriseName: `庆元县${'某'.repeat(90)}有限公司`,
      outletName: '一号车间含重金属废水预处理设施出口在线监测点'.repeat(2),
    };
    const clipped = sms('open', 'regulator', { pollutant: 'w20120', value: 3.456, limit: 1 }, long);
    expect(clipped).toBe(
      '【庆元环保】二级超标：某某某某某某某某某某 一号车间含重金属废水 总铅3.456mg/L（限值1），03-10 13:00。请督促整改。',
    );
    // a long pollutant name leaves no room for the outlet's name: its code stands in
    const coded = sms('open', 'regulator', { pollutant: 'w19002', value: 12.35, limit: 5 }, long);
    expect(coded.length).toBeLessThanOrEqual(SMS_SINGLE);
    expect(coded).toContain(' DW001 阴离子表面活性剂12.35mg/L（限值5）');
    const extreme = { ...long, outletCode: 'DW001' };
    for (const kind of ['open', 'level', 'reminder', 'escalation', 'clear'] as MessageKind[]) {
      expect(sms(kind, 'bureau', {}, extreme).length).toBeLessThanOrEqual(SMS_MAX);
    }
  });

  it('is built from structured fields only: free text on the alarm never reaches the SMS', () => {
    const alarm = {
      ...baseAlarm(),
      reasonZh: '群众举报：张三 13912345678 反映夜间偷排',
      tipId: '01JTIP',
    } as NotifiableAlarm;
    for (const kind of ['open', 'level', 'reminder', 'escalation', 'clear'] as MessageKind[]) {
      const text = smsText({ kind, audience: 'bureau', alarm, source, now: at(45) });
      expect(text).not.toMatch(/举报|张三|13912345678|01JTIP/);
    }
  });
});

describe('text helpers', () => {
  it('shortens enterprise names', () => {
    expect(shortEnterpriseName('庆元县示例竹木制品有限公司')).toBe('示例竹木制品');
    expect(shortEnterpriseName('浙江省丽水市庆元县某某食品股份有限公司')).toBe('某某食品');
    expect(shortEnterpriseName('庆元县某某（集团）有限责任公司')).toBe('某某');
    expect(shortEnterpriseName('庆元县示例集中供热站')).toBe('示例集中供热站');
  });

  it('formats values compactly', () => {
    expect(formatValue(152.37)).toBe('152.4');
    expect(formatValue(0.05234)).toBe('0.0523');
    expect(formatValue(12345.6)).toBe('12346');
    expect(formatValue(15)).toBe('15');
  });
});
