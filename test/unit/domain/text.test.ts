import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitBilingual } from '#shared/domain/errors.ts';
import { lineText, multilineText, normalizeText, textProblem } from '#shared/domain/text.ts';
import { textProblem as formTextProblem } from '../../../web/public/tip/text.js';
import { invalidText, validText } from '../helpers/public-bodies.ts';

/** Any mix of what people type and what they should not: controls, surrogate halves, bidi and invisible characters. */
const anyText = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0x4e00, max: 0x4e20 }),
      fc.integer({ min: 0, max: 0x1f }),
      fc.integer({ min: 0x7f, max: 0xa0 }),
      fc.integer({ min: 0xd7f0, max: 0xe010 }),
      fc.constantFrom(0x200b, 0x200d, 0x202a, 0x202e, 0x2066, 0x2069, 0x3000, 0xfeff),
    ),
    { maxLength: 40 },
  )
  .map((codes) => String.fromCharCode(...codes));

const refusal = (schema: ReturnType<typeof lineText>, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? undefined : r.error.issues.map((i) => i.message);
};

describe('free text rules', () => {
  it('refuses a NUL, a lone surrogate and a bidi override, naming the character and its position', () => {
    expect(refusal(multilineText(100), '\u0000')).toEqual([
      'character 1 is the control character U+0000; only line breaks and tabs are allowed (第 1 个字符是控制字符 U+0000；只允许换行和制表符)',
    ]);
    expect(refusal(multilineText(100), '举报\ud800')).toEqual([
      'character 3 is a lone UTF-16 surrogate (U+D800), not text (第 3 个字符无效（不成对的 UTF-16 代理项 U+D800）)',
    ]);
    expect(refusal(lineText(100), 'ab\u202ecd')).toEqual([
      'character 3 is the bidirectional control U+202E, which is not allowed (第 3 个字符是文字方向控制符 U+202E，不允许使用)',
    ]);
  });

  it('counts an emoji as one character, for the position and for the length', () => {
    expect(refusal(lineText(100), '😀\u0007')?.[0]).toMatch(/^character 2 is the control character U\+0007/);
    expect(lineText(1).safeParse('😀').success).toBe(true);
    expect(lineText(1).safeParse('😀😀').success).toBe(false);
    expect(textProblem('😀😀', 1, { multiline: false })?.messageZh).toBe('不能超过 1 个字符');
  });

  it('refuses text with nothing visible: spaces, ideographic spaces, zero-width characters', () => {
    for (const value of ['', '   ', '\u3000', '\u200b\u200b', '\ufeff', ' \u2060 ']) {
      expect(refusal(lineText(10), value), JSON.stringify(value)).toEqual([
        'must contain visible text (not only spaces or invisible characters) (不能为空（不能只有空格或不可见字符）)',
      ]);
    }
    expect(refusal(multilineText(10), '\n\t\r\n')).toHaveLength(1);
  });

  it('keeps line breaks and tabs in multi-line text only, storing every line break as LF', () => {
    expect(multilineText(100).parse('  第一行\r\n第二行\r第三行\t完 ')).toBe('第一行\n第二行\n第三行\t完');
    expect(refusal(lineText(100), '松源\n街道')?.[0]).toMatch(/^character 3 is the control character U\+000A/);
    expect(refusal(lineText(100), '松源\t街道')?.[0]).toMatch(/^character 3 is the control character U\+0009/);
  });

  it('takes an empty comment only where allowed, still refusing control characters in it', () => {
    expect(multilineText(10, { allowEmpty: true }).parse('  ')).toBe('');
    expect(refusal(multilineText(10, { allowEmpty: true }), '\u0000')).toHaveLength(1);
  });

  it('says every refusal in English and Chinese', () => {
    fc.assert(
      fc.property(anyText, fc.boolean(), (value, multiline) => {
        const problem = textProblem(value, 20, { multiline });
        if (!problem) return;
        expect(problem.messageZh).toMatch(/\p{Script=Han}/u);
        const schema = multiline ? multilineText(20) : lineText(20);
        const [message] = refusal(schema, value) ?? [];
        expect(splitBilingual(message ?? '')).toEqual({ en: problem.message, zh: problem.messageZh });
      }),
    );
  });

  it('accepts generated valid text and stores it trimmed with LF line breaks', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 300 }), (multiline, max) => {
        fc.assert(
          fc.property(validText(max, multiline), (value) => {
            const schema = multiline ? multilineText(max) : lineText(max);
            expect(schema.parse(value)).toBe(normalizeText(value));
          }),
          { numRuns: 5 },
        );
      }),
      { numRuns: 40 },
    );
  });

  it('refuses generated invalid text', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 300 }), (multiline, max) => {
        fc.assert(
          fc.property(invalidText(max, multiline), ({ why, text }) => {
            const schema = multiline ? multilineText(max) : lineText(max);
            expect(schema.safeParse(text).success, why).toBe(false);
          }),
          { numRuns: 5 },
        );
      }),
      { numRuns: 40 },
    );
  });

  it('never throws on any input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(() => lineText(10).safeParse(value)).not.toThrow();
      }),
    );
  });
});

describe("the forms' copy of the rules (web/public/tip/text.js)", () => {
  it('refuses exactly what the server refuses, with the same Chinese', () => {
    fc.assert(
      fc.property(anyText, fc.boolean(), fc.integer({ min: 1, max: 30 }), (value, multiline, max) => {
        const server = textProblem(value, max, { multiline });
        expect(formTextProblem(value, max, { multiline })).toBe(server?.messageZh ?? '');
      }),
      { numRuns: 2000 },
    );
  });
});
