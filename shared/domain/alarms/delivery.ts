import { type Alarm, type AlarmEvent, maskPhone } from './lifecycle.ts';
import type { AlarmSource } from './model.ts';
import {
  type NotifiableAlarm,
  type NotificationPolicy,
  type NotifyEvent,
  NotifyState,
  type OutboundMessage,
  planNotifications,
} from './notify.ts';

/**
 * Delivering an alarm's notifications: plan (notify.ts) → deliver (SNS topics + SMS) → record what was sent on the
 * alarm (its notify state, the next time the sweep must look, `notified` timeline events).
 *
 * The order makes delivery at-least-once and, in practice, once: the notify state is stored only after delivery
 * succeeded, so a failure leaves the alarm due (`notifyDue`) and the sweep plans again — the same plan, the same
 * dedupe ids — skipping what already went out. The evaluator calls this right after it commits a transition (the
 * fast path: an exceedance reaches people in the same invocation); the sweep calls it for everything due.
 */
export interface DeliveryStore {
  recordNotified(
    alarmId: string,
    expectedVersion: number,
    notifyState: Record<string, unknown>,
    nextDueAt: string | undefined,
    events: AlarmEvent[],
  ): Promise<number>;
  get(alarmId: string, consistent?: boolean): Promise<Alarm | undefined>;
}

export interface Publisher {
  deliver(messages: OutboundMessage[], opts?: { skip?: readonly string[] }): Promise<{ delivered: string[] }>;
}

export interface DeliveryOutcome {
  alarmId: string;
  sent: number;
  /** messages that could not be delivered (the alarm stays due; the sweep retries) */
  failed?: string;
  /** the alarm changed under us before the state was stored; the sweep looks again */
  stale?: boolean;
}

const DELIVERY_ATTEMPTS = 3;
/** key in the alarm's notify record: delivery keys of the pending plan that already went out */
const DELIVERED = 'delivered';

export const toNotifiable = (a: Alarm): NotifiableAlarm => ({
  alarmId: a.alarmId,
  type: a.type,
  ...(a.pollutant !== undefined ? { pollutant: a.pollutant } : {}),
  level: a.level,
  state: a.state,
  openedAt: a.openedAt,
  ...(a.acknowledgedAt !== undefined ? { acknowledgedAt: a.acknowledgedAt } : {}),
  ...(a.snoozedUntil !== undefined ? { snoozedUntil: a.snoozedUntil } : {}),
  ...(a.clearedAt !== undefined ? { clearedAt: a.clearedAt } : {}),
  at: a.lastSignal.at,
  ...(a.lastSignal.value !== undefined ? { value: a.lastSignal.value } : {}),
  ...(a.lastSignal.limit !== undefined ? { limit: a.lastSignal.limit } : {}),
  ...(a.lastSignal.unit !== undefined ? { unit: a.lastSignal.unit } : {}),
});

export class AlarmDelivery {
  constructor(
    private readonly store: DeliveryStore,
    private readonly publisher: Publisher,
  ) {}

  async deliver(
    alarm: Alarm,
    event: NotifyEvent,
    source: AlarmSource,
    policy: NotificationPolicy,
    now: Date,
  ): Promise<DeliveryOutcome> {
    // 补传超标: a retrospective record is never paged (it is never due either; this guards the sweep)
    if (alarm.retrospective !== undefined) return { alarmId: alarm.alarmId, sent: 0 };
    const notify = NotifyState.parse(alarm.notify ?? {});
    const plan = planNotifications({ event, alarm: toNotifiable(alarm), source, notify, policy, now });
    let sent = 0;
    let gaveUp: string | undefined;
    if (plan.messages.length > 0) {
      // what already went out of this plan on an earlier attempt (the plan and its dedupe ids are deterministic)
      const notifyRecord = (alarm.notify ?? {}) as Record<string, unknown>;
      const earlier = Array.isArray(notifyRecord[DELIVERED]) ? (notifyRecord[DELIVERED] as string[]) : [];
      const delivered: string[] = [...earlier];
      for (let attempt = 1; ; attempt++) {
        try {
          delivered.push(...(await this.publisher.deliver(plan.messages, { skip: delivered })).delivered);
          break;
        } catch (err) {
          const partial = (err as { delivered?: unknown }).delivered;
          if (Array.isArray(partial)) delivered.push(...(partial as string[]));
          const message = err instanceof Error ? err.message : String(err);
          if ((err as { retryable?: unknown }).retryable === false) {
            // only permanent failures left (a number that is not a mobile, a refused template): retrying cannot
            // help, so the plan counts as delivered and the failures are recorded on the timeline
            gaveUp = message;
            break;
          }
          if (attempt >= DELIVERY_ATTEMPTS) {
            // remember what went out, so that the sweep's retry does not send it twice; the alarm stays due
            await this.rememberPartial(alarm, notifyRecord, delivered);
            return { alarmId: alarm.alarmId, sent: delivered.length - earlier.length, failed: message };
          }
        }
      }
      sent = delivered.length - earlier.length;
    }
    if (plan.messages.length === 0 && plan.nextDueAt === alarm.notifyDue) return { alarmId: alarm.alarmId, sent };
    const at = now.toISOString();
    const events: AlarmEvent[] = plan.messages.map((m) => ({
      type: 'notified',
      at,
      by: 'system',
      audience: m.audience,
      kind: m.kind,
      note: `${m.kind} L${m.level} tier ${m.tier} → ${m.recipients.length} SMS${gaveUp ? `; undeliverable: ${gaveUp.slice(0, 300)}` : ''}`,
      recipients: m.recipients.map((r) => ({
        name: r.name,
        ...(r.role ? { role: r.role } : {}),
        phone: maskPhone(r.phone),
      })),
      sms: m.sms,
    }));
    try {
      await this.store.recordNotified(alarm.alarmId, alarm.version, plan.notify, plan.nextDueAt, events);
      return { alarmId: alarm.alarmId, sent };
    } catch (err) {
      // an official acted on the alarm meanwhile: the notify state is ours alone, so store it on the new version
      const fresh = await this.store.get(alarm.alarmId, true);
      if (!fresh || JSON.stringify(fresh.notify ?? {}) !== JSON.stringify(alarm.notify ?? {})) {
        return { alarmId: alarm.alarmId, sent, stale: true };
      }
      try {
        await this.store.recordNotified(alarm.alarmId, fresh.version, plan.notify, plan.nextDueAt, events);
        return { alarmId: alarm.alarmId, sent };
      } catch {
        return { alarmId: alarm.alarmId, sent, stale: true, failed: err instanceof Error ? err.message : String(err) };
      }
    }
  }

  private async rememberPartial(alarm: Alarm, notify: Record<string, unknown>, delivered: string[]): Promise<void> {
    try {
      const due = alarm.notifyDue ?? new Date().toISOString();
      await this.store.recordNotified(alarm.alarmId, alarm.version, { ...notify, [DELIVERED]: delivered }, due, []);
    } catch {
      // the alarm changed meanwhile: the next attempt plans afresh (at worst a message goes out twice)
    }
  }
}
