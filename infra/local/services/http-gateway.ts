/**
 * Local stand-in for an API Gateway HTTP API (payload format 2.0, `$default` stage).
 *
 * For each request, in order: CORS preflight from localhost origins → `extraHandlers` (by path prefix)
 * → `GET /.well-known/jwks.json` → `staticDirs` (GET/HEAD, falls through when no file matches)
 * → the HTTP API: stage throttle (token bucket, 429) → body (≤ 10 MB, else 413) → route match
 * (`METHOD /path/{param}`, `{proxy+}`, `ANY`, `$default`, most specific wins; else 404)
 * → JWT authorizer (401 / 403) → a payload 2.0 event to `invoke(route.functionArn, event)`
 * → the Lambda's answer translated back the way API Gateway does (a throw → 500).
 *
 * Several APIs: the first is served at `/`; every API is also served at `/_api/{apiId}/…`
 * (the prefix is stripped from `rawPath`). `service.apiUrls` lists the base URL of each.
 *
 * Differences from AWS: no custom domains, mTLS, stage variables, route-level throttling or
 * integration timeouts; `domainName` is the request's Host header; JWT claims of nested objects
 * are rendered Go-style (`map[k:v]`), which matches AWS for arrays (`[a b]`) and scalars but is a
 * best guess for objects; CORS is answered permissively for localhost origins whatever the API's
 * CORS configuration; the client IP is the TCP peer (a client's X-Forwarded-For is never trusted).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { jwks, type LocalJwtKeys, verifyToken } from '#infra/local/jwt.ts';
import { type ApiSpec, type InvokeFn, LOCAL_ACCOUNT, type LocalService, type RouteSpec } from '#infra/local/spec.ts';
import { cacheControlFor } from '#web/cache.ts';

export interface HttpGatewayService extends LocalService {
  url: string;
  /** base URL of each API by apiId: the first at `url`, all at `${url}/_api/${apiId}` too */
  apiUrls: Record<string, string>;
}

export interface ExtraHandler {
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
}

export interface HttpGatewayOptions {
  host?: string;
  /** 0 = a free port */
  port: number;
  apis: ApiSpec[];
  invoke: InvokeFn;
  jwtKeys: LocalJwtKeys;
  /**
   * The local identity provider's issuer, trusted as the issuer the template names: locally it stands in for the
   * bureau's OIDC issuer (as the other local services stand in for AWS endpoints), signing with the same local key.
   */
  localIssuer?: string;
  staticDirs?: { prefix: string; dir: string }[];
  /** maps a static path to the file that answers it (the web hosting's console fallback), before the lookup */
  staticRewrite?: (pathname: string) => string;
  extraHandlers?: ExtraHandler[];
  log?: (line: string) => void;
}

/** HTTP API payload quota. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const API_PREFIX = '/_api/';

// ─── routes ───────────────────────────────────────────────────────────────────────────────────────

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

interface CompiledRoute {
  spec: RouteSpec;
  isDefault: boolean;
  method: string;
  segments: Segment[];
  greedy: boolean;
}

function splitPath(path: string): string[] {
  return path === '/' || path === '' ? [] : path.replace(/^\//, '').split('/');
}

export function compileRoute(spec: RouteSpec): CompiledRoute {
  if (spec.routeKey === '$default') return { spec, isDefault: true, method: 'ANY', segments: [], greedy: false };
  const [method = '', path = '/'] = spec.routeKey.trim().split(/\s+/, 2);
  const segments: Segment[] = splitPath(path).map((s) => {
    const m = /^\{([^{}]+?)(\+)?\}$/.exec(s);
    if (!m) return { kind: 'literal', value: s };
    return m[2] ? { kind: 'greedy', name: m[1] ?? '' } : { kind: 'param', name: m[1] ?? '' };
  });
  return {
    spec,
    isDefault: false,
    method: method.toUpperCase(),
    segments,
    greedy: segments.some((s) => s.kind === 'greedy'),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function matchPath(route: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i];
    if (!seg) return undefined;
    if (seg.kind === 'greedy') {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join('/') === '') return undefined;
      params[seg.name] = safeDecode(rest.join('/'));
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === 'literal') {
      if (seg.value !== part) return undefined;
    } else {
      if (part === '') return undefined;
      params[seg.name] = safeDecode(part);
    }
  }
  return parts.length === route.segments.length ? params : undefined;
}

const SEGMENT_RANK = { literal: 3, param: 2, greedy: 1 } as const;

/** Negative when `a` is more specific than `b`. */
function compareSpecificity(a: CompiledRoute, b: CompiledRoute): number {
  if (a.greedy !== b.greedy) return a.greedy ? 1 : -1;
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ra = a.segments[i] ? SEGMENT_RANK[a.segments[i]?.kind ?? 'greedy'] : 0;
    const rb = b.segments[i] ? SEGMENT_RANK[b.segments[i]?.kind ?? 'greedy'] : 0;
    if (ra !== rb) return rb - ra;
  }
  if (a.method !== b.method) return a.method === 'ANY' ? 1 : b.method === 'ANY' ? -1 : 0;
  return 0;
}

