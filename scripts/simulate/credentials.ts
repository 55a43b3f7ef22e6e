import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyText, keyBytes } from '#shared/domain/registry/device-keys.ts';
import type { SimDevice } from './devices.ts';
import type { MqttTls } from './mqtt-link.ts';

/**
 * Certificates for the simulated MQTT devices, got as an installer gets them: through the registry API with an admin
 * token (docs/devices.md). Each device keeps its key and certificate under `<dataDir>/devices/<MN>/`, as a real DAQ keeps
 * them on its flash, and reuses them while the registry shows that certificate active; otherwise it asks for a new one
 * (`rotate` when the registry has an active certificate whose key is not here). An HJ 212 device sent over MQTT
 * (`--mqtt-hj212`) is first switched to transport `mqtt` in the registry, as an admin reconfiguring the DAQ would.
 * A synthetic device with an unregistered MN gets none, so it cannot connect.
 */
export interface RegistryAccess {
  /** base URL of the API */
  api: string;
  /** a bearer token of a registry writer (admin) */
  token: string;
  /** where the devices keep their keys: `<dataDir>/devices/<MN>/` */
  dataDir: string;
  /** the CA that signed the broker's certificate (endpoints.json `mqttCa`) */
  ca: string;
  log?: (line: string) => void;
}

interface DeviceView {
  item: Record<string, unknown> & {
    transport?: string;
    iot?: { certificates: { certificateId: string; status: string }[] };
  };
  version: number;
}

type Call = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: Record<string, unknown> }>;

/** the registry API with the access's bearer token */
function api(access: Pick<RegistryAccess, 'api' | 'token'>): Call {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(`${access.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${access.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: res.status, body: json };
  };
}

const refused = (what: string, r: { status: number; body: Record<string, unknown> }) =>
  new Error(`${what}: the registry answered ${r.status} ${String(r.body.detail ?? r.body.title ?? '')}`.trim());

export function registryCredentials(access: RegistryAccess): (device: SimDevice) => Promise<MqttTls> {
  const call = api(access);

  return async (device) => {
    if (!device.registered) throw new Error('its MN is not registered');
    const path = `/registry/devices/${encodeURIComponent(device.mn)}`;
    const found = await call('GET', path);
    if (found.status !== 200) throw refused(`reading ${device.label}`, found);
    let view = found.body as unknown as DeviceView;
    const dir = join(access.dataDir, 'devices', device.mn);
    const keyFile = join(dir, 'private-key.pem');
    const certFile = join(dir, 'certificate.pem');
    if (existsSync(keyFile) && existsSync(certFile)) {
      const cert = readFileSync(certFile, 'utf8');
      const id = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex');
      if (view.item.iot?.certificates.some((c) => c.certificateId === id && c.status === 'active')) {
        return { key: readFileSync(keyFile, 'utf8'), cert, ca: access.ca };
      }
    }
    if (view.item.transport !== 'mqtt') {
      const { iot: _iot, sm4: _sm4, protocolSeen: _seen, ...fields } = view.item;
      const put = await call('PUT', path, { ...fields, transport: 'mqtt' }, { 'if-match': `"${view.version}"` });
      if (put.status !== 200) throw refused(`switching ${device.label} to mqtt`, put);
      access.log?.(`${device.label}: transport set to mqtt in the registry (it sends HJ 212 over MQTT)`);
      view = put.body as unknown as DeviceView;
    }
    const rotate = view.item.iot?.certificates.some((c) => c.status === 'active') ?? false;
    const issued = await call('POST', `${path}/certificate`, { rotate });
    if (issued.status !== 201) throw refused(`a certificate for ${device.label}`, issued);
    const { certificatePem, privateKey, certificateId } = issued.body.certificate as Record<string, string>;
    if (!certificatePem || !privateKey) throw new Error(`the registry answered no key for ${device.label}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(certFile, certificatePem);
    access.log?.(
      `${device.label}: ${rotate ? 'new' : 'first'} certificate ${certificateId?.slice(0, 12)}… kept in ${dir}`,
    );
    return { key: privateKey, cert: certificatePem, ca: access.ca };
  };
}

/**
 * HJ 212-2025 keys of the simulated DAQs upgraded in place (devices.ts UPGRADED_TO_2025), as their installer handles
 * them (docs/devices.md §2.2): the device is switched to `protocol: hj212-2025` in the registry, and its SM4 key, made
 * on the device (16 random characters, never patterned: the registry refuses those), is entered with
 * `POST /registry/devices/{mn}/sm4-key`. The device keeps its keys in `<dataDir>/devices/<MN>/sm4-keys.json` (mode
 * 600; newest first, as a DAQ keeps them on its flash) and writes a pushed key there once it has confirmed it. An
 * administrator's rotation request goes through `POST …/sm4-key/rotation`.
 */
