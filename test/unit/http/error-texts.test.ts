import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { splitBilingual } from '#shared/domain/errors.ts';

/**
 * Every domain error raised in shared/ and functions/ says what it says in English and Chinese (`English (中文)`,
 * shared/domain/errors.ts), read from the source: the message of each `new XxxError(…)` is resolved to its text (a
 * literal, a template with its placeholders, both arms of a condition, a constant or a function's returns, in the same
 * file or one it imports).
 * A validation error with field issues may leave its Chinese to them: FieldIssue.messageZh is required by its type.
 */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const ERRORS = new Set([
  'ValidationError',
  'NotFoundError',
  'ConflictError',
  'PreconditionFailedError',
  'ForbiddenError',
  'UnauthorizedError',
  'PayloadTooLargeError',
  'UnsupportedMediaTypeError',
]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The repository file an import names (`./x.ts`, `#shared/…`), or undefined for a package. */
function importedPath(from: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return join(dirname(from), specifier);
  const m = /^#(shared|functions)\/(.+)$/.exec(specifier);
  return m ? join(ROOT, m[1] as string, m[2] as string) : undefined;
}

/** Declarations of `file` and, one level deep, of the repository files it imports (a message built in rules.ts). */
function withImports(file: ts.SourceFile): Map<string, ts.Node> {
  const own = declarations(file);
  const all = new Map<string, ts.Node>();
  for (const statement of file.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const path = importedPath(file.fileName, statement.moduleSpecifier.text);
    if (!path || !existsSync(path)) continue;
    const imported = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
    for (const [name, node] of declarations(imported)) all.set(name, node);
  }
  for (const [name, node] of own) all.set(name, node);
  return all;
}

/** Declarations by name in one file: constants, functions, object-literal constants. */
function declarations(file: ts.SourceFile): Map<string, ts.Node> {
  const found = new Map<string, ts.Node>();
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      found.set(node.name.text, node.initializer);
    } else if (ts.isFunctionDeclaration(node) && node.name) {
      found.set(node.name.text, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function returns(fn: ts.Node): ts.Expression[] {
  if (ts.isArrowFunction(fn) && !ts.isBlock(fn.body)) return [fn.body];
  const out: ts.Expression[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isReturnStatement(node) && node.expression) out.push(node.expression);
    else if (!ts.isFunctionLike(node) || node === fn) ts.forEachChild(node, visit);
  };
  ts.forEachChild(fn, visit);
  return out;
}

/** Every text `expr` can be, placeholders as `X`; undefined when it cannot be read from the source. */
function texts(expr: ts.Expression, decls: Map<string, ts.Node>, depth = 0): string[] | undefined {
  if (depth > 6) return undefined;
  const again = (e: ts.Expression) => texts(e, decls, depth + 1);
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return [expr.text];
  if (ts.isTemplateExpression(expr)) {
    return [expr.head.text + expr.templateSpans.map((s) => `X${s.literal.text}`).join('')];
  }
  if (ts.isParenthesizedExpression(expr)) return again(expr.expression);
  if (ts.isBinaryExpression(expr) && expr.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const a = again(expr.left);
    const b = again(expr.right);
    return a && b ? a.flatMap((x) => b.map((y) => x + y)) : undefined;
  }
  if (ts.isConditionalExpression(expr)) {
    const a = again(expr.whenTrue);
    const b = again(expr.whenFalse);
    return a && b ? [...a, ...b] : undefined;
  }
  if (ts.isIdentifier(expr)) {
    const d = decls.get(expr.text);
    return d && ts.isExpression(d) && !ts.isArrowFunction(d) ? again(d) : undefined;
  }
  if (ts.isCallExpression(expr)) {
    let fn: ts.Node | undefined;
    if (ts.isIdentifier(expr.expression)) fn = decls.get(expr.expression.text);
    else if (ts.isPropertyAccessExpression(expr.expression) && ts.isIdentifier(expr.expression.expression)) {
      const obj = decls.get(expr.expression.expression.text);
      const name = expr.expression.name.text;
      if (obj && ts.isObjectLiteralExpression(obj)) {
        const prop = obj.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === name);
        fn = prop && ts.isPropertyAssignment(prop) ? prop.initializer : prop;
      }
    }
    if (!fn || !ts.isFunctionLike(fn)) return undefined;
    const all = returns(fn).map(again);
    return all.length > 0 && all.every((t) => t !== undefined) ? (all.flat() as string[]) : undefined;
  }
  return undefined;
}

interface Finding {
  where: string;
  problem: string;
}

function findings(): Finding[] {
  const out: Finding[] = [];
  const files = [...sources(join(ROOT, 'shared')), ...sources(join(ROOT, 'functions'))];
  for (const path of files) {
    const source = readFileSync(path, 'utf8');
    if (!/new \w+Error\(/.test(source)) continue;
    const file = ts.createSourceFile(path, source, ts.ScriptTarget.ES2022, true);
    const decls = withImports(file);
    const visit = (node: ts.Node) => {
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && ERRORS.has(node.expression.text)) {
        const where = `${relative(ROOT, path)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        const [message, issues] = node.arguments ?? [];
        const withIssues = node.expression.text === 'ValidationError' && issues !== undefined;
        const all = message ? texts(message, decls) : [];
        if (all === undefined) {
          if (!withIssues) out.push({ where, problem: 'message cannot be read from the source' });
        } else {
          for (const text of all) {
            if (text === '' || withIssues) continue;
            const { en, zh } = splitBilingual(text);
            if (zh === undefined || en === zh) out.push({ where, problem: `not "English (中文)": ${text}` });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return out;
}

describe('domain error messages', () => {
  // parses every source file of shared/ and functions/ (~2 s alone; a loaded machine has taken 9 s)
  it('says every message in English and Chinese in shared/ and functions/', { timeout: 30_000 }, () => {
    expect(findings()).toEqual([]);
  });

  it('reads templates, conditions, constants and helper functions', () => {
    const file = ts.createSourceFile(
      'x.ts',
      `const A = 'a (甲)'; const helper = (n: number) => n > 1 ? \`\${n} b (乙)\` : 'c' + ' (丙)';
       const O = { f: () => 'd (丁)' }; function g() { return A; }`,
      ts.ScriptTarget.ES2022,
      true,
    );
    const decls = declarations(file);
    const expr = (code: string) =>
      (ts.createSourceFile('y.ts', code, ts.ScriptTarget.ES2022, true).statements[0] as ts.ExpressionStatement)
        .expression;

    expect(texts(expr('A'), decls)).toEqual(['a (甲)']);
    expect(texts(expr('helper(2)'), decls)).toEqual(['X b (乙)', 'c (丙)']);
    expect(texts(expr('O.f()'), decls)).toEqual(['d (丁)']);
    expect(texts(expr('g()'), decls)).toEqual(['a (甲)']);
    expect(texts(expr('someParameter'), decls)).toBeUndefined();
  });
});
