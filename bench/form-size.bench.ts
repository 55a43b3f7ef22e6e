import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { atMost, ROOT } from './lib.ts';

/**
 * Size of the public tip pages as a phone downloads them: web/public/tip/index.html (the form) and follow.html (the
 * receipt page), each with every local asset it loads
 * (stylesheets and scripts, followed through their ES module imports), raw, gzip and brotli (node:zlib, max quality).
 * Target: under 100 KB compressed (gzip, the encoding every browser including WeChat's accepts).
 */
const LIMIT_BYTES = 100 * 1024;
const DIR = join(ROOT, 'web', 'public', 'tip');

/** Local files a page loads: `href`/`src` of link and script tags, then `import … from './x.js'` in scripts. */
function assets(page: string): string[] {
  const seen = new Set<string>([page]);
  const queue = [page];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const text = readFileSync(join(DIR, file), 'utf8');
    const refs = file.endsWith('.html')
      ? [...text.matchAll(/<(?:link|script)\b[^>]*?\b(?:href|src)="([^"]+)"/g)].map((m) => m[1] as string)
      : [...text.matchAll(/\bfrom\s+'(\.\/[^']+)'/g)].map((m) => m[1] as string);
    for (const ref of refs) {
      if (/^[a-z]+:|^\/\//i.test(ref)) throw new Error(`${file} loads an outside resource: ${ref}`);
      const name = ref.replace(/^\.\//, '');
      if (!seen.has(name)) {
        seen.add(name);
        queue.push(name);
      }
    }
  }
  return [...seen];
}

/** Each page with everything it loads, raw, gzip and brotli. */
function measure(page: string) {
  const files = assets(page).map((name) => {
    const raw = readFileSync(join(DIR, name));
    return {
      name,
      bytes: raw.length,
      gzipBytes: gzipSync(raw, { level: 9 }).length,
      brotliBytes: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  });
  const sum = (k: 'bytes' | 'gzipBytes' | 'brotliBytes') => files.reduce((n, f) => n + f[k], 0);
  return { files, totalBytes: sum('bytes'), totalGzipBytes: sum('gzipBytes'), totalBrotliBytes: sum('brotliBytes') };
}

export async function run(): Promise<Record<string, unknown>> {
  const form = measure('index.html');
  const follow = measure('follow.html');
  return {
    ...form,
    followPage: follow,
    targets: [
      atMost('tip form page + assets, gzip', form.totalGzipBytes, LIMIT_BYTES, 'bytes'),
      atMost('follow page (receipt) + assets, gzip', follow.totalGzipBytes, LIMIT_BYTES, 'bytes'),
    ],
  };
}
