/**
 * Which SM4 keys a device may be given (HJ 212-2025 §6.4.3; docs/devices.md §2.2), apart from device-keys.ts so that
 * the console checks an installer's key with the same rule as the API without taking Node.js code with it.
 */
/** characters a key may use: printable ASCII without the CP separators `;` `,` `=` `&` (it travels as `NewSK=`) */
const KEY_CHARS = /^[!-%'-+\--:<>-~]{16}$/;

/**
 * Why a key may not be used (English (中文)), or undefined. HJ 212-2025 §6.4.3 f–g forbid fixed and patterned keys: a
 * key with fewer than 8 different characters, one that repeats a block of up to 8 characters, one with a run of 6 or
 * more steps in one direction (`012345`, `fedcba`), or a key printed in the standard or a manual (`0000000000000000`,
 * `1234567890123456`) is refused.
 */
export function keyProblem(text: string): string | undefined {
  if (!KEY_CHARS.test(text))
    return 'an SM4 key is 16 printable ASCII characters without ; , = & (SM4 密钥须为 16 位可打印 ASCII 字符，不含 ; , = &)';
  if (new Set(text).size < 8) return 'the key has fewer than 8 different characters (密钥过于简单：不同字符少于 8 个)';
  for (let p = 1; p <= 8; p++) {
    let periodic = true;
    for (let i = p; i < text.length && periodic; i++) periodic = text[i] === text[i - p];
    if (periodic) return 'the key repeats a pattern (密钥为重复模式)';
  }
  let run = 1;
  for (let i = 2; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
    run = step === text.charCodeAt(i - 1) - text.charCodeAt(i - 2) && Math.abs(step) === 1 ? run + 1 : 1;
    if (run >= 5) return 'the key holds a run of consecutive characters (密钥含连续字符序列)';
  }
  if (KNOWN_KEYS.has(text)) return 'the key is a published example (密钥为公开示例，不得使用)';
  return undefined;
}

const KNOWN_KEYS = new Set(['0000000000000000', '1234567890123456', 'msbE74gsiSHSEh5e', '1234567812345678']);
