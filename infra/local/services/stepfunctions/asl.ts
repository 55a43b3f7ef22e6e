/**
 * ASL helpers for the local Step Functions runner (JSONPath mode only).
 *
 * - `prepareMachine` checks a definition for what aws-local-stepfunctions cannot run (JSONata, `Assign`,
 *   `Arguments`/`Output`) and rewrites a copy for the library: Wait `Seconds`, Retry `IntervalSeconds` /
 *   `MaxDelaySeconds` are divided by `timeScale`; every Task gets the library's largest timeout because the runner
 *   applies `TimeoutSeconds` / `HeartbeatSeconds` itself (the library would otherwise time every task out after
 *   60 s), and the top-level `TimeoutSeconds` is taken out: the runner times the execution itself (runner.ts), with
 *   the service's maximum execution time.
 * - `resumeDefinition` re-enters a top-level state after a restart through a hidden Pass state that yields
 *   the state's saved raw input, so `$$.Execution.Input` stays the execution's input.
 * - `readPath` resolves the simple reference paths (`$`, `$.a.b[0]`, `$['a']`) used by `*Path` fields.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type AslState = Record<string, unknown> & { Type?: unknown };

/** The library's own ceiling: setTimeout overflows above 2^31-1 ms. */
export const LIBRARY_MAX_TIMEOUT_SECONDS = 2_147_483;
export const RESUME_STATE_PREFIX = '__LocalResume';

export interface PreparedMachine {
  /** the definition handed to aws-local-stepfunctions */
  definition: Record<string, unknown>;
  /** original (unscaled) definitions of every Task state, nested ones included (names are machine-unique) */
  taskStates: Map<string, AslState>;
  /** original definitions of the top-level states */
  topStates: Map<string, AslState>;
  /** names of every state, nested included */
  allStateNames: Set<string>;
  /** the top-level TimeoutSeconds, if any (unscaled: the runner scales and applies it) */
  timeoutSeconds?: number;
  /** reasons the definition cannot run faithfully; executions fail with these */
  problems: string[];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function toJson(value: unknown): Json {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as Json;
}

const UNSUPPORTED_FIELDS = ['Assign', 'Arguments', 'Output', 'Items', 'ItemReader', 'ItemBatcher', 'ResultWriter'];

function scaleState(name: string, state: AslState, scale: number, acc: PreparedMachine): AslState {
  const copy: AslState = { ...state };
  for (const field of UNSUPPORTED_FIELDS) {
    if (field in state) acc.problems.push(`state '${name}' uses '${field}', which the local runner does not support`);
  }
  if (state.QueryLanguage === 'JSONata') acc.problems.push(`state '${name}' uses JSONata; use JSONPath`);
  if (state.Type === 'Task') {
    acc.taskStates.set(name, state);
    copy.TimeoutSeconds = LIBRARY_MAX_TIMEOUT_SECONDS;
    delete copy.TimeoutSecondsPath;
  }
  if (state.Type === 'Wait' && typeof state.Seconds === 'number') copy.Seconds = state.Seconds / scale;
  if (Array.isArray(state.Retry)) {
    copy.Retry = state.Retry.map((retrier: unknown) => {
      if (!isObject(retrier)) return retrier;
      const r: Record<string, unknown> = { ...retrier };
      r.IntervalSeconds = (typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1) / scale;
      if (typeof retrier.MaxDelaySeconds === 'number') r.MaxDelaySeconds = retrier.MaxDelaySeconds / scale;
      return r;
    });
  }
  if (Array.isArray(state.Branches)) {
    copy.Branches = state.Branches.map((b: unknown) => (isObject(b) ? scaleMachine(b, scale, acc) : b));
  }
  if (isObject(state.Iterator)) copy.Iterator = scaleMachine(state.Iterator, scale, acc);
  if (isObject(state.ItemProcessor)) copy.ItemProcessor = scaleMachine(state.ItemProcessor, scale, acc);
  return copy;
}

function scaleMachine(def: Record<string, unknown>, scale: number, acc: PreparedMachine): Record<string, unknown> {
  const states = isObject(def.States) ? def.States : {};
  const out: Record<string, unknown> = {};
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) continue;
    if (acc.allStateNames.has(name)) acc.problems.push(`state name '${name}' is used twice`);
    acc.allStateNames.add(name);
    out[name] = scaleState(name, state, scale, acc);
  }
  return { ...def, States: out };
}

