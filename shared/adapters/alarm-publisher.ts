/**
 * Delivers planned alarm messages (shared/domain/alarms/notify.ts): each message is (1) published to its audience's
 * SNS topic — JSON body for e-mail / app subscribers and the local message log, string message attributes for
 * subscription filter policies, `dedupeId` among them — and (2) sent by SMS to each recipient through the
 * `SmsGateway` (SNS in global regions, a domestic provider in AWS China).
 *
 * Every delivery has a key: `<dedupeId>|topic` and `<dedupeId>|sms|<recipient index>`. `deliver` tries all of them,
 * even after a failure, and then either returns the keys delivered or throws `AlarmDeliveryError` listing what failed
 * (and what did not). The caller keeps the alarm's notification pending (does not commit the planned NotifyState, or
 * keeps the messages in an outbox) and retries later with `skip` = the keys already delivered, so nobody gets the same
 * SMS twice. Phone numbers never appear in errors, bodies or logs: recipients are named by index.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ALARM_TYPE_LABELS, type Audience, LEVELS } from '#shared/domain/alarms/model.ts';
import type { OutboundMessage } from '#shared/domain/alarms/notify.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { SmsError, type SmsGateway } from './sms-gateway.ts';

export interface AlarmPublisherDeps {
  sns: SNSClient;
  /** topic ARN per audience (BUREAU_TOPIC_ARN, REGULATOR_TOPIC_ARN, ENTERPRISE_TOPIC_ARN) */
  topics: Record<Audience, string>;
  sms: SmsGateway;
  log?: Logger;
}

export interface DeliveryFailure {
  key: string;
  dedupeId: string;
  audience: Audience;
  channel: 'topic' | 'sms';
  /** index into the message's recipients (never the phone number) */
  recipient?: number;
  /** retrying cannot help (a rejected number or text) */
  permanent: boolean;
  reason: string;
}

export class AlarmDeliveryError extends Error {
  constructor(
    readonly failed: DeliveryFailure[],
    readonly delivered: string[],
  ) {
    super(
      `${failed.length} alarm notification deliveries failed: ${failed.map((f) => `${f.key} (${f.reason})`).join('; ')}`,
    );
    this.name = 'AlarmDeliveryError';
  }

  /** whether any failure may succeed on a later attempt */
  get retryable(): boolean {
    return this.failed.some((f) => !f.permanent);
  }
}

export const topicKey = (m: Pick<OutboundMessage, 'dedupeId'>) => `${m.dedupeId}|topic`;
export const smsKey = (m: Pick<OutboundMessage, 'dedupeId'>, recipient: number) => `${m.dedupeId}|sms|${recipient}`;

/** All delivery keys of a message: the topic publication and one SMS per recipient. */
export function deliveryKeys(m: OutboundMessage): string[] {
  return [topicKey(m), ...m.recipients.map((_, i) => smsKey(m, i))];
}

/** SNS `Subject` must be ASCII (e-mail subscribers see it); the Chinese subject travels in the body. */
export function asciiSubject(m: OutboundMessage): string {
  return `EnvWatch alarm L${m.level} ${m.attributes.type ?? ''} ${m.kind}`.replace(/\s+/g, ' ').trim().slice(0, 99);
}

/** The JSON body published to the topic: everything a subscriber shows, nothing it must not (no phone numbers). */
export function messageBody(m: OutboundMessage): string {
  const type = m.attributes.type as keyof typeof ALARM_TYPE_LABELS | undefined;
  return JSON.stringify({
    dedupeId: m.dedupeId,
    alarmId: m.alarmId,
    audience: m.audience,
    tier: m.tier,
    kind: m.kind,
    level: m.level,
    levelLabel: LEVELS[m.level].label,
    ...(type ? { type, typeLabel: ALARM_TYPE_LABELS[type] } : {}),
    subject: m.subject,
    text: m.sms,
    recipients: m.recipients.map((r) => r.name),
    attributes: m.attributes,
    plannedAt: m.plannedAt,
  });
}

/** SMS errors other than our own typed ones might echo the number: only their name is kept. */
function reasonOf(err: unknown, channel: 'topic' | 'sms'): string {
  if (!(err instanceof Error)) return 'error';
  if (channel === 'sms' && !(err instanceof SmsError)) return err.name;
  return `${err.name}: ${err.message}`;
}

interface Task {
  key: string;
  message: OutboundMessage;
  channel: 'topic' | 'sms';
  recipient?: number;
  run: () => Promise<unknown>;
}

export class AlarmPublisher {
  constructor(private readonly deps: AlarmPublisherDeps) {}

  /** Delivers every message; returns the keys delivered, or throws AlarmDeliveryError after trying everything. */
  async deliver(
    messages: readonly OutboundMessage[],
    options: { skip?: Iterable<string> } = {},
  ): Promise<{ delivered: string[] }> {
    const skip = new Set(options.skip ?? []);
    const tasks = messages.flatMap((m) => this.tasks(m)).filter((t) => !skip.has(t.key));
    const results = await Promise.allSettled(tasks.map((t) => t.run()));
    const delivered: string[] = [];
    const failed: DeliveryFailure[] = [];
    results.forEach((result, i) => {
      const task = tasks[i] as Task;
      if (result.status === 'fulfilled') {
        delivered.push(task.key);
        return;
      }
      const err = result.reason as unknown;
      failed.push({
        key: task.key,
        dedupeId: task.message.dedupeId,
        audience: task.message.audience,
        channel: task.channel,
        ...(task.recipient !== undefined ? { recipient: task.recipient } : {}),
        permanent: err instanceof SmsError ? err.permanent : false,
        reason: reasonOf(err, task.channel),
      });
    });
    for (const m of messages) {
      this.deps.log?.info('alarm notification delivered', {
        dedupeId: m.dedupeId,
        alarmId: m.alarmId,
        audience: m.audience,
        kind: m.kind,
        level: m.level,
        tier: m.tier,
        smsRecipients: m.recipients.length,
        failures: failed.filter((f) => f.dedupeId === m.dedupeId).length,
      });
    }
    if (failed.length > 0) {
      // smsFailures: what the Ops stack's metric filter counts (EnvWatch/Alarms SmsFailures, infra/constructs/ops-alarms.ts)
      this.deps.log?.warn('alarm notification deliveries failed', {
        failed,
        smsFailures: failed.filter((f) => f.channel === 'sms').length,
      });
      throw new AlarmDeliveryError(failed, delivered);
    }
    return { delivered };
  }

  private tasks(m: OutboundMessage): Task[] {
    const topic: Task = { key: topicKey(m), message: m, channel: 'topic', run: () => this.publish(m) };
    const sms = m.recipients.map(
      (r, i): Task => ({
        key: smsKey(m, i),
        message: m,
        channel: 'sms',
        recipient: i,
        run: () => this.deps.sms.send({ phone: r.phone, text: m.sms, dedupeId: smsKey(m, i) }),
      }),
    );
    return [topic, ...sms];
  }

  private async publish(m: OutboundMessage): Promise<void> {
    const topicArn = this.deps.topics[m.audience];
    if (!topicArn) throw new Error(`no topic configured for audience ${m.audience}`);
    const attributes: Record<string, { DataType: 'String'; StringValue: string }> = {};
    for (const [name, value] of Object.entries({ ...m.attributes, dedupeId: m.dedupeId })) {
      // SNS rejects empty attribute values; a missing attribute simply does not match a filter on it
      if (value) attributes[name] = { DataType: 'String', StringValue: value };
    }
    await this.deps.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: asciiSubject(m),
        Message: messageBody(m),
        MessageAttributes: attributes,
      }),
    );
  }
}
