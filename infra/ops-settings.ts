import * as z from 'zod';

/**
 * Thresholds and periods of the Ops stack's CloudWatch alarms (infra/constructs/ops-monitoring.ts), with their
 * defaults. Each alarm fires when its metric (statistic over `periodMinutes`) reaches `threshold` in
 * `evaluationPeriods` consecutive periods; docs/operations.md「告警一览」 says what each one means and what to do.
 *
 * Override any of them from context, partially: `-c opsAlarms='{"lambdaErrors":{"threshold":5},"api5xx":{"periodMinutes":15}}'`
 * (or an `opsAlarms` object in cdk.json). Synth refuses unknown names and values out of range.
 */
export interface AlarmSetting {
  threshold: number;
  periodMinutes: number;
  evaluationPeriods: number;
}

export const OPS_ALARM_DEFAULTS = {
  /** unhandled errors of one function (Errors, Sum) */
  lambdaErrors: { threshold: 3, periodMinutes: 5, evaluationPeriods: 1 },
  /** throttled invocations of one function (Throttles, Sum) */
  lambdaThrottles: { threshold: 1, periodMinutes: 5, evaluationPeriods: 1 },
  /** messages waiting in a dead-letter queue (Maximum) for 15 minutes: the redrive has not emptied it */
  deadLetterDepth: { threshold: 1, periodMinutes: 5, evaluationPeriods: 3 },
  /** age of a dead-letter queue's oldest message, seconds (Maximum): the redrive keeps backing off */
  deadLetterAgeSeconds: { threshold: 3600, periodMinutes: 5, evaluationPeriods: 1 },
  /** any message on the parked queue (Maximum): a person must look */
  parkedDepth: { threshold: 1, periodMinutes: 5, evaluationPeriods: 1 },
  /** age of the oldest parked message, seconds (Maximum): 10 days, before SQS drops it at 14 */
  parkedAgeSeconds: { threshold: 864_000, periodMinutes: 60, evaluationPeriods: 1 },
  /** failed Lambda actions of one IoT rule (AWS/IoT Failure, Sum) */
  iotRuleFailures: { threshold: 1, periodMinutes: 5, evaluationPeriods: 1 },
  /** gateway tasks running below the desired count (desired − running, ECS Container Insights) */
  gatewayTasksMissing: { threshold: 1, periodMinutes: 1, evaluationPeriods: 5 },
  /** gateway targets healthy below the desired count (desired − HealthyHostCount Minimum, the NLB) */
  gatewayUnhealthyHosts: { threshold: 1, periodMinutes: 1, evaluationPeriods: 5 },
  /** open device connections on one gateway task (EnvWatch/Gateway connections, Maximum): 80 % of maxConnections */
  gatewayConnectionsHigh: { threshold: 8000, periodMinutes: 5, evaluationPeriods: 1 },
  /** device connections below this on the NLB (ActiveFlowCount, Average); 0 = no such alarm (set once devices are live) */
  gatewayConnectionsLow: { threshold: 0, periodMinutes: 15, evaluationPeriods: 1 },
  /** 5xx answers of one API stage (AWS/ApiGateway 5xx, Sum) */
  api5xx: { threshold: 5, periodMinutes: 5, evaluationPeriods: 1 },
  /** failed executions of one state machine (ExecutionsFailed, Sum) */
  stateMachineFailures: { threshold: 1, periodMinutes: 5, evaluationPeriods: 1 },
  /** timed-out executions of one state machine (ExecutionsTimedOut, Sum) */
  stateMachineTimeouts: { threshold: 1, periodMinutes: 5, evaluationPeriods: 1 },
  /** alarm SMS that could not be sent (EnvWatch/Alarms SmsFailures, Sum; a metric filter on the alarm functions' logs) */
  smsFailures: { threshold: 1, periodMinutes: 5, evaluationPeriods: 1 },
} as const satisfies Record<string, AlarmSetting>;

export type OpsAlarmName = keyof typeof OPS_ALARM_DEFAULTS;
export type OpsAlarmSettings = Record<OpsAlarmName, AlarmSetting>;

const Override = z
  .object({
    threshold: z.number().min(0),
    /** whole minutes (CloudWatch periods of a minute or more are multiples of 60 s) */
    periodMinutes: z.number().int().positive().max(1440),
    evaluationPeriods: z.number().int().positive().max(100),
  })
  .partial()
  .strict();

const Overrides = z.partialRecord(
  z.enum(Object.keys(OPS_ALARM_DEFAULTS) as [OpsAlarmName, ...OpsAlarmName[]]),
  Override,
);

/** The settings from context `opsAlarms` (a JSON string or an object) over the defaults. */
export function readOpsAlarmSettings(raw: unknown): OpsAlarmSettings {
  let value: unknown = raw ?? {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new Error('context "opsAlarms" must be JSON, e.g. {"lambdaErrors":{"threshold":5}}');
    }
  }
  const checked = Overrides.safeParse(value);
  if (!checked.success) {
    throw new Error(
      `invalid context "opsAlarms": ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const out = {} as OpsAlarmSettings;
  for (const name of Object.keys(OPS_ALARM_DEFAULTS) as OpsAlarmName[]) {
    out[name] = { ...OPS_ALARM_DEFAULTS[name], ...checked.data[name] };
  }
  return out;
}