export function prepareMachine(definition: Record<string, unknown>, timeScale: number): PreparedMachine {
  const acc: PreparedMachine = {
    definition: {},
    taskStates: new Map(),
    topStates: new Map(),
    allStateNames: new Set(),
    problems: [],
  };
  if (definition.QueryLanguage === 'JSONata') acc.problems.push('the machine uses JSONata; use JSONPath');
  const scaled = scaleMachine(definition, timeScale, acc);
  delete scaled.QueryLanguage;
  delete scaled.TimeoutSeconds;
  if (typeof definition.TimeoutSeconds === 'number') acc.timeoutSeconds = definition.TimeoutSeconds;
  for (const [name, state] of Object.entries(isObject(definition.States) ? definition.States : {})) {
    if (isObject(state)) acc.topStates.set(name, state);
  }
  acc.definition = scaled;
  return acc;
}

/** A copy of the prepared definition that starts at `stateName` with `rawInput`, via a hidden Pass state. */
export function resumeDefinition(
  prepared: PreparedMachine,
  stateName: string,
  rawInput: Json,
): { definition: Record<string, unknown>; resumeStateName: string } {
  let resumeStateName = RESUME_STATE_PREFIX;
  while (prepared.allStateNames.has(resumeStateName)) resumeStateName += '_';
  const states = isObject(prepared.definition.States) ? prepared.definition.States : {};
  const definition: Record<string, unknown> = {
    ...prepared.definition,
    StartAt: resumeStateName,
    States: {
      ...states,
      [resumeStateName]: { Type: 'Pass', Result: { v: rawInput }, OutputPath: '$.v', Next: stateName },
    },
  };
  return { definition, resumeStateName };
}

/** Resolve a simple JSONPath (`$`, `$.a.b`, `$.a[0]`, `$['a']`); undefined when missing or not simple. */
export function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  if (!path.startsWith('$')) return undefined;
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  let current: unknown = value;
  let index = 1;
  while (index < path.length) {
    re.lastIndex = index;
    const m = re.exec(path);
    if (!m) return undefined;
    index = re.lastIndex;
    const key = m[1] ?? m[3] ?? m[4];
    if (key !== undefined) {
      if (!isObject(current)) return undefined;
      current = current[key];
    } else {
      if (!Array.isArray(current)) return undefined;
      current = current[Number(m[2])];
    }
  }
  return current;
}

/** Milliseconds a top-level Wait state pauses for `rawInput`, scaled; undefined when it cannot be computed. */
export function waitMillis(state: AslState, rawInput: unknown, timeScale: number, now: number): number | undefined {
  let input: unknown = rawInput;
  if (typeof state.InputPath === 'string') input = readPath(rawInput, state.InputPath);
  else if (state.InputPath === null) input = {};
  let seconds: number | undefined;
  if (typeof state.Seconds === 'number') seconds = state.Seconds;
  else if (typeof state.SecondsPath === 'string') {
    const v = readPath(input, state.SecondsPath);
    if (typeof v === 'number') seconds = v;
  } else {
    const ts =
      typeof state.Timestamp === 'string'
        ? state.Timestamp
        : typeof state.TimestampPath === 'string'
          ? readPath(input, state.TimestampPath)
          : undefined;
    if (typeof ts === 'string' && !Number.isNaN(Date.parse(ts))) seconds = (Date.parse(ts) - now) / 1000;
  }
  if (seconds === undefined) return undefined;
  return Math.max(0, (seconds * 1000) / timeScale);
}
