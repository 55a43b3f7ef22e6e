/**
 * Runs `work` on each item, at most `limit` at a time, starting them in the items' order (the items may be an async
 * source, e.g. a paged registry listing, read only as fast as work is started). The first failure stops new work:
 * what is in flight settles, then that failure is thrown. A source that throws is a failure too, thrown once the work
 * in flight has settled. A caller that wants to go on past failures catches in `work`.
 */
export async function forEachLimited<T>(
  items: AsyncIterable<T> | Iterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency limit must be a positive integer: ${limit}`);
  const pending = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for await (const item of items) {
      const p: Promise<void> = Promise.resolve(item)
        .then(work)
        .then(
          () => {
            pending.delete(p);
          },
          (error: unknown) => {
            pending.delete(p);
            failure ??= { error };
          },
        );
      pending.add(p);
      if (pending.size >= limit) await Promise.race(pending);
      // nothing more is taken from the source once something failed
      if (failure) break;
    }
  } finally {
    await Promise.allSettled(pending);
  }
  if (failure) throw failure.error;
}
