import { App } from 'aws-cdk-lib';
import { buildEnvWatch } from '#infra/envwatch-app.ts';

/**
 * Synthesizes the EnvWatch app into `outdir` in this process (same code as `cdk synth`: stacks, cdk-nag, bundling),
 * returning the time it took. The local platform then derives everything from that assembly.
 */
export function synthEnvWatch(outdir: string, context: Record<string, unknown> = {}): { ms: number } {
  const started = performance.now();
  const app = new App({ outdir, context: { stage: 'dev', 'aws:cdk:enable-asset-metadata': true, ...context } });
  buildEnvWatch(app);
  app.synth();
  return { ms: Math.round(performance.now() - started) };
}
