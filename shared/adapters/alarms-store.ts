import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { alarmsToRead, planCommit } from '#shared/domain/alarms/commit-plan.ts';
import { type Alarm, type AlarmEvent, isOpen, type LifecycleChange } from '#shared/domain/alarms/lifecycle.ts';
import type { AlarmSource, Transition } from '#shared/domain/alarms/model.ts';
import type {
  AlarmChange,
  AlarmFilter,
  AlarmStore,
  CommitConflict,
  CommitResult,
  EvalSnapshot,
  EvalStore,
  ForgetRef,
  PageQuery,
  StoredAlarm,
} from '#shared/domain/alarms/ports.ts';
import type { AlarmResponse } from '#shared/domain/alarms/response.ts';
import { RuleSet } from '#shared/domain/alarms/rules.ts';
import { NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import { decodeCursor, encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';
import { commitUploads } from './evidence-store.ts';
import { auditPut } from './registry-store.ts';

/**
 * Alarms on one DynamoDB table (pk/sk; gsi1, gsi2, gsi3), plus the audit table for officials' actions
 * (DynamoAlarmRecords: the table alone, for the alarm engine; DynamoAlarmStore: with the audit table, for the alarms API).
 *
 *   alarm:      pk `alarm#<alarmId>`, sk `alarm`; the Alarm's fields at top level (lifecycle.ts), kind `alarm`
 *               gsi1 `state#<active|acknowledged|cleared>` / `<raisedAt>#<alarmId>`      → lists by state, by time
 *               gsi2 `unit#<USCC>` / `<open|closed>#<raisedAt>#<alarmId>`               → a unit's alarms; `open`
 *                    while active or acknowledged. Tip triage reads this (triage-sources.ts openAlarmsQuery): KEEP.
 *               gsi3 `due` / `<notifyDue>#<alarmId>`, only while a notification is due   → the notification sweep
 *   event:      pk `alarm#<alarmId>`, sk `ev#<at ISO>#<ulid>`; the AlarmEvent under `event` (the timeline)
 *   response:   pk `alarm#<alarmId>`, sk `response`; the enterprise's answer (response.ts) under `response`, `version`
 *               at top level (its own version: the answer's ETag); while it waits for review (status submitted)
 *               gsi1 `response#submitted` / `<submittedAt>#<alarmId>`                  → the bureau's review queue.
 *               Its files are sealed upload slots in the tips table (evidence-store.ts), referenced in the same
 *               transaction (commitUploads).
 *   slot:       pk `slot#<mn>#<type>#<pollutant|->`, sk `slot`; `alarmId` of THE active alarm of that source and key.
 *               Put with attribute_not_exists when an alarm opens, deleted (condition: same alarmId) when it clears,
 *               always in the same transaction: two evaluators can never open the same alarm twice.
 *   evaluator:  pk `eval#<mn>`, sk `state`; `ver` (number), `state` (the engine's EvalState as a JSON string, opaque
 *               here), `forget` (list of ForgetRef written by manual clears; see below)
 *   rules:      pk `rules`, sk `current` (the RuleSet under `rules`, `version` at top level);
 *               pk `rules`, sk `v#<version, 6 digits>` (history, never overwritten)
 *
 * Never a Scan: every read is a key lookup or an index query.
 *
 * EVALUATOR WRITES (commitEvaluation). Steady state is one conditional PutItem of the state item with
 * ReturnValuesOnConditionCheckFailure ALL_OLD: on a version conflict the current item comes back with the failure,
 * no extra read. With transitions, the state write and every alarm write go in ONE TransactWriteItems; level changes
 * and clears first read the alarms they touch (one consistent BatchGetItem, only on those rare messages) because the
 * closed gsi2 key needs raisedAt and a cleared alarm must never be touched again.
 * Several transitions of one alarm or one key in a batch (open then level, clear then a new open) are folded so that
 * each item is written once: one put per alarm, one write per slot, one put per timeline event.
 * A transaction holds at most 100 items: 1 for the state + 3 per open or clear (alarm, event, slot), 2 per level
 * change, i.e. about 33 transitions. One message cannot produce that many (a device reports at most ~20 pollutant
 * codes and a key rarely moves twice per message), but if it ever does the writes are split, never inside one key's
 * group, into several transactions in order, each guarded by a ConditionCheck on the state version, the state Put in
 * the last one. Should a later part fail, the engine's retry meets `slot_taken` / `alarm_closed` conflicts for what the
 * earlier parts wrote and adopts them.
 *
 * MANUAL CLEAR PROTOCOL (the evaluator's state is opaque JSON to this adapter). The official's clear transaction
 *   1. puts the alarm as cleared (condition: the version the official saw), appends its timeline event and audit entry,
 *   2. deletes the slot (condition: it still names this alarm),
 *   3. updates the evaluator item `eval#<mn>`: `ver = ver + 1` (created as 1 if absent) and appends
 *      `{ key, alarmId, at, by }` to its `forget` list.
 * The bump makes the evaluator's next conditional write fail; the failure returns the item (ALL_OLD) as
 * `current: { ver, state, forget }`, and this adapter MERGES the forgotten alarm ids into `current.state.forget`
 * (engine.ts EvalState.forget): the engine's next `evaluate` drops them from `open` before anything else, and the
 * caller writes with expectedVer = current.ver. That Put replaces the whole item, which empties the item's `forget`
 * list (it has been applied). loadEvalState does the same merge. A cached state in another container is stale by
 * then (the ver moved), so its write fails the same way and learns the same. If the condition still holds on the next
 * reading, the engine opens a FRESH alarm (lifecycle.ts explains why).
 *
 * Other conflicts the engine must handle on `{ ok: false }` (besides `current`):
 *   slot_taken { key, alarmId, openedAt? }  an alarm for that key is already active: adopt it as open[key] (its
 *                                level: `get(alarmId)`) instead of opening another
 *   alarm_closed { alarmId }     the alarm it wanted to re-level or clear is cleared or gone: drop it from `open`
 *                                (engine.ts forgetAlarms) and re-evaluate
 *   alarm_changed { alarmId }    an official changed it meanwhile: just re-evaluate and retry (bounded retries)
 */
/** gsi1 partition of answers waiting for the bureau's review */
const AWAITING_REVIEW = 'response#submitted';

export const alarmKeys = {
  alarm: (alarmId: string) => ({ pk: `alarm#${alarmId}`, sk: 'alarm' }),
  event: (alarmId: string, at: string, seq: string) => ({ pk: `alarm#${alarmId}`, sk: `ev#${at}#${seq}` }),
  slot: (mn: string, key: string) => ({ pk: `slot#${mn}#${key}`, sk: 'slot' }),
  evalState: (mn: string) => ({ pk: `eval#${mn}`, sk: 'state' }),
  response: (alarmId: string) => ({ pk: `alarm#${alarmId}`, sk: 'response' }),
  rules: { pk: 'rules', sk: 'current' },
  ruleVersion: (version: number) => ({ pk: 'rules', sk: `v#${String(version).padStart(6, '0')}` }),
};

/** The index keys an alarm carries; gsi3 only while a notification is due. */
export function alarmIndexKeys(alarm: Alarm): Record<string, string> {
  const order = `${alarm.raisedAt}#${alarm.alarmId}`;
  return {
    gsi1pk: `state#${alarm.state}`,
    gsi1sk: order,
    gsi2pk: `unit#${alarm.enterpriseId}`,
    gsi2sk: `${isOpen(alarm.state) ? 'open' : 'closed'}#${order}`,
    ...(alarm.notifyDue ? { gsi3pk: 'due', gsi3sk: `${alarm.notifyDue}#${alarm.alarmId}` } : {}),
  };
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** What each transaction item stands for, to read CancellationReasons (same order as TransactItems). */
type Role =
  | { kind: 'state' }
  | { kind: 'slot'; key: string }
  | { kind: 'alarm'; alarmId: string }
  | { kind: 'slot_delete'; alarmId: string }
  | { kind: 'event'; alarmId: string };

interface Tagged {
  item: TransactItem;
  role: Role;
}

export const MAX_TRANSACTION_ITEMS = 100;
const ITEM_META = [
  'pk',
  'sk',
  'kind',
  'gsi1pk',
  'gsi1sk',
  'gsi2pk',
  'gsi2sk',
  'gsi3pk',
  'gsi3sk',
  'stateVersion',
] as const;

/**
 * The version of the alarm's last change that is not a notification. Every alarm write but the sweep's
 * `recordNotified` stores it (= the new `version`); a reminder or escalation bumps `version` only. So an official's
 * `If-Match` taken before a reminder still holds (acceptsIfMatch). Items stored before the attribute existed read as
 * their `version`.
 */
const stateVersionOf = (item: Record<string, unknown>): number => Number(item.stateVersion ?? item.version);

/** The stored item without keys: an Alarm. */
export function toAlarm(item: Record<string, unknown>): Alarm {
  const out: Record<string, unknown> = { ...item };
  for (const k of ITEM_META) delete out[k];
  return out as unknown as Alarm;
}

/**
 * The stored evaluator item as a snapshot. Pending manual clears are merged into the state's `forget` id list
 * (engine.ts EvalState.forget), which the engine's next evaluation applies before anything else.
 */
function snapshotOf(item: Record<string, unknown>): EvalSnapshot {
  const raw = item.state;
  const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  const forget = Array.isArray(item.forget) ? (item.forget as ForgetRef[]) : [];
  return { ver: Number(item.ver ?? 0), state: withForget(parsed, forget), forget };
}

function withForget(state: unknown, forget: ForgetRef[]): unknown {
  if (forget.length === 0 || !state || typeof state !== 'object' || Array.isArray(state)) return state;
  const queued = (state as { forget?: unknown }).forget;
  const ids = [...(Array.isArray(queued) ? (queued as string[]) : []), ...forget.map((f) => f.alarmId)];
  return { ...state, forget: [...new Set(ids)] };
}

/** Splits item groups (one group per transition, never split) into transactions with one slot left for the state. */
export function chunkGroups<T>(groups: T[][], capacity = MAX_TRANSACTION_ITEMS - 1): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  for (const group of groups) {
    if (current.length + group.length > capacity && current.length > 0) {
      chunks.push(current);
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(current);
  return chunks;
}

/**
 * The alarms table without the audit table: the evaluator's writes, the notification sweep, reads and the stored
 * rules. The alarm engine (evaluator, scheduled jobs) uses this: system transitions write no audit entry.
 */
export class DynamoAlarmRecords implements EvalStore {
  protected readonly newId: () => string;

  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly tables: { alarms: string },
    options: { newId?: () => string } = {},
  ) {
    this.newId = options.newId ?? (() => ulid());
  }

  // ───────────────────────────── evaluator ─────────────────────────────

  /**
   * Stores the evaluator's next state at `expectedVer + 1` together with the transitions' alarm writes.
   * `{ ok: false }` means nothing of this call was written (except in the split case, see the header): re-evaluate
   * from `current` (undefined: no state stored, start from version 0) after applying its `forget` and `conflicts`.
   */
  async commitEvaluation(
    mn: string,
    expectedVer: number,
    nextState: unknown,
    transitions: Transition[],
    source: AlarmSource,
    now: Date,
    ruleVersion: number,
  ): Promise<CommitResult> {
    const state = this.statePut(mn, expectedVer, nextState, now);
    if (transitions.length === 0) return this.putStateOnly(state);

    const plan = await this.plan(transitions, source, now, ruleVersion);
    if ('conflicts' in plan) {
      const current = await this.loadEvalState(mn);
      return { ok: false, ...(current ? { current } : {}), conflicts: plan.conflicts };
    }
    const { groups, alarms } = plan;

    const chunks = chunkGroups(groups);
    for (const [i, chunk] of chunks.entries()) {
      const last = i === chunks.length - 1;
      const guard: Tagged = {
        item: last ? { Put: state } : { ConditionCheck: this.stateCheck(state) },
        role: { kind: 'state' },
      };
      const tagged = [guard, ...chunk];
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: tagged.map((t) => t.item) }));
      } catch (err) {
        const failed = await this.cancelled(mn, err, tagged);
        if (failed) return failed;
        throw err;
      }
    }
    return { ok: true, ver: expectedVer + 1, alarms };
  }

  /**
   * The items of one commit: the alarms that level and clear change are read first (consistent), the domain folds the
   * transitions into one change per alarm and one move per slot (commit-plan.ts), and this turns them into one write
   * per alarm, per slot and per event. Items are grouped per alarm key (slot): a group is never split.
   */
  private async plan(
    transitions: Transition[],
    source: AlarmSource,
    now: Date,
    ruleVersion: number,
  ): Promise<{ groups: Tagged[][]; alarms: Alarm[] } | { conflicts: CommitConflict[] }> {
    const existing = await this.readAlarms(alarmsToRead(transitions));
    const plan = planCommit(transitions, existing, { source, now, ruleVersion });
    if ('conflicts' in plan) return plan;
    const { work, slots } = plan;

    const byKey = new Map<string, Tagged[]>();
    const add = (key: string, ...items: Tagged[]) => byKey.set(key, [...(byKey.get(key) ?? []), ...items]);
    for (const [alarmId, w] of work) {
      add(w.after.key, {
        item: this.alarmPut(w.after, w.before?.version),
        role: { kind: 'alarm', alarmId },
      });
      add(w.after.key, ...this.eventPuts({ alarm: w.after, events: w.events, changed: true }));
    }
    for (const [key, slot] of slots) {
      const write = this.slotWrite(slot.alarm.mn, key, slot.initial, slot.final, work.get(slot.final ?? '')?.after);
      if (write) add(key, write);
    }
    return { groups: [...byKey.values()], alarms: [...work.values()].map((w) => w.after) };
  }

  /**
   * The one write a slot needs: taken (put if absent), freed (delete if it still names the alarm), handed over
   * within this commit (put if it still names the old alarm), or nothing (opened and cleared in the same batch).
   */
  private slotWrite(
    mn: string,
    key: string,
    initial: string | undefined,
    final: string | undefined,
    holder: Alarm | undefined,
  ): Tagged | undefined {
    if (final && holder) {
      const put = this.slotPut(holder);
      if (!initial) return { item: put, role: { kind: 'slot', key } };
      const handover = {
        Put: {
          ...(put.Put as NonNullable<TransactItem['Put']>),
          ConditionExpression: 'alarmId = :id',
          ExpressionAttributeValues: { ':id': initial },
        },
      };
      return { item: handover, role: { kind: 'slot_delete', alarmId: initial } };
    }
    if (initial) return { item: this.slotDelete(mn, key, initial), role: { kind: 'slot_delete', alarmId: initial } };
    return undefined;
  }

  /** The evaluator's stored state (cold start, or a conflict without ALL_OLD); undefined when none is stored. */
  async loadEvalState(mn: string): Promise<EvalSnapshot | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.alarms, Key: alarmKeys.evalState(mn), ConsistentRead: true }),
    );
    return out.Item ? snapshotOf(out.Item) : undefined;
  }

  private statePut(mn: string, expectedVer: number, nextState: unknown, now: Date): PutCommandInput {
    return {
      TableName: this.tables.alarms,
      Item: {
        ...alarmKeys.evalState(mn),
        kind: 'eval',
        mn,
        ver: expectedVer + 1,
        state: JSON.stringify(nextState),
        updatedAt: now.toISOString(),
      },
      ...(expectedVer === 0
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: 'ver = :ver', ExpressionAttributeValues: { ':ver': expectedVer } }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
  }

  private stateCheck(put: PutCommandInput) {
    const item = put.Item as Record<string, unknown>;
    return {
      TableName: put.TableName,
      Key: { pk: item.pk, sk: item.sk },
      ConditionExpression: put.ConditionExpression as string,
      ...(put.ExpressionAttributeValues ? { ExpressionAttributeValues: put.ExpressionAttributeValues } : {}),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }

  private async putStateOnly(put: PutCommandInput): Promise<CommitResult> {
    try {
      await this.db.send(new PutCommand(put));
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
        const old = (err as { Item?: Parameters<typeof unmarshall>[0] }).Item;
        return { ok: false, ...(old ? { current: snapshotOf(unmarshall(old)) } : {}) };
      }
      throw err;
    }
    return { ok: true, ver: Number((put.Item as { ver: number }).ver), alarms: [] };
  }

  /** A cancelled evaluator transaction as `{ ok: false }`, or undefined when it is not a condition/conflict failure. */
  private async cancelled(mn: string, err: unknown, tagged: Tagged[]): Promise<CommitResult | undefined> {
    if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') return undefined;
    const reasons =
      (err as { CancellationReasons?: { Code?: string; Item?: Parameters<typeof unmarshall>[0] }[] })
        .CancellationReasons ?? [];
    if (!reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict')) return undefined;
    let current: EvalSnapshot | undefined;
    let stateFailed = false;
    const conflicts: CommitConflict[] = [];
    reasons.forEach((reason, i) => {
      const role = tagged[i]?.role;
      if (reason.Code !== 'ConditionalCheckFailed' || !role) return;
      const old = reason.Item ? unmarshall(reason.Item) : undefined;
      if (role.kind === 'state') {
        stateFailed = true;
        current = old ? snapshotOf(old) : undefined;
      } else if (role.kind === 'slot') {
        conflicts.push({
          kind: 'slot_taken',
          key: role.key,
          alarmId: String(old?.alarmId ?? ''),
          ...(typeof old?.openedAt === 'string' ? { openedAt: old.openedAt } : {}),
        });
      } else {
        const alarmId = role.alarmId;
        if (!conflicts.some((c) => c.kind === 'alarm_changed' && c.alarmId === alarmId))
          conflicts.push({ kind: 'alarm_changed', alarmId });
      }
    });
    if (!stateFailed) current = await this.loadEvalState(mn);
    return { ok: false, ...(current ? { current } : {}), ...(conflicts.length > 0 ? { conflicts } : {}) };
  }

  protected async readAlarms(ids: string[]): Promise<Map<string, Alarm>> {
    const found = new Map<string, Alarm>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((id) => alarmKeys.alarm(id));
      for (let attempt = 0; keys && keys.length > 0 && attempt < 5; attempt++) {
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tables.alarms]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tables.alarms] ?? []) {
          const alarm = toAlarm(item);
          found.set(alarm.alarmId, alarm);
        }
        keys = out.UnprocessedKeys?.[this.tables.alarms]?.Keys;
      }
      if (keys && keys.length > 0) throw new Error('alarms could not be read (unprocessed keys after retries)');
    }
    return found;
  }

  // ───────────────────────────── item builders ─────────────────────────────

  private alarmItem(alarm: Alarm) {
    return {
      ...alarm,
      ...alarmKeys.alarm(alarm.alarmId),
      ...alarmIndexKeys(alarm),
      kind: 'alarm',
      stateVersion: alarm.version,
    };
  }

  /** A new alarm (expected undefined) only if absent; an existing one only at the version read and not cleared. */
  protected alarmPut(alarm: Alarm, expectedVersion: number | undefined): TransactItem {
    return {
      Put: {
        TableName: this.tables.alarms,
        Item: this.alarmItem(alarm),
        ...(expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :v AND #state <> :cleared',
              ExpressionAttributeNames: { '#version': 'version', '#state': 'state' },
              ExpressionAttributeValues: { ':v': expectedVersion, ':cleared': 'cleared' },
            }),
      },
    };
  }

  private slotPut(alarm: Alarm): TransactItem {
    return {
      Put: {
        TableName: this.tables.alarms,
        Item: {
          ...alarmKeys.slot(alarm.mn, alarm.key),
          kind: 'slot',
          mn: alarm.mn,
          key: alarm.key,
          alarmId: alarm.alarmId,
          openedAt: alarm.openedAt,
          raisedAt: alarm.raisedAt,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  protected slotDelete(mn: string, key: string, alarmId: string): TransactItem {
    return {
      Delete: {
        TableName: this.tables.alarms,
        Key: alarmKeys.slot(mn, key),
        ConditionExpression: 'alarmId = :id',
        ExpressionAttributeValues: { ':id': alarmId },
      },
    };
  }

  protected eventPut(alarmId: string, event: AlarmEvent): TransactItem {
    return {
      Put: {
        TableName: this.tables.alarms,
        Item: { ...alarmKeys.event(alarmId, event.at, this.newId()), kind: 'event', alarmId, event },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  private eventPuts(change: LifecycleChange): Tagged[] {
    const alarmId = change.alarm.alarmId;
    return change.events.map((e) => ({ item: this.eventPut(alarmId, e), role: { kind: 'event', alarmId } }));
  }

  /** The manual-clear notice to the evaluator: bump `ver`, append to `forget` (created if the item is absent). */
  protected forgetUpdate(alarm: Alarm, by: string, at: string): TransactItem {
    const ref: ForgetRef = { key: alarm.key, alarmId: alarm.alarmId, at, by };
    return {
      Update: {
        TableName: this.tables.alarms,
        Key: alarmKeys.evalState(alarm.mn),
        UpdateExpression:
          'SET ver = if_not_exists(ver, :zero) + :one, forget = list_append(if_not_exists(forget, :empty), :ref)',
        ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':empty': [], ':ref': [ref] },
      },
    };
  }

  // ───────────────────────────── officials: reads ─────────────────────────────

  async get(alarmId: string, consistent = false): Promise<Alarm | undefined> {
    const item = await this.alarmItemOf(alarmId, consistent);
    return item ? toAlarm(item) : undefined;
  }

  /** The stored alarm item (keys and `stateVersion` included), if there is one. */
  protected async alarmItemOf(alarmId: string, consistent: boolean): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.alarms, Key: alarmKeys.alarm(alarmId), ConsistentRead: consistent }),
    );
    return out.Item?.kind === 'alarm' ? out.Item : undefined;
  }

  /** The alarm's timeline, oldest first. */
  async timeline(alarmId: string, page: PageQuery): Promise<Page<AlarmEvent>> {
    const pk = alarmKeys.alarm(alarmId).pk;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.alarms,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
        ExpressionAttributeValues: { ':pk': pk, ':ev': 'ev#' },
        Limit: page.limit,
        ExclusiveStartKey: cursorFor(page.cursor, 'pk', pk),
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => i.event as AlarmEvent), ...(cursor ? { cursor } : {}) };
  }

  /**
   * Alarms, newest first. Index by the most selective key: an enterprise → gsi2 (its `open#`/`closed#` half when a
   * state is given, time range in the key); otherwise the state (default `active`) → gsi1 with the time range in the
   * key. Level, type, township (and state or time where the key cannot hold them) are filters, so a page may hold
   * fewer than `limit` items while a cursor is still returned.
   */
  async list(filter: AlarmFilter, page: PageQuery): Promise<Page<Alarm>> {
    const { from, to } = filter;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const filters: string[] = [];
    const range = (attr: string, prefix: string): string => {
      if (!from && !to) {
        if (!prefix) return '';
        values[':prefix'] = prefix;
        return ` AND begins_with(${attr}, :prefix)`;
      }
      values[':lo'] = `${prefix}${from ?? ''}`;
      values[':hi'] = `${prefix}${to ? `${to}#~` : '~'}`;
      return ` AND ${attr} BETWEEN :lo AND :hi`;
    };

    let index: 'gsi1' | 'gsi2';
    let key: string;
    if (filter.enterprise) {
      index = 'gsi2';
      values[':pk'] = `unit#${filter.enterprise}`;
      if (filter.state) {
        key = `gsi2pk = :pk${range('gsi2sk', filter.state === 'cleared' ? 'closed#' : 'open#')}`;
        if (filter.state !== 'cleared') {
          names['#state'] = 'state';
          values[':state'] = filter.state;
          filters.push('#state = :state');
        }
      } else {
        key = 'gsi2pk = :pk';
        if (from) {
          values[':from'] = from;
          filters.push('raisedAt >= :from');
        }
        if (to) {
          values[':to'] = to;
          filters.push('raisedAt <= :to');
        }
      }
    } else {
      index = 'gsi1';
      values[':pk'] = `state#${filter.state ?? 'active'}`;
      key = `gsi1pk = :pk${range('gsi1sk', '')}`;
    }
    if (filter.level !== undefined) {
      names['#level'] = 'level';
      values[':level'] = filter.level;
      filters.push('#level = :level');
    }
    if (filter.type) {
      names['#type'] = 'type';
      values[':type'] = filter.type;
      filters.push('#type = :type');
    }
    if (filter.township) {
      values[':township'] = filter.township;
      filters.push('townshipId = :township');
    }
    if (filter.retrospective !== undefined) {
      filters.push(filter.retrospective ? 'attribute_exists(retrospective)' : 'attribute_not_exists(retrospective)');
    }

    const input: QueryCommandInput = {
      TableName: this.tables.alarms,
      IndexName: index,
      KeyConditionExpression: key,
      ExpressionAttributeValues: values,
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
      ScanIndexForward: false,
      Limit: page.limit,
      ExclusiveStartKey: cursorFor(page.cursor, `${index}pk`, String(values[':pk'])),
    };
    const out = await this.db.send(new QueryCommand(input));
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map(toAlarm), ...(cursor ? { cursor } : {}) };
  }

  // ───────────────────────────── notification sweep ─────────────────────────────

  /** Alarms whose notification is due at or before `now`, earliest first (gsi3; eventually consistent). */
  async due(now: Date, limit: number): Promise<Alarm[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.alarms,
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :due AND gsi3sk <= :now',
        ExpressionAttributeValues: { ':due': 'due', ':now': `${now.toISOString()}#~` },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toAlarm);
  }

  /**
   * Stores what the sweep sent: the new notify state, the next due time (undefined: nothing more is due, the alarm
   * leaves gsi3) and `notified` events — at `expectedVersion` (PreconditionFailedError otherwise: someone changed the
   * alarm since the sweep read it; re-read and decide again). System action: no audit entry. Returns the new version.
   */
  async recordNotified(
    alarmId: string,
    expectedVersion: number,
    notifyState: Record<string, unknown>,
    nextDueAt: string | undefined,
    events: AlarmEvent[],
  ): Promise<number> {
    const version = expectedVersion + 1;
    const update: UpdateCommandInput = {
      TableName: this.tables.alarms,
      Key: alarmKeys.alarm(alarmId),
      UpdateExpression: nextDueAt
        ? 'SET #notify = :notify, #version = :next, notifyDue = :due, gsi3pk = :gsi3pk, gsi3sk = :gsi3sk'
        : 'SET #notify = :notify, #version = :next REMOVE notifyDue, gsi3pk, gsi3sk',
      ConditionExpression: '#version = :v',
      ExpressionAttributeNames: { '#notify': 'notify', '#version': 'version' },
      ExpressionAttributeValues: {
        ':notify': notifyState,
        ':next': version,
        ':v': expectedVersion,
        ...(nextDueAt ? { ':due': nextDueAt, ':gsi3pk': 'due', ':gsi3sk': `${nextDueAt}#${alarmId}` } : {}),
      },
    };
    try {
      if (events.length === 0) await this.db.send(new UpdateCommand(update));
      else {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [{ Update: update }, ...events.map((e) => this.eventPut(alarmId, e))] as TransactItem[],
          }),
        );
      }
    } catch (err) {
      if (isConditionFailure(err))
        throw new PreconditionFailedError(
          `alarm ${alarmId} changed since version ${expectedVersion}; re-read it (告警在第 ${expectedVersion} 版之后已被修改，请重新读取)`,
        );
      throw err;
    }
    return version;
  }

  // ───────────────────────────── rules ─────────────────────────────

  /** The rules officials stored last; undefined while none is stored. */
  async storedRules(consistent = false): Promise<RuleSet | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tables.alarms,
        Key: alarmKeys.rules,
        ...(consistent ? { ConsistentRead: true } : {}),
      }),
    );
    return out.Item ? RuleSet.parse(out.Item.rules) : undefined;
  }

  /** Stored rule versions, newest first. */
  async ruleVersions(page: PageQuery): Promise<Page<RuleSet>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.alarms,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': alarmKeys.rules.pk, ':v': 'v#' },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: cursorFor(page.cursor, 'pk', alarmKeys.rules.pk),
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => RuleSet.parse(i.rules)), ...(cursor ? { cursor } : {}) };
  }
}

