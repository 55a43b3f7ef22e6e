import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalJwtKeys, loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import {
  type HttpGatewayService,
  startHttpGateway,
  stringifyClaims,
  toGatewayResponse,
} from '#infra/local/services/http-gateway.ts';
import type { ApiSpec, RouteSpec } from '#infra/local/spec.ts';

const ISSUER = 'http://127.0.0.1/local-issuer';
const AUDIENCE = 'envwatch-console';
const authorizer = {
  name: 'officials',
  issuer: ISSUER,
  audience: [AUDIENCE],
  identitySource: ['$request.header.Authorization'],
};

const route = (routeKey: string, functionArn: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({
  apiId: 'api1',
  routeKey,
  functionArn,
  authorizationType: 'NONE',
  ...extra,
});

const API: ApiSpec = {
  apiId: 'api1',
  name: 'envwatch',
  stages: ['api'],
  routes: [
    route('GET /registry/{kind}/{id}', 'echo'),
    route('GET /registry/devices/{id}', 'echo-literal'),
    route('ANY /files/{proxy+}', 'echo'),
    route('POST /tips', 'echo'),
    route('GET /cases', 'echo', { authorizationType: 'JWT', authorizer }),
    route('GET /scoped', 'echo', { authorizationType: 'JWT', authorizer, authorizationScopes: ['cases/read'] }),
    route('GET /boom', 'boom'),
    route('GET /plain', 'plain'),
    route('GET /cookie', 'cookie'),
  ],
};

const THROTTLED: ApiSpec = {
  apiId: 'api2',
  name: 'public',
  throttle: { rateLimit: 0.001, burstLimit: 2 },
  stages: [],
  routes: [{ ...route('GET /ping', 'echo'), apiId: 'api2' }],
};

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let gw: HttpGatewayService;
let keys: LocalJwtKeys;
let dir: string;
const logs: string[] = [];

/** Raw node:http so paths are sent unnormalized and duplicate headers stay duplicate. */
function send(
  method: string,
  path: string,
  opts: { headers?: OutgoingHttpHeaders; body?: Buffer | string } = {},
): Promise<Reply> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((done, fail) => {
    const req = httpRequest({ hostname, port, method, path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

type EchoEvent = Record<string, unknown> & {
  headers: Record<string, string>;
  requestContext: Record<string, unknown> & {
    http: Record<string, unknown>;
    authorizer?: { jwt: { claims: Record<string, string>; scopes: string[] | null } };
  };
};

async function echo(
  method: string,
  path: string,
  opts: { headers?: OutgoingHttpHeaders; body?: Buffer | string } = {},
) {
  const r = await send(method, path, opts);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as { ref: string; event: EchoEvent };
}

function token(extra: Record<string, unknown> = {}): string {
  return signToken(
    keys,
    { iss: ISSUER, aud: AUDIENCE, sub: 'u-1', roles: ['admin', 'analyst'], townships: ['*'], name: '张三', ...extra },
    600,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envwatch-gw-'));
  keys = await loadOrCreateKeys(join(dir, 'data'));
  const web = join(dir, 'web');
  await mkdir(join(web, 'console'), { recursive: true });
  await writeFile(join(web, 'index.html'), '<!doctype html><title>举报</title>');
  await writeFile(join(web, 'app.js'), 'console.log(1)');
  await writeFile(join(web, 'console', 'index.html'), '<title>console</title>');
  await writeFile(join(dir, 'secret.txt'), 'TOP-SECRET');

  gw = await startHttpGateway({
    port: 0,
    apis: [API, THROTTLED],
    jwtKeys: keys,
    staticDirs: [{ prefix: '/', dir: web }],
    extraHandlers: [{ prefix: '/_local/', handle: (_req, res) => void res.end('local page') }],
    log: (l) => logs.push(l),
    invoke: async (ref, event) => {
      if (ref === 'boom') throw new Error('kaboom');
      if (ref === 'plain') return { hello: '世界' };
      if (ref === 'cookie') {
        return {
          statusCode: 201,
          headers: { 'content-type': 'application/octet-stream', 'x-n': 7 },
          cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
          body: Buffer.from([0, 1, 254, 255]).toString('base64'),
          isBase64Encoded: true,
        };
      }
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ref, event }) };
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('http-gateway events', () => {
  it('builds a payload 2.0 event with path params, query, headers and cookies', async () => {
    const { event } = await echo('GET', '/registry/enterprise/E%2001?a=1&a=2&b=x%20y&flag', {
      headers: {
        'X-Multi': ['one', 'two'],
        Cookie: 'sid=abc; lang=zh',
        'X-Forwarded-For': '6.6.6.6',
        'User-Agent': 'test-agent',
      },
    });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /registry/{kind}/{id}',
      rawPath: '/registry/enterprise/E%2001',
      rawQueryString: 'a=1&a=2&b=x%20y&flag',
      cookies: ['sid=abc', 'lang=zh'],
      queryStringParameters: { a: '1,2', b: 'x y', flag: '' },
      pathParameters: { kind: 'enterprise', id: 'E 01' },
      isBase64Encoded: false,
    });
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers['cookie']).toBeUndefined();
    expect(event.headers['user-agent']).toBe('test-agent');
    expect(event.headers['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1');
    expect(event.body).toBeUndefined();
    expect(event.requestContext).toMatchObject({
      accountId: '000000000000',
      apiId: 'api1',
      routeKey: 'GET /registry/{kind}/{id}',
      stage: '$default',
      http: {
        method: 'GET',
        path: '/registry/enterprise/E%2001',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test-agent',
      },
    });
    expect(event.requestContext['time']).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof event.requestContext['timeEpoch']).toBe('number');
    expect(event.requestContext['requestId']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(event.requestContext['authorizer']).toBeUndefined();
  });

  it('prefers the most specific route, the greedy proxy and ANY', async () => {
    expect((await echo('GET', '/registry/devices/D1')).ref).toBe('echo-literal');
    const proxied = await echo('DELETE', '/files/a/b/c.txt');
    expect(proxied.event.pathParameters).toEqual({ proxy: 'a/b/c.txt' });
    expect(proxied.event.routeKey).toBe('ANY /files/{proxy+}');
  });

  it('reaches the same routes through a named stage, which stays in rawPath and names the stage', async () => {
    const viaStage = await echo('GET', '/api/registry/devices/D1?x=1');
    expect(viaStage.ref).toBe('echo-literal');
    const event = viaStage.event as unknown as { rawPath: string; requestContext: { stage: string } };
    expect(event.rawPath).toBe('/api/registry/devices/D1');
    expect(event.requestContext.stage).toBe('api');
    const root = (await echo('GET', '/registry/devices/D1')).event as unknown as { requestContext: { stage: string } };
    expect(root.requestContext.stage).toBe('$default');
    expect((await send('GET', '/nostage/registry/devices/D1')).status).toBe(404);
  });

  it('passes a text body as is and a binary body base64-encoded', async () => {
    const text = await echo('POST', '/tips', {
      headers: { 'content-type': 'application/json' },
      body: '{"desc":"河水发黑"}',
    });
    expect(text.event).toMatchObject({ body: '{"desc":"河水发黑"}', isBase64Encoded: false });
    const bytes = Buffer.from([0, 255, 1, 2, 0x89]);
    const bin = await echo('POST', '/tips', { headers: { 'content-type': 'image/jpeg' }, body: bytes });
    expect(bin.event).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
    const form = await echo('POST', '/tips', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.event).toMatchObject({ body: Buffer.from('a=1').toString('base64'), isBase64Encoded: true });
  });

  it('answers 404 Not Found for an unknown route or method', async () => {
    for (const [m, p] of [
      ['GET', '/nowhere'],
      ['POST', '/registry/a/b'],
    ] as const) {
      const r = await send(m, p);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toEqual({ message: 'Not Found' });
    }
  });

  it('answers 413 when the body exceeds 10 MB', async () => {
    const r = await send('POST', '/tips', {
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 97),
    });
    expect(r.status).toBe(413);
  });
});

describe('http-gateway JWT authorizer', () => {
  it('answers 401 without a token, with a bad one, an expired one or a foreign audience', async () => {
    const cases = [
      {},
      { authorization: 'Bearer not.a.token' },
      { authorization: `Bearer ${token({ exp: Math.floor(Date.now() / 1000) - 5 })}` },
      { authorization: `Bearer ${token({ aud: 'another-app' })}` },
      { authorization: `Bearer ${token({ iss: 'https://evil.example' })}` },
    ];
    for (const headers of cases) {
      const r = await send('GET', '/cases', { headers });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toEqual({ message: 'Unauthorized' });
    }
  });

  it('passes claims to the function as strings, arrays as "[a b]"', async () => {
    const { event } = await echo('GET', '/cases', {
      headers: { authorization: `Bearer ${token({ level: 3, active: true })}` },
    });
    const jwt = event.requestContext.authorizer?.jwt;
    expect(jwt?.claims).toMatchObject({
      sub: 'u-1',
      roles: '[admin analyst]',
      name: '张三',
      level: '3',
      active: 'true',
      iss: ISSUER,
    });
    expect(jwt?.claims['exp']).toMatch(/^\d{10}$/);
    expect(jwt?.scopes).toBeNull();
  });

  it('accepts a bare token without the Bearer prefix', async () => {
    await echo('GET', '/cases', { headers: { authorization: token() } });
  });

  it('answers 403 when the token lacks the route scope, and passes scopes when it has one', async () => {
    const denied = await send('GET', '/scoped', {
      headers: { authorization: `Bearer ${token({ scope: 'tips/read' })}` },
    });
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toEqual({ message: 'Forbidden' });
    const { event } = await echo('GET', '/scoped', {
      headers: { authorization: `Bearer ${token({ scope: 'tips/read cases/read' })}` },
    });
    expect(event.requestContext.authorizer?.jwt.scopes).toEqual(['tips/read', 'cases/read']);
  });
});

describe('http-gateway responses', () => {
  it('answers a plain object as 200 application/json', async () => {
    const r = await send('GET', '/plain');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual({ hello: '世界' });
  });

  it('turns cookies into Set-Cookie headers and decodes a base64 body', async () => {
    const { hostname, port } = new URL(gw.url);
    const bytes = await new Promise<{ status: number; cookies: string[] | undefined; xn: unknown; body: Buffer }>(
      (done) => {
        httpRequest({ hostname, port, path: '/cookie' }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            done({
              status: res.statusCode ?? 0,
              cookies: res.headers['set-cookie'],
              xn: res.headers['x-n'],
              body: Buffer.concat(chunks),
            }),
          );
        }).end();
      },
    );
    expect(bytes.status).toBe(201);
    expect(bytes.cookies).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(bytes.xn).toBe('7');
    expect([...bytes.body]).toEqual([0, 1, 254, 255]);
  });

  it('answers 500 Internal Server Error and logs when the function throws', async () => {
    const r = await send('GET', '/boom');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ message: 'Internal Server Error' });
    expect(logs.some((l) => l.includes('kaboom'))).toBe(true);
  });

  it('answers 429 Too Many Requests once the stage burst is spent', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send('GET', '/_api/api2/ping')).status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.slice(2)).toEqual([429, 429, 429]);
    const r = await send('GET', '/_api/api2/ping');
    expect(JSON.parse(r.body)).toEqual({ message: 'Too Many Requests' });
    expect(gw.apiUrls).toEqual({ api1: gw.url, api2: `${gw.url}/_api/api2` });
  });
});

