import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
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
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { caseIndexKeys, caseKeys } from '#shared/adapters/cases-store.ts';
import { casesRoutes } from '#shared/contracts/cases.ts';
import type { Case, DecisionBody } from '#shared/domain/cases/model.ts';
import type { WorkflowTask } from '#shared/domain/cases/ports.ts';
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
    claims: { sub: opts.sub ?? SUBS[role] ?? `u-${role}`, roles: `[${role}]`, townships: '[*]' },
  });
}

const onCase = { pathParameters: { caseId: CASE_ID } };
const onTask = { pathParameters: { taskId: TASK_ID } };
const transactItems = (n = 0) => ddb.commandCalls(TransactWriteCommand)[n]?.args[0].input.TransactItems ?? [];
const errorsOf = (res: HttpResult) =>
  (bodyOf(res).errors ?? []) as { field: string; message: string; messageZh?: string }[];

/**
 * The cases-api handler, wired to DynamoDB and Step Functions (mocked clients): routes, roles and validation at the
 * edge, and that each route reaches its use-case and its adapters. What the use-cases decide is tested over in-memory
 * fakes in test/unit/domain/cases/use-cases.test.ts.
 */
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
      '/cases/{caseId}/transfer-package',
      '/cases/{caseId}/unit',
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
  });

  describe('cases', () => {
    const openBody = {
      title: '污水处理厂尾水化学需氧量超标排放',
      unit: { kind: 'registered', enterpriseId: WWTP },
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
      ddb.on(GetCommand, { TableName: 'registry-test' }).resolves({
        Item: {
          pk: `enterprises#${WWTP}`,
          sk: '#',
          id: WWTP,
          name: '庆元县示例城镇污水处理有限公司',
          townshipId: 'mengzhou',
          version: 1,
        },
      });
      ddb.on(QueryCommand).resolves({ Items: [] });
    };

    it('opens a case from a substantiated tip and an alarm of the same unit (201, ETag), copying no tip content', async () => {
      sources();

      const res = await handler(request('POST', '/cases', { role: 'section_chief', body: openBody }), lambdaContext);

      expect(res.statusCode).toBe(201);
      expect(res.headers?.etag).toBe('"1"');
      // the unit's name and township come from the registry
      expect(bodyOf(res)).toMatchObject({
        status: 'investigating',
        statusZh: '调查中',
        version: 1,
        enterpriseId: WWTP,
        unitName: '庆元县示例城镇污水处理有限公司',
        townshipId: 'mengzhou',
      });
      const written = JSON.stringify(transactItems());
      expect(written).not.toContain(tip.description);
      expect(written).not.toContain(tip.location.address);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi2',
        ExpressionAttributeValues: { ':pk': `unit#${WWTP}`, ':open': 'open#' },
      });
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
  });

  describe('transfer package', () => {
    const crime = baseCase({
      status: 'decided',
      decision: {
        type: 'suspected_crime',
        proposedItems: [{ item: 'item5', reference: '法释〔2023〕7号 第一条第（五）项' }],
        confirmedItems: [
          { item: 'item5', facts: '暗管排放', confirmedBy: 'u-head-01', confirmedAt: '2026-04-07T02:00:00.000Z' },
        ],
        decidedBy: 'u-head-01',
        decidedAt: '2026-04-07T02:00:00.000Z',
      },
    });

    it('gives the police liaison the documents of a suspected-crime case as one ZIP, the read audited', async () => {
      caseGet(crime);
      ddb.on(QueryCommand).resolves({ Items: [] });

      const res = await handler(
        request('GET', '/cases/{caseId}/transfer-package', { ...onCase, role: 'police_liaison' }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      const body = bodyOf(res) as { fileName: string; zipBase64: string; sha256: string; files: { name: string }[] };
      expect(body.fileName).toBe(`移送材料-${CASE_ID}.zip`);
      const zip = unzipSync(new Uint8Array(Buffer.from(body.zipBase64, 'base64')));
      expect(Object.keys(zip)).toEqual(body.files.map((f) => f.name));
      expect(strFromU8(zip['03-证据清单.csv'] as Uint8Array)).toContain('b'.repeat(64));
      expect(transactItems()[1]?.Put).toMatchObject({ Item: { actor: 'u-police-01', action: 'case.read' } });
    });

    it('answers 409 for a case without a suspected-crime decision, and 403 to the reward post', async () => {
      caseGet(baseCase());
      const res = await handler(
        request('GET', '/cases/{caseId}/transfer-package', { ...onCase, role: 'section_chief' }),
        lambdaContext,
      );
      expect(res.statusCode).toBe(409);
      const refused = await handler(
        request('GET', '/cases/{caseId}/transfer-package', { ...onCase, role: 'reward_post' }),
        lambdaContext,
      );
      expect(refused.statusCode).toBe(403);
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
  });
});
