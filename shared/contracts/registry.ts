import * as z from 'zod';
import { AssignMnRequest, PendingLogger } from '#shared/domain/registry/loggers.ts';
import {
  Csr,
  Device,
  DeviceInput,
  DeviceRegistration,
  Enterprise,
  IssuedCertificate,
  Outlet,
  Township,
} from '#shared/domain/registry/model.ts';
import type { RegistryKind } from '#shared/domain/registry/store.ts';
import { REGISTRY_READERS, REGISTRY_WRITERS } from '#shared/domain/roles.ts';
import type { Place } from '#shared/domain/scope.ts';
import { defineRoutes, type RouteContract } from '#shared/http/contract.ts';
import type { PlaceRef } from '#shared/http/scope.ts';
import { PLACES } from './places.ts';

/**
 * The registry API: list, get, create and replace townships, enterprises, outlets and devices; and an MQTT device's
 * certificate and decommissioning (docs/devices.md).
 */
const limit = z.coerce.number().int().min(1).max(100).default(50);
const cursor = z.string().max(2048).optional();
const listQuery = z.strictObject({ limit, cursor });

const versioned = <T extends z.ZodType>(item: T) =>
  z.object({ item, version: z.number().int(), createdAt: z.iso.datetime(), updatedAt: z.iso.datetime() });
const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(versioned(item)), cursor: z.string().optional() });

const uscc = z.string().regex(/^[0-9A-Z]{18}$/, '18-character unified social credit code (须为 18 位统一社会信用代码)');

interface KindSpec {
  kind: RegistryKind;
  label: string;
  id: z.ZodType;
  input: z.ZodType;
  output: z.ZodType;
  filters: z.ZodRawShape;
  /** where an entry belongs, for the caller's scope: nowhere (reference data), or by its place resolver and list item */
  place?: { resolver: string; item: (entry: { item: Record<string, string> }) => Place | PlaceRef };
  /** what create takes and answers, when it differs from replace */
  create?: { input: z.ZodType; output: z.ZodType; description: string };
}

const enterpriseOf = (e: { item: Record<string, string> }) => ({
  ref: e.item['enterpriseId'],
  place: PLACES.enterprise,
});

/** A device with the certificate IoT Core just issued for it: the private key, when IoT made it, only in this answer. */
const withCertificate = (certificate: z.ZodType) => versioned(Device).extend({ certificate });

const KINDS: KindSpec[] = [
  {
    kind: 'townships',
    label: '乡镇（街道） townships',
    id: z
      .string()
      .regex(
        /^[a-z]{2,20}$/,
        'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)',
      ),
    input: Township,
    output: Township,
    filters: {},
  },
  {
    kind: 'enterprises',
    label: '排污单位 enterprises',
    id: uscc,
    input: Enterprise,
    output: Enterprise,
    place: {
      resolver: PLACES.enterprise,
      item: (e) => ({ townshipId: e.item['townshipId'], enterpriseId: e.item['id'] }),
    },
    filters: {
      township: z
        .string()
        .regex(
          /^[a-z]{2,20}$/,
          'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)',
        )
        .optional(),
    },
  },
  {
    kind: 'outlets',
    label: '排放口 outlets',
    id: z
      .string()
      .regex(/^[0-9A-Z]{18}-D[WA]\d{3}$/, 'outlet id is `<USCC>-<code>` (排放口编号为“统一社会信用代码-排放口代码”)'),
    input: Outlet,
    output: Outlet,
    place: { resolver: PLACES.outlet, item: enterpriseOf },
    filters: { enterprise: uscc.optional() },
  },
  {
    kind: 'devices',
    label: '监测设备 devices',
    id: z.string().regex(/^[0-9A-Za-z]{1,24}$/, 'MN is up to 24 letters or digits (MN 为 1 至 24 位字母或数字)'),
    input: DeviceInput,
    output: Device,
    place: { resolver: PLACES.device, item: enterpriseOf },
    filters: { enterprise: uscc.optional() },
    create: {
      input: DeviceRegistration,
      output: withCertificate(IssuedCertificate.optional()),
      description:
        'An MQTT device (`transport: mqtt`; every `json-mqtt` device) is registered with its IoT thing (name = MN) and a certificate: from `csr` when the installer made the key on the device, else a key pair IoT Core generates, whose `certificate.privateKey` is in this answer only. If IoT Core fails half-way the answer is 503 and the device shows a `pending` certificate: the same request again completes it.',
    },
  },
];

