import { beforeEach, describe, expect, it } from 'vitest';
import { type Alarm, openAlarm } from '#shared/domain/alarms/lifecycle.ts';
import { enterpriseView, responseView } from '#shared/domain/alarms/response.ts';
import { AlarmService, type AlarmViewer, BUREAU } from '#shared/domain/alarms/use-cases.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import type { EvidenceViewer } from '#shared/domain/tips/evidence-port.ts';
import { MemoryAlarmStore } from '../../helpers/memory-alarms.ts';
import { MemoryEvidence } from '../../helpers/memory-tips.ts';
import { codSignal, wwtpAlarmSource } from './lifecycle-fixtures.ts';

/** The enterprise's answer to an alarm (企业情况说明) and the bureau's review, over the in-memory alarm store. */
const A1 = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const A2 = '01JNK3W7Q8D2V5XG9T4HRB6ZMF';
const NOW = new Date('2025-03-01T11:20:00.000Z'); // 19:20 Beijing, 2025-03-01
const UNIT: AlarmViewer = { kind: 'enterprise', uscc: WWTP };
const OTHER: AlarmViewer = { kind: 'enterprise', uscc: '91331126MA2BQY0A1X' };

const alarm = (alarmId = A1, over: Partial<Alarm> = {}): Alarm => ({
  ...openAlarm({ alarmId, signal: codSignal(), source: wwtpAlarmSource, now: NOW, ruleVersion: 1 }).alarm,
  ...over,
});
const answer = { explanation: '曝气风机故障导致出水超标，已更换风机。', rectifyBy: '2025-03-10', evidence: [] };

const U1 = '01JNK3W7Q8D2V5XG9T4HRB6ZU1';
const U2 = '01JNK3W7Q8D2V5XG9T4HRB6ZU2';
/** links as the S3 viewer signs them: refuses anything but a working copy */
const viewer: EvidenceViewer = {
  async link(key) {
    if (!/\/working\.[a-z0-9]+$/.test(key)) throw new Error('only working copies are linked');
    return { url: `https://evidence.example/${key}?sig`, expiresAt: '2025-03-01T11:25:00.000Z' };
  },
};

let store: MemoryAlarmStore;
let evidence: MemoryEvidence;
let alarms: AlarmService;
beforeEach(() => {
  evidence = new MemoryEvidence();
  store = new MemoryAlarmStore(evidence);
  alarms = new AlarmService({ store, now: () => NOW, evidence, viewer });
  store.alarms.set(A1, { alarm: alarm(), stateVersion: 1 });
});
const failure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e);

