import type { ArchiveObjectStore, ChainHeadStore } from './archive.ts';
import { datesBetween, dayPrefix } from './record.ts';
import { type StoredObject, type VerifyReport, verifyChain } from './verify.ts';

/**
 * Verification of one chain over Beijing dates `from`..`to` (inclusive) against the stores: lists every day's objects,
 * reads them (a few at a time), reads the head, and runs the pure verifyChain. Used by the API and `npm run verify-archive`.
 */
export const MAX_VERIFY_DAYS = 366;

export async function verifyArchive(
  deps: { objects: ArchiveObjectStore; heads: ChainHeadStore },
  chain: string,
  from: string,
  to: string,
  opts: { concurrency?: number } = {},
): Promise<VerifyReport> {
  const keys: string[] = [];
  for (const date of datesBetween(from, to, MAX_VERIFY_DAYS))
    keys.push(...(await deps.objects.list(dayPrefix(chain, date))));
  const objects: StoredObject[] = new Array(keys.length);
  const concurrency = opts.concurrency ?? 16;
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      const key = keys[i] as string;
      objects[i] = { key, text: (await deps.objects.get(key)) ?? '' };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  const head = await deps.heads.read(chain);
  return verifyChain(
    chain,
    { from, to },
    objects,
    head ? { seq: head.seq, hash: head.hash, lastDate: head.lastDate } : undefined,
  );
}
