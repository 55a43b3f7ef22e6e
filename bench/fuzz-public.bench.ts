import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { localS3ClientConfig } from '#infra/local/services/s3.ts';
import { LOCAL_REGION } from '#infra/local/spec.ts';
import { synthEnvWatch } from '#infra/local/synth.ts';
import { ENV } from '#shared/config/env-names.ts';
import { RECEIPT_HEADER } from '#shared/contracts/tips.ts';
import {
  deepJson,
  type HostileKind,
  hostileBodies,
  type PublicRoute,
  publicRoutes,
} from '../test/unit/helpers/public-bodies.ts';
import { atMost, tempDir } from './lib.ts';
import { inParallel, stats } from './measure.ts';

/**
 * `npm run bench -- fuzzPublic`: every public (no token) route with a body on the running local platform (booted
 * in-process from a fresh synth, as bench/tips.bench.ts does), at least BODIES generated requests per route:
 *   valid    bodies as a phone sends them (test/unit/helpers/public-bodies.ts), each expected 2xx and stored;
 *   hostile  the same bodies mutated once (wrong types, control characters, lone surrogates, invisible or too long
 *            text, missing fields, unknown and prototype keys, deep nesting, wrong roots), and raw requests no route
 *            takes (wrong content types, invalid or truncated JSON, a byte-order mark, bytes that are not UTF-8, an
 *            empty body, a body over the route's limit, JSON nested 20,000 deep);
 *   refused  bodies the schema takes but the use-case refuses (an unknown upload, a time in the future, a reply with
 *            no message to answer, a claim on a tip that cannot be claimed).
 * Hostile and refused requests go in batches; around each batch every table a public function writes (tips, identities,
 * audit) is scanned whole and hashed, and the evidence buckets are listed per route: any change is an item stored
 * from a rejected body. Reported per route: statuses, any 5xx (with samples), any 2xx to a hostile body, stored
 * changes, and refusals whose field errors lack Chinese.
 */
const BODIES = Number(process.env.BENCH_FUZZ_BODIES ?? 10_000);
const BATCH = 500;
const IN_FLIGHT = 12;
/** valid bodies per route: each receipt route verifies a scrypt hash (~170 ms) per valid call */
const VALID: Record<string, number> = {
  submit_tip: 60,
  add_tip_info: 60,
  reply_tip_message: 60,
  claim_tip_reward: 12,
  create_uploads: 300,
};
const REFUSED = 30;
const STAGE_THROTTLE = { publicRateLimit: 100_000, publicBurstLimit: 100_000 };
const HAN = /\p{Script=Han}/u;

interface Sent {
  kind: string;
  body: string | Buffer | undefined;
  contentType?: string;
  receipt?: string;
}

interface Answer {
  status: number;
  text: string;
  ms: number;
}

interface Tally {
  sent: number;
  byKind: Record<string, number>;
  statuses: Record<string, number>;
  fiveXX: number;
  fiveXXSamples: { kind: string; status: number; answer: string }[];
  accepted: number;
  acceptedSamples: { kind: string; body: string }[];
  untranslated: number;
}

const tally = (): Tally => ({
  sent: 0,
  byKind: {},
  statuses: {},
  fiveXX: 0,
  fiveXXSamples: [],
  accepted: 0,
  acceptedSamples: [],
  untranslated: 0,
});

function record(t: Tally, s: Sent, a: Answer, expectRefusal: boolean) {
  t.sent++;
  t.byKind[s.kind] = (t.byKind[s.kind] ?? 0) + 1;
  t.statuses[String(a.status)] = (t.statuses[String(a.status)] ?? 0) + 1;
  if (a.status >= 500 || a.status === 0) {
    t.fiveXX++;
    if (t.fiveXXSamples.length < 5)
      t.fiveXXSamples.push({ kind: s.kind, status: a.status, answer: a.text.slice(0, 300) });
  }
  if (expectRefusal && a.status >= 200 && a.status < 300) {
    t.accepted++;
    if (t.acceptedSamples.length < 5) {
      t.acceptedSamples.push({ kind: s.kind, body: String(s.body ?? '').slice(0, 300) });
    }
  }
  if (a.status === 400) {
    try {
      const problem = JSON.parse(a.text) as { errors?: { messageZh?: string }[]; detailZh?: string };
      const zh = [problem.detailZh ?? '', ...(problem.errors ?? []).map((e) => e.messageZh ?? '')];
      if (zh.some((z) => !HAN.test(z))) t.untranslated++;
    } catch {
      t.untranslated++;
    }
  }
}

