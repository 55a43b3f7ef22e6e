import { describe, expect, it } from 'vitest';
import { compact, placeErrors, setPath } from '#web/console/src/form-paths.ts';

describe('console forms', () => {
  it('puts a field error on its field, under it, or on the first field of its group, and lists the rest', () => {
    const fields = {
      name: '不能为空',
      location: '坐标不在庆元县范围内',
      'responsiblePerson.phone.0': '请填写正确的号码',
      id: '编号须为“单位代码-排放口代码”',
    };
    const placed = placeErrors(fields, ['name', 'location.lat', 'location.lng', 'responsiblePerson.phone']);
    expect(placed.at).toEqual({
      name: '不能为空',
      'location.lat': '坐标不在庆元县范围内',
      'responsiblePerson.phone': '请填写正确的号码',
    });
    expect(placed.rest).toEqual(['编号须为“单位代码-排放口代码”']);
  });

  it('sends what was filled in: no empty strings, nulls or emptied groups, text trimmed', () => {
    const form: Record<string, unknown> = {
      name: ' 某公司 ',
      note: '',
      centre: { lat: null, lng: undefined },
      limits: [],
    };
    setPath(form, 'location.lat', 27.6);
    expect(compact(form)).toEqual({ name: '某公司', location: { lat: 27.6 }, limits: [] });
  });
});