export function matchRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
  const parts = splitPath(path);
  let best: { route: CompiledRoute; pathParameters: Record<string, string> } | undefined;
  for (const route of routes) {
    if (route.isDefault) continue;
    if (route.method !== 'ANY' && route.method !== method) continue;
    const params = matchPath(route, parts);
    if (params && (!best || compareSpecificity(route, best.route) < 0)) best = { route, pathParameters: params };
  }
  if (best) return best;
  const fallback = routes.find((r) => r.isDefault);
  return fallback ? { route: fallback, pathParameters: {} } : undefined;
}

// ─── JWT claims as API Gateway hands them to Lambda ───────────────────────────────────────────────

function goFormat(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map(goFormat).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goFormat(v)}`).join(' ')}]`;
  }
  return String(value);
}

/**
 * HTTP API passes every claim as a string: numbers and booleans as their text, arrays as
 * `[a b]` (space-separated in brackets), e.g. roles ["admin","analyst"] → "[admin analyst]".
 */
export function stringifyClaims(claims: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(claims)) out[k] = goFormat(v);
  return out;
}

function tokenScopes(claims: Record<string, unknown>): string[] {
  const raw = claims['scope'] ?? claims['scp'];
  if (typeof raw === 'string') return raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

// ─── request → event ──────────────────────────────────────────────────────────────────────────────

interface RequestHeaders {
  headers: Record<string, string>;
  cookies: string[];
}

/** Lower-cased headers, duplicates comma-joined; Cookie headers become the `cookies` list. */
function collectHeaders(raw: string[]): RequestHeaders {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return { headers, cookies };
}

function parseQuery(rawQuery: string): Record<string, string> | undefined {
  if (!rawQuery) return undefined;
  const out: Record<string, string> = {};
  for (const pair of rawQuery.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const decode = (s: string) => safeDecode(s.replace(/\+/g, ' '));
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    out[key] = key in out ? `${out[key]},${value}` : value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const TEXT_TYPES = new Set([
  'application/json',
  'application/javascript',
  'application/xml',
  'application/x-javascript',
]);

/** API Gateway passes text bodies as-is and base64-encodes everything else (forms and uploads included). */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type.startsWith('text/') || TEXT_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000` */
function requestTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function clientIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

interface EventInput {
  req: IncomingMessage;
  api: ApiSpec;
  route: CompiledRoute;
  pathParameters: Record<string, string>;
  rawPath: string;
  /** `$default`, or the named stage the request came through */
  stage?: string;
  rawQueryString: string;
  body: Buffer;
  requestId: string;
  now: Date;
  authorizer?: { claims: Record<string, string>; scopes: string[] | null };
}

export function buildEvent(input: EventInput): Record<string, unknown> {
  const { req, api, route, now } = input;
  const { headers, cookies } = collectHeaders(req.rawHeaders);
  const sourceIp = clientIp(req);
  // API Gateway appends the peer address to whatever X-Forwarded-For the client sent.
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-amzn-trace-id'] =
    `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  const host = headers['host'] ?? 'localhost';
  const hostname = host.replace(/:\d+$/, '');
  const hasBody = input.body.length > 0;
  const base64 = hasBody && !isTextContentType(headers['content-type']);
  const queryStringParameters = parseQuery(input.rawQueryString);

  const requestContext: Record<string, unknown> = {
    accountId: LOCAL_ACCOUNT,
    apiId: api.apiId,
    ...(input.authorizer ? { authorizer: { jwt: input.authorizer } } : {}),
    domainName: host,
    domainPrefix: hostname.split('.')[0] ?? hostname,
    http: {
      method: req.method ?? 'GET',
      path: input.rawPath,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: input.requestId,
    routeKey: route.spec.routeKey,
    stage: input.stage ?? '$default',
    time: requestTime(now),
    timeEpoch: now.getTime(),
  };

  return {
    version: '2.0',
    routeKey: route.spec.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext,
    ...(hasBody ? { body: input.body.toString(base64 ? 'base64' : 'utf8') } : {}),
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: input.pathParameters } : {}),
    isBase64Encoded: base64,
  };
}

// ─── Lambda result → HTTP response ────────────────────────────────────────────────────────────────

export interface GatewayResponse {
  statusCode: number;
  headers: [string, string][];
  body: Buffer;
}

const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarText(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** Interpret a payload 2.0 Lambda response; throws on a malformed one (API Gateway answers 500). */
export function toGatewayResponse(result: unknown): GatewayResponse {
  // What crosses the Lambda boundary is JSON.
  const value: unknown = JSON.parse(JSON.stringify(result ?? null));
  if (!isRecord(value) || !('statusCode' in value)) {
    const body = typeof value === 'string' ? value : JSON.stringify(value);
    return { statusCode: 200, headers: [['content-type', 'application/json']], body: Buffer.from(body) };
  }
  const statusCode = Number(value['statusCode']);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new Error(`malformed Lambda response: statusCode ${String(value['statusCode'])}`);
  }
  const headers: [string, string][] = [];
  const rawHeaders = value['headers'];
  if (isRecord(rawHeaders)) {
    for (const [k, v] of Object.entries(rawHeaders)) {
      const text = scalarText(v);
      if (text !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) headers.push([k, text]);
    }
  }
  const multi = value['multiValueHeaders'];
  if (isRecord(multi)) {
    for (const [k, vs] of Object.entries(multi)) {
      if (!Array.isArray(vs) || HOP_BY_HOP.has(k.toLowerCase())) continue;
      for (const v of vs) {
        const text = scalarText(v);
        if (text !== undefined) headers.push([k, text]);
      }
    }
  }
  const cookies = value['cookies'];
  if (Array.isArray(cookies)) {
    for (const c of cookies) if (typeof c === 'string') headers.push(['set-cookie', c]);
  }
  const rawBody = value['body'];
  if (rawBody !== undefined && rawBody !== null && typeof rawBody !== 'string') {
    throw new Error('malformed Lambda response: body must be a string');
  }
  const body = Buffer.from(rawBody ?? '', value['isBase64Encoded'] === true ? 'base64' : 'utf8');
  return { statusCode, headers, body };
}

// ─── throttling ───────────────────────────────────────────────────────────────────────────────────

export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function bucketFor(api: ApiSpec): TokenBucket | undefined {
  const t = api.throttle;
  if (!t || (t.rateLimit === undefined && t.burstLimit === undefined)) return undefined;
  const rate = t.rateLimit ?? t.burstLimit ?? 0;
  const burst = t.burstLimit ?? Math.max(1, Math.ceil(rate));
  return new TokenBucket(rate, burst);
}

/** The `iss` a token claims (unverified: only to choose which trusted issuer to verify it against). */
function tokenIssuer(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    const iss = typeof payload === 'object' && payload !== null ? (payload as { iss?: unknown }).iss : undefined;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

// ─── static files ─────────────────────────────────────────────────────────────────────────────────

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

type StaticOutcome = 'served' | 'miss';

function within(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
}

function normalizePrefix(prefix: string): string {
  const p = prefix.startsWith('/') ? prefix : `/${prefix}`;
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  rawQuery: string,
  dirs: { prefix: string; dir: string }[],
): Promise<StaticOutcome> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return 'miss';
  for (const { prefix, dir } of dirs) {
    if (prefix !== '/' && pathname !== prefix && !pathname.startsWith(`${prefix}/`)) continue;
    const rel = prefix === '/' ? pathname : pathname.slice(prefix.length);
    let decoded: string;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      sendJson(res, 400, { message: 'Bad Request' });
      return 'served';
    }
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) {
      sendJson(res, 403, { message: 'Forbidden' });
      return 'served';
    }
    const root = resolve(dir);
    let file = resolve(root, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
    if (!within(root, file)) {
      sendJson(res, 403, { message: 'Forbidden' });
      return 'served';
    }
    const info = await stat(file).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      if (!pathname.endsWith('/')) {
        res.writeHead(301, { location: `${pathname}/${rawQuery ? `?${rawQuery}` : ''}` }).end();
        return 'served';
      }
      file = join(file, 'index.html');
      const index = await stat(file).catch(() => undefined);
      if (!index?.isFile()) continue;
    } else if (!info.isFile()) {
      continue;
    }
    // A symlink must not lead out of the served directory either.
    const real = await realpath(file);
    if (!within(await realpath(root), real)) {
      sendJson(res, 403, { message: 'Forbidden' });
      return 'served';
    }
    const size = (await stat(real)).size;
    // as the web hosting serves them: content-hashed files for a year, everything else revalidated
    const cacheControl = cacheControlFor(real);
    res.writeHead(200, { 'content-type': contentTypeFor(real), 'content-length': size, 'cache-control': cacheControl });
    if (req.method === 'HEAD') {
      res.end();
    } else {
      await new Promise<void>((done) => {
        const stream = createReadStream(real);
        stream.on('error', () => {
          res.destroy();
          done();
        });
        stream.on('end', done);
        stream.pipe(res);
      });
    }
    return 'served';
  }
  return 'miss';
}

