import { describe, expect, it } from 'vitest';
import { ENTERPRISES } from '#shared/domain/registry/qingyuan-seed.ts';
import { isValidUscc, usccCheckChar } from '#shared/domain/registry/uscc.ts';

describe('isValidUscc', () => {
  it('accepts published codes whose check character matches', () => {
    // GB 32100-2015 worked example and a well-known listed company's code
    expect(isValidUscc('91350100M000100Y43')).toBe(true);
    expect(isValidUscc('91110000100006194G')).toBe(true);
  });

  it('accepts every seed enterprise code', () => {
    for (const e of ENTERPRISES) expect(isValidUscc(e.id), e.id).toBe(true);
  });

  it('rejects a code when one character changes', () => {
    expect(isValidUscc('91350100M000100Y44')).toBe(false);
    expect(isValidUscc('91350100M000200Y43')).toBe(false);
  });

  it('rejects codes of the wrong length, lower case or with excluded letters', () => {
    expect(isValidUscc('91350100M000100Y4')).toBe(false);
    expect(isValidUscc('91350100M000100Y433')).toBe(false);
    expect(isValidUscc('91350100m000100y43')).toBe(false);
    for (const letter of ['I', 'O', 'S', 'V', 'Z']) {
      expect(isValidUscc(`91350100M00010${letter}Y43`), letter).toBe(false);
    }
    expect(isValidUscc('')).toBe(false);
  });
});

describe('usccCheckChar', () => {
  it('computes the check character of the first 17 characters', () => {
    expect(usccCheckChar('91350100M000100Y4')).toBe('3');
  });

  it('returns undefined when a character is outside the alphabet', () => {
    expect(usccCheckChar('91350100M00010OY4')).toBeUndefined();
  });
});
