import * as z from 'zod';

/**
 * The device topics the ingest rules listen on (infra/constructs/iot-ingest.ts builds its rule SQL from these), in MQTT
 * filter syntax (`+` = one level).
 */
export const RULE_TOPICS = {
  gateway: 'envwatch/gateway/+',
  hj212: 'envwatch/devices/+/hj212',
  json: 'envwatch/devices/+/telemetry',
} as const;

/**
 * Where Lambda failure records go back to, one topic per dead-letter queue. Both replay rules feed the ingest function,
 * which ingests and evaluates every message (replaying either part is harmless); the alarms queue's topic stays for
 * what its queue holds.
 */
export const INGEST_REPLAY_TOPIC = 'envwatch/replay/ingest';
export const ALARM_REPLAY_TOPIC = 'envwatch/replay/alarms';

/**
 * Every topic a dead letter may be replayed to: the three device topics, the gateway's Basic Ingest topics
 * (`<gatewayIngestTopic>/+`, `$aws/rules/<gateway rule>/envwatch/gateway/+`) and the two replay topics. The redrive
 * parks anything else instead of publishing it (its IAM grant is this same list).
 */
export function replayTopicFilters(gatewayIngestTopic: string): string[] {
  return [
    ...Object.values(RULE_TOPICS),
    `${gatewayIngestTopic.replace(/\/+$/, '')}/+`,
    INGEST_REPLAY_TOPIC,
    ALARM_REPLAY_TOPIC,
  ];
}

/**
 * What a dead letter of the device pipeline holds, and where it goes back to. Two shapes reach the dead-letter queues:
 *  - an IoT rule error action: `{ ruleName, topic, base64OriginalPayload, failures: [...] }` — the device's original
 *    message; replayed by publishing it again to its original topic (ingestion and evaluation are both idempotent:
 *    the archive recognises the replay, readings are first-write-wins, the evaluator skips what it has seen);
 *  - a Lambda asynchronous-invocation failure record: `{ requestContext, requestPayload, responseContext }` — the
 *    envelope the rule built; replayed to the replay topic of the queue it came from (`replayTopic`: the ingest
 *    dead-letter queue's records to INGEST_REPLAY_TOPIC, the alarms queue's to ALARM_REPLAY_TOPIC; both rules invoke the
 *    ingest function, which ingests and evaluates).
 */
const ErrorActionRecord = z.object({
  ruleName: z.string().optional(),
  topic: z.string().min(1),
  base64OriginalPayload: z.string(),
  failures: z.array(z.object({ failedAction: z.string().optional(), errorMessage: z.string().optional() })).optional(),
});
const LambdaFailureRecord = z.object({
  requestContext: z.object({ functionArn: z.string().optional(), condition: z.string().optional() }).optional(),
  requestPayload: z.unknown(),
  responseContext: z.unknown().optional(),
});

export type Replay =
  | { ok: true; topic: string; payload: Buffer; from: 'rule-error-action' | 'lambda-failure'; why?: string }
  | { ok: false; reason: string };

export function replayOf(body: string, replayTopic: string): Replay {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const rule = ErrorActionRecord.safeParse(json);
  if (rule.success) {
    const why = rule.data.failures?.map((f) => f.errorMessage ?? f.failedAction ?? '').join('; ');
    return {
      ok: true,
      topic: rule.data.topic,
      payload: Buffer.from(rule.data.base64OriginalPayload, 'base64'),
      from: 'rule-error-action',
      ...(why ? { why } : {}),
    };
  }
  const fn = LambdaFailureRecord.safeParse(json);
  if (fn.success && fn.data.requestPayload !== undefined && fn.data.requestPayload !== null) {
    return {
      ok: true,
      topic: replayTopic,
      payload: Buffer.from(JSON.stringify(fn.data.requestPayload)),
      from: 'lambda-failure',
      ...(fn.data.requestContext?.condition ? { why: fn.data.requestContext.condition } : {}),
    };
  }
  return { ok: false, reason: 'neither an IoT rule error record nor a Lambda failure record' };
}
