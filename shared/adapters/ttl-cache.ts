/**
 * A per-container cache of looked-up values (misses included) that expire after `ttlSeconds`: what the registry
 * lookups and the alarm rules of hot Lambda paths use, so that the steady state costs no reads. When it holds
 * `maxEntries` it starts again empty (simpler than LRU, and a Lambda container rarely sees that many keys).
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > t) return hit.value;
    const value = await load(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: t + this.ttlSeconds * 1000 });
    return value;
  }

  /** The cached value when it has not expired (no load). */
  peek(key: K): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.until > this.now() ? hit.value : undefined;
  }

  /** Puts a value read just now (replacing what was cached). */
  set(key: K, value: V): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: this.now() + this.ttlSeconds * 1000 });
  }
}