describe('http-gateway static files and extras', () => {
  it('serves files with their content type and index.html for directories', async () => {
    const root = await send('GET', '/');
    expect(root).toMatchObject({ status: 200, body: '<!doctype html><title>举报</title>' });
    expect(root.headers['content-type']).toBe('text/html; charset=utf-8');
    const js = await send('GET', '/app.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const redirect = await send('GET', '/console');
    expect(redirect.status).toBe(301);
    expect(redirect.headers['location']).toBe('/console/');
    expect((await send('GET', '/console/')).body).toBe('<title>console</title>');
  });

  it('blocks directory traversal', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/console/..%2f..%2fsecret.txt', '/..%5csecret.txt']) {
      const r = await send('GET', path);
      expect(r.status, path).toBe(403);
      expect(r.body).not.toContain('TOP-SECRET');
    }
  });

  it('routes extra handlers first and publishes the JWKS', async () => {
    expect((await send('GET', '/_local/notifications')).body).toBe('local page');
    const doc = JSON.parse((await send('GET', '/.well-known/jwks.json')).body) as { keys: { kid: string }[] };
    expect(doc.keys[0]?.kid).toBe(keys.kid);
  });

  it('answers CORS preflight for localhost origins only', async () => {
    const preflight = {
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization',
    };
    const ok = await send('OPTIONS', '/tips', { headers: { origin: 'http://localhost:5173', ...preflight } });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(ok.headers['access-control-allow-headers']).toBe('content-type,authorization');
    const foreign = await send('OPTIONS', '/tips', { headers: { origin: 'https://evil.example', ...preflight } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('stringifyClaims', () => {
  it('renders every claim as API Gateway does', () => {
    expect(
      stringifyClaims({
        roles: ['a', 'b'],
        n: 1700000000,
        f: 1.5,
        ok: false,
        s: 'x',
        o: { b: 1, a: ['y'] },
      }),
    ).toEqual({
      roles: '[a b]',
      n: '1700000000',
      f: '1.5',
      ok: 'false',
      s: 'x',
      o: 'map[a:[y] b:1]',
    });
  });
});

describe('toGatewayResponse', () => {
  it('treats a string or object without statusCode as a 200 JSON answer', () => {
    expect(toGatewayResponse('hi').body.toString()).toBe('hi');
    expect(toGatewayResponse({ a: 1 })).toMatchObject({
      statusCode: 200,
      headers: [['content-type', 'application/json']],
    });
  });

  it('throws on a malformed response', () => {
    expect(() => toGatewayResponse({ statusCode: 'abc' })).toThrow(/statusCode/);
    expect(() => toGatewayResponse({ statusCode: 200, body: { a: 1 } })).toThrow(/body/);
  });
});
