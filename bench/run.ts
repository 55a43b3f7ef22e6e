import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.ts';

/**
 * `npm run bench`: runs every bench file in order (never part of `npm test`), prints one JSON document to stdout and
 * writes it to bench/results/latest.json (git-ignored). Each bench file exports `run(): Promise<Record<string, unknown>>`;
 * add new ones to BENCHES. Synth runs first so that its "cold" number is a fresh process's first synth.
 * `npm run bench -- <name>` runs one bench, `npm run bench -- <group>` every bench of a group (`fuzz`: each part of the
 * fuzz run, e.g. fuzzCodec). `load` (the platform under 2,000 devices for ten minutes) runs only when named.
 */
const BENCHES: {
  name: string;
  group?: string;
  /** runs only when named (long runs: `npm run bench -- load`) */
  explicit?: boolean;
  load: () => Promise<{ run: () => Promise<Record<string, unknown>> }>;
}[] = [
  { name: 'synth', load: () => import('./synth.bench.ts') },
  { name: 'startup', load: () => import('./startup.bench.ts') },
  { name: 'bundleSize', load: () => import('./bundle-size.bench.ts') },
  { name: 'codec', load: () => import('./codec.bench.ts') },
  { name: 'gateway', load: () => import('./gateway.bench.ts') },
  { name: 'formSize', load: () => import('./form-size.bench.ts') },
  { name: 'console', load: () => import('./console.bench.ts') },
  { name: 'tips', load: () => import('./tips.bench.ts') },
  { name: 'cases', load: () => import('./cases.bench.ts') },
  { name: 'alarmEval', load: () => import('./alarm-eval.bench.ts') },
  { name: 'alarmLatency', load: () => import('./alarm-latency.bench.ts') },
  { name: 'load', explicit: true, load: () => import('./load.bench.ts') },
  // boots the platform and prices what the pipeline sends (docs/cost.md): several minutes, only when named
  { name: 'cost', explicit: true, load: () => import('./cost.bench.ts') },
  { name: 'readings', explicit: true, load: () => import('./readings.bench.ts') },
  { name: 'ingestCpu', explicit: true, load: () => import('./ingest-cpu.bench.ts') },
  // the hourly roll-up and sealing over 2,000 devices on DynamoDB Local: minutes, only when named
  { name: 'jobs', explicit: true, load: () => import('./jobs.bench.ts') },
  { name: 'archive', load: () => import('./archive.bench.ts') },
  { name: 'fuzzCodec', group: 'fuzz', load: () => import('./fuzz-codec.bench.ts') },
  { name: 'fuzzPublic', group: 'fuzz', load: () => import('./fuzz-public.bench.ts') },
];

interface Check {
  pass?: unknown;
}

async function main() {
  const only = process.argv.slice(2);
  // before any bench runs: cost and load write their own files here (bench/results is git-ignored, absent when cloned)
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const results: Record<string, unknown> = {};
  const failed: string[] = [];
  for (const bench of BENCHES) {
    if (only.length === 0 && bench.explicit) continue;
    if (only.length > 0 && !only.includes(bench.name) && !(bench.group && only.includes(bench.group))) continue;
    const started = performance.now();
    try {
      const { run } = await bench.load();
      const result = await run();
      results[bench.name] = { ...result, benchSeconds: Math.round(performance.now() - started) / 1000 };
      const targets = Array.isArray(result['targets']) ? (result['targets'] as Check[]) : [];
      if (targets.some((t) => t.pass === false)) failed.push(bench.name);
    } catch (err) {
      results[bench.name] = { error: err instanceof Error ? err.message : String(err) };
      failed.push(bench.name);
    }
  }
  const doc = {
    when: new Date().toISOString(),
    machine: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpus().length,
    },
    allTargetsPass: failed.length === 0,
    failed,
    results,
  };
  const json = JSON.stringify(doc, null, 2);
  writeFileSync(join(dir, 'latest.json'), `${json}\n`);
  process.stdout.write(`${json}\n`);
}

void main();
