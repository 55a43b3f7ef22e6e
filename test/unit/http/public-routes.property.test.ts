import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { httpApi } from '#shared/http/api-handler.ts';
import { routeKey } from '#shared/http/contract.ts';
import { parseOrThrow } from '#shared/http/validate.ts';
import { createLogger } from '#shared/observability/logger.ts';
import { lambdaContext } from '../helpers/events.ts';
import { deepJson, hostileBodies, publicRoutes } from '../helpers/public-bodies.ts';

/**
 * Property tests of every public route's body schema (no token, so anyone can send anything): generated valid bodies
 * pass; generated hostile bodies are refused with field errors in both languages; arbitrary JSON values never make
 * validation throw anything but a ValidationError. Then the whole HTTP stack of those routes, in process: raw hostile
 * requests (wrong content types, invalid JSON, deep nesting, prototype keys, oversized bodies) always answer a 4xx
 * problem and never reach the use-case. bench/fuzz-public.bench.ts posts the same bodies to the running platform.
 */
const HAN = /\p{Script=Han}/u;
const RUNS = 150;

describe.each(publicRoutes())('$name body', (route) => {
  const schema = route.contract.body;
  if (!schema) throw new Error(`${route.name} has no body`);

  it('accepts every generated valid body', () => {
    fc.assert(
      fc.property(route.valid, (body) => {
        const parsed = schema.safeParse(body);
        expect(parsed.error?.issues ?? []).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses every generated hostile body with field errors in English and Chinese', () => {
    fc.assert(
      fc.property(hostileBodies(route), ({ body }) => {
        let refused: unknown;
        try {
          parseOrThrow(schema, JSON.parse(JSON.stringify(body)), 'body');
        } catch (err) {
          refused = err;
        }
        expect(refused).toBeInstanceOf(ValidationError);
        const issues = (refused as ValidationError).issues;
        expect(issues.length).toBeGreaterThan(0);
        for (const i of issues) {
          expect(i.field).toMatch(/^body(\.|$)/);
          expect(i.messageZh).toMatch(HAN);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('never throws anything but a ValidationError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseOrThrow(schema, value, 'body');
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('public routes over the HTTP stack', () => {
  const routes = publicRoutes();
  const contracts = Object.fromEntries(routes.map((r) => [r.name, r.contract]));
  const calls = vi.fn(async () => ({ status: 201, body: { ok: true } }));
  const impls = Object.fromEntries(routes.map((r) => [r.name, calls]));
  // thousands of refusals: their log lines are kept out of the test output
  const handler = httpApi(contracts, impls as never, { log: createLogger('fuzz', 'error', () => {}) });

  const event = (
    route: (typeof routes)[number],
    body: string | undefined,
    contentType = 'application/json',
  ): APIGatewayProxyEventV2 =>
    ({
      version: '2.0',
      routeKey: routeKey(route.contract),
      rawPath: route.contract.path,
      rawQueryString: '',
      headers: { 'content-type': contentType },
      requestContext: { requestId: 'req-fuzz', http: { method: route.contract.method, path: route.contract.path } },
      body,
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;

  /** Raw requests no public route accepts: the body as sent, with its content type. */
  const rawHostile = (route: (typeof routes)[number]) =>
    fc.oneof(
      hostileBodies(route).map(({ body }) => ({ body: JSON.stringify(body), type: 'application/json' })),
      route.valid.chain((body) =>
        fc.oneof(
          fc
            .constantFrom(
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data',
              '',
              'application/jsonx',
            )
            .map((type) => ({ body: JSON.stringify(body), type })),
          fc.nat().map((n) => {
            const text = JSON.stringify(body);
            return { body: text.slice(0, n % text.length), type: 'application/json' };
          }),
        ),
      ),
      fc.constantFrom(
        { body: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}', type: 'application/json' },
        { body: deepJson(7000, 'array'), type: 'application/json' },
        { body: deepJson(2500, 'object'), type: 'application/json' },
        { body: deepJson(100_000, 'array'), type: 'application/json' },
        { body: 'x'.repeat(300_000), type: 'application/json' },
        { body: '\u0000\u0001', type: 'application/json' },
        { body: '', type: 'application/json' },
      ),
    );

  it.each(routes)(
    'answers $name with a 4xx problem and never calls the use-case for a hostile request',
    async (route) => {
      await fc.assert(
        fc.asyncProperty(rawHostile(route), async ({ body, type }) => {
          calls.mockClear();
          const res = await handler(event(route, body, type), lambdaContext);
          expect(res.statusCode).toBeGreaterThanOrEqual(400);
          expect(res.statusCode).toBeLessThan(500);
          expect(res.headers?.['content-type']).toContain('application/problem+json');
          expect(calls).not.toHaveBeenCalled();
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { numRuns: RUNS },
      );
    },
  );

  it.each(routes)('passes a valid $name body to the use-case', async (route) => {
    await fc.assert(
      fc.asyncProperty(route.valid, async (body) => {
        calls.mockClear();
        const res = await handler(event(route, JSON.stringify(body)), lambdaContext);
        expect(res.statusCode).toBe(201);
        expect(calls).toHaveBeenCalledOnce();
      }),
      { numRuns: 30 },
    );
  });
});
