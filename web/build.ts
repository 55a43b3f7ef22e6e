import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  // everything esbuild did not read (images, fonts, the pages themselves) is copied; pages are rewritten below
  cpSync(source, outDir, {
    recursive: true,
    filter: (src) => {
      const rel = relative(source, src).split('\\').join('/');
      return rel === '' || statSync(src).isDirectory() || !bundled.has(rel);
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
