import {
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  splitBilingual,
  ValidationError,
} from '#shared/domain/errors.ts';
import {
  EvidenceError,
  type EvidenceFinalizer,
  type EvidenceItem,
  type EvidenceViewer,
} from '#shared/domain/tips/evidence-port.ts';
import {
  type Alarm,
  type AlarmEvent,
  acknowledge,
  clearManually,
  commentEvent,
  type LifecycleChange,
  snooze,
} from './lifecycle.ts';
import type { AlarmChange, AlarmFilter, AlarmStore, Page, PageQuery, StoredAlarm } from './ports.ts';
import {
  type AlarmResponse,
  enterpriseMaySee,
  enterpriseView,
  type ResponseChange,
  type ResponseEvidence,
  type ResponseEvidenceRef,
  reviewResponse,
  submitResponse,
} from './response.ts';
import { defaultRuleSet, RuleSet, type RuleSetInput } from './rules.ts';

/** Who reads: the bureau (everything its scope shows) or an enterprise user (its unit's alarms, redacted). */
export type AlarmViewer = { kind: 'bureau' } | { kind: 'enterprise'; uscc: string };
export const BUREAU: AlarmViewer = { kind: 'bureau' };

/** The enterprise's answer as it comes in: its files named by new upload ids or by the ids of files it keeps. */
export interface ResponseRequest {
  explanation: string;
  rectifyBy: string;
  evidence: ResponseEvidenceRef[];
}

/** One evidence file of an answer as the bureau sees it: a short-lived link to its stripped copy, or why none. */
export interface ResponseEvidenceView {
  name: string;
  evidenceId?: string;
  kind?: EvidenceItem['kind'];
  contentType?: string;
  bytes?: number;
  sha256?: string;
  link?: { url: string; expiresAt: string };
  withheld?: string;
}

/**
 * The officials' alarm use-cases (functions/alarms-api): read and list alarms and their timelines, acknowledge /
 * snooze / clear / comment, and the alarm rules with their versions. Each action is decided by a pure step — the
 * If-Match check (acceptsIfMatch) and the lifecycle transition (lifecycle.ts) — that the store runs on the alarm it
 * read and again on a re-read when its conditional write loses a race (the notification sweep bumps the version
 * every few minutes while an alarm waits for acknowledgement, and that must not refuse the official).
 */

/**
 * Whether an official's `If-Match` version still describes the alarm: no change but notifications since
 * (stateVersion ≤ expected ≤ version).
 */
export function acceptsIfMatch(expected: number, current: { version: number; stateVersion: number }): boolean {
  return expected >= current.stateVersion && expected <= current.version;
}

/**
 * An official's action as the store's decision: refused with 412 when If-Match names a change since; the lifecycle
 * transition (409 for a state that does not allow it, 400 for bad input); nothing to write when it changes nothing.
 */
export function officialAction(
  expectedVersion: number | undefined,
  action: string,
  by: string,
  transition: (alarm: Alarm) => LifecycleChange,
  opts: { manualClear?: boolean } = {},
): (current: StoredAlarm) => AlarmChange | undefined {
  return ({ alarm, stateVersion }) => {
    if (expectedVersion !== undefined && !acceptsIfMatch(expectedVersion, { version: alarm.version, stateVersion })) {
      throw new PreconditionFailedError(
        `alarm ${alarm.alarmId} changed since version ${expectedVersion} (now ${alarm.version}); reload (告警已被他人修改，当前为第 ${alarm.version} 版，请重新读取)`,
      );
    }
    const change = transition(alarm);
    if (!change.changed) return undefined;
    const noted = change.events.find((e) => e.note !== undefined);
    return {
      alarm: change.alarm,
      events: change.events,
      audit: {
        actor: by,
        action,
        detail: {
          version: change.alarm.version,
          ...(noted?.note !== undefined ? { note: noted.note } : {}),
          ...(change.alarm.snoozedUntil && action === 'alarm.snooze' ? { until: change.alarm.snoozedUntil } : {}),
        },
      },
      ...(opts.manualClear ? { manualClear: { by } } : {}),
    };
  };
}

/** The rules in force: the stored version, or the defaults (version 1) until officials store one. */
export const rulesInForce = async (store: Pick<AlarmStore, 'storedRules'>): Promise<RuleSet> =>
  (await store.storedRules()) ?? defaultRuleSet();

const instant = (value: string, field: string): string => {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new ValidationError(`${field} is not a time`, [
      {
        field: `query.${field}`,
        message: 'not an ISO 8601 time',
        messageZh: '时间格式无效，应为 ISO 8601（如 2026-05-01T08:30:00+08:00）',
      },
    ]);
  }
  return new Date(ms).toISOString();
};

