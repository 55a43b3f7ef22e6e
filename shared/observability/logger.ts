/**
 * One structured JSON logger for every function. Keys that could identify a reporter or carry a secret are
 * redacted wherever they appear, however deep; call sites must still never pass such values on purpose.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SENSITIVE_KEY =
  /^(authorization|cookie|set-cookie|password|pw|passwordhash|token|idtoken|accesstoken|receipt|receiptcode|phone|mobile|reporter|reportername|reporterphone|identity|idnumber|idcard|sourceip|ip|clientip|x-forwarded-for|email)$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) ? '[REDACTED]' : redact(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
  /** Keys added to every following line (request id, device id, case id …). */
  append(keys: Record<string, unknown>): void;
  reset(): void;
}

function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { value: String(err) };
}

export function createLogger(
  service = process.env.ENVWATCH_SERVICE ?? 'envwatch',
  level: Level = (process.env.LOG_LEVEL?.toLowerCase() as Level | undefined) ?? 'info',
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const min = LEVELS[level] ?? LEVELS.info;
  let context: Record<string, unknown> = {};
  const emit = (lvl: Level, message: string, extra?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    const fields = extra ? { ...extra } : {};
    if ('error' in fields) fields.error = errorFields(fields.error);
    // the line's own keys come last: a field called `level` or `message` cannot hide the real ones
    write(
      JSON.stringify({
        ...(redact(context) as object),
        ...(redact(fields) as object),
        level: lvl.toUpperCase(),
        time: new Date().toISOString(),
        service,
        message,
      }),
    );
  };
  return {
    debug: (m, e) => emit('debug', m, e),
    info: (m, e) => emit('info', m, e),
    warn: (m, e) => emit('warn', m, e),
    error: (m, e) => emit('error', m, e),
    append: (keys) => {
      context = { ...context, ...keys };
    },
    reset: () => {
      context = {};
    },
  };
}

export const logger = createLogger();
