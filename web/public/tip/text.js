/**
 * The free-text rules of shared/domain/text.ts, for the forms' own checks before anything is sent (the server checks
 * again): no lone UTF-16 surrogate; no control character except, in a multi-line field, line breaks and tabs; no
 * bidirectional control; something visible once trimmed; at most `max` characters (code points: an emoji is one).
 * The messages are the server's Chinese. test/unit/domain/text.test.ts checks that this file and the server agree on
 * generated text.
 */

const BIDI = /[\u202A-\u202E\u2066-\u2069]/;
const VISIBLE = /[^\s\p{Cf}]/u;
const hex = (code) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `value` cannot be sent as the text of a field, in Chinese; '' when it can. */
export function textProblem(value, max, { multiline = false } = {}) {
  let position = 0;
  for (let i = 0; i < value.length; i++) {
    position++;
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) return `第 ${position} 个字符无效（不成对的 UTF-16 代理项 ${hex(code)}）`;
    const control = code <= 0x1f || (code >= 0x7f && code <= 0x9f);
    if (control && !(multiline && (code === 0x0a || code === 0x0d || code === 0x09))) {
      return multiline
        ? `第 ${position} 个字符是控制字符 ${hex(code)}；只允许换行和制表符`
        : `第 ${position} 个字符是控制字符 ${hex(code)}；单行内容不能包含控制字符（包括换行和制表符）`;
    }
    if (BIDI.test(value.charAt(i))) return `第 ${position} 个字符是文字方向控制符 ${hex(code)}，不允许使用`;
  }
  const text = value.trim().replace(/\r\n?/g, '\n');
  if (!VISIBLE.test(text)) return '不能为空（不能只有空格或不可见字符）';
  return [...text].length > max ? `不能超过 ${max} 个字符` : '';
}