export interface DeviceKeyAccess {
  /** the device's keys, newest first (the current one first), enrolling a new one when the registry has none */
  keys(device: SimDevice): Promise<Buffer[]>;
  /** keeps a key the device switched to (a confirmed push) */
  save(device: SimDevice, keys: readonly Buffer[]): void;
  /** asks the registry for a rotation now, as an administrator; resolves to what the registry answered */
  rotate(device: SimDevice): Promise<string>;
}

export function registryKeys(access: Omit<RegistryAccess, 'ca'>): DeviceKeyAccess {
  const call = api(access);
  const fileOf = (device: SimDevice) => join(access.dataDir, 'devices', device.mn, 'sm4-keys.json');
  const read = (device: SimDevice): Buffer[] => {
    const file = fileOf(device);
    if (!existsSync(file)) return [];
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((k) => typeof k === 'string').map((k) => keyBytes(k)) : [];
  };
  const save = (device: SimDevice, keys: readonly Buffer[]) => {
    const dir = join(access.dataDir, 'devices', device.mn);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = fileOf(device);
    writeFileSync(file, JSON.stringify(keys.slice(0, 3).map((k) => k.toString('latin1'))), { mode: 0o600 });
    chmodSync(file, 0o600);
  };
  return {
    save,
    async keys(device) {
      if (!device.registered) throw new Error('its MN is not registered');
      const path = `/registry/devices/${encodeURIComponent(device.mn)}`;
      const found = await call('GET', path);
      if (found.status !== 200) throw refused(`reading ${device.label}`, found);
      const view = found.body as unknown as DeviceView & {
        item: { protocol?: string; sm4?: { encrypting?: boolean } };
      };
      if (view.item.protocol !== 'hj212-2025') {
        const { iot: _iot, sm4: _sm4, protocolSeen: _seen, ...fields } = view.item;
        const put = await call('PUT', path, { ...fields, protocol: 'hj212-2025' }, { 'if-match': `"${view.version}"` });
        if (put.status !== 200) throw refused(`upgrading ${device.label} to HJ 212-2025`, put);
        access.log?.(`${device.label}: upgraded in place to HJ 212-2025 in the registry (protocol hj212-2025)`);
      }
      const held = read(device);
      if (view.item.sm4?.encrypting) {
        if (held.length === 0)
          throw new Error(
            `the registry holds an SM4 key of ${device.label} that is not in ${fileOf(device)} (start the platform with a fresh data directory)`,
          );
        return held;
      }
      const key = held[0] ?? keyBytes(generateKeyText());
      save(device, [key]);
      const entered = await call('POST', `${path}/sm4-key`, { sm4Key: key.toString('latin1') });
      if (entered.status !== 200) throw refused(`entering ${device.label}'s SM4 key`, entered);
      access.log?.(
        `${device.label}: SM4 key entered in the registry (sealed there; the device keeps it in ${fileOf(device)})`,
      );
      return [key];
    },
    async rotate(device) {
      const r = await call('POST', `/registry/devices/${encodeURIComponent(device.mn)}/sm4-key/rotation`);
      if (r.status !== 200) throw refused(`a key rotation for ${device.label}`, r);
      return `${device.label}: key rotation requested as an administrator; the gateway pushes CN 1014 when the device next sends`;
    },
  };
}

/** When the platform last stored real-time data of a device as arrived (`GET /devices/{mn}/latest`), epoch ms. */
export function realtimeArrivals(
  access: Pick<RegistryAccess, 'api' | 'token'>,
): (mn: string) => Promise<number | undefined> {
  const call = api(access);
  return async (mn) => {
    const r = await call('GET', `/devices/${encodeURIComponent(mn)}/latest`);
    if (r.status !== 200) return undefined;
    const kinds = (r.body.kinds ?? []) as { kind: string; lastArrivalAt?: string; lastReceivedAt?: string }[];
    const rt = kinds.find((k) => k.kind === 'realtime');
    const at = Date.parse(rt?.lastArrivalAt ?? rt?.lastReceivedAt ?? '');
    return Number.isNaN(at) ? undefined : at;
  };
}

/**
 * The local platform's scheduler (`/_local/schedules`, `npm start` only): fires the alarm engine's data-gap job as of
 * an instant, as its 5-minute schedule would then (the job measures silence from when data last arrived up to it).
 */
export function localDataGapJob(apiBase: string): (at: Date) => Promise<string> {
  return async (at) => {
    const list = await fetch(`${apiBase}/_local/schedules`);
    if (!list.ok) throw new Error(`the platform has no local scheduler (${list.status}): is this the local platform?`);
    const { schedules } = (await list.json()) as { schedules: { ruleName: string }[] };
    const rule = schedules.find((s) => /datagaps/i.test(s.ruleName))?.ruleName;
    if (!rule) throw new Error('the local scheduler has no data-gap job');
    const url = `${apiBase}/_local/schedules/${encodeURIComponent(rule)}/run?time=${encodeURIComponent(at.toISOString())}`;
    const fired = await fetch(url, { method: 'POST' });
    if (fired.status !== 202) throw new Error(`the data-gap job did not run (${fired.status})`);
    return rule;
  };
}
