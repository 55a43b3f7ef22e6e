import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  ExecutionAlreadyExists,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { caseIndexKeys, caseKeys, type WorkflowTask } from '#shared/adapters/cases-store.ts';
import { casesRoutes } from '#shared/contracts/cases.ts';
import type { Case, DecisionBody } from '#shared/domain/cases/model.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import type { Tip } from '#shared/domain/tips/model.ts';
import { buildOpenApi } from '#shared/http/openapi.ts';
import {
  bodyOf,
  type HttpEvent,
  type HttpResult,
  lambdaContext,
  type RouteEventOptions,
  routeEvent,
  withoutClaims,
} from '../helpers/events.ts';

expect.extend(allCustomMatcher);

// the handler's module-level clients are mocked through their class prototypes
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
let handler: (event: HttpEvent, context: typeof lambdaContext) => Promise<HttpResult>;

const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';
const TIP_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2T1';
const ALARM_ID = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const TASK_ID = '01JQ8A2B3C4D5E6F7G8H9JTASC';
const EVIDENCE_ID = '01JQ7Z9E5V1D2E3N4C5E6A7B8C';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token';
const REWARD_ARN = 'arn:aws:states:cn-northwest-1:123456789012:stateMachine:envwatch-reward';
const TRANSFER_ARN = 'arn:aws:states:cn-northwest-1:123456789012:stateMachine:envwatch-transfer';

const SUBS: Record<string, string> = {
  handler: 'u-handler-01',
  section_chief: 'u-chief-01',
  bureau_head: 'u-head-01',
  reward_post: 'u-reward-01',
  police_liaison: 'u-police-01',
  inspector: 'u-inspector-01',
};

const tip: Tip = {
  id: TIP_ID,
  channel: 'web',
  category: 'water',
  description: '污水处理厂排口下游松源溪水体发黑发臭',
  location: { townshipId: 'mengzhou', address: '濛洲街道松源溪污水处理厂排口下游' },
  observedAt: '2026-03-28T23:30:00.000Z',
  suspectedUnit: { kind: 'registered', enterpriseId: WWTP },
  reporterKind: 'real_name',
  insider: false,
  commendationConsent: true,
  evidence: [],
  status: 'substantiated',
  finding: 'substantiated',
  receivedAt: '2026-03-29T00:10:00.000Z',
  updatedAt: '2026-03-31T06:00:00.000Z',
};

const baseCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE_ID,
  enterpriseId: WWTP,
  unitName: '庆元县示例城镇污水处理有限公司',
  townshipId: 'mengzhou',
  title: '污水处理厂尾水化学需氧量超标排放',
  sources: [{ kind: 'tip', id: TIP_ID, addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-handler-01' }],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'investigating',
  evidence: [
    {
      type: 'object',
      id: EVIDENCE_ID,
      kind: 'inspection_record',
      key: `cases/${CASE_ID}/inspection.pdf`,
      sha256: 'b'.repeat(64),
      addedAt: '2026-04-02T01:00:00.000Z',
      addedBy: 'u-handler-01',
    },
  ],
  openedAt: '2026-04-01T01:00:00.000Z',
  openedBy: 'u-handler-01',
  updatedAt: '2026-04-02T01:00:00.000Z',
  version: 3,
  ...over,
});
const storedCase = (c: Case) => ({
  ...caseKeys.case(c.caseId),
  ...caseIndexKeys(c),
  kind: 'case',
  case: c,
  version: c.version,
});
const caseGet = (c: Case | undefined) =>
  ddb
    .on(GetCommand, { TableName: 'cases-test', Key: caseKeys.case(CASE_ID) })
    .resolves(c ? { Item: storedCase(c) } : {});

const task = (over: Partial<WorkflowTask> = {}): WorkflowTask => ({
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
  state: 'open',
  ...over,
});
const taskGet = (t: WorkflowTask | undefined) => {
  if (!t) return ddb.on(GetCommand, { Key: caseKeys.task(TASK_ID) }).resolves({});
  const { token, ...view } = t;
  return ddb
    .on(GetCommand, { Key: caseKeys.task(TASK_ID) })
    .resolves({ Item: { ...caseKeys.task(TASK_ID), kind: 'task', state: t.state, task: view, token } });
};

const penalty: DecisionBody = {
  type: 'administrative_penalty',
  decisionNumber: '庆环罚〔2026〕8号',
  decidedOn: '2026-04-07',
  legalBasis: '《水污染防治法》第八十三条第二项',
  fineFen: 12_000_000,
  items: [{ kind: 'fine' }, { kind: 'order_to_correct' }],
};

function request(
  method: string,
  path: string,
  opts: Omit<RouteEventOptions, 'claims'> & { role?: string; sub?: string } = {},
): HttpEvent {
  const role = opts.role ?? 'handler';
  return routeEvent(method, path, {
    ...opts,
    claims: { sub: opts.sub ?? SUBS[role] ?? `u-${role}`, roles: `[${role}]` },
  });
}

const onCase = { pathParameters: { caseId: CASE_ID } };
const onTask = { pathParameters: { taskId: TASK_ID } };
const transactItems = (n = 0) => ddb.commandCalls(TransactWriteCommand)[n]?.args[0].input.TransactItems ?? [];
const errorsOf = (res: HttpResult) =>
  (bodyOf(res).errors ?? []) as { field: string; message: string; messageZh?: string }[];

