/**
 * Evaluates parsed AWS IoT SQL (see iot-sql.ts) against one message, following the operator and
 * conversion tables of the AWS IoT SQL reference (2016-03-23):
 * - a missing field is `Undefined`; an `Undefined` SELECT item is left out of the output object;
 * - `=` / `<>` compare same-typed values (mismatched types: `=` false, `<>` true; Undefined → Undefined);
 * - `< <= > >=` convert both sides to Decimal (numbers, or strings like "12.5"), otherwise Undefined;
 * - AND / OR / NOT need Boolean operands (or the strings "true"/"false"), otherwise Undefined;
 * - the WHERE clause passes only when it evaluates to true.
 * A payload that is not a JSON object is binary: `SELECT *` forwards it as raw bytes, field references are
 * Undefined, and `encode(*, 'base64')` is how to carry it in JSON.
 * Limits: numbers are JavaScript doubles (AWS keeps 34-digit Int/Decimal); no Int vs Decimal distinction.
 */

import type { Expr, SqlStatement, Template } from './iot-sql.ts';

export const UNDEFINED: unique symbol = Symbol('Undefined');
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
export type SqlValue = JsonValue | typeof UNDEFINED;

/** What the SQL functions can see of a message. */
export interface SqlMessage {
  /** the topic as rule functions see it (Basic Ingest prefix already removed) */
  topic: string;
  payload: Buffer;
  clientId: string;
  principal: string;
  /** ms since epoch when the rules engine received the message */
  timestamp: number;
}

export type SelectResult = { kind: 'json'; value: JsonObject } | { kind: 'raw'; payload: Buffer };

/** A rule that parsed but cannot be evaluated for this message (AWS logs these; no action runs). */
export class IotSqlEvalError extends Error {
  override name = 'IotSqlEvalError';
}

interface EvalContext extends SqlMessage {
  doc: JsonObject | undefined;
}

function isObject(v: SqlValue | unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The payload as a JSON object, or undefined when it is binary / not an object. */
export function parseJsonObject(payload: Buffer): JsonObject | undefined {
  if (payload.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    return isObject(parsed) ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

const DECIMAL_RE = /^-?\d+(\.\d+)?([eE]-?\d+)?$/;

function toDecimal(v: SqlValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && DECIMAL_RE.test(v)) return Number(v);
  return undefined;
}

function toBoolean(v: SqlValue): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const lower = v.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return undefined;
}

/** Standard string conversion; Null and Undefined have none. */
export function toSqlString(v: SqlValue): string | typeof UNDEFINED {
  if (v === UNDEFINED || v === null) return UNDEFINED;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function typeOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  if (ta === 'array') {
    const x = a as JsonValue[];
    const y = b as JsonValue[];
    return x.length === y.length && x.every((item, i) => deepEqual(item, y[i] as JsonValue));
  }
  if (ta === 'object') {
    const x = a as JsonObject;
    const y = b as JsonObject;
    const keys = Object.keys(x);
    return (
      keys.length === Object.keys(y).length &&
      keys.every((k) => Object.hasOwn(y, k) && deepEqual(x[k] as JsonValue, y[k] as JsonValue))
    );
  }
  return a === b;
}

function compare(op: string, left: SqlValue, right: SqlValue): SqlValue {
  if (left === UNDEFINED || right === UNDEFINED) return UNDEFINED;
  if (op === '=' || op === '<>') {
    const equal = deepEqual(left, right);
    return op === '=' ? equal : !equal;
  }
  const l = toDecimal(left);
  const r = toDecimal(right);
  if (l === undefined || r === undefined) return UNDEFINED;
  switch (op) {
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    default:
      return l >= r;
  }
}

function field(doc: JsonObject | undefined, path: string[]): SqlValue {
  let current: JsonValue | undefined = doc;
  for (const key of path) {
    if (!isObject(current) || !Object.hasOwn(current, key)) return UNDEFINED;
    current = current[key];
  }
  return current === undefined ? UNDEFINED : current;
}

function callFunction(name: string, args: Expr[], ctx: EvalContext): SqlValue {
  switch (name) {
    case 'topic': {
      if (args.length === 0) return ctx.topic;
      const n = toDecimal(evaluate(args[0] as Expr, ctx));
      if (n === undefined) return UNDEFINED;
      const segment = ctx.topic.split('/')[Math.floor(n) - 1];
      return n >= 1 && segment !== undefined ? segment : UNDEFINED;
    }
    case 'timestamp':
      return ctx.timestamp;
    case 'clientid':
      return ctx.clientId;
    case 'principal':
      return ctx.principal;
    case 'isundefined':
      return evaluate(args[0] as Expr, ctx) === UNDEFINED;
    case 'encode': {
      const arg = args[0] as Expr;
      if (arg.kind === 'payload') return ctx.payload.toString('base64');
      const s = toSqlString(evaluate(arg, ctx));
      return s === UNDEFINED ? UNDEFINED : Buffer.from(s, 'utf8').toString('base64');
    }
    default:
      throw new IotSqlEvalError(`function ${name}() is not implemented`);
  }
}

function evaluate(expr: Expr, ctx: EvalContext): SqlValue {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'field':
      return field(ctx.doc, expr.path);
    case 'payload':
      throw new IotSqlEvalError('"*" cannot be used as a value here');
    case 'call':
      return callFunction(expr.name, expr.args, ctx);
    case 'compare':
      return compare(expr.op, evaluate(expr.left, ctx), evaluate(expr.right, ctx));
    case 'not': {
      const b = toBoolean(evaluate(expr.operand, ctx));
      return b === undefined ? UNDEFINED : !b;
    }
    case 'and':
    case 'or': {
      const l = toBoolean(evaluate(expr.left, ctx));
      const r = toBoolean(evaluate(expr.right, ctx));
      if (l === undefined || r === undefined) return UNDEFINED;
      return expr.kind === 'and' ? l && r : l || r;
    }
  }
}

