import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
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
import { alarmIndexKeys } from '#shared/adapters/alarms-store.ts';
import { alarmsRoutes } from '#shared/contracts/alarms.ts';
import { type Alarm, openAlarm } from '#shared/domain/alarms/lifecycle.ts';
import { defaultRuleSet } from '#shared/domain/alarms/rules.ts';
import { buildOpenApi } from '#shared/http/openapi.ts';
import { codSignal, WWTP_MN, wwtpAlarmSource } from '../domain/alarms/lifecycle-fixtures.ts';
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

// the handler's module-level document client is mocked through the class prototype
const ddb = mockClient(DynamoDBDocumentClient);
let handler: (event: HttpEvent, context: typeof lambdaContext) => Promise<HttpResult>;

const A1 = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const MN = WWTP_MN;
const source = wwtpAlarmSource;
const OPENED = new Date('2025-03-01T09:00:12.345Z');

const codAlarm = (over: Partial<Alarm> = {}): Alarm => ({
  ...openAlarm({
    alarmId: A1,
    source,
    now: OPENED,
    ruleVersion: 1,
    signal: codSignal(),
  }).alarm,
  ...over,
});
const stored = (a: Alarm) => ({ ...a, pk: `alarm#${a.alarmId}`, sk: 'alarm', kind: 'alarm', ...alarmIndexKeys(a) });

const ROLE_SUBS: Record<string, string> = {
  duty_officer: 'u-duty-01',
  inspector: 'u-inspector-01',
  section_chief: 'u-chief-01',
  admin: 'u-admin-01',
  reward_post: 'u-reward-01',
};

/** An HTTP API event for one of the alarm routes, as the JWT authorizer hands it over. */
function request(
  method: string,
  path: string,
  opts: Omit<RouteEventOptions, 'claims'> & { role?: string } = {},
): HttpEvent {
  const role = opts.role ?? 'duty_officer';
  return routeEvent(method, path, {
    ...opts,
    claims: { sub: ROLE_SUBS[role] ?? `u-${role}`, roles: `[${role}]`, townships: '[*]' },
  });
}

const alarmPath = (suffix = '') => `/alarms/{alarmId}${suffix}`;
const onAlarm = { pathParameters: { alarmId: A1 } };

function cancelled(): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled [ConditionalCheckFailed, None, None]',
    $metadata: {},
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
  });
}

