import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { caseIndexKeys, caseKeys, DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { encodeCursor } from '#shared/adapters/dynamodb.ts';
import {
  addEvidenceChange,
  assignHandlersChange,
  attachSourceChange,
  cleanOutcome,
  decisionChange,
  openedCase,
  statusChange,
  taskDoneEntry,
  taskLapsedEntry,
  taskOpened,
} from '#shared/domain/cases/changes.ts';
import type { Case, DecisionBody } from '#shared/domain/cases/model.ts';
import type { WorkflowTask } from '#shared/domain/cases/ports.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
const NOW = new Date('2026-04-07T02:00:00.000Z');
const store = new DynamoCaseStore(db, { cases: 'cases', audit: 'audit' }, () => NOW);

const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';
const OTHER_CASE = '01JQ7Z3K9M2V4X6Y8A0B1C2D9Z';
const TIP_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2T1';
const ALARM_ID = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const TASK_ID = '01JQ8A2B3C4D5E6F7G8H9JTASC';

const baseCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE_ID,
  enterpriseId: WWTP,
  unitName: '庆元县示例城镇污水处理有限公司',
  townshipId: 'mengzhou',
  title: '污水处理厂尾水化学需氧量超标排放',
  sources: [{ kind: 'alarm', id: ALARM_ID, addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-handler-01' }],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'investigating',
  evidence: [],
  openedAt: '2026-04-01T01:00:00.000Z',
  openedBy: 'u-handler-01',
  updatedAt: '2026-04-02T01:00:00.000Z',
  version: 3,
  ...over,
});
const stored = (c: Case) => ({
  ...caseKeys.case(c.caseId),
  ...caseIndexKeys(c),
  kind: 'case',
  case: c,
  version: c.version,
});

/** A cancelled transaction; a failed item that asked for ALL_OLD carries its old item (marshalled). */
const cancelled = (reasons: { Code: string; Item?: Record<string, { S: string }> }[]) =>
  new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: reasons });

const transactItems = (n = 0) => ddb.commandCalls(TransactWriteCommand)[n]?.args[0].input.TransactItems ?? [];

const penalty: DecisionBody = {
  type: 'administrative_penalty',
  decisionNumber: '庆环罚〔2026〕8号',
  decidedOn: '2026-04-07',
  legalBasis: '《水污染防治法》第八十三条第二项',
  fineFen: 12_000_000,
  items: [{ kind: 'fine' }, { kind: 'order_to_correct' }],
};

beforeEach(() => ddb.reset());
afterEach(() => {
  expect(ddb).not.toHaveReceivedCommand(ScanCommand);
});

describe('key layout', () => {
  it('lists a case by status and, while it takes sources, under its unit as open', () => {
    expect(caseIndexKeys(baseCase())).toEqual({
      gsi1pk: 'status#investigating',
      gsi1sk: `2026-04-01T01:00:00.000Z#${CASE_ID}`,
      gsi2pk: `unit#${WWTP}`,
      gsi2sk: `open#2026-04-01T01:00:00.000Z#${CASE_ID}`,
    });
  });

  it('moves a decided case to the closed half of its unit and gives an unregistered site no unit key', () => {
    expect(caseIndexKeys(baseCase({ status: 'decided' })).gsi2sk).toBe(`closed#2026-04-01T01:00:00.000Z#${CASE_ID}`);
    const { enterpriseId: _e, ...site } = baseCase();
    expect(caseIndexKeys(site)).not.toHaveProperty('gsi2pk');
  });

  it('lists a case whose unit is not registered yet under the registration partition', () => {
    const { enterpriseId: _e, ...site } = baseCase({ needsRegistration: true });
    expect(caseIndexKeys(site)).toMatchObject({
      gsi2pk: 'registration#pending',
      gsi2sk: `2026-04-01T01:00:00.000Z#${CASE_ID}`,
    });
  });
});

