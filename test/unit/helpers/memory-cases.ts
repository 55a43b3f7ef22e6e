import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import { acceptsSources, type Case, type CaseTimelineEntry } from '#shared/domain/cases/model.ts';
import type {
  Acting,
  BureauMessage,
  CaseChange,
  CaseEventDraft,
  CaseFilter,
  CaseRecord,
  CaseSourceReader,
  CaseStore,
  DeadlineView,
  GrantedRecord,
  OpenedTask,
  PageQuery,
  ReporterMessages,
  RewardGrant,
  RewardLedger,
  RewardRoundRecord,
  TaskOutcome,
  TaskView,
  WorkflowName,
  WorkflowStart,
  Workflows,
  WorkflowTask,
} from '#shared/domain/cases/ports.ts';
import type { RewardLine } from '#shared/domain/cases/reward.ts';
import { ConflictError, NotFoundError, PreconditionFailedError } from '#shared/domain/errors.ts';
import type { Patrol } from '#shared/domain/patrols/model.ts';
import type { Enterprise, Outlet, Township } from '#shared/domain/registry/model.ts';
import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import type { TimelineEntry, Tip } from '#shared/domain/tips/model.ts';
import type { TipRecord } from '#shared/domain/tips/ports.ts';

/**
 * In-memory stand-ins (not mocks) for the case use-cases (shared/domain/cases/ports.ts), with the ports' semantics
 * that matter: a change is written at the version read (412 otherwise), a source belongs to one case (409 naming
 * it), a reward component is claimed and granted once per case, a task is completed or lapsed only while open, and
 * every write checks all its conditions before it writes anything. Pages are offsets in a cursor.
 */

const page = <T>(all: readonly T[], q: PageQuery): Page<T> => {
  const from = q.cursor ? Number(q.cursor) : 0;
  const items = all.slice(from, from + q.limit);
  const next = from + q.limit;
  return { items, ...(next < all.length ? { cursor: String(next) } : {}) };
};

let seq = 0;
const entryId = () => `E${String(++seq).padStart(25, '0')}`;

