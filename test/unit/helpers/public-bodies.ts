import fc from 'fast-check';
import { evidencePublicRoutes } from '#shared/contracts/evidence.ts';
import { tipsPublicRoutes } from '#shared/contracts/tips.ts';
import { MAX_FILES_PER_REQUEST, UPLOAD_TYPES, type UploadContentType } from '#shared/domain/evidence/model.ts';
import { TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { usccCheckChar } from '#shared/domain/registry/uscc.ts';
import { MAX_UPLOADS, TEXT_LIMITS, TipCategory } from '#shared/domain/tips/model.ts';
import type { RouteContract } from '#shared/http/contract.ts';

/**
 * Generated bodies for every public (no token) route with a body: valid ones, as a citizen's phone would send, and
 * hostile ones, each refused by the route's schema by construction (a wrong type, a control character, a lone
 * surrogate, invisible or too long text, a missing field, an unknown or prototype key, deep nesting, a wrong root).
 * The property tests (test/unit/http/public-routes.property.test.ts) and the HTTP fuzz bench (bench/fuzz-public.bench.ts)
 * share them. `opts.realistic` keeps valid bodies acceptable to the use-case too: no upload ids, a known township,
 * an observation time in the past.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Body = Record<string, Json>;

/** A free-text field: where it sits in a body, its limit and whether it takes line breaks. */
export interface TextField {
  path: (string | number)[];
  max: number;
  multiline: boolean;
}

export interface PublicRoute {
  name: string;
  contract: RouteContract;
  valid: fc.Arbitrary<Body>;
  /** the free-text fields of a valid body */
  texts: (body: Body) => TextField[];
}

// ---- text ----

const CJK = fc.integer({ min: 0x4e00, max: 0x9fa5 }).map((c) => String.fromCharCode(c));
const ASCII = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const EMOJI = fc.integer({ min: 0x1f300, max: 0x1f5ff }).map((c) => String.fromCodePoint(c));
const SPACE = fc.constantFrom(' ', '\u3000', '\u00a0', '\u200d');
const LINE = fc.constantFrom('\n', '\r\n', '\t');

/**
 * Text the rules accept (shared/domain/text.ts), built so by construction: visible characters (CJK, ASCII, emoji
 * pairs), spaces, joiners and, in a multi-line field, line breaks and tabs; at least one visible character; at most
 * `max` UTF-16 units, hence at most `max` characters (every piece is at most two units).
 */
export function validText(max: number, multiline: boolean, longest = max): fc.Arbitrary<string> {
  const piece = multiline
    ? fc.oneof({ weight: 6, arbitrary: CJK }, ASCII, EMOJI, SPACE, LINE)
    : fc.oneof({ weight: 6, arbitrary: CJK }, ASCII, EMOJI, SPACE);
  const pieces = Math.max(0, Math.floor((Math.min(max, longest) - 1) / 2));
  return fc.tuple(CJK, fc.array(piece, { maxLength: pieces }), fc.nat()).map(([visible, rest, at]) => {
    const i = rest.length === 0 ? 0 : at % (rest.length + 1);
    return [...rest.slice(0, i), visible, ...rest.slice(i)].join('');
  });
}

/** Characters the rules refuse anywhere: controls (not LF, CR, tab), DEL, C1, bidi controls. */
const REFUSED_ANYWHERE = [
  ...Array.from({ length: 0x20 }, (_, c) => c).filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d),
  0x7f,
  0x85,
  0x9f,
  0x202e,
  0x2066,
].map((c) => String.fromCharCode(c));
const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

/** Text the rules refuse in a field of `max` characters, each for a stated reason. */
export function invalidText(max: number, multiline: boolean): fc.Arbitrary<{ why: string; text: string }> {
  const around = validText(Math.min(max, 200), multiline, 60);
  const insert = (bad: fc.Arbitrary<string>, why: string) =>
    fc.tuple(around, bad, fc.nat()).map(([t, b, at]) => {
      const i = at % (t.length + 1);
      // never split a surrogate pair of the valid text
      const j = i > 0 && /[\ud800-\udbff]/.test(t.charAt(i - 1)) ? i + 1 : i;
      return { why, text: t.slice(0, j) + b + t.slice(j) };
    });
  const options = [
    insert(fc.constantFrom(...REFUSED_ANYWHERE), 'control character'),
    insert(fc.constantFrom(...LONE_SURROGATES), 'lone surrogate'),
    fc
      .array(fc.constantFrom(' ', '\u3000', '\u200b', '\ufeff', '\u2060', ...(multiline ? ['\n', '\t'] : [])), {
        maxLength: 8,
      })
      .map((s) => ({ why: 'nothing visible', text: s.join('') })),
    fc.integer({ min: 1, max: 50 }).map((n) => ({ why: 'too long', text: '长'.repeat(max + n) })),
  ];
  if (!multiline) options.push(insert(fc.constantFrom('\n', '\r', '\t'), 'line break in one line'));
  return fc.oneof(...options);
}