describe('create', () => {
  const input = {
    title: '污水处理厂尾水化学需氧量超标排放',
    unit: { enterpriseId: WWTP, name: '庆元县示例城镇污水处理有限公司', townshipId: 'mengzhou' },
    sources: [
      { kind: 'alarm' as const, id: ALARM_ID },
      { kind: 'tip' as const, id: TIP_ID },
    ],
    handlers: ['u-handler-01', 'u-handler-02'],
  };

  const open = (over: Partial<typeof input> = {}, by = 'u-chief-01') =>
    store.create(openedCase({ ...input, ...over, caseId: CASE_ID }, { by, at: NOW.toISOString() }));

  it('writes the case, one claim per source, the timeline event and the audit entry in one transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c, version } = await open();

    expect(version).toBe(1);
    expect(c.status).toBe('investigating');
    const items = transactItems();
    expect(items).toHaveLength(5);
    expect(items[0]?.Put).toMatchObject({
      TableName: 'cases',
      Item: {
        pk: `case#${CASE_ID}`,
        sk: '#',
        kind: 'case',
        version: 1,
        gsi1pk: 'status#investigating',
        gsi2pk: `unit#${WWTP}`,
        gsi2sk: `open#${NOW.toISOString()}#${CASE_ID}`,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(items[1]?.Put).toEqual({
      TableName: 'cases',
      Item: { pk: `source#alarm#${ALARM_ID}`, sk: '#', kind: 'source', caseId: CASE_ID, addedAt: NOW.toISOString() },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(items[2]?.Put?.Item).toMatchObject({ pk: `source#tip#${TIP_ID}` });
    expect(items[3]?.Put?.Item).toMatchObject({ pk: `case#${CASE_ID}`, kind: 'event', entry: { type: 'opened' } });
    expect(items[3]?.Put?.Item?.sk).toMatch(/^ev#2026-04-07T02:00:00.000Z#/);
    expect(items[4]?.Put).toMatchObject({
      TableName: 'audit',
      Item: { pk: `case/${CASE_ID}`, actor: 'u-chief-01', action: 'case.open' },
    });
  });

  it('opens with fewer than two handlers as open, not investigating', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c } = await open({ handlers: ['u-handler-01'] }, 'u-handler-01');

    expect(c.status).toBe('open');
    expect(transactItems()[0]?.Put?.Item).toMatchObject({ gsi1pk: 'status#open' });
  });

  it('never copies anything of a tip but its id', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c } = await open();

    expect(c.sources.find((s) => s.kind === 'tip')).toEqual({
      kind: 'tip',
      id: TIP_ID,
      addedAt: NOW.toISOString(),
      addedBy: 'u-chief-01',
    });
  });

  it('refuses a source already in another case with 409 naming that case', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejects(
        cancelled([
          { Code: 'None' },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { caseId: { S: OTHER_CASE } } },
          { Code: 'None' },
          { Code: 'None' },
        ]),
      );

    const err = await open().catch((e: unknown) => e);

    expect(err).toMatchObject({ status: 409 });
    expect((err as Error).message).toContain(`tip ${TIP_ID}`);
    expect((err as Error).message).toContain(OTHER_CASE);
  });
});

describe('get', () => {
  it('reads without an audit entry when no reader is named (internal reads)', async () => {
    ddb.on(GetCommand).resolves({ Item: stored(baseCase()) });

    const record = await store.get(CASE_ID);

    expect(record?.version).toBe(3);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 'cases', Key: { pk: `case#${CASE_ID}`, sk: '#' } });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('audits an official’s read in a transaction that checks the version read', async () => {
    ddb.on(GetCommand).resolves({ Item: stored(baseCase()) });
    ddb.on(TransactWriteCommand).resolves({});

    await store.get(CASE_ID, { actor: 'u-chief-01' });

    const items = transactItems();
    expect(items[0]?.ConditionCheck).toEqual({
      TableName: 'cases',
      Key: { pk: `case#${CASE_ID}`, sk: '#' },
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': 3 },
    });
    expect(items[1]?.Put).toMatchObject({
      TableName: 'audit',
      Item: { pk: `case/${CASE_ID}`, actor: 'u-chief-01', action: 'case.read', detail: { version: 3 } },
    });
  });

  it('re-reads once when the case changed between the read and its audit', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: stored(baseCase()) })
      .resolves({ Item: stored(baseCase({ version: 4 })) });
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }]))
      .resolves({});

    const record = await store.get(CASE_ID, { actor: 'u-chief-01' });

    expect(record?.version).toBe(4);
    expect(transactItems(1)[0]?.ConditionCheck?.ExpressionAttributeValues).toEqual({ ':v': 4 });
  });

  it('answers undefined for an unknown case and audits nothing', async () => {
    ddb.on(GetCommand).resolves({});

    expect(await store.get(CASE_ID, { actor: 'u-chief-01' })).toBeUndefined();
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});

