import * as z from 'zod';
import { ENV } from '#shared/config/env-names.ts';
import type { GatewayLimits } from './limits.ts';

/**
 * The gateway's configuration from its environment (the ECS task definition sets it; the local platform reads the
 * same variables from the synthesized template). Invalid or missing values fail at start, with every problem named.
 */
export const DEFAULT_GATEWAY_PORT = 9212;

const Schema = z.object({
  [ENV.gatewayIngestTopic]: z
    .string()
    .regex(/^\$aws\/rules\/[A-Za-z0-9_]+\/[^#+]*[^/#+]$/, 'a Basic Ingest prefix: $aws/rules/<ruleName>/<topic>'),
  [ENV.registryTable]: z.string().min(1),
  [ENV.gatewayPort]: z.coerce.number().int().min(1).max(65_535).default(DEFAULT_GATEWAY_PORT),
  [ENV.gatewayIdleTimeoutSeconds]: z.coerce.number().int().min(10).max(86_400).optional(),
  [ENV.gatewayMaxConnections]: z.coerce.number().int().min(1).max(100_000).optional(),
  [ENV.logLevel]: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['debug', 'info', 'warn', 'error']))
    .default('info'),
});

export interface GatewayConfig {
  topicPrefix: string;
  registryTable: string;
  port: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  limits: Partial<GatewayLimits>;
}

export function gatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const parsed = Schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `invalid gateway environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const c = parsed.data;
  const idle = c[ENV.gatewayIdleTimeoutSeconds];
  const max = c[ENV.gatewayMaxConnections];
  return {
    topicPrefix: c[ENV.gatewayIngestTopic],
    registryTable: c[ENV.registryTable],
    port: c[ENV.gatewayPort],
    logLevel: c[ENV.logLevel],
    limits: {
      ...(idle !== undefined ? { idleTimeoutMs: idle * 1000 } : {}),
      ...(max !== undefined ? { maxConnections: max } : {}),
    },
  };
}
