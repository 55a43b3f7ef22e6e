import { isRole, type Role } from '#shared/domain/roles.ts';

/** Who is calling, from the JWT claims API Gateway's authorizer passed on. */
export interface Principal {
  sub: string;
  name?: string;
  roles: Role[];
  /** the townships the token lets the caller see (`*` = county-wide); none when the claim is missing (fail closed) */
  townships: string[];
  /** an enterprise user's unified social credit code (`uscc` claim) */
  uscc?: string;
  /** an industry regulator's department (`department` claim) */
  department?: string;
}

/**
 * API Gateway HTTP APIs hand claims to Lambda as strings: an array claim `["a","b"]` arrives as `"[a b]"`.
 * Accept that form, a real array (tests, other authorizers) and a comma list; Cognito groups count as roles.
 */
export function parseListClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  const s = value.trim();
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    if (inner.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(s);
        if (Array.isArray(parsed)) return parsed.map(String);
      } catch {
        // fall through to the space-separated form
      }
    }
    return inner.split(/[\s,]+/).filter(Boolean);
  }
  return s.split(/[\s,]+/).filter(Boolean);
}

export function principalFromClaims(claims: Record<string, unknown> | undefined): Principal | null {
  if (!claims || typeof claims.sub !== 'string' || claims.sub === '') return null;
  const raw = [...parseListClaim(claims.roles), ...parseListClaim(claims['cognito:groups'])];
  const roles = [...new Set(raw.filter(isRole))];
  return {
    sub: claims.sub,
    roles,
    ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
    // `townships` (a list claim); an older single `township` claim counts as a list of one
    townships: [...new Set([...parseListClaim(claims.townships), ...parseListClaim(claims.township)])],
    ...(typeof claims.uscc === 'string' && claims.uscc !== '' ? { uscc: claims.uscc } : {}),
    ...(typeof claims.department === 'string' && claims.department !== '' ? { department: claims.department } : {}),
  };
}
