import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { HASHED } from './cache.ts';

/**
 * Builds the static web pages (web/public) for hosting: every script and stylesheet an HTML page names is bundled and
 * minified by esbuild into a content-hashed file (`tip/tip-3KQ7Z2ON.js`), and the page is rewritten to name it. Hashed
 * files never change, so the host caches them for a year; HTML pages are served `no-cache` and always name the
 * current files (cache busting without query strings). Everything else under web/public is copied as it is.
 *
 * Used by the web hosting construct at synth (the bucket's content is this output) and by the local platform, which
 * serves the same output, so the laptop serves what CloudFront serves.
 */
export const WEB_SOURCE = resolve(import.meta.dirname, 'public');
/** everything the output depends on besides the lock file: the pages and this build's own code */
export const WEB_DIR = import.meta.dirname;

/** `<script … src="x.js">` and `<link rel="stylesheet" … href="x.css">` with a relative, local target */
const REFERENCE =
  /<(script)\b[^>]*?\bsrc="([^"]+)"[^>]*>|<(link)\b(?=[^>]*\brel="stylesheet")[^>]*?\bhref="([^"]+)"[^>]*>/g;
const isLocal = (ref: string) => !/^(?:[a-z]+:)?\/\//i.test(ref) && !ref.startsWith('data:') && !ref.startsWith('/');

/** The officials' console (Vue + Element Plus, built by Vite): its own folder, built into `<site>/console/`. */
export const CONSOLE_SOURCE = resolve(import.meta.dirname, 'console');
const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'envwatch-console');
/** files outside web/console the console's build reads (its imports of the platform's own vocabulary) */
const CONSOLE_SHARED = ['shared/domain/alarms/model.ts', 'shared/domain/pollutants.ts', 'shared/domain/roles.ts'];

/**
 * Builds the console with Vite, synchronously (CDK's local bundling is synchronous), into `outDir`. Vite takes tens of
 * seconds, so each build is kept under node_modules/.cache by the hash of its inputs (the console's sources, the lock
 * file and this file): a synth of unchanged sources copies the last build instead.
 */
export function buildConsole(outDir: string): void {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(`${relative(ROOT, path)}\0`).update(readFileSync(path));
    }
  };
  walk(CONSOLE_SOURCE);
  // the platform vocabulary the console imports from shared/ (alarm types, pollutant names, roles)
  for (const shared of CONSOLE_SHARED) hash.update(readFileSync(join(ROOT, shared)));
  hash.update(readFileSync(join(ROOT, 'package-lock.json'))).update(readFileSync(import.meta.filename));
  const cached = join(CACHE, hash.digest('hex').slice(0, 32));
  if (!existsSync(join(cached, 'index.html'))) {
    const building = `${cached}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const run = spawnSync(
      process.execPath,
      [
        vite,
        'build',
        '--config',
        join(CONSOLE_SOURCE, 'vite.config.ts'),
        '--outDir',
        building,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: CONSOLE_SOURCE, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } },
    );
    if (run.status !== 0) throw new Error(`console build failed:\n${run.stdout}\n${run.stderr}`);
    rmSync(cached, { recursive: true, force: true });
    renameSync(building, cached);
  }
  cpSync(cached, outDir, { recursive: true });
}

export interface WebBuild {
  /** output path (relative, POSIX) → what kind of caching it gets */
  files: Map<string, 'immutable' | 'no-cache'>;
}

function htmlFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return htmlFiles(path, base);
    return name.endsWith('.html') ? [relative(base, path)] : [];
  });
}

export function buildWeb(outDir: string, source = WEB_SOURCE): WebBuild {
  mkdirSync(outDir, { recursive: true });
  const pages = htmlFiles(source).map((rel) => ({ rel, html: readFileSync(join(source, rel), 'utf8') }));
  const entries = new Set<string>();
  for (const page of pages) {
    for (const m of page.html.matchAll(REFERENCE)) {
      const ref = m[2] ?? m[4];
      if (ref && isLocal(ref)) entries.add(posix.join(posix.dirname(page.rel.split('\\').join('/')), ref));
    }
  }
  const built = new Map<string, string>();
  /** every source file esbuild read: bundled, so not copied as it is */
  const bundled = new Set<string>(entries);
  if (entries.size > 0) {
    const result = buildSync({
      absWorkingDir: source,
      entryPoints: [...entries],
      outdir: outDir,
      outbase: '.',
      entryNames: '[dir]/[name]-[hash]',
      bundle: true,
      format: 'esm',
      minify: true,
      sourcemap: false,
      target: 'es2020',
      metafile: true,
      write: true,
      logLevel: 'silent',
    });
    for (const input of Object.keys(result.metafile.inputs)) bundled.add(input);
    for (const [out, meta] of Object.entries(result.metafile.outputs)) {
      if (!meta.entryPoint) continue;
      built.set(meta.entryPoint, relative(outDir, resolve(source, out)).split('\\').join('/'));
    }
  }
  // everything esbuild did not read (images, fonts, the pages themselves) is copied; pages are rewritten below.
  // Type declarations (`text.d.ts`, for the tests that import a page's module) are not served.
  cpSync(source, outDir, {
    recursive: true,
    filter: (src) => {
      const rel = relative(source, src).split('\\').join('/');
      return rel === '' || statSync(src).isDirectory() || (!bundled.has(rel) && !rel.endsWith('.d.ts'));
    },
  });
  const files = new Map<string, 'immutable' | 'no-cache'>();
  for (const page of pages) {
    const pageDir = posix.dirname(page.rel.split('\\').join('/'));
    const html = page.html.replace(REFERENCE, (whole, _s, src, _l, href) => {
      const ref = (src ?? href) as string;
      if (!isLocal(ref)) return whole;
      const out = built.get(posix.join(pageDir, ref));
      if (!out) throw new Error(`${page.rel}: ${ref} was not built`);
      return whole.replace(`"${ref}"`, `"${posix.relative(pageDir, out)}"`);
    });
    const target = join(outDir, page.rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, html);
  }
  if (existsSync(join(CONSOLE_SOURCE, 'index.html'))) buildConsole(join(outDir, 'console'));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(outDir, path).split('\\').join('/');
        files.set(rel, HASHED.test(rel) ? 'immutable' : 'no-cache');
      }
    }
  };
  walk(outDir);
  return { files };
}