export class AlarmService {
  private readonly now: () => Date;

  constructor(
    private readonly deps: {
      store: AlarmStore;
      now?: () => Date;
      /** seals the answer's uploads (owner `response`, the alarm's id); without it an answer with files is refused */
      evidence?: EvidenceFinalizer;
      /** short-lived links to the working copies, for the bureau; without it no file is linked */
      viewer?: EvidenceViewer;
    },
  ) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * An alarm; 404 when unknown. An enterprise viewer sees its own unit's alarms only, never a type withheld from
   * enterprises (the same 404), and without the bureau's bookkeeping (response.ts enterpriseView).
   */
  async get(alarmId: string, viewer: AlarmViewer = BUREAU): Promise<Alarm> {
    const alarm = await this.deps.store.get(alarmId);
    if (!alarm) throw new NotFoundError(`alarm ${alarmId} does not exist (告警 ${alarmId} 不存在)`);
    if (viewer.kind === 'bureau') return alarm;
    if (alarm.enterpriseId !== viewer.uscc || !enterpriseMaySee(alarm, (await this.rules()).notification)) {
      throw new NotFoundError(`alarm ${alarmId} does not exist (告警 ${alarmId} 不存在)`);
    }
    return enterpriseView(alarm);
  }

  /**
   * Alarms matching the filter, newest first; `from`/`to` are instants (400 otherwise, or when from is after to).
   * An enterprise viewer's list is always its own unit's (any state unless one is asked), redacted, without the
   * types withheld from enterprises.
   */
  async list(filter: AlarmFilter, page: PageQuery, viewer: AlarmViewer = BUREAU): Promise<Page<Alarm>> {
    if (viewer.kind === 'enterprise') {
      const out = await this.listAll({ ...filter, enterprise: viewer.uscc }, page);
      const policy = (await this.rules()).notification;
      return { ...out, items: out.items.filter((a) => enterpriseMaySee(a, policy)).map(enterpriseView) };
    }
    return this.listAll(filter, page);
  }

  private async listAll(filter: AlarmFilter, page: PageQuery): Promise<Page<Alarm>> {
    const from = filter.from ? instant(filter.from, 'from') : undefined;
    const to = filter.to ? instant(filter.to, 'to') : undefined;
    if (from && to && from > to) {
      throw new ValidationError('from is after to', [
        { field: 'query.from', message: 'must not be after `to`', messageZh: '开始时间不能晚于结束时间' },
      ]);
    }
    const { from: _f, to: _t, response, ...rest } = filter;
    if (response === 'submitted') {
      // the review queue is short: its page is filtered here (a page may come back short with a cursor)
      const out = await this.deps.store.awaitingReview(page);
      const keep = (a: Alarm) =>
        (!rest.state || a.state === rest.state) &&
        (rest.level === undefined || a.level === rest.level) &&
        (!rest.type || a.type === rest.type) &&
        (!rest.township || a.townshipId === rest.township) &&
        (!rest.enterprise || a.enterpriseId === rest.enterprise) &&
        (rest.retrospective === undefined || (a.retrospective !== undefined) === rest.retrospective) &&
        (!from || a.raisedAt >= from) &&
        (!to || a.raisedAt <= to);
      return { ...out, items: out.items.filter(keep) };
    }
    return this.deps.store.list({ ...rest, ...(from ? { from } : {}), ...(to ? { to } : {}) }, page);
  }

  /** The alarm's timeline, oldest first; 404 when the alarm is unknown. */
  async timeline(alarmId: string, page: PageQuery): Promise<Page<AlarmEvent>> {
    await this.get(alarmId);
    return this.deps.store.timeline(alarmId, page);
  }

  /** 确认. Idempotent for the same person (the alarm comes back unchanged, nothing written). */
  acknowledge(alarmId: string, by: string, note: string | undefined, expectedVersion?: number): Promise<Alarm> {
    return this.deps.store.change(
      alarmId,
      officialAction(expectedVersion, 'alarm.acknowledge', by, (a) => acknowledge(a, by, this.now(), note)),
    );
  }

  /** 暂缓提醒 until `until` (≤ 24 h ahead), with a note. */
  snooze(
    alarmId: string,
    by: string,
    note: string | undefined,
    until: string,
    expectedVersion?: number,
  ): Promise<Alarm> {
    return this.deps.store.change(
      alarmId,
      officialAction(expectedVersion, 'alarm.snooze', by, (a) => snooze(a, by, this.now(), until, note)),
    );
  }

