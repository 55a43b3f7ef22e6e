import { describe, expect, it } from 'vitest';
import { ULID_PATTERN, ulid } from '#shared/domain/ids.ts';

describe('ulid', () => {
  it('returns 26 Crockford base32 characters', () => {
    const id = ulid();
    expect(id).toHaveLength(26);
    expect(id).toMatch(ULID_PATTERN);
  });

  it('encodes the timestamp in the first 10 characters', () => {
    expect(ulid(0).slice(0, 10)).toBe('0000000000');
    expect(ulid(1_469_918_176_385).slice(0, 10)).toBe('01ARYZ6S41');
  });

  it('increases strictly when many are made within the same millisecond', () => {
    const now = 1_740_816_000_000;
    const ids = Array.from({ length: 1000 }, () => ulid(now));
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 10))).size).toBe(1);
  });

  it('sorts by creation time across milliseconds', () => {
    const times = [1_740_816_000_003, 1_740_816_000_001, 1_740_816_000_002, 1_600_000_000_000];
    const ids = times.map((t) => ({ t, id: ulid(t) }));
    const byId = [...ids].sort((a, b) => (a.id < b.id ? -1 : 1)).map((x) => x.t);
    expect(byId).toEqual([...times].sort((a, b) => a - b));
  });
});
