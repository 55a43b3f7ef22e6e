/**
 * A parser for the subset of AWS IoT SQL (version 2016-03-23) that the local IoT stand-in evaluates:
 *
 *   SELECT <projections> FROM '<topic filter>' [WHERE <condition>]
 *
 * Projections: `*`, field paths (`a.b.c` [AS name]), `topic()`, `topic(n)`, `timestamp()`, `clientid()`,
 * `principal()`, `encode(<expr or *>, 'base64')`, `isUndefined(x)`, string/number/boolean/null literals,
 * comparisons and AND/OR/NOT (anything that is not a field path needs `AS name`).
 * WHERE: comparisons (= <> != < <= > >=), AND, OR, NOT, parentheses and the same functions.
 * It also parses `${expression}` substitution templates used in rule actions.
 *
 * Everything else (CASE, arithmetic, array indexing, nested SELECT, SET, VALUE, other functions …) is
 * rejected with an `IotSqlError` naming the unsupported part, so a rule that would behave differently in
 * AWS fails loudly at start-up instead of silently at run time. The FROM clause is optional, as in AWS,
 * for rules that are only reached through Basic Ingest.
 */

export class IotSqlError extends Error {
  override name = 'IotSqlError';
}

export type Clause = 'SELECT' | 'WHERE' | 'FROM' | 'template';

export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type SqlFunctionName = 'topic' | 'timestamp' | 'clientid' | 'principal' | 'encode' | 'isundefined';

export type Expr =
  | { kind: 'field'; path: string[] }
  | { kind: 'literal'; value: null | boolean | number | string }
  | { kind: 'payload' } // `*` as a function argument: the raw payload
  | { kind: 'call'; name: SqlFunctionName; args: Expr[] }
  | { kind: 'compare'; op: CmpOp; left: Expr; right: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; operand: Expr };

export type Projection = { kind: 'all' } | { kind: 'item'; expr: Expr; key: string };

export interface SqlStatement {
  projections: Projection[];
  /** FROM topic filter; undefined when the statement has no FROM (Basic Ingest only). */
  topicFilter: string | undefined;
  where: Expr | undefined;
}

/** A substitution template such as `alarms/${topic(2)}`: literal text and expressions, in order. */
export type Template = (string | Expr)[];

type Token =
  | { type: 'ident'; text: string; pos: number }
  | { type: 'number'; value: number; text: string; pos: number }
  | { type: 'string'; value: string; text: string; pos: number }
  | { type: 'punct'; text: string; pos: number }
  | { type: 'other'; text: string; pos: number }
  | { type: 'eof'; text: ''; pos: number };

