import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `cdk synth` through the real CLI, as an operator runs it before `cdk deploy`: no AWS credentials, the region resolved
 * by the CLI itself (none configured → us-east-1; AWS_REGION; a profile's region), cdk.json's feature flags, cdk-nag.
 * The four runs share one assembly directory, so only the first bundles the functions (their asset hash is known
 * before bundling: infra/constructs/bundle-hash.ts) and the others reuse the bundles.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const CDK = join(ROOT, 'node_modules', '.bin', 'cdk');
const work = mkdtempSync(join(tmpdir(), 'envwatch-cli-'));
const outdir = join(work, 'cdk.out');

/** A HOME with no credentials and one profile whose region is cn-north-1 (as `aws configure` writes it). */
const home = join(work, 'home');
mkdirSync(join(home, '.aws'), { recursive: true });
writeFileSync(join(home, '.aws', 'config'), '[profile qingyuan-cn]\nregion = cn-north-1\n');

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The process environment without anything that names a region, an account or credentials. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(AWS_|CDK_)/.test(k) || k === 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') env[k] = v;
  }
  return { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', CI: 'true', ...extra };
}

function synth(extra: Record<string, string>) {
  const run = spawnSync(CDK, ['synth', '--quiet', '--no-notices', '-o', outdir], {
    cwd: ROOT,
    env: cleanEnv(extra),
    encoding: 'utf8',
    timeout: 150_000,
  });
  const output = `${run.stdout}\n${run.stderr}`;
  const template = (stack: string) => readFileSync(join(outdir, `EnvWatch-dev-${stack}.template.json`), 'utf8');
  return { status: run.status, output, template };
}

const errorLines = (output: string) => output.split('\n').filter((l) => /\bERROR\b|Error:/.test(l));

describe('cdk synth through the CLI, without credentials', () => {
  it('passes with no region configured (the CLI pins us-east-1) and bundles every function once', () => {
    const run = synth({});
    expect(errorLines(run.output), run.output.slice(-3000)).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.output).toMatch(/Bundling asset/);
    expect(run.template('Ingest')).toContain('"us-east-1a"');
  });

  it('passes for cn-northwest-1 set by AWS_REGION with an account, rendering the aws-cn partition literally', () => {
    const run = synth({ AWS_REGION: 'cn-northwest-1', CDK_DEFAULT_ACCOUNT: '123456789012' });
    expect(errorLines(run.output), run.output.slice(-3000)).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.output).not.toMatch(/Bundling asset/);
    expect(run.template('Api')).toContain('arn:aws-cn:states:cn-northwest-1:123456789012:execution:');
    // the gateway's zones are pinned, never looked up (a lookup needs credentials)
    expect(run.template('Ingest')).toContain('"cn-northwest-1a"');
    expect(run.template('Ingest')).toContain('"cn-northwest-1b"');
  });

  it("passes for cn-north-1 taken from a profile's region", () => {
    const run = synth({ AWS_PROFILE: 'qingyuan-cn' });
    expect(errorLines(run.output), run.output.slice(-3000)).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.template('Ingest')).toContain('"cn-north-1a"');
  });

  it('passes for ap-east-1', () => {
    const run = synth({ AWS_REGION: 'ap-east-1', CDK_DEFAULT_ACCOUNT: '123456789012' });
    expect(errorLines(run.output), run.output.slice(-3000)).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.template('Ingest')).toContain('"ap-east-1a"');
  });
});