async function send(platform: Platform, route: PublicRoute, s: Sent): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(`${platform.endpoints.api}${route.contract.path}`, {
      method: route.contract.method,
      headers: {
        ...(s.contentType !== undefined ? { 'content-type': s.contentType } : {}),
        ...(s.receipt ? { [RECEIPT_HEADER]: s.receipt } : {}),
      },
      ...(s.body !== undefined ? { body: s.body } : {}),
    });
    return { status: res.status, text: await res.text(), ms: performance.now() - started };
  } catch (err) {
    return { status: 0, text: err instanceof Error ? err.message : String(err), ms: performance.now() - started };
  }
}

const json = (kind: string, value: unknown, receipt?: string): Sent => ({
  kind,
  body: JSON.stringify(value),
  contentType: 'application/json',
  ...(receipt ? { receipt } : {}),
});

/** Requests no route takes, whatever the body: the transport itself is wrong. */
function rawHostile(route: PublicRoute, valid: Record<string, unknown>, n: number, receipt?: string): Sent[] {
  const text = JSON.stringify(valid);
  const limit = route.contract.maxBodyBytes ?? 64 * 1024;
  const makers: (() => Sent)[] = [
    () => ({ kind: 'raw_content_type', body: text, contentType: 'text/plain' }),
    () => ({ kind: 'raw_content_type', body: text, contentType: 'application/x-www-form-urlencoded' }),
    () => ({ kind: 'raw_content_type', body: text }),
    () => ({
      kind: 'raw_invalid_json',
      body: text.slice(0, Math.max(1, text.length - 3)),
      contentType: 'application/json',
    }),
    () => ({ kind: 'raw_invalid_json', body: `\ufeff${text}`, contentType: 'application/json' }),
    () => ({ kind: 'raw_invalid_json', body: "{'single': 'quotes'}", contentType: 'application/json' }),
    () => ({
      kind: 'raw_not_utf8',
      body: Buffer.from([0x7b, 0xff, 0xfe, 0xc0, 0xaf, 0x7d]),
      contentType: 'application/json',
    }),
    () => ({ kind: 'raw_empty', body: undefined, contentType: 'application/json' }),
    () => ({ kind: 'raw_too_large', body: `{"text":"${'长'.repeat(limit)}"}`, contentType: 'application/json' }),
    () => ({
      kind: 'raw_deep_nesting',
      body: deepJson(Math.min(20_000, limit / 2 - 2), 'array'),
      contentType: 'application/json',
    }),
    () => ({
      kind: 'raw_deep_nesting',
      body: `{"a":${deepJson(Math.min(2000, limit / 6), 'object')}}`,
      contentType: 'application/json',
    }),
  ];
  return Array.from({ length: n }, (_, i) => ({
    ...(makers[i % makers.length] as () => Sent)(),
    ...(receipt ? { receipt } : {}),
  }));
}

// ---- what a rejected body may not change ----

class Watch {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly s3: S3Client,
    private readonly tables: string[],
    private readonly buckets: string[],
  ) {}

  /** Every item of every watched table, hashed, and the count. */
  async snapshot(): Promise<{ items: number; hash: string }> {
    const hash = createHash('sha256');
    let items = 0;
    for (const table of this.tables) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.db.send(
          new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
        );
        for (const item of out.Items ?? []) {
          hash.update(JSON.stringify(item));
          items++;
        }
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return { items, hash: hash.digest('hex') };
  }

  async objects(): Promise<number> {
    let n = 0;
    for (const bucket of this.buckets) {
      let token: string | undefined;
      do {
        const out = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        n += out.KeyCount ?? 0;
        token = out.NextContinuationToken;
      } while (token);
    }
    return n;
  }
}

interface RouteResult {
  valid: Tally & { latency: ReturnType<typeof stats>; notStored: number };
  /** the valid bodies changed the scanned tables: the check that rejected ones do not is not blind */
  validChangedData: boolean;
  hostile: Tally;
  refused: Tally;
  batches: number;
  batchesThatChangedData: number;
  itemsAddedByRejectedBodies: number;
  objectsAddedByRejectedBodies: number;
  totalRequests: number;
  seconds: number;
}

