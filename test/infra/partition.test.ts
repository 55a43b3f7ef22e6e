import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROD_CONTEXT, type SynthesizedApp, synthForTest } from './helpers.ts';

/**
 * The same app deploys to `aws` and `aws-cn`: no template may hard-code a partition in an ARN; ARNs are built with
 * `${AWS::Partition}` / `Ref: AWS::Partition`.
 */
const ARN_WITH_PARTITION = /arn:aws(-cn|-us-gov|-iso[a-z-]*)?:/g;

const synthesized: SynthesizedApp[] = [];
let cases: { name: string; s: SynthesizedApp }[] = [];

beforeAll(() => {
  const dev = synthForTest({ stage: 'dev' });
  const prod = synthForTest(PROD_CONTEXT);
  // an environment-bound app in a China region: nothing may fall back to the global partition either
  vi.stubEnv('CDK_DEFAULT_REGION', 'cn-northwest-1');
  vi.stubEnv('CDK_DEFAULT_ACCOUNT', '123456789012');
  const china = synthForTest(PROD_CONTEXT);
  vi.unstubAllEnvs();
  synthesized.push(dev, prod, china);
  cases = [
    { name: 'dev', s: dev },
    { name: 'prod', s: prod },
    { name: 'prod in cn-northwest-1', s: china },
  ];
});

afterAll(() => {
  for (const s of synthesized) s.cleanup();
});

describe('partition awareness', () => {
  it('has no hard-coded arn:aws… string in any synthesized template', () => {
    for (const { name, s } of cases) {
      for (const t of [s.dataTemplate, s.apiTemplate]) {
        const hits = JSON.stringify(t.toJSON()).match(ARN_WITH_PARTITION) ?? [];
        expect(hits, name).toEqual([]);
      }
    }
  });

  it('builds ARNs with the AWS::Partition pseudo parameter', () => {
    for (const { name, s } of cases) {
      expect(JSON.stringify(s.apiTemplate.toJSON()), name).toMatch(
        /"arn:",\{"Ref":"AWS::Partition"\}|\$\{AWS::Partition\}/,
      );
    }
  });
});