export class MemoryCaseStore implements CaseStore {
  readonly cases = new Map<string, CaseRecord>();
  readonly timelines = new Map<string, CaseTimelineEntry[]>();
  /** source `kind#id` → the case holding it */
  readonly claims = new Map<string, string>();
  readonly tasks = new Map<string, WorkflowTask>();
  readonly tokens = new Set<string>();
  readonly deadlines = new Map<string, DeadlineView & { warnedAt?: string }>();
  readonly rounds = new Map<string, RewardRoundRecord[]>();
  /** `caseId#component` → the round claiming it */
  readonly roundClaims = new Map<string, number>();
  readonly granted = new Map<string, GrantedRecord[]>();
  readonly audit: AuditEntry[] = [];
  /** every method call by name, in order */
  readonly calls: string[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Puts a case as stored (arrange). */
  seed(c: Case): CaseRecord {
    const record = { case: c, version: c.version };
    this.cases.set(c.caseId, record);
    for (const s of c.sources) this.claims.set(`${s.kind}#${s.id}`, c.caseId);
    return record;
  }

  /** The timeline of a case, oldest first (assert). */
  entries(caseId: string): CaseTimelineEntry[] {
    return this.timelines.get(caseId) ?? [];
  }

  private append(caseId: string, drafts: readonly CaseEventDraft[], by: string, at: string): CaseTimelineEntry[] {
    const added = drafts.map((d) => ({ id: entryId(), at, by, ...d }));
    this.timelines.set(caseId, [...this.entries(caseId), ...added]);
    return added;
  }

  private audited(actor: string, action: string, caseId: string, at: string, detail: Record<string, unknown>) {
    this.audit.push({ actor, action, entity: `case/${caseId}`, at, detail });
  }

  /** A source some case holds already: 409 naming that case. */
  private claimConflict(sources: readonly { kind: string; id: string }[]): ConflictError | undefined {
    for (const s of sources) {
      const other = this.claims.get(`${s.kind}#${s.id}`);
      if (other !== undefined) {
        return new ConflictError(`${s.kind} ${s.id} is already a source of case ${other} (该来源已关联其他案件)`);
      }
    }
    return undefined;
  }

  async create(input: { case: Case; events: CaseEventDraft[]; detail: Record<string, unknown> }) {
    this.calls.push('create');
    const c = input.case;
    if (this.cases.has(c.caseId)) throw new ConflictError(`case ${c.caseId} already exists`);
    const taken = this.claimConflict(c.sources);
    if (taken) throw taken;
    const record = this.seed(c);
    this.append(c.caseId, input.events, c.openedBy, c.openedAt);
    this.audited(c.openedBy, 'case.open', c.caseId, c.openedAt, input.detail);
    return record;
  }

  async get(caseId: string, reader?: { actor: string }) {
    this.calls.push(reader ? 'get:audited' : 'get');
    const record = this.cases.get(caseId);
    if (record && reader) {
      this.audited(reader.actor, 'case.read', caseId, this.now().toISOString(), { version: record.version });
    }
    return record;
  }

  async list(
    filter: CaseFilter,
    q: PageQuery,
    reader: { actor: string; visible?: (c: Case) => boolean },
  ): Promise<Page<Case>> {
    this.calls.push('list');
    const all = [...this.cases.values()]
      .map((r) => r.case)
      .filter((c) =>
        'status' in filter
          ? c.status === filter.status
          : 'needsRegistration' in filter
            ? c.needsRegistration === true
            : c.enterpriseId === filter.enterpriseId && (!filter.open || acceptsSources(c.status)),
      )
      .sort((a, b) => (a.openedAt < b.openedAt ? -1 : 1));
    const paged = page(all, q);
    const out = { ...paged, items: paged.items.filter((c) => reader.visible?.(c) ?? true) };
    this.audit.push({
      actor: reader.actor,
      action: 'case.list',
      entity: 'cases',
      at: this.now().toISOString(),
      detail: { filter, caseIds: out.items.map((c) => c.caseId) },
    });
    return out;
  }

  async openCaseOfUnit(enterpriseId: string) {
    return [...this.cases.values()]
      .map((r) => r.case)
      .find((c) => c.enterpriseId === enterpriseId && acceptsSources(c.status));
  }

  async teamsOf(caseIds: readonly string[]) {
    const teams = new Map<string, string[]>();
    for (const id of caseIds) {
      const c = this.cases.get(id);
      if (c) teams.set(id, c.case.handlers);
    }
    return teams;
  }

  async change(
    caseId: string,
    expectedVersion: number | undefined,
    acting: Acting,
    action: string,
    decide: (c: Case, at: string) => CaseChange,
  ): Promise<CaseRecord> {
    this.calls.push(`change:${action}`);
    const current = this.cases.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError(`case ${caseId} is at version ${current.version}, not ${expectedVersion}`);
    }
    const at = acting.at ?? this.now().toISOString();
    const change = decide(current.case, at);
    const claims = change.claims ?? [];
    const taken = this.claimConflict(claims);
    if (taken) throw taken;
    const version = current.version + 1;
    const record = { case: { ...change.next, updatedAt: at, version }, version };
    this.cases.set(caseId, record);
    for (const s of claims) this.claims.set(`${s.kind}#${s.id}`, caseId);
    this.append(caseId, change.events, acting.by, at);
    this.audited(acting.by, action, caseId, at, { version, ...change.detail });
    return record;
  }

  async addTimelineEntry(caseId: string, entry: CaseEventDraft, acting: Acting, action: string) {
    this.calls.push(`timeline:${action}`);
    if (!this.cases.has(caseId)) throw new NotFoundError(`case ${caseId} does not exist`);
    const at = acting.at ?? this.now().toISOString();
    const [added] = this.append(caseId, [entry], acting.by, at);
    this.audited(acting.by, action, caseId, at, { type: entry.type, ...(entry.data ? { data: entry.data } : {}) });
    return added as CaseTimelineEntry;
  }

  async timeline(caseId: string, q: PageQuery, reader: { actor: string }) {
    if (!this.cases.has(caseId)) throw new NotFoundError(`case ${caseId} does not exist`);
    const out = page(this.entries(caseId), q);
    this.audited(reader.actor, 'case.timeline.read', caseId, this.now().toISOString(), { entries: out.items.length });
    return out;
  }

  async rewardLedger(caseId: string): Promise<RewardLedger> {
    return { rounds: [...(this.rounds.get(caseId) ?? [])], granted: [...(this.granted.get(caseId) ?? [])] };
  }

  async claimRewardRound(
    caseId: string,
    round: { round: number; lines: readonly RewardLine[] },
    entry: CaseEventDraft,
    acting: Acting,
  ) {
    this.calls.push('claimRewardRound');
    if (!this.cases.has(caseId)) throw new NotFoundError(`case ${caseId} does not exist`);
    const rounds = this.rounds.get(caseId) ?? [];
    if (rounds.some((r) => r.round === round.round)) return false;
    if (round.lines.some((l) => this.roundClaims.has(`${caseId}#${l.component}`))) return false;
    const at = acting.at ?? this.now().toISOString();
    this.rounds.set(caseId, [...rounds, { round: round.round, lines: [...round.lines], startedAt: at }]);
    for (const l of round.lines) this.roundClaims.set(`${caseId}#${l.component}`, round.round);
    this.append(caseId, [entry], acting.by, at);
    return true;
  }