describe('alarms-api handler', () => {
  beforeAll(async () => {
    vi.stubEnv('ALARMS_TABLE', 'alarms-test');
    vi.stubEnv('AUDIT_TABLE', 'audit-test');
    vi.stubEnv('TIPS_TABLE', 'tips-test');
    vi.stubEnv('EVIDENCE_UPLOADS_BUCKET', 'uploads-test');
    vi.stubEnv('EVIDENCE_BUCKET', 'evidence-test');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-test');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('LOG_LEVEL', 'error');
    ({ handler } = (await import('#functions/alarms-api/handler.ts')) as unknown as {
      handler: typeof handler;
    });
  });

  afterAll(() => {
    vi.unstubAllEnvs();
    ddb.restore();
  });

  beforeEach(() => {
    ddb.reset();
  });

  afterEach(() => {
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  describe('who may call', () => {
    it('answers 401 without a token', async () => {
      const res = await handler(withoutClaims(request('GET', '/alarms')), lambdaContext);

      expect(res.statusCode).toBe(401);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });

    it('answers 403 to a role that may not read alarms', async () => {
      const res = await handler(request('GET', '/alarms', { role: 'reward_post' }), lambdaContext);

      expect(res.statusCode).toBe(403);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });

    it('lets an inspector read alarms but not acknowledge them', async () => {
      ddb.on(QueryCommand).resolves({ Items: [] });

      const read = await handler(request('GET', '/alarms', { role: 'inspector' }), lambdaContext);
      const act = await handler(
        request('POST', alarmPath('/acknowledge'), { ...onAlarm, role: 'inspector', body: {} }),
        lambdaContext,
      );

      expect(read.statusCode).toBe(200);
      expect(act.statusCode).toBe(403);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('lets only admins and section chiefs replace the rules', async () => {
      const { version: _v, updatedAt: _u, updatedBy: _b, ...input } = defaultRuleSet();

      const res = await handler(
        request('PUT', '/alarm-rules', { role: 'duty_officer', body: { ...input, note: '调整' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(403);
    });
  });

  describe('GET /alarms', () => {
    it('lists with the filters given, newest first', async () => {
      ddb.on(QueryCommand).resolves({ Items: [stored(codAlarm())] });

      const res = await handler(
        request('GET', '/alarms', { query: { state: 'active', level: '2', township: 'mengzhou', limit: '10' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toEqual({ items: [codAlarm()] });
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        TableName: 'alarms-test',
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        FilterExpression: '#level = :level AND townshipId = :township',
        ExpressionAttributeValues: { ':pk': 'state#active', ':level': 2, ':township': 'mengzhou' },
        ScanIndexForward: false,
        Limit: 10,
      });
    });

    it('answers 400 with Chinese messages for a bad filter', async () => {
      const res = await handler(request('GET', '/alarms', { query: { level: '7', type: 'smoke' } }), lambdaContext);

      expect(res.statusCode).toBe(400);
      const errors = bodyOf(res).errors as { field: string; messageZh?: string }[];
      expect(errors.map((e) => e.field).sort()).toEqual(['query.level', 'query.type']);
      expect(errors.every((e) => typeof e.messageZh === 'string' && e.messageZh.length > 0)).toBe(true);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });
  });

  describe('GET /alarms/{alarmId} and its timeline', () => {
    it('returns the alarm with its version as ETag', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm({ version: 3 })) });

      const res = await handler(request('GET', alarmPath(), onAlarm), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"3"');
      expect(bodyOf(res)).toMatchObject({ alarmId: A1, summary: expect.stringContaining('化学需氧量') });
    });

    it('answers 404 for an unknown alarm, also for its timeline', async () => {
      ddb.on(GetCommand).resolves({});

      const one = await handler(request('GET', alarmPath(), onAlarm), lambdaContext);
      const timeline = await handler(request('GET', alarmPath('/timeline'), onAlarm), lambdaContext);

      expect(one.statusCode).toBe(404);
      expect(timeline.statusCode).toBe(404);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });

    it('answers 400 for an alarm id that is not a ULID', async () => {
      const res = await handler(request('GET', alarmPath(), { pathParameters: { alarmId: 'abc' } }), lambdaContext);

      expect(res.statusCode).toBe(400);
      expect(bodyOf(res)).toMatchObject({ errors: [{ field: 'params.alarmId' }] });
    });

    it('returns the timeline oldest first', async () => {
      const open = {
        type: 'open',
        at: OPENED.toISOString(),
        by: 'system',
        level: 2,
        dataTime: '2025-03-01T09:00:00.000Z',
      };
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      ddb.on(QueryCommand).resolves({ Items: [{ pk: `alarm#${A1}`, sk: 'ev#x', kind: 'event', event: open }] });

      const res = await handler(request('GET', alarmPath('/timeline'), onAlarm), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toEqual({ items: [open] });
    });
  });

  describe('actions', () => {
    it('acknowledges with If-Match, answering the next version as ETag and writing the audit entry', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      ddb.on(TransactWriteCommand).resolves({});

      const res = await handler(
        request('POST', alarmPath('/acknowledge'), {
          ...onAlarm,
          body: { note: '已电话通知厂方' },
          headers: { 'if-match': '"1"' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"2"');
      expect(bodyOf(res)).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'u-duty-01' });
      const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items.map((i) => i.Put?.TableName)).toEqual(['alarms-test', 'alarms-test', 'audit-test']);
      expect(items[2]?.Put?.Item).toMatchObject({ actor: 'u-duty-01', action: 'alarm.acknowledge' });
    });

    it('answers 412 when If-Match names a version that is no longer current', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm({ version: 2 })) });

      const res = await handler(
        request('POST', alarmPath('/acknowledge'), { ...onAlarm, body: {}, headers: { 'if-match': '"1"' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(412);
      expect(bodyOf(res)).toMatchObject({ type: '/problems/precondition-failed' });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 412 when someone else writes between the read and the write', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      ddb.on(TransactWriteCommand).rejects(cancelled());

      const res = await handler(request('POST', alarmPath('/acknowledge'), { ...onAlarm, body: {} }), lambdaContext);

      expect(res.statusCode).toBe(412);
    });

    it('answers 400 for an If-Match that is not a version', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });

      const res = await handler(
        request('POST', alarmPath('/acknowledge'), { ...onAlarm, body: {}, headers: { 'if-match': '"abc"' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(400);
      expect(bodyOf(res)).toMatchObject({ errors: [{ field: 'headers.if-match', messageZh: expect.any(String) }] });
    });

    it('answers 409 when acknowledging a cleared alarm', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm({ state: 'cleared', clearedBy: 'system' })) });

      const res = await handler(request('POST', alarmPath('/acknowledge'), { ...onAlarm, body: {} }), lambdaContext);

      expect(res.statusCode).toBe(409);
      expect(bodyOf(res)).toMatchObject({ type: '/problems/conflict' });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 404 when acting on an unknown alarm', async () => {
      ddb.on(GetCommand).resolves({});

      const res = await handler(
        request('POST', alarmPath('/clear'), { ...onAlarm, body: { note: '已整改' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(404);
    });

    it('snoozes for a few hours with a note', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      ddb.on(TransactWriteCommand).resolves({});
      const until = new Date(Date.now() + 3 * 3_600_000).toISOString();

      const res = await handler(
        request('POST', alarmPath('/snooze'), { ...onAlarm, body: { until, note: '厂方检修，复测后再报' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toMatchObject({ snoozedUntil: until, snoozedBy: 'u-duty-01' });
    });

    it('answers 400 with messageZh for a snooze without a note or beyond 24 hours', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      const tooFar = new Date(Date.now() + 30 * 3_600_000).toISOString();

      const noNote = await handler(
        request('POST', alarmPath('/snooze'), { ...onAlarm, body: { until: tooFar } }),
        lambdaContext,
      );
      const far = await handler(
        request('POST', alarmPath('/snooze'), { ...onAlarm, body: { until: tooFar, note: '长期停产' } }),
        lambdaContext,
      );

      expect(noNote.statusCode).toBe(400);
      expect(bodyOf(noNote)).toMatchObject({ errors: [{ field: 'body.note', messageZh: expect.any(String) }] });
      expect(far.statusCode).toBe(400);
      expect(bodyOf(far)).toMatchObject({
        errors: [{ field: 'body.until', messageZh: '暂缓截止时间须晚于当前时间且不超过24小时' }],
      });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('clears manually, telling the evaluator to forget the alarm', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      ddb.on(TransactWriteCommand).resolves({});

      const res = await handler(
        request('POST', alarmPath('/clear'), {
          ...onAlarm,
          role: 'section_chief',
          body: { note: '现场核查：进水冲击已消除' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toMatchObject({ state: 'cleared', clearMode: 'manual', clearedBy: 'u-chief-01' });
      const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items.find((i) => i.Update)?.Update?.Key).toEqual({ pk: `eval#${MN}`, sk: 'state' });
    });

    it('adds a comment (201)', async () => {
      ddb.on(TransactWriteCommand).resolves({});

      const res = await handler(
        request('POST', alarmPath('/comments'), { ...onAlarm, body: { note: '与12345热线线索关联' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(201);
      expect(bodyOf(res)).toMatchObject({ type: 'comment', by: 'u-duty-01', note: '与12345热线线索关联' });
    });
  });

  describe('alarm rules', () => {
    const { version: _v, updatedAt: _u, updatedBy: _b, ...defaults } = defaultRuleSet();

    it('serves the rules in force with their version as ETag', async () => {
      ddb.on(GetCommand).resolves({});

      const res = await handler(request('GET', '/alarm-rules', { role: 'inspector' }), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"1"');
      expect(bodyOf(res)).toMatchObject({ version: 1, updatedBy: 'system' });
    });

    it('lists the versions', async () => {
      ddb.on(QueryCommand).resolves({ Items: [] });

      const res = await handler(request('GET', '/alarm-rules/versions'), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect((bodyOf(res).items as unknown[]).length).toBe(1);
    });

    it('replaces the rules for a section chief with a current If-Match', async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(TransactWriteCommand).resolves({});

      const res = await handler(
        request('PUT', '/alarm-rules', {
          role: 'section_chief',
          body: { ...defaults, note: '预警阈值调整' },
          headers: { 'if-match': '"1"' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"2"');
      expect(bodyOf(res)).toMatchObject({ version: 2, updatedBy: 'u-chief-01', note: '预警阈值调整' });
    });

    it('answers 412 for a stale If-Match on the rules', async () => {
      ddb.on(GetCommand).resolves({
        Item: { pk: 'rules', sk: 'current', version: 3, rules: { ...defaultRuleSet(), version: 3 } },
      });

      const res = await handler(
        request('PUT', '/alarm-rules', {
          role: 'admin',
          body: { ...defaults, note: '调整' },
          headers: { 'if-match': '"2"' },
        }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(412);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 400 with messageZh for rules without a change note', async () => {
      const res = await handler(
        request('PUT', '/alarm-rules', { role: 'admin', body: { ...defaults, note: '' } }),
        lambdaContext,
      );

      expect(res.statusCode).toBe(400);
      expect(bodyOf(res)).toMatchObject({ errors: [{ field: 'body.note', messageZh: expect.any(String) }] });
    });
  });

  describe('the enterprise’s side', () => {
    const enterprise =
      (uscc: string, opts: Omit<RouteEventOptions, 'claims'> = {}) =>
      (method: string, path: string) =>
        routeEvent(method, path, { ...opts, claims: { sub: 'ent-01', roles: '[enterprise]', townships: '[]', uscc } });
    const alarmKey = { pk: `alarm#${A1}`, sk: 'alarm' };
    const responseKey = { pk: `alarm#${A1}`, sk: 'response' };
    const answer = {
      alarmId: A1,
      enterpriseId: source.enterpriseId,
      status: 'submitted',
      explanation: '曝气风机故障，已更换',
      rectifyBy: '2099-01-01',
      evidence: [],
      round: 1,
      submittedBy: 'ent-01',
      submittedAt: OPENED.toISOString(),
      version: 1,
    };

    it('lists only the unit’s own alarms, whatever unit the query names, without the bureau’s bookkeeping', async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(QueryCommand).resolves({
        Items: [
          stored(
            codAlarm({ state: 'acknowledged', acknowledgedBy: 'u-duty-01', acknowledgedAt: OPENED.toISOString() }),
          ),
        ],
      });

      const res = await handler(
        enterprise(source.enterpriseId, { query: { enterprise: '91331126MA2BQY0A1X' } })('GET', '/alarms'),
        lambdaContext,
      );

      expect(res.statusCode).toBe(200);
      const items = bodyOf(res).items as Alarm[];
      expect(items).toHaveLength(1);
      expect(items[0]?.acknowledgedBy).toBeUndefined();
      expect(items[0]?.notify).toEqual({});
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi2',
        ExpressionAttributeValues: { ':pk': `unit#${source.enterpriseId}` },
      });
    });

    it('answers 404 for another unit’s alarm and 403 for the timeline', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(codAlarm()) });
      const other = enterprise('91331126MA2BQY0A1X', onAlarm);

      expect((await handler(other('GET', alarmPath()), lambdaContext)).statusCode).toBe(404);
      expect((await handler(other('GET', alarmPath('/response')), lambdaContext)).statusCode).toBe(404);
      const own = enterprise(source.enterpriseId, onAlarm);
      expect((await handler(own('GET', alarmPath('/timeline')), lambdaContext)).statusCode).toBe(403);
    });

    it('stores the unit’s answer as version 1 with its event and audit entry', async () => {
      ddb.on(GetCommand, { Key: alarmKey }).resolves({ Item: stored(codAlarm()) });
      ddb.on(GetCommand, { Key: responseKey }).resolves({});
      ddb.on(GetCommand, { Key: { pk: 'rules', sk: 'current' } }).resolves({});
      ddb.on(TransactWriteCommand).resolves({});

      const res = await handler(
        enterprise(source.enterpriseId, {
          ...onAlarm,
          body: { explanation: answer.explanation, rectifyBy: answer.rectifyBy },
        })('PUT', alarmPath('/response')),
        lambdaContext,
      );

      expect(res.statusCode, JSON.stringify(bodyOf(res))).toBe(400);
      expect(bodyOf(res)).toMatchObject({
        errors: [{ field: 'body.rectifyBy', messageZh: expect.stringContaining('整改期限') }],
      });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);

      const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
      // a file is named by its upload (or a kept file's id), never by a name alone
      const named = await handler(
        enterprise(source.enterpriseId, {
          ...onAlarm,
          body: { explanation: answer.explanation, rectifyBy: today, evidence: [{ name: '更换照片' }] },
        })('PUT', alarmPath('/response')),
        lambdaContext,
      );
      expect(named.statusCode).toBe(400);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);

      const ok = await handler(
        enterprise(source.enterpriseId, {
          ...onAlarm,
          body: { explanation: answer.explanation, rectifyBy: today },
        })('PUT', alarmPath('/response')),
        lambdaContext,
      );
      expect(ok.statusCode).toBe(200);
      expect(ok.headers?.etag).toBe('"1"');
      const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items[0]?.Put).toMatchObject({
        Item: { ...responseKey, kind: 'response', version: 1, gsi1pk: 'response#submitted' },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(items[2]?.Put?.Item).toMatchObject({ actor: 'ent-01', action: 'alarm.response.submit' });
    });

    it('refuses an answer from the bureau (403) and lets the duty officer accept one with If-Match', async () => {
      ddb.on(GetCommand, { Key: alarmKey }).resolves({ Item: stored(codAlarm()) });
      ddb
        .on(GetCommand, { Key: responseKey })
        .resolves({ Item: { ...responseKey, kind: 'response', version: 1, response: answer } });
      ddb.on(TransactWriteCommand).resolves({});

      const bureau = await handler(
        request('PUT', alarmPath('/response'), { ...onAlarm, body: { explanation: 'x', rectifyBy: '2099-01-01' } }),
        lambdaContext,
      );
      expect(bureau.statusCode).toBe(403);

      const stale = await handler(
        request('POST', alarmPath('/response/review'), {
          ...onAlarm,
          body: { decision: 'accept' },
          headers: { 'if-match': '"2"' },
        }),
        lambdaContext,
      );
      expect(stale.statusCode).toBe(412);

      const res = await handler(
        request('POST', alarmPath('/response/review'), {
          ...onAlarm,
          body: { decision: 'accept' },
          headers: { 'if-match': '"1"' },
        }),
        lambdaContext,
      );
      expect(res.statusCode).toBe(200);
      expect(res.headers?.etag).toBe('"2"');
      expect(bodyOf(res)).toMatchObject({ status: 'accepted', reviewedBy: 'u-duty-01' });
      const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items[0]?.Put?.ConditionExpression).toBe('#version = :v');
      // reviewed: out of the review queue's index
      expect(items[0]?.Put?.Item?.gsi1pk).toBeUndefined();
    });

    it('lists the alarms whose answer waits for review from the answers’ index', async () => {
      ddb.on(QueryCommand).resolves({ Items: [{ ...responseKey, kind: 'response', version: 1, response: answer }] });
      ddb.on(BatchGetCommand).resolves({ Responses: { 'alarms-test': [stored(codAlarm())] } });

      const res = await handler(request('GET', '/alarms', { query: { response: 'submitted' } }), lambdaContext);

      expect(res.statusCode).toBe(200);
      expect((bodyOf(res).items as Alarm[]).map((a) => a.alarmId)).toEqual([A1]);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi1',
        ExpressionAttributeValues: { ':pk': 'response#submitted' },
      });
    });

    it('links the bureau to the working copy of the answer’s files, and the enterprise to none (403)', async () => {
      const file = {
        id: 'E1',
        kind: 'photo',
        contentType: 'image/jpeg',
        bytes: 1000,
        sha256: 'c'.repeat(64),
        originalKey: `evidence/response/${A1}/E1/original`,
        workingKey: `evidence/response/${A1}/E1/working.jpg`,
        finalizedAt: OPENED.toISOString(),
      };
      const withFile = { ...answer, evidence: [{ name: '更换照片', sha256: file.sha256, file }] };
      ddb.on(GetCommand, { Key: alarmKey }).resolves({ Item: stored(codAlarm()) });
      ddb
        .on(GetCommand, { Key: responseKey })
        .resolves({ Item: { ...responseKey, kind: 'response', response: withFile } });

      const res = await handler(request('GET', alarmPath('/response/evidence'), onAlarm), lambdaContext);
      expect(res.statusCode, JSON.stringify(bodyOf(res))).toBe(200);
      const [item] = bodyOf(res).items as { link: { url: string }; sha256: string }[];
      expect(item?.sha256).toBe(file.sha256);
      expect(item?.link.url).toContain(`/evidence/response/${A1}/E1/working.jpg?`);
      expect(item?.link.url).toContain('X-Amz-Expires=300');
      const view = await handler(request('GET', alarmPath('/response'), onAlarm), lambdaContext);
      expect(JSON.stringify(bodyOf(view))).not.toContain('original');

      const own = enterprise(source.enterpriseId, onAlarm);
      expect((await handler(own('GET', alarmPath('/response/evidence')), lambdaContext)).statusCode).toBe(403);
    });
  });

  it('builds an OpenAPI document from its contracts', () => {
    const doc = buildOpenApi([alarmsRoutes], { title: 'alarms', version: '0' });
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/alarm-rules',
      '/alarm-rules/versions',
      '/alarms',
      '/alarms/{alarmId}',
      '/alarms/{alarmId}/acknowledge',
      '/alarms/{alarmId}/clear',
      '/alarms/{alarmId}/comments',
      '/alarms/{alarmId}/response',
      '/alarms/{alarmId}/response/evidence',
      '/alarms/{alarmId}/response/review',
      '/alarms/{alarmId}/snooze',
      '/alarms/{alarmId}/timeline',
    ]);
  });
});