function routesFor(k: KindSpec): Record<string, RouteContract> {
  const base = `/registry/${k.kind}`;
  const tags = ['registry'];
  const params = z.strictObject({ id: k.id });
  return {
    [`list_${k.kind}`]: {
      method: 'GET',
      scope: k.place
        ? { kind: 'list', item: k.place.item }
        : { kind: 'open', why: 'reference data every official uses' },
      path: base,
      auth: REGISTRY_READERS,
      tags,
      summary: `列出${k.label}`,
      query: listQuery.extend(k.filters),
      response: page(k.output),
    },
    [`get_${k.kind}`]: {
      method: 'GET',
      scope: k.place
        ? { kind: 'entity', param: 'id', place: k.place.resolver }
        : { kind: 'open', why: 'reference data every official uses' },
      path: `${base}/{id}`,
      auth: REGISTRY_READERS,
      tags,
      summary: `查看${k.label}`,
      params,
      response: versioned(k.output),
    },
    [`create_${k.kind}`]: {
      method: 'POST',
      // the registry is kept for the whole county
      scope: { kind: 'county' },
      path: base,
      auth: REGISTRY_WRITERS,
      tags,
      summary: `新增${k.label}`,
      ...(k.create ? { description: k.create.description } : {}),
      body: k.create?.input ?? k.input,
      response: k.create?.output ?? versioned(k.output),
      status: 201,
    },
    [`replace_${k.kind}`]: {
      method: 'PUT',
      scope: { kind: 'county' },
      path: `${base}/{id}`,
      auth: REGISTRY_WRITERS,
      tags,
      summary: `修改${k.label}`,
      description:
        'Replaces the whole entry. Send `If-Match: "<version>"` to refuse the change when someone else changed it first (412).',
      params,
      body: k.input,
      response: versioned(k.output),
    },
  };
}

const deviceParams = z.strictObject({
  id: z.string().regex(/^[0-9A-Za-z]{1,24}$/, 'MN is up to 24 letters or digits (MN 为 1 至 24 位字母或数字)'),
});

/** An MQTT device's certificate (issue, complete, rotate) and decommissioning: IoT Core through the registry. */
export const deviceIdentityRoutes = defineRoutes({
  issue_device_certificate: {
    method: 'POST',
    // certificates are issued and withdrawn for the whole county
    scope: { kind: 'county' },
    path: '/registry/devices/{id}/certificate',
    auth: REGISTRY_WRITERS,
    tags: ['registry'],
    summary: '签发设备证书（物联网接入）',
    description:
      'Issues the certificate of a registered MQTT device: its first one (a device registered without one, e.g. seeded), a retry after a 503, or with `rotate: true` a replacement (the old certificate is deactivated and detached once the new one is active). 409 when the device is not `mqtt`, is retired, or already has an active certificate and `rotate` is not set. The private key, when IoT Core generates it, is in this answer only.',
    params: deviceParams,
    body: z.strictObject({
      csr: Csr.optional(),
      rotate: z.boolean().default(false).describe('replace an active certificate'),
    }),
    response: withCertificate(IssuedCertificate),
    status: 201,
  },
  decommission_device: {
    method: 'POST',
    // certificates are issued and withdrawn for the whole county
    scope: { kind: 'county' },
    path: '/registry/devices/{id}/decommission',
    auth: REGISTRY_WRITERS,
    tags: ['registry'],
    summary: '设备停用（吊销接入）',
    description:
      'Retires a device: each of its certificates is deactivated (UpdateCertificate INACTIVE) and detached from its thing and from the device policy, then the device is stored with status `retired`. Its connections are refused from then on. Repeating it is harmless. Replacing a device with status `retired` (PUT) does the same.',
    params: deviceParams,
    response: versioned(Device),
  },
  enroll_device_key: {
    method: 'POST',
    // device keys, like certificates, are managed for the whole county
    scope: { kind: 'county' },
    path: '/registry/devices/{id}/sm4-key',
    auth: REGISTRY_WRITERS,
    tags: ['registry'],
    summary: '录入设备 SM4 密钥（HJ 212-2025 加密传输）',
    description:
      "Enters the installer's SM4 key of a registered HJ 212 device upgraded to HJ 212-2025 (a new device gives `sm4Key` at registration): 16 characters, refused when patterned or fixed (fewer than 8 different characters, a repeated block, a run of consecutive characters, a published example). The key is sealed under the device-key KMS key and never shown again; from then on the device's data (CN 2000–2999, 1014, 3020) must arrive encrypted. 409 when the device has a key already (a new one comes by rotation).",
    params: deviceParams,
    body: z.strictObject({ sm4Key: z.string().max(64).describe('16 位 SM4 密钥') }),
    response: versioned(Device),
  },
  rotate_device_key: {
    method: 'POST',
    scope: { kind: 'county' },
    path: '/registry/devices/{id}/sm4-key/rotation',
    auth: REGISTRY_WRITERS,
    tags: ['registry'],
    summary: '立即轮换设备 SM4 密钥',
    description:
      "Pushes a new SM4 key to an encrypting device now, besides the 90-day schedule, through the device-command path: a CN 1014 command (its QN in the answer's pending key version, `sm4.versions[].pushQn`; follow it at GET /devices/{mn}/commands/{qn}) encrypted under the current key, written by the gateway task holding a TCP device's connection or published on an MQTT device's command topic. The key becomes current once the device answers 9012 ExeRtn=1; the old one stays valid for the grace window. A device not connected now gets the push again when it next sends (after 10 minutes). The key is never shown. 409 when the device does not encrypt.",
    params: deviceParams,
    response: versioned(Device),
  },
});

