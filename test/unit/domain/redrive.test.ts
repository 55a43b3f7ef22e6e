import { describe, expect, it } from 'vitest';
import { ALARM_REPLAY_TOPIC, INGEST_REPLAY_TOPIC, replayTopicFilters } from '#shared/domain/ingest/dead-letter.ts';
import {
  afterProbes,
  attemptDue,
  backoffDelayMs,
  describeLetters,
  planLetters,
  replayKey,
  topicMatches,
} from '#shared/domain/redrive/decide.ts';
import { DEFAULT_POLICY, type DeadLetter, type RedrivePolicy } from '#shared/domain/redrive/model.ts';
import { RedriveService, type SourceOutcome } from '#shared/domain/redrive/use-cases.ts';
import { MemoryLedger, MemoryParked, MemoryPublisher, MemoryQueue, SwitchProbe } from '../helpers/memory-redrive.ts';

const GATEWAY = '$aws/rules/envwatch_dev_gateway/envwatch/gateway';
const ALLOWED = replayTopicFilters(GATEWAY);
const MIN = 60_000;
const T0 = new Date('2026-03-02T08:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * MIN);

/** An IoT rule error record for a device message, as the ingest rules' error action writes it. */
const ruleError = (payload: string, topic = 'envwatch/devices/33112600000000000000AB01/hj212') =>
  JSON.stringify({
    ruleName: 'envwatch_dev_hj212',
    topic,
    base64OriginalPayload: Buffer.from(payload).toString('base64'),
    failures: [{ failedAction: 'LambdaAction', errorMessage: 'NoSuchBucket' }],
  });
/** A Lambda failure record (the rule's envelope), as an async invocation's on-failure destination writes it. */
const lambdaFailure = (requestPayload: unknown) =>
  JSON.stringify({ requestContext: { condition: 'RetriesExhausted' }, requestPayload, responseContext: {} });

const letter = (body: string, id = 'm1'): DeadLetter => ({ messageId: id, body, handle: `h-${id}` });

describe('redrive decisions', () => {
  it('doubles the backoff after each failure, from the schedule period up to an hour', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((f) => backoffDelayMs(f, DEFAULT_POLICY) / MIN)).toEqual([
      0, 5, 10, 20, 40, 60, 60, 60,
    ]);
  });

  it('skips a source until its next attempt, accepting a run up to 30 s early', () => {
    const state = { failures: 2, nextAttemptAt: at(10).toISOString() };
    expect(attemptDue(undefined, T0, DEFAULT_POLICY)).toEqual({ due: true });
    expect(attemptDue(state, at(5), DEFAULT_POLICY)).toEqual({ due: false, until: at(10).toISOString() });
    expect(attemptDue(state, new Date(at(10).getTime() - 29_000), DEFAULT_POLICY)).toEqual({ due: true });
    expect(attemptDue(state, new Date(at(10).getTime() - 31_000), DEFAULT_POLICY).due).toBe(false);
  });

  it('backs off longer when a probe fails, naming it and its error, and forgets the backoff when all answer', () => {
    const first = afterProbes(
      undefined,
      [
        { name: 'table readings', ok: true },
        { name: 'bucket evidence/raw/', ok: false, error: 'NoSuchBucket: gone' },
      ],
      T0,
      DEFAULT_POLICY,
    );
    expect(first).toEqual({
      healthy: false,
      state: {
        failures: 1,
        nextAttemptAt: at(5).toISOString(),
        failing: ['bucket evidence/raw/: NoSuchBucket: gone'],
        since: T0.toISOString(),
      },
    });
    const second = afterProbes(first.state, [{ name: 'table readings', ok: false }], at(5), DEFAULT_POLICY);
    expect(second.state).toMatchObject({ failures: 2, nextAttemptAt: at(15).toISOString(), since: T0.toISOString() });
    expect(afterProbes(second.state, [{ name: 'table readings', ok: true }], at(15), DEFAULT_POLICY)).toEqual({
      healthy: true,
      state: { failures: 0 },
    });
  });

  it('keys a replay by topic and payload, the same for a JSON payload however its keys are ordered', () => {
    const a = replayKey(INGEST_REPLAY_TOPIC, Buffer.from('{"mn":"M1","raw":"e30=","receivedAt":1}'));
    expect(replayKey(INGEST_REPLAY_TOPIC, Buffer.from('{"receivedAt":1, "raw":"e30=","mn":"M1"}'))).toBe(a);
    expect(replayKey(ALARM_REPLAY_TOPIC, Buffer.from('{"mn":"M1","raw":"e30=","receivedAt":1}'))).not.toBe(a);
    expect(replayKey(INGEST_REPLAY_TOPIC, Buffer.from('{"mn":"M2","raw":"e30=","receivedAt":1}'))).not.toBe(a);
    expect(replayKey('t', Buffer.from('##0101QN=1'))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a Lambda failure record and the replay rule error record of the same envelope one key', () => {
    const envelope = { source: 'mqtt-json', mn: 'M1', receivedAt: 1, raw: 'e30=' };
    const [viaLambda, viaRule] = describeLetters(
      [letter(lambdaFailure(envelope), 'a'), letter(ruleError(JSON.stringify(envelope), INGEST_REPLAY_TOPIC), 'b')],
      { lambdaReplayTopic: INGEST_REPLAY_TOPIC, allowedTopics: ALLOWED },
    );
    expect(viaLambda?.key).toBeDefined();
    expect(viaLambda?.key).toBe(viaRule?.key);
  });

  it('matches topics against MQTT filters level by level', () => {
    expect(topicMatches('envwatch/devices/+/hj212', 'envwatch/devices/M1/hj212')).toBe(true);
    expect(topicMatches('envwatch/devices/+/hj212', 'envwatch/devices/M1/x/hj212')).toBe(false);
    expect(topicMatches('envwatch/devices/+/hj212', 'envwatch/devices/M1')).toBe(false);
    expect(topicMatches(`${GATEWAY}/+`, `${GATEWAY}/M1`)).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
  });

  it('plans replay, park (unreadable, foreign topic, replay limit), duplicate and later, in batch order', () => {
    const ok = ruleError('##0101A');
    const described = describeLetters(
      [
        letter('not json', 'bad'),
        letter(ruleError('x', 'some/other/topic'), 'foreign'),
        letter(ok, 'first'),
        letter(ok, 'twin'),
        letter(ruleError('##0101B'), 'spent'),
        letter(ruleError('##0101C'), 'back'),
      ],
      { lambdaReplayTopic: INGEST_REPLAY_TOPIC, allowedTopics: ALLOWED },
    );
    const keyOf = (id: string) => described.find((d) => d.message.messageId === id)?.key as string;
    const steps = planLetters(
      described,
      new Map([
        [keyOf('first'), 1],
        [keyOf('spent'), 3],
      ]),
      new Set([keyOf('back')]),
      DEFAULT_POLICY,
    );
    expect(steps.map((s) => [s.message.messageId, s.kind, s.kind === 'park' ? s.reason.code : undefined])).toEqual([
      ['bad', 'park', 'unparseable'],
      ['foreign', 'park', 'topic-not-allowed'],
      ['first', 'replay', undefined],
      ['twin', 'duplicate', undefined],
      ['spent', 'park', 'replay-limit'],
      ['back', 'later', undefined],
    ]);
    expect(steps[0]).toMatchObject({ reason: { detail: 'not JSON' }, replays: 0 });
    expect(steps[2]).toMatchObject({ topic: 'envwatch/devices/33112600000000000000AB01/hj212', replays: 1 });
    expect(steps[3]).toMatchObject({ of: 'first' });
    expect(steps[4]).toMatchObject({
      replays: 3,
      reason: { detail: 'replayed 3 times and failed again (rule-error-action: NoSuchBucket)' },
    });
  });
});

