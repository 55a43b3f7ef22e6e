import { forEachLimited } from '#shared/domain/concurrency.ts';
import type { ArchiveObjectStore, ArchiveRecordStore, SealMark, StoredRecord } from './archive.ts';
import { type ArchiveRecord, batchKey, beijingDate, beijingHour, serializeBatch } from './record.ts';
import { parseRecords } from './verify.ts';

/**
 * Sealing: each chain's records of a closed period (a Beijing hour; closed `graceMinutes` after it ends) written as ONE
 * object to the Object-Locked evidence bucket (batchKey: the day, the first seq and the hour of its first record), in
 * seq order and without gaps between batches: the seal mark (seq, hash of the last sealed record) moves only after the
 * object is written. A batch is the longest run of consecutive records of one hour after the mark (a record received
 * in an earlier hour but appended later, e.g. a redriven message, starts a batch of its own), at most `maxRecords`.
 * Idempotent: the key follows from the batch's first record, and an object already there (a run that stopped between
 * writing and moving the mark) is never replaced: it is read, checked against the records and adopted. Records then
 * expire from the store (their TTL, set when written: see docs/decisions.md). Records of an open hour wait.
 */
/** Minutes after the end of an hour before its records are sealed (docs/decisions.md). */
export const DEFAULT_SEAL_GRACE_MINUTES = 10;

export interface SealOptions {
  /** minutes after the end of an hour before its records are sealed (late appends of that hour) */
  graceMinutes: number;
  /** records per batch at most */
  maxRecords?: number;
  /** batches per chain and run at most (a long backlog is sealed over several runs) */
  maxBatches?: number;
}

export interface SealedBatch {
  key: string;
  firstSeq: number;
  lastSeq: number;
  /** the object was there already (an earlier run's), checked and kept */
  adopted: boolean;
}

export interface ChainSealReport {
  chain: string;
  batches: SealedBatch[];
  /** what needs a person: a gap or broken link found while sealing, an object that differs from the records */
  problems: string[];
}

/** The end (exclusive) of the Beijing hour `yyyy-mm-ddTHH`, as epoch ms. */
const hourEnd = (hour: string): number => Date.parse(`${hour}:00:00+08:00`) + 3_600_000;

export async function sealChain(
  deps: { records: ArchiveRecordStore; objects: ArchiveObjectStore },
  chain: string,
  now: Date,
  opts: SealOptions,
): Promise<ChainSealReport> {
  const report: ChainSealReport = { chain, batches: [], problems: [] };
  const maxRecords = opts.maxRecords ?? 5000;
  const cutoff = now.getTime() - opts.graceMinutes * 60_000;
  let mark: SealMark | undefined = await deps.records.sealed(chain);
  // the records after the mark from the last read; `whole`: that read was not cut at maxRecords, so they are every
  // record after the mark and the next batch comes from them without reading again (a chain's run: one read, not one
  // per batch plus one that finds only the open hour)
  let rest: StoredRecord[] = [];
  let whole = false;
  for (let n = 0; n < (opts.maxBatches ?? 200); n++) {
    if (!whole) {
      rest = await deps.records.after(chain, mark?.seq ?? 0, maxRecords);
      whole = rest.length < maxRecords;
    }
    const first = rest[0]?.record;
    if (!first) break;
    const hour = beijingHour(first.receivedAt);
    if (hourEnd(hour) > cutoff) break;
    const batch: ArchiveRecord[] = [];
    for (const { record } of rest) {
      const prev = batch.at(-1);
      if (beijingHour(record.receivedAt) !== hour || (prev && record.seq !== prev.seq + 1)) break;
      batch.push(record);
    }
    if (mark && (first.seq !== mark.seq + 1 || first.prevHash !== mark.hash))
      report.problems.push(
        first.seq !== mark.seq + 1
          ? `${chain}: seq ${mark.seq + 1}–${first.seq - 1} are missing from the store before sealing seq ${first.seq}`
          : `${chain}: seq ${first.seq} does not point at the hash of the sealed seq ${mark.seq}`,
      );
    const key = batchKey(first);
    let last = batch.at(-1) as ArchiveRecord;
    let adopted = false;
    if (!(await deps.objects.putIfAbsent(key, serializeBatch(batch)))) {
      // written before (a run that stopped before moving the mark, or a concurrent run): keep it if it is these records
      const existing = parseRecords((await deps.objects.get(key)) ?? '');
      const same =
        existing.length > 0 &&
        existing.length <= batch.length &&
        existing.every((r, i) => r !== undefined && r.hash === batch[i]?.hash && r.seq === batch[i]?.seq);
      if (!same) {
        report.problems.push(`${chain}: the sealed object ${key} differs from the stored records; left as it is`);
        break;
      }
      last = batch[existing.length - 1] as ArchiveRecord;
      adopted = true;
    }
    const next: SealMark = { seq: last.seq, hash: last.hash, lastDate: beijingDate(last.receivedAt), key };
    if (!(await deps.records.markSealed(chain, mark?.seq ?? 0, next))) break; // another run is sealing this chain
    report.batches.push({ key, firstSeq: first.seq, lastSeq: last.seq, adopted });
    mark = next;
    rest = rest.filter((r) => r.record.seq > last.seq);
  }
  return report;
}

export interface SealRunReport {
  chains: number;
  batches: number;
  records: number;
  problems: string[];
}

/** Seals every chain (the registered devices' and `_unknown`), a few at a time. */
export async function sealAll(
  deps: { records: ArchiveRecordStore; objects: ArchiveObjectStore; chains: () => AsyncIterable<string> },
  now: Date,
  opts: SealOptions & { concurrency?: number },
): Promise<SealRunReport> {
  const run: SealRunReport = { chains: 0, batches: 0, records: 0, problems: [] };
  // a chain that fails is reported and left for the next run; the others go on
  await forEachLimited(deps.chains(), opts.concurrency ?? 8, async (chain) => {
    run.chains++;
    try {
      const r = await sealChain(deps, chain, now, opts);
      run.batches += r.batches.length;
      for (const b of r.batches) run.records += b.lastSeq - b.firstSeq + 1;
      run.problems.push(...r.problems);
    } catch (err) {
      run.problems.push(`${chain}: not sealed this run: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return run;
}