/** New data loggers (HJ 212-2025 CN 1001 / 1002): the hardware identities reported, and an MN given to one. */
export const loggerRoutes = defineRoutes({
  list_pending_loggers: {
    method: 'GET',
    // loggers are not yet anywhere: they are managed for the whole county, like certificates and keys
    scope: { kind: 'county' },
    path: '/registry/loggers',
    auth: REGISTRY_WRITERS,
    tags: ['registry'],
    summary: '待分配 MN 的数采仪（CN 1001 上报的硬件序号）',
    description:
      'Data loggers that reported their hardware identity with CN 1001 and an empty MN: serial (`i23005-Info`), CPUID (`i23006-Info`), MACs (`i23007/i23008-Info`), first and last seen, the gateway connection of the latest report, and the state of their MN assignment (`pending`, `assigning` once a 1002 was sent, `linked` once the logger answered 9012 ExeRtn=1). Nothing else a logger sends before it has an MN is kept. The address (`HW` + 24 hex digits) names the logger in the assignment route.',
    query: listQuery,
    response: page(PendingLogger),
  },
  assign_logger_mn: {
    method: 'POST',
    scope: { kind: 'county' },
    path: '/registry/loggers/{address}/assignment',
    auth: REGISTRY_WRITERS,
    tags: ['registry'],
    summary: '为数采仪分配 MN（下发 CN 1002）',
    description:
      "Gives a pending logger the MN of a device already registered (HJ 212 over TCP, not retired, with no logger linked): the device records the logger's identity as `assigning` and a CN 1002 command (`i23005-Info=<serial>`, the new MN in the header, Flag 9) goes through the device-command path to the gateway task holding the logger's connection (topic `envwatch/gateway/cmd/<address>`), written with the PW of the logger's report. Follow it at GET /devices/{mn}/commands/{qn}. The logger answers 9011/9012 under its new MN and PW; its 9012 ExeRtn=1 links it (`linked`). Sending the same MN again re-sends the 1002. 404 unknown address; 400 when the MN is not a registered TCP device; 409 when the device or the logger is linked to another.",
    params: z.strictObject({
      address: z.string().regex(/^HW[0-9A-F]{24}$/, 'HW followed by 24 hex digits (HW 加 24 位十六进制数字)'),
    }),
    body: AssignMnRequest,
    response: z.object({
      logger: versioned(PendingLogger),
      command: z.object({ qn: z.string(), status: z.string() }),
    }),
    status: 201,
  },
});

export const registryRoutes = defineRoutes({
  ...Object.assign({}, ...KINDS.map(routesFor)),
  ...deviceIdentityRoutes,
  ...loggerRoutes,
} as Record<string, RouteContract>);

/** Which list filter selects a parent: `?township=` for enterprises, `?enterprise=` for outlets and devices. */
export const PARENT_FILTERS: Record<RegistryKind, { query: string; parent: RegistryKind } | undefined> = {
  townships: undefined,
  enterprises: { query: 'township', parent: 'townships' },
  outlets: { query: 'enterprise', parent: 'enterprises' },
  devices: { query: 'enterprise', parent: 'enterprises' },
  loggers: undefined,
};
