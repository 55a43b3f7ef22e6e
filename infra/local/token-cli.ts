/**
 * Issue a token for the running local platform:
 *   npm run -s token -- --role admin [--role analyst] [--sub id] [--name 张三] [--township code …] [--uscc code]
 *                       [--department 部门] [--ttl 8h] [--data-dir .envwatch]
 * The token names the townships it may see: `--township` (repeatable) or, by default, `*` (county-wide, explicitly).
 * Prints only the token on stdout (so `TOKEN=$(npm run -s token -- --role admin)` works); messages go to stderr.
 * Keys come from `<data-dir>/jwt/`, issuer and audience from `<data-dir>/endpoints.json` (both written by `npm start`).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isRole, ROLE_LABELS, ROLES } from '#shared/domain/roles.ts';
import { readKeys, signToken } from './jwt.ts';

const USAGE =
  'usage: npm run -s token -- --role <role> [--role <role2>] [--sub id] [--name 张三] [--township code …] [--uscc code] [--department 部门] [--ttl 8h] [--data-dir .envwatch]';

class CliError extends Error {}

/** `8h`, `30m`, `2d`, `45s` or plain seconds. */
function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/i.exec(text.trim());
  if (!m) throw new CliError(`invalid --ttl '${text}': use e.g. 3600, 45s, 30m, 8h or 2d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const seconds = Number(m[1]) * unit;
  if (seconds <= 0) throw new CliError('--ttl must be positive');
  return seconds;
}

async function readEndpoints(dataDir: string): Promise<{ issuer: string; audience: string }> {
  let text: string;
  try {
    text = await readFile(join(dataDir, 'endpoints.json'), 'utf8');
  } catch {
    throw new CliError(`no ${join(dataDir, 'endpoints.json')}: start the platform first with \`npm start\``);
  }
  const parsed: unknown = JSON.parse(text);
  const auth = typeof parsed === 'object' && parsed !== null ? (parsed as { auth?: unknown }).auth : undefined;
  const { issuer, audience } = (typeof auth === 'object' && auth !== null ? auth : {}) as Record<string, unknown>;
  const aud = Array.isArray(audience) ? audience[0] : audience;
  if (typeof issuer !== 'string' || typeof aud !== 'string') {
    throw new CliError(`${join(dataDir, 'endpoints.json')} has no auth.issuer / auth.audience`);
  }
  return { issuer, audience: aud };
}

async function main(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      role: { type: 'string', multiple: true },
      sub: { type: 'string' },
      name: { type: 'string' },
      township: { type: 'string', multiple: true },
      uscc: { type: 'string' },
      department: { type: 'string' },
      ttl: { type: 'string', default: '8h' },
      'data-dir': { type: 'string', default: '.envwatch' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new CliError(USAGE);

  const roles = values.role ?? [];
  const valid = `valid roles: ${ROLES.map((r) => `${r} (${ROLE_LABELS[r]})`).join(', ')}`;
  if (roles.length === 0) throw new CliError(`--role is required\n${USAGE}\n${valid}`);
  const unknown = roles.filter((r) => !isRole(r));
  if (unknown.length > 0) throw new CliError(`unknown role ${unknown.map((r) => `'${r}'`).join(', ')}; ${valid}`);
  const ttl = parseTtl(values.ttl ?? '8h');

  const dataDir = resolve(values['data-dir'] ?? '.envwatch');
  const { issuer, audience } = await readEndpoints(dataDir);
  const keys = await readKeys(dataDir);
  if (!keys)
    throw new CliError(`no signing key under ${join(dataDir, 'jwt')}: start the platform first with \`npm start\``);

  const first = roles[0] ?? '';
  return signToken(
    keys,
    {
      iss: issuer,
      aud: audience,
      sub: values.sub ?? `local-${first}`,
      roles,
      name: values.name ?? (isRole(first) ? ROLE_LABELS[first] : first),
      townships: values.township && values.township.length > 0 ? values.township : ['*'],
      ...(values.uscc ? { uscc: values.uscc } : {}),
      ...(values.department ? { department: values.department } : {}),
    },
    ttl,
  );
}

main(process.argv.slice(2)).then(
  (token) => {
    process.stdout.write(`${token}\n`);
  },
  (err: unknown) => {
    const known =
      err instanceof CliError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(
      `token: ${err instanceof Error ? (known ? err.message : (err.stack ?? err.message)) : String(err)}\n`,
    );
    process.exitCode = known ? 2 : 1;
  },
);
