/**
 * SMS delivery behind one small port, because SNS SMS does not exist in AWS China regions (cn-north-1, cn-northwest-1):
 * there the platform sends through a domestic SMS provider over HTTPS. Both adapters take the same message and
 * report a permanent failure (bad number, rejected text: retrying cannot help) as `SmsPermanentError` and a
 * transient one that outlived its retries as `SmsTransientError`, so the caller knows what to retry later.
 *
 * Phone numbers and texts never reach a log line from here (the logger redacts `phone` anyway).
 */
import { createHmac } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { ENV } from '#shared/config/env-names.ts';

export interface SmsMessage {
  /** mainland mobile number, `13800000101` or `+8613800000101` */
  phone: string;
  text: string;
  /** stable per message and recipient, so the provider (and we) can recognise a retried send */
  dedupeId: string;
}

export interface SmsGateway {
  send(msg: SmsMessage): Promise<{ messageId: string }>;
}

export abstract class SmsError extends Error {
  abstract readonly permanent: boolean;
}

/** The provider refused the message (4xx, invalid number, opted out): do not retry it. */
export class SmsPermanentError extends SmsError {
  readonly permanent = true;
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SmsPermanentError';
  }
}

/** The send failed for a reason that may pass (5xx, network, timeout) and the retries ran out: retry later. */
export class SmsTransientError extends SmsError {
  readonly permanent = false;
  constructor(
    message: string,
    readonly attempts: number,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SmsTransientError';
  }
}

const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;

/** `13800000101`, `+86 138-0000-0101`, `008613800000101` → `+8613800000101`; anything else is a permanent error. */
export function toE164(phone: string): string {
  const digits = phone.replace(/[\s-]/g, '').replace(/^(\+86|0086|86)(?=1\d{10}$)/, '');
  if (!MAINLAND_MOBILE.test(digits)) throw new SmsPermanentError('not a mainland mobile number');
  return `+86${digits}`;
}

// ---------------------------------------------------------------------------------------------------------------
// (a) Amazon SNS
// ---------------------------------------------------------------------------------------------------------------

export interface SnsSmsOptions {
  /** AWS.SNS.SMS.SenderID, where the destination supports sender ids */
  senderId?: string;
}

/**
 * SMS through Amazon SNS `Publish` with `PhoneNumber` (E.164) and the Transactional SMS type (alarms must arrive,
 * not be dropped as marketing). Only in AWS global regions: **SNS SMS is not available in AWS China regions**, use
 * `HttpSmsGateway` there. Sending to +86 numbers from a global region also depends on the account's SMS
 * registration for China; check AWS End User Messaging before relying on it. The SDK retries throttling and 5xx
 * itself; what still fails is reported as permanent (client faults) or transient (the rest). SNS SMS has no
 * deduplication: a retried send may arrive twice.
 */
export class SnsSmsGateway implements SmsGateway {
  constructor(
    private readonly sns: SNSClient,
    private readonly options: SnsSmsOptions = {},
  ) {}

