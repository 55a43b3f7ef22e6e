import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { ConfigError, days, envVar, logLevel, optional, readConfig, seconds } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';

const specs = {
  readingsTable: ENV.readingsTable,
  registryTable: ENV.registryTable,
  cacheSeconds: envVar(ENV.registryCacheSeconds, seconds(60)),
  minuteDays: envVar(ENV.minuteRetentionDays, days(180)),
  level: envVar(ENV.logLevel, logLevel),
  transfer: envVar(ENV.transferStateMachine, optional),
};

const failure = (env: Record<string, string | undefined>): ConfigError => {
  try {
    readConfig(specs, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('readConfig accepted the environment');
};

describe('readConfig', () => {
  it('reads required names as strings and applies defaults to unset optional ones', () => {
    const config = readConfig(specs, { READINGS_TABLE: 'readings', REGISTRY_TABLE: ' registry ' });

    expect(config).toEqual({
      readingsTable: 'readings',
      registryTable: 'registry',
      cacheSeconds: 60,
      minuteDays: 180,
      level: 'info',
      transfer: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses numbers, a level in any case and an optional value when they are set', () => {
    const config = readConfig(specs, {
      READINGS_TABLE: 'r',
      REGISTRY_TABLE: 'g',
      REGISTRY_CACHE_SECONDS: '0.5',
      READINGS_MINUTE_RETENTION_DAYS: '30',
      LOG_LEVEL: 'DEBUG',
      TRANSFER_STATE_MACHINE_ARN: 'arn:aws:states:cn-north-1:123456789012:stateMachine:transfer',
    });

    expect(config).toMatchObject({ cacheSeconds: 0.5, minuteDays: 30, level: 'debug' });
    expect(config.transfer).toContain(':stateMachine:transfer');
  });

  it('fails naming a missing variable', () => {
    const err = failure({ READINGS_TABLE: 'readings' });

    expect(err.message).toBe('Missing or invalid environment variable(s): REGISTRY_TABLE (missing)');
    expect(err.problems).toEqual([{ variable: 'REGISTRY_TABLE', problem: 'missing' }]);
  });

  it('counts a blank value as missing', () => {
    expect(failure({ READINGS_TABLE: '  ', REGISTRY_TABLE: 'g' }).problems).toEqual([
      { variable: 'READINGS_TABLE', problem: 'missing' },
    ]);
  });

  it('names every bad variable in the order asked for, with what was expected, never the value', () => {
    const err = failure({
      REGISTRY_TABLE: 'g',
      REGISTRY_CACHE_SECONDS: 'sixty',
      READINGS_MINUTE_RETENTION_DAYS: '1.5',
      LOG_LEVEL: 'verbose',
    });

    expect(err.problems.map((p) => p.variable)).toEqual([
      'READINGS_TABLE',
      'REGISTRY_CACHE_SECONDS',
      'READINGS_MINUTE_RETENTION_DAYS',
      'LOG_LEVEL',
    ]);
    expect(err.message).toContain('REGISTRY_CACHE_SECONDS (expected a number of seconds ≥ 0)');
    expect(err.message).toContain('READINGS_MINUTE_RETENTION_DAYS (expected a whole number of days ≥ 1)');
    expect(err.message).toContain('LOG_LEVEL (expected one of debug, info, warn, error)');
    expect(err.message).not.toContain('sixty');
    expect(err.message).not.toContain('verbose');
  });

  it('refuses a negative number of seconds and zero days', () => {
    const err = failure({
      READINGS_TABLE: 'r',
      REGISTRY_TABLE: 'g',
      REGISTRY_CACHE_SECONDS: '-1',
      READINGS_MINUTE_RETENTION_DAYS: '0',
    });

    expect(err.problems.map((p) => p.variable)).toEqual(['REGISTRY_CACHE_SECONDS', 'READINGS_MINUTE_RETENTION_DAYS']);
  });

  it('reads a variable with its own schema and reports that schema’s message', () => {
    const port = { port: envVar(ENV.gatewayPort, z.coerce.number().int().max(65_535, 'expected a port')) };

    expect(readConfig(port, { GATEWAY_PORT: '9212' }).port).toBe(9212);
    expect(() => readConfig(port, { GATEWAY_PORT: '70000' })).toThrow(
      'Missing or invalid environment variable(s): GATEWAY_PORT (expected a port)',
    );
  });
});

describe('a function’s configuration', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('fails the function’s load naming the variable it lacks', async () => {
    vi.resetModules();
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('READINGS_TABLE', '');
    vi.stubEnv('REGISTRY_TABLE', 'registry-test');
    vi.stubEnv('EVIDENCE_BUCKET', 'evidence-test');

    await expect(import('#functions/devices-api/handler.ts')).rejects.toThrow(
      'Missing or invalid environment variable(s): READINGS_TABLE (missing)',
    );
  });
});
