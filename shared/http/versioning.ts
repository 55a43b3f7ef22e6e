import { ValidationError } from '#shared/domain/errors.ts';

/**
 * Optimistic concurrency over HTTP: a versioned resource answers with `ETag: "<version>"`, and a change sent with
 * `If-Match: "<version>"` is refused (412) when someone else changed it first.
 */
export const etag = (version: number): { etag: string } => ({ etag: `"${version}"` });

/** The version an `If-Match` header names (`"3"`, `W/"3"` or `3`), undefined without one; 400 when it is not one. */
export function ifMatch(headers: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = headers['if-match'];
  if (raw === undefined) return undefined;
  const version = Number(raw.replace(/^W\//, '').replaceAll('"', ''));
  if (!Number.isInteger(version) || version < 1) {
    throw new ValidationError('If-Match must be a version, e.g. "3"', [
      { field: 'headers.if-match', message: 'not a version', messageZh: 'If-Match 须为版本号，例如 "3"' },
    ]);
  }
  return version;
}
