/** What the deployment tells the console (`/config.json`, written by the web hosting at deploy time). */
export interface ConsoleConfig {
  /** where the API answers, on the console's own origin (`/api`) */
  apiBase: string;
  login: { issuer: string; clientId: string };
  /** `hash` where the host cannot answer console routes with the console page (CloudFront in China regions) */
  routerMode: 'history' | 'hash';
}

let loaded: ConsoleConfig | undefined;

export async function loadConfig(): Promise<ConsoleConfig> {
  if (loaded) return loaded;
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`/config.json: ${res.status}`);
  loaded = (await res.json()) as ConsoleConfig;
  return loaded;
}

export function config(): ConsoleConfig {
  if (!loaded) throw new Error('config not loaded');
  return loaded;
}
