import { api, data } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { getPath } from '../../forms.ts';

/**
 * 名录: the four registry kinds the console lists, shows and edits (permit limits are part of an outlet), described
 * once: their columns, their form fields and their API paths. Labels are display text; every rule stays in the API,
 * whose field errors the forms show where the field is.
 */
export type Kind = 'townships' | 'enterprises' | 'outlets' | 'devices';
export type Township = components['schemas']['Township'];
export type Enterprise = components['schemas']['Enterprise'];
export type Outlet = components['schemas']['Outlet'];
export type Device = components['schemas']['Device'];
export type Limit = components['schemas']['LimitValue'];
export type Item = Record<string, unknown>;
export interface Versioned<T = Item> {
  item: T;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Option {
  value: string | number;
  label: string;
}

/** where a select's options come from: fixed, or the registry itself */
export type OptionSource = Option[] | 'townships' | 'enterprises' | 'outlets';

export interface Field {
  path: string;
  label: string;
  type: 'text' | 'textarea' | 'number' | 'switch' | 'date' | 'select' | 'tags' | 'password';
  options?: OptionSource;
  /** the id: set on creation, fixed afterwards */
  key?: boolean;
  /** only when creating (a device's password may also be changed) */
  createOnly?: boolean;
  required?: boolean;
  hint?: string;
}

export interface Column {
  label: string;
  value: (item: Item) => string;
  width?: number;
}

export interface KindSpec {
  kind: Kind;
  label: string;
  /** the id of an entry */
  id: (item: Item) => string;
  title: (item: Item) => string;
  columns: Column[];
  fields: Field[];
  blank: () => Item;
  /** a list filter selecting a parent */
  filter?: { query: 'township' | 'enterprise'; label: string; options: 'townships' | 'enterprises' };
}

export const INDUSTRIES: Option[] = [
  { value: 'bamboo_wood', label: '竹木制品' },
  { value: 'edible_fungi', label: '食用菌' },
  { value: 'pencil', label: '铅笔制造' },
  { value: 'wastewater_treatment', label: '污水处理' },
  { value: 'boiler_heating', label: '锅炉供热' },
  { value: 'paper', label: '造纸' },
  { value: 'chemical', label: '化工' },
  { value: 'waste_incineration', label: '生活垃圾焚烧' },
  { value: 'other', label: '其他' },
];
const PERMIT_CLASSES: Option[] = [
  { value: 'key', label: '重点管理' },
  { value: 'simplified', label: '简化管理' },
  { value: 'registration', label: '登记管理' },
];
const ENTERPRISE_STATUS: Option[] = [
  { value: 'operating', label: '在产' },
  { value: 'suspended', label: '停产' },
  { value: 'closed', label: '关闭' },
];
const TOWNSHIP_TYPES: Option[] = ['街道', '镇', '乡'].map((t) => ({ value: t, label: t }));
const MEDIUMS: Option[] = [
  { value: 'water', label: '废水' },
  { value: 'air', label: '废气' },
];
export const BASES: Option[] = [
  { value: 'hourly', label: '小时均值' },
  { value: 'daily', label: '日均值' },
  { value: 'instant', label: '瞬时值' },
];
const SYSTEMS: Option[] = [
  { value: '21', label: '21 地表水' },
  { value: '22', label: '22 空气质量' },
  { value: '23', label: '23 声环境' },
  { value: '27', label: '27 噪声' },
  { value: '31', label: '31 大气环境污染源' },
  { value: '32', label: '32 地表水体环境污染源' },
  { value: '36', label: '36 工况' },
  { value: '39', label: '39 其他' },
  { value: '51', label: '51 烟气排放过程监控' },
  { value: '52', label: '52 污水排放过程监控' },
];
const PROTOCOLS: Option[] = [
  { value: 'hj212-2025', label: 'HJ 212-2025（SM4 加密）' },
  { value: 'hj212-2017', label: 'HJ 212-2017' },
  { value: 'hj212-2005', label: 'HJ/T 212-2005' },
  { value: 'json-mqtt', label: 'JSON（MQTT）' },
];
const TRANSPORTS: Option[] = [
  { value: 'tcp', label: 'TCP（HJ 212 网关，密码认证）' },
  { value: 'mqtt', label: 'MQTT（物联网平台，证书认证）' },
];
const DEVICE_STATUS: Option[] = [
  { value: 'active', label: '在用' },
  { value: 'maintenance', label: '维护中' },
  { value: 'retired', label: '停用' },
];
const MINUTES: Option[] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].map((m) => ({ value: m, label: `${m} 分钟` }));

const labelOf = (options: Option[], value: unknown) =>
  options.find((o) => o.value === value)?.label ?? String(value ?? '');
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const at = (item: Item, path: string) => str(getPath(item, path));

/** The registry's township names, for columns; set by the pages once loaded. */
export const names = { township: (id: string) => id, enterprise: (id: string) => id };