describe('list', () => {
  it('lists by status from gsi1 and audits the listing', async () => {
    ddb.on(QueryCommand).resolves({ Items: [stored(baseCase())] });
    ddb.on(TransactWriteCommand).resolves({});

    const page = await store.list({ status: 'investigating' }, { limit: 20 }, { actor: 'u-chief-01' });

    expect(page.items.map((c) => c.caseId)).toEqual([CASE_ID]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'cases',
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'status#investigating' },
      Limit: 20,
    });
    expect(transactItems()[0]?.Put?.Item).toMatchObject({
      pk: 'cases',
      action: 'case.list',
      detail: { caseIds: [CASE_ID] },
    });
  });

  it('lists a unit’s cases still taking sources from the open half of gsi2', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});

    await store.list({ enterpriseId: WWTP, open: true }, { limit: 20 }, { actor: 'u-chief-01' });

    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `unit#${WWTP}`, ':prefix': 'open#' },
    });
  });

  it('lists the cases flagged for registration from their gsi2 partition', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});

    await store.list({ needsRegistration: true }, { limit: 20 }, { actor: 'u-chief-01' });

    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: { ':pk': 'registration#pending' },
    });
  });

  it('refuses a cursor of another listing with 400', async () => {
    const foreign = encodeCursor({ gsi1pk: 'status#decided', gsi1sk: 'x', pk: 'case#x', sk: '#' });

    const err = await store
      .list({ status: 'investigating' }, { limit: 20, cursor: foreign }, { actor: 'u-chief-01' })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ status: 400 });
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });
});