  /**
   * 人工解除, with a note: the slot is freed and the evaluator told to forget the alarm (lifecycle.ts). A
   * retrospective record (补传超标) holds no slot: clearing it closes the review and tells the evaluator too (its
   * window stops growing, engine.ts forgetAlarms).
   */
  clear(alarmId: string, by: string, note: string | undefined, expectedVersion?: number): Promise<Alarm> {
    return this.deps.store.change(
      alarmId,
      officialAction(expectedVersion, 'alarm.clear', by, (a) => clearManually(a, by, this.now(), note), {
        manualClear: true,
      }),
    );
  }

  /** 备注: a timeline event and its audit entry; the alarm must exist (any state). */
  async comment(alarmId: string, by: string, note: string | undefined): Promise<AlarmEvent> {
    const event = commentEvent(by, this.now(), note);
    await this.deps.store.addEvent(alarmId, event, {
      actor: by,
      action: 'alarm.comment',
      entity: `alarm/${alarmId}`,
      at: event.at,
      detail: { note: event.note },
    });
    return event;
  }

  /** The enterprise's answer to the alarm; 404 when the alarm is unknown (or not the viewer's) or has no answer. */
  async response(alarmId: string, viewer: AlarmViewer = BUREAU): Promise<AlarmResponse> {
    await this.get(alarmId, viewer);
    const found = await this.deps.store.getResponse(alarmId);
    if (!found) throw new NotFoundError(`alarm ${alarmId} has no answer yet (该告警尚无企业情况说明)`);
    return found;
  }

  /**
   * 企业提交情况说明: only the unit of the alarm (the route's scope and this check), see response.ts. The answer is
   * checked before any file is sealed; new uploads are sealed under the alarm (owner `response`) and referenced in the
   * transaction that stores the answer; files of the current answer may be kept by their evidence id.
   */
  async respond(
    alarmId: string,
    viewer: AlarmViewer,
    by: string,
    input: ResponseRequest,
    expectedVersion?: number,
  ): Promise<AlarmResponse> {
    if (viewer.kind !== 'enterprise') {
      throw new ForbiddenError('only the enterprise itself answers its alarm (情况说明须由企业本身提交)');
    }
    const alarm = await this.get(alarmId, viewer);
    const current = await this.deps.store.getResponse(alarmId, true);
    const now = this.now();
    const text = { explanation: input.explanation, rectifyBy: input.rectifyBy };
    submitResponse(alarm, current, { ...text, evidence: [] }, by, now, expectedVersion); // refuses before sealing
    const { evidence, uploadIds } = await this.sealEvidence(alarmId, current, input.evidence);
    const change = submitResponse(alarm, current, { ...text, evidence }, by, now, expectedVersion);
    return this.storeResponse(change, current, 'alarm.response.submit', uploadIds);
  }

  private async sealEvidence(
    alarmId: string,
    current: AlarmResponse | undefined,
    refs: ResponseEvidenceRef[],
  ): Promise<{ evidence: ResponseEvidence[]; uploadIds: string[] }> {
    const kept = new Map<string, EvidenceItem>();
    for (const e of current?.evidence ?? []) if (e.file) kept.set(e.file.id, e.file);
    const seen = new Set<string>();
    refs.forEach((ref, i) => {
      const id = 'uploadId' in ref ? ref.uploadId : ref.evidenceId;
      if (seen.has(id)) {
        throw new ValidationError('a file is named twice', [
          { field: `body.evidence.${i}`, message: 'named twice', messageZh: '同一文件被重复引用' },
        ]);
      }
      seen.add(id);
      if ('evidenceId' in ref && !kept.has(ref.evidenceId)) {
        throw new ValidationError('not a file of the current answer', [
          {
            field: `body.evidence.${i}.evidenceId`,
            message: 'not a file of the current answer; upload it again',
            messageZh: '该文件不属于当前情况说明，请重新上传',
          },
        ]);
      }
    });
    const uploadIds = refs.flatMap((r) => ('uploadId' in r ? [r.uploadId] : []));
    const sealed = new Map<string, EvidenceItem>();
    if (uploadIds.length > 0) {
      if (!this.deps.evidence) throw new Error('no evidence store is configured for alarm answers');
      try {
        const items = await this.deps.evidence.finalize({ owner: { kind: 'response', id: alarmId }, uploadIds });
        for (const [i, id] of uploadIds.entries()) sealed.set(id, items[i] as EvidenceItem);
      } catch (err) {
        if (!(err instanceof EvidenceError)) throw err;
        const i = refs.findIndex((r) => 'uploadId' in r && r.uploadId === err.uploadId);
        const { en, zh } = splitBilingual(err.message);
        throw new ValidationError('an evidence file cannot be accepted (证据文件无法接收)', [
          {
            field: i >= 0 ? `body.evidence.${i}.uploadId` : 'body.evidence',
            message: en,
            messageZh: `证据文件无法接收：${zh ?? en}`,
          },
        ]);
      }
    }
    const evidence = refs.map((ref): ResponseEvidence => {
      const file = ('uploadId' in ref ? sealed.get(ref.uploadId) : kept.get(ref.evidenceId)) as EvidenceItem;
      return { name: ref.name.trim() || '证明材料', sha256: file.sha256, file };
    });
    return { evidence, uploadIds };
  }