// ─── helpers ──────────────────────────────────────────────────────────────────────────────────────

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function isLocalOrigin(origin: string | undefined): origin is string {
  if (!origin) return false;
  try {
    const { hostname } = new URL(origin);
    return (
      hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '127.0.0.1' || hostname === '[::1]'
    );
  } catch {
    return false;
  }
}

/** Reads the body up to `MAX_BODY_BYTES`; past it, drains (bounded) and reports `tooLarge`. */
function readBody(req: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (size > 4 * MAX_BODY_BYTES) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => done({ body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on('error', fail);
    req.on('close', () => done({ body: Buffer.alloc(0), tooLarge }));
  });
}

function newRequestId(): string {
  return randomBytes(11).toString('base64');
}

function identityToken(
  headers: IncomingMessage['headers'],
  query: Record<string, string> | undefined,
  sources: string[] | undefined,
): string | undefined {
  const source = sources?.[0] ?? '$request.header.Authorization';
  let raw: string | undefined;
  const header = /^\$request\.header\.(.+)$/i.exec(source);
  const qs = /^\$request\.querystring\.(.+)$/i.exec(source);
  if (header?.[1]) {
    const v = headers[header[1].toLowerCase()];
    raw = Array.isArray(v) ? v.join(',') : v;
  } else if (qs?.[1]) {
    raw = query?.[qs[1]];
  }
  const token = raw
    ?.trim()
    .replace(/^Bearer\s+/i, '')
    .trim();
  return token ? token : undefined;
}

