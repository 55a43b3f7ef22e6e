import type * as z from 'zod';
import { type FieldIssue, ValidationError } from '#shared/domain/errors.ts';
import { issueText } from './issue-text.ts';

/** At most this many field issues in one answer: a 16 KiB array of bad items must not become a megabyte of problems. */
export const MAX_FIELD_ISSUES = 20;
/** A path segment longer than this (a record key chosen by the caller) is cut. */
const MAX_SEGMENT = 64;

const segment = (key: PropertyKey) => {
  const s = String(key);
  return s.length > MAX_SEGMENT ? `${s.slice(0, MAX_SEGMENT)}…` : s;
};

/**
 * zod issues as field issues: the failing path in dotted form (`body.limits.0.max`), the message in English and
 * Chinese (shared/http/issue-text.ts). The offending input is never echoed back.
 */
export function toFieldIssues(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(segment)].filter(Boolean).join('.'),
    ...issueText(issue),
  }));
}

/** `2 field(s) failed validation: body.a, body.b (2 个字段未通过校验：body.a、body.b)`, the list cut after ten. */
function summary(issues: FieldIssue[]): string {
  const fields = [...new Set(issues.map((i) => i.field))];
  const shown = fields.slice(0, 10);
  const more = fields.length - shown.length;
  return (
    `${issues.length} field(s) failed validation: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''} ` +
    `(${issues.length} 个字段未通过校验：${shown.join('、')}${more > 0 ? ` 等 ${fields.length} 个` : ''})`
  );
}

/** Parses `value` with `schema` or throws a ValidationError naming the failing fields (the first MAX_FIELD_ISSUES). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error, prefix);
  throw new ValidationError(summary(issues), issues.slice(0, MAX_FIELD_ISSUES));
}