  /**
   * The answer's files for the bureau: a short-lived link to each metadata-stripped working copy (never an
   * original); a file named only (answers from before uploads) or without a working copy is listed with the reason.
   */
  async responseEvidence(alarmId: string): Promise<ResponseEvidenceView[]> {
    const answer = await this.response(alarmId, BUREAU);
    return Promise.all(
      answer.evidence.map(async ({ name, sha256, file }): Promise<ResponseEvidenceView> => {
        if (!file) return { name, ...(sha256 ? { sha256 } : {}), withheld: '企业仅列出了材料名称，未上传文件' };
        const base = {
          name,
          evidenceId: file.id,
          kind: file.kind,
          contentType: file.contentType,
          bytes: file.bytes,
          sha256: file.sha256,
        };
        if (!file.workingKey || !this.deps.viewer)
          return { ...base, withheld: '该文件没有去除元数据的副本，不提供原件' };
        return { ...base, link: await this.deps.viewer.link(file.workingKey, file.contentType) };
      }),
    );
  }

  /** 分局审核情况说明: accept, or send back with a reason (response.ts). */
  async review(
    alarmId: string,
    by: string,
    decision: 'accept' | 'return',
    note: string | undefined,
    expectedVersion?: number,
  ): Promise<AlarmResponse> {
    await this.get(alarmId);
    const current = await this.deps.store.getResponse(alarmId, true);
    const change = reviewResponse(alarmId, current, decision, note, by, this.now(), expectedVersion);
    return this.storeResponse(change, current, `alarm.response.${decision}`);
  }

  private async storeResponse(
    change: ResponseChange,
    current: AlarmResponse | undefined,
    action: string,
    uploadIds: string[] = [],
  ): Promise<AlarmResponse> {
    const { response, event } = change;
    await this.deps.store.putResponse({
      response,
      uploadIds,
      replacing: current?.version,
      event,
      audit: {
        actor: event.by,
        action,
        entity: `alarm/${response.alarmId}`,
        at: event.at,
        detail: {
          version: response.version,
          status: response.status,
          round: response.round,
          files: response.evidence.filter((e) => e.file).length,
        },
      },
    });
    return response;
  }

  /** The rules in force; the defaults (version 1) until officials store a version. */
  rules(): Promise<RuleSet> {
    return rulesInForce(this.deps.store);
  }

  /** Stored rule versions, newest first; the defaults alone while none is stored. */
  async ruleVersions(page: PageQuery): Promise<Page<RuleSet>> {
    const out = await this.deps.store.ruleVersions(page);
    if (out.items.length === 0 && !page.cursor) return { items: [defaultRuleSet()] };
    return out;
  }

  /**
   * Stores `input` as the next version (current + 1) and in the history, with an audit entry. With
   * `expectedVersion`, refuses (412) when the current version differs; a concurrent writer is refused the same way.
   * The first stored version also records the defaults it replaces as version 1.
   */
  async replaceRules(input: RuleSetInput, by: string, expectedVersion?: number): Promise<RuleSet> {
    const stored = await this.deps.store.storedRules(true);
    const current = stored ?? defaultRuleSet();
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError(
        `alarm rules are at version ${current.version}, not ${expectedVersion} (告警规则当前为第 ${current.version} 版，不是第 ${expectedVersion} 版)`,
      );
    }
    const at = this.now().toISOString();
    const next = RuleSet.parse({ ...input, version: current.version + 1, updatedAt: at, updatedBy: by });
    await this.deps.store.putRules({
      next,
      replacing: stored?.version,
      history: stored ? [next] : [next, current],
      audit: {
        actor: by,
        action: 'alarm_rules.replace',
        entity: 'alarm-rules',
        at,
        detail: { version: next.version, note: next.note },
      },
    });
    return next;
  }
}
