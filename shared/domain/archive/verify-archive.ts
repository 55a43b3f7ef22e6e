import { forEachLimited } from '#shared/domain/concurrency.ts';
import type { ArchiveObjectStore, ArchiveRecordStore } from './archive.ts';
import { beijingDate, datesBetween, dayPrefix, firstSeqOfBatchKey, isBatchKey, seqOfKey } from './record.ts';
import { type Anchor, type StoredObject, type VerifyReport, verifyChain } from './verify.ts';

/**
 * Verification of one chain over Beijing dates `from`..`to` (inclusive) against the stores: lists every day's objects
 * in the bucket (sealed batches and single-record objects) and reads them (a few at a time), reads the chain's
 * unsealed tail from the record store (records after the sealed ones of the range, and those of the range's days),
 * the anchors (newest record, seal mark, head item of before batching), and runs the pure verifyChain.
 * Used by the API and `npm run verify-archive`.
 */
export const MAX_VERIFY_DAYS = 366;

export async function verifyArchive(
  deps: { objects: ArchiveObjectStore; records: ArchiveRecordStore },
  chain: string,
  from: string,
  to: string,
  opts: { concurrency?: number } = {},
): Promise<VerifyReport> {
  const keys: string[] = [];
  for (const date of datesBetween(from, to, MAX_VERIFY_DAYS))
    keys.push(...(await deps.objects.list(dayPrefix(chain, date))));
  const objects: StoredObject[] = new Array(keys.length);
  await forEachLimited(keys.keys(), opts.concurrency ?? 16, async (i) => {
    const key = keys[i] as string;
    objects[i] = { key, text: (await deps.objects.get(key)) ?? '' };
  });
  // the tail from the first sealed seq of the range on (or all of it, when nothing of the range is sealed yet)
  const firstSealed = keys
    .map((k) => (isBatchKey(k) ? firstSeqOfBatchKey(k) : seqOfKey(k)))
    .filter((s): s is number => s !== undefined)
    .reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const lastSealed = Math.max(0, ...objects.flatMap((o) => lastSeqIn(o)));
  const [tail, mark, legacy] = await Promise.all([
    deps.records.after(chain, Number.isFinite(firstSealed) ? firstSealed - 1 : 0, Number.POSITIVE_INFINITY),
    deps.records.sealed(chain),
    deps.records.legacyHead(chain),
  ]);
  const inRange = tail
    .map((s) => s.record)
    .filter((r) => {
      const day = beijingDate(r.receivedAt);
      return (day >= from && day <= to) || r.seq <= lastSealed;
    });
  const newest = tail.at(-1)?.record;
  const anchors: Anchor[] = [
    ...(newest
      ? [{ seq: newest.seq, hash: newest.hash, lastDate: beijingDate(newest.receivedAt), what: 'the newest record' }]
      : []),
    ...(mark ? [{ seq: mark.seq, hash: mark.hash, lastDate: mark.lastDate, what: 'the seal mark', sealed: true }] : []),
    ...(legacy
      ? [{ seq: legacy.seq, hash: legacy.hash, lastDate: legacy.lastDate, what: 'the head before batching' }]
      : []),
  ];
  return verifyChain(chain, { from, to }, objects, inRange, anchors);
}

/** The highest seq an object's text claims (its last line's), without parsing more than that line. */
function lastSeqIn(o: StoredObject): number[] {
  const line = o.text.trimEnd().split('\n').at(-1) ?? '';
  const m = /"seq":(\d+)/.exec(line);
  return m ? [Number(m[1])] : [];
}