// ---- valid bodies ----

const TOWNSHIP_IDS = TOWNSHIPS.map((t) => t.id);
const ULID = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
const PHONE = fc.oneof(fc.stringMatching(/^1[3-9]\d{9}$/), fc.stringMatching(/^0\d{2,3}-?\d{7,8}$/));
const ID_NUMBER = fc.stringMatching(/^\d{17}[\dX]$/);
const USCC = fc
  .stringMatching(/^[0-9A-HJ-NPQRTUWXY]{17}$/)
  .map((first17) => `${first17}${usccCheckChar(first17) ?? '0'}`);

/** An instant within the last 30 days, as the form writes it: Beijing wall time with its offset. */
const observedAt = fc.integer({ min: 60_000, max: 30 * 86_400_000 }).map((ago) => {
  const ms = Date.now() - ago;
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
});
const point = fc.record({
  lat: fc.double({ min: 27.4, max: 27.87, noNaN: true }).map((v) => Math.round(v * 1e6) / 1e6),
  lng: fc.double({ min: 118.8, max: 119.52, noNaN: true }).map((v) => Math.round(v * 1e6) / 1e6),
});
const identity = (idRequired: boolean) =>
  fc.record(
    { name: validText(40, false), phone: PHONE, idNumber: ID_NUMBER },
    { requiredKeys: idRequired ? ['name', 'phone', 'idNumber'] : ['name', 'phone'] },
  );

export interface BodyOptions {
  /** acceptable to the use-case as well: no upload ids, a seeded township, short texts */
  realistic?: boolean;
}

function tipBody(opts: BodyOptions): fc.Arbitrary<Body> {
  const longest = opts.realistic ? 300 : TEXT_LIMITS.description;
  const reporter = fc.oneof(
    fc.constant({ kind: 'anonymous' as const }),
    identity(false).map((id) => ({ kind: 'real_name' as const, identity: id })),
  );
  return fc
    .record(
      {
        category: fc.constantFrom(...TipCategory.options),
        description: validText(TEXT_LIMITS.description, true, longest),
        location: fc.record(
          {
            townshipId: opts.realistic ? fc.constantFrom(...TOWNSHIP_IDS) : fc.stringMatching(/^[a-z]{2,20}$/),
            address: validText(TEXT_LIMITS.address, false, opts.realistic ? 60 : TEXT_LIMITS.address),
            point,
          },
          { requiredKeys: ['townshipId', 'address'] },
        ),
        observedAt,
        suspectedUnit: fc.oneof(
          USCC.map((enterpriseId) => ({ kind: 'registered' as const, enterpriseId })),
          validText(TEXT_LIMITS.unitName, false).map((name) => ({ kind: 'unregistered' as const, name })),
        ),
        reporter,
        insider: fc.boolean(),
        commendationConsent: fc.boolean(),
        uploadIds: opts.realistic ? fc.constant([]) : fc.array(ULID, { maxLength: MAX_UPLOADS }),
      },
      { requiredKeys: ['category', 'description', 'location', 'observedAt', 'reporter'] },
    )
    .map((b) => ({
      ...b,
      // an anonymous reporter cannot be commended publicly
      ...(b.commendationConsent !== undefined
        ? { commendationConsent: b.commendationConsent && b.reporter.kind === 'real_name' }
        : {}),
    })) as fc.Arbitrary<Body>;
}

const upload = fc.constantFrom(...(Object.keys(UPLOAD_TYPES) as UploadContentType[])).chain((contentType) =>
  fc.record(
    {
      contentType: fc.constant(contentType),
      bytes: fc.integer({ min: 1, max: UPLOAD_TYPES[contentType].maxBytes }),
      fileName: validText(255, false, 40),
    },
    { requiredKeys: ['contentType', 'bytes'] },
  ),
);

