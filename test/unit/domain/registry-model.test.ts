import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { splitBilingual } from '#shared/domain/errors.ts';
import {
  Device,
  DeviceInput,
  Enterprise,
  LimitValue,
  Location,
  Outlet,
  Township,
} from '#shared/domain/registry/model.ts';
import { usccCheckChar } from '#shared/domain/registry/uscc.ts';

const first17 = '91331126MA2BTE0T1';
const USCC = first17 + usccCheckChar(first17);

const township = { id: 'songyuan', name: '松源街道', type: '街道', pinyin: 'Songyuan Jiedao' };

const enterprise = {
  id: USCC,
  name: '庆元县测试竹木有限公司',
  townshipId: 'songyuan',
  industry: 'bamboo_wood',
  address: '庆元县松源街道测试路1号',
  location: { lat: 27.62, lng: 119.06 },
  permitClass: 'simplified',
  regulator: '庆元县经济商务科技局',
  responsiblePerson: { name: '张三', phone: '13800000000' },
};

const cod = { pollutant: 'w01018', unit: 'mg/L', standard: 'GB 8978-1996', grade: '表4 一级', max: 100 };

const outlet = {
  id: `${USCC}-DW001`,
  enterpriseId: USCC,
  code: 'DW001',
  name: '总排口',
  medium: 'water',
  location: { lat: 27.62, lng: 119.06 },
  limits: [cod],
};

const device = {
  mn: '33112600000000000000TT01',
  enterpriseId: USCC,
  outletId: `${USCC}-DW001`,
  st: '32',
  protocol: 'hj212-2017',
  pollutants: ['w01018', 'w21003'],
  intervals: { realtimeSeconds: 60, minuteMinutes: 10 },
};

/** The paths and English messages of the issues a schema reports for `value` (the Chinese is checked apart). */
function issuesOf(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: i.path.join('.'), message: splitBilingual(i.message).en }));
}