/** One source (`ingest`) over in-memory ports. */
function setup(policy: Partial<RedrivePolicy> = {}) {
  const queue = new MemoryQueue();
  const parked = new MemoryParked();
  const publisher = new MemoryPublisher();
  const ledger = new MemoryLedger();
  const bucket = new SwitchProbe('bucket evidence/raw/');
  const table = new SwitchProbe('table readings');
  const service = new RedriveService({
    sources: [{ name: 'ingest', queue, lambdaReplayTopic: INGEST_REPLAY_TOPIC, probes: [table, bucket] }],
    parked,
    publisher,
    ledger,
    allowedTopics: ALLOWED,
    policy: { ...DEFAULT_POLICY, ...policy },
  });
  const run = async (minutes: number): Promise<SourceOutcome> => {
    const out = await service.run(at(minutes));
    if (!out.ran) throw new Error(out.reason);
    return out.sources[0] as SourceOutcome;
  };
  return { queue, parked, publisher, ledger, bucket, table, service, run };
}

describe('RedriveService', () => {
  it('waits out an outage with backoff, then replays every dead letter once and forgets the backoff', async () => {
    const s = setup();
    for (const p of ['##A', '##B', '##C']) s.queue.push(ruleError(p));
    s.bucket.up = false;

    expect(await s.run(0)).toMatchObject({
      status: 'unhealthy',
      depth: 3,
      failing: ['bucket evidence/raw/: Error: does not answer'],
    });
    expect(await s.run(5)).toMatchObject({ status: 'unhealthy', nextAttemptAt: at(15).toISOString() });
    const checks = s.bucket.checks;
    // backing off: the run at 10 minutes does not even probe
    expect(await s.run(10)).toMatchObject({ status: 'backoff', nextAttemptAt: at(15).toISOString() });
    expect(s.bucket.checks).toBe(checks);
    expect(s.publisher.published).toEqual([]);
    expect(s.queue.waiting).toHaveLength(3);

    s.bucket.up = true;
    expect(await s.run(15)).toMatchObject({ status: 'redriven', replayed: 3, parked: {}, left: 0 });
    expect(s.publisher.published.map((p) => p.payload)).toEqual(['##A', '##B', '##C']);
    expect(s.queue.waiting).toEqual([]);
    expect(s.queue.inFlight.size).toBe(0);
    expect([...s.ledger.counts.values()]).toEqual([1, 1, 1]);
    expect(s.ledger.state.get('ingest')).toEqual({ failures: 0 });
  });

  it('touches nothing, and writes no state, while the queue is empty', async () => {
    const s = setup();
    expect(await s.run(0)).toMatchObject({ status: 'empty', depth: 0 });
    expect(s.table.checks + s.bucket.checks).toBe(0);
    expect(s.ledger.stateWrites).toBe(0);
  });

  it('handles at most the cap per run and leaves the rest for the next run', async () => {
    const s = setup({ capPerRun: 12 });
    for (let i = 0; i < 30; i++) s.queue.push(ruleError(`##${i}`));
    expect(await s.run(0)).toMatchObject({ replayed: 12 });
    expect(s.queue.waiting).toHaveLength(18);
    expect(await s.run(5)).toMatchObject({ replayed: 12 });
    expect(await s.run(10)).toMatchObject({ replayed: 6 });
    expect(new Set(s.publisher.published.map((p) => p.payload)).size).toBe(30);
  });

  it('parks a payload that comes back after N replays, with its reason and original body', async () => {
    const s = setup({ maxReplays: 3 });
    const poison = lambdaFailure({ not: 'an envelope' });
    s.queue.push(poison);
    // the replayed work fails again: the replay rule's error action puts it back (as a rule error record)
    s.publisher.onPublish = (topic, payload) => void s.queue.push(ruleError(payload.toString(), topic));
    for (const minute of [0, 5, 10]) expect(await s.run(minute)).toMatchObject({ replayed: 1 });
    expect(s.publisher.published.map((p) => p.topic)).toEqual(Array(3).fill(INGEST_REPLAY_TOPIC));
    expect(await s.run(15)).toMatchObject({ replayed: 0, parked: { 'replay-limit': 1 } });
    expect(s.queue.waiting).toEqual([]);
    expect(s.parked.parked).toHaveLength(1);
    expect(s.parked.parked[0]?.info).toMatchObject({
      source: 'ingest',
      replays: 3,
      at: at(15).toISOString(),
      reason: { code: 'replay-limit' },
    });
    expect(s.parked.parked[0]?.message.body).toContain(Buffer.from('{"not":"an envelope"}').toString('base64'));
  });

  it('never replays the same payload twice in one run, even when it is back before the run ends', async () => {
    const s = setup();
    s.queue.push(ruleError('##A'));
    s.publisher.onPublish = (topic, payload) => void s.queue.push(ruleError(payload.toString(), topic));
    expect(await s.run(0)).toMatchObject({ replayed: 1, left: 1 });
    expect(s.publisher.published).toHaveLength(1);
    expect(s.queue.waiting).toHaveLength(1);
  });

  it('parks what cannot be read, keeping the body as it was', async () => {
    const s = setup();
    s.queue.push('{"truncated":');
    expect(await s.run(0)).toMatchObject({ parked: { unparseable: 1 }, replayed: 0 });
    expect(s.parked.parked[0]).toMatchObject({
      message: { body: '{"truncated":' },
      info: { reason: { code: 'unparseable', detail: 'not JSON' }, replays: 0 },
    });
    expect(s.queue.waiting).toEqual([]);
  });

  it('replays one of two identical dead letters and deletes the other', async () => {
    const s = setup();
    s.queue.push(ruleError('##A'));
    s.queue.push(ruleError('##A'));
    expect(await s.run(0)).toMatchObject({ replayed: 1, duplicates: 1 });
    expect(s.queue.waiting).toEqual([]);
  });

  it('stops at a failing publish, releases the rest and backs off', async () => {
    const s = setup();
    for (const p of ['##A', '##B', '##C']) s.queue.push(ruleError(p));
    s.publisher.fail = new Error('ThrottlingException');
    expect(await s.run(0)).toMatchObject({
      status: 'interrupted',
      replayed: 0,
      left: 3,
      failing: ['replay: Error: ThrottlingException'],
      nextAttemptAt: at(5).toISOString(),
    });
    expect(s.queue.waiting).toHaveLength(3);
    expect(s.queue.inFlight.size).toBe(0);
  });

  it('keeps a message where it was when the parked queue refuses it', async () => {
    const s = setup();
    s.queue.push('not json');
    s.parked.fail = new Error('KMS.DisabledException');
    expect(await s.run(0)).toMatchObject({ status: 'interrupted', left: 1 });
    expect(s.queue.waiting.map((m) => m.body)).toEqual(['not json']);
  });

  it('skips the whole run when its own ledger does not answer', async () => {
    const s = setup();
    s.queue.push(ruleError('##A'));
    s.ledger.fail = new Error('ECONNREFUSED');
    expect(await s.service.run(T0)).toEqual({ ran: false, reason: 'ledger: Error: ECONNREFUSED' });
    expect(s.queue.waiting).toHaveLength(1);
    expect(s.table.checks).toBe(0);
  });
});
