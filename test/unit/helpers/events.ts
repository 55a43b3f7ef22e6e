import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * API Gateway v2 (HTTP API) events from test/fixtures/events/, as Lambda receives them behind the JWT authorizer
 * (claims are strings; an array claim arrives as "[a b]"). Each call returns a fresh deep copy to modify.
 */
export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } };
  };
};

const DIR = new URL('../../fixtures/events/', import.meta.url);

export function loadEvent(name: string): HttpEvent {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8')) as HttpEvent;
}

/** The event without the authorizer's claims, as a public route (or a broken authorizer) would deliver it. */
export function withoutClaims(event: HttpEvent): HttpEvent {
  const { authorizer: _dropped, ...requestContext } = event.requestContext;
  return { ...event, requestContext: requestContext as HttpEvent['requestContext'] };
}

export function withClaims(event: HttpEvent, claims: Record<string, unknown>): HttpEvent {
  return { ...event, requestContext: { ...event.requestContext, authorizer: { jwt: { claims, scopes: null } } } };
}

export interface RouteEventOptions {
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  claims?: Record<string, unknown>;
}

/**
 * An HTTP API event for one route (`path` as in the contract, `{name}` filled from `pathParameters`), carrying `claims`
 * as the JWT authorizer hands them over (none: a public route), with a JSON body when `body` is given.
 */
export function routeEvent(method: string, path: string, opts: RouteEventOptions = {}): HttpEvent {
  const base = loadEvent('registry-get-device');
  const routeKey = `${method} ${path}`;
  const rawPath = Object.entries(opts.pathParameters ?? {}).reduce((p, [k, v]) => p.replace(`{${k}}`, v), path);
  const event: HttpEvent = {
    ...base,
    routeKey,
    rawPath,
    headers: {
      ...base.headers,
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    pathParameters: opts.pathParameters ?? {},
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    requestContext: { ...base.requestContext, routeKey, http: { ...base.requestContext.http, method, path: rawPath } },
  };
  return opts.claims ? withClaims(event, opts.claims) : withoutClaims(event);
}

export function withRoute(event: HttpEvent, routeKey: string): HttpEvent {
  return { ...event, routeKey, requestContext: { ...event.requestContext, routeKey } };
}

export const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'envwatch-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:envwatch-test',
  memoryLimitInMB: '256',
  awsRequestId: 'test-request',
  logGroupName: '/aws/lambda/envwatch-test',
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

export type HttpResult = APIGatewayProxyStructuredResultV2;

/** The parsed JSON body of a handler result. */
export function bodyOf(result: HttpResult): Record<string, unknown> {
  return JSON.parse(result.body ?? 'null') as Record<string, unknown>;
}