/** Every public route with a body, with its valid bodies and free-text fields. */
export function publicRoutes(opts: BodyOptions = {}): PublicRoute[] {
  const at = (b: Body, ...path: (string | number)[]) =>
    path.reduce<Json | undefined>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, Json>)[k as string] : undefined),
      b,
    );
  return [
    {
      name: 'submit_tip',
      contract: tipsPublicRoutes.submit_tip,
      valid: tipBody(opts),
      texts: (b) => [
        { path: ['description'], max: TEXT_LIMITS.description, multiline: true },
        { path: ['location', 'address'], max: TEXT_LIMITS.address, multiline: false },
        ...(at(b, 'suspectedUnit', 'kind') === 'unregistered'
          ? [{ path: ['suspectedUnit', 'name'], max: TEXT_LIMITS.unitName, multiline: false }]
          : []),
        ...(at(b, 'reporter', 'kind') === 'real_name'
          ? [{ path: ['reporter', 'identity', 'name'], max: 40, multiline: false }]
          : []),
      ],
    },
    {
      name: 'add_tip_info',
      contract: tipsPublicRoutes.add_tip_info,
      valid: fc.record({
        text: validText(TEXT_LIMITS.info, true, opts.realistic ? 300 : TEXT_LIMITS.info),
        uploadIds: opts.realistic ? fc.constant([]) : fc.array(ULID, { maxLength: MAX_UPLOADS }),
      }),
      texts: () => [{ path: ['text'], max: TEXT_LIMITS.info, multiline: true }],
    },
    {
      name: 'reply_tip_message',
      contract: tipsPublicRoutes.reply_tip_message,
      valid: fc.record({ text: validText(TEXT_LIMITS.message, true, opts.realistic ? 300 : TEXT_LIMITS.message) }),
      texts: () => [{ path: ['text'], max: TEXT_LIMITS.message, multiline: true }],
    },
    {
      name: 'claim_tip_reward',
      contract: tipsPublicRoutes.claim_tip_reward,
      valid: fc.record({ identity: identity(true) }),
      texts: () => [{ path: ['identity', 'name'], max: 40, multiline: false }],
    },
    {
      name: 'create_uploads',
      contract: evidencePublicRoutes.create_uploads,
      valid: fc.record({ files: fc.array(upload, { minLength: 1, maxLength: MAX_FILES_PER_REQUEST }) }),
      texts: (b) =>
        ((b.files ?? []) as Json[]).flatMap((f, i) =>
          f && typeof f === 'object' && 'fileName' in f
            ? [{ path: ['files', i, 'fileName'], max: 255, multiline: false }]
            : [],
        ),
    },
  ];
}

// ---- hostile bodies ----

const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

/**
 * Nested arrays or objects `depth` deep. JSON.stringify recurses, so values stay below ~2,000 levels; deeper nesting
 * is sent as text (`deepJson`), which JSON.parse reads without recursion.
 */
export const nested = (depth: number, kind: 'array' | 'object'): Json => {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
};

function setAt(body: Json, path: (string | number)[], value: Json | undefined): Json {
  const [head, ...rest] = path;
  if (head === undefined) return value as Json;
  const copy: Record<string, Json> | Json[] = Array.isArray(body) ? [...body] : { ...(body as Record<string, Json>) };
  const child = (copy as Record<string, Json>)[head as string] as Json;
  if (rest.length === 0 && value === undefined) delete (copy as Record<string, Json>)[head as string];
  else (copy as Record<string, Json>)[head as string] = setAt(child, rest, value);
  return copy as Json;
}

