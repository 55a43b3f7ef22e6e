import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

export function registryCredentials(access: RegistryAccess): (device: SimDevice) => Promise<MqttTls> {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
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
  const refused = (what: string, r: { status: number; body: Record<string, unknown> }) =>
    new Error(`${what}: the registry answered ${r.status} ${String(r.body.detail ?? r.body.title ?? '')}`.trim());

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
      const { iot: _iot, ...fields } = view.item;
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
