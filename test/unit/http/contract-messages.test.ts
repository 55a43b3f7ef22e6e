import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseOrThrow } from '#shared/http/validate.ts';
import { CONTRACT_SETS } from '../../../scripts/openapi.ts';

/**
 * Every field error of every route contract has Chinese as specific as its English. Each route's params, query and
 * body schema is walked (through its JSON Schema, the same the OpenAPI document shows) and fed invalid values field by
 * field: a wrong type, a bound crossed, a pattern or format missed, an enum value that is not one, an unknown field, a
 * missing one. Every refusal's `messageZh` must be Chinese and not a generic or untranslated text.
 */
type Json = Record<string, unknown>;

/** Texts that say nothing specific: zod's own generic Chinese, and what issue-text.ts uses when a message has none. */
const GENERIC = [/^无效输入$/, /^数值过[小大]/, /^未通过校验：/, /格式不符合规则/, /^无效/];
const HAN = /\p{Script=Han}/u;
/** Three English words in a row: a message left in English inside the Chinese. */
const ENGLISH = /[A-Za-z]{2,},? [A-Za-z]{2,},? [A-Za-z]{2,}/;

function resolve(schema: Json, root: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = ref.replace(/^#\/(\$defs|definitions)\//, '');
  const defs = (root.$defs ?? root.definitions ?? {}) as Record<string, Json>;
  return defs[name] ?? {};
}

const branches = (s: Json) => ((s.anyOf ?? s.oneOf ?? []) as Json[]).filter((b) => b.type !== 'null');

/** A value of `schema` as plausible as its JSON Schema allows (refines are not visible there: they may still fail). */
function sample(schema: Json, root: Json, depth = 0): unknown {
  const s = resolve(schema, root);
  if (depth > 8) return undefined;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (branches(s).length > 0) return sample(branches(s)[0] as Json, root, depth + 1);
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return sample(s.allOf[0] as Json, root, depth + 1);
  switch (s.type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Json>;
      const required = new Set((s.required ?? []) as string[]);
      const out: Json = {};
      for (const [k, v] of Object.entries(props)) if (required.has(k)) out[k] = sample(v, root, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Number(s.minItems ?? 0) }, () => sample((s.items ?? {}) as Json, root, depth + 1));
    case 'integer':
    case 'number': {
      if (typeof s.minimum === 'number') return s.minimum;
      if (typeof s.exclusiveMinimum === 'number') return s.exclusiveMinimum + 1;
      return typeof s.maximum === 'number' ? Math.min(0, s.maximum) : 1;
    }
    case 'boolean':
      return true;
    case 'string': {
      if (s.format === 'date') return '2026-05-01';
      if (s.format === 'date-time') return '2026-05-01T08:30:00+08:00';
      if (s.format === 'uri') return 'https://example.com/';
      if (typeof s.pattern === 'string') {
        return fc.sample(fc.stringMatching(new RegExp(s.pattern)), { numRuns: 1, seed: 11 })[0];
      }
      return 'x'.repeat(Math.max(1, Number(s.minLength ?? 1)));
    }
    default:
      return 'x';
  }
}

/** Values `schema` refuses: each with the reason, for the failure message. */
function invalid(schema: Json, root: Json, depth = 0): unknown[] {
  const s = resolve(schema, root);
  if (depth > 8) return [];
  const out: unknown[] = [];
  if ('const' in s) out.push(`${String(s.const)}-not`);
  if (Array.isArray(s.enum)) out.push('not-one-of-them');
  for (const b of branches(s)) {
    // a discriminated branch: keep its discriminator, break the rest
    for (const bad of invalid(b, root, depth + 1)) out.push(bad);
  }
  switch (s.type) {
    case 'object': {
      out.push(42, []);
      const props = (s.properties ?? {}) as Record<string, Json>;
      const base = sample(s, root, depth) as Json;
      for (const [k, v] of Object.entries(props)) {
        for (const bad of invalid(v, root, depth + 1)) out.push({ ...base, [k]: bad });
      }
      for (const k of (s.required ?? []) as string[]) {
        const { [k]: _missing, ...rest } = base;
        out.push(rest);
      }
      if (s.additionalProperties === false) out.push({ ...base, ['__proto__']: 1, constructor: 2 });
      break;
    }
    case 'array': {
      out.push('x', {});
      const item = sample((s.items ?? {}) as Json, root, depth + 1);
      for (const bad of invalid((s.items ?? {}) as Json, root, depth + 1).slice(0, 12)) out.push([bad]);
      if (typeof s.maxItems === 'number') out.push(Array.from({ length: s.maxItems + 1 }, () => item));
      if (typeof s.minItems === 'number' && s.minItems > 0) out.push([]);
      break;
    }
    case 'integer':
    case 'number':
      out.push('seven', true);
      if (s.type === 'integer') out.push(1.5);
      if (typeof s.minimum === 'number') out.push(s.minimum - 1);
      if (typeof s.exclusiveMinimum === 'number') out.push(s.exclusiveMinimum);
      if (typeof s.maximum === 'number') out.push(s.maximum + 1);
      if (typeof s.exclusiveMaximum === 'number') out.push(s.exclusiveMaximum);
      break;
    case 'boolean':
      out.push('yes', 1);
      break;
    case 'string':
      out.push(7, { a: 1 }, 'bad\u0000text', '\ud800', '   ');
      if (typeof s.maxLength === 'number') out.push('字'.repeat(s.maxLength + 1));
      if (typeof s.minLength === 'number' && s.minLength > 1) out.push('x');
      if (typeof s.pattern === 'string' || s.format) out.push('!!', '2026/05/01');
      break;
  }
  return out;
}

interface Refusal {
  where: string;
  field: string;
  message: string;
  messageZh: string;
}

function refusals(): { all: Refusal[]; perPart: Map<string, number> } {
  const all: Refusal[] = [];
  const perPart = new Map<string, number>();
  for (const set of CONTRACT_SETS) {
    for (const [name, route] of Object.entries(set)) {
      for (const part of ['params', 'query', 'body'] as const) {
        const schema = route[part];
        if (!schema) continue;
        const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
        const where = `${name}.${part}`;
        perPart.set(where, 0);
        for (const value of [undefined, null, 'x', ...invalid(json, json)]) {
          try {
            parseOrThrow(schema, value, part);
          } catch (err) {
            if (!(err instanceof ValidationError)) throw err;
            perPart.set(where, (perPart.get(where) ?? 0) + 1);
            for (const i of err.issues) all.push({ where, ...i });
          }
        }
      }
    }
  }
  return { all, perPart };
}

describe('field messages of every route contract', () => {
  const { all, perPart } = refusals();

  it('refuses invalid values of every params, query and body schema', () => {
    for (const [where, n] of perPart) expect(n, where).toBeGreaterThan(2);
    expect(all.length).toBeGreaterThan(2000);
  });

  it('gives every field error a specific Chinese message', () => {
    const vague = all.filter(
      (r) => !HAN.test(r.messageZh) || ENGLISH.test(r.messageZh) || GENERIC.some((g) => g.test(r.messageZh)),
    );
    const unique = [...new Map(vague.map((r) => [`${r.where} ${r.field} ${r.messageZh}`, r])).values()];

    expect(unique.map((r) => `${r.where} ${r.field}: ${r.messageZh} ← ${r.message}`)).toEqual([]);
  });
});
