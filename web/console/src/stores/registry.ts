import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api, data } from '../api/client.ts';

/** Reference data every page names things by: the townships (id → 名称), loaded once. */
export const useRegistry = defineStore('registry', () => {
  const townships = ref<{ id: string; name: string }[]>([]);
  let loading: Promise<void> | undefined;
  function load() {
    loading ??= data(api().GET('/registry/townships', { params: { query: { limit: 100 } } })).then((page) => {
      townships.value = page.items.map((t) => ({ id: t.item.id, name: t.item.name }));
    });
    return loading;
  }
  const townshipName = (id: string) => townships.value.find((t) => t.id === id)?.name ?? id;
  return { townships, load, townshipName };
});