export const KINDS: Record<Kind, KindSpec> = {
  townships: {
    kind: 'townships',
    label: '乡镇（街道）',
    id: (i) => at(i, 'id'),
    title: (i) => at(i, 'name'),
    columns: [
      { label: '名称', value: (i) => at(i, 'name'), width: 140 },
      { label: '编号', value: (i) => at(i, 'id'), width: 130 },
      { label: '类型', value: (i) => at(i, 'type'), width: 80 },
      { label: '区划代码', value: (i) => at(i, 'adminCode'), width: 150 },
      { label: '备注', value: (i) => at(i, 'note') },
    ],
    fields: [
      { path: 'id', label: '编号（小写拼音）', type: 'text', key: true, required: true, hint: '如 songyuan' },
      { path: 'name', label: '名称', type: 'text', required: true },
      { path: 'type', label: '类型', type: 'select', options: TOWNSHIP_TYPES, required: true },
      { path: 'pinyin', label: '拼音', type: 'text', required: true, hint: '如 Songyuan Jiedao' },
      { path: 'adminCode', label: '区划代码', type: 'text', hint: '331126 加 6 位数字' },
      { path: 'centre.lat', label: '中心纬度（WGS-84）', type: 'number' },
      { path: 'centre.lng', label: '中心经度（WGS-84）', type: 'number' },
      { path: 'note', label: '备注', type: 'textarea' },
    ],
    blank: () => ({ type: '镇' }),
  },
  enterprises: {
    kind: 'enterprises',
    label: '排污单位',
    id: (i) => at(i, 'id'),
    title: (i) => at(i, 'name'),
    columns: [
      { label: '单位名称', value: (i) => at(i, 'name') },
      { label: '统一社会信用代码', value: (i) => at(i, 'id'), width: 215 },
      { label: '乡镇', value: (i) => names.township(at(i, 'townshipId')), width: 110 },
      { label: '行业', value: (i) => labelOf(INDUSTRIES, i['industry']), width: 100 },
      { label: '管理类别', value: (i) => labelOf(PERMIT_CLASSES, i['permitClass']), width: 100 },
      { label: '状态', value: (i) => labelOf(ENTERPRISE_STATUS, i['status']), width: 80 },
    ],
    fields: [
      { path: 'id', label: '统一社会信用代码', type: 'text', key: true, required: true },
      { path: 'name', label: '单位名称', type: 'text', required: true },
      { path: 'townshipId', label: '所在乡镇', type: 'select', options: 'townships', required: true },
      { path: 'industry', label: '行业', type: 'select', options: INDUSTRIES, required: true },
      { path: 'address', label: '地址', type: 'text', required: true },
      { path: 'location.lat', label: '纬度（WGS-84）', type: 'number', required: true },
      { path: 'location.lng', label: '经度（WGS-84）', type: 'number', required: true },
      { path: 'permitClass', label: '排污许可管理类别', type: 'select', options: PERMIT_CLASSES, required: true },
      { path: 'permitNumber', label: '排污许可证编号', type: 'text' },
      { path: 'regulator', label: '行业主管部门', type: 'text', required: true, hint: '如 庆元县经济商务科技局' },
      { path: 'responsiblePerson.name', label: '环保负责人', type: 'text', required: true },
      { path: 'responsiblePerson.phone', label: '负责人电话', type: 'text', required: true },
      { path: 'credit.rating', label: '信用评价', type: 'text' },
      { path: 'status', label: '状态', type: 'select', options: ENTERPRISE_STATUS, required: true },
    ],
    blank: () => ({ status: 'operating', permitClass: 'simplified' }),
    filter: { query: 'township', label: '乡镇', options: 'townships' },
  },
  outlets: {
    kind: 'outlets',
    label: '排放口',
    id: (i) => at(i, 'id'),
    title: (i) => `${at(i, 'name')}（${at(i, 'code')}）`,
    columns: [
      { label: '排放口', value: (i) => at(i, 'name') },
      { label: '代码', value: (i) => at(i, 'code'), width: 80 },
      { label: '单位', value: (i) => names.enterprise(at(i, 'enterpriseId')) },
      { label: '类型', value: (i) => labelOf(MEDIUMS, i['medium']), width: 70 },
      { label: '许可限值', value: (i) => `${(i['limits'] as unknown[] | undefined)?.length ?? 0} 项`, width: 90 },
    ],
    fields: [
      { path: 'enterpriseId', label: '所属单位', type: 'select', options: 'enterprises', key: true, required: true },
      {
        path: 'code',
        label: '排放口代码',
        type: 'text',
        key: true,
        required: true,
        hint: 'DW001（废水）或 DA001（废气）',
      },
      { path: 'name', label: '名称', type: 'text', required: true },
      { path: 'medium', label: '类型', type: 'select', options: MEDIUMS, required: true },
      { path: 'location.lat', label: '纬度（WGS-84）', type: 'number', required: true },
      { path: 'location.lng', label: '经度（WGS-84）', type: 'number', required: true },
      { path: 'receivingWater', label: '受纳水体', type: 'text' },
      { path: 'stackHeightM', label: '排气筒高度（米）', type: 'number' },
      { path: 'inDrinkingWaterProtectionZone', label: '位于饮用水水源保护区', type: 'switch' },
    ],
    blank: () => ({ medium: 'water', inDrinkingWaterProtectionZone: false, limits: [] }),
    filter: { query: 'enterprise', label: '单位', options: 'enterprises' },
  },
  devices: {
    kind: 'devices',
    label: '监测设备',
    id: (i) => at(i, 'mn'),
    title: (i) => `设备 ${at(i, 'mn')}`,
    columns: [
      { label: 'MN', value: (i) => at(i, 'mn'), width: 230 },
      { label: '单位', value: (i) => names.enterprise(at(i, 'enterpriseId')) },
      { label: '排放口', value: (i) => at(i, 'outletId').split('-')[1] ?? '', width: 80 },
      { label: '协议', value: (i) => labelOf(PROTOCOLS, i['protocol']), width: 120 },
      { label: '接入', value: (i) => at(i, 'transport').toUpperCase(), width: 70 },
      { label: '状态', value: (i) => labelOf(DEVICE_STATUS, i['status']), width: 80 },
    ],
    fields: [
      { path: 'mn', label: '设备唯一标识 MN', type: 'text', key: true, required: true },
      { path: 'enterpriseId', label: '所属单位', type: 'select', options: 'enterprises', required: true },
      { path: 'outletId', label: '排放口', type: 'select', options: 'outlets', required: true },
      { path: 'st', label: '系统编码 ST', type: 'select', options: SYSTEMS, required: true },
      { path: 'protocol', label: '通信协议', type: 'select', options: PROTOCOLS, required: true },
      { path: 'transport', label: '接入方式', type: 'select', options: TRANSPORTS },
      { path: 'pollutants', label: '监测因子（HJ 212 代码）', type: 'tags', required: true, hint: '如 w01018、a21026' },
      { path: 'intervals.realtimeSeconds', label: '实时数据间隔（秒）', type: 'number', required: true },
      { path: 'intervals.minuteMinutes', label: '分钟数据间隔', type: 'select', options: MINUTES, required: true },
      { path: 'intervals.hourly', label: '上报小时数据', type: 'switch' },
      { path: 'model', label: '型号', type: 'text' },
      { path: 'installedAt', label: '安装日期', type: 'date' },
      { path: 'status', label: '状态', type: 'select', options: DEVICE_STATUS, required: true },
      { path: 'password', label: '访问密码（TCP 设备；留空不修改）', type: 'password' },
      {
        path: 'sm4Key',
        label: 'SM4 密钥（HJ 212-2025 加密设备）',
        type: 'password',
        createOnly: true,
        hint: '16 位，安装人员设置；只在登记时录入，此后不再显示',
      },
    ],
    blank: () => ({
      protocol: 'hj212-2017',
      st: '32',
      status: 'active',
      pollutants: [],
      intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
    }),
    filter: { query: 'enterprise', label: '单位', options: 'enterprises' },
  },
};