// ─── the server ───────────────────────────────────────────────────────────────────────────────────

interface ApiRuntime {
  spec: ApiSpec;
  routes: CompiledRoute[];
  bucket: TokenBucket | undefined;
}

export async function startHttpGateway(opts: HttpGatewayOptions): Promise<HttpGatewayService> {
  const log = opts.log ?? (() => undefined);
  const host = opts.host ?? '127.0.0.1';
  const apis: ApiRuntime[] = opts.apis.map((spec) => ({
    spec,
    routes: spec.routes.map(compileRoute),
    bucket: bucketFor(spec),
  }));
  const staticDirs = (opts.staticDirs ?? [])
    .map((s) => ({ prefix: normalizePrefix(s.prefix), dir: s.dir }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const extraHandlers = [...(opts.extraHandlers ?? [])].sort((a, b) => b.prefix.length - a.prefix.length);

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    api: ApiRuntime,
    rawPath: string,
    rawQuery: string,
    named?: { stage: string; rawPath: string },
  ): Promise<number> {
    const requestId = newRequestId();
    const base = { 'apigw-requestid': requestId };
    const reply = (status: number, message: string, extra: Record<string, string> = {}) => {
      sendJson(res, status, { message }, { ...base, ...extra });
      return status;
    };

    if (api.bucket && !api.bucket.take()) {
      req.resume();
      return reply(429, 'Too Many Requests');
    }
    const { body, tooLarge } = await readBody(req);
    if (tooLarge) return reply(413, 'Request Entity Too Large', { connection: 'close' });

    const method = (req.method ?? 'GET').toUpperCase();
    const match = matchRoute(api.routes, method, rawPath);
    if (!match) return reply(404, 'Not Found');
    const { route, pathParameters } = match;

    let authorizer: EventInput['authorizer'];
    if (route.spec.authorizationType === 'JWT') {
      const auth = route.spec.authorizer;
      if (!auth) {
        log(`http-gateway: route ${route.spec.routeKey} uses JWT but has no authorizer`);
        return reply(500, 'Internal Server Error');
      }
      const token = identityToken(req.headers, parseQuery(rawQuery), auth.identitySource);
      if (!token) return reply(401, 'Unauthorized');
      const claimed = tokenIssuer(token);
      const issuer = opts.localIssuer && claimed === opts.localIssuer ? opts.localIssuer : auth.issuer;
      const verdict = verifyToken(opts.jwtKeys, token, { issuer, audience: auth.audience });
      if (!verdict.ok) {
        log(`http-gateway: ${route.spec.routeKey} rejected token: ${verdict.reason}`);
        return reply(401, 'Unauthorized', {
          'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${verdict.reason}"`,
        });
      }
      const required = route.spec.authorizationScopes ?? [];
      const granted = tokenScopes(verdict.claims);
      if (required.length > 0 && !required.some((s) => granted.includes(s))) {
        return reply(403, 'Forbidden', {
          'www-authenticate': `Bearer scope="${required.join(' ')}" error="insufficient_scope" error_description="expected scopes: [${required.join(' ')}]"`,
        });
      }
      authorizer = { claims: stringifyClaims(verdict.claims), scopes: required.length > 0 ? granted : null };
    }

    const event = buildEvent({
      req,
      api: api.spec,
      route,
      pathParameters,
      rawPath: named?.rawPath ?? rawPath,
      stage: named?.stage ?? '$default',
      rawQueryString: rawQuery,
      body,
      requestId,
      now: new Date(),
      ...(authorizer ? { authorizer } : {}),
    });

    let response: GatewayResponse;
    try {
      response = toGatewayResponse(await opts.invoke(route.spec.functionArn, event));
    } catch (err) {
      log(
        `http-gateway: ${route.spec.routeKey} → ${route.spec.functionArn} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      return reply(500, 'Internal Server Error');
    }
    try {
      res.statusCode = response.statusCode;
      const grouped = new Map<string, string[]>();
      for (const [k, v] of response.headers) grouped.set(k, [...(grouped.get(k) ?? []), v]);
      for (const [k, vs] of grouped) res.setHeader(k, vs.length === 1 ? (vs[0] ?? '') : vs);
      res.setHeader('apigw-requestid', requestId);
      res.setHeader('content-length', response.body.length);
    } catch (err) {
      log(
        `http-gateway: ${route.spec.routeKey} returned unusable headers: ${err instanceof Error ? err.message : String(err)}`,
      );
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      return reply(500, 'Internal Server Error');
    }
    res.end(response.body);
    return response.statusCode;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const rawUrl = req.url ?? '/';
    const target = /^https?:\/\//i.test(rawUrl) ? rawUrl.replace(/^https?:\/\/[^/]*/i, '') || '/' : rawUrl;
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const rawQuery = q < 0 ? '' : target.slice(q + 1);
    const origin = req.headers.origin;

    if (isLocalOrigin(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-expose-headers', '*');
      res.setHeader('vary', 'Origin');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS',
          'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
    }

    const extra = extraHandlers.find((h) => pathname.startsWith(h.prefix));
    if (extra) {
      await extra.handle(req, res);
      return;
    }
    if (pathname === '/.well-known/jwks.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, jwks(opts.jwtKeys));
      return;
    }
    const staticPath = opts.staticRewrite ? opts.staticRewrite(pathname) : pathname;
    if (staticDirs.length > 0 && (await serveStatic(req, res, staticPath, rawQuery, staticDirs)) === 'served') return;

    let api = apis[0];
    let apiPath = pathname;
    if (pathname.startsWith(API_PREFIX)) {
      const rest = pathname.slice(API_PREFIX.length);
      const slash = rest.indexOf('/');
      const id = slash < 0 ? rest : rest.slice(0, slash);
      const named = apis.find((a) => a.spec.apiId === id);
      if (named) {
        api = named;
        apiPath = slash < 0 ? '/' : rest.slice(slash);
      }
    }
    if (!api) {
      req.resume();
      sendJson(res, 404, { message: 'Not Found' });
      return;
    }
    // a named stage's requests reach the same routes: API Gateway strips `/<stage>`, keeping it in rawPath
    const first = apiPath.split('/')[1] ?? '';
    const stage = api.spec.stages.includes(first) ? first : undefined;
    const routePath = stage ? apiPath.slice(stage.length + 1) || '/' : apiPath;
    const status = await handleApi(req, res, api, routePath, rawQuery, stage ? { stage, rawPath: apiPath } : undefined);
    log(`http-gateway: ${req.method} ${pathname} → ${status} (${Date.now() - started} ms)`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(
        `http-gateway: ${req.method} ${req.url} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      sendJson(res, 500, { message: 'Internal Server Error' });
    });
  });
  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(opts.port, host, () => {
      server.off('error', fail);
      ready();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  const apiUrls: Record<string, string> = {};
  apis.forEach((a, i) => {
    apiUrls[a.spec.apiId] = i === 0 ? url : `${url}${API_PREFIX}${a.spec.apiId}`;
  });
  log(
    `http-gateway: listening on ${url} (${apis.length} API(s), ${apis.reduce((n, a) => n + a.routes.length, 0)} routes)`,
  );

  return {
    name: 'http-gateway',
    url,
    apiUrls,
    stop: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
