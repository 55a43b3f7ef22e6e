import { computed, ref } from 'vue';
import { useRegistry } from '../../stores/registry.ts';
import { allEntries, type Item, names, type Option, type OptionSource, type Versioned } from './kinds.ts';

/**
 * The registry's own entries as choices for the forms and filters (乡镇, 单位, 排放口), loaded when a registry page
 * opens; they also give the tables their names (`names`).
 */
export function useRegistryOptions() {
  const registry = useRegistry();
  const enterprises = ref<Versioned[]>([]);
  const outlets = ref<Versioned[]>([]);
  const loaded = ref(false);

  async function load(parts: { enterprises?: boolean; outlets?: boolean } = { enterprises: true }) {
    await registry.load().catch(() => undefined);
    if (parts.enterprises) enterprises.value = await allEntries('enterprises');
    if (parts.outlets) outlets.value = await allEntries('outlets');
    const byId = new Map(enterprises.value.map((e) => [String(e.item['id']), String(e.item['name'])]));
    names.township = (id) => registry.townshipName(id);
    names.enterprise = (id) => byId.get(id) ?? id;
    loaded.value = true;
  }

  const townshipOptions = computed<Option[]>(() => registry.townships.map((t) => ({ value: t.id, label: t.name })));
  const enterpriseOptions = computed<Option[]>(() =>
    enterprises.value.map((e) => ({ value: String(e.item['id']), label: String(e.item['name']) })),
  );

  /** a select's choices; outlets only those of the unit chosen in the same form */
  function optionsFor(source: OptionSource, form?: Item): Option[] {
    if (Array.isArray(source)) return source;
    if (source === 'townships') return townshipOptions.value;
    if (source === 'enterprises') return enterpriseOptions.value;
    return outlets.value
      .filter((o) => !form?.['enterpriseId'] || o.item['enterpriseId'] === form['enterpriseId'])
      .map((o) => ({ value: String(o.item['id']), label: `${o.item['name']}（${o.item['code']}）` }));
  }

  return { load, loaded, enterprises, outlets, optionsFor, townshipOptions, enterpriseOptions };
}
