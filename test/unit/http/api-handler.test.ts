import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { ConflictError } from '#shared/domain/errors.ts';
import { REGISTRY_READERS } from '#shared/domain/roles.ts';
import { type ApiRequest, type ApiResult, httpApi } from '#shared/http/api-handler.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { createLogger } from '#shared/observability/logger.ts';
import { EmfMetrics } from '#shared/observability/metrics.ts';
import {
  bodyOf,
  type HttpEvent,
  type HttpResult,
  lambdaContext,
  loadEvent,
  withClaims,
  withoutClaims,
  withRoute,
} from '../helpers/events.ts';

const Thing = z.object({ name: z.string().min(2).max(20), count: z.number().int().min(0) });

const routes = defineRoutes({
  create_thing: {
    method: 'POST',
    path: '/things',
    auth: ['admin'],
    summary: '新增物品',
    tags: ['things'],
    body: Thing,
    status: 201,
    maxBodyBytes: 256,
    scope: { kind: 'open', why: 'a test route' },
  },
  get_thing: {
    method: 'GET',
    path: '/things/{id}',
    auth: REGISTRY_READERS,
    summary: '查看物品',
    tags: ['things'],
    params: z.strictObject({ id: z.string().regex(/^t-\d+$/) }),
    query: z.strictObject({ verbose: z.stringbool().default(false), limit: z.coerce.number().int().default(10) }),
    scope: { kind: 'open', why: 'a test route' },
  },
  ping: {
    method: 'GET',
    path: '/ping',
    auth: 'public',
    summary: '探活',
    tags: ['things'],
    scope: { kind: 'open', why: 'public' },
  },
});

const createThing = vi.fn<(req: ApiRequest<typeof routes.create_thing>) => Promise<ApiResult>>();
const getThing = vi.fn<(req: ApiRequest<typeof routes.get_thing>) => Promise<ApiResult>>();
const ping = vi.fn<(req: ApiRequest<typeof routes.ping>) => Promise<ApiResult>>();

const lines: string[] = [];
const handler = httpApi(
  routes,
  { create_thing: createThing, get_thing: getThing, ping },
  { log: createLogger('test', 'debug', (line) => lines.push(line)) },
);

const invoke = (event: HttpEvent) => handler(event, lambdaContext) as Promise<HttpResult>;

