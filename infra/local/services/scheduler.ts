import { randomUUID } from 'node:crypto';
import { type InvokeFn, LOCAL_ACCOUNT, LOCAL_REGION, type LocalService, type ScheduleSpec } from '#infra/local/spec.ts';

/**
 * EventBridge scheduled rules, locally: `rate(n unit)` and `cron(min hour day-of-month month day-of-week year)` in UTC,
 * invoking their Lambda targets with the scheduled-event shape, the target's constant Input, or its InputTransformer
 * applied to the event (paths `$` and `$.a.b`, and the predefined `aws.events.rule-arn`, `aws.events.rule-name`,
 * `aws.events.event.ingestion-time`, `aws.events.event`). Supported cron fields: `*`, `?`, numbers, lists, ranges
 * and `/` steps, month and weekday names; `L`, `W`, `#` and other paths fail start-up clearly.
 * `runNow(ruleName, { time })` fires a rule at once, as if scheduled at `time` (default now): the event's `time`, and
 * so what a transformer passes on (the platform exposes it for people and tests).
 * Each rule keeps its last RUNS_KEPT runs (when, how long its targets took, whether one failed): `/_local/schedules`
 * shows them, and the load bench tells the alarms that met a job from those that did not.
 */
export interface SchedulerService extends LocalService {
  runNow(ruleName: string, options?: { time?: Date }): Promise<void>;
  rules(): {
    ruleName: string;
    scheduleExpression: string;
    next: string | undefined;
    /** oldest first */
    runs: ScheduleRun[];
  }[];
}

export interface ScheduleRun {
  /** the event's time: the scheduled instant (or the one asked for by runNow) */
  scheduledFor: string;
  startedAt: string;
  /** until every target's invocation settled (so far, while `running`) */
  ms: number;
  failed: boolean;
  running?: true;
}

export const RUNS_KEPT = 50;

type Matcher = (value: number) => boolean;
interface Cron {
  minute: Matcher;
  hour: Matcher;
  dom: Matcher;
  month: Matcher;
  dow: Matcher;
  year: Matcher;
  domAny: boolean;
  dowAny: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function field(expr: string, min: number, max: number, names: string[] = [], offset = 0): Matcher {
  if (expr === '*' || expr === '?') return () => true;
  if (/[LW#]/.test(expr)) throw new Error(`cron field "${expr}": L, W and # are not supported locally`);
  const num = (s: string) => {
    const i = names.indexOf(s.toUpperCase());
    const n = i >= 0 ? i + offset : Number(s);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`cron field "${expr}": ${s} is out of range ${min}-${max}`);
    return n;
  };
  const allowed = new Set<number>();
  for (const part of expr.split(',')) {
    const [range = '*', stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    if (!Number.isInteger(step) || step < 1) throw new Error(`cron field "${expr}": bad step`);
    const [from, to] =
      range === '*'
        ? [min, max]
        : range.includes('-')
          ? range.split('-').map(num)
          : [num(range), stepText ? max : num(range)];
    for (let v = from as number; v <= (to as number); v += step) allowed.add(v);
  }
  return (v) => allowed.has(v);
}

export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6)
    throw new Error(`cron(${expression}) needs 6 fields: minutes hours day-of-month month day-of-week year`);
  const [mi, h, dom, mo, dow, y] = parts as [string, string, string, string, string, string];
  return {
    minute: field(mi, 0, 59),
    hour: field(h, 0, 23),
    dom: field(dom, 1, 31),
    month: field(mo, 1, 12, MONTHS, 1),
    dow: field(dow, 1, 7, DAYS, 1),
    year: field(y, 1970, 2199),
    domAny: dom === '?' || dom === '*',
    dowAny: dow === '?' || dow === '*',
  };
}

/** The next time strictly after `after` (UTC, whole minutes) that the cron matches, within ~5 years. */
export function nextCron(cron: Cron, after: Date): Date | undefined {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  for (let i = 0; i < 5 * 366 * 24 * 60; i++) {
    const dayOk =
      cron.domAny && cron.dowAny
        ? true
        : cron.domAny
          ? cron.dow(t.getUTCDay() + 1)
          : cron.dowAny
            ? cron.dom(t.getUTCDate())
            : cron.dom(t.getUTCDate()) || cron.dow(t.getUTCDay() + 1);
    if (!cron.year(t.getUTCFullYear()) || !cron.month(t.getUTCMonth() + 1) || !dayOk) {
      t.setUTCHours(0, 0, 0, 0);
      t.setUTCDate(t.getUTCDate() + 1);
      continue;
    }
    if (!cron.hour(t.getUTCHours())) {
      t.setUTCMinutes(0);
      t.setUTCHours(t.getUTCHours() + 1);
      continue;
    }
    if (cron.minute(t.getUTCMinutes())) return t;
    t.setUTCMinutes(t.getUTCMinutes() + 1);
  }
  return undefined;
}

export function parseRate(expression: string): number {
  const m = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(expression.trim());
  if (!m) throw new Error(`rate(${expression}) must be "<n> minute(s)|hour(s)|day(s)"`);
  const n = Number(m[1]);
  const unit = (m[2] as string).replace(/s$/, '');
  if (n < 1 || (n === 1) !== !m[2]?.endsWith('s'))
    throw new Error(`rate(${expression}): use "1 ${unit}" or "<n> ${unit}s"`);
  return n * { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[unit as 'minute' | 'hour' | 'day'];
}

type Transformer = NonNullable<ScheduleSpec['targets'][number]['inputTransformer']>;

const PATH = /^\$(\.[A-Za-z0-9_-]+)*$/;

/** Fails start-up on a path the local transformer cannot follow. */
export function checkTransformer(t: Transformer): void {
  for (const [name, path] of Object.entries(t.paths)) {
    if (!PATH.test(path))
      throw new Error(`InputPathsMap ${name}: "${path}" is not supported locally ($ or $.a.b only)`);
  }
}

/**
 * An InputTransformer's input for `event`, as EventBridge builds it: each `<name>` of the template is replaced by the
 * value at its path (absent: null) — inside a JSON string by its text, elsewhere by its JSON.
 */
export function transformInput(t: Transformer, event: Record<string, unknown>, ruleName: string): unknown {
  const values: Record<string, unknown> = {
    'aws.events.rule-arn': (event.resources as string[] | undefined)?.[0],
    'aws.events.rule-name': ruleName,
    'aws.events.event.ingestion-time': event.time,
    'aws.events.event': event,
  };
  for (const [name, path] of Object.entries(t.paths)) {
    let v: unknown = event;
    for (const key of path.split('.').slice(1))
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    values[name] = v;
  }
  let out = '';
  let inString = false;
  for (let i = 0; i < t.template.length; i++) {
    const c = t.template.charAt(i);
    if (c === '"' && t.template.charAt(i - 1) !== '\\') inString = !inString;
    const end = c === '<' ? t.template.indexOf('>', i) : -1;
    const name = end > i ? t.template.slice(i + 1, end) : '';
    if (name in values) {
      const v = values[name] ?? null;
      out += inString ? JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v)).slice(1, -1) : JSON.stringify(v);
      i = end;
      continue;
    }
    out += c;
  }
  return JSON.parse(out);
}