describe('cases-api handler', () => {
  beforeAll(async () => {
    vi.stubEnv('CASES_TABLE', 'cases-test');
    vi.stubEnv('AUDIT_TABLE', 'audit-test');
    vi.stubEnv('TIPS_TABLE', 'tips-test');
    vi.stubEnv('ALARMS_TABLE', 'alarms-test');
    vi.stubEnv('REGISTRY_TABLE', 'registry-test');
    vi.stubEnv('REWARD_STATE_MACHINE_ARN', REWARD_ARN);
    vi.stubEnv('TRANSFER_STATE_MACHINE_ARN', TRANSFER_ARN);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('LOG_LEVEL', 'error');
    ({ handler } = (await import('#functions/cases-api/handler.ts')) as unknown as {
      handler: typeof handler;
    });
  });

  afterAll(() => {
    vi.unstubAllEnvs();
    ddb.restore();
    sfn.restore();
  });

  beforeEach(() => {
    ddb.reset();
    sfn.reset();
    ddb.on(TransactWriteCommand).resolves({});
  });

  afterEach(() => {
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('publishes every route in the OpenAPI document', () => {
    const doc = buildOpenApi([casesRoutes], { title: 't', version: '0' });
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/cases',
      '/cases/{caseId}',
      '/cases/{caseId}/decision',
      '/cases/{caseId}/evidence',
      '/cases/{caseId}/handlers',
      '/cases/{caseId}/sources',
      '/cases/{caseId}/tasks',
      '/cases/{caseId}/timeline',
      '/deadlines',
      '/tasks',
      '/tasks/{taskId}/act',
    ]);
  });

  describe('who may call', () => {
    it('answers 401 without a token', async () => {
      const res = await handler(withoutClaims(request('GET', '/cases')), lambdaContext);

      expect(res.statusCode).toBe(401);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });

    it('answers 403 to roles outside each route', async () => {
      const list = await handler(request('GET', '/cases', { role: 'reward_post' }), lambdaContext);
      const open = await handler(request('POST', '/cases', { role: 'inspector', body: {} }), lambdaContext);
      const decide = await handler(
        request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'handler', body: { decision: penalty } }),
        lambdaContext,
      );
      const team = await handler(
        request('POST', '/cases/{caseId}/handlers', {
          ...onCase,
          role: 'handler',
          body: { handlers: ['u-handler-01', 'u-handler-02'] },
        }),
        lambdaContext,
      );

      expect([list.statusCode, open.statusCode, decide.statusCode, team.statusCode]).toEqual([403, 403, 403, 403]);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('lets a police liaison read a suspected-crime case but not a penalty case', async () => {
      const crime = baseCase({
        status: 'decided',
        decision: {
          type: 'suspected_crime',
          proposedItems: [{ item: 'item2', reference: '法释〔2023〕7号 第一条第（二）项' }],
          confirmedItems: [
            {
              item: 'item2',
              facts: '非法处置废矿物油3.4吨',
              confirmedBy: 'u-head-01',
              confirmedAt: '2026-04-07T02:00:00Z',
            },
          ],
          decidedBy: 'u-head-01',
          decidedAt: '2026-04-07T02:00:00Z',
        },
      });
      caseGet(crime);
      const allowed = await handler(
        request('GET', '/cases/{caseId}', { ...onCase, role: 'police_liaison' }),
        lambdaContext,
      );
      ddb.reset();
      caseGet(baseCase());
      const refused = await handler(
        request('GET', '/cases/{caseId}', { ...onCase, role: 'police_liaison' }),
        lambdaContext,
      );

      expect(allowed.statusCode).toBe(200);
      expect(refused.statusCode).toBe(403);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('keeps a handler who is not on the case team from adding evidence', async () => {
      caseGet(baseCase());

      const res = await handler(
        request('POST', '/cases/{caseId}/evidence', {
          ...onCase,
          role: 'handler',
          sub: 'u-handler-09',
          body: { type: 'object', kind: 'photo', key: 'cases/x/photo.jpg', sha256: 'c'.repeat(64) },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(403);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });

  describe('cases', () => {
    const openBody = {
      title: '污水处理厂尾水化学需氧量超标排放',
      enterpriseId: WWTP,
      unitName: '庆元县示例城镇污水处理有限公司',
      townshipId: 'mengzhou',
      sources: [
        { kind: 'tip', id: TIP_ID },
        { kind: 'alarm', id: ALARM_ID },
      ],
      handlers: ['u-handler-01', 'u-handler-02'],
    };
    const sources = (t: Tip = tip) => {
      ddb
        .on(GetCommand, { TableName: 'tips-test' })
        .resolves({ Item: { pk: `tip#${TIP_ID}`, sk: '#', kind: 'tip', tip: t } });
      ddb.on(GetCommand, { TableName: 'alarms-test' }).resolves({
        Item: { pk: `alarm#${ALARM_ID}`, sk: 'alarm', kind: 'alarm', alarmId: ALARM_ID, enterpriseId: WWTP },
      });
      ddb.on(QueryCommand).resolves({ Items: [] });
    };

    it('opens a case from a substantiated tip and an alarm of the same unit (201, ETag), copying no tip content', async () => {
      sources();

      const res = await handler(request('POST', '/cases', { role: 'section_chief', body: openBody }), lambdaContext);

      expect(res.statusCode).toBe(201);
      expect(res.headers?.etag).toBe('"1"');
      expect(bodyOf(res)).toMatchObject({ status: 'investigating', statusZh: '调查中', version: 1 });
      const written = JSON.stringify(transactItems());
      expect(written).not.toContain(tip.description);
      expect(written).not.toContain(tip.location.address);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi2',
        ExpressionAttributeValues: { ':pk': `unit#${WWTP}`, ':open': 'open#' },
      });
    });

    it('answers 409 when the unit already has a case under way (attach there instead)', async () => {
      sources();
      ddb.on(QueryCommand).resolves({ Items: [storedCase(baseCase({ caseId: '01JQ7Z3K9M2V4X6Y8A0B1C2D9Z' }))] });

      const res = await handler(request('POST', '/cases', { role: 'section_chief', body: openBody }), lambdaContext);

      expect(res.statusCode).toBe(409);
      expect(String(bodyOf(res).detail)).toContain('01JQ7Z3K9M2V4X6Y8A0B1C2D9Z');
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 409 for a tip not yet found true, and 400 for a source of another unit', async () => {
      sources({ ...tip, status: 'verifying' });
      const unverified = await handler(
        request('POST', '/cases', { role: 'section_chief', body: openBody }),
        lambdaContext,
      );
      ddb.reset();
      sources({ ...tip, suspectedUnit: { kind: 'registered', enterpriseId: '91331126MA2BG4R36X' } });
      const otherUnit = await handler(
        request('POST', '/cases', {
          role: 'section_chief',
          body: { ...openBody, sources: [{ kind: 'tip', id: TIP_ID }] },
        }),
        lambdaContext,
      );

      expect(unverified.statusCode).toBe(409);
      expect(otherUnit.statusCode).toBe(400);
      expect(errorsOf(otherUnit)[0]).toMatchObject({
        field: 'body.sources.0.id',
        messageZh: '来源所涉单位与案件当事人不一致',
      });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 400 with Chinese messages for a case without sources or a team of one', async () => {
      const open = await handler(
        request('POST', '/cases', { role: 'section_chief', body: { ...openBody, sources: [] } }),
        lambdaContext,
      );
      const team = await handler(
        request('POST', '/cases/{caseId}/handlers', {
          ...onCase,
          role: 'section_chief',
          body: { handlers: ['u-handler-01'] },
        }),
        lambdaContext,
      );

      expect(open.statusCode).toBe(400);
      expect(errorsOf(open)[0]).toMatchObject({ field: 'body.sources', messageZh: expect.any(String) });
      expect(errorsOf(open)[0]?.message).toContain('至少关联一个来源');
      expect(team.statusCode).toBe(400);
      expect(errorsOf(team)[0]).toMatchObject({ field: 'body.handlers', messageZh: expect.any(String) });
      expect(errorsOf(team)[0]?.message).toContain('两名以上');
    });

    it('answers 404 for an unknown case', async () => {
      caseGet(undefined);

      const res = await handler(request('GET', '/cases/{caseId}', { ...onCase, role: 'section_chief' }), lambdaContext);

      expect(res.statusCode).toBe(404);
    });

    it('reads a case with its ETag and audits the read', async () => {
      caseGet(baseCase());

      const res = await handler(request('GET', '/cases/{caseId}', { ...onCase, role: 'section_chief' }), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"3"');
      expect(transactItems()[1]?.Put).toMatchObject({
        TableName: 'audit-test',
        Item: { actor: 'u-chief-01', action: 'case.read' },
      });
    });

    it('answers 412 for a change sent with a stale If-Match', async () => {
      caseGet(baseCase());
      ddb.on(GetCommand, { TableName: 'alarms-test' }).resolves({
        Item: { kind: 'alarm', alarmId: ALARM_ID, enterpriseId: WWTP },
      });

      const res = await handler(
        request('POST', '/cases/{caseId}/sources', {
          ...onCase,
          role: 'handler',
          body: { kind: 'alarm', id: ALARM_ID },
          headers: { 'if-match': '"2"' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(412);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });

  describe('decisions and workflows', () => {
    it('records a penalty on a case from a tip and starts the reward approval, named per case and round', async () => {
      caseGet(baseCase());
      ddb
        .on(GetCommand, { TableName: 'tips-test' })
        .resolves({ Item: { pk: `tip#${TIP_ID}`, sk: '#', kind: 'tip', tip } });
      sfn.on(StartExecutionCommand).resolves({ executionArn: `${REWARD_ARN}:reward-${CASE_ID}-1` });

      const res = await handler(
        request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'section_chief', body: { decision: penalty } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toMatchObject({
        case: { status: 'decided' },
        workflows: [{ workflow: 'reward', executionName: `reward-${CASE_ID}-1`, started: true }],
      });
      expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
        stateMachineArn: REWARD_ARN,
        name: `reward-${CASE_ID}-1`,
      });
      const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
      expect(input).toEqual({
        caseId: CASE_ID,
        round: 1,
        tipIds: [TIP_ID],
        trigger: 'administrative_penalty',
        decisionNumber: '庆环罚〔2026〕8号',
        decidedOn: '2026-04-07',
        fineFen: 12_000_000,
        // what the machine's Choice steps read: 5% of CNY 120,000 = CNY 6,000, three approvals, the tip's consent
        reward: {
          lines: [expect.objectContaining({ component: 'penalty', amountFen: 600_000 })],
          totalFen: 600_000,
          approvals: [
            expect.objectContaining({ step: 'handler' }),
            expect.objectContaining({ step: 'section_chief' }),
            expect.objectContaining({ step: 'bureau_head' }),
          ],
        },
        commendationConsent: true,
      });
      // the decision, then the timeline note of the start: each with its audit entry
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    });

    it('starts no reward for a case that did not come from a tip, nor for a penalty without a fine', async () => {
      caseGet(baseCase({ sources: [{ kind: 'alarm', id: ALARM_ID, addedAt: 'x', addedBy: 'y' }] }));
      await handler(
        request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'section_chief', body: { decision: penalty } }),
        lambdaContext,
      );
      ddb.reset();
      ddb.on(TransactWriteCommand).resolves({});
      caseGet(baseCase());
      const warning = { ...penalty, fineFen: 0, items: [{ kind: 'warning' as const }] };
      const res = await handler(
        request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'section_chief', body: { decision: warning } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });

    it('treats a repeated decision as a retry: records nothing, and an existing execution is not started twice', async () => {
      caseGet(
        baseCase({
          status: 'decided',
          version: 4,
          decision: { ...penalty, decidedBy: 'u-chief-01', decidedAt: '2026-04-07T02:00:00.000Z' },
        }),
      );
      ddb
        .on(GetCommand, { TableName: 'tips-test' })
        .resolves({ Item: { pk: `tip#${TIP_ID}`, sk: '#', kind: 'tip', tip } });
      sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

      const res = await handler(
        request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'section_chief', body: { decision: penalty } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res).workflows).toEqual([
        { workflow: 'reward', executionName: `reward-${CASE_ID}-1`, started: false },
      ]);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 409 for a different decision on a decided case', async () => {
      caseGet(baseCase({ status: 'decided', decision: { ...penalty, decidedBy: 'u-chief-01', decidedAt: 'x' } }));

      const res = await handler(
        request('POST', '/cases/{caseId}/decision', {
          ...onCase,
          role: 'section_chief',
          body: { decision: { type: 'no_violation', reason: '经查，排放数据系仪器故障所致' } },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(409);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });

    describe('suspected crime', () => {
      const crime = (item: 'item2' | 'item4', confirmedBy = 'u-head-01') => ({
        decision: {
          type: 'suspected_crime',
          proposedItems: [],
          confirmedItems: [
            { item, facts: '非法处置废矿物油合计3.4吨', confirmedBy, confirmedAt: '2026-04-07T02:00:00Z' },
          ],
        },
        crimeFacts: {
          hazardousWaste: [
            { wasteCode: '900-249-08', quantityKg: 3400, description: '厂区后山倾倒废矿物油', evidenceId: EVIDENCE_ID },
          ],
        },
      });
      const enterprise = () =>
        ddb.on(GetCommand, { TableName: 'registry-test' }).resolves({
          Item: { pk: `enterprises#${WWTP}`, sk: '#', id: WWTP, permitClass: 'key', version: 1 },
        });

      it('takes the platform’s proposal, records the confirmation and starts the judicial transfer', async () => {
        caseGet(baseCase());
        enterprise();
        sfn.on(StartExecutionCommand).resolves({ executionArn: `${TRANSFER_ARN}:transfer-${CASE_ID}-1` });

        const res = await handler(
          request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'bureau_head', body: crime('item2') }),
          lambdaContext,
        );

        expect(res.statusCode).toBe(200);
        const decided = bodyOf(res).case as Case;
        expect(decided.decision).toMatchObject({ proposedItems: [{ item: 'item2' }] });
        expect(decided.proposedCrimeItems).toEqual(['item2']);
        expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
          stateMachineArn: TRANSFER_ARN,
          name: `transfer-${CASE_ID}-1`,
        });
      });

      it('refuses an item the facts do not meet, a confirmation in another’s name, and facts citing no case evidence', async () => {
        caseGet(baseCase());
        enterprise();
        const unmet = await handler(
          request('POST', '/cases/{caseId}/decision', { ...onCase, role: 'bureau_head', body: crime('item4') }),
          lambdaContext,
        );
        const forged = await handler(
          request('POST', '/cases/{caseId}/decision', {
            ...onCase,
            role: 'bureau_head',
            body: crime('item2', 'u-chief-01'),
          }),
          lambdaContext,
        );
        const body = crime('item2');
        const uncited = await handler(
          request('POST', '/cases/{caseId}/decision', {
            ...onCase,
            role: 'bureau_head',
            body: {
              ...body,
              crimeFacts: { hazardousWaste: [{ ...body.crimeFacts.hazardousWaste[0], evidenceId: TIP_ID }] },
            },
          }),
          lambdaContext,
        );

        expect(unmet.statusCode).toBe(400);
        expect(errorsOf(unmet)[0]).toMatchObject({
          field: 'body.decision.confirmedItems.0.item',
          messageZh: '已记录的事实不满足该项入罪标准',
        });
        expect(forged.statusCode).toBe(400);
        expect(errorsOf(forged)[0]?.messageZh).toBe('确认人须为本人');
        expect(uncited.statusCode).toBe(400);
        expect(errorsOf(uncited)[0]?.field).toBe('body.crimeFacts.hazardousWaste.0.evidenceId');
        expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
        expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
      });
    });
  });

  describe('tasks', () => {
    it('lists the open tasks of the caller’s role without tokens, with the actions they may take', async () => {
      const { token: _t, ...view } = task();
      ddb.on(QueryCommand).resolves({ Items: [{ task: view }] });
      caseGet(baseCase());

      const res = await handler(request('GET', '/tasks', { role: 'bureau_head' }), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(TOKEN);
      const items = bodyOf(res).items as { taskId: string; stepZh: string; actions: { action: string }[] }[];
      expect(items[0]).toMatchObject({ taskId: TASK_ID, stepZh: '负责人审批' });
      expect(items[0]?.actions.map((a) => a.action)).toEqual(['approve', 'reject']);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi3',
        ExpressionAttributeValues: { ':p': 'tasks#bureau_head' },
      });
      // a role's tasks come from the index alone
      expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
      expect(ddb).not.toHaveReceivedCommand(GetCommand);
    });

    it('shows a handler the case-team tasks of their own cases only', async () => {
      const mine = { ...task({ step: 'handover', actors: ['case_team'] }), token: undefined };
      const theirs = { ...mine, taskId: '01JQ8A2B3C4D5E6F7G8H9JTASD', caseId: '01JQ7Z3K9M2V4X6Y8A0B1C2D9Z' };
      ddb.on(QueryCommand, { ExpressionAttributeValues: { ':p': 'tasks#handler' } }).resolves({ Items: [] });
      ddb.on(QueryCommand, { ExpressionAttributeValues: { ':p': 'tasks#case_team' } }).resolves({
        Items: [{ task: mine }, { task: theirs }],
      });
      ddb.on(BatchGetCommand).resolves({
        Responses: {
          'cases-test': [
            { case: { caseId: CASE_ID, handlers: ['u-handler-01', 'u-handler-02'] } },
            { case: { caseId: '01JQ7Z3K9M2V4X6Y8A0B1C2D9Z', handlers: ['u-handler-07', 'u-handler-08'] } },
          ],
        },
      });

      const res = await handler(request('GET', '/tasks', { role: 'handler' }), lambdaContext);

      expect((bodyOf(res).items as { taskId: string }[]).map((t) => t.taskId)).toEqual([TASK_ID]);
      expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    });

    it('acts on a task: SendTaskSuccess with {action, comment, by}, then the task is done', async () => {
      taskGet(task());
      caseGet(baseCase());
      sfn.on(SendTaskSuccessCommand).resolves({});

      const res = await handler(
        request('POST', '/tasks/{taskId}/act', {
          ...onTask,
          role: 'bureau_head',
          body: { action: 'approve', comment: '同意移送' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(TOKEN);
      expect(bodyOf(res)).toMatchObject({ state: 'done', outcome: { action: 'approve', by: 'u-head-01' } });
      expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
        taskToken: TOKEN,
        output: JSON.stringify({ action: 'approve', comment: '同意移送', by: 'u-head-01' }),
      });
      expect(transactItems()[0]?.Update).toMatchObject({ ConditionExpression: '#state = :open' });
    });

    describe('reward eligibility needs a reporter the reward post verified through the vault', () => {
      const eligibility = () =>
        task({
          workflow: 'reward',
          executionArn: `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-reward:reward-${CASE_ID}-1`,
          step: 'eligibility',
          actors: ['reward_post'],
          input: { caseId: CASE_ID, tipIds: [TIP_ID] },
        });
      const confirm = () =>
        handler(
          request('POST', '/tasks/{taskId}/act', {
            ...onTask,
            role: 'reward_post',
            body: { action: 'confirm_eligible' },
          }),
          lambdaContext,
        );
      const withTip = (t: Tip, opened: boolean) => {
        taskGet(eligibility());
        caseGet(baseCase());
        ddb.on(GetCommand, { TableName: 'tips-test' }).resolves({ Item: { kind: 'tip', tip: t, version: 4 } });
        ddb.on(QueryCommand, { TableName: 'tips-test' }).resolves({
          Items: opened
            ? [
                {
                  entry: {
                    type: 'identity_access',
                    id: 'E1',
                    at: '2026-04-08T01:00:00.000Z',
                    actor: '奖励岗',
                    role: 'reward_post',
                    reason: '核实身份',
                  },
                },
              ]
            : [],
        });
        sfn.on(SendTaskSuccessCommand).resolves({});
      };

      it('refuses an anonymous reporter who has not claimed (409), sending nothing', async () => {
        withTip({ ...tip, reporterKind: 'anonymous', commendationConsent: false }, false);
        const res = await confirm();
        expect(res.statusCode).toBe(409);
        expect(String(bodyOf(res).detail)).toContain('匿名举报人尚未凭查询码申领奖励');
        expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
        expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
      });

      it('asks the post to open a known identity first, naming the tip', async () => {
        withTip(tip, false);
        const res = await confirm();
        expect(res.statusCode).toBe(409);
        expect(String(bodyOf(res).detail)).toContain(`/identity/open with a reason, logged; tips ${TIP_ID}`);
        expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
      });

      it("counts a duplicate merged into the round's tip: its claimed, opened identity verifies the reporter", async () => {
        const DUP = '01JNZ3Q8X7K2M4V6W8Y0A1B2T2';
        withTip({ ...tip, reporterKind: 'anonymous', mergedTips: [DUP] }, false);
        const dup: Tip = { ...tip, id: DUP, reporterKind: 'anonymous', rewardClaimedAt: '2026-04-08T00:00:00.000Z' };
        ddb.on(GetCommand, { TableName: 'tips-test', Key: { pk: `tip#${DUP}`, sk: '#' } }).resolves({
          Item: { kind: 'tip', tip: dup, version: 2 },
        });
        ddb
          .on(QueryCommand, {
            TableName: 'tips-test',
            ExpressionAttributeValues: { ':pk': `tip#${DUP}`, ':e': 'entry#' },
          })
          .resolves({
            Items: [
              {
                entry: {
                  type: 'identity_access',
                  id: 'E2',
                  at: '2026-04-08T02:00:00.000Z',
                  actor: '奖励岗',
                  role: 'reward_post',
                  reason: '核实',
                },
              },
            ],
          });
        expect((await confirm()).statusCode).toBe(200);
        expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
      });

      it('lets the post confirm once a claimed identity was opened, and always lets it refuse', async () => {
        withTip({ ...tip, reporterKind: 'anonymous', rewardClaimedAt: '2026-04-08T00:00:00.000Z' }, true);
        expect((await confirm()).statusCode).toBe(200);
        expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);

        ddb.reset();
        sfn.reset();
        withTip({ ...tip, reporterKind: 'anonymous' }, false);
        const refused = await handler(
          request('POST', '/tasks/{taskId}/act', {
            ...onTask,
            role: 'reward_post',
            body: { action: 'ineligible', comment: '举报人逾期未申领' },
          }),
          lambdaContext,
        );
        expect(refused.statusCode).toBe(200);
        expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
      });
    });

    it('refuses the wrong role with 403 and changes nothing', async () => {
      taskGet(task());
      caseGet(baseCase());

      const res = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'section_chief', body: { action: 'approve' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(403);
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('refuses a rejection without reasons (400, in Chinese) and an unknown action (400)', async () => {
      taskGet(task());
      caseGet(baseCase());

      const bare = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'bureau_head', body: { action: 'reject' } }),
        lambdaContext,
      );
      const unknown = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'bureau_head', body: { action: 'file' } }),
        lambdaContext,
      );

      expect(bare.statusCode).toBe(400);
      expect(errorsOf(bare)[0]).toMatchObject({ field: 'body.comment', messageZh: '请填写理由' });
      expect(unknown.statusCode).toBe(400);
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });

    it('answers 409 for a task already done, and 404 for an unknown one', async () => {
      taskGet(task({ state: 'done' }));
      const done = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'bureau_head', body: { action: 'approve' } }),
        lambdaContext,
      );
      ddb.reset();
      taskGet(undefined);
      const unknown = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'bureau_head', body: { action: 'approve' } }),
        lambdaContext,
      );

      expect(done.statusCode).toBe(409);
      expect(unknown.statusCode).toBe(404);
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });

    it('answers 409 and changes nothing when Step Functions no longer waits for the token', async () => {
      taskGet(task());
      caseGet(baseCase());
      sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

      const res = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'bureau_head', body: { action: 'approve' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(409);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 409 when someone else completed the task between the token hand-over and the write', async () => {
      taskGet(task());
      caseGet(baseCase());
      sfn.on(SendTaskSuccessCommand).resolves({});
      ddb.on(TransactWriteCommand).rejects(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
        }),
      );

      const res = await handler(
        request('POST', '/tasks/{taskId}/act', { ...onTask, role: 'bureau_head', body: { action: 'approve' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(409);
    });
  });

  describe('reward rounds and the ledger', () => {
    const REWARD_EXEC = (round: number) =>
      `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-reward:reward-${CASE_ID}-${round}`;
    const paymentTask = (round: number, over: Partial<WorkflowTask> = {}) =>
      task({ workflow: 'reward', executionArn: REWARD_EXEC(round), step: 'payment', actors: ['reward_post'], ...over });
    const outcomeTask = (over: Partial<WorkflowTask> = {}) =>
      task({ step: 'criminal_proceedings', actors: ['police_liaison', 'procuratorate_liaison'], ...over });
    const penalised = baseCase({
      status: 'decided',
      decision: { ...penalty, decidedBy: 'u-chief-01', decidedAt: '2026-04-07T02:00:00.000Z' } as Case['decision'],
    });
    const roundItem = (round: number, lines: { component: string; amountFen: number; labelZh: string }[]) => ({
      ...caseKeys.case(CASE_ID),
      sk: `reward#round#${String(round).padStart(4, '0')}`,
      kind: 'reward_round',
      record: { round, lines: lines.map((l) => ({ ...l, basis: 'test' })), startedAt: '2026-05-01T00:00:00.000Z' },
    });
    const grantedItem = (component: string, amountFen: number, round: number) => ({
      ...caseKeys.case(CASE_ID),
      sk: `reward#granted#${component}`,
      kind: 'reward_granted',
      record: { component, amountFen, round, grantedAt: '2026-05-20T00:00:00.000Z' },
    });
    const ledger = (items: Record<string, unknown>[]) => {
      ddb
        .on(GetCommand, { TableName: 'tips-test' })
        .resolves({ Item: { pk: `tip#${TIP_ID}`, sk: '#', kind: 'tip', tip } });
      return ddb.on(QueryCommand).resolves({ Items: items });
    };
    const putsOf = (items: ReturnType<typeof transactItems>) =>
      items.flatMap((i) => (i.Put ? [i.Put as { Item: Record<string, unknown>; ConditionExpression?: string }] : []));
    const act = (role: string, action: string, comment?: string) =>
      handler(
        request('POST', '/tasks/{taskId}/act', {
          ...onTask,
          role,
          body: { action, ...(comment ? { comment } : {}) },
        }),
        lambdaContext,
      );

    it('records round 1’s penalty as granted with the payment, in the task’s own transaction, each item only if absent', async () => {
      taskGet(paymentTask(1));
      caseGet(penalised);
      ledger([]);
      sfn.on(SendTaskSuccessCommand).resolves({});

      const res = await act('reward_post', 'paid', '庆环奖付〔2026〕3号，2026-05-20转账');

      expect(res.statusCode).toBe(200);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      const items = transactItems(0);
      expect(items[0]?.Update).toMatchObject({ ConditionExpression: '#state = :open' });
      const ledgerPuts = putsOf(items).filter((p) => String(p.Item.sk).startsWith('reward#'));
      expect(ledgerPuts.map((p) => p.Item.sk)).toEqual(['reward#paid#0001', 'reward#granted#penalty']);
      expect(ledgerPuts.every((p) => p.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
      // 5 % of CNY 120,000 = CNY 6,000
      expect(ledgerPuts[1]?.Item.record).toMatchObject({ component: 'penalty', amountFen: 600_000, round: 1 });
      expect(items.some((i) => i.Put?.Item?.action === 'case.reward.granted')).toBe(true);
    });

    it('records nothing twice: a retried payment is refused (409) and writes no ledger', async () => {
      taskGet(paymentTask(1, { state: 'done' }));
      caseGet(penalised);
      ledger([]);

      const res = await act('reward_post', 'paid', '庆环奖付〔2026〕3号');

      expect(res.statusCode).toBe(409);
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 409 when a component of the round was paid before, naming it', async () => {
      taskGet(paymentTask(1));
      caseGet(penalised);
      ledger([]);
      sfn.on(SendTaskSuccessCommand).resolves({});
      // task update ok, index deletes (actor + deadline) ok, event ok, audit ok, paid marker ok, penalty granted already
      ddb.on(TransactWriteCommand).rejects(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [
            { Code: 'None' },
            { Code: 'None' },
            { Code: 'None' },
            { Code: 'None' },
            { Code: 'None' },
            { Code: 'None' },
            { Code: 'ConditionalCheckFailed' },
          ],
        }),
      );

      const res = await act('reward_post', 'paid', '庆环奖付〔2026〕3号');

      expect(res.statusCode).toBe(409);
      expect(res.body).toContain('不得重复发放');
    });

    it('pays a later round only its own lines, from the ledger', async () => {
      taskGet(paymentTask(2));
      caseGet(baseCase());
      ledger([
        roundItem(2, [{ component: 'conviction', amountFen: 1_000_000, labelZh: '判决有罪奖励' }]),
        grantedItem('penalty', 600_000, 1),
      ]);
      sfn.on(SendTaskSuccessCommand).resolves({});

      const res = await act('reward_post', 'paid', '庆环奖付〔2026〕9号');

      expect(res.statusCode).toBe(200);
      const granted = putsOf(transactItems(0)).filter((p) => String(p.Item.sk).startsWith('reward#granted#'));
      expect(granted.map((p) => p.Item.record)).toEqual([
        expect.objectContaining({ component: 'conviction', amountFen: 1_000_000, round: 2 }),
      ]);
    });

    it('refuses (409) a payment whose round has no recorded lines, before handing the token over', async () => {
      taskGet(paymentTask(3));
      caseGet(baseCase());
      ledger([]);

      const res = await act('reward_post', 'paid', '庆环奖付〔2026〕9号');

      expect(res.statusCode).toBe(409);
      expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    });

    it('starts round 2 with only the conviction (CNY 10,000) after a paid penalty', async () => {
      taskGet(outcomeTask());
      caseGet(baseCase({ status: 'transferred' }));
      ledger([grantedItem('penalty', 600_000, 1)]);
      sfn.on(SendTaskSuccessCommand).resolves({});
      sfn.on(StartExecutionCommand).resolves({ executionArn: REWARD_EXEC(2), startDate: new Date() });

      const res = await act('police_liaison', 'record_conviction', '庆元县人民法院（2026）浙1126刑初45号判决');

      expect(res.statusCode).toBe(200);
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
      const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
      expect(start?.name).toBe(`reward-${CASE_ID}-2`);
      expect(start?.stateMachineArn).toBe(REWARD_ARN);
      const input = JSON.parse(start?.input ?? '{}');
      expect(input).toMatchObject({
        caseId: CASE_ID,
        round: 2,
        tipIds: [TIP_ID],
        trigger: 'conviction',
        commendationConsent: true,
      });
      expect(input.reward.totalFen).toBe(1_000_000);
      expect(input.reward.lines.map((l: { component: string }) => l.component)).toEqual(['conviction']);
      expect(input.reward.approvals.map((a: { step: string }) => a.step)).toEqual([
        'handler',
        'section_chief',
        'bureau_head',
      ]);
      // the round is claimed before it starts: round item and the component's claim, each only if absent
      const claim = putsOf(transactItems(1)).filter((p) => String(p.Item.sk).startsWith('reward#'));
      expect(claim.map((p) => p.Item.sk)).toEqual(['reward#round#0002', 'reward#claim#conviction']);
      expect(claim.every((p) => p.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
    });

    it('puts a conviction after a detention still under approval into round 3, without the detention', async () => {
      taskGet(outcomeTask());
      caseGet(baseCase({ status: 'transferred' }));
      ledger([roundItem(2, [{ component: 'detention', amountFen: 500_000, labelZh: '行政拘留奖励' }])]);
      sfn.on(SendTaskSuccessCommand).resolves({});
      sfn.on(StartExecutionCommand).resolves({ executionArn: REWARD_EXEC(3), startDate: new Date() });

      const res = await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');

      expect(res.statusCode).toBe(200);
      const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
      expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe(`reward-${CASE_ID}-3`);
      expect(input.reward).toMatchObject({
        totalFen: 1_000_000,
        lines: [expect.objectContaining({ component: 'conviction' })],
      });
    });

    it('starts nothing new for a conviction some round already pays, nor when the claim loses a race', async () => {
      taskGet(outcomeTask());
      caseGet(baseCase({ status: 'transferred' }));
      ledger([roundItem(2, [{ component: 'conviction', amountFen: 1_000_000, labelZh: '判决有罪奖励' }])]);
      sfn.on(SendTaskSuccessCommand).resolves({});

      const known = await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');

      expect(known.statusCode).toBe(200);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1); // the task only, no claim

      ddb.reset();
      sfn.reset();
      taskGet(outcomeTask());
      caseGet(baseCase({ status: 'transferred' }));
      ledger([]);
      sfn.on(SendTaskSuccessCommand).resolves({});
      ddb
        .on(TransactWriteCommand)
        .resolvesOnce({})
        .rejects(
          new TransactionCanceledException({
            message: 'cancelled',
            $metadata: {},
            CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
          }),
        );

      const raced = await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');

      expect(raced.statusCode).toBe(200);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });

    it('starts nothing on a retried conviction act (the task is done: 409)', async () => {
      taskGet(outcomeTask({ state: 'done' }));
      caseGet(baseCase({ status: 'transferred' }));
      ledger([]);

      const res = await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');

      expect(res.statusCode).toBe(409);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });

    it('starts nothing for a case without a tip, nor for an outcome that carries no reward', async () => {
      const fromAlarm = baseCase({
        status: 'transferred',
        sources: [{ kind: 'alarm', id: ALARM_ID, addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-handler-01' }],
      });
      taskGet(outcomeTask());
      caseGet(fromAlarm);
      ledger([]);
      sfn.on(SendTaskSuccessCommand).resolves({});

      const res = await act('police_liaison', 'record_conviction', '（2026）浙1126刑初45号');

      expect(res.statusCode).toBe(200);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);

      sfn.reset();
      sfn.on(SendTaskSuccessCommand).resolves({});
      caseGet(baseCase({ status: 'transferred' }));
      const returned = await act('police_liaison', 'return_for_penalty', '情节轻微，不起诉');

      expect(returned.statusCode).toBe(200);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });
  });

  describe('deadlines', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('lists the deadlines of a range from one index query, with where each stands', async () => {
      // the day before the head's 3-day period ends: in its warning window
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-04-10T01:00:00.000Z'));
      ddb.on(QueryCommand).resolves({
        Items: [
          {
            deadline: {
              taskId: TASK_ID,
              caseId: CASE_ID,
              workflow: 'transfer',
              step: 'head_decision',
              actors: ['bureau_head'],
              dueAt: '2026-04-10T16:00:00.000Z',
              warnAt: '2026-04-09T16:00:00.000Z',
              state: 'open',
            },
          },
        ],
      });

      const res = await handler(
        request('GET', '/deadlines', {
          role: 'bureau_head',
          query: { from: '2026-04-06T16:00:00Z', to: '2026-04-13T16:00:00Z' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect((bodyOf(res).items as { status: string }[])[0]?.status).toBe('warning');
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

    it('defaults to the coming seven days', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-04-07T02:00:00.000Z'));
      ddb.on(QueryCommand).resolves({ Items: [] });

      await handler(request('GET', '/deadlines', { role: 'police_liaison' }), lambdaContext);

      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        ExpressionAttributeValues: {
          ':p': 'deadlines',
          ':from': '2026-04-07T02:00:00.000Z#',
          ':to': '2026-04-14T02:00:00.000Z#~',
        },
      });
    });

    it('refuses a reward post (no deadlines of theirs run here) with 403', async () => {
      const res = await handler(request('GET', '/deadlines', { role: 'reward_post' }), lambdaContext);

      expect(res.statusCode).toBe(403);
    });
  });
});
