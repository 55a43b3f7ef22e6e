import { defineStore } from 'pinia';
import { computed } from 'vue';
import { currentSession, signOut } from '../auth.ts';

/** The signed-in official, as the token says (for showing and hiding; the API decides). */
export const useSession = defineStore('session', () => {
  const user = computed(() => currentSession()?.user);
  const countyWide = computed(() => user.value?.townships.includes('*') ?? false);
  const hasRole = (...roles: string[]) => roles.some((r) => user.value?.roles.includes(r));
  /** an enterprise user (企业端): its own unit's alarms and devices, nothing of the bureau's work */
  const enterpriseOnly = computed(
    () => !!user.value?.roles.length && user.value.roles.every((r) => r === 'enterprise'),
  );
  return { user, countyWide, hasRole, enterpriseOnly, signOut };
});
