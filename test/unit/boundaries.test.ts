import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/**
 * The import boundaries (.dependency-cruiser.cjs, run on the code by `npm run lint:deps`) on a fixture tree that
 * breaks each rule exactly once and keeps to the allowed imports everywhere else: every rule fires, once, where it
 * should, and nothing allowed is flagged.
 */
const require = createRequire(import.meta.url);
const config = require('../../.dependency-cruiser.cjs') as {
  forbidden: { name: string }[];
  options: Record<string, unknown>;
};
const FIXTURE = fileURLToPath(new URL('../fixtures/boundaries/', import.meta.url));

async function violations(): Promise<string[]> {
  const cwd = process.cwd();
  process.chdir(FIXTURE);
  try {
    const { tsConfig: _repoTsConfig, ...options } = config.options;
    const out = await cruise(['shared', 'functions', 'infra'], {
      ...options,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
    } as never);
    const result = out.output as ICruiseResult;
    return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to.replace(/^.*node_modules\//, '')}`);
  } finally {
    process.chdir(cwd);
  }
}

describe('import boundaries', () => {
  it('flags each forbidden import of the fixture once, and nothing else', async () => {
    const found = await violations();
    expect(found.sort()).toEqual([
      'domain-contract-types-only: shared/domain/runs-contract.ts → shared/contracts/routes.ts',
      'domain-not-adapters: shared/domain/uses-adapter.ts → shared/adapters/ok.ts',
      'domain-not-aws: shared/domain/uses-aws.ts → @aws-sdk/client-s3/dist-cjs/index.js',
      'domain-not-edge: shared/domain/uses-edge.ts → shared/http/edge.ts',
      'domain-not-infra: shared/domain/uses-infra.ts → infra/stack.ts',
      'function-not-other-function: functions/a/handler.ts → functions/b/handler.ts',
      'infra-not-functions: infra/stack.ts → functions/a/handler.ts',
      'not-unresolvable: functions/b/handler.ts → ./missing.ts',
      'shared-not-functions: shared/adapters/uses-function.ts → functions/b/handler.ts',
    ]);
    // every rule of the configuration is proven by the fixture
    expect(new Set(found.map((f) => f.split(':')[0]))).toEqual(new Set(config.forbidden.map((r) => r.name)));
  });
});
