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
