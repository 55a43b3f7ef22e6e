import * as z from 'zod';
import {
  ConflictError,
  type DomainError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { ROLE_LABELS } from '#shared/domain/roles.ts';
import { type RouteContract, type RouteContracts, routeKey } from './contract.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

/**
 * Builds an OpenAPI 3.1 document from route contracts with zod 4's own `z.toJSONSchema` (JSON Schema 2020-12, the
 * dialect OpenAPI 3.1 uses). Request schemas are converted as zod *inputs* (defaults make fields optional), response
 * schemas as *outputs*. Named models (e.g. `Township`) become `components.schemas` and are referenced; a model whose
 * request form differs from its response form gets a second component `<Name>Input`. Errors are RFC 9457 problems
 * (one shared `Problem` schema), non-public routes need `bearerAuth`, and the roles that may call a route are in
 * its description. Limits: response headers (ETag) and `If-Match` are described in text, not as header objects.
 */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export interface OpenApiServer {
  url: string;
  description?: string;
  variables?: Record<string, { default: string; description?: string }>;
}

export interface OpenApiOptions {
  servers?: OpenApiServer[];
  /** schemas to publish as named components, e.g. `{ Township, Enterprise }` */
  models?: Record<string, z.ZodType>;
}

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: OpenApiInfo;
  servers?: OpenApiServer[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json>; securitySchemes: Record<string, Json> };
}

const REF = '#/components/schemas/';

/** The problem body every 4xx/5xx answer carries (shared/http/problem.ts). */
export const ProblemSchema = z
  .object({
    type: z.string().describe('stable relative URI, e.g. `/problems/validation-error` (docs/api.md)'),
    title: z.string().describe('中文 / English'),
    status: z.number().int(),
    detail: z.string().optional().describe('what went wrong, in English with the Chinese in parentheses'),
    detailZh: z.string().optional().describe('the same in Chinese alone, to show to a citizen or an official'),
    instance: z.string().optional().describe('`/requests/<request id>`; quote it when asking for help'),
    errors: z
      .array(
        z.object({
          field: z.string().describe('dotted path of the failing field, e.g. `body.limits.0.max`'),
          message: z.string(),
          messageZh: z
            .string()
            .describe('in Chinese, as specific: the bound and its unit, the expected format, the allowed values'),
        }),
      )
      .optional(),
  })
  .describe('RFC 9457 problem details');

const ERROR_RESPONSES: Record<number, { name: string; error: DomainError | undefined }> = {
  400: { name: 'BadRequest', error: new ValidationError('') },
  401: { name: 'Unauthorized', error: new UnauthorizedError('') },
  403: { name: 'Forbidden', error: new ForbiddenError('') },
  404: { name: 'NotFound', error: new NotFoundError('') },
  409: { name: 'Conflict', error: new ConflictError('') },
  412: { name: 'PreconditionFailed', error: new PreconditionFailedError('') },
  413: { name: 'PayloadTooLarge', error: new PayloadTooLargeError('') },
  415: { name: 'UnsupportedMediaType', error: new UnsupportedMediaTypeError('') },
  500: { name: 'InternalError', error: undefined },
};

/** Drops what OpenAPI components do not need (`$schema`, `$id`) and zod's ±2^53 bounds on plain integers. */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$schema' || k === '$id') continue;
    if ((k === 'minimum' || k === 'maximum') && Math.abs(Number(v)) === Number.MAX_SAFE_INTEGER) continue;
    out[k] = tidy(v);
  }
  return out;
}

function refsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF)) found.add(v.slice(REF.length));
      else refsIn(v, found);
    }
  }
  return found;
}

/**
 * Converts `schemas` (route bodies or responses) in one direction. Returns each one's JSON schema (a `$ref` when it is
 * a model) and the model components they reach, named by `name(model)`.
 */
