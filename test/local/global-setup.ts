import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { synthEnvWatch } from '#infra/local/synth.ts';

/**
 * Synthesizes the real EnvWatch app once for the whole local suite (as `npm start` does, bundles included); every test
 * file that boots the platform from it reads the same assembly (`inject('envwatchCdkOut')`) with its own data folder.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    envwatchCdkOut: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'envwatch-assembly-'));
  const cdkOut = join(dir, 'cdk.out');
  // The dev stage throttles the whole API at 20 requests a second (burst 40), as API Gateway does per stage; the suite
  // drives hundreds of requests back to back on a fast machine, so it lifts the limit here. Throttling itself is
  // tested against its own spec in test/local/services/http-gateway.test.ts.
  synthEnvWatch(cdkOut, { publicRateLimit: 1000, publicBurstLimit: 2000 });
  project.provide('envwatchCdkOut', cdkOut);
  return () => rmSync(dir, { recursive: true, force: true });
}
