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
  it('builds a principal from sub, roles, name and township', () => {
    expect(principalFromClaims({ sub: 'u1', roles: '[admin grid_member]', name: '王五', township: 'zhukou' })).toEqual({
      sub: 'u1',
      roles: ['admin', 'grid_member'],
      name: '王五',
      township: 'zhukou',
    });
  });

  it('counts Cognito groups as roles and removes duplicates', () => {
    const p = principalFromClaims({ sub: 'u1', roles: '[analyst]', 'cognito:groups': '[analyst handler]' });
    expect(p?.roles).toEqual(['analyst', 'handler']);
  });

  it('drops role names that are not official roles', () => {
    expect(principalFromClaims({ sub: 'u1', roles: '[root admin superuser]' })?.roles).toEqual(['admin']);
  });

  it('gives a principal with no roles when the token carries none', () => {
    expect(principalFromClaims({ sub: 'u1' })).toEqual({ sub: 'u1', roles: [] });
  });

  it('returns null when there are no claims or no subject', () => {
    expect(principalFromClaims(undefined)).toBeNull();
    expect(principalFromClaims({})).toBeNull();
    expect(principalFromClaims({ sub: '' })).toBeNull();
    expect(principalFromClaims({ sub: 42, roles: '[admin]' })).toBeNull();
  });

  it('ignores a name or township that is not a string', () => {
    expect(principalFromClaims({ sub: 'u1', name: 7, township: ['a'] })).toEqual({ sub: 'u1', roles: [] });
  });
});
