import { describe, expect, it } from 'vitest';
import { parseListClaim, principalFromClaims } from '#shared/http/principal.ts';

describe('parseListClaim', () => {
  it('reads API Gateway’s "[a b]" form of an array claim', () => {
    expect(parseListClaim('[admin analyst]')).toEqual(['admin', 'analyst']);
    expect(parseListClaim('[admin]')).toEqual(['admin']);
    expect(parseListClaim('[]')).toEqual([]);
  });

  it('reads a JSON array string', () => {
    expect(parseListClaim('["admin","analyst"]')).toEqual(['admin', 'analyst']);
    expect(parseListClaim('[ "admin" ]')).toEqual(['admin']);
  });

  it('reads a real array', () => {
    expect(parseListClaim(['admin', 'analyst'])).toEqual(['admin', 'analyst']);
  });

  it('reads a comma or space separated list', () => {
    expect(parseListClaim('admin,analyst')).toEqual(['admin', 'analyst']);
    expect(parseListClaim('admin analyst')).toEqual(['admin', 'analyst']);
    expect(parseListClaim(' admin , analyst ')).toEqual(['admin', 'analyst']);
    expect(parseListClaim('admin')).toEqual(['admin']);
  });

  it('returns nothing when the claim is absent or not a list', () => {
    expect(parseListClaim(undefined)).toEqual([]);
    expect(parseListClaim(null)).toEqual([]);
    expect(parseListClaim(42)).toEqual([]);
    expect(parseListClaim('')).toEqual([]);
  });

  it('falls back to splitting when a quoted list is not valid JSON', () => {
    expect(parseListClaim('["admin" analyst]')).toEqual(['"admin"', 'analyst']);
  });
});

describe('principalFromClaims', () => {
  it('builds a principal from sub, roles, name and townships', () => {
    expect(
      principalFromClaims({ sub: 'u1', roles: '[admin grid_member]', name: '王五', townships: '[zhukou songyuan]' }),
    ).toEqual({ sub: 'u1', roles: ['admin', 'grid_member'], name: '王五', townships: ['zhukou', 'songyuan'] });
  });

  it('reads a single township claim as a list of one, and * as county-wide', () => {
    expect(principalFromClaims({ sub: 'u1', roles: '[analyst]', township: 'zhukou' })?.townships).toEqual(['zhukou']);
    expect(principalFromClaims({ sub: 'u1', roles: '[analyst]', townships: ['*'] })?.townships).toEqual(['*']);
  });

  it('carries an enterprise user’s credit code and a regulator’s department', () => {
    expect(
      principalFromClaims({ sub: 'e1', roles: '[enterprise]', uscc: '91331126MA2HXXXX1X', department: '' }),
    ).toEqual({ sub: 'e1', roles: ['enterprise'], townships: [], uscc: '91331126MA2HXXXX1X' });
    expect(
      principalFromClaims({ sub: 'r1', roles: '[industry_regulator]', department: '县农业农村局' })?.department,
    ).toBe('县农业农村局');
  });

  it('counts Cognito groups as roles and removes duplicates', () => {
    const p = principalFromClaims({ sub: 'u1', roles: '[analyst]', 'cognito:groups': '[analyst handler]' });
    expect(p?.roles).toEqual(['analyst', 'handler']);
  });

  it('drops role names that are not official roles', () => {
    expect(principalFromClaims({ sub: 'u1', roles: '[root admin superuser]' })?.roles).toEqual(['admin']);
  });

  it('gives a principal with no roles when the token carries none', () => {
    // and sees no township: a missing claim fails closed
    expect(principalFromClaims({ sub: 'u1' })).toEqual({ sub: 'u1', roles: [], townships: [] });
  });

  it('returns null when there are no claims or no subject', () => {
    expect(principalFromClaims(undefined)).toBeNull();
    expect(principalFromClaims({})).toBeNull();
    expect(principalFromClaims({ sub: '' })).toBeNull();
    expect(principalFromClaims({ sub: 42, roles: '[admin]' })).toBeNull();
  });

  it('ignores a name, credit code or department that is not a string', () => {
    expect(principalFromClaims({ sub: 'u1', name: 7, uscc: 12, department: ['x'] })).toEqual({
      sub: 'u1',
      roles: [],
      townships: [],
    });
  });
});