  async recordTask(task: Omit<WorkflowTask, 'state'>, opened: { entry: CaseEventDraft; deadline?: DeadlineView }) {
    this.calls.push('recordTask');
    if (!this.cases.has(task.caseId)) throw new NotFoundError(`case ${task.caseId} does not exist`);
    if (this.taken({ task, opened })) return;
    this.put({ task, opened });
  }

  /** the task or its token is stored already (the store's put conditions) */
  private taken({ task }: OpenedTask): boolean {
    return this.tasks.has(task.taskId) || (task.token !== undefined && this.tokens.has(task.token));
  }

  private put({ task, opened }: OpenedTask): void {
    this.tasks.set(task.taskId, { ...task, state: 'open' });
    if (task.token !== undefined) this.tokens.add(task.token);
    if (opened.deadline) this.deadlines.set(task.taskId, opened.deadline);
    this.append(task.caseId, [opened.entry], 'system', task.createdAt);
  }

  async getTask(taskId: string) {
    const t = this.tasks.get(taskId);
    return t && { ...t };
  }

  async openTasksFor(actor: string, q: PageQuery): Promise<Page<TaskView>> {
    const open = [...this.tasks.values()].filter((t) => t.state === 'open' && t.actors.includes(actor));
    return page(
      open.map(({ token: _t, ...v }) => v),
      q,
    );
  }

  async tasksOf(caseId: string, q: PageQuery): Promise<Page<TaskView>> {
    return page(
      [...this.tasks.values()].filter((t) => t.caseId === caseId).map(({ token: _t, ...v }) => v),
      q,
    );
  }

  async completeTask(
    task: WorkflowTask,
    outcome: TaskOutcome,
    done: { entry: CaseEventDraft; actor: string; at: string },
    grant?: RewardGrant,
    next?: OpenedTask,
  ) {
    this.calls.push('completeTask');
    const stored = this.tasks.get(task.taskId);
    if (stored?.state !== 'open' || (next && this.taken(next)))
      throw new ConflictError(`task ${task.taskId} was already handled (任务已处理或已过期)`);
    const paid = this.granted.get(task.caseId) ?? [];
    const again = grant?.lines.find((l) => paid.some((g) => g.component === l.component));
    if (again) {
      throw new ConflictError(
        `reward component ${again.component} of case ${task.caseId} was already paid (该奖励项目已发放，不得重复发放)`,
      );
    }
    const completed: WorkflowTask = { ...stored, state: 'done', outcome, completedAt: done.at };
    this.tasks.set(task.taskId, completed);
    this.deadlines.delete(task.taskId);
    this.append(task.caseId, [done.entry], outcome.by, done.at);
    if (grant) {
      this.granted.set(task.caseId, [
        ...paid,
        ...grant.lines.map((l) => ({ ...l, round: grant.round, grantedAt: done.at })),
      ]);
    }
    if (next) this.put(next);
    return completed;
  }

  async lapseTask(task: WorkflowTask, lapsed: { entry: CaseEventDraft; at: string }, next?: OpenedTask) {
    this.calls.push('lapseTask');
    const stored = this.tasks.get(task.taskId);
    if (stored?.state !== 'open' || (next && this.taken(next))) return false;
    this.tasks.set(task.taskId, { ...stored, state: 'lapsed', lapsedAt: lapsed.at });
    const d = this.deadlines.get(task.taskId);
    if (d) this.deadlines.set(task.taskId, { ...d, state: 'lapsed' });
    this.append(task.caseId, [lapsed.entry], 'system', lapsed.at);
    if (next) this.put(next);
    return true;
  }

  async deadlinesDue(from: string, to: string, q: PageQuery) {
    const all = [...this.deadlines.values()]
      .filter((d) => d.dueAt >= from && d.dueAt <= to)
      .sort((a, b) => (a.dueAt < b.dueAt ? -1 : 1))
      .map(({ warnedAt: _w, ...d }) => d);
    return page(all, q);
  }

  async deadlineWarningsDue(now: Date, until: Date, limit: number) {
    const at = now.toISOString();
    return [...this.deadlines.values()]
      .filter((d) => d.state === 'open' && !d.warnedAt && d.warnAt !== undefined && d.warnAt <= at)
      .filter((d) => d.dueAt >= at && d.dueAt <= until.toISOString())
      .slice(0, limit)
      .map(({ warnedAt: _w, ...d }) => d);
  }