/** Every path to a value in `body` (objects and arrays included), the root excluded. */
function paths(body: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (body === null || typeof body !== 'object') return [];
  const entries: [string | number, Json][] = Array.isArray(body)
    ? body.map((v, i) => [i, v])
    : Object.entries(body as Record<string, Json>);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

/** A value of another JSON type than `v`, never null where null is not allowed either. */
function wrongType(v: Json, pick: number): Json {
  const deep = nested(1000, pick % 2 === 0 ? 'array' : 'object');
  const byType: Record<string, Json[]> = {
    string: [7, true, null, [], { a: 1 }, deep],
    number: ['7', true, null, [], {}, deep],
    boolean: ['true', 1, null, [], {}],
    object: ['x', 1, null, true, deep],
  };
  const options = Array.isArray(v) ? ['x', 1, null, {}, { 0: 'a' }] : (byType[typeof v] ?? ['x']);
  return options[pick % options.length] as Json;
}

/** JSON text nested `depth` deep, far beyond what a value could be stringified at. */
export const deepJson = (depth: number, kind: 'array' | 'object'): string =>
  kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Why a hostile body is refused, for the bench's counts. */
export type HostileKind =
  | 'wrong_type'
  | 'missing_field'
  | 'unknown_key'
  | 'prototype_key'
  | 'bad_text'
  | 'wrong_root'
  | 'enum_value';

/**
 * Bodies the route's schema refuses, with the reason: a valid body mutated once. Only mutations that no schema of
 * these routes accepts are used (optional fields get a wrong type, never a deletion; unknown keys go on strict objects).
 */
export function hostileBodies(route: PublicRoute): fc.Arbitrary<{ kind: HostileKind; body: Json }> {
  const required: Record<string, (string | number)[][]> = {
    submit_tip: [['category'], ['description'], ['location'], ['observedAt'], ['reporter'], ['location', 'address']],
    add_tip_info: [['text']],
    reply_tip_message: [['text']],
    claim_tip_reward: [['identity'], ['identity', 'idNumber'], ['identity', 'phone']],
    create_uploads: [['files']],
  };
  const strictPaths: Record<string, (string | number)[][]> = {
    submit_tip: [[], ['location'], ['reporter']],
    add_tip_info: [[]],
    reply_tip_message: [[]],
    claim_tip_reward: [[], ['identity']],
    create_uploads: [[], ['files', 0]],
  };
  const enums: Record<string, { path: (string | number)[]; value: Json }[]> = {
    submit_tip: [
      { path: ['category'], value: 'arson' },
      { path: ['reporter', 'kind'], value: 'secret' },
    ],
  };
  return route.valid.chain((body) => {
    const all = paths(body);
    const texts = route.texts(body);
    const mutations: fc.Arbitrary<{ kind: HostileKind; body: Json }>[] = [
      fc
        .tuple(fc.constantFrom(...all), fc.nat())
        .map(([p, n]) => ({ kind: 'wrong_type' as const, body: setAt(body, p, wrongType(pathValue(body, p), n)) })),
      fc
        .constantFrom(...(required[route.name] ?? [[]]))
        .map((p) => ({ kind: 'missing_field' as const, body: setAt(body, p, undefined) })),
      fc
        .tuple(fc.constantFrom(...(strictPaths[route.name] ?? [[]])), fc.constantFrom(...PROTO_KEYS), fc.jsonValue())
        .map(([p, key, value]) => ({
          kind: 'prototype_key' as const,
          body: withKey(body, p, key, value as Json),
        })),
      fc
        .tuple(fc.constantFrom(...(strictPaths[route.name] ?? [[]])), fc.string({ minLength: 1, maxLength: 30 }))
        .filter(([p, key]) => !(key in (pathValue(body, p) as object)) && !PROTO_KEYS.includes(key))
        .map(([p, key]) => ({ kind: 'unknown_key' as const, body: withKey(body, p, key, 'x') })),
      fc
        .constantFrom<Json>(null, 42, 'body', true, [], [body], nested(1500, 'array'))
        .map((root) => ({ kind: 'wrong_root' as const, body: root })),
    ];
    if (texts.length > 0) {
      mutations.push(
        fc.constantFrom(...texts).chain((t) =>
          invalidText(t.max, t.multiline).map(({ text }) => ({
            kind: 'bad_text' as const,
            body: setAt(body, t.path, text),
          })),
        ),
      );
    }
    const e = enums[route.name];
    if (e)
      mutations.push(
        fc.constantFrom(...e).map((m) => ({ kind: 'enum_value' as const, body: setAt(body, m.path, m.value) })),
      );
    return fc.oneof(...mutations);
  });
}

function pathValue(body: Json, path: (string | number)[]): Json {
  return path.reduce<Json>((v, k) => (v as Record<string, Json>)[k as string] as Json, body);
}

/** `body` with `key` added at `path` as an own property (also `__proto__`, as JSON.parse makes it). */
function withKey(body: Json, path: (string | number)[], key: string, value: Json): Json {
  const target = pathValue(body, path) as Record<string, Json>;
  const copy = { ...target };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return setAt(body, path, copy);
}
