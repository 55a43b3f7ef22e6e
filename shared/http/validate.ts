import type { z } from 'zod';
import { type FieldIssue, ValidationError } from '../domain/errors.ts';

/** zod issues as field issues, with the failing path in dotted form (`body.limits.0.max`). */
export function toFieldIssues(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

/** Parses `value` with `schema` or throws a ValidationError naming every failing field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error, prefix);
  throw new ValidationError(
    `${issues.length} field(s) failed validation: ${issues.map((i) => i.field).join(', ')}`,
    issues,
  );
}
