import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { atMost, ROOT, tempDir } from './lib.ts';

/**
 * Size of each function bundle in the synthesized assembly: every `asset.*` dir's index.mjs (bytes and gzip), mapped to
 * the function's construct path through the template's `aws:asset:path` metadata. For the largest bundle, esbuild is run
 * again with the options of infra/constructs/envwatch-function.ts plus `metafile: true` to say which packages make it big.
 */
const LIMIT_BYTES = 1_000_000;

/** Same bundling options as EnvWatchFunction (NodejsFunction → esbuild CLI). Keep in step with that construct. */
const BUNDLING = {
  bundle: true,
  format: 'esm',
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  sourcemap: true,
  minify: true,
  external: [],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
} as const;

interface Bundle {
  asset: string;
  constructPath: string;
  service: string | null;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** asset dir → construct path and ENVWATCH_SERVICE of the resource that uses it, from every template. */
function assetOwners(outdir: string): Map<string, { constructPath: string; service: string | null }> {
  const owners = new Map<string, { constructPath: string; service: string | null }>();
  for (const file of readdirSync(outdir).filter((f) => f.endsWith('.template.json'))) {
    const template: unknown = JSON.parse(readFileSync(join(outdir, file), 'utf8'));
    const resources = isRecord(template) && isRecord(template['Resources']) ? template['Resources'] : {};
    for (const r of Object.values(resources)) {
      if (!isRecord(r) || !isRecord(r['Metadata'])) continue;
      const asset = r['Metadata']['aws:asset:path'];
      if (typeof asset !== 'string') continue;
      const path = r['Metadata']['aws:cdk:path'];
      const env = isRecord(r['Properties']) ? r['Properties']['Environment'] : undefined;
      const vars = isRecord(env) && isRecord(env['Variables']) ? env['Variables'] : {};
      const service = typeof vars['ENVWATCH_SERVICE'] === 'string' ? vars['ENVWATCH_SERVICE'] : null;
      owners.set(asset, { constructPath: typeof path === 'string' ? path : `${file} (no path metadata)`, service });
    }
  }
  return owners;
}

/** node_modules/@scope/name/… → `@scope/name`; project files → their top folder (`shared/`, `functions/`). */
function packageOf(input: string): string {
  const i = input.lastIndexOf('node_modules/');
  if (i >= 0) {
    const [a, b] = input.slice(i + 'node_modules/'.length).split('/');
    return a?.startsWith('@') ? `${a}/${b}` : (a ?? input);
  }
  return `(project) ${input.split('/')[0]}/`;
}

async function whyLargest(service: string): Promise<Record<string, unknown>> {
  const entry = join(ROOT, 'functions', service, 'handler.ts');
  if (!existsSync(entry)) return { note: `no ${entry}` };
  const result = await build({
    ...BUNDLING,
    mainFields: [...BUNDLING.mainFields],
    external: [...BUNDLING.external],
    entryPoints: [entry],
    outfile: 'index.mjs',
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const meta: Metafile = result.metafile;
  const out = Object.entries(meta.outputs).find(([name]) => name.endsWith('.mjs'));
  if (!out) return { note: 'esbuild produced no .mjs output' };
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(out[1].inputs)) {
    const pkg = packageOf(input);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
  }
  const total = out[1].bytes;
  return {
    rebuiltBytes: total,
    topPackages: [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([name, bytes]) => ({ name, bytes, share: Math.round((bytes / total) * 1000) / 1000 })),
    packagesInBundle: byPackage.size,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const out = tempDir('bundles');
  try {
    const { synthEnvWatch } = await import('#infra/local/synth.ts');
    // path metadata (`aws:cdk:path`) is what the CLI turns on; the in-process synth needs it asked for
    synthEnvWatch(out.dir, { 'aws:cdk:enable-path-metadata': true });
    const owners = assetOwners(out.dir);
    const bundles: Bundle[] = [];
    for (const asset of readdirSync(out.dir).filter((d) => d.startsWith('asset.'))) {
      const file = join(out.dir, asset, 'index.mjs');
      if (!existsSync(file)) continue;
      const code = readFileSync(file);
      const map = join(out.dir, asset, 'index.mjs.map');
      const owner = owners.get(asset);
      bundles.push({
        asset,
        constructPath: owner?.constructPath ?? '(no resource references this asset)',
        service: owner?.service ?? null,
        bytes: code.length,
        gzipBytes: gzipSync(code).length,
        sourceMapBytes: existsSync(map) ? statSync(map).size : null,
      });
    }
    bundles.sort((a, b) => b.bytes - a.bytes);
    const largest = bundles[0];
    const why = largest?.service ? await whyLargest(largest.service) : { note: 'largest bundle has no service name' };
    return {
      what: 'index.mjs of every function asset in the synthesized assembly (minified ESM, AWS SDK bundled)',
      bundles,
      largest: largest
        ? { constructPath: largest.constructPath, service: largest.service, bytes: largest.bytes }
        : null,
      whyLargest: why,
      targets: bundles.map((b) => atMost(`bundle ${b.constructPath} ≤ 1 MB`, b.bytes, LIMIT_BYTES, 'bytes')),
      ratios: {
        largestOverLimit: largest ? Math.round((largest.bytes / LIMIT_BYTES) * 1000) / 1000 : null,
        largestGzipOverRaw: largest ? Math.round((largest.gzipBytes / largest.bytes) * 1000) / 1000 : null,
        rebuiltOverSynthesized:
          largest && typeof why['rebuiltBytes'] === 'number'
            ? Math.round((why['rebuiltBytes'] / largest.bytes) * 1000) / 1000
            : null,
      },
    };
  } finally {
    out.remove();
  }
}
