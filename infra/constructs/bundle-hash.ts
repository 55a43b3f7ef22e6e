import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The asset hash of a function bundle, computed from what goes into it instead of from esbuild's output: the function's
 * own folder, `shared/` (the only code a function may import besides its folder: the import-boundary check in
 * `npm test` holds it to that), the lock file and package.json (dependency versions, the `#shared/*` import map),
 * tsconfig.json, and the bundling options.
 *
 * Known before bundling, the hash lets CDK skip esbuild when the assembly directory already holds that bundle: a
 * second `cdk synth` or `cdk deploy` into the same `cdk.out` (or the CLI test's runs for four regions) bundles nothing
 * that did not change. An output hash (NodejsFunction's default) cannot be known without bundling first.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const SKIP = new Set(['node_modules', 'cdk.out', '.envwatch']);
const treeHashes = new Map<string, string>();

/** sha256 of every file under `dir` (paths relative to the repository, sorted), memoised per process. */
function treeHash(dir: string): string {
  const known = treeHashes.get(dir);
  if (known) return known;
  const hash = createHash('sha256');
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (SKIP.has(entry.name)) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile())
        hash
          .update(`${relative(ROOT, path)}\0`)
          .update(readFileSync(path))
          .update('\0');
    }
  };
  walk(dir);
  const digest = hash.digest('hex');
  treeHashes.set(dir, digest);
  return digest;
}

/** sha256 over directories (their whole trees) and files, plus a JSON value; paths are absolute. */
export function inputsHash(paths: readonly string[], extra: unknown): string {
  const hash = createHash('sha256');
  for (const path of paths) {
    hash.update(`${relative(ROOT, path)}\0`);
    hash.update(statSync(path).isDirectory() ? treeHash(path) : readFileSync(path));
  }
  hash.update(JSON.stringify(extra));
  return hash.digest('hex');
}

/** The lock file, package.json (versions, the import map) and tsconfig.json: inputs of every build. */
export const BUILD_FILES = ['package-lock.json', 'package.json', 'tsconfig.json'].map((f) => join(ROOT, f));

export function bundleHash(entry: string, options: unknown): string {
  return inputsHash([dirname(entry), join(ROOT, 'shared'), ...BUILD_FILES], {
    entry: relative(ROOT, entry),
    options,
  });
}