describe('changes', () => {
  const existing = (c: Case = baseCase()) => ddb.on(GetCommand).resolves({ Item: stored(c) });
  const attach = (
    expectedVersion?: number,
    source = { kind: 'tip' as const, id: TIP_ID },
    unit: string | undefined = WWTP,
  ) =>
    store.change(
      CASE_ID,
      expectedVersion,
      { by: 'u-handler-01' },
      'case.source.attach',
      attachSourceChange(source, unit, 'u-handler-01'),
    );

  it('attaches a source of the same unit: case at the version read, claim, event and audit together', async () => {
    existing();
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c, version } = await attach(3);

    expect(version).toBe(4);
    expect(c.sources.map((s) => s.id)).toEqual([ALARM_ID, TIP_ID]);
    const items = transactItems();
    expect(items[0]?.Put).toMatchObject({
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': 3 },
      Item: { version: 4 },
    });
    expect(items[1]?.Put).toMatchObject({
      Item: { pk: `source#tip#${TIP_ID}`, caseId: CASE_ID },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(items[2]?.Put?.Item).toMatchObject({ entry: { type: 'source_added' } });
    expect(items[3]?.Put).toMatchObject({ TableName: 'audit', Item: { action: 'case.source.attach' } });
  });

  it('attaches a source that names no unit (a clue) on the official’s judgment', async () => {
    existing();
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c } = await attach(undefined, { kind: 'clue', id: 'JB-2026-031' } as never, undefined);

    expect(c.sources).toHaveLength(2);
  });

  it('writes nothing when the domain refuses the change (a decided case takes no source: 409)', async () => {
    existing(baseCase({ status: 'decided', decision: { ...penalty, decidedBy: 'u-chief-01', decidedAt: 'x' } }));
    const decided = await attach().catch((e: unknown) => e);

    expect(decided).toMatchObject({ status: 409 });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 409 naming the other case when the source was attached elsewhere meanwhile', async () => {
    existing();
    ddb
      .on(TransactWriteCommand)
      .rejects(
        cancelled([
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { caseId: { S: OTHER_CASE } } },
          { Code: 'None' },
          { Code: 'None' },
        ]),
      );

    const err = await attach().catch((e: unknown) => e);

    expect(err).toMatchObject({ status: 409 });
    expect((err as Error).message).toContain(OTHER_CASE);
  });

  it('answers 412 for a stale If-Match and for a lost race', async () => {
    existing();
    const stale = await attach(2).catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 412 });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);

    ddb
      .on(TransactWriteCommand)
      .rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }, { Code: 'None' }]));
    const race = await attach().catch((e: unknown) => e);
    expect(race).toMatchObject({ status: 412 });
  });

  it('names a team of two and starts the investigation of an open case', async () => {
    existing(baseCase({ status: 'open', handlers: [] }));
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c } = await store.change(
      CASE_ID,
      undefined,
      { by: 'u-chief-01' },
      'case.handlers.assign',
      assignHandlersChange(['u-handler-01', 'u-handler-02']),
    );

    expect(c.status).toBe('investigating');
    const types = transactItems()
      .map((i) => i.Put?.Item?.entry?.type)
      .filter(Boolean);
    expect(types).toEqual(['handlers_changed', 'status_changed']);
    expect(transactItems()[0]?.Put?.Item).toMatchObject({ gsi1pk: 'status#investigating' });
  });

  it('adds evidence with its hash: the case, the event and the audit entry', async () => {
    existing();
    ddb.on(TransactWriteCommand).resolves({});
    const sha256 = 'a'.repeat(64);

    const { case: c } = await store.change(
      CASE_ID,
      undefined,
      { by: 'u-handler-01' },
      'case.evidence.add',
      addEvidenceChange(
        { type: 'object', kind: 'lab_report', key: `cases/${CASE_ID}/cod-lab.pdf`, sha256 },
        'u-handler-01',
      ),
    );

    expect(c.evidence.at(-1)).toMatchObject({ type: 'object', sha256, addedBy: 'u-handler-01' });
    expect(transactItems()[2]?.Put?.Item).toMatchObject({ action: 'case.evidence.add', detail: { sha256 } });
  });
});

describe('a decision', () => {
  it('records a penalty: the case is decided and leaves its unit’s open half, audit with the decision number', async () => {
    ddb.on(GetCommand).resolves({ Item: stored(baseCase()) });
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c } = await store.change(
      CASE_ID,
      3,
      { by: 'u-chief-01' },
      'case.decide',
      decisionChange(penalty, 'u-chief-01'),
    );

    expect(c.status).toBe('decided');
    expect(c.decision).toMatchObject({ decidedBy: 'u-chief-01', decidedAt: NOW.toISOString(), fineFen: 12_000_000 });
    const items = transactItems();
    expect(items[0]?.Put?.Item).toMatchObject({ gsi1pk: 'status#decided', gsi2sk: expect.stringMatching(/^closed#/) });
    expect(items.at(-1)?.Put).toMatchObject({
      TableName: 'audit',
      Item: { action: 'case.decide', detail: { decisionNumber: '庆环罚〔2026〕8号', fineFen: 12_000_000 } },
    });
  });

  it('keeps the platform’s crime proposal with the case and notes it on the timeline', async () => {
    ddb.on(GetCommand).resolves({ Item: stored(baseCase()) });
    ddb.on(TransactWriteCommand).resolves({});
    const crime: DecisionBody = {
      type: 'suspected_crime',
      proposedItems: [{ item: 'item4', reference: '法释〔2023〕7号 第一条第（四）项' }],
      confirmedItems: [
        { item: 'item4', facts: '铅超标3.2倍', confirmedBy: 'u-chief-01', confirmedAt: NOW.toISOString() },
      ],
    };

    const { case: c } = await store.change(
      CASE_ID,
      undefined,
      { by: 'u-chief-01' },
      'case.decide',
      decisionChange(crime, 'u-chief-01', { proposedCrimeItems: ['item4'] }),
    );

    expect(c.proposedCrimeItems).toEqual(['item4']);
    const types = transactItems()
      .map((i) => i.Put?.Item?.entry?.type)
      .filter(Boolean);
    expect(types).toEqual(['crime_items_proposed', 'decision_recorded', 'status_changed']);
  });
});

describe('status and timeline', () => {
  it('moves a decided case to transferred: its index keys follow the status', async () => {
    const decided = baseCase({ status: 'decided' });
    ddb.on(GetCommand).resolves({ Item: stored(decided) });
    ddb.on(TransactWriteCommand).resolves({});

    const { case: c } = await store.change(
      CASE_ID,
      undefined,
      { by: 'system' },
      'case.status',
      statusChange('transferred'),
    );
    expect(c.status).toBe('transferred');
    expect(transactItems()[0]?.Put?.Item).toMatchObject({ gsi1pk: 'status#transferred' });
    expect(transactItems().at(-1)?.Put?.Item).toMatchObject({
      action: 'case.status',
      detail: { from: 'decided', to: 'transferred' },
    });
  });

  it('reads the timeline from the case partition and audits the read', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ entry: { id: 'e1', type: 'opened' } }] });
    ddb.on(TransactWriteCommand).resolves({});

    const page = await store.timeline(CASE_ID, { limit: 100 }, { actor: 'u-chief-01' });

    expect(page.items).toHaveLength(1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
      ExpressionAttributeValues: { ':pk': `case#${CASE_ID}`, ':ev': 'ev#' },
    });
    expect(transactItems()[1]?.Put?.Item).toMatchObject({ action: 'case.timeline.read' });
  });

  it('answers 404 for the timeline of an unknown case', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }]));

    const err = await store.timeline(CASE_ID, { limit: 100 }, { actor: 'u-chief-01' }).catch((e: unknown) => e);

    expect(err).toMatchObject({ status: 404 });
  });
});

