import { describe, expect, it } from 'vitest';
import { POLLUTANTS, pollutant, toCurrentCode } from '#shared/domain/pollutants.ts';

describe('toCurrentCode', () => {
  it('maps HJ/T 212-2005 codes to their HJ 212-2017 codes', () => {
    expect(toCurrentCode('011')).toBe('w01018'); // COD
    expect(toCurrentCode('060')).toBe('w21003'); // ammonia nitrogen
    expect(toCurrentCode('001')).toBe('w01001'); // pH
    expect(toCurrentCode('B01')).toBe('w00000'); // wastewater flow
    expect(toCurrentCode('02')).toBe('a21026'); // SO2
    expect(toCurrentCode('03')).toBe('a21002'); // NOx
    expect(toCurrentCode('01')).toBe('a34013'); // smoke dust
    expect(toCurrentCode('S01')).toBe('a19001'); // O2
  });

  it('passes 2017 codes through unchanged', () => {
    expect(toCurrentCode('w01018')).toBe('w01018');
    expect(toCurrentCode('a34004')).toBe('a34004');
  });

  it('keeps an unknown code as it is', () => {
    expect(toCurrentCode('x99999')).toBe('x99999');
    expect(toCurrentCode('999')).toBe('999');
  });
});

describe('pollutant', () => {
  it('describes a known code with name, unit and medium', () => {
    expect(pollutant('w01018')).toMatchObject({ nameZh: '化学需氧量', unit: 'mg/L', medium: 'water', oldCode: '011' });
    expect(pollutant('w20111')?.heavyMetal).toBe(true);
  });

  it('returns undefined for an unknown code', () => {
    expect(pollutant('w99999')).toBeUndefined();
  });
});

describe('POLLUTANTS', () => {
  it('has unique current and old codes', () => {
    const codes = POLLUTANTS.map((p) => p.code);
    const old = POLLUTANTS.flatMap((p) => (p.oldCode ? [p.oldCode] : []));
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(old).size).toBe(old.length);
  });

  it('prefixes water codes with w and air codes with a', () => {
    for (const p of POLLUTANTS) {
      if (p.medium === 'water') expect(p.code, p.code).toMatch(/^w\d{5}$/);
      if (p.medium === 'air') expect(p.code, p.code).toMatch(/^a\d{5}$/);
    }
  });
});