/** The alarms table and the audit table: everything above plus officials' actions, each with its audit entry. */
export class DynamoAlarmStore extends DynamoAlarmRecords implements AlarmStore {
  protected override readonly tables: { alarms: string; audit: string; uploads?: string };

  /** `uploads`: the tips table, which holds the evidence upload slots an answer's files are sealed from */
  constructor(
    db: DynamoDBDocumentClient,
    tables: { alarms: string; audit: string; uploads?: string },
    options: { newId?: () => string } = {},
  ) {
    super(db, tables, options);
    this.tables = tables;
  }

  /** A timeline event and its audit entry, on the condition that the alarm exists (any state). */
  async addEvent(alarmId: string, event: AlarmEvent, audit: AuditEntry): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tables.alarms,
                Key: alarmKeys.alarm(alarmId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            this.eventPut(alarmId, event),
            auditPut(this.tables.audit, audit),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new NotFoundError(`alarm ${alarmId} does not exist (告警 ${alarmId} 不存在)`);
      throw err;
    }
  }

  /**
   * Read (consistent), let the domain decide (use-cases.ts officialAction: If-Match, the lifecycle transition), then
   * ONE transaction: the alarm at the version read, its events, the audit entry and, for a manual clear, the slot
   * freed and the evaluator told (MANUAL CLEAR PROTOCOL). A write that loses to another writer between the read and
   * the write is read and decided again (up to 3 times); then it is a 412.
   */
  async change(alarmId: string, decide: (current: StoredAlarm) => AlarmChange | undefined): Promise<Alarm> {
    for (let attempt = 1; ; attempt++) {
      const item = await this.alarmItemOf(alarmId, true);
      if (!item) throw new NotFoundError(`alarm ${alarmId} does not exist (告警 ${alarmId} 不存在)`);
      const current = toAlarm(item);
      const change = decide({ alarm: current, stateVersion: stateVersionOf(item) });
      if (!change) return current;
      const at = change.alarm.updatedAt;
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              this.alarmPut(change.alarm, current.version),
              ...(change.manualClear
                ? [
                    // a retrospective record (补传超标) holds no slot; the evaluator is told all the same
                    ...(current.retrospective === undefined
                      ? [this.slotDelete(current.mn, current.key, current.alarmId)]
                      : []),
                    this.forgetUpdate(current, change.manualClear.by, at),
                  ]
                : []),
              ...change.events.map((e) => this.eventPut(alarmId, e)),
              auditPut(
                this.tables.audit,
                this.audit(change.audit.actor, change.audit.action, alarmId, at, change.audit.detail),
              ),
            ],
          }),
        );
        return change.alarm;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        if (attempt >= 3)
          throw new PreconditionFailedError(
            `alarm ${alarmId} was changed by someone else; reload (告警已被他人修改，请重新读取)`,
          );
      }
    }
  }

  async getResponse(alarmId: string, consistent = false): Promise<AlarmResponse | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.alarms, Key: alarmKeys.response(alarmId), ConsistentRead: consistent }),
    );
    return out.Item?.kind === 'response' ? (out.Item.response as AlarmResponse) : undefined;
  }

  /** The answer at `replacing` (absent when undefined), its timeline event and audit entry: one transaction. */
  async putResponse(input: {
    response: AlarmResponse;
    uploadIds?: readonly string[];
    replacing: number | undefined;
    event: AlarmEvent;
    audit: AuditEntry;
  }): Promise<void> {
    const { response, replacing } = input;
    const uploadIds = input.uploadIds ?? [];
    if (uploadIds.length > 0 && !this.tables.uploads) throw new Error('no uploads table for the answer’s files');
    const owner = { kind: 'response' as const, id: response.alarmId };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.alarms,
                Item: {
                  ...alarmKeys.response(response.alarmId),
                  kind: 'response',
                  version: response.version,
                  response,
                  ...(response.status === 'submitted'
                    ? { gsi1pk: AWAITING_REVIEW, gsi1sk: `${response.submittedAt}#${response.alarmId}` }
                    : {}),
                },
                ...(replacing !== undefined
                  ? {
                      ConditionExpression: '#version = :v',
                      ExpressionAttributeNames: { '#version': 'version' },
                      ExpressionAttributeValues: { ':v': replacing },
                    }
                  : { ConditionExpression: 'attribute_not_exists(pk)' }),
              },
            },
            this.eventPut(response.alarmId, input.event),
            auditPut(this.tables.audit, input.audit),
            ...(uploadIds.length > 0
              ? commitUploads(this.tables.uploads ?? '', owner, uploadIds, response.submittedAt)
              : []),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err))
        throw new PreconditionFailedError(
          `the answer to alarm ${response.alarmId} was changed by someone else; reload (企业情况说明已被他人更新，请刷新后重试)`,
        );
      throw err;
    }
  }

  /**
   * The alarms whose answer waits for the bureau's review, latest answer first: a gsi1 page of answers, then their
   * alarms in one consistent batch read.
   */
  async awaitingReview(page: PageQuery): Promise<Page<Alarm>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.alarms,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': AWAITING_REVIEW },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: cursorFor(page.cursor, 'gsi1pk', AWAITING_REVIEW),
      }),
    );
    const ids = (out.Items ?? []).map((i) => String((i.response as AlarmResponse).alarmId));
    const found = await this.readAlarms(ids);
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: ids.flatMap((id) => found.get(id) ?? []), ...(cursor ? { cursor } : {}) };
  }

  private audit(
    actor: string,
    action: string,
    alarmId: string,
    at: string,
    detail: Record<string, unknown>,
  ): AuditEntry {
    return { actor, action, entity: `alarm/${alarmId}`, at, detail };
  }

  /**
   * The rules in force (`next`) on the condition that the stored version is still `replacing` (none stored: the
   * item must be absent), each history version only if absent, and the audit entry: one transaction. A concurrent
   * writer makes it a 412.
   */
  async putRules(input: {
    next: RuleSet;
    replacing: number | undefined;
    history: RuleSet[];
    audit: AuditEntry;
  }): Promise<void> {
    const { next, replacing } = input;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.alarms,
                Item: { ...alarmKeys.rules, kind: 'rules', version: next.version, rules: next },
                ...(replacing !== undefined
                  ? {
                      ConditionExpression: '#version = :v',
                      ExpressionAttributeNames: { '#version': 'version' },
                      ExpressionAttributeValues: { ':v': replacing },
                    }
                  : { ConditionExpression: 'attribute_not_exists(pk)' }),
              },
            },
            ...input.history.map((rules) => ({
              Put: {
                TableName: this.tables.alarms,
                Item: { ...alarmKeys.ruleVersion(rules.version), kind: 'rules', version: rules.version, rules },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
            auditPut(this.tables.audit, input.audit),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err))
        throw new PreconditionFailedError(
          'alarm rules were changed by someone else; reload and retry (告警规则已被他人修改，请重新读取后重试)',
        );
      throw err;
    }
  }
}

/**
 * The ExclusiveStartKey of a cursor, refusing (400 on `query.cursor`) a cursor from another listing: a key of
 * another index or partition would otherwise reach DynamoDB as a 500.
 */
function cursorFor(cursor: string | undefined, attr: string, expected: string): Record<string, unknown> | undefined {
  const key = startKeyOf(cursor);
  if (key && decodeCursor(cursor)?.[attr] !== expected) {
    throw new ValidationError('cursor belongs to another listing', [
      { field: 'query.cursor', message: 'belongs to another listing', messageZh: '翻页游标与当前查询不匹配' },
    ]);
  }
  return key;
}
