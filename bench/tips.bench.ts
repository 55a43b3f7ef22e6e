import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { synthEnvWatch } from '#infra/local/synth.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { DynamoTipStore, tipItem } from '#shared/adapters/tips-store.ts';
import { DynamoTriageSources } from '#shared/adapters/triage-sources.ts';
import { ENV } from '#shared/config/env-names.ts';
import { evidenceKeys } from '#shared/domain/evidence/model.ts';
import { ulid } from '#shared/domain/ids.ts';
import { Enterprise, INDUSTRY_LABELS } from '#shared/domain/registry/model.ts';
import { ENTERPRISES, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import type { EvidenceItem } from '#shared/domain/tips/evidence-port.ts';
import type { Tip, TipCategory, TipChannel, TipInput, TipStatus } from '#shared/domain/tips/model.ts';
import {
  computeLinks,
  DUPLICATE_PLACE_DAYS,
  DUPLICATE_UNIT_DAYS,
  duplicateLinks,
  linkedUnitId,
  type UnitCandidate,
  unitLink,
} from '#shared/domain/tips/triage.ts';
import { createRng, type Rng } from '../scripts/simulate/rng.ts';
import { atMost, ratio, tempDir } from './lib.ts';
import {
  batchPut,
  inParallel,
  pick,
  type Recorded,
  recordingClient,
  stats,
  timed,
  usccOf,
  weighted,
} from './measure.ts';

/**
 * Tips at county scale on the embedded platform (booted in-process from a fresh synth, temp data dir, free ports):
 * ~300 registry units (through the registry use-cases) and 10,000 realistic tips over a year (19 townships, the 9
 * categories, statuses by age, triage links computed with the domain's own functions) written straight into DynamoDB
 * Local with the tips store's own item shape (`tipItem`: same keys and GSI keys as every write), 25 per BatchWrite.
 * Then, over HTTP like a phone and the console would:
 *   (a) 100 public submissions (POST /tips: scrypt receipt hash, KMS seal for real-name tips, triage link queries,
 *       the create transaction), after 3 unmeasured warm-ups;
 *   (b) the triage queue (GET /tips?status=…&limit=50, rotating over statuses, every other call the next page), after
 *       one unmeasured call that starts the official function's worker;
 *   (c) a tip with its triage links (GET /tips/{id}: the unit, open alarms, likely duplicates stored on intake).
 * And in-process, the proof that these paths are index queries: the queue, the overdue listing and the duplicate
 * search (computeLinks over DynamoTriageSources) run against DynamoDB Local through a client whose middleware records
 * every command; the result lists the command names (no Scan), and per query its index, key condition, whether it has
 * a filter, Count and ScannedCount (equal for a key-condition query without a filter: nothing read is thrown away).
 */
const TIPS = Number(process.env.BENCH_TIPS ?? 10_000);
const UNITS = 300;
const SUBMISSIONS = 100;
const WARMUPS = 3;
const READS = 100;
const DAY = 86_400_000;
const TARGETS_MS = { submit: 500, queue: 200, tipLinks: 200, duplicateSearch: 100 };
/**
 * The dev stage throttles the whole API at 20 requests/s (burst 40): sequential reads answering in a few ms would
 * measure the 429s. The bench synthesizes with a high stage limit; it measures latency, not the throttle.
 */
const STAGE_THROTTLE = { publicRateLimit: 10_000, publicBurstLimit: 10_000 };

const CATEGORY_WEIGHTS: [TipCategory, number][] = [
  ['water', 22],
  ['air', 20],
  ['noise', 14],
  ['solid_waste', 12],
  ['illegal_discharge', 12],
  ['other', 8],
  ['hazardous_waste_dumping', 5],
  ['drinking_water_source', 4],
  ['monitoring_fraud', 3],
];

/** More reports (and more units) where people and industry are: the county seat, then the industrial towns. */
const TOWNSHIP_WEIGHT: Record<string, number> = {
  songyuan: 18,
  mengzhou: 12,
  pingdu: 9,
  huangtian: 8,
  zhukou: 8,
};

/**
 * Illustrative points (示例坐标, like the seed's enterprises): the five seeded units' townships at those units, the
 * others spread inside the county's extent. Only the spread matters here (units within 2 km of a tip get linked).
 */
const CENTRES: Record<string, { lat: number; lng: number }> = {
  songyuan: { lat: 27.615, lng: 119.058 },
  mengzhou: { lat: 27.622, lng: 119.083 },
  pingdu: { lat: 27.598, lng: 119.027 },
  huangtian: { lat: 27.668, lng: 118.982 },
  zhukou: { lat: 27.707, lng: 118.907 },
  hedi: { lat: 27.52, lng: 119.3 },
  zuoxi: { lat: 27.56, lng: 119.2 },
  xianliang: { lat: 27.49, lng: 119.12 },
  baishanzu: { lat: 27.76, lng: 119.19 },
  lingtou: { lat: 27.73, lng: 119.03 },
  wudabao: { lat: 27.55, lng: 118.97 },
  yushang: { lat: 27.8, lng: 119.1 },
  annan: { lat: 27.58, lng: 118.88 },
  zhangcun: { lat: 27.47, lng: 119.02 },
  longgong: { lat: 27.66, lng: 119.13 },
  jushui: { lat: 27.45, lng: 119.25 },
  jianggen: { lat: 27.43, lng: 119.38 },
  hehu: { lat: 27.51, lng: 118.93 },
  guantang: { lat: 27.7, lng: 119.25 },
};

const WHAT: Record<TipCategory, string[]> = {
  illegal_discharge: ['厂区后面有暗管往溪里排废水', '夜里偷偷开闸排放污水', '下雨天借雨水管偷排生产废水'],
  monitoring_fraud: ['在线监测的采样管被拔出来插进清水桶', '监测站房夜里有人进出调仪器', '排口在线数据几天都不变'],
  hazardous_waste_dumping: ['山坳里倒了几十桶废机油', '有货车在荒地倾倒刺鼻的黑色废渣', '废油漆桶堆在河滩上没人管'],
  drinking_water_source: ['水库保护区里有人养鸭，粪水直排', '取水口上游有洗车点污水流进来', '保护区内农家乐污水直排'],
  air: ['烟囱冒黑烟', '有刺鼻的焦糊味', '露天焚烧竹木边角料，烟很大', '喷漆车间气味很重'],
  water: ['溪水发黑发臭', '河面漂着一层油', '排口流出白色泡沫水', '沟渠里的水变成黄色'],
  noise: ['机器轰鸣影响睡觉', '工地还在打桩', '木材加工厂电锯声一直响到半夜'],
  solid_waste: ['路边堆了大量废菌棒', '竹木边角料堆在溪边', '建筑垃圾倒在农田里'],
  other: ['养殖场气味很大', '河道边有死鱼', '说不清是什么，水和空气都有异味'],
};
const WHEN = ['今天早上', '昨晚十点以后', '最近一周每天傍晚', '凌晨两三点', '下午', '周末'];
const MORE = ['，已经持续好几天', '，附近村民都有意见', '，味道很冲', '，希望尽快处理', '', '，拍了照片'];
const VILLAGES = ['新窑村', '后田村', '溪头村', '上坑村', '大济村', '山根村', '岭脚村', '桥头村'];
const LANDMARKS = ['溪边', '桥头', '工业区东侧', '公路旁', '山脚', '水库上游'];
const INDUSTRIES: [Enterprise['industry'], number][] = [
  ['bamboo_wood', 35],
  ['edible_fungi', 30],
  ['other', 10],
  ['pencil', 8],
  ['boiler_heating', 6],
  ['paper', 5],
  ['wastewater_treatment', 3],
  ['chemical', 3],
];

// ---- realistic data, deterministic (seeded) ----

const TOWNSHIP_WEIGHTS: [string, number][] = TOWNSHIPS.map((t) => [t.id, TOWNSHIP_WEIGHT[t.id] ?? 3]);
const townshipName = (id: string) => TOWNSHIPS.find((t) => t.id === id)?.name ?? id;
const near = (rng: Rng, c: { lat: number; lng: number }, spread: number) => ({
  lat: Math.round((c.lat + (rng.next() - 0.5) * spread) * 1e6) / 1e6,
  lng: Math.round((c.lng + (rng.next() - 0.5) * spread) * 1e6) / 1e6,
});

function units(rng: Rng): Enterprise[] {
  return Array.from({ length: UNITS }, (_, i) => {
    const townshipId = weighted(rng, TOWNSHIP_WEIGHTS);
    const industry = weighted(rng, INDUSTRIES);
    const place = townshipName(townshipId);
    return Enterprise.parse({
      id: usccOf('MA2B', i + 1),
      name: `庆元县示例${INDUSTRY_LABELS[industry]}${i + 1}号厂（示例）`,
      townshipId,
      industry,
      address: `庆元县${place}${pick(rng, VILLAGES)}（示例）`,
      location: near(rng, CENTRES[townshipId] ?? { lat: 27.6, lng: 119.05 }, 0.05),
      permitClass: rng.next() < 0.1 ? 'key' : rng.next() < 0.6 ? 'simplified' : 'registration',
      regulator: industry === 'edible_fungi' ? '庆元县农业农村局' : '庆元县经济商务科技局',
      responsiblePerson: { name: `负责人${i + 1}（示例）`, phone: `138${String(10_000_000 + i).slice(-8)}` },
      status: 'operating',
    });
  });
}

/** Beijing wall time with its offset, as the form sends it. */
const beijing = (ms: number) => `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;

function statusByAge(rng: Rng, ageDays: number): TipStatus {
  if (ageDays < 1) {
    return weighted(rng, [
      ['received', 85],
      ['held', 2],
      ['triaging', 13],
    ]);
  }
  if (ageDays < 7) {
    return weighted(rng, [
      ['received', 10],
      ['triaging', 40],
      ['verifying', 40],
      ['substantiated', 5],
      ['unsubstantiated', 5],
    ]);
  }
  if (ageDays < 60) {
    return weighted(rng, [
      ['triaging', 5],
      ['verifying', 25],
      ['substantiated', 20],
      ['unsubstantiated', 25],
      ['case_opened', 5],
      ['closed', 20],
    ]);
  }
  return weighted(rng, [
    ['received', 1],
    ['verifying', 2],
    ['substantiated', 8],
    ['unsubstantiated', 15],
    ['case_opened', 5],
    ['closed', 69],
  ]);
}

function evidenceOf(rng: Rng, tipId: string, at: string): EvidenceItem[] {
  if (rng.next() < 0.4) return [];
  return Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => {
    const video = rng.next() < 0.15;
    const contentType = video ? 'video/mp4' : 'image/jpeg';
    const id = ulid(Date.parse(at));
    return {
      id,
      kind: video ? 'video' : 'photo',
      contentType,
      bytes: video ? 20_000_000 + Math.floor(rng.next() * 80_000_000) : 1_500_000 + Math.floor(rng.next() * 4_000_000),
      sha256: createHash('sha256').update(id).digest('hex'),
      ...evidenceKeys({ kind: 'tip', id: tipId }, id, contentType),
      finalizedAt: at,
    } satisfies EvidenceItem;
  });
}

function description(rng: Rng, category: TipCategory, townshipId: string): string {
  return `${pick(rng, WHEN)}${townshipName(townshipId)}${pick(rng, VILLAGES)}附近${pick(rng, WHAT[category])}${pick(rng, MORE)}`;
}

/** What a reporter would type into the form (the same generator as the stored tips). */
function tipInput(rng: Rng, all: Enterprise[], now: number): TipInput {
  const category = weighted(rng, CATEGORY_WEIGHTS);
  const townshipId = weighted(rng, TOWNSHIP_WEIGHTS);
  const local = all.filter((u) => u.townshipId === townshipId);
  const named = local.length > 0 && rng.next() < 0.3 ? pick(rng, local) : undefined;
  const real = rng.next() < 0.3;
  return {
    category,
    description: description(rng, category, townshipId),
    location: {
      townshipId,
      address: `${townshipName(townshipId)}${pick(rng, VILLAGES)}${pick(rng, LANDMARKS)}`,
      ...(rng.next() < 0.6 ? { point: near(rng, CENTRES[townshipId] ?? { lat: 27.6, lng: 119.05 }, 0.04) } : {}),
    },
    observedAt: beijing(now - Math.floor(rng.next() * 2 * DAY)),
    ...(named
      ? { suspectedUnit: { kind: 'registered' as const, enterpriseId: named.id } }
      : rng.next() < 0.1
        ? { suspectedUnit: { kind: 'unregistered' as const, name: '不知名小作坊' } }
        : {}),
    reporter: real
      ? {
          kind: 'real_name',
          identity: { name: '王建平', phone: `139${String(Math.floor(rng.next() * 1e8)).padStart(8, '0')}` },
        }
      : { kind: 'anonymous' },
    insider: rng.next() < 0.05,
    commendationConsent: real && rng.next() < 0.3,
    uploadIds: [],
  };
}

/**
 * 10,000 tips received over the last year (never within the last 2 hours, so no stored tip counts toward a spam wave
 * of the measured submissions), oldest first, each with the links intake would have computed from the tips before it.
 */
function tips(rng: Rng, all: Enterprise[], now: number): Tip[] {
  const byTownship = new Map<string, UnitCandidate[]>();
  for (const u of [...all, ...ENTERPRISES]) {
    const list = byTownship.get(u.townshipId) ?? [];
    list.push({ id: u.id, name: u.name, location: u.location });
    byTownship.set(u.townshipId, list);
  }
  const unitsById = new Map([...byTownship.values()].flat().map((u) => [u.id, u]));
  const times = Array.from({ length: TIPS }, () => now - 2 * 3_600_000 - Math.floor(rng.next() ** 1.3 * 365 * DAY));
  times.sort((a, b) => a - b);
  const byPlace = new Map<string, Tip[]>();
  const byUnit = new Map<string, Tip[]>();
  const out: Tip[] = [];
  for (const t of times) {
    const input = tipInput(rng, all, t);
    const id = ulid(t);
    const receivedAt = new Date(t).toISOString();
    const channel: TipChannel = weighted(rng, [
      ['web', 75],
      ['phone', 15],
      ['letter', 3],
      ['visit', 3],
      ['patrol', 4],
    ]);
    const tip: Tip = {
      id,
      channel,
      category: input.category,
      description: input.description,
      location: input.location,
      observedAt: beijing(t - Math.floor(rng.next() * 2 * DAY)),
      ...(input.suspectedUnit ? { suspectedUnit: input.suspectedUnit } : {}),
      reporterKind: channel === 'patrol' ? 'anonymous' : input.reporter.kind,
      insider: input.insider,
      commendationConsent: channel !== 'patrol' && input.commendationConsent,
      evidence: evidenceOf(rng, id, receivedAt),
      status: statusByAge(rng, (now - t) / DAY),
      ...(channel === 'web' ? {} : { enteredBy: channel === 'patrol' ? 'grid-3' : 'duty-2' }),
      receivedAt,
      updatedAt: receivedAt,
    };
    const namedId = tip.suspectedUnit?.kind === 'registered' ? tip.suspectedUnit.enterpriseId : undefined;
    const unit = unitLink(
      tip,
      namedId ? unitsById.get(namedId) : undefined,
      byTownship.get(tip.location.townshipId) ?? [],
    );
    const placeKey = `${tip.category}#${tip.location.townshipId}`;
    // observed at most 2 days before receipt: place candidates were received within the place window + 3 days
    const recentPlace = (byPlace.get(placeKey) ?? []).filter(
      (o) => t - Date.parse(o.receivedAt) < (DUPLICATE_PLACE_DAYS + 3) * DAY,
    );
    const unitId = unit?.enterpriseId;
    const recentUnit = unitId
      ? (byUnit.get(unitId) ?? []).filter((o) => t - Date.parse(o.receivedAt) <= DUPLICATE_UNIT_DAYS * DAY)
      : [];
    tip.links = {
      computedAt: receivedAt,
      ...(unit ? { unit } : {}),
      alarms: [],
      duplicates: duplicateLinks(tip, recentPlace, recentUnit, unitId),
    };
    out.push(tip);
    byPlace.set(placeKey, [...recentPlace, tip]);
    const linked = linkedUnitId(tip);
    if (linked) byUnit.set(linked, [...(byUnit.get(linked) ?? []), tip]);
  }
  return out;
}

