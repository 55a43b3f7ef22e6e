import { synthEnvWatch } from '#infra/local/synth.ts';
import { tempDir } from './lib.ts';

/** Child process for synth.bench.ts: one cold synth into a temp dir, prints `{"ms": …}`. */
const out = tempDir('synth-once');
try {
  process.stdout.write(`${JSON.stringify(synthEnvWatch(out.dir))}\n`);
} finally {
  out.remove();
}