  async send(msg: SmsMessage): Promise<{ messageId: string }> {
    const attributes: Record<string, { DataType: 'String'; StringValue: string }> = {
      'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
    };
    if (this.options.senderId) {
      attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: this.options.senderId };
    }
    try {
      const out = await this.sns.send(
        new PublishCommand({ PhoneNumber: toE164(msg.phone), Message: msg.text, MessageAttributes: attributes }),
      );
      return { messageId: out.MessageId ?? msg.dedupeId };
    } catch (err) {
      if (err instanceof SmsError) throw err;
      const e = err as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      const throttled = /throttl/i.test(e.name ?? '') || status === 429;
      if (e.$fault === 'client' && !throttled) {
        throw new SmsPermanentError(`SNS rejected the SMS: ${e.name ?? 'error'}`, status);
      }
      throw new SmsTransientError(`SNS could not send the SMS: ${e.name ?? 'error'}`, 1, status);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (b) A domestic SMS provider over HTTPS
// ---------------------------------------------------------------------------------------------------------------

export const SIGNATURE_HEADER = 'x-envwatch-signature';
export const TIMESTAMP_HEADER = 'x-envwatch-timestamp';

/** hex HMAC-SHA256 over `<timestamp>.<body>`: what the provider (or the relay in front of it) recomputes. */
export function signSmsRequest(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export interface HttpSmsOptions {
  /** https URL of the provider's (or our relay's) send endpoint; http only for localhost */
  url: string;
  /** HMAC key shared with the provider */
  secret: string;
  /** per attempt (default 5 s) */
  timeoutMs?: number;
  /** attempts in all, the first included (default 3) */
  maxAttempts?: number;
  /** first backoff; doubles per retry (default 200 ms) */
  backoffMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * POSTs `{"phone":"+86…","text":"…","dedupeId":"…"}` (JSON, UTF-8) with headers
 *   x-envwatch-timestamp: <unix seconds>
 *   x-envwatch-signature: hex(HMAC-SHA256(secret, "<timestamp>.<body>"))
 *   idempotency-key:      <dedupeId>
 * and expects 2xx with an optional JSON `{"messageId":"…"}`. 5xx, 408, 429, network errors and timeouts are retried
 * with exponential backoff (maxAttempts in all; the idempotency key lets the provider drop a duplicate when a timed-out
 * attempt did get through); any other 4xx is permanent. Each attempt is signed afresh with its own timestamp, so the
 * provider may reject stale timestamps (replay protection). Providers that answer HTTP 200 with an error code in the
 * body (common in China) need a small relay that maps their codes to these statuses.
 */
export class HttpSmsGateway implements SmsGateway {
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;

  constructor(private readonly options: HttpSmsOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname))) {
      throw new Error('the SMS provider URL must be https (http only for localhost)');
    }
    if (!options.secret) throw new Error('the SMS provider secret is empty');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.backoffMs = options.backoffMs ?? 200;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? (() => new Date());
  }

  async send(msg: SmsMessage): Promise<{ messageId: string }> {
    const body = JSON.stringify({ phone: toE164(msg.phone), text: msg.text, dedupeId: msg.dedupeId });
    let lastStatus: number | undefined;
    let lastReason = 'error';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs * 2 ** (attempt - 2));
      const outcome = await this.attempt(body, msg.dedupeId);
      if ('messageId' in outcome) return outcome;
      lastStatus = outcome.status;
      lastReason = outcome.reason;
    }
    throw new SmsTransientError(
      `SMS provider failed ${this.maxAttempts} times: ${lastReason}`,
      this.maxAttempts,
      lastStatus,
    );
  }

  /** One signed POST: the message id, or why a retry may help; throws when it cannot. */
  private async attempt(
    body: string,
    dedupeId: string,
  ): Promise<{ messageId: string } | { status?: number; reason: string }> {
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await this.fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signSmsRequest(this.options.secret, timestamp, body),
          'idempotency-key': dedupeId,
        },
        body,
        signal: controller.signal,
      });
      const text = await res.text();
      if (res.ok) return { messageId: messageIdOf(text) ?? dedupeId };
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        return { status: res.status, reason: `HTTP ${res.status}` };
      }
      throw new SmsPermanentError(`SMS provider rejected the message: HTTP ${res.status}`, res.status);
    } catch (err) {
      if (err instanceof SmsError) throw err;
      const reason = controller.signal.aborted ? `timeout after ${this.timeoutMs} ms` : `network: ${errName(err)}`;
      return { reason };
    } finally {
      clearTimeout(timer);
    }
  }
}

function messageIdOf(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { messageId?: unknown; id?: unknown };
    const id = parsed.messageId ?? parsed.id;
    return typeof id === 'string' && id ? id : undefined;
  } catch {
    return undefined;
  }
}

const errName = (err: unknown) =>
  err instanceof Error ? (err.cause instanceof Error ? err.cause.name : err.name) : 'error';

// ---------------------------------------------------------------------------------------------------------------
// (c) Choice by environment
// ---------------------------------------------------------------------------------------------------------------

/** Environment variables of the SMS gateway (names in shared/config/env-names.ts). Never print the secret. */
export const SMS_ENV = {
  gateway: ENV.smsGateway,
  senderId: ENV.smsSenderId,
  httpUrl: ENV.smsHttpUrl,
  httpSecret: ENV.smsHttpSecret,
  httpTimeoutMs: ENV.smsHttpTimeoutMs,
} as const;

const HttpEnv = z.object({
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().trim().min(16),
  timeoutMs: z.coerce.number().int().min(100).max(60_000).optional(),
});

/**
 * `SMS_GATEWAY=sns` (global regions, and the local platform, whose SNS stand-in records SMS) or `SMS_GATEWAY=http`
 * (AWS China: a domestic provider; needs SMS_HTTP_URL and SMS_HTTP_SECRET of at least 16 characters). Fails fast on
 * a missing or bad value, naming the variable, never its value.
 */
export function smsGatewayFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  deps: { sns?: SNSClient; fetch?: typeof fetch } = {},
): SmsGateway {
  const gateway = env[SMS_ENV.gateway]?.trim();
  if (gateway === 'sns') {
    const senderId = env[SMS_ENV.senderId]?.trim();
    return new SnsSmsGateway(deps.sns ?? new SNSClient({}), senderId ? { senderId } : {});
  }
  if (gateway !== 'http') throw new Error(`${SMS_ENV.gateway} must be 'sns' or 'http'`);
  const parsed = HttpEnv.safeParse({
    url: env[SMS_ENV.httpUrl]?.trim(),
    secret: env[SMS_ENV.httpSecret],
    timeoutMs: env[SMS_ENV.httpTimeoutMs]?.trim() || undefined,
  });
  if (!parsed.success) {
    const names: Record<string, string> = {
      url: SMS_ENV.httpUrl,
      secret: SMS_ENV.httpSecret,
      timeoutMs: SMS_ENV.httpTimeoutMs,
    };
    const bad = [...new Set(parsed.error.issues.map((i) => names[String(i.path[0])] ?? String(i.path[0])))];
    throw new Error(`Missing or invalid SMS environment variable(s): ${bad.join(', ')}`);
  }
  const { url, secret, timeoutMs } = parsed.data;
  return new HttpSmsGateway({
    url,
    secret,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
}
