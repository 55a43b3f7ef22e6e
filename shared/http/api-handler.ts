import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import {
  DomainError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { rolesZh } from '#shared/domain/roles.ts';
import { logger as defaultLogger, type EnvWatchLogger } from '#shared/observability/logger.ts';
import { API_METRICS } from '#shared/observability/metric-names.ts';
import { EmfMetrics, MetricUnit } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';
import { type RouteContract, type RouteContracts, routeKey } from './contract.ts';
import { type Principal, principalFromClaims } from './principal.ts';
import { problemResponse, toProblem } from './problem.ts';
import { enforceBefore, filterAfter, type PlaceResolvers, type RequestScope, requestScope } from './scope.ts';
import { parseOrThrow } from './validate.ts';

/**
 * The one HTTP stack every API function uses, in a fixed order:
 * metrics flush (outermost) → problem details on error → request context for logs → Lambda context for logs
 * (Powertools Logger) → X-Ray handler segment (Powertools Tracer; responses never captured) → route lookup → auth →
 * body parsing → zod validation → use-case.
 * A handler file only declares `httpApi(contracts, implementations)`.
 */
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ApiRequest<C extends RouteContract> {
  params: Out<C['params']>;
  query: Out<C['query']>;
  body: Out<C['body']>;
  principal: C['auth'] extends 'public' ? Principal | null : Principal;
  /** the caller's scope, to narrow a query (the contract's `scope` is enforced around the implementation anyway) */
  scope: C['auth'] extends 'public' ? RequestScope | null : RequestScope;
  requestId: string;
  headers: Readonly<Record<string, string | undefined>>;
}

export interface ApiResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Implementations<R extends RouteContracts> = {
  [K in keyof R]: (req: ApiRequest<R[K]>) => Promise<ApiResult>;
};

type Event = APIGatewayProxyEventV2 & {
  requestContext: { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
};

const DEFAULT_MAX_BODY = 64 * 1024;

function rawBody(event: Event, max: number): string | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const buf = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (buf.length > max)
    throw new PayloadTooLargeError(
      `request body is ${buf.length} bytes; at most ${max} are accepted (请求内容为 ${buf.length} 字节，最多接受 ${max} 字节)`,
    );
  return buf.toString('utf8');
}

function parseJsonBody(event: Event, contract: RouteContract): unknown {
  const text = rawBody(event, contract.maxBodyBytes ?? DEFAULT_MAX_BODY);
  if (!contract.body) return undefined;
  if (text === undefined)
    throw new ValidationError('request body is required (缺少请求内容)', [
      { field: 'body', message: 'required', messageZh: '必填：请以 JSON 发送请求内容' },
    ]);
  const type = (event.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    const got = (type || 'none').slice(0, 80);
    throw new UnsupportedMediaTypeError(
      `content-type must be application/json, got "${got}" (内容类型须为 application/json，收到的是 "${got}")`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    // the parser's own message quotes the body: say where instead, never what
    throw new ValidationError('request body is not valid JSON (请求内容不是有效的 JSON)', [
      { field: 'body', message: 'not valid JSON', messageZh: '不是有效的 JSON' },
    ]);
  }
}

function authorize(contract: RouteContract, event: Event): Principal | null {
  const principal = principalFromClaims(event.requestContext.authorizer?.jwt?.claims);
  if (contract.auth === 'public') return principal;
  if (!principal) throw new UnauthorizedError('a valid bearer token is required (请先登录：需要有效的访问令牌)');
  if (!principal.roles.some((r) => (contract.auth as readonly string[]).includes(r))) {
    throw new ForbiddenError(
      `this action needs one of the roles: ${contract.auth.join(', ')} (此操作须由以下角色办理：${rolesZh(contract.auth)})`,
    );
  }
  return principal;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  if (body === undefined) return { statusCode: status, headers: { 'cache-control': 'no-store', ...headers } };
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** EnvWatch/Api, dimension `service`: a 500 answer counts in ServerErrors (the function itself succeeds). */
const apiMetrics = new EmfMetrics({ namespace: API_METRICS.namespace });

export function httpApi<R extends RouteContracts>(
  routes: R,
  impls: Implementations<R>,
  options: { places?: PlaceResolvers; log?: EnvWatchLogger; metrics?: EmfMetrics } = {},
) {
  const log = options.log ?? defaultLogger;
  const metrics = options.metrics ?? apiMetrics;
  const places = options.places ?? {};
  const byKey = new Map<
    string,
    { contract: RouteContract; run: (req: ApiRequest<RouteContract>) => Promise<ApiResult> }
  >();
  for (const [name, contract] of Object.entries(routes)) {
    const run = impls[name as keyof R] as unknown as (req: ApiRequest<RouteContract>) => Promise<ApiResult>;
    byKey.set(routeKey(contract), { contract, run });
  }

  const base = async (event: Event): Promise<APIGatewayProxyStructuredResultV2> => {
    const route = byKey.get(event.routeKey);
    if (!route) throw new NotFoundError(`no route ${event.routeKey} (接口不存在)`);
    const { contract, run } = route;
    const principal = authorize(contract, event);
    const body = parseJsonBody(event, contract);
    const scope = principal ? requestScope(principal) : null;
    const req = {
      params: contract.params ? parseOrThrow(contract.params, event.pathParameters ?? {}, 'params') : undefined,
      query: contract.query ? parseOrThrow(contract.query, event.queryStringParameters ?? {}, 'query') : undefined,
      body: contract.body ? parseOrThrow(contract.body, body, 'body') : undefined,
      principal,
      scope,
      requestId: event.requestContext.requestId,
      headers: event.headers ?? {},
    } as ApiRequest<RouteContract>;
    if (principal) log.append({ actor: principal.sub });
    if (!scope) {
      const result = await run(req);
      return json(result.status ?? contract.status ?? 200, result.body, result.headers);
    }
    const lookup = await enforceBefore(contract.scope, req, scope, places);
    const result = await run(req);
    const shown = await filterAfter(contract.scope, result.body, scope, lookup);
    return json(result.status ?? contract.status ?? 200, shown, result.headers);
  };

  return middy<Event, APIGatewayProxyStructuredResultV2, Error, Context>(base)
    .use(logMetrics(metrics))
    .use({
      onError: (request) => {
        const err = request.error;
        const requestId = request.event?.requestContext?.requestId;
        if (err instanceof DomainError)
          log.info('request refused', { status: err.status, problem: err.slug, detail: err.message });
        else log.error('request failed', { error: err });
        const problem = toProblem(err, requestId);
        request.response = problemResponse(problem);
        if (problem.status >= 500) metrics.addMetric(API_METRICS.serverErrors, MetricUnit.Count, 1);
      },
    })
    .use({
      before: (request) => {
        log.reset();
        log.append({ requestId: request.event.requestContext?.requestId, route: request.event.routeKey });
      },
    })
    .use(injectLambdaContext(log))
    .use(captureLambdaHandler(tracer, { captureResponse: false }));
}
