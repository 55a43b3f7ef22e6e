import { type Ref, ref } from 'vue';
import { problemText } from './api/client.ts';

/** One page of a cursor-paged list, as every list route answers. */
export interface Page<T> {
  items: T[];
  cursor?: string | undefined;
}

/**
 * A cursor-paged list for a page's table: 上一页 goes back through the cursors already seen, 下一页 follows the answer's
 * cursor. `fetchPage` reads one page with the page's current filters. A quiet load (polling) keeps the rows on failure.
 */
export function useCursorPages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
  const items = ref([]) as Ref<T[]>;
  const cursors = ref<(string | undefined)[]>([undefined]);
  const next = ref<string>();
  const loading = ref(false);
  const failed = ref<string>();

  async function load(cursor?: string, quiet = false) {
    if (!quiet) {
      loading.value = true;
      failed.value = undefined;
    }
    try {
      const page = await fetchPage(cursor);
      items.value = page.items;
      next.value = page.cursor;
      failed.value = undefined;
    } catch (err) {
      failed.value = problemText(err);
      if (!quiet) items.value = [];
    } finally {
      loading.value = false;
    }
  }
  /** back to the first page (new filters) */
  function first() {
    cursors.value = [undefined];
    return load();
  }
  function forward() {
    if (!next.value) return;
    cursors.value.push(next.value);
    void load(next.value);
  }
  function back() {
    if (cursors.value.length < 2) return;
    cursors.value.pop();
    void load(cursors.value.at(-1));
  }
  /** the page shown, again */
  const refresh = (quiet = false) => load(cursors.value.at(-1), quiet);

  return { items, cursors, next, loading, failed, load, first, forward, back, refresh };
}
