import * as z from 'zod';
import { envVar, logLevel, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import type { GatewayLimits } from './limits.ts';

/**
 * The gateway's configuration from its environment (the ECS task definition sets it; the local platform reads the
 * same variables from the synthesized template), read with shared/config/config.ts: invalid or missing values fail at
 * start, with every problem named.
 */
export const DEFAULT_GATEWAY_PORT = 9212;

export interface GatewayConfig {
  topicPrefix: string;
  registryTable: string;
  /**
   * HJ 212-2025 device keys: the KMS key that seals them, the audit table of their changes and the table of device
   * commands (a key push is one): all three or none
   */
  deviceKeys?: { keyId: string; auditTable: string; commandsTable: string };
  /** the audit table: with it, new loggers' CN 1001 reports are recorded as pending loggers (registry/loggers.ts) */
  auditTable?: string;
  port: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  limits: Partial<GatewayLimits>;
}

export function gatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const c = readConfig(
    {
      topicPrefix: envVar(
        ENV.gatewayIngestTopic,
        z
          .string()
          .regex(
            /^\$aws\/rules\/[A-Za-z0-9_]+\/[^#+]*[^/#+]$/,
            'expected a Basic Ingest prefix: $aws/rules/<ruleName>/<topic>',
          ),
      ),
      registryTable: ENV.registryTable,
      deviceKeysKey: envVar(ENV.deviceKeysKey, z.string().min(1).optional()),
      auditTable: envVar(ENV.auditTable, z.string().min(1).optional()),
      commandsTable: envVar(ENV.readingsTable, z.string().min(1).optional()),
      port: envVar(
        ENV.gatewayPort,
        z.coerce.number().int().min(1).max(65_535, 'expected a port 1–65535').default(DEFAULT_GATEWAY_PORT),
      ),
      idleSeconds: envVar(ENV.gatewayIdleTimeoutSeconds, z.coerce.number().int().min(10).max(86_400).optional()),
      maxConnections: envVar(ENV.gatewayMaxConnections, z.coerce.number().int().min(1).max(100_000).optional()),
      logLevel: envVar(ENV.logLevel, logLevel),
    },
    env,
  );
  return {
    topicPrefix: c.topicPrefix,
    registryTable: c.registryTable,
    ...(c.deviceKeysKey && c.auditTable && c.commandsTable
      ? { deviceKeys: { keyId: c.deviceKeysKey, auditTable: c.auditTable, commandsTable: c.commandsTable } }
      : {}),
    ...(c.auditTable ? { auditTable: c.auditTable } : {}),
    port: c.port,
    logLevel: c.logLevel,
    limits: {
      ...(c.idleSeconds !== undefined ? { idleTimeoutMs: c.idleSeconds * 1000 } : {}),
      ...(c.maxConnections !== undefined ? { maxConnections: c.maxConnections } : {}),
    },
  };
}