// ---- loading ----

// ---- measuring ----

async function http(platform: Platform, method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`${platform.endpoints.api}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Per query shape (command, index, key condition): calls, items returned and read, and whether they always matched. */
function summarize(calls: Recorded[]) {
  const groups = new Map<string, Recorded[]>();
  for (const c of calls) {
    const key = `${c.command} ${c.index ?? '(table)'} ${c.keyCondition ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0] as Recorded;
    const count = g.reduce((n, c) => n + (c.count ?? 0), 0);
    const scanned = g.reduce((n, c) => n + (c.scannedCount ?? 0), 0);
    return {
      command: first.command,
      index: first.index ?? null,
      keyCondition: first.keyCondition ?? null,
      filter: g.some((c) => c.filter),
      calls: g.length,
      count,
      scannedCount: scanned,
      // only queries (and scans) carry the two counts
      scannedEqualsCountEveryCall:
        first.command === 'GetItemCommand' ? null : g.every((c) => c.count === c.scannedCount),
    };
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const tmp = tempDir('tips');
  let platform: Platform | undefined;
  let db: DynamoDBDocumentClient | undefined;
  try {
    const synth = synthEnvWatch(join(tmp.dir, 'cdk.out'), STAGE_THROTTLE);
    const dataDir = join(tmp.dir, 'data');
    const ports = await freePorts();
    const boot = await timed(() => startPlatform({ cdkOut: join(tmp.dir, 'cdk.out'), dataDir, ports }));
    platform = boot.value;
    const env = platform.spec.functions
      .map((f) => f.environment)
      .find((e) => e[ENV.tipsTable] && e[ENV.alarmsTable] && e[ENV.registryTable] && e[ENV.identityTable]);
    if (!env) throw new Error('no function is wired to the tips, registry, alarms and identity tables');
    const tables = {
      tips: String(env[ENV.tipsTable]),
      identities: String(env[ENV.identityTable]),
      audit: String(env[ENV.auditTable]),
      registry: String(env[ENV.registryTable]),
      alarms: String(env[ENV.alarmsTable]),
    };
    const calls: Recorded[] = [];
    db = recordingClient(platform.endpoints.dynamodb, calls);
    const rng = createRng(20_240_601);
    const now = Date.now();

    // ---- data: units through the registry use-cases, tips through the store's item shape ----
    const registry = new RegistryService(new DynamoRegistryStore(db, tables.registry, tables.audit));
    const unitList = units(rng);
    const loadUnits = await timed(() =>
      inParallel(unitList, 8, async (u) => {
        await registry.create('enterprises', u, { sub: 'bench' });
      }),
    );
    const tipList = tips(rng, unitList, now);
    const loadTips = await timed(() =>
      batchPut(
        db as DynamoDBDocumentClient,
        tables.tips,
        tipList.map((tip) => tipItem(tip, 1)),
      ),
    );
    const byStatus: Record<string, number> = {};
    for (const t of tipList) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    const withDuplicates = tipList.filter((t) => (t.links?.duplicates.length ?? 0) > 0).length;
    const withUnit = tipList.filter((t) => t.links?.unit).length;

    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    const analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'bench-analyst', roles: ['analyst'], townships: ['*'] },
      3600,
    );

    // ---- (a) public submissions ----
    const submitRng = createRng(7);
    const warm: number[] = [];
    for (let i = 0; i < WARMUPS; i++) {
      warm.push(
        (
          await timed(() =>
            http(platform as Platform, 'POST', '/tips', { body: tipInput(submitRng, unitList, Date.now()) }),
          )
        ).ms,
      );
    }
    const submitMs: number[] = [];
    let held = 0;
    let realName = 0;
    for (let i = 0; i < SUBMISSIONS; i++) {
      const body = tipInput(submitRng, unitList, Date.now());
      if (body.reporter.kind === 'real_name') realName++;
      const r = await timed(() => http(platform as Platform, 'POST', '/tips', { body }));
      submitMs.push(r.ms);
      if (r.value.status === 'held') held++;
    }

    // ---- (b) the triage queue ----
    const statuses: TipStatus[] = ['received', 'triaging', 'verifying', 'closed'];
    const cursors = new Map<TipStatus, string | undefined>();
    const queueMs: number[] = [];
    let queueItems = 0;
    // the official function's first call starts its worker (a cold start): one unmeasured call, reported apart
    const queueWarmup = await timed(() => http(platform as Platform, 'GET', '/tips?limit=1', { token: analyst }));
    for (let i = 0; i < READS; i++) {
      const status = statuses[i % statuses.length] as TipStatus;
      const cursor = i % 2 === 1 ? cursors.get(status) : undefined;
      const path = `/tips?status=${status}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await timed(() => http(platform as Platform, 'GET', path, { token: analyst }));
      queueMs.push(r.ms);
      queueItems += (r.value.items as unknown[]).length;
      cursors.set(status, r.value.cursor as string | undefined);
    }

    // ---- (c) a tip with its triage links ----
    const sample = Array.from({ length: READS }, () => tipList[Math.floor(rng.next() * tipList.length)] as Tip);
    const linksMs: number[] = [];
    let linksShown = 0;
    for (const t of sample) {
      const r = await timed(() => http(platform as Platform, 'GET', `/tips/${t.id}`, { token: analyst }));
      linksMs.push(r.ms);
      const links = (r.value.tip as Tip).links;
      if (links && links.duplicates.length === t.links?.duplicates.length) linksShown++;
    }

    // ---- index queries, not scans: the same store code in-process, every command recorded ----
    calls.length = 0;
    const store = new DynamoTipStore(db, { tips: tables.tips, identities: tables.identities, audit: tables.audit });
    for (const status of ['received', 'held', 'triaging', 'verifying', 'substantiated', 'closed'] as TipStatus[]) {
      const page = await store.queue(status, { limit: 50 });
      if (page.cursor) await store.queue(status, { limit: 50, cursor: page.cursor });
    }
    const cut = new Date(now - 60 * DAY).toISOString();
    for (const status of ['received', 'held', 'triaging', 'verifying'] as TipStatus[]) {
      await store.queueBefore(status, cut, 100);
    }
    const queueCalls = calls.splice(0);
    const sources = new DynamoTriageSources(db, tables);
    const dupMs: number[] = [];
    let dupFound = 0;
    for (const t of sample) {
      // the duplicate search intake runs for a tip like t arriving now (its times moved to now, a new id)
      const { links: _stored, ...like } = t;
      const shift = now - Date.parse(t.receivedAt);
      const again: Tip = {
        ...like,
        id: ulid(now),
        observedAt: beijing(Date.parse(t.observedAt) + shift),
        receivedAt: new Date(now).toISOString(),
      };
      const r = await timed(() => computeLinks(again, sources, new Date(now)));
      dupMs.push(r.ms);
      dupFound += r.value.duplicates.length;
    }
    const triageCalls = calls.splice(0);
    const everything = [...queueCalls, ...triageCalls];
    const scans = everything.filter((c) => c.command === 'ScanCommand').length;
    const queries = everything.filter((c) => c.command === 'QueryCommand');
    const filtered = queries.filter((c) => c.filter).length;
    const mismatched = queries.filter((c) => c.count !== c.scannedCount).length;

    const submit = stats(submitMs);
    const queue = stats(queueMs);
    const tipLinks = stats(linksMs);
    const duplicateSearch = stats(dupMs);
    return {
      what: `${TIPS} tips and ${UNITS} registry units on the local platform (DynamoDB Local); HTTP through the local gateway and Lambda runtime`,
      setup: {
        synthSeconds: Math.round(synth.ms / 100) / 10,
        platformReadySeconds: Math.round(boot.ms / 100) / 10,
        unitsLoadSeconds: Math.round(loadUnits.ms / 100) / 10,
        tipsLoadSeconds: Math.round(loadTips.ms / 100) / 10,
        tipsPerSecond: Math.round(TIPS / (loadTips.ms / 1000)),
        tipsByStatus: byStatus,
        tipsWithUnitLink: withUnit,
        tipsWithDuplicates: withDuplicates,
      },
      submit: {
        ...submit,
        warmupMs: warm.map((m) => Math.round(m)),
        realName,
        heldAsSpamWave: held,
        note: 'POST /tips: scrypt N=2^15 receipt hash, KMS seal (real-name), triage link queries, one transaction',
      },
      queue: {
        ...queue,
        warmupMs: Math.round(queueWarmup.ms),
        itemsReturned: queueItems,
        note: 'GET /tips?status=…&limit=50, every other call the next page',
      },
      tipLinks: { ...tipLinks, linksAsStored: linksShown, note: 'GET /tips/{id}: tip, links, timeline' },
      duplicateSearchInProcess: {
        ...duplicateSearch,
        duplicatesFound: dupFound,
        note: 'computeLinks over DynamoTriageSources for 100 tips like stored ones arriving now (registry, alarms, tips indexes)',
      },
      indexProof: {
        commands: [...new Set(everything.map((c) => c.command))],
        scans,
        queries: queries.length,
        queriesWithFilter: filtered,
        queriesWhereScannedCountDiffers: mismatched,
        queue: summarize(queueCalls),
        duplicateSearch: summarize(triageCalls),
      },
      targets: [
        named('submit p95 (POST /tips)', submit.p95Ms, TARGETS_MS.submit, 'ms'),
        named('triage queue p95 (GET /tips)', queue.p95Ms, TARGETS_MS.queue, 'ms'),
        named('tip with triage links p95 (GET /tips/{id})', tipLinks.p95Ms, TARGETS_MS.tipLinks, 'ms'),
        named('duplicate search p95 (in-process)', duplicateSearch.p95Ms, TARGETS_MS.duplicateSearch, 'ms'),
        named('scans', scans, 0, 'commands'),
        named('queries with a filter', filtered, 0, 'queries'),
        named('queries where ScannedCount differs from Count', mismatched, 0, 'queries'),
      ],
      ratios: { submitP95OverQueueP95: ratio(submit.p95Ms, queue.p95Ms) },
    };
  } finally {
    db?.destroy();
    await platform?.stop();
    tmp.remove();
  }
}

/** A target in the shape the other benches use (`atMost`), with a name and the target spelled out. */
function named(name: string, value: number, limit: number, unit: string) {
  return { name, ...atMost(`≤ ${limit} ${unit}`, value, limit, unit) };
}