describe('workflow tasks', () => {
  const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token';
  const task: Omit<WorkflowTask, 'state'> = {
    taskId: TASK_ID,
    caseId: CASE_ID,
    workflow: 'transfer',
    executionArn: `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-transfer:transfer-${CASE_ID}-1`,
    step: 'head_decision',
    actors: ['bureau_head'],
    token: TOKEN,
    createdAt: '2026-04-07T02:00:00.000Z',
    dueAt: '2026-04-10T16:00:00.000Z',
    warnAt: '2026-04-09T16:00:00.000Z',
  };
  const storedTask = (state: WorkflowTask['state'] = 'open') => {
    const { token, ...view } = task;
    return { ...caseKeys.task(TASK_ID), kind: 'task', state, task: { ...view, state }, token };
  };

  it('records a task: index items per actor and its deadline, never the token outside the task item', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    await store.recordTask(task, taskOpened(task));

    const items = transactItems();
    expect(items[0]?.ConditionCheck).toMatchObject({ Key: { pk: `case#${CASE_ID}`, sk: '#' } });
    expect(items[1]?.Put).toMatchObject({
      Item: {
        pk: `task#${TASK_ID}`,
        sk: '#',
        state: 'open',
        token: TOKEN,
        gsi2pk: `case#${CASE_ID}`,
        gsi2sk: `task#${task.createdAt}#${TASK_ID}`,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(items[2]?.Put?.Item?.pk).toMatch(/^tasktoken#[0-9a-f]{64}$/);
    expect(items[2]?.Put?.Item?.pk).not.toContain(TOKEN);
    expect(items[3]?.Put?.Item).toMatchObject({
      pk: `task#${TASK_ID}`,
      sk: 'actor#bureau_head',
      gsi3pk: 'tasks#bureau_head',
      gsi3sk: `${task.createdAt}#${TASK_ID}`,
    });
    expect(items[4]?.Put?.Item).toMatchObject({
      sk: 'deadline',
      gsi3pk: 'deadlines',
      gsi3sk: `2026-04-10T16:00:00.000Z#${TASK_ID}`,
      deadline: { kind: 'head_decision', state: 'open' },
    });
    expect(items[6]?.Put).toMatchObject({ TableName: 'audit', Item: { action: 'case.task.record' } });
    for (const i of [3, 4, 5, 6]) expect(JSON.stringify(items[i])).not.toContain(TOKEN);
  });

  it('writes no deadline item for a step without one', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const { dueAt: _d, warnAt: _w, ...noDeadline } = task;

    const receipt = { ...noDeadline, step: 'police_receipt', actors: ['police_liaison'] };
    await store.recordTask(receipt, taskOpened(receipt));

    expect(transactItems().some((i) => i.Put?.Item?.sk === 'deadline')).toBe(false);
  });

  it('is idempotent: a retry whose task or token is already stored changes nothing and does not fail', async () => {
    for (const at of [1, 2]) {
      ddb.reset();
      const reasons = Array.from({ length: 7 }, (_, i) => ({ Code: i === at ? 'ConditionalCheckFailed' : 'None' }));
      ddb.on(TransactWriteCommand).rejects(cancelled(reasons));
      await expect(store.recordTask(task, taskOpened(task))).resolves.toBeUndefined();
    }
  });

  it('refuses a task for an unknown case with 404', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }]));

    await expect(store.recordTask(task, taskOpened(task))).rejects.toMatchObject({ status: 404 });
  });

  it('lists the open tasks of a role with one gsi3 query', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ task: { taskId: TASK_ID } }], LastEvaluatedKey: { pk: 'x' } });

    const page = await store.openTasksFor('bureau_head', { limit: 10 });

    expect(page.cursor).toBeDefined();
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi3',
      KeyConditionExpression: 'gsi3pk = :p',
      ExpressionAttributeValues: { ':p': 'tasks#bureau_head' },
      Limit: 10,
    });
  });

  it('reads the teams of case-team tasks with one projected BatchGetItem, retrying unprocessed keys', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { cases: [{ case: { caseId: CASE_ID, handlers: ['u-handler-01', 'u-handler-02'] } }] },
        UnprocessedKeys: { cases: { Keys: [caseKeys.case(OTHER_CASE)] } },
      })
      .resolves({ Responses: { cases: [{ case: { caseId: OTHER_CASE, handlers: ['u-handler-07'] } }] } });

    const teams = await store.teamsOf([CASE_ID, OTHER_CASE, CASE_ID]);

    expect(teams.get(CASE_ID)).toEqual(['u-handler-01', 'u-handler-02']);
    expect(teams.get(OTHER_CASE)).toEqual(['u-handler-07']);
    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        cases: {
          Keys: [caseKeys.case(CASE_ID), caseKeys.case(OTHER_CASE)],
          ProjectionExpression: '#case.caseId, #case.handlers',
          ExpressionAttributeNames: { '#case': 'case' },
        },
      },
    });
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 2);
  });

  const open: WorkflowTask = { ...task, state: 'open' };
  const complete = (outcome: { action: string; comment?: string; by: string }) => {
    const clean = cleanOutcome(outcome);
    return store.completeTask(open, clean, {
      entry: taskDoneEntry(open, clean),
      actor: outcome.by,
      at: '2026-04-08T01:00:00.000Z',
    });
  };

  it('completes an open task: state on condition, index items removed, event and audit in one transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const done = await complete({ action: 'approve', comment: ' 同意移送 ', by: 'u-head-01' });

    expect(done).toMatchObject({
      state: 'done',
      completedAt: '2026-04-08T01:00:00.000Z',
      outcome: { action: 'approve', comment: '同意移送', by: 'u-head-01' },
    });
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    const items = transactItems();
    expect(items[0]?.Update).toMatchObject({
      Key: { pk: `task#${TASK_ID}`, sk: '#' },
      ConditionExpression: '#state = :open',
      ExpressionAttributeValues: { ':s': 'done', ':open': 'open' },
    });
    expect(items[1]?.Delete?.Key).toEqual({ pk: `task#${TASK_ID}`, sk: 'actor#bureau_head' });
    expect(items[2]?.Delete?.Key).toEqual({ pk: `task#${TASK_ID}`, sk: 'deadline' });
    // the timeline reads in Chinese: the step and the action's label, with the comment
    expect(items[3]?.Put?.Item).toMatchObject({
      entry: {
        type: 'transfer_step',
        by: 'u-head-01',
        at: '2026-04-08T01:00:00.000Z',
        note: '负责人审批：批准移送（同意移送）',
      },
    });
    expect(items[4]?.Put).toMatchObject({
      TableName: 'audit',
      Item: { action: 'case.task.complete', detail: { action: 'approve' } },
    });
    expect(JSON.stringify(items)).not.toContain(TOKEN);
  });

  it('answers 409 for a task completed by someone else meanwhile', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'ConditionalCheckFailed' }]));
    await expect(complete({ action: 'approve', by: 'u-head-01' })).rejects.toMatchObject({ status: 409 });
  });

  it('lapses an open task: out of the open list, its deadline kept as lapsed; one done meanwhile is left alone', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    expect(await store.lapseTask(open, { entry: taskLapsedEntry(open), at: NOW.toISOString() })).toBe(true);

    const items = transactItems();
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':s': 'lapsed' });
    expect(items[1]?.Delete?.Key).toEqual({ pk: `task#${TASK_ID}`, sk: 'actor#bureau_head' });
    expect(items[2]?.Update).toMatchObject({
      Key: { pk: `task#${TASK_ID}`, sk: 'deadline' },
      UpdateExpression: 'SET deadline.#state = :l',
    });
    expect(items[3]?.Put?.Item).toMatchObject({ entry: { by: 'system', note: '负责人审批：已超期，升级处理' } });

    ddb.reset();
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'ConditionalCheckFailed' }]));
    await expect(store.lapseTask(open, { entry: taskLapsedEntry(open), at: NOW.toISOString() })).resolves.toBe(false);
  });

  describe('a follow-up task (no token: the periodic follow-up keeps the criminal proceedings)', () => {
    const { token: _none, warnAt: _noWarning, ...rest } = task;
    const followUp: Omit<WorkflowTask, 'state'> = {
      ...rest,
      step: 'criminal_proceedings',
      actors: ['police_liaison', 'procuratorate_liaison'],
      dueAt: '2026-06-06T16:00:00.000Z',
    };
    const NEXT_ID = '01JQ8A2B3C4D5E6F7G8H9JNEXT';
    const next = {
      ...followUp,
      taskId: NEXT_ID,
      createdAt: '2026-06-07T01:00:00.000Z',
      dueAt: '2026-08-06T16:00:00.000Z',
    };
    const nextItems = (items: ReturnType<typeof transactItems>) =>
      items.filter((i) => JSON.stringify(i).includes(NEXT_ID));

    it('records it without a token item; a retry is still a no-op, another failure is not', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      await store.recordTask(followUp, taskOpened(followUp));
      const items = transactItems();
      expect(items[1]?.Put?.Item).toMatchObject({ pk: `task#${TASK_ID}`, state: 'open' });
      expect(items[1]?.Put?.Item).not.toHaveProperty('token');
      expect(items.some((i) => String(i.Put?.Item?.pk).startsWith('tasktoken#'))).toBe(false);
      expect(items[2]?.Put?.Item).toMatchObject({ sk: 'actor#police_liaison' });

      ddb.reset();
      ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }]));
      await expect(store.recordTask(followUp, taskOpened(followUp))).resolves.toBeUndefined();
      ddb.reset();
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled([{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }]));
      await expect(store.recordTask(followUp, taskOpened(followUp))).rejects.toBeDefined();
    });

    it('completes it with the next period’s task in the same transaction', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const outcome = { action: 'record_detention', by: 'u-police-01' };
      await store.completeTask(
        { ...followUp, state: 'open' },
        outcome,
        { entry: taskDoneEntry(followUp, outcome), actor: 'u-police-01', at: '2026-06-07T01:00:00.000Z' },
        undefined,
        { task: next, opened: taskOpened(next) },
      );
      const items = transactItems();
      expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':s': 'done' });
      const added = nextItems(items);
      expect(added[0]?.Put).toMatchObject({
        Item: { pk: `task#${NEXT_ID}`, state: 'open' },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(added.map((i) => i.Put?.Item?.sk)).toEqual(
        expect.arrayContaining(['actor#police_liaison', 'actor#procuratorate_liaison', 'deadline']),
      );
    });

    it('lapses it with its successor in the same transaction, and writes neither when it was closed meanwhile', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const lapsed = { ...followUp, state: 'open' as const };
      const entry = taskLapsedEntry(lapsed);
      expect(
        await store.lapseTask(
          lapsed,
          { entry, at: '2026-06-07T01:00:00.000Z' },
          { task: next, opened: taskOpened(next) },
        ),
      ).toBe(true);
      const items = transactItems();
      expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':s': 'lapsed' });
      expect(nextItems(items)[0]?.Put?.Item).toMatchObject({ pk: `task#${NEXT_ID}` });

      ddb.reset();
      ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'ConditionalCheckFailed' }]));
      expect(
        await store.lapseTask(
          lapsed,
          { entry, at: '2026-06-07T01:00:00.000Z' },
          { task: next, opened: taskOpened(next) },
        ),
      ).toBe(false);
    });

    it('reads it back without a token', async () => {
      ddb.on(GetCommand).resolves({
        Item: { ...caseKeys.task(TASK_ID), kind: 'task', state: 'open', task: { ...followUp, state: 'open' } },
      });
      const read = await store.getTask(TASK_ID);
      expect(read).toMatchObject({ taskId: TASK_ID, state: 'open', step: 'criminal_proceedings' });
      expect(read).not.toHaveProperty('token');
    });
  });

  it('reads a task with its token, consistently', async () => {
    ddb.on(GetCommand).resolves({ Item: storedTask('done') });
    expect(await store.getTask(TASK_ID)).toMatchObject({ taskId: TASK_ID, state: 'done', token: TOKEN });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { pk: `task#${TASK_ID}`, sk: '#' },
      ConsistentRead: true,
    });
  });

  it('lists deadlines due in a range with one inclusive gsi3 range query', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ deadline: { taskId: TASK_ID, dueAt: task.dueAt } }] });

    const page = await store.deadlinesDue('2026-04-06T16:00:00.000Z', '2026-04-13T16:00:00.000Z', { limit: 50 });

    expect(page.items).toHaveLength(1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi3',
      KeyConditionExpression: 'gsi3pk = :p AND gsi3sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':p': 'deadlines',
        ':from': '2026-04-06T16:00:00.000Z#',
        ':to': '2026-04-13T16:00:00.000Z#~',
      },
    });
  });
});

