import type {
  ArchiveObjectStore,
  ArchiveRecordStore,
  SealMark,
  StoredHead,
  StoredRecord,
} from '#shared/domain/archive/archive.ts';

/**
 * The sealed archive's ports in memory, with the adapters' semantics: records put only when their seq is free (the
 * claim), read newest first (with the seal mark, as one read) or after a seq; `counts.reads` counts every read; the seal mark moved only from the expected seq; the head item of before
 * batching (read-only for the archive; `legacyHeads` seeds it); objects by key, `putIfAbsent` never replacing one.
 * `records` is the raw map (chain → seq → stored record) so that tests can change, delete or insert items.
 */
export function memoryArchive() {
  const records = new Map<string, Map<number, StoredRecord>>();
  const marks = new Map<string, SealMark>();
  const legacyHeads = new Map<string, StoredHead>();
  const objects = new Map<string, string>();
  const chainOf = (c: string) => {
    const m = records.get(c) ?? new Map<number, StoredRecord>();
    records.set(c, m);
    return m;
  };
  const sorted = (c: string) => [...chainOf(c).values()].sort((a, b) => a.record.seq - b.record.seq);
  const counts = { puts: 0, reads: 0 };
  /** reads of the records after a seq (the sealing's), apart from `counts` (the appends') */
  const pages = { after: 0 };
  const recordStore: ArchiveRecordStore = {
    putNew: async (record, k) => {
      await Promise.resolve();
      counts.puts++;
      const m = chainOf(record.chain);
      if (m.has(record.seq)) return false;
      m.set(record.seq, structuredClone({ record, k }));
      return true;
    },
    head: async (c, limit) => {
      counts.reads++;
      const mark = marks.get(c);
      const newest = sorted(c)
        .reverse()
        .slice(0, limit)
        .map((s) => ({ seq: s.record.seq, hash: s.record.hash, k: s.k }));
      return structuredClone({ newest, ...(mark ? { sealed: mark } : {}) });
    },
    get: async (c, seq) => {
      counts.reads++;
      const s = chainOf(c).get(seq);
      return s ? structuredClone(s) : undefined;
    },
    after: async (c, seq, limit) => {
      pages.after++;
      return structuredClone(
        sorted(c)
          .filter((s) => s.record.seq > seq)
          .slice(0, limit),
      );
    },
    sealed: async (c) => {
      counts.reads++;
      return structuredClone(marks.get(c));
    },
    markSealed: async (c, expected, next) => {
      if ((marks.get(c)?.seq ?? 0) !== expected) return false;
      marks.set(c, structuredClone(next));
      return true;
    },
    legacyHead: async (c) => {
      counts.reads++;
      return structuredClone(legacyHeads.get(c));
    },
  };
  const objectStore: ArchiveObjectStore = {
    put: async (k, b) => void objects.set(k, b),
    putIfAbsent: async (k, b) => {
      if (objects.has(k)) return false;
      objects.set(k, b);
      return true;
    },
    get: async (k) => objects.get(k),
    exists: async (k) => objects.has(k),
    list: async (p) => [...objects.keys()].filter((k) => k.startsWith(p)).sort(),
  };
  /** every archived record, of every chain, in chain and seq order */
  const all = () => [...records.keys()].sort().flatMap((c) => sorted(c).map((s) => s.record));
  return { records, marks, legacyHeads, objects, recordStore, objectStore, counts, pages, all };
}