describe('AlarmService enterprise answers', () => {
  it('stores the first answer as round 1, version 1, with a timeline event and an audit entry', async () => {
    const out = await alarms.respond(A1, UNIT, 'ent-1', answer);
    expect(out).toMatchObject({
      status: 'submitted',
      round: 1,
      version: 1,
      rectifyBy: '2025-03-10',
      submittedBy: 'ent-1',
    });
    expect(store.events.map((e) => e.event)).toEqual([
      expect.objectContaining({ type: 'response', round: 1, rectifyBy: '2025-03-10', by: 'ent-1' }),
    ]);
    expect(store.audit).toEqual([expect.objectContaining({ action: 'alarm.response.submit', actor: 'ent-1' })]);
    expect(await alarms.response(A1)).toEqual(out);
  });

  it('refuses an answer from the bureau (403) and from another unit (404), storing nothing', async () => {
    expect(await failure(alarms.respond(A1, BUREAU, 'duty-1', answer))).toBeInstanceOf(ForbiddenError);
    expect(await failure(alarms.respond(A1, OTHER, 'ent-2', answer))).toBeInstanceOf(NotFoundError);
    expect(store.responses.size).toBe(0);
  });

  it('refuses a deadline in the past or more than a year ahead, naming the field in Chinese', async () => {
    for (const rectifyBy of ['2025-02-28', '2026-03-02', '2025-02-30x']) {
      const err = await failure(alarms.respond(A1, UNIT, 'ent-1', { ...answer, rectifyBy }));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]).toMatchObject({ field: 'body.rectifyBy' });
    }
    // today (Beijing) is allowed: 19:20 Beijing on 2025-03-01
    await expect(alarms.respond(A1, UNIT, 'ent-1', { ...answer, rectifyBy: '2025-03-01' })).resolves.toBeDefined();
  });

  it('accepts an answer: the unit cannot answer again (409)', async () => {
    const first = await alarms.respond(A1, UNIT, 'ent-1', answer);
    const accepted = await alarms.review(A1, 'duty-1', 'accept', undefined, first.version);
    expect(accepted).toMatchObject({ status: 'accepted', reviewedBy: 'duty-1', version: 2 });
    expect(await failure(alarms.respond(A1, UNIT, 'ent-1', answer))).toBeInstanceOf(ConflictError);
    expect(await failure(alarms.review(A1, 'duty-1', 'return', '再补充'))).toBeInstanceOf(ConflictError);
  });

  it('sends an answer back with a reason; the next answer is round 2', async () => {
    await alarms.respond(A1, UNIT, 'ent-1', answer);
    const noReason = await failure(alarms.review(A1, 'duty-1', 'return', '  '));
    expect(noReason).toBeInstanceOf(ValidationError);
    const returned = await alarms.review(A1, 'duty-1', 'return', '请补充第三方检测报告', 1);
    expect(returned).toMatchObject({ status: 'returned', reviewNote: '请补充第三方检测报告', version: 2 });
    const again = await alarms.respond(A1, UNIT, 'ent-1', { ...answer, rectifyBy: '2025-03-15' }, 2);
    expect(again).toMatchObject({ status: 'submitted', round: 2, version: 3, rectifyBy: '2025-03-15' });
    expect(again.reviewNote).toBeUndefined();
    expect(store.events.map((e) => e.event.type)).toEqual(['response', 'response_review', 'response']);
  });

  it('refuses a stale If-Match (412) on answering and on reviewing', async () => {
    await alarms.respond(A1, UNIT, 'ent-1', answer);
    await alarms.respond(A1, UNIT, 'ent-1', { ...answer, explanation: '补充：已加装备用风机' }, 1);
    expect(await failure(alarms.review(A1, 'duty-1', 'accept', undefined, 1))).toBeInstanceOf(PreconditionFailedError);
    expect(await failure(alarms.respond(A1, UNIT, 'ent-1', answer, 1))).toBeInstanceOf(PreconditionFailedError);
    expect((await alarms.response(A1)).version).toBe(2);
  });

  it('refuses a review before any answer (409), and answers 404 for the answer while there is none', async () => {
    expect(await failure(alarms.review(A1, 'duty-1', 'accept', undefined))).toBeInstanceOf(ConflictError);
    expect(await failure(alarms.response(A1))).toBeInstanceOf(NotFoundError);
  });
});

describe('AlarmService enterprise evidence files', () => {
  it('seals the uploads under the alarm and references them in the answer’s transaction', async () => {
    const out = await alarms.respond(A1, UNIT, 'ent-1', {
      ...answer,
      evidence: [
        { name: '风机更换照片', uploadId: U1 },
        { name: ' ', uploadId: U2 },
      ],
    });
    expect(out.evidence.map((e) => [e.name, e.sha256, e.file?.originalKey])).toEqual([
      ['风机更换照片', 'a'.repeat(64), `evidence/response/${A1}/E-${U1}/original`],
      ['证明材料', 'a'.repeat(64), `evidence/response/${A1}/E-${U2}/original`],
    ]);
    expect(evidence.unreferenced()).toEqual([]);
    expect(store.audit[0]?.detail).toMatchObject({ files: 2 });
    // the API's view names each file by id, type, size and hash, never its storage keys
    expect(JSON.stringify(responseView(out))).not.toContain('evidence/response');
    expect(responseView(out).evidence[0]).toEqual({
      name: '风机更换照片',
      sha256: 'a'.repeat(64),
      evidenceId: `E-${U1}`,
      kind: 'photo',
      contentType: 'image/jpeg',
      bytes: 1000,
    });
  });

  it('seals nothing when the answer itself is refused, and names the upload that cannot be accepted', async () => {
    const late = await failure(
      alarms.respond(A1, UNIT, 'ent-1', {
        ...answer,
        rectifyBy: '2024-01-01',
        evidence: [{ name: 'x', uploadId: U1 }],
      }),
    );
    expect(late).toBeInstanceOf(ValidationError);
    expect(evidence.sealed).toBe(0);
    const bad = await failure(
      alarms.respond(A1, UNIT, 'ent-1', {
        ...answer,
        evidence: [
          { name: '照片', uploadId: U1 },
          { name: '报告', uploadId: '0BADW7Q8D2V5XG9T4HRB6ZU3XX' },
        ],
      }),
    );
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).issues[0]).toMatchObject({ field: 'body.evidence.1.uploadId' });
    expect((bad as ValidationError).issues[0]?.messageZh).toMatch(/^证据文件无法接收/);
    expect(store.responses.size).toBe(0);
  });

  it('keeps a file of the current answer by its id when the unit answers again, and refuses a foreign id', async () => {
    const first = await alarms.respond(A1, UNIT, 'ent-1', { ...answer, evidence: [{ name: '照片', uploadId: U1 }] });
    const id = first.evidence[0]?.file?.id as string;
    await alarms.review(A1, 'duty-1', 'return', '请补充检测报告');
    const again = await alarms.respond(A1, UNIT, 'ent-1', {
      ...answer,
      evidence: [
        { name: '照片', evidenceId: id },
        { name: '检测报告', uploadId: U2 },
      ],
    });
    expect(again.evidence.map((e) => e.file?.id)).toEqual([id, `E-${U2}`]);
    expect(evidence.sealed).toBe(2);
    const foreign = await failure(
      alarms.respond(A1, UNIT, 'ent-1', { ...answer, evidence: [{ name: '照片', evidenceId: 'E-other' }] }),
    );
    expect((foreign as ValidationError).issues[0]).toMatchObject({ field: 'body.evidence.0.evidenceId' });
    const twice = await failure(
      alarms.respond(A1, UNIT, 'ent-1', {
        ...answer,
        evidence: [
          { name: 'a', evidenceId: id },
          { name: 'b', evidenceId: id },
        ],
      }),
    );
    expect((twice as ValidationError).issues[0]).toMatchObject({ field: 'body.evidence.1' });
  });

  it('links the bureau to working copies only, and says why a named-only item has no file', async () => {
    await alarms.respond(A1, UNIT, 'ent-1', { ...answer, evidence: [{ name: '照片', uploadId: U1 }] });
    const stored = store.responses.get(A1);
    if (!stored) throw new Error('no answer');
    store.responses.set(A1, { ...stored, evidence: [...stored.evidence, { name: '旧材料', sha256: 'b'.repeat(64) }] });
    const views = await alarms.responseEvidence(A1);
    expect(views[0]?.link?.url).toBe(`https://evidence.example/evidence/response/${A1}/E-${U1}/working.jpg?sig`);
    expect(views[1]).toEqual({ name: '旧材料', sha256: 'b'.repeat(64), withheld: '企业仅列出了材料名称，未上传文件' });
  });
});

