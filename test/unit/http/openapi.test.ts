import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { registryRoutes } from '#shared/contracts/registry.ts';
import * as errors from '#shared/domain/errors.ts';
import { Township } from '#shared/domain/registry/model.ts';
import { ROLES } from '#shared/domain/roles.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { buildOpenApi } from '#shared/http/openapi.ts';
import {
  CONSOLE_TYPES_PATH,
  CONTRACT_SETS,
  OPENAPI_PATH,
  openApiDocument,
  renderConsoleTypes,
  renderOpenApi,
} from '../../../scripts/openapi.ts';

type Operation = {
  operationId: string;
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
};

const operations = (doc: { paths: Record<string, Record<string, unknown>> }) =>
  Object.values(doc.paths).flatMap((p) => Object.values(p) as Operation[]);

/** Every `$ref` in a document. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('docs/openapi.json', () => {
  it('equals what the generator produces now (run `npm run openapi` when this fails)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
  });

  it("gives the console the API's types as generated from it now (run `npm run openapi` when this fails)", async () => {
    expect(readFileSync(CONSOLE_TYPES_PATH, 'utf8')).toBe(await renderConsoleTypes());
  });

  it('has one operation per contract, each with a Chinese summary', () => {
    const doc = openApiDocument();
    const ops = operations(doc);

    expect(ops.map((o) => o.operationId).sort()).toEqual(CONTRACT_SETS.flatMap((c) => Object.keys(c)).sort());
    for (const op of ops) expect(op.summary, op.operationId).toMatch(/[\u4e00-\u9fff]/);
  });

  it('resolves every reference inside the document', () => {
    const doc = openApiDocument();
    for (const ref of refs(doc)) {
      const [, section, name] = /^#\/components\/(schemas|responses)\/(.+)$/.exec(ref) ?? [];
      expect(section, ref).toBeDefined();
      expect(doc.components[section as 'schemas' | 'responses'][name as string], ref).toBeDefined();
    }
  });
});

describe('docs/api.md', () => {
  const guide = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');

  it('explains every problem type the domain can raise', () => {
    const classes: unknown[] = Object.values(errors);
    const slugs = classes
      .filter((e) => typeof e === 'function' && e.prototype instanceof errors.DomainError)
      .map((E) => new (E as new (message: string) => errors.DomainError)('').slug);

    expect(slugs.length).toBeGreaterThanOrEqual(8);
    for (const slug of [...slugs, 'internal-error']) expect(guide, slug).toContain(`/problems/${slug}`);
  });

  it('lists every role', () => {
    for (const role of ROLES) expect(guide, role).toContain(`\`${role}\``);
  });
});

describe('buildOpenApi', () => {
  const routes = defineRoutes({
    list_towns: {
      method: 'GET',
      path: '/towns',
      auth: ['analyst', 'admin'],
      summary: '列出乡镇',
      tags: ['towns'],
      query: z.strictObject({ limit: z.coerce.number().int().default(50), cursor: z.string().optional() }),
      response: z.object({ items: z.array(Township) }),
      scope: { kind: 'open', why: 'a test route' },
    },
    replace_town: {
      method: 'PUT',
      path: '/towns/{id}',
      auth: ['admin'],
      summary: '修改乡镇',
      description: 'Send If-Match.',
      tags: ['towns'],
      params: z.strictObject({ id: z.string().describe('乡镇编号') }),
      body: Township,
      response: Township,
      scope: { kind: 'county' },
    },
    status: {
      method: 'GET',
      path: '/status',
      auth: 'public',
      summary: '状态',
      tags: ['ops'],
      scope: { kind: 'open', why: 'public' },
    },
  });
  const doc = buildOpenApi([routes], { title: 'T', version: '1.0.0' }, { models: { Township } });
  const op = (path: string, method: string) => doc.paths[path]?.[method] as Operation;

  it('writes an OpenAPI 3.1 document with the given info and sorted tags', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'T', version: '1.0.0' });
    expect(doc.tags).toEqual([{ name: 'ops' }, { name: 'towns' }]);
  });

  it('turns params and query into parameters, path ones required', () => {
    expect(op('/towns', 'get').parameters).toEqual([
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', default: 50 } },
      { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
    ]);
    expect(op('/towns/{id}', 'put').parameters).toEqual([
      { name: 'id', in: 'path', required: true, description: '乡镇编号', schema: { type: 'string' } },
    ]);
  });

  it('references named models and publishes a separate input form when it differs', () => {
    expect(op('/towns/{id}', 'put').requestBody?.content['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/TownshipInput',
    });
    expect(op('/towns/{id}', 'put').responses['200']?.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/Township',
    });
    expect(doc.components.schemas.Township).toMatchObject({ type: 'object', additionalProperties: false });
    expect(doc.components.schemas.TownshipInput).toMatchObject({
      type: 'object',
      required: ['id', 'name', 'type', 'pinyin'],
    });
  });

  it('needs bearerAuth on official routes and lists their roles', () => {
    expect(op('/towns', 'get').security).toEqual([{ bearerAuth: [] }]);
    expect(op('/towns', 'get').description).toBe('角色 Roles: `analyst`（线索研判岗）, `admin`（系统管理员）');
    expect(op('/towns/{id}', 'put').description).toBe('Send If-Match.\n\n角色 Roles: `admin`（系统管理员）');
    expect(op('/status', 'get').security).toEqual([]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('answers errors with the shared Problem schema, by what a route can fail on', () => {
    expect(Object.keys(op('/towns/{id}', 'put').responses)).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '412',
      '413',
      '415',
      '500',
    ]);
    expect(Object.keys(op('/status', 'get').responses)).toEqual(['200', '500']);
    expect(op('/towns', 'get').responses['403']).toEqual({ $ref: '#/components/responses/Forbidden' });
    expect(doc.components.responses.PreconditionFailed).toEqual({
      description: '数据已被他人修改 / Precondition failed (`/problems/precondition-failed`)',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    });
    expect(doc.components.schemas.Problem).toMatchObject({ required: ['type', 'title', 'status'] });
  });

  it('refuses two contract sets that declare the same route', () => {
    expect(() => buildOpenApi([routes, { again: routes.status }], { title: 'T', version: '1' })).toThrow(/duplicate/);
  });

  it('publishes the registry routes with their schemas', () => {
    const registry = buildOpenApi([registryRoutes], { title: 'T', version: '1' });
    const create = registry.paths['/registry/devices']?.post as Operation;

    expect(create.responses['201']).toBeDefined();
    expect(JSON.stringify(create.requestBody)).toContain('password');
    expect(JSON.stringify(create.responses['201'])).not.toContain('passwordHash');
  });
});
