import { execFileSync } from 'node:child_process';
import { ROOT, ratio, seconds, tempDir } from './lib.ts';

/**
 * Synth time of the real app, in this process through infra/local/synth.ts (stacks, cdk-nag, esbuild bundling), the
 * same call `npm start` makes. Cold = first synth in a fresh process (module loading timed separately); second = the
 * same synth again into another dir: warm modules and JIT, bundling runs again (CDK's in-process asset cache is keyed
 * by outdir); sameDir = a third synth into the first dir, where that cache hits and esbuild does not run.
 * Then, in fresh child processes, a cold synth with and without CDK's built-in CloudFormation template validation
 * (`CDK_VALIDATION=false`; cdk-nag still runs), to show what that validation costs a cold start.
 */
function coldInChild(env: Record<string, string>): number {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/synth-once.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const parsed: unknown = JSON.parse(out.trim().split('\n').pop() ?? '{}');
  const ms = typeof parsed === 'object' && parsed !== null && 'ms' in parsed ? parsed.ms : undefined;
  if (typeof ms !== 'number') throw new Error(`synth-once printed ${out}`);
  return ms;
}

export async function run(): Promise<Record<string, unknown>> {
  const a = tempDir('synth-a');
  const b = tempDir('synth-b');
  try {
    const t0 = performance.now();
    const { synthEnvWatch } = await import('#infra/local/synth.ts');
    const importMs = performance.now() - t0;
    const cold = synthEnvWatch(a.dir).ms;
    const second = synthEnvWatch(b.dir).ms;
    const sameDir = synthEnvWatch(a.dir).ms;
    const childCold = coldInChild({});
    const childColdNoCfnValidation = coldInChild({ CDK_VALIDATION: 'false' });
    return {
      what: 'in-process synth of the real app (dev stage) via infra/local/synth.ts, bundling included',
      moduleImportSeconds: seconds(importMs),
      coldSynthSeconds: seconds(cold),
      secondSynthSeconds: seconds(second),
      sameDirSynthSeconds: seconds(sameDir),
      childProcess: {
        coldSynthSeconds: seconds(childCold),
        coldSynthWithoutCfnValidationSeconds: seconds(childColdNoCfnValidation),
      },
      ratios: {
        secondOverCold: ratio(second, cold),
        sameDirOverSecond: ratio(sameDir, second),
        withoutCfnValidationOverWith: ratio(childColdNoCfnValidation, childCold),
      },
    };
  } finally {
    a.remove();
    b.remove();
  }
}
