/**
 * 统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters from a 31-character alphabet
 * (no I, O, Z, S, V), the last being a check character over the first 17.
 */
const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function usccCheckChar(first17: string): string | undefined {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = ALPHABET.indexOf(first17.charAt(i));
    if (v < 0) return undefined;
    sum += v * (WEIGHTS[i] ?? 0);
  }
  const check = (31 - (sum % 31)) % 31;
  return ALPHABET.charAt(check);
}

export function isValidUscc(code: string): boolean {
  if (!/^[0-9A-HJ-NP-RT-UW-Y]{18}$/.test(code)) return false;
  return usccCheckChar(code.slice(0, 17)) === code.charAt(17);
}