const PUNCT = ['<>', '!=', '<=', '>=', '=', '<', '>', '*', ',', '(', ')', '.', '-'];
const ARITHMETIC = new Set(['+', '/', '%', '||']);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(ch)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i] as string)) i++;
      tokens.push({ type: 'ident', text: src.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(ch)) {
      const m = /^\d+(\.\d+)?([eE][-+]?\d+)?/.exec(src.slice(i));
      const text = m?.[0] ?? ch;
      i += text.length;
      tokens.push({ type: 'number', value: Number(text), text, pos: start });
      continue;
    }
    if (ch === "'" || ch === '"') {
      let value = '';
      i++;
      let closed = false;
      while (i < src.length) {
        const c = src[i] as string;
        if (c === '\\' && i + 1 < src.length) {
          value += src[i + 1];
          i += 2;
          continue;
        }
        if (c === ch) {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new IotSqlError(`unterminated string literal starting at position ${start}`);
      tokens.push({ type: 'string', value, text: src.slice(start, i), pos: start });
      continue;
    }
    const punct = PUNCT.find((p) => src.startsWith(p, i));
    if (punct) {
      i += punct.length;
      tokens.push({ type: 'punct', text: punct, pos: start });
      continue;
    }
    const two = src.slice(i, i + 2);
    const text = two === '||' ? two : ch;
    i += text.length;
    tokens.push({ type: 'other', text, pos: start });
  }
  tokens.push({ type: 'eof', text: '', pos: src.length });
  return tokens;
}

const KEYWORDS = new Set(['select', 'from', 'where', 'as', 'and', 'or', 'not', 'true', 'false', 'null']);
/** Keywords of AWS IoT SQL features this subset does not evaluate (reported when they appear where a keyword would). */
const UNSUPPORTED_KEYWORDS = new Set(['case', 'when', 'then', 'else', 'end', 'value', 'set', 'in', 'like', 'between']);

const FUNCTION_ARITY: Record<SqlFunctionName, number[]> = {
  topic: [0, 1],
  timestamp: [0],
  clientid: [0],
  principal: [0],
  encode: [2],
  isundefined: [1],
};

function isSupportedFunction(name: string): name is SqlFunctionName {
  return Object.hasOwn(FUNCTION_ARITY, name);
}

class Parser {
  private pos = 0;
  clause: Clause = 'SELECT';

  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.type === 'ident' && t.text.toLowerCase() === word;
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.type === 'punct' && t.text === text;
  }

  private where(): string {
    return this.clause === 'template' ? 'in a substitution template' : `in ${this.clause}`;
  }

  fail(message: string): never {
    throw new IotSqlError(`${message} ${this.where()}`);
  }

  private unexpected(t: Token): never {
    if (t.type === 'eof') this.fail('unexpected end of SQL');
    if (t.type === 'punct' && (t.text === '-' || t.text === '*')) this.fail(`unsupported SQL operator "${t.text}"`);
    if (t.type === 'other') {
      const what = ARITHMETIC.has(t.text) ? 'operator' : 'syntax';
      this.fail(`unsupported SQL ${what} "${t.text}"`);
    }
    if (t.type === 'ident' && UNSUPPORTED_KEYWORDS.has(t.text.toLowerCase())) {
      this.fail(`unsupported SQL keyword "${t.text.toUpperCase()}"`);
    }
    this.fail(`unexpected "${t.text}"`);
  }

  private expectPunct(text: string): void {
    if (!this.isPunct(text)) this.unexpected(this.peek());
    this.next();
  }

  parseStatement(): SqlStatement {
    if (!this.isKeyword('select')) {
      const t = this.peek();
      if (t.type === 'ident' && t.text.toLowerCase() === 'set') this.fail('unsupported SQL clause "SET"');
      this.fail('the SQL must start with SELECT');
    }
    this.next();
    this.clause = 'SELECT';
    const afterValue = this.peek(1);
    if (
      this.isKeyword('value') &&
      afterValue.type !== 'punct' &&
      !this.isKeyword('from', 1) &&
      !this.isKeyword('as', 1)
    ) {
      this.fail('unsupported SQL keyword "VALUE"');
    }
    const projections: Projection[] = [this.parseProjection()];
    while (this.isPunct(',')) {
      this.next();
      projections.push(this.parseProjection());
    }
    if (projections.filter((p) => p.kind === 'all').length > 1) this.fail('"*" may appear only once');

    let topicFilter: string | undefined;
    if (this.isKeyword('from')) {
      this.next();
      this.clause = 'FROM';
      const t = this.next();
      if (t.type !== 'string') this.fail('the topic filter must be a quoted string');
      topicFilter = validateTopicFilter(t.value);
    }
    let where: Expr | undefined;
    if (this.isKeyword('where')) {
      this.next();
      this.clause = 'WHERE';
      where = this.parseExpr();
    }
    const rest = this.peek();
    if (rest.type !== 'eof') this.unexpected(rest);
    return { projections, topicFilter, where };
  }

  private parseProjection(): Projection {
    if (this.isPunct('*')) {
      this.next();
      return { kind: 'all' };
    }
    const startTok = this.peek();
    const expr = this.parseExpr();
    if (this.isKeyword('as')) {
      this.next();
      const alias = this.next();
      if (alias.type === 'string') return { kind: 'item', expr, key: alias.value };
      if (alias.type !== 'ident' || KEYWORDS.has(alias.text.toLowerCase())) this.fail('AS must be followed by a name');
      if (this.isPunct('.')) this.fail(`unsupported nested alias "${alias.text}.…"`);
      return { kind: 'item', expr, key: alias.text };
    }
    if (expr.kind === 'field') return { kind: 'item', expr, key: expr.path[expr.path.length - 1] as string };
    this.fail(
      `the item starting with "${startTok.text}" needs an AS name (the local stand-in does not guess the key AWS would generate)`,
    );
  }

  /** An expression that must use up all the input (substitution templates). */
  parseWholeExpr(): Expr {
    const expr = this.parseExpr();
    const rest = this.peek();
    if (rest.type !== 'eof') this.unexpected(rest);
    return expr;
  }

  parseExpr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isKeyword('and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isKeyword('not')) {
      this.next();
      return { kind: 'not', operand: this.parseNot() };
    }
    return this.parseComparison();
  }

  private comparisonOp(): CmpOp | undefined {
    const t = this.peek();
    if (t.type !== 'punct') return undefined;
    if (t.text === '!=') return '<>';
    if (t.text === '=' || t.text === '<>' || t.text === '<' || t.text === '<=' || t.text === '>' || t.text === '>=') {
      return t.text;
    }
    return undefined;
  }

  private parseComparison(): Expr {
    const left = this.parsePrimary();
    const op = this.comparisonOp();
    if (!op) return left;
    this.next();
    const right = this.parsePrimary();
    if (this.comparisonOp()) this.fail('chained comparisons are not supported; use AND');
    return { kind: 'compare', op, left, right };
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.type) {
      case 'number':
        return { kind: 'literal', value: t.value };
      case 'string':
        return { kind: 'literal', value: t.value };
      case 'punct': {
        if (t.text === '(') {
          const inner = this.parseExpr();
          this.expectPunct(')');
          return inner;
        }
        if (t.text === '-') {
          const n = this.next();
          if (n.type !== 'number')
            this.fail('unsupported SQL operator "-" (only negative number literals are supported)');
          return { kind: 'literal', value: -n.value };
        }
        if (t.text === '*') this.fail('"*" is only supported as a SELECT item or as the first argument of encode()');
        return this.unexpected(t);
      }
      case 'ident':
        return this.parseIdentifier(t);
      default:
        return this.unexpected(t);
    }
  }

  private parseIdentifier(t: Token & { type: 'ident' }): Expr {
    const lower = t.text.toLowerCase();
    if (lower === 'true' || lower === 'false') return { kind: 'literal', value: lower === 'true' };
    if (lower === 'null') return { kind: 'literal', value: null };
    if (this.isPunct('(')) return this.parseCall(t.text);
    if (KEYWORDS.has(lower) || lower === 'case') this.unexpected(t);
    const path = [t.text];
    while (this.isPunct('.')) {
      this.next();
      const seg = this.next();
      if (seg.type !== 'ident') this.fail(`unsupported field reference after "${path.join('.')}."`);
      path.push(seg.text);
    }
    const after = this.peek();
    if (after.type === 'other' && after.text === '[') this.fail(`unsupported array index on "${path.join('.')}"`);
    return { kind: 'field', path };
  }

  private parseCall(rawName: string): Expr {
    const name = rawName.toLowerCase();
    if (!isSupportedFunction(name)) this.fail(`unsupported SQL function "${rawName}"`);
    this.expectPunct('(');
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      do {
        if (args.length > 0) this.next();
        if (name === 'encode' && args.length === 0 && this.isPunct('*')) {
          this.next();
          args.push({ kind: 'payload' });
        } else {
          args.push(this.parseExpr());
        }
      } while (this.isPunct(','));
    }
    this.expectPunct(')');
    const arity = FUNCTION_ARITY[name];
    if (!arity.includes(args.length)) {
      this.fail(`${rawName}() takes ${arity.join(' or ')} argument(s), got ${args.length}`);
    }
    if (name === 'encode') {
      const scheme = args[1];
      if (scheme?.kind !== 'literal' || typeof scheme.value !== 'string') {
        this.fail('encode() needs a literal encoding scheme');
      }
      if (scheme.value !== 'base64') this.fail(`unsupported encode() scheme "${scheme.value}" (only 'base64')`);
    }
    if (this.isPunct('.')) this.fail(`unsupported field access on the result of ${rawName}()`);
    return { kind: 'call', name, args };
  }
}