  async claimDeadlineWarning(taskId: string, at: string) {
    const d = this.deadlines.get(taskId);
    if (!d || d.warnedAt || d.state !== 'open') return false;
    this.deadlines.set(taskId, { ...d, warnedAt: at });
    return true;
  }

  async releaseDeadlineWarning(taskId: string) {
    const d = this.deadlines.get(taskId);
    if (d) {
      const { warnedAt: _w, ...rest } = d;
      this.deadlines.set(taskId, rest);
    }
  }
}

/** Step Functions as the use-cases see it: executions by name, tokens the workflow still waits on. */
export class MemoryWorkflows implements Workflows {
  readonly started: { workflow: WorkflowName; name: string; input: Record<string, unknown> }[] = [];
  readonly sent: { token: string; output: { action: string; comment?: string; by: string } }[] = [];
  /** tokens Step Functions no longer waits on (timed out, handled) */
  readonly stale = new Set<string>();
  private readonly names = new Set<string>();

  async start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<WorkflowStart> {
    if (this.names.has(name)) return { workflow, executionName: name, started: false };
    this.names.add(name);
    this.started.push({ workflow, name, input });
    return {
      workflow,
      executionName: name,
      executionArn: `arn:aws:states:local:0:execution:${workflow}:${name}`,
      started: true,
    };
  }

  async sendSuccess(token: string, output: { action: string; comment?: string; by: string }) {
    if (this.stale.has(token)) {
      throw new ConflictError(
        'the workflow no longer waits for this task: it timed out or was handled (任务已超时或已处理)',
      );
    }
    this.sent.push({ token, output });
  }
}

/** The sources and the tips a case reads and writes: tips (with their timelines and versions), alarms, patrols, the registry. */
export class MemorySources implements CaseSourceReader, ReporterMessages {
  readonly tips = new Map<string, TipRecord>();
  readonly tipEntries = new Map<string, TimelineEntry[]>();
  readonly alarms = new Map<string, Alarm>();
  readonly patrols = new Map<string, Patrol>();
  readonly enterprises = new Map<string, Enterprise>();
  readonly outlets = new Map<string, Outlet>();
  readonly townships = new Map<string, Township>();
  readonly tipAudit: AuditEntry[] = [];
  /** messages posted to reporters (ReporterMessages.post) */
  readonly posted: { tipId: string; id: string; text: string; detail: Record<string, unknown> }[] = [];

  addTip(tip: Tip, version = 1) {
    this.tips.set(tip.id, { tip, version });
  }

  async tip(id: string) {
    return this.tips.get(id)?.tip;
  }
  async tipTimeline(id: string) {
    return this.tipEntries.get(id) ?? [];
  }
  async alarm(id: string) {
    return this.alarms.get(id);
  }
  async patrol(id: string) {
    return this.patrols.get(id);
  }
  async enterprise(id: string) {
    return this.enterprises.get(id);
  }
  async outlet(id: string) {
    return this.outlets.get(id);
  }
  async township(id: string) {
    return this.townships.get(id);
  }

  /** CaseTips (tips/ports.ts TipStore get and update) */
  readonly tipRecords = {
    get: async (id: string) => this.tips.get(id),
    update: async (tip: Tip, expectedVersion: number, audit: AuditEntry) => {
      const current = this.tips.get(tip.id);
      if (current?.version !== expectedVersion) {
        throw new PreconditionFailedError(`tip ${tip.id} was changed by someone else; reload`);
      }
      const record = { tip, version: expectedVersion + 1 };
      this.tips.set(tip.id, record);
      this.tipAudit.push(audit);
      return record;
    },
  };

  async post(tipId: string, message: { id: string; at: string; text: string }, detail: Record<string, unknown>) {
    if (!this.tips.has(tipId)) throw new NotFoundError(`tip ${tipId} does not exist`);
    const entries = this.tipEntries.get(tipId) ?? [];
    if (entries.some((e) => e.id === message.id)) return;
    this.tipEntries.set(tipId, [
      ...entries,
      { type: 'message', id: message.id, at: message.at, from: 'handler', text: message.text },
    ]);
    this.posted.push({ tipId, id: message.id, text: message.text, detail });
  }
}

/** The bureau topic: what was published. */
export function memoryBureau(opts: { failFor?: (m: BureauMessage) => boolean } = {}) {
  const sent: BureauMessage[] = [];
  return {
    sent,
    notify: async (m: BureauMessage) => {
      if (opts.failFor?.(m)) throw new Error('SNS down');
      sent.push(m);
    },
  };
}
