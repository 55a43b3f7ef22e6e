import * as z from 'zod';
import type { EnvName } from './env-names.ts';

const value = z.string().trim().min(1);

/**
 * Reads the named environment variables once, at module load, and fails fast when one is missing.
 * `readConfig({ registryTable: ENV.registryTable })` → `{ registryTable: string }`.
 */
export function readConfig<K extends string>(
  names: Record<K, EnvName>,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(names) as [K, EnvName][]) {
    const parsed = value.safeParse(env[name]);
    if (parsed.success) out[key] = parsed.data;
    else missing.push(name);
  }
  if (missing.length > 0) throw new Error(`Missing environment variable(s): ${missing.join(', ')}`);
  return Object.freeze(out as Record<K, string>);
}