/** Parse a rule's SQL statement. Throws IotSqlError naming the unsupported part. */
export function parseSql(sql: string): SqlStatement {
  return new Parser(tokenize(sql)).parseStatement();
}

/** Parse one `${…}` expression body. */
function parseTemplateExpression(source: string): Expr {
  const parser = new Parser(tokenize(source));
  parser.clause = 'template';
  return parser.parseWholeExpr();
}

/**
 * Parse a substitution template (`device/${topic(2)}/alarm`). Text outside `${…}` is literal.
 * Throws IotSqlError for unsupported expressions or an unterminated `${`.
 */
export function parseTemplate(text: string): Template {
  const parts: Template = [];
  let i = 0;
  let literal = '';
  while (i < text.length) {
    if (text.startsWith('${', i)) {
      const end = findTemplateEnd(text, i + 2);
      if (end < 0) throw new IotSqlError(`unterminated "\${" in substitution template "${text}"`);
      if (literal) parts.push(literal);
      literal = '';
      parts.push(parseTemplateExpression(text.slice(i + 2, end)));
      i = end + 1;
      continue;
    }
    literal += text[i];
    i++;
  }
  if (literal) parts.push(literal);
  return parts;
}

function findTemplateEnd(text: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

/** Check an MQTT topic filter (`+` and `#` must fill a whole level; `#` only last). Returns it unchanged. */
export function validateTopicFilter(filter: string): string {
  if (filter.length === 0) throw new IotSqlError('the FROM topic filter is empty');
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw new IotSqlError(`invalid topic filter "${filter}": "#" must be the last level on its own`);
    }
    if (level.includes('+') && level !== '+') {
      throw new IotSqlError(`invalid topic filter "${filter}": "+" must be a whole level`);
    }
  });
  return filter;
}

/** MQTT topic matching: `+` one level, `#` the rest (including the parent); `$` topics never match a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
