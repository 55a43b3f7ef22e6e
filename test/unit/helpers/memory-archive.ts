import type { ArchiveObjectStore, ChainHeadStore, StoredHead } from '#shared/domain/archive/archive.ts';

/** The sealed archive's two ports in memory: chain heads advanced only from the expected seq, objects by key. */
export function memoryArchive() {
  const heads = new Map<string, StoredHead>();
  const objects = new Map<string, string>();
  const headStore: ChainHeadStore = {
    read: async (c) => heads.get(c),
    advance: async (c, expected, next) => {
      if ((heads.get(c)?.seq ?? 0) !== expected) return false;
      heads.set(c, next);
      return true;
    },
  };
  const objectStore: ArchiveObjectStore = {
    put: async (k, b) => void objects.set(k, b),
    get: async (k) => objects.get(k),
    exists: async (k) => objects.has(k),
    list: async (p) => [...objects.keys()].filter((k) => k.startsWith(p)).sort(),
  };
  return { heads, objects, headStore, objectStore };
}
