import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type {
  ConstructorOptions,
  LogAttributes,
  LogItemExtraInput,
  LogItemMessage,
  UnformattedAttributes,
} from '@aws-lambda-powertools/logger/types';
import { envVar, logLevel, optional, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';

/**
 * One structured JSON logger for every function and the HJ 212 gateway: Powertools for AWS Lambda's Logger with
 * EnvWatch's line shape and redaction.
 *
 * A line: `{"level":"INFO","time":"…Z","service":"tips-public","message":"…", …fields}`, plus `function_request_id`,
 * `cold_start` and `xray_trace_id` inside a Lambda invocation (the middy stack injects the context).
 *
 * Redaction: keys that could identify a reporter or carry a secret (phone, receipt, reporter, identity, IP, token,
 * authorization, password …) are replaced by `[REDACTED]` wherever they appear, however deep: the Logger's JSON
 * replacer (`jsonReplacerFn`) sees every key of the line as it is serialized, appended keys and errors included.
 * Call sites must still never pass such values on purpose.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

const SENSITIVE_KEY =
  /^(authorization|cookie|set-cookie|password|pw|passwordhash|token|idtoken|accesstoken|receipt|receiptcode|phone|mobile|reporter|reportername|reporterphone|identity|idnumber|idcard|sourceip|ip|clientip|x-forwarded-for|email)$/i;

export const REDACTED = '[REDACTED]';

/** The JSON replacer every line is serialized with: a sensitive key's value, whatever it is, becomes `[REDACTED]`. */
export function redactingReplacer(key: string, value: unknown): unknown {
  return key !== '' && SENSITIVE_KEY.test(key) ? REDACTED : value;
}

/** A redacted copy of `value` by the same rule as the log lines (for callers that must hand data on). */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) return '[TRUNCATED]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

/** What the code that logs needs (a port: the alarm publisher, the gateway connections and tests take this). */
export interface Logger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
  /** Keys added to every following line (request id, device id, case id …). */
  append(keys: Record<string, unknown>): void;
  reset(): void;
}

/** The line's own keys: a field or appended key with one of these names is dropped (the line's value wins). */
const OWN_KEYS = new Set(['level', 'time', 'service', 'message', 'timestamp', 'sampling_rate']);

function withoutOwnKeys(attributes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attributes)) if (!OWN_KEYS.has(k)) out[k] = v;
  return out;
}

/** EnvWatch's line shape: level, time (UTC ISO), service, message, the invocation's ids, then the fields. */
class EnvWatchLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const lambda = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        time: attributes.timestamp.toISOString(),
        service: attributes.serviceName,
        message: attributes.message,
        ...(lambda ? { function_request_id: lambda.awsRequestId, cold_start: lambda.coldStart } : {}),
        ...(attributes.xRayTraceId ? { xray_trace_id: attributes.xRayTraceId } : {}),
        ...withoutOwnKeys(additional),
      },
    });
  }
}

/** An `error` field that is not an Error is logged as `{ value }` (an Error as name, message and stack). */
function cleanExtra(item: unknown): unknown {
  if (item === null || typeof item !== 'object' || item instanceof Error) return item;
  const fields = withoutOwnKeys(item as Record<string, unknown>);
  if ('error' in fields && !(fields.error instanceof Error)) fields.error = { value: String(fields.error) };
  return fields;
}

const stdout = (line: string) => {
  process.stdout.write(`${line}\n`);
};

export type EnvWatchLoggerOptions = ConstructorOptions & {
  /** where a finished line goes (default: stdout, which Lambda and the ECS awslogs driver ship to CloudWatch Logs) */
  write?: (line: string) => void;
};

export class EnvWatchLogger extends PowertoolsLogger implements Logger {
  // not a #private field: the base constructor may print (buffered warnings) before subclass fields exist
  private readonly write: (line: string) => void;

  constructor(options: EnvWatchLoggerOptions = {}) {
    const { write, ...rest } = options;
    super({
      ...rest,
      logFormatter: new EnvWatchLogFormatter(),
      jsonReplacerFn: redactingReplacer,
    } as ConstructorOptions);
    this.write = write ?? stdout;
    // callable unbound too (`(ok ? logger.info : logger.warn)(…)`), like a plain function logger
    this.debug = this.debug.bind(this);
    this.info = this.info.bind(this);
    this.warn = this.warn.bind(this);
    this.error = this.error.bind(this);
  }

  append(keys: Record<string, unknown>): void {
    this.appendKeys(withoutOwnKeys(keys));
  }

  reset(): void {
    this.resetKeys();
  }

  protected override createLogger(options?: ConstructorOptions): EnvWatchLogger {
    return new EnvWatchLogger({ ...options, write: this.write });
  }

  protected override processLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): void {
    super.processLogItem(logLevel, input, extraInput.map(cleanExtra) as LogItemExtraInput);
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    (this.write ?? stdout)(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

export function createLogger(service: string, level: Level = 'info', write?: (line: string) => void): EnvWatchLogger {
  return new EnvWatchLogger({
    serviceName: service,
    logLevel: level.toUpperCase() as Uppercase<Level>,
    ...(write ? { write } : {}),
  });
}

/** The process's logger: service (POWERTOOLS_SERVICE_NAME, else ENVWATCH_SERVICE) and LOG_LEVEL, read once at load. */
const config = readConfig({
  service: envVar(ENV.powertoolsServiceName, optional),
  envwatchService: envVar(ENV.serviceName, optional),
  level: envVar(ENV.logLevel, logLevel),
});

export const logger = createLogger(config.service ?? config.envwatchService ?? 'envwatch', config.level);
