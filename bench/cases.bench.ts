import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { LOCAL_REGION } from '#infra/local/spec.ts';
import { synthEnvWatch } from '#infra/local/synth.ts';
import {
  caseIndexKeys,
  caseKeys,
  DEADLINES_PARTITION,
  DynamoCaseStore,
  tasksPartition,
} from '#shared/adapters/cases-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { stepDef as stepOf } from '#shared/domain/cases/changes.ts';
import type { Case, CaseStatus, SourceKind } from '#shared/domain/cases/model.ts';
import type { DeadlineView, TaskView, WorkflowName } from '#shared/domain/cases/ports.ts';
import { ulid } from '#shared/domain/ids.ts';
import { TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { createRng, type Rng } from '../scripts/simulate/rng.ts';
import { atMost, tempDir } from './lib.ts';
import { batchPut, pick, type Recorded, recordingClient, stats, timed, usccOf, weighted } from './measure.ts';

/**
 * Cases and their workflow tasks at county scale on the embedded platform (booted in-process from a fresh synth, temp
 * data dir, free ports): 10,000 cases over two years (19 townships, statuses mixed by age) and ~3,000 OPEN workflow
 * tasks on the reward and transfer flows' real steps (their actors from REWARD_FLOW / TRANSFER_FLOW, created over the
 * last 60 days), ~2,000 of them with a deadline within ±30 days of now. Written straight into DynamoDB Local with the
 * store's own keys (caseKeys, caseIndexKeys, tasksPartition, DEADLINES_PARTITION: the layout of recordTask), 25 per
 * BatchWrite. Timeline events and audit entries of the history are not written: the measured paths never read them.
 * Then over HTTP: GET /tasks?role=…&limit=50 for each task role (its token), and GET /deadlines for this Beijing week
 * (Monday 00:00 to Sunday 24:00 +08:00 containing now), every call after the first following the cursor.
 * In-process, the proof that both are index queries: store.openTasksFor (every partition, every page) and
 * store.deadlinesDue (the week, every page) through a client whose middleware records each command.
 */
const CASES = Number(process.env.BENCH_CASES ?? 10_000);
const OPEN_TASKS = 3_000;
const WITH_DEADLINE = 2_000;
const READS = 60;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const TARGET_MS = 200;
/** As tips.bench.ts: the dev stage throttles at 20 requests/s; this bench measures latency, not the throttle. */
const STAGE_THROTTLE = { publicRateLimit: 10_000, publicBurstLimit: 10_000 };
const TASK_ROLES = [
  'handler',
  'section_chief',
  'bureau_head',
  'reward_post',
  'police_liaison',
  'procuratorate_liaison',
] as const;
/** The case officers of the county bureau (示例): case teams are drawn from them; `handler-01` is the bench's caller. */
const HANDLERS = Array.from({ length: 12 }, (_, i) => `handler-${String(i + 1).padStart(2, '0')}`);

/** Steps a task can wait on (human steps only), weighted so every task role has a queue. */
const STEPS: [{ workflow: WorkflowName; step: string }, number][] = [
  [{ workflow: 'reward', step: 'eligibility' }, 10],
  [{ workflow: 'reward', step: 'handler_approval' }, 8],
  [{ workflow: 'reward', step: 'section_chief_approval' }, 14],
  [{ workflow: 'reward', step: 'bureau_head_approval' }, 10],
  [{ workflow: 'reward', step: 'county_government_approval' }, 3],
  [{ workflow: 'reward', step: 'payment' }, 8],
  [{ workflow: 'reward', step: 'commendation' }, 3],
  [{ workflow: 'transfer', step: 'report_drafting' }, 4],
  [{ workflow: 'transfer', step: 'head_decision' }, 6],
  [{ workflow: 'transfer', step: 'handover' }, 3],
  [{ workflow: 'transfer', step: 'police_receipt' }, 6],
  [{ workflow: 'transfer', step: 'police_review' }, 8],
  [{ workflow: 'transfer', step: 'materials_completion' }, 2],
  [{ workflow: 'transfer', step: 'procuratorate_supervision' }, 5],
  [{ workflow: 'transfer', step: 'items_handover' }, 2],
  [{ workflow: 'transfer', step: 'criminal_proceedings' }, 5],
];

const TOWNSHIP_WEIGHT: Record<string, number> = { songyuan: 18, mengzhou: 12, pingdu: 9, huangtian: 8, zhukou: 8 };
const TOWNSHIP_WEIGHTS: [string, number][] = TOWNSHIPS.map((t) => [t.id, TOWNSHIP_WEIGHT[t.id] ?? 3]);
const townshipName = (id: string) => TOWNSHIPS.find((t) => t.id === id)?.name ?? id;
const TRADES = ['竹木制品', '食用菌', '铅笔', '锅炉供热', '造纸', '污水处理', '化工', '小作坊'];
const MATTERS = [
  '超标排放废水',
  '未批先建',
  '危险废物非法倾倒',
  '篡改在线监测数据',
  '露天焚烧',
  '噪声扰民',
  '暗管偷排',
];
const SOURCES: [SourceKind, number][] = [
  ['tip', 45],
  ['alarm', 30],
  ['patrol', 15],
  ['clue', 10],
];

// ---- realistic data, deterministic (seeded) ----

/** Recent cases are still being worked; most older ones are closed. */
function statusByAge(rng: Rng, ageDays: number): CaseStatus {
  if (ageDays < 30) {
    return weighted(rng, [
      ['open', 30],
      ['investigating', 60],
      ['decided', 10],
    ]);
  }
  if (ageDays < 180) {
    return weighted(rng, [
      ['open', 3],
      ['investigating', 35],
      ['decided', 30],
      ['transferred', 7],
      ['closed', 25],
    ]);
  }
  return weighted(rng, [
    ['investigating', 3],
    ['decided', 5],
    ['transferred', 2],
    ['closed', 90],
  ]);
}

function team(rng: Rng, size: number): string[] {
  const out = new Set<string>();
  while (out.size < size) out.add(pick(rng, HANDLERS));
  return [...out];
}

/** 10,000 cases opened over the last two years (none in the last day), oldest first. */
function cases(rng: Rng, now: number): Case[] {
  const times = Array.from({ length: CASES }, () => now - DAY - Math.floor(rng.next() ** 1.4 * 730 * DAY));
  times.sort((a, b) => a - b);
  return times.map((t, i) => {
    const townshipId = weighted(rng, TOWNSHIP_WEIGHTS);
    const registered = rng.next() < 0.85;
    const trade = pick(rng, TRADES);
    const unitName = registered
      ? `庆元县示例${trade}${(i % 400) + 1}号厂（示例）`
      : `${townshipName(townshipId)}无名${trade}作坊（示例）`;
    const status = statusByAge(rng, (now - t) / DAY);
    const openedAt = new Date(t).toISOString();
    const updatedAt = new Date(Math.min(now - HOUR, t + Math.floor(rng.next() * 90 * DAY))).toISOString();
    const handlers = status === 'open' ? team(rng, rng.next() < 0.5 ? 0 : 1) : team(rng, rng.next() < 0.8 ? 2 : 3);
    const sources = Array.from({ length: 1 + Math.floor(rng.next() ** 3 * 3) }, () => ({
      kind: weighted(rng, SOURCES),
      id: ulid(t - Math.floor(rng.next() * 10 * DAY)),
      addedAt: openedAt,
      addedBy: handlers[0] ?? 'section-chief-1',
    }));
    return {
      caseId: ulid(t),
      ...(registered ? { enterpriseId: usccOf('MA2C', (i % 400) + 1) } : { needsRegistration: true }),
      unitName,
      townshipId,
      title: `${unitName}${pick(rng, MATTERS)}案`,
      sources,
      handlers,
      status,
      evidence: [],
      openedAt,
      openedBy: 'section-chief-1',
      updatedAt,
      ...(status === 'closed' ? { closedAt: updatedAt } : {}),
      version: 1 + Math.floor(rng.next() * 8),
    } satisfies Case;
  });
}

/** What the bench wrote, to check the index answers against. */
interface OpenTask {
  view: TaskView;
  deadline?: DeadlineView;
}

/**
 * Open tasks on cases that can have a running workflow (decided or transferred; else investigating), created over
 * the last 60 days; the first WITH_DEADLINE of them (in random order) get a due date within ±30 days of now.
 */
function openTasks(rng: Rng, all: Case[], now: number): OpenTask[] {
  const running = all.filter((c) => c.status === 'decided' || c.status === 'transferred');
  const pool = running.length > 0 ? running : all.filter((c) => c.status === 'investigating');
  return Array.from({ length: OPEN_TASKS }, (_, i) => {
    const { workflow, step } = weighted(rng, STEPS);
    const def = stepOf(workflow, step);
    if (!def) throw new Error(`no step ${workflow}/${step}`);
    const c = pick(rng, pool);
    const created = now - Math.floor(rng.next() * 60 * DAY);
    const taskId = ulid(created);
    const dueMs = i < WITH_DEADLINE ? now + Math.floor((rng.next() * 2 - 1) * 30 * DAY) : undefined;
    const dueAt = dueMs !== undefined ? new Date(Math.max(dueMs, created + HOUR)).toISOString() : undefined;
    const warnAt = dueAt ? new Date(Date.parse(dueAt) - 2 * DAY).toISOString() : undefined;
    const view: TaskView = {
      taskId,
      caseId: c.caseId,
      workflow,
      executionArn: `arn:aws:states:${LOCAL_REGION}:000000000000:execution:envwatch-${workflow}:${c.caseId}`,
      step,
      actors: [...def.actors],
      createdAt: new Date(created).toISOString(),
      ...(dueAt ? { dueAt } : {}),
      ...(warnAt ? { warnAt } : {}),
      state: 'open',
      input: workflow === 'reward' ? { totalFen: 50_000 + Math.floor(rng.next() * 20) * 10_000 } : {},
    };
    const deadline: DeadlineView | undefined = dueAt
      ? {
          taskId,
          caseId: c.caseId,
          workflow,
          step,
          stepLabelZh: def.labelZh,
          ...(def.deadline ? { kind: def.deadline } : {}),
          actors: view.actors,
          dueAt,
          ...(warnAt ? { warnAt } : {}),
          state: 'open',
        }
      : undefined;
    return { view, ...(deadline ? { deadline } : {}) };
  });
}

// ---- items: the store's keys, the layout recordTask / openCase write ----

type Item = Record<string, unknown>;

const caseItem = (c: Case): Item => ({
  ...caseKeys.case(c.caseId),
  ...caseIndexKeys(c),
  kind: 'case',
  case: c,
  version: c.version,
});

function taskItems({ view, deadline }: OpenTask): Item[] {
  const token = `bench-token-${view.taskId}`;
  return [
    {
      ...caseKeys.task(view.taskId),
      gsi2pk: `case#${view.caseId}`,
      gsi2sk: `task#${view.createdAt}#${view.taskId}`,
      kind: 'task',
      state: 'open',
      task: view,
      token,
    },
    { ...caseKeys.token(token), kind: 'task_token', taskId: view.taskId },
    ...[...new Set(view.actors)].map((actor) => ({
      ...caseKeys.taskActor(view.taskId, actor),
      gsi3pk: tasksPartition(actor),
      gsi3sk: `${view.createdAt}#${view.taskId}`,
      kind: 'task_actor',
      task: view,
    })),
    ...(deadline
      ? [
          {
            ...caseKeys.deadline(view.taskId),
            gsi3pk: DEADLINES_PARTITION,
            gsi3sk: `${deadline.dueAt}#${view.taskId}`,
            kind: 'deadline',
            deadline,
          },
        ]
      : []),
  ];
}

// ---- time ----

/** Beijing wall time with its offset, as a browser in 庆元 sends it. */
const beijing = (ms: number) => `${new Date(ms + 8 * HOUR).toISOString().slice(0, 23)}+08:00`;

/** The Beijing week (Monday 00:00 to Sunday 23:59:59.999, +08:00) that contains `now`. */
export function beijingWeek(now: number): { from: number; to: number } {
  const local = now + 8 * HOUR;
  const day = Math.floor(local / DAY) * DAY;
  const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
  const monday = day - sinceMonday * DAY - 8 * HOUR;
  return { from: monday, to: monday + 7 * DAY - 1 };
}

// ---- measuring (as tips.bench.ts) ----

async function get(platform: Platform, path: string, token: string) {
  const res = await fetch(`${platform.endpoints.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as { items: unknown[]; cursor?: string };
}

/** The recorded queries of one in-process listing: commands, pages, Count vs ScannedCount. */
function proof(calls: Recorded[], returned: number, expected: number) {
  const count = calls.reduce((n, c) => n + (c.count ?? 0), 0);
  const scannedCount = calls.reduce((n, c) => n + (c.scannedCount ?? 0), 0);
  return {
    commands: [...new Set(calls.map((c) => c.command))],
    index: [...new Set(calls.map((c) => c.index ?? '(table)'))],
    keyCondition: [...new Set(calls.map((c) => c.keyCondition ?? ''))],
    filter: calls.some((c) => c.filter),
    pages: calls.length,
    count,
    scannedCount,
    returned,
    expected,
  };
}

/** A target in the shape the other benches use (`atMost`), with a name and the target spelled out. */
function named(name: string, value: number, limit: number, unit: string) {
  return { name, ...atMost(`≤ ${limit} ${unit}`, value, limit, unit) };
}

export async function run(): Promise<Record<string, unknown>> {
  const tmp = tempDir('cases');
  let platform: Platform | undefined;
  let db: DynamoDBDocumentClient | undefined;
  try {
    const synth = synthEnvWatch(join(tmp.dir, 'cdk.out'), STAGE_THROTTLE);
    const dataDir = join(tmp.dir, 'data');
    const ports = await freePorts();
    const boot = await timed(() => startPlatform({ cdkOut: join(tmp.dir, 'cdk.out'), dataDir, ports }));
    platform = boot.value;
    const env = platform.spec.functions.map((f) => f.environment).find((e) => e[ENV.casesTable] && e[ENV.auditTable]);
    if (!env) throw new Error('no function is wired to the cases and audit tables');
    const tables = { cases: String(env[ENV.casesTable]), audit: String(env[ENV.auditTable]) };
    const calls: Recorded[] = [];
    db = recordingClient(platform.endpoints.dynamodb, calls);
    const rng = createRng(20_241_129);
    const now = Date.now();

    // ---- data ----
    const caseList = cases(rng, now);
    const taskList = openTasks(rng, caseList, now);
    const items = [...caseList.map(caseItem), ...taskList.flatMap(taskItems)];
    const load = await timed(() => batchPut(db as DynamoDBDocumentClient, tables.cases, items));
    const casesByStatus: Record<string, number> = {};
    for (const c of caseList) casesByStatus[c.status] = (casesByStatus[c.status] ?? 0) + 1;
    const tasksByActor: Record<string, number> = {};
    for (const t of taskList) for (const a of t.view.actors) tasksByActor[a] = (tasksByActor[a] ?? 0) + 1;
    const week = beijingWeek(now);
    const inWeek = taskList.filter((t) => {
      const due = t.deadline ? Date.parse(t.deadline.dueAt) : Number.NaN;
      return due >= week.from && due <= week.to;
    }).length;

    // ---- tokens: one official per task role; handler-01 is named on case teams ----
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    const tokenOf = (role: string) =>
      signToken(
        keys,
        {
          iss: issuer,
          aud: audience,
          sub: role === 'handler' ? 'handler-01' : `bench-${role}`,
          roles: [role],
          townships: ['*'],
        },
        3600,
      );
    const tokens = Object.fromEntries(TASK_ROLES.map((r) => [r, tokenOf(r)]));
    const api = platform;

    // ---- GET /tasks per role ----
    const warm = await timed(() => get(api, '/tasks?role=section_chief&limit=1', tokens.section_chief as string));
    const tasks: Record<string, unknown> = {};
    const taskP95: [string, number][] = [];
    for (const role of TASK_ROLES) {
      const token = tokens[role] as string;
      const ms: number[] = [];
      let returned = 0;
      let cursor: string | undefined;
      for (let i = 0; i < READS; i++) {
        const path = `/tasks?role=${role}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const r = await timed(() => get(api, path, token));
        ms.push(r.ms);
        returned += r.value.items.length;
        cursor = r.value.cursor;
      }
      const s = stats(ms);
      tasks[role] = { ...s, itemsReturned: returned };
      taskP95.push([role, s.p95Ms]);
    }

    // ---- GET /deadlines for this Beijing week ----
    const range = `from=${encodeURIComponent(beijing(week.from))}&to=${encodeURIComponent(beijing(week.to))}`;
    const deadlineToken = tokens.section_chief as string;
    const deadlineMs: number[] = [];
    let deadlineItems = 0;
    let dlCursor: string | undefined;
    for (let i = 0; i < READS; i++) {
      const path = `/deadlines?${range}&limit=50${dlCursor ? `&cursor=${encodeURIComponent(dlCursor)}` : ''}`;
      const r = await timed(() => get(api, path, deadlineToken));
      deadlineMs.push(r.ms);
      deadlineItems += r.value.items.length;
      dlCursor = r.value.cursor;
    }
    const deadlines = stats(deadlineMs);

    // ---- index queries, not scans: the store in-process, every command recorded ----
    const store = new DynamoCaseStore(db, tables);
    calls.length = 0;
    const perPartition: Record<string, ReturnType<typeof proof>> = {};
    for (const actor of [...TASK_ROLES, 'case_team']) {
      let returned = 0;
      let cursor: string | undefined;
      do {
        const page = await store.openTasksFor(actor, { limit: 100, ...(cursor ? { cursor } : {}) });
        returned += page.items.length;
        cursor = page.cursor;
      } while (cursor);
      perPartition[actor] = proof(calls.splice(0), returned, tasksByActor[actor] ?? 0);
    }
    let dueReturned = 0;
    let dueCursor: string | undefined;
    do {
      const page = await store.deadlinesDue(beijing(week.from), beijing(week.to), {
        limit: 100,
        ...(dueCursor ? { cursor: dueCursor } : {}),
      });
      dueReturned += page.items.length;
      dueCursor = page.cursor;
    } while (dueCursor);
    const dueProof = proof(calls.splice(0), dueReturned, inWeek);
    const all = [...Object.values(perPartition), dueProof];
    const scans = all.reduce((n, p) => n + (p.commands.includes('ScanCommand') ? 1 : 0), 0);
    const nonQuery = all.filter((p) => p.commands.some((c) => c !== 'QueryCommand')).length;
    const filtered = all.filter((p) => p.filter).length;
    const scannedExcess = all.reduce((n, p) => n + (p.scannedCount - p.count), 0);
    const missing = all.filter((p) => p.returned !== p.expected).length;

    return {
      what: `${CASES} cases, ${OPEN_TASKS} open workflow tasks (${WITH_DEADLINE} with deadlines) on the local platform (DynamoDB Local); HTTP through the local gateway and Lambda runtime`,
      setup: {
        synthSeconds: Math.round(synth.ms / 100) / 10,
        platformReadySeconds: Math.round(boot.ms / 100) / 10,
        items: items.length,
        loadSeconds: Math.round(load.ms / 100) / 10,
        itemsPerSecond: Math.round(items.length / (load.ms / 1000)),
        casesByStatus,
        openTasksByActor: tasksByActor,
        week: { from: beijing(week.from), to: beijing(week.to), deadlinesInWeek: inWeek },
      },
      tasks: {
        warmupMs: Math.round(warm.ms),
        byRole: tasks,
        note: 'GET /tasks?role=<role>&limit=50 with that role’s token, following the cursor; handler = handler-01 (handler + case_team partitions, case_team kept only on its cases)',
      },
      deadlines: {
        ...deadlines,
        itemsReturned: deadlineItems,
        note: 'GET /deadlines?from=<Monday 00:00+08:00>&to=<Sunday 23:59:59.999+08:00>&limit=50, following the cursor',
      },
      indexProof: {
        scans,
        listingsWithOtherCommands: nonQuery,
        listingsWithFilter: filtered,
        scannedMinusCount: scannedExcess,
        listingsNotReturningWhatWasWritten: missing,
        openTasksFor: perPartition,
        deadlinesDue: dueProof,
      },
      targets: [
        ...taskP95.map(([role, p95]) => named(`GET /tasks p95 (${role})`, p95, TARGET_MS, 'ms')),
        named('GET /deadlines p95 (this week)', deadlines.p95Ms, TARGET_MS, 'ms'),
        named('scans', scans, 0, 'commands'),
        named('listings with a command other than Query', nonQuery, 0, 'listings'),
        named('listings with a filter', filtered, 0, 'listings'),
        named('items read and thrown away (ScannedCount − Count)', scannedExcess, 0, 'items'),
        named('listings not returning what was written', missing, 0, 'listings'),
      ],
    };
  } finally {
    db?.destroy();
    await platform?.stop();
    tmp.remove();
  }
}
