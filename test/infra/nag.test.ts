import { Bucket } from 'aws-cdk-lib/aws-s3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BuiltApp,
  buildForTest,
  type Finding,
  formatFindings,
  isError,
  PROD_CONTEXT,
  synthFindings,
} from './helpers.ts';

/**
 * cdk-nag (AwsSolutions pack, registered by buildEnvWatch through CDK's policy validation) over every stack of the real
 * app. Findings that the code acknowledges (`Validations.of(…).acknowledge`) are not in the report; anything left that
 * is an error fails synth, and this test prints it.
 */
const built: BuiltApp[] = [];
const synth = (context: Record<string, unknown>, mutate?: (b: BuiltApp) => void): Finding[] => {
  const b = buildForTest(context);
  built.push(b);
  mutate?.(b);
  return synthFindings(b);
};

afterAll(() => {
  for (const b of built) b.cleanup();
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['dev', { stage: 'dev' }],
    ['prod', PROD_CONTEXT],
  ])('reports no unacknowledged error for any %s stack', (_stage, context) => {
    const errors = synth(context).filter(isError);
    expect(errors, `unacknowledged findings:\n${formatFindings(errors)}`).toEqual([]);
  });

  it('reports an error for a deliberately bad bucket with the same setup, so the check cannot pass vacuously', () => {
    const findings = synth({ stage: 'dev' }, (b) => {
      new Bucket(b.data, 'DeliberatelyBad');
    });
    const errors = findings.filter(isError);
    const rules = new Set(
      errors.filter((f) => f.paths.some((p) => p.includes('/DeliberatelyBad/'))).map((f) => f.rule),
    );
    expect(rules, formatFindings(errors)).toContain('AwsSolutions-S1');
    expect(rules, formatFindings(errors)).toContain('AwsSolutions-S10');
    // and only the bad bucket is reported: the rest of the app stays clean
    expect(errors.flatMap((f) => f.paths).filter((p) => !p.includes('/DeliberatelyBad/'))).toEqual([]);
  });
});
