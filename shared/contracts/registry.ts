import * as z from 'zod';
import { Device, DeviceInput, Enterprise, Outlet, Township } from '#shared/domain/registry/model.ts';
import type { RegistryKind } from '#shared/domain/registry/store.ts';
import { REGISTRY_READERS, REGISTRY_WRITERS } from '#shared/domain/roles.ts';
import type { Place } from '#shared/domain/scope.ts';
import { defineRoutes, type RouteContract } from '#shared/http/contract.ts';
import type { PlaceRef } from '#shared/http/scope.ts';
import { PLACES } from './places.ts';

/** The registry API: list, get, create and replace townships, enterprises, outlets and devices. */
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
}

const enterpriseOf = (e: { item: Record<string, string> }) => ({
  ref: e.item['enterpriseId'],
  place: PLACES.enterprise,
});

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
      body: k.input,
      response: versioned(k.output),
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

export const registryRoutes = defineRoutes(Object.assign({}, ...KINDS.map(routesFor)) as Record<string, RouteContract>);

/** Which list filter selects a parent: `?township=` for enterprises, `?enterprise=` for outlets and devices. */
export const PARENT_FILTERS: Record<RegistryKind, { query: string; parent: RegistryKind } | undefined> = {
  townships: undefined,
  enterprises: { query: 'township', parent: 'townships' },
  outlets: { query: 'enterprise', parent: 'enterprises' },
  devices: { query: 'enterprise', parent: 'enterprises' },
};