describe('deadline warnings', () => {
  it('finds the open, unwarned deadlines past their warning time among those due within a day: one index query', async () => {
    const view = { taskId: TASK_ID, caseId: CASE_ID, workflow: 'transfer', step: 'head_decision', dueAt: 'x' };
    ddb.on(QueryCommand).resolves({ Items: [{ deadline: view }] });

    expect(await store.deadlineWarningsDue(NOW, new Date(NOW.getTime() + 86_400_000), 50)).toEqual([view]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi3',
      KeyConditionExpression: 'gsi3pk = :p AND gsi3sk BETWEEN :from AND :to',
      FilterExpression: 'attribute_not_exists(warnedAt) AND deadline.#state = :open AND deadline.warnAt <= :now',
      ExpressionAttributeValues: {
        ':p': 'deadlines',
        ':from': '2026-04-07T02:00:00.000Z#',
        ':to': '2026-04-08T02:00:00.000Z#~',
        ':open': 'open',
        ':now': '2026-04-07T02:00:00.000Z',
      },
    });
  });

  it('claims a warning once, on the condition that the deadline is open and unwarned, and gives it back', async () => {
    ddb
      .on(UpdateCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'conditional request failed', $metadata: {} }))
      .resolves({});
    expect(await store.claimDeadlineWarning(TASK_ID, NOW.toISOString())).toBe(true);
    expect(await store.claimDeadlineWarning(TASK_ID, NOW.toISOString())).toBe(false);
    await store.releaseDeadlineWarning(TASK_ID);
    const calls = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({
      Key: { pk: `task#${TASK_ID}`, sk: 'deadline' },
      UpdateExpression: 'SET warnedAt = :at',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(warnedAt) AND deadline.#state = :open',
    });
    expect(calls[2]).toMatchObject({ UpdateExpression: 'REMOVE warnedAt' });
  });
});