interface Compiled {
  spec: ScheduleSpec;
  next: (after: Date) => Date | undefined;
  timer?: NodeJS.Timeout;
  nextAt?: Date;
  runs: { run: ScheduleRun; t0: number }[];
}

export function startScheduler(opts: {
  schedules: ScheduleSpec[];
  invoke: InvokeFn;
  /** divide the intervals by this (tests) */
  timeScale?: number;
  log?: (line: string) => void;
}): SchedulerService {
  const log = opts.log ?? (() => {});
  const scale = opts.timeScale ?? 1;
  const compiled: Compiled[] = opts.schedules.map((spec) => {
    for (const t of spec.targets) if (t.inputTransformer) checkTransformer(t.inputTransformer);
    const m = /^(rate|cron)\((.*)\)$/.exec(spec.scheduleExpression.trim());
    if (!m)
      throw new Error(`schedule ${spec.ruleName}: "${spec.scheduleExpression}" is neither rate(...) nor cron(...)`);
    try {
      if (m[1] === 'rate') {
        const ms = parseRate(m[2] as string);
        return { spec, next: (after: Date) => new Date(after.getTime() + ms / scale), runs: [] };
      }
      const cron = parseCron(m[2] as string);
      return { spec, next: (after: Date) => nextCron(cron, after), runs: [] };
    } catch (err) {
      throw new Error(`schedule ${spec.ruleName}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });

  const fire = async (c: Compiled, at: Date = new Date()) => {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT,
      time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${c.spec.ruleName}`],
      detail: {},
    };
    // recorded as it starts (a run still going shows with its milliseconds so far), completed when its targets settle
    const run: ScheduleRun = {
      scheduledFor: at.toISOString(),
      startedAt: new Date().toISOString(),
      ms: 0,
      failed: false,
      running: true,
    };
    const t0 = performance.now();
    c.runs.push({ run, t0 });
    if (c.runs.length > RUNS_KEPT) c.runs.splice(0, c.runs.length - RUNS_KEPT);
    await Promise.all(
      c.spec.targets.map((t) =>
        Promise.resolve()
          .then(() =>
            opts.invoke(
              t.functionArn,
              t.inputTransformer ? transformInput(t.inputTransformer, event, c.spec.ruleName) : (t.input ?? event),
            ),
          )
          .catch((err: unknown) => {
            run.failed = true;
            log(
              `schedule ${c.spec.ruleName}: target ${t.functionArn} failed: ${err instanceof Error ? err.message : String(err)}`,
            );
          }),
      ),
    );
    run.ms = Math.round(performance.now() - t0);
    delete run.running;
  };

  let stopped = false;
  const arm = (c: Compiled, after: Date) => {
    if (stopped) return;
    c.nextAt = c.next(after);
    if (!c.nextAt) return;
    // long delays are re-armed in steps: setTimeout holds at most ~24.8 days
    const delay = Math.min(Math.max(0, c.nextAt.getTime() - Date.now()), 2 ** 31 - 1);
    c.timer = setTimeout(() => {
      if (c.nextAt && Date.now() + 5 < c.nextAt.getTime()) return arm(c, new Date(c.nextAt.getTime() - 60_000));
      const at = c.nextAt ?? new Date();
      void fire(c, at).finally(() => arm(c, at));
    }, delay);
    c.timer.unref();
  };
  const now = new Date();
  for (const c of compiled) arm(c, now);
  log(`scheduler: ${compiled.length} rule(s)`);

  return {
    name: 'scheduler',
    runNow: async (ruleName, options) => {
      const c = compiled.find((x) => x.spec.ruleName === ruleName);
      if (!c) throw new Error(`no scheduled rule ${ruleName}`);
      await fire(c, options?.time);
    },
    rules: () =>
      compiled.map((c) => ({
        ruleName: c.spec.ruleName,
        scheduleExpression: c.spec.scheduleExpression,
        next: c.nextAt?.toISOString(),
        runs: c.runs.map(({ run, t0 }) =>
          run.running ? { ...run, ms: Math.round(performance.now() - t0) } : { ...run },
        ),
      })),
    stop: async () => {
      stopped = true;
      for (const c of compiled) clearTimeout(c.timer);
    },
  };
}
