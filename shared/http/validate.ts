import type * as z from 'zod';
import zhCN from 'zod/v4/locales/zh-CN.js';
import { type FieldIssue, ValidationError } from '#shared/domain/errors.ts';

// only the Chinese locale: `z.locales` would bundle every language (≈260 KB)
const zh = zhCN();

/**
 * zod issues as field issues: the failing path in dotted form (`body.limits.0.max`), the message in English and Chinese.
 * Custom (refine) messages are written by us and are used for both. The offending input is never echoed back.
 */
export function toFieldIssues(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((issue) => {
    const messageZh =
      issue.code === 'custom' ? issue.message : zh.localeError(issue as Parameters<typeof zh.localeError>[0]);
    return {
      field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
      message: issue.message,
      ...(typeof messageZh === 'string'
        ? { messageZh }
        : typeof messageZh === 'object' && messageZh
          ? { messageZh: messageZh.message }
          : {}),
    };
  });
}

/** Parses `value` with `schema` or throws a ValidationError naming every failing field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error, prefix);
  throw new ValidationError(
    `${issues.length} field(s) failed validation: ${issues.map((i) => i.field).join(', ')}`,
    issues,
  );
}
