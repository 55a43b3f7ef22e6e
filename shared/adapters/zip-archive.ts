import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import type { PackageFile } from '#shared/domain/cases/transfer-package.ts';

/**
 * A set of text documents as one ZIP (fflate: UTF-8 names, flagged as such so archive tools show the Chinese), each
 * file dated `at` so the same case state always gives the same bytes; with each file's SHA-256 and the archive's.
 */
export interface Archive {
  bytes: Uint8Array;
  sha256: string;
  files: { name: string; bytes: number; sha256: string }[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function zipFiles(files: readonly PackageFile[], at: Date): Archive {
  const encoded = files.map((f) => ({ name: f.name, data: strToU8(f.text) }));
  const bytes = zipSync(Object.fromEntries(encoded.map((f) => [f.name, [f.data, { mtime: at, level: 6 }]])));
  return {
    bytes,
    sha256: sha256(bytes),
    files: encoded.map((f) => ({ name: f.name, bytes: f.data.length, sha256: sha256(f.data) })),
  };
}
