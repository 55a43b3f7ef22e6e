/**
 * Opaque page cursors: a small JSON object as base64url. Adapters put a store's start key in one
 * (shared/adapters/dynamodb.ts); a use-case that pages across several listings keeps its own position in one.
 */
export const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : undefined;

/** The object in a cursor, or undefined when it is absent or not one of ours. */
export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
