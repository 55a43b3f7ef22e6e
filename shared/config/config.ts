import * as z from 'zod';
import type { EnvName } from './env-names.ts';

/**
 * A function's configuration from its environment, read once at module load and validated with zod; a missing or
 * invalid variable fails the load with a message naming it (and never echoing its value: some are secrets).
 *
 *   readConfig({ registryTable: ENV.registryTable })                         → { registryTable: string }
 *   readConfig({ cacheSeconds: envVar(ENV.registryCacheSeconds, seconds(60)) }) → { cacheSeconds: number }
 *
 * A plain name is a required, non-blank string. `envVar(name, schema)` reads the variable with its own schema: a number
 * with a default, an optional value, a choice. A blank value counts as unset everywhere.
 */
export interface EnvVar<S extends z.ZodType = z.ZodType> {
  readonly name: EnvName;
  readonly schema: S;
}

export const envVar = <S extends z.ZodType>(name: EnvName, schema: S): EnvVar<S> => ({ name, schema });

type Spec = EnvName | EnvVar;

export type Config<T extends Record<string, Spec>> = {
  readonly [K in keyof T]: T[K] extends EnvVar<infer S> ? z.output<S> : string;
};

/** The load-time failure: `problems` names each variable, in the order asked for (missing, or what was expected). */
export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: EnvName; problem: string }[]) {
    super(
      `Missing or invalid environment variable(s): ${problems.map((p) => `${p.variable} (${p.problem})`).join(', ')}`,
    );
    this.name = 'ConfigError';
  }
}

const required = z.string().trim().min(1);

/** An optional string: unset (or blank) → undefined. */
export const optional = z.string().trim().min(1).optional();

/** A number of seconds ≥ 0 (fractions allowed), `fallback` when unset. */
export const seconds = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a number of seconds ≥ 0' })
    .min(0, 'expected a number of seconds ≥ 0')
    .default(fallback);

/** A whole number of days ≥ 1, `fallback` when unset. */
export const days = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a whole number of days ≥ 1' })
    .int('expected a whole number of days ≥ 1')
    .min(1, 'expected a whole number of days ≥ 1')
    .default(fallback);

/** The log level, case-insensitive; `info` when unset. */
export const logLevel = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected one of debug, info, warn, error' }))
  .default('info');

const blank = (v: string | undefined) => v === undefined || v.trim() === '';

export function readConfig<const T extends Record<string, Spec>>(
  specs: T,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<Config<T>> {
  const out: Record<string, unknown> = {};
  const problems: { variable: EnvName; problem: string }[] = [];
  for (const [key, spec] of Object.entries(specs)) {
    const { name, schema } = typeof spec === 'string' ? { name: spec, schema: required } : spec;
    const raw = env[name];
    const parsed = schema.safeParse(blank(raw) ? undefined : raw);
    if (parsed.success) out[key] = parsed.data;
    else
      problems.push({
        variable: name,
        problem: blank(raw) ? 'missing' : (parsed.error.issues[0]?.message ?? 'invalid'),
      });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Readonly<Config<T>>;
}
