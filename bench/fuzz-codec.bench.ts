import { Worker } from 'node:worker_threads';
import { BATCH, type FuzzJob, type FuzzProgress } from './fuzz-codec.worker.ts';

/**
 * Fuzzing the HJ 212 codec and frame splitter (`npm run bench -- fuzz`, or `-- fuzzCodec` alone): at least 1,000,000
 * generated inputs (test/fuzz/hj212.ts, the generators of the property tests) — random bytes, frames with a right length
 * and CRC around random content, mutated sample packets, valid-CRC packets with hostile codes, valid packets of every
 * version checked field by field, and byte streams of valid, truncated, lying and junk frames split whole and in random
 * chunks (the same frames and garbage both ways).
 *
 * Reported: crashes (an exception); hangs (an input over the per-input bound in three runs — 1 s, some 10,000× a
 * typical input, so a loaded machine does not count — or a batch the worker never finishes: the worker runs in its
 * own thread and is stopped after BENCH_FUZZ_STALL_MS without progress); property failures (a wrong result);
 * throughput; and up to 20 findings, each with the kind and the seed that regenerates it: `rng(inputSeed)` with that
 * kind's generator. BENCH_FUZZ_INPUTS, BENCH_FUZZ_SEED and BENCH_FUZZ_BOUND_MS change the run; the default seed is fixed
 * so a run is repeatable.
 */
const INPUTS = Number(process.env.BENCH_FUZZ_INPUTS ?? 1_000_000);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? 212) >>> 0;
const BOUND_MS = Number(process.env.BENCH_FUZZ_BOUND_MS ?? 1_000);
const STALL_MS = Number(process.env.BENCH_FUZZ_STALL_MS ?? 60_000);

export async function run(): Promise<Record<string, unknown>> {
  const job: FuzzJob = { seed: SEED, inputs: INPUTS, boundMs: BOUND_MS };
  const started = performance.now();
  const { last, stalled } = await new Promise<{ last: FuzzProgress | undefined; stalled: boolean }>(
    (resolve, reject) => {
      // the worker registers tsx itself (a worker does not inherit this process's module hooks), then loads its file
      const file = new URL('./fuzz-codec.worker.ts', import.meta.url).href;
      const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(file)}); })`;
      const worker = new Worker(boot, { eval: true, workerData: job });
      let last: FuzzProgress | undefined;
      let timer = setTimeout(() => stall(), STALL_MS);
      const stall = () => {
        void worker.terminate();
        resolve({ last, stalled: true });
      };
      worker.on('message', (p: FuzzProgress) => {
        last = p;
        clearTimeout(timer);
        if (p.finished) {
          void worker.terminate();
          resolve({ last, stalled: false });
        } else timer = setTimeout(() => stall(), STALL_MS);
      });
      worker.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const done = last?.done ?? 0;
  const hangs = (last?.hangs ?? 0) + (stalled ? 1 : 0);
  const crashes = last?.crashes ?? 0;
  const failures = last?.failures ?? 0;
  return {
    seed: SEED,
    inputs: done,
    byKind: last?.byKind ?? {},
    crashes,
    hangs,
    perInputBoundMs: BOUND_MS,
    ...(stalled ? { stalledBatch: { from: done, to: done + BATCH, stallMs: STALL_MS } } : {}),
    propertyFailures: failures,
    findings: last?.findings ?? [],
    slowestInput: last?.slowest ?? null,
    throughput: {
      // wall clock, generation included
      inputsPerSecond: Math.round(done / seconds),
      // the codec and splitter alone
      checkedInputsPerSecond: Math.round(done / ((last?.checkMs ?? 1) / 1000)),
      checkedMBps: Math.round(((last?.bytes ?? 0) / ((last?.checkMs ?? 1) / 1000) / 1e6) * 10) / 10,
    },
    targets: [
      { name: `≥ ${(1_000_000).toLocaleString('en')} inputs`, value: done, pass: done >= 1_000_000 },
      { name: '0 crashes', value: crashes, pass: crashes === 0 },
      { name: `0 hangs (per input ≤ ${BOUND_MS} ms)`, value: hangs, pass: hangs === 0 },
      { name: '0 property failures', value: failures, pass: failures === 0 },
    ],
  };
}