export const KIND_LIST: KindSpec[] = Object.values(KINDS);
export const isKind = (k: unknown): k is Kind => typeof k === 'string' && k in KINDS;

// The registry paths are one contract per kind (shared/contracts/registry.ts); these name them once for every kind.
type ListPath = '/registry/enterprises';
type EntryPath = '/registry/enterprises/{id}';

export interface Page {
  items: Versioned[];
  cursor?: string;
}

export function listEntries(
  kind: Kind,
  query: { limit?: number; cursor?: string; township?: string; enterprise?: string },
) {
  return data(
    api().GET(`/registry/${kind}` as ListPath, { params: { query: query as { township?: string } } }),
  ) as Promise<Page>;
}

/** Every entry of a kind (the registry is small: units of one county), following the cursor. */
export async function allEntries(kind: Kind, query: { township?: string; enterprise?: string } = {}) {
  const out: Versioned[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEntries(kind, { ...query, limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor && out.length < 2000);
  return out;
}

export function getEntry(kind: Kind, id: string) {
  return data(api().GET(`/registry/${kind}/{id}` as EntryPath, { params: { path: { id } } })) as Promise<Versioned>;
}

export function createEntry(kind: Kind, body: Item) {
  return data(api().POST(`/registry/${kind}` as ListPath, { body: body as never })) as Promise<
    Versioned & { certificate?: { privateKey?: string; certificatePem: string; thingName: string } }
  >;
}

export function replaceEntry(kind: Kind, id: string, version: number, body: Item) {
  return data(
    api().PUT(`/registry/${kind}/{id}` as EntryPath, {
      params: { path: { id } },
      headers: { 'if-match': `"${version}"` },
      body: body as never,
    }),
  ) as Promise<Versioned>;
}
