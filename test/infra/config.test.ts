import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { readAppConfig } from '#infra/config.ts';
import { buildEnvWatch } from '#infra/envwatch-app.ts';
import { PROD_CONTEXT } from './helpers.ts';

const fromContext = (context: Record<string, unknown>) => readAppConfig((key) => context[key]);
const outdir = mkdtempSync(join(tmpdir(), 'envwatch-config-'));
const build = (context: Record<string, unknown>) => () =>
  buildEnvWatch(new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } }));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('app config', () => {
  it('fails synth for prod without a real JWT issuer, saying which setting to pass', () => {
    expect(build({ stage: 'prod' })).toThrow(/jwtIssuer: prod needs a real OIDC issuer: -c jwtIssuer=https:/);
  });

  it('fails synth for a stage that is not dev or prod', () => {
    expect(build({ stage: 'staging' })).toThrow('context "stage" must be dev or prod, got "staging"');
  });

  it('rejects an issuer that is not an http(s) URL', () => {
    expect(() => fromContext({ stage: 'dev', jwtIssuer: 'not a url' })).toThrow(/invalid CDK context: jwtIssuer/);
    expect(() => fromContext({ stage: 'dev', jwtIssuer: 'ftp://issuer.example.cn/' })).toThrow(/jwtIssuer/);
  });

  it('rejects a throttle that is not a positive integer', () => {
    expect(() => fromContext({ stage: 'dev', publicRateLimit: '0' })).toThrow(/publicRateLimit/);
    expect(() => fromContext({ stage: 'dev', publicBurstLimit: 'lots' })).toThrow(/publicBurstLimit/);
  });

  it('defaults to dev when no stage is given', () => {
    expect(fromContext({}).stage).toBe('dev');
  });

  it('accepts prod with a real issuer and reads -c values given as strings', () => {
    const config = fromContext({ ...PROD_CONTEXT, publicRateLimit: '12', logRetentionDays: '90' });
    expect(config).toMatchObject({
      stage: 'prod',
      jwtIssuer: PROD_CONTEXT.jwtIssuer,
      jwtAudience: PROD_CONTEXT.jwtAudience,
      publicRateLimit: 12,
      logRetentionDays: 90,
    });
  });
});