describe('registry model schemas', () => {
  it('accepts a valid township, enterprise, outlet and device and fills defaults', () => {
    expect(Township.parse(township)).toEqual(township);
    expect(Enterprise.parse(enterprise).status).toBe('operating');
    const o = Outlet.parse(outlet);
    expect(o.inDrinkingWaterProtectionZone).toBe(false);
    expect(o.limits[0]?.basis).toBe('hourly');
    const d = Device.parse(device);
    expect(d.status).toBe('active');
    expect(d.intervals.hourly).toBe(true);
  });

  it('rejects a location outside Qingyuan county', () => {
    expect(issuesOf(Location, { lat: 30.27, lng: 120.15 })).toEqual([
      { path: '', message: expect.stringContaining('outside Qingyuan county') },
    ]);
    expect(Enterprise.safeParse({ ...enterprise, location: { lat: 27.62, lng: 119.6 } }).error?.issues).toEqual([
      expect.objectContaining({ path: ['location'], message: expect.stringContaining('坐标不在庆元县范围内') }),
    ]);
  });

  it('rejects an enterprise whose USCC check character is wrong', () => {
    const bad = `${USCC.slice(0, 17)}${USCC.endsWith('0') ? '1' : '0'}`;
    expect(issuesOf(Enterprise, { ...enterprise, id: bad })).toEqual([
      { path: 'id', message: expect.stringContaining('unified social credit code') },
    ]);
  });

  it('rejects a DW code on an air outlet', () => {
    expect(issuesOf(Outlet, { ...outlet, medium: 'air', limits: [] })).toEqual([
      { path: 'code', message: 'DW codes are water outlets, DA codes air outlets' },
    ]);
  });

  it('rejects an outlet id that is not `<enterpriseId>-<code>`', () => {
    expect(issuesOf(Outlet, { ...outlet, code: 'DW002' })).toEqual([
      { path: 'id', message: 'id must equal `<enterpriseId>-<code>`' },
    ]);
  });

  it('rejects a second limit for the same pollutant', () => {
    expect(issuesOf(Outlet, { ...outlet, limits: [cod, { ...cod, max: 50 }] })).toEqual([
      { path: 'limits.1.pollutant', message: 'one limit per pollutant' },
    ]);
  });

  it('rejects an air pollutant limit on a water outlet', () => {
    const so2 = { ...cod, pollutant: 'a21026', unit: 'mg/m³' };
    expect(issuesOf(Outlet, { ...outlet, limits: [so2] })).toEqual([
      { path: 'limits.0.pollutant', message: 'a air pollutant on a water outlet' },
    ]);
  });

  it('rejects a limit whose min is not below its max', () => {
    const ph = { pollutant: 'w01001', unit: '无量纲', standard: 'GB 8978-1996', grade: '一级' };
    expect(issuesOf(LimitValue, { ...ph, min: 9, max: 6 })).toEqual([{ path: '', message: 'min must be below max' }]);
    expect(issuesOf(LimitValue, { ...ph, min: 6, max: 6 })).toEqual([{ path: '', message: 'min must be below max' }]);
    expect(issuesOf(LimitValue, { ...ph, min: 6, max: 9 })).toEqual([]);
  });

  it('rejects a limit with neither min nor max', () => {
    const { max: _max, ...noBounds } = cod;
    expect(issuesOf(LimitValue, noBounds)).toEqual([{ path: '', message: 'a limit needs max, min or both' }]);
  });

  it('rejects an unknown pollutant code in a limit and in a device', () => {
    expect(issuesOf(LimitValue, { ...cod, pollutant: 'w99999' })).toEqual([
      { path: 'pollutant', message: 'unknown HJ 212-2017 pollutant code' },
    ]);
    expect(issuesOf(Device, { ...device, pollutants: ['w01018', '011'] })).toEqual([
      { path: 'pollutants.1', message: 'unknown HJ 212-2017 pollutant code' },
    ]);
  });

  it('maps HJ 212-2025 electricity meters and conditions in the one equipment list, d2 production and d3 treatment', () => {
    const equipment = [
      { code: 'SB1', role: 'production', name: '蒸煮线' },
      { code: 'd20105', role: 'production', name: '蒸煮线用电', runningAbove: 10 },
      { code: 'p99101', role: 'production', name: '蒸煮线工况', runningAbove: 1 },
      { code: 'd30106', role: 'treatment', name: '污水站用电', runningAbove: 2 },
    ];
    expect(issuesOf(Device, { ...device, equipment })).toEqual([]);
    expect(
      issuesOf(Device, {
        ...device,
        equipment: [
          { code: 'd30106', role: 'production', name: '错配' },
          { code: 'd20105', role: 'treatment', name: '错配' },
          { code: 'd40106', role: 'treatment', name: '未知' },
        ],
      }),
    ).toEqual([
      { path: 'equipment.0.role', message: 'a d3xxxx meter is a treatment facility' },
      { path: 'equipment.1.role', message: 'a d2xxxx meter is a production facility' },
      {
        path: 'equipment.2.code',
        message: 'SBx facility, i332xx or d2xxxx/d3xxxx meter, or pxxxxx condition code',
      },
    ]);
  });

  it('rejects a minute interval that does not divide the hour', () => {
    expect(issuesOf(Device, { ...device, intervals: { realtimeSeconds: 60, minuteMinutes: 7 } })).toEqual([
      { path: 'intervals.minuteMinutes', message: 'minute interval must be 1,2,3,4,5,6,10,12,15,20 or 30' },
    ]);
    for (const m of [1, 5, 10, 30]) {
      expect(issuesOf(Device, { ...device, intervals: { realtimeSeconds: 60, minuteMinutes: m } })).toEqual([]);
    }
  });

  it('rejects a real-time interval outside 30–3600 s', () => {
    expect(issuesOf(Device, { ...device, intervals: { realtimeSeconds: 10, minuteMinutes: 10 } })[0]?.path).toBe(
      'intervals.realtimeSeconds',
    );
  });

  it('rejects a device password that is too short or not printable ASCII', () => {
    expect(issuesOf(DeviceInput, { ...device, password: '12345' })[0]?.path).toBe('password');
    expect(issuesOf(DeviceInput, { ...device, password: '密码密码密码' })).toEqual([
      { path: 'password', message: 'password is 6–32 printable ASCII characters' },
    ]);
    expect(issuesOf(DeviceInput, { ...device, password: 'abc123' })).toEqual([]);
  });

  it('rejects a responsible person phone that is not a mainland number', () => {
    const e = { ...enterprise, responsiblePerson: { name: '张三', phone: '12345' } };
    expect(issuesOf(Enterprise, e)).toEqual([
      { path: 'responsiblePerson.phone', message: 'phone must be a mainland mobile or landline number' },
    ]);
    const landline = { ...enterprise, responsiblePerson: { name: '张三', phone: '0578-6122345' } };
    expect(issuesOf(Enterprise, landline)).toEqual([]);
  });
});
