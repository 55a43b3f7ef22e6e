import { onBeforeUnmount, ref } from 'vue';
import { api, data } from '../api/client.ts';
import type { operations } from '../api/schema';

/**
 * A tip's evidence as the console shows it: the API gives 5-minute links to the metadata-stripped copies
 * (GET /tips/{id}/evidence; originals are never linked), the console fetches each once and shows it from memory
 * (a blob: URL, which its Content-Security-Policy allows for images and video), and forgets it when the page closes.
 */
export type EvidenceItem =
  operations['tip_evidence']['responses'][200]['content']['application/json']['items'][number] & {
    /** blob: URL of the fetched stripped copy */
    shown?: string;
    failed?: string;
  };

export function useTipEvidence() {
  const items = ref<EvidenceItem[]>([]);
  const loading = ref(false);
  const urls: string[] = [];

  async function load(tipId: string) {
    loading.value = true;
    try {
      const out = await data(api().GET('/tips/{id}/evidence', { params: { path: { id: tipId } } }));
      items.value = out.items;
      await Promise.all(
        items.value.map(async (item, i) => {
          if (!item.link) return;
          try {
            const res = await fetch(item.link.url, { cache: 'no-store', credentials: 'omit' });
            if (!res.ok) throw new Error(String(res.status));
            const url = URL.createObjectURL(await res.blob());
            urls.push(url);
            items.value[i] = { ...item, shown: url };
          } catch {
            items.value[i] = { ...item, failed: '证据读取失败，请刷新重试' };
          }
        }),
      );
    } finally {
      loading.value = false;
    }
  }

  onBeforeUnmount(() => {
    for (const url of urls) URL.revokeObjectURL(url);
  });

  return { items, loading, load };
}