describe('AlarmService review queue', () => {
  it('lists the alarms whose answer waits for review, and drops them once reviewed', async () => {
    store.alarms.set(A2, { alarm: alarm(A2, { townshipId: 'other' }), stateVersion: 1 });
    await alarms.respond(A1, UNIT, 'ent-1', answer);
    await alarms.respond(A2, UNIT, 'ent-1', answer);
    const ids = async (f = {}) =>
      (await alarms.list({ response: 'submitted', ...f }, { limit: 50 })).items.map((a) => a.alarmId).sort();
    expect(await ids()).toEqual([A1, A2]);
    expect(await ids({ township: 'other' })).toEqual([A2]);
    await alarms.review(A1, 'duty-1', 'accept', undefined);
    expect(await ids()).toEqual([A2]);
  });
});

describe('AlarmService as an enterprise reads', () => {
  it('shows the unit its alarm without the bureau’s bookkeeping, and another unit nothing (404)', async () => {
    store.alarms.set(A1, {
      alarm: alarm(A1, { state: 'acknowledged', acknowledgedBy: 'duty-1', acknowledgedAt: NOW.toISOString() }),
      stateVersion: 2,
    });
    const seen = await alarms.get(A1, UNIT);
    expect(seen.acknowledgedBy).toBeUndefined();
    expect(seen.notify).toEqual({});
    expect(seen.state).toBe('acknowledged');
    expect(await failure(alarms.get(A1, OTHER))).toBeInstanceOf(NotFoundError);
    expect(await failure(alarms.response(A1, OTHER))).toBeInstanceOf(NotFoundError);
  });

  it('never shows an enterprise a type withheld from enterprises (suspected falsification)', async () => {
    store.alarms.set(A2, {
      alarm: alarm(A2, { type: 'suspected_falsification', key: 'suspected_falsification#-' }),
      stateVersion: 1,
    });
    expect(await failure(alarms.get(A2, UNIT))).toBeInstanceOf(NotFoundError);
    const listed = await alarms.list({}, { limit: 50 }, UNIT);
    expect(listed.items.map((a) => a.alarmId)).toEqual([A1]);
    expect(store.filters.at(-1)).toEqual({ enterprise: WWTP });
    expect(listed.items[0]).toEqual(enterpriseView(alarm()));
    // the bureau sees both
    expect((await alarms.list({}, { limit: 50 })).items).toHaveLength(2);
  });
});