export async function run(): Promise<Record<string, unknown>> {
  const tmp = tempDir('fuzz-public');
  let platform: Platform | undefined;
  let db: DynamoDBDocumentClient | undefined;
  let s3: S3Client | undefined;
  try {
    synthEnvWatch(join(tmp.dir, 'cdk.out'), STAGE_THROTTLE);
    const dataDir = join(tmp.dir, 'data');
    platform = await startPlatform({ cdkOut: join(tmp.dir, 'cdk.out'), dataDir, ports: await freePorts() });
    const p = platform;
    const env = p.spec.functions
      .map((f) => f.environment)
      .find((e) => e[ENV.tipsTable] && e[ENV.identityTable] && e[ENV.evidenceBucket]);
    if (!env) throw new Error('no function is wired to the tips and identity tables and the evidence bucket');
    db = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: LOCAL_REGION,
        endpoint: p.endpoints.dynamodb,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    s3 = new S3Client(localS3ClientConfig(p.endpoints.s3));
    const watch = new Watch(
      db,
      s3,
      [String(env[ENV.tipsTable]), String(env[ENV.identityTable]), String(env[ENV.auditTable])],
      [String(env[ENV.evidenceBucket]), String(env[ENV.evidenceUploadsBucket])],
    );
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = p.endpoints.auth;
    const analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'bench-analyst', roles: ['analyst'], townships: ['*'] },
      7200,
    );

    const routes = publicRoutes({ realistic: true });
    const byName = Object.fromEntries(routes.map((r) => [r.name, r])) as Record<string, PublicRoute>;
    const official = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${p.endpoints.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${analyst}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const submit = async (overrides: Record<string, unknown> = {}) => {
      const body = { ...(fc.sample(byName.submit_tip?.valid as fc.Arbitrary<object>, 1)[0] as object), ...overrides };
      const a = await send(p, byName.submit_tip as PublicRoute, json('setup', body));
      if (a.status !== 201) throw new Error(`setup submission answered ${a.status}: ${a.text.slice(0, 300)}`);
      return JSON.parse(a.text) as { tipId: string; receipt: string };
    };
    const substantiate = async (tipId: string) => {
      for (const status of ['triaging', 'verifying', 'substantiated'])
        await official('POST', `/tips/${tipId}/status`, { status });
    };

    // ---- the tips the follow-up routes act on ----
    const anonymous = { reporter: { kind: 'anonymous' }, commendationConsent: false };
    const infoTip = await submit(anonymous);
    const replyTip = await submit(anonymous);
    await official('POST', `/tips/${replyTip.tipId}/messages`, { text: '请问排放大约持续多长时间？' });
    const silentTip = await submit(anonymous);
    const realNameTip = await submit({
      reporter: { kind: 'real_name', identity: { name: '王建平', phone: '13912345678' } },
    });
    await substantiate(realNameTip.tipId);
    const claimTips: { tipId: string; receipt: string }[] = [];
    for (let i = 0; i < (VALID.claim_tip_reward ?? 0); i++) {
      const t = await submit(anonymous);
      await substantiate(t.tipId);
      claimTips.push(t);
    }
    const receiptOf: Record<string, string | undefined> = {
      add_tip_info: infoTip.receipt,
      reply_tip_message: replyTip.receipt,
      claim_tip_reward: realNameTip.receipt,
    };

    const results: Record<string, RouteResult> = {};
    for (const route of routes) {
      const started = performance.now();
      const receipt = receiptOf[route.name];
      const seed = route.name.length * 7919;

      // ---- valid ----
      const validCount = VALID[route.name] ?? 50;
      const validBodies = fc.sample(route.valid, { numRuns: validCount, seed });
      const valid = { ...tally(), latency: stats([]), notStored: 0 };
      const validMs: number[] = [];
      const beforeValid = await watch.snapshot();
      await inParallel(
        validBodies.map((b, i) => ({ b, i })),
        route.name === 'create_uploads' ? IN_FLIGHT : 4,
        async ({ b, i }) => {
          const r = route.name === 'claim_tip_reward' ? claimTips[i]?.receipt : receipt;
          const s = json('valid', b, r);
          const a = await send(p, route, s);
          validMs.push(a.ms);
          record(valid, s, a, false);
          if (a.status < 200 || a.status >= 300) valid.notStored++;
        },
      );
      valid.latency = stats(validMs);
      // the detector's own check: the valid bodies were stored, so the hash it compares must have moved
      const validChangedData = (await watch.snapshot()).hash !== beforeValid.hash;

      // ---- refused by the use-case (schema-valid) ----
      const ulid = () => fc.sample(fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), 1)[0] as string;
      const base = () => fc.sample(route.valid, 1)[0] as Record<string, unknown>;
      const refusedSent: Sent[] = Array.from({ length: route.name === 'create_uploads' ? 0 : REFUSED }, (_, i) => {
        switch (route.name) {
          case 'submit_tip':
            return i % 2 === 0
              ? json('refused_unknown_upload', { ...base(), uploadIds: [ulid()] })
              : json('refused_future_time', { ...base(), observedAt: '2099-01-01T10:00:00+08:00' });
          case 'add_tip_info':
            return json('refused_unknown_upload', { ...base(), uploadIds: [ulid()] }, receipt);
          case 'reply_tip_message':
            return json('refused_nothing_to_answer', base(), silentTip.receipt);
          default:
            // a real-name report, and claims already made
            return json(
              'refused_not_claimable',
              base(),
              i % 2 === 0 ? realNameTip.receipt : claimTips[i % claimTips.length]?.receipt,
            );
        }
      });

      // ---- hostile ----
      const hostileCount = Math.max(0, BODIES - validCount - refusedSent.length);
      const rawCount = Math.round(hostileCount * 0.12);
      const mutated = fc
        .sample(hostileBodies(route), { numRuns: hostileCount - rawCount, seed: seed + 1 })
        .map(({ kind, body }: { kind: HostileKind; body: unknown }) => json(kind, body, receipt));
      const hostileSent = [...mutated, ...rawHostile(route, base(), rawCount, receipt)];

      const hostile = tally();
      const refused = tally();
      let batches = 0;
      let changed = 0;
      let added = 0;
      const objectsBefore = await watch.objects();
      const all = [
        ...refusedSent.map((s) => ({ s, refusedByUseCase: true })),
        ...hostileSent.map((s) => ({ s, refusedByUseCase: false })),
      ];
      for (let i = 0; i < all.length; i += BATCH) {
        const batch = all.slice(i, i + BATCH);
        const before = await watch.snapshot();
        await inParallel(batch, IN_FLIGHT, async ({ s, refusedByUseCase }) => {
          const a = await send(p, route, s);
          record(refusedByUseCase ? refused : hostile, s, a, true);
        });
        const after = await watch.snapshot();
        batches++;
        if (after.hash !== before.hash) {
          changed++;
          added += after.items - before.items;
        }
      }
      const objectsAdded = (await watch.objects()) - objectsBefore;
      results[route.name] = {
        valid,
        validChangedData,
        hostile,
        refused,
        batches,
        batchesThatChangedData: changed,
        itemsAddedByRejectedBodies: added,
        objectsAddedByRejectedBodies: objectsAdded,
        totalRequests: valid.sent + hostile.sent + refused.sent,
        seconds: Math.round(performance.now() - started) / 1000,
      };
    }

    const sum = (f: (r: RouteResult) => number) => Object.values(results).reduce((n, r) => n + f(r), 0);
    const fewest = Math.min(...Object.values(results).map((r) => r.totalRequests));
    return {
      what: `${BODIES} generated requests per public route with a body on the local platform (valid, hostile, refused by the use-case); tables scanned and hashed around every batch of ${BATCH} rejected requests`,
      routes: results,
      totals: {
        requests: sum((r) => r.totalRequests),
        fiveXX: sum((r) => r.valid.fiveXX + r.hostile.fiveXX + r.refused.fiveXX),
        hostileAccepted: sum((r) => r.hostile.accepted + r.refused.accepted),
        batchesThatChangedData: sum((r) => r.batchesThatChangedData),
        validNotStored: sum((r) => r.valid.notStored),
        untranslatedRefusals: sum((r) => r.hostile.untranslated + r.refused.untranslated),
      },
      targets: [
        { name: 'requests per route', ...atLeast(fewest, BODIES) },
        zero(
          '5xx answers',
          sum((r) => r.valid.fiveXX + r.hostile.fiveXX + r.refused.fiveXX),
          'answers',
        ),
        zero(
          'rejected batches that changed stored data',
          sum((r) => r.batchesThatChangedData),
          'batches',
        ),
        zero(
          'evidence objects added by rejected bodies',
          sum((r) => r.objectsAddedByRejectedBodies),
          'objects',
        ),
        zero(
          'hostile bodies answered 2xx',
          sum((r) => r.hostile.accepted + r.refused.accepted),
          'answers',
        ),
        zero(
          'valid bodies not stored',
          sum((r) => r.valid.notStored),
          'bodies',
        ),
        zero(
          'routes whose valid bodies left no trace in the scans (the check would be blind)',
          Object.values(results).filter((r) => !r.validChangedData).length,
          'routes',
        ),
        zero(
          '400s without Chinese',
          sum((r) => r.hostile.untranslated + r.refused.untranslated),
          'answers',
        ),
      ],
    };
  } finally {
    db?.destroy();
    s3?.destroy();
    await platform?.stop();
    tmp.remove();
  }
}

const zero = (name: string, value: number, unit: string) => ({ name, ...atMost('= 0', value, 0, unit) });

function atLeast(value: number, limit: number) {
  return { target: `≥ ${limit}`, value, limit, unit: 'requests', pass: value >= limit };
}
