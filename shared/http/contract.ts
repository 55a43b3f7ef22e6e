import type * as z from 'zod';
import type { Role } from '#shared/domain/roles.ts';
import type { ScopeRule } from './scope.ts';

/**
 * A route's contract: method, path, who may call it, and the zod schemas of what goes in and out.
 * Handlers implement contracts, the Api stack creates routes from them, and docs/openapi.json is generated from them.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContract {
  method: HttpMethod;
  /** API Gateway path, e.g. `/registry/{kind}/{id}` */
  path: string;
  /** `public`: no token (throttled); otherwise the roles that may call it (any one suffices) */
  auth: 'public' | readonly Role[];
  summary: string;
  description?: string;
  tags: string[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  /** success status, 200 unless said */
  status?: number;
  /** largest accepted body, bytes (default 64 KiB) */
  maxBodyBytes?: number;
  /** where what the route touches belongs: the caller's townships, unit or department decide (shared/http/scope.ts) */
  scope: ScopeRule;
}

export type RouteContracts = Record<string, RouteContract>;

export const routeKey = (c: Pick<RouteContract, 'method' | 'path'>): string => `${c.method} ${c.path}`;

/** Identity check for contracts, keeping literal types for inference. */
export function defineRoutes<T extends RouteContracts>(routes: T): T {
  return routes;
}
