import type { AlarmEvent } from '#shared/domain/alarms/lifecycle.ts';
import type {
  AlarmChange,
  AlarmFilter,
  AlarmStore,
  AuditEntry,
  PageQuery,
  StoredAlarm,
} from '#shared/domain/alarms/ports.ts';
import type { AlarmResponse } from '#shared/domain/alarms/response.ts';
import type { RuleSet } from '#shared/domain/alarms/rules.ts';
import { NotFoundError, PreconditionFailedError } from '#shared/domain/errors.ts';
import type { MemoryEvidence } from './memory-tips.ts';

/**
 * The officials' alarm use-cases over an in-memory store with the port's semantics: a change is decided on the alarm
 * read and written at its version; a reminder between the read and the write makes the store read and decide again.
 */
export class MemoryAlarmStore implements AlarmStore {
  alarms = new Map<string, StoredAlarm>();
  events: { alarmId: string; event: AlarmEvent }[] = [];
  audit: AuditEntry[] = [];
  manualClears: string[] = [];
  rules: RuleSet[] = [];
  responses = new Map<string, AlarmResponse>();
  filters: AlarmFilter[] = [];
  /** a reminder the sweep records between the next read and its write (version + 1, state version kept) */
  reminderBeforeWrite = false;

  /** `evidence`: the upload slots an answer's transaction references (its condition and its commit) */
  constructor(private readonly evidence?: MemoryEvidence) {}

  async get(alarmId: string) {
    return this.alarms.get(alarmId)?.alarm;
  }
  async list(filter: AlarmFilter, _page: PageQuery) {
    this.filters.push(filter);
    const items = [...this.alarms.values()].map((s) => s.alarm);
    const want = filter.retrospective;
    return { items: want === undefined ? items : items.filter((a) => (a.retrospective !== undefined) === want) };
  }
  async timeline(alarmId: string) {
    return { items: this.events.filter((e) => e.alarmId === alarmId).map((e) => e.event) };
  }
  async change(alarmId: string, decide: (current: StoredAlarm) => AlarmChange | undefined) {
    for (let attempt = 1; ; attempt++) {
      const read = this.alarms.get(alarmId);
      if (!read) throw new NotFoundError(`alarm ${alarmId} does not exist`);
      const change = decide(read);
      if (!change) return read.alarm;
      if (this.reminderBeforeWrite) {
        this.reminderBeforeWrite = false;
        this.alarms.set(alarmId, { ...read, alarm: { ...read.alarm, version: read.alarm.version + 1 } });
      }
      if (this.alarms.get(alarmId)?.alarm.version !== read.alarm.version) {
        if (attempt >= 3) throw new PreconditionFailedError('changed by someone else');
        continue;
      }
      this.alarms.set(alarmId, { alarm: change.alarm, stateVersion: change.alarm.version });
      for (const event of change.events) this.events.push({ alarmId, event });
      this.audit.push({ ...change.audit, entity: `alarm/${alarmId}`, at: change.alarm.updatedAt });
      if (change.manualClear) this.manualClears.push(alarmId);
      return change.alarm;
    }
  }
  async addEvent(alarmId: string, event: AlarmEvent, audit: AuditEntry) {
    if (!this.alarms.has(alarmId)) throw new NotFoundError(`alarm ${alarmId} does not exist`);
    this.events.push({ alarmId, event });
    this.audit.push(audit);
  }
  async storedRules() {
    return this.rules.at(-1);
  }
  async putRules(input: { next: RuleSet; replacing: number | undefined; history: RuleSet[]; audit: AuditEntry }) {
    if (input.replacing !== this.rules.at(-1)?.version) throw new PreconditionFailedError('rules changed');
    this.rules.push(input.next);
    this.audit.push(input.audit);
  }
  async ruleVersions() {
    return { items: [...this.rules].reverse() };
  }
  async getResponse(alarmId: string) {
    return this.responses.get(alarmId);
  }
  async awaitingReview(page: PageQuery) {
    const waiting = [...this.responses.values()]
      .filter((r) => r.status === 'submitted')
      .sort((a, b) => b.submittedAt.localeCompare(a.submittedAt));
    const items = waiting.flatMap((r) => this.alarms.get(r.alarmId)?.alarm ?? []).slice(0, page.limit);
    return { items };
  }
  async putResponse(input: {
    response: AlarmResponse;
    uploadIds?: readonly string[];
    replacing: number | undefined;
    event: AlarmEvent;
    audit: AuditEntry;
  }) {
    if (this.responses.get(input.response.alarmId)?.version !== input.replacing) {
      throw new PreconditionFailedError('answer changed');
    }
    const uploads = input.uploadIds ?? [];
    if (uploads.length > 0) {
      if (!this.evidence) throw new Error('no evidence store');
      this.evidence.checkCommit(`response#${input.response.alarmId}`, uploads);
      this.evidence.commit(uploads);
    }
    this.responses.set(input.response.alarmId, input.response);
    this.events.push({ alarmId: input.response.alarmId, event: input.event });
    this.audit.push(input.audit);
  }
}