function convert(
  schemas: z.ZodType[],
  models: Record<string, z.ZodType>,
  io: 'input' | 'output',
  name: (model: string) => string,
): { schemaOf: Map<z.ZodType, Json>; components: Record<string, Json> } {
  const registry = z.registry<{ id: string }>();
  const modelIds = new Map<z.ZodType, string>();
  for (const [id, schema] of Object.entries(models)) {
    registry.add(schema, { id });
    modelIds.set(schema, id);
  }
  const routeIds = new Map<z.ZodType, string>();
  for (const schema of schemas) {
    if (modelIds.has(schema) || routeIds.has(schema)) continue;
    const id = `__route${routeIds.size}`;
    routeIds.set(schema, id);
    registry.add(schema, { id });
  }
  const generated = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    uri: (id) => `${REF}${modelIds.has(models[id] as z.ZodType) ? name(id) : id}`,
  }).schemas;
  const schemaOf = new Map<z.ZodType, Json>();
  for (const schema of schemas) {
    const model = modelIds.get(schema);
    schemaOf.set(
      schema,
      model ? { $ref: `${REF}${name(model)}` } : (tidy(generated[routeIds.get(schema) ?? '']) as Json),
    );
  }
  // keep only the models reachable from the converted schemas
  const components: Record<string, Json> = {};
  const pending = [...refsIn([...schemaOf.values()])];
  const byName = new Map(Object.keys(models).map((id) => [name(id), id]));
  while (pending.length > 0) {
    const component = pending.pop() as string;
    const id = byName.get(component);
    if (id === undefined) throw new Error(`openapi: dangling reference to ${component}`);
    if (components[component]) continue;
    components[component] = tidy(generated[id]) as Json;
    pending.push(...refsIn(components[component]));
  }
  return { schemaOf, components };
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = tidy(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function errorStatuses(c: RouteContract): number[] {
  const statuses = new Set<number>();
  if (c.params || c.query || c.body) statuses.add(400);
  if (c.auth !== 'public') statuses.add(401).add(403);
  if (c.path.includes('{')) statuses.add(404);
  if (c.method === 'POST') statuses.add(409);
  if (c.method === 'PUT' || c.method === 'PATCH') statuses.add(412);
  if (c.body) statuses.add(413).add(415);
  statuses.add(500);
  return [...statuses].sort((a, b) => a - b);
}

function describe(c: RouteContract): string {
  const who =
    c.auth === 'public'
      ? '公开接口（无需令牌，已限流）。 Public (no token; throttled).'
      : `角色 Roles: ${c.auth.map((r) => `\`${r}\`（${ROLE_LABELS[r]}）`).join(', ')}`;
  return c.description ? `${c.description}\n\n${who}` : who;
}

export function buildOpenApi(
  contractsByFunction: readonly RouteContracts[],
  info: OpenApiInfo,
  options: OpenApiOptions = {},
): OpenApiDocument {
  const models = options.models ?? {};
  const routes: [string, RouteContract][] = [];
  const seen = new Map<string, string>();
  for (const contracts of contractsByFunction) {
    for (const [operationId, contract] of Object.entries(contracts)) {
      const key = routeKey(contract);
      if (seen.has(operationId) || [...seen.values()].includes(key)) {
        throw new Error(`openapi: duplicate operation ${operationId} (${key})`);
      }
      seen.set(operationId, key);
      routes.push([operationId, contract]);
    }
  }

  const responses = convert(
    routes.flatMap(([, c]) => (c.response ? [c.response] : [])),
    models,
    'output',
    (id) => id,
  );
  // a model whose request form equals its response form is published once; otherwise as `<Name>Input`
  const probe = convert(
    routes.flatMap(([, c]) => (c.body ? [c.body] : [])),
    models,
    'input',
    (id) => id,
  );
  const inputName = (id: string) => {
    const asInput = probe.components[id];
    const asOutput = responses.components[id];
    if (!asInput || !asOutput || JSON.stringify(asInput) === JSON.stringify(asOutput)) return id;
    return id.endsWith('Input') ? `${id}Request` : `${id}Input`;
  };
  const requests = convert(
    routes.flatMap(([, c]) => (c.body ? [c.body] : [])),
    models,
    'input',
    inputName,
  );

  const paths: OpenApiDocument['paths'] = {};
  for (const [operationId, c] of routes) {
    const operation: Json = {
      operationId,
      summary: c.summary,
      description: describe(c),
      tags: c.tags,
      security: c.auth === 'public' ? [] : [{ bearerAuth: [] }],
    };
    const params = [...parameters(c.params, 'path'), ...parameters(c.query, 'query')];
    if (params.length > 0) operation.parameters = params;
    if (c.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: requests.schemaOf.get(c.body) } },
      };
    }
    const status = String(c.status ?? 200);
    const ok: Json = { description: status === '201' ? '已创建 Created' : '成功 OK' };
    if (c.response) ok.content = { 'application/json': { schema: responses.schemaOf.get(c.response) } };
    const answers: Json = { [status]: ok };
    for (const s of errorStatuses(c))
      answers[String(s)] = { $ref: `#/components/responses/${ERROR_RESPONSES[s]?.name}` };
    operation.responses = answers;
    paths[c.path] ??= {};
    (paths[c.path] as Record<string, Json>)[c.method.toLowerCase()] = operation;
  }

  const schemas: Record<string, Json> = {
    ...responses.components,
    ...requests.components,
    Problem: tidy(z.toJSONSchema(ProblemSchema, { io: 'output' })) as Json,
  };
  const errorResponses: Record<string, Json> = {};
  for (const { name, error } of Object.values(ERROR_RESPONSES)) {
    errorResponses[name] = {
      description: error
        ? `${error.titleZh} / ${error.titleEn} (\`/problems/${error.slug}\`)`
        : '服务器内部错误 / Internal server error (`/problems/internal-error`)',
      content: { [PROBLEM_CONTENT_TYPE.split(';')[0] as string]: { schema: { $ref: `${REF}Problem` } } },
    };
  }
  const tags = [...new Set(routes.flatMap(([, c]) => c.tags))].sort().map((name) => ({ name }));

  return {
    openapi: '3.1.0',
    info,
    ...(options.servers ? { servers: options.servers } : {}),
    tags,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      responses: errorResponses,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'JWT from the configured OIDC issuer; roles in the `roles` claim or `cognito:groups`.',
        },
      },
    },
  };
}
