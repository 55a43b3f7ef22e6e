import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseOrThrow } from '#shared/http/validate.ts';

const Schema = z.object({
  name: z.string().min(2),
  count: z.number().int(),
  tags: z.array(z.string()).optional(),
  code: z.string().refine((c) => c.startsWith('w'), '污染物代码须以 w 开头'),
});

describe('parseOrThrow', () => {
  it('returns the parsed value when it is valid', () => {
    expect(parseOrThrow(Schema, { name: 'ab', count: 1, code: 'w1' }, 'body')).toEqual({
      name: 'ab',
      count: 1,
      code: 'w1',
    });
  });

  it('names every failing field with a dotted path, in English and Chinese', () => {
    let err: unknown;
    try {
      parseOrThrow(Schema, { name: 'a', count: 'three', tags: ['ok', 7], code: 'x' }, 'body');
    } catch (e) {
      err = e;
    }

    expect(err).toBeInstanceOf(ValidationError);
    const issues = (err as ValidationError).issues;
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
    expect((err as ValidationError).message).toBe(
      '4 field(s) failed validation: body.name, body.count, body.tags.1, body.code',
    );
  });

  it('never echoes the offending input back', () => {
    let err: unknown;
    try {
      parseOrThrow(z.object({ phone: z.string().regex(/^1\d{10}$/) }), { phone: '+86-SECRET-555' }, 'body');
    } catch (e) {
      err = e;
    }

    expect(JSON.stringify((err as ValidationError).issues)).not.toContain('SECRET');
  });
});