function context(msg: SqlMessage, doc?: JsonObject): EvalContext {
  return { ...msg, doc: doc ?? parseJsonObject(msg.payload) };
}

/** Evaluate one expression (exported for tests and substitution templates). */
export function evaluateExpression(expr: Expr, msg: SqlMessage): SqlValue {
  return evaluate(expr, context(msg));
}

/**
 * Run WHERE then SELECT. Returns undefined when WHERE is not true.
 * Throws IotSqlEvalError when the SELECT cannot be built for this payload
 * (`SELECT *, …` on a non-empty payload that is not a JSON object).
 */
export function runStatement(stmt: SqlStatement, msg: SqlMessage): SelectResult | undefined {
  const ctx = context(msg);
  if (stmt.where && toBoolean(evaluate(stmt.where, ctx)) !== true) return undefined;

  const hasAll = stmt.projections.some((p) => p.kind === 'all');
  if (hasAll && !ctx.doc) {
    if (stmt.projections.length === 1) return { kind: 'raw', payload: msg.payload };
    if (msg.payload.length > 0) {
      throw new IotSqlEvalError(
        "SELECT * combined with other items needs a JSON object payload; use encode(*, 'base64') AS … for binary payloads",
      );
    }
  }
  const value: JsonObject = {};
  for (const p of stmt.projections) {
    if (p.kind === 'all') {
      Object.assign(value, ctx.doc ?? {});
      continue;
    }
    const v = evaluate(p.expr, ctx);
    if (v !== UNDEFINED) value[p.key] = v;
  }
  return { kind: 'json', value };
}

/** Render a substitution template against the incoming message; Undefined renders as "". */
export function renderTemplate(template: Template, msg: SqlMessage): string {
  if (template.every((part) => typeof part === 'string')) return template.join('');
  const ctx = context(msg);
  return template
    .map((part) => {
      if (typeof part === 'string') return part;
      const s = toSqlString(evaluate(part, ctx));
      return s === UNDEFINED ? '' : s;
    })
    .join('');
}
