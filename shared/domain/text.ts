import * as z from 'zod';

/**
 * Text people type (a citizen's description, an official's comment): the one rule every free-text field of every route
 * applies, public or not (docs/api.md, "Free text"). In order:
 *   1. a lone UTF-16 surrogate (JSON can carry one as `"\ud800"`) is refused: it is not text;
 *   2. control characters (Unicode Cc: U+0000–U+001F, U+007F–U+009F) are refused, except in a multi-line field the
 *      line break (LF, CR LF or CR, all stored as LF) and the tab. A single-line field takes none of them;
 *   3. bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) are refused: they make
 *      an official read the text in another order than it was written;
 *   4. white space at both ends is trimmed; what remains must hold a visible character (not white space and not only
 *      format characters such as U+200B), so `"\u200b"` or `"　"` is as empty as `""`;
 *   5. at most `max` characters after trimming, counted as zod counts them: Unicode code points, so an emoji is one
 *      (a browser's `maxlength` counts UTF-16 units, two for an emoji: a form is never more lenient than this).
 * Refusing (not stripping) keeps what is stored what the person sent, less the trimmed ends, line breaks as LF. Each
 * refusal names the rule and the character's position in English and Chinese, never the text itself.
 */

export interface TextRules {
  /** line breaks and tabs allowed (a description, a note); a name or an address is one line */
  multiline: boolean;
}

export interface TextProblem {
  message: string;
  messageZh: string;
}

const BIDI = /[\u202A-\u202E\u2066-\u2069]/;
const VISIBLE = /[^\s\p{Cf}]/u;

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `value` is not acceptable text before trimming (rules 1–3), or undefined. Positions count characters from 1. */
export function characterProblem(value: string, rules: TextRules): TextProblem | undefined {
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
    if (code >= 0xd800 && code <= 0xdfff) {
      return {
        message: `character ${position} is a lone UTF-16 surrogate (${hex(code)}), not text`,
        messageZh: `第 ${position} 个字符无效（不成对的 UTF-16 代理项 ${hex(code)}）`,
      };
    }
    const control = code <= 0x1f || (code >= 0x7f && code <= 0x9f);
    if (control && !(rules.multiline && (code === 0x0a || code === 0x0d || code === 0x09))) {
      return rules.multiline
        ? {
            message: `character ${position} is the control character ${hex(code)}; only line breaks and tabs are allowed`,
            messageZh: `第 ${position} 个字符是控制字符 ${hex(code)}；只允许换行和制表符`,
          }
        : {
            message: `character ${position} is the control character ${hex(code)}; a one-line field takes none (no line breaks or tabs either)`,
            messageZh: `第 ${position} 个字符是控制字符 ${hex(code)}；单行内容不能包含控制字符（包括换行和制表符）`,
          };
    }
    if (BIDI.test(value.charAt(i))) {
      return {
        message: `character ${position} is the bidirectional control ${hex(code)}, which is not allowed`,
        messageZh: `第 ${position} 个字符是文字方向控制符 ${hex(code)}，不允许使用`,
      };
    }
  }
  return undefined;
}

const EMPTY: TextProblem = {
  message: 'must contain visible text (not only spaces or invisible characters)',
  messageZh: '不能为空（不能只有空格或不可见字符）',
};
const tooLong = (max: number): TextProblem => ({
  message: `at most ${max} characters`,
  messageZh: `不能超过 ${max} 个字符`,
});

/** Characters as zod's `max` counts them: code points (a surrogate pair is one). */
function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The text as stored: ends trimmed, line breaks as LF. Only meaningful for text without a character problem. */
export const normalizeText = (value: string): string => value.trim().replace(/\r\n?/g, '\n');

/** Why `value` is not acceptable text for a field of at most `max` characters, or undefined (rules 1–5). */
export function textProblem(value: string, max: number, rules: TextRules): TextProblem | undefined {
  const bad = characterProblem(value, rules);
  if (bad) return bad;
  const text = normalizeText(value);
  if (!VISIBLE.test(text)) return EMPTY;
  return codePoints(text) > max ? tooLong(max) : undefined;
}

/** A zod issue message in the `English (中文)` form shared/http/validate.ts splits into `message` and `messageZh`. */
const bilingual = (p: TextProblem) => `${p.message} (${p.messageZh})`;

function textSchema(max: number, rules: TextRules, allowEmpty: boolean) {
  const checked = z
    .string()
    .superRefine((value, ctx) => {
      const bad = characterProblem(value, rules);
      if (bad) ctx.addIssue({ code: 'custom', message: bilingual(bad), continue: false });
    })
    .overwrite(normalizeText);
  const filled = allowEmpty
    ? checked
    : checked
        .refine((text) => VISIBLE.test(text), { message: bilingual(EMPTY), abort: true })
        // never fails after the refine above; it puts `minLength: 1` into the OpenAPI document
        .min(1, bilingual(EMPTY));
  return filled.max(max, bilingual(tooLong(max)));
}

/**
 * `allowEmpty`: an optional comment that may be sent as `""` (stored as `""`); the character rules still apply.
 * Without it, rule 4 holds: the text must have a visible character.
 */
export interface TextOptions {
  allowEmpty?: boolean;
}

/** One line of free text: a name, an address, a unit name. */
export const lineText = (max: number, opts: TextOptions = {}) =>
  textSchema(max, { multiline: false }, opts.allowEmpty ?? false);
/** Free text with line breaks and tabs: a description, a message, a reason, a note. */
export const multilineText = (max: number, opts: TextOptions = {}) =>
  textSchema(max, { multiline: true }, opts.allowEmpty ?? false);
