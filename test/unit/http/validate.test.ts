import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ValidationError } from '#shared/domain/errors.ts';
import { MAX_FIELD_ISSUES, parseOrThrow } from '#shared/http/validate.ts';

const Schema = z.object({
  name: z.string().min(2),
  count: z.number().int(),
  tags: z.array(z.string()).optional(),
  code: z.string().refine((c) => c.startsWith('w'), '污染物代码须以 w 开头'),
});

function refusal(schema: z.ZodType, value: unknown): ValidationError {
  try {
    parseOrThrow(schema, value, 'body');
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

/** The Chinese for one field of `value`. */
const zhOf = (schema: z.ZodType, value: unknown) => refusal(schema, value).issues.map((i) => i.messageZh);

describe('parseOrThrow', () => {
  it('returns the parsed value when it is valid', () => {
    expect(parseOrThrow(Schema, { name: 'ab', count: 1, code: 'w1' }, 'body')).toEqual({
      name: 'ab',
      count: 1,
      code: 'w1',
    });
  });

  it('names every failing field with a dotted path, in English and Chinese', () => {
    const err = refusal(Schema, { name: 'a', count: 'three', tags: ['ok', 7], code: 'x' });

    const issues = err.issues;
    expect(issues.map((i) => i.field)).toEqual(['body.name', 'body.count', 'body.tags.1', 'body.code']);
    for (const issue of issues) {
      expect(issue.message).not.toBe('');
      expect(issue.messageZh).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(issues[3]).toEqual({
      field: 'body.code',
      message: '污染物代码须以 w 开头',
      messageZh: '污染物代码须以 w 开头',
    });
    expect(err.message).toBe(
      '4 field(s) failed validation: body.name, body.count, body.tags.1, body.code ' +
        '(4 个字段未通过校验：body.name、body.count、body.tags.1、body.code)',
    );
  });

  it('never echoes the offending input back', () => {
    const err = refusal(z.object({ phone: z.string().regex(/^1\d{10}$/) }), { phone: '+86-SECRET-555' });

    expect(JSON.stringify(err.issues)).not.toContain('SECRET');
  });

  it('answers at most MAX_FIELD_ISSUES issues however many fields fail', () => {
    const err = refusal(
      z.array(z.string()),
      Array.from({ length: 3000 }, (_, i) => i),
    );

    expect(err.issues).toHaveLength(MAX_FIELD_ISSUES);
    expect(err.message).toMatch(
      /^3000 field\(s\) failed validation: .+ and 2990 more \(3000 个字段未通过校验.+ 等 3000 个\)$/,
    );
  });

  it('cuts unknown field names chosen by the caller', () => {
    const err = refusal(z.strictObject({}), { ['k'.repeat(5000)]: 1, a: 1, b: 1, c: 1, d: 1, e: 1 });

    expect(err.issues[0]?.message.length).toBeLessThan(300);
    expect(err.issues[0]?.messageZh).toMatch(/^不接受的字段：".{40}…", "a", "b", "c", "d", \+1$/);
  });
});

describe('field messages in Chinese', () => {
  it('names the bound and unit of a too small or too large value', () => {
    const S = z.strictObject({
      text: z.string().max(10),
      empty: z.string().min(1),
      rewardFen: z.number().int().min(0).max(100_000),
      bytes: z.number().positive(),
      list: z.array(z.string()).min(1).max(2),
      limit: z.number().max(100),
    });

    expect(
      zhOf(S, { text: 'x'.repeat(11), empty: '', rewardFen: -1, bytes: 0, list: ['a', 'b', 'c'], limit: 101 }),
    ).toEqual(['不能超过 10 个字符', '不能为空', '不能小于 0 分', '必须大于 0 字节', '最多 2 项', '不能大于 100 条']);
    expect(zhOf(S.pick({ rewardFen: true }), { rewardFen: 200_000 })).toEqual(['不能大于 100000 分']);
    expect(zhOf(S.pick({ list: true }), { list: [] })).toEqual(['至少 1 项']);
  });

  it('names the format expected of a date, a time, a ULID and a URL', () => {
    const S = z.strictObject({
      day: z.iso.date(),
      at: z.iso.datetime({ offset: true }),
      utc: z.iso.datetime(),
      id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'tip id is a ULID'),
      url: z.url(),
    });

    const zh = zhOf(S, { day: '2026/05/01', at: 'yesterday', utc: '2026-05-01T08:00:00+08:00', id: 'x', url: 'x' });

    expect(zh[0]).toContain('YYYY-MM-DD');
    expect(zh[1]).toContain('YYYY-MM-DDTHH:mm:ss+08:00');
    expect(zh[2]).toContain('YYYY-MM-DDTHH:mm:ssZ');
    expect(zh[3]).toBe('应为 26 位 ULID 编号（数字和大写字母，不含 I、L、O、U）');
    expect(zh[4]).toContain('网址');
  });

  it('lists the allowed values of an enum, a literal and a discriminated union', () => {
    const S = z.strictObject({
      category: z.enum(['air', 'water']),
      method: z.literal('PUT'),
      reporter: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('anonymous') }),
        z.object({ kind: z.literal('real_name') }),
      ]),
    });

    expect(zhOf(S, { category: 'fire', method: 'GET', reporter: { kind: 'x' } })).toEqual([
      '应为以下之一：air、water',
      '应为 PUT',
      'kind 应为以下之一：anonymous、real_name',
    ]);
  });

  it('says which type was expected and what came', () => {
    const S = z.strictObject({ n: z.number().int(), b: z.boolean(), s: z.string() });

    expect(zhOf(S, { n: 1.5, b: 'yes' })).toEqual([
      '应为整数，收到的是数字',
      '应为布尔值（true 或 false），收到的是文字',
      '必填（应为文字）',
    ]);
  });

  it('takes the Chinese of a message written as `English (中文)` and keeps the message as written', () => {
    const S = z.strictObject({ at: z.string().refine(() => false, 'must be in the past (不能晚于现在)') });

    expect(refusal(S, { at: 'x' }).issues).toEqual([
      { field: 'body.at', message: 'must be in the past (不能晚于现在)', messageZh: '不能晚于现在' },
    ]);
  });

  it('describes a union without a discriminator by its forms', () => {
    const zh = zhOf(z.strictObject({ v: z.union([z.string(), z.number()]) }), { v: true });

    expect(zh[0]).toBe(
      '不符合任何一种允许的形式：应为文字，收到的是布尔值（true 或 false）；或应为数字，收到的是布尔值（true 或 false）',
    );
  });
});