function expectProblem(res: HttpResult, status: number, slug: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers?.['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(bodyOf(res)).toMatchObject({ status, type: `/problems/${slug}` });
}

describe('httpApi', () => {
  beforeEach(() => {
    vi.resetAllMocks();
    lines.length = 0;
    createThing.mockImplementation(async (req) => ({ status: 201, body: { id: 't-1', ...req.body } }));
    getThing.mockImplementation(async (req) => ({ body: { id: req.params.id }, headers: { etag: '"3"' } }));
    ping.mockResolvedValue({ body: { ok: true } });
  });

  it('runs the use-case with the parsed body and principal and answers JSON', async () => {
    const res = await invoke(loadEvent('things-create'));

    expect(res.statusCode).toBe(201);
    expect(res.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
    expect(bodyOf(res)).toEqual({ id: 't-1', name: '松源溪', count: 3 });
    const req = createThing.mock.calls[0]?.[0];
    expect(req?.body).toEqual({ name: '松源溪', count: 3 });
    expect(req?.principal).toEqual({
      sub: 'u-admin-01',
      name: '王管理',
      roles: ['admin', 'analyst'],
      townships: ['*'],
    });
    expect(req?.requestId).toBe('Ab3dEf6hIjKLmNo=');
  });

  it('parses path and query parameters and passes response headers on', async () => {
    const event = loadEvent('things-get');
    event.queryStringParameters = { verbose: 'true', limit: '5' };

    const res = await invoke(event);

    expect(res.statusCode).toBe(200);
    expect(res.headers?.etag).toBe('"3"');
    expect(getThing.mock.calls[0]?.[0]).toMatchObject({ params: { id: 't-1' }, query: { verbose: true, limit: 5 } });
  });

  it('decodes a base64 body', async () => {
    const event = loadEvent('things-create');
    event.body = Buffer.from(JSON.stringify({ name: '竹口溪', count: 1 })).toString('base64');
    event.isBase64Encoded = true;

    const res = await invoke(event);

    expect(res.statusCode).toBe(201);
    expect(createThing.mock.calls[0]?.[0].body).toEqual({ name: '竹口溪', count: 1 });
  });

  it('lets a public route through without a token', async () => {
    const res = await invoke(withRoute(withoutClaims(loadEvent('things-get')), 'GET /ping'));

    expect(res.statusCode).toBe(200);
    expect(ping.mock.calls[0]?.[0].principal).toBeNull();
  });

  it('answers 401 when the request carries no claims', async () => {
    const res = await invoke(withoutClaims(loadEvent('things-create')));

    expectProblem(res, 401, 'unauthorized');
    expect(createThing).not.toHaveBeenCalled();
  });

  it('answers 403 when the caller lacks the route’s role', async () => {
    const event = withClaims(loadEvent('things-create'), { sub: 'u-analyst-01', roles: '[analyst grid_member]' });

    const res = await invoke(event);

    expectProblem(res, 403, 'forbidden');
    expect(bodyOf(res).detail).toBe('this action needs one of the roles: admin (此操作须由以下角色办理：系统管理员)');
    expect(bodyOf(res).detailZh).toBe('此操作须由以下角色办理：系统管理员');
    expect(createThing).not.toHaveBeenCalled();
  });

  it('answers 415 when the body is not JSON', async () => {
    const event = loadEvent('things-create');
    event.headers['content-type'] = 'text/plain';

    expectProblem(await invoke(event), 415, 'unsupported-media-type');
  });

  it('answers 400 when the body is not valid JSON', async () => {
    const event = loadEvent('things-create');
    event.body = '{"name": "松源溪",';

    const res = await invoke(event);

    expectProblem(res, 400, 'validation-error');
    expect(bodyOf(res).errors).toEqual([{ field: 'body', message: 'not valid JSON', messageZh: '不是有效的 JSON' }]);
    expect(JSON.stringify(bodyOf(res))).not.toContain('松源溪');
  });

  it('answers 400 when a body is required but missing', async () => {
    const event = loadEvent('things-create');
    delete event.body;

    const res = await invoke(event);

    expectProblem(res, 400, 'validation-error');
    expect(bodyOf(res).errors).toEqual([
      { field: 'body', message: 'required', messageZh: '必填：请以 JSON 发送请求内容' },
    ]);
  });

  it('answers 413 when the body is larger than the route accepts', async () => {
    const event = loadEvent('things-create');
    event.body = JSON.stringify({ name: 'x'.repeat(300), count: 1 });

    expectProblem(await invoke(event), 413, 'payload-too-large');
    expect(createThing).not.toHaveBeenCalled();
  });

  it('answers 400 naming each failing field with English and Chinese messages', async () => {
    const event = loadEvent('things-create');
    event.body = JSON.stringify({ name: 'x', count: -1 });

    const res = await invoke(event);

    expectProblem(res, 400, 'validation-error');
    const errors = bodyOf(res).errors as { field: string; message: string; messageZh?: string }[];
    expect(errors.map((e) => e.field)).toEqual(['body.name', 'body.count']);
    for (const e of errors) expect(e.messageZh).toMatch(/[\u4e00-\u9fff]/);
    expect(createThing).not.toHaveBeenCalled();
  });

  it('answers 400 when a path parameter or query is invalid', async () => {
    const badPath = loadEvent('things-get');
    badPath.pathParameters = { id: 'nope' };
    const badQuery = loadEvent('things-get');
    badQuery.queryStringParameters = { unexpected: '1' };

    const pathRes = await invoke(badPath);
    const queryRes = await invoke(badQuery);

    expect((bodyOf(pathRes).errors as { field: string }[])[0]?.field).toBe('params.id');
    expect(queryRes.statusCode).toBe(400);
    expect(getThing).not.toHaveBeenCalled();
  });

  it('answers 404 for a route it does not serve', async () => {
    expectProblem(await invoke(withRoute(loadEvent('things-get'), 'DELETE /things/{id}')), 404, 'not-found');
  });

  it('answers a domain error from the use-case with its problem', async () => {
    createThing.mockRejectedValue(new ConflictError('thing t-1 already exists'));

    const res = await invoke(loadEvent('things-create'));

    expectProblem(res, 409, 'conflict');
    expect(bodyOf(res)).toMatchObject({ detail: 'thing t-1 already exists', instance: '/requests/Ab3dEf6hIjKLmNo=' });
  });

  it('answers 500 without detail when the use-case fails unexpectedly, and logs the error', async () => {
    createThing.mockRejectedValue(new Error('DynamoDB password=hunter2 at 10.0.3.7'));

    const res = await invoke(loadEvent('things-create'));

    expectProblem(res, 500, 'internal-error');
    expect(res.body).not.toContain('hunter2');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.find((l) => l.level === 'ERROR')).toMatchObject({
      message: 'request failed',
      requestId: 'Ab3dEf6hIjKLmNo=',
    });
  });

  it('logs the request id, route and actor but not the bearer token', async () => {
    createThing.mockRejectedValue(new ConflictError('exists'));

    await invoke(loadEvent('things-create'));

    const line = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ requestId: 'Ab3dEf6hIjKLmNo=', route: 'POST /things', actor: 'u-admin-01' });
    expect(lines.join('\n')).not.toContain('eyJhbGciOiJSUzI1NiJ9');
  });

  it('starts each request with a fresh log context', async () => {
    createThing.mockRejectedValue(new ConflictError('exists'));
    ping.mockRejectedValue(new ConflictError('x'));

    await invoke(loadEvent('things-create'));
    await invoke(withRoute(withoutClaims(loadEvent('things-get')), 'GET /ping'));

    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ route: 'POST /things', actor: 'u-admin-01' });
    expect(second?.route).toBe('GET /ping');
    expect(second?.actor).toBeUndefined();
  });

  it('counts a 500 answer in EnvWatch/Api ServerErrors by service, and a refusal not at all', async () => {
    const emf: string[] = [];
    const counted = httpApi(
      routes,
      { create_thing: createThing, get_thing: getThing, ping },
      {
        log: createLogger('test', 'error', () => {}),
        metrics: new EmfMetrics({ namespace: 'EnvWatch/Api', service: 'things-api', write: (l) => emf.push(l) }),
      },
    );
    createThing.mockRejectedValueOnce(new ConflictError('exists'));
    createThing.mockRejectedValueOnce(new Error('DynamoDB is down'));

    expect((await counted(loadEvent('things-create'), lambdaContext))?.statusCode).toBe(409);
    expect((await counted(loadEvent('things-create'), lambdaContext))?.statusCode).toBe(500);
    expect((await counted(loadEvent('things-create'), lambdaContext))?.statusCode).toBe(201);

    expect(emf).toHaveLength(1);
    const doc = JSON.parse(emf[0] as string);
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'EnvWatch/Api', Dimensions: [['service']] });
    expect(doc).toMatchObject({ service: 'things-api', ServerErrors: 1 });
  });
});
