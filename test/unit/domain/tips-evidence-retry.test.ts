import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import { PatrolInput } from '#shared/domain/patrols/model.ts';
import { PatrolService } from '#shared/domain/patrols/use-cases.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
import { TipInput } from '#shared/domain/tips/model.ts';
import { TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault } from '#shared/domain/tips/vault.ts';
import { LocalKeys, MemoryEvidence, MemoryPatrolStore, MemoryTipStore } from '../helpers/memory-tips.ts';

/**
 * Sealed originals cannot be deleted (Object Lock) and are sealed before the tip's transaction. When that transaction
 * fails, they stay listed as unreferenced (the orphan record) and a retry with the same uploads resumes the same tip
 * id, reusing them instead of sealing again or refusing them as "already attached".
 */
const NOW = new Date('2026-03-10T02:00:00.000Z');
const U1 = '01JNZ3Q8X7K2M4V6W8Y0A1B2C1';
const U2 = '01JNZ3Q8X7K2M4V6W8Y0A1B2C2';
const U3 = '01JNZ3Q8X7K2M4V6W8Y0A1B2C3';

function setup() {
  const evidence = new MemoryEvidence();
  const store = new MemoryTipStore({ evidence });
  const service = new TipService({
    store,
    vault: new IdentityVault(new LocalKeys(), () => NOW),
    evidence,
    now: () => NOW,
    newId: () => ulid(),
    hashReceipt: (code) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 }),
  });
  return { evidence, store, service };
}

const tip = (uploadIds: string[]) =>
  TipInput.parse({
    category: 'illegal_discharge',
    description: '松源溪边暗管排放白色废水',
    location: { townshipId: 'songyuan', address: '工业园区东侧排口' },
    observedAt: '2026-03-09T22:10:00+08:00',
    reporter: { kind: 'anonymous' },
    uploadIds,
  });

describe('TipService: evidence sealed for a submission that failed', () => {
  it('lists the sealed originals as unreferenced, and a retry with the same uploads reuses them under the same tip id', async () => {
    const { evidence, store, service } = setup();
    store.failCreates = 1;
    await expect(service.submitTip(tip([U1, U2]))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(store.tips.size).toBe(0);
    const orphans = evidence.unreferenced();
    expect(orphans.map((o) => o.uploadId)).toEqual([U1, U2]);
    const orphanTip = orphans[0]?.owner.replace('tip#', '');

    const out = await service.submitTip(tip([U1, U2]));
    expect(out.tipId).toBe(orphanTip);
    expect(evidence.sealed).toBe(2);
    expect(store.tips.get(out.tipId)?.tip.evidence.map((e) => e.originalKey)).toEqual(
      orphans.map((o) => o.originalKey),
    );
    expect(evidence.unreferenced()).toEqual([]);
  });

  it('seals only the new file when the retry adds one to the uploads already sealed', async () => {
    const { evidence, store, service } = setup();
    store.failCreates = 1;
    await service.submitTip(tip([U1])).catch(() => undefined);
    const out = await service.submitTip(tip([U1, U2]));
    expect(evidence.sealed).toBe(2);
    expect(store.tips.get(out.tipId)?.tip.evidence).toHaveLength(2);
    expect(evidence.unreferenced()).toEqual([]);
  });

  it('clears the marks in the tip transaction, so a committed upload is never resumed by another submission', async () => {
    const { evidence, store, service } = setup();
    const first = await service.submitTip(tip([U1]));
    expect(evidence.unreferenced()).toEqual([]);
    const err = await service.submitTip(tip([U1])).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues[0]).toMatchObject({ field: 'body.uploadIds.0', message: `upload ${U1} is already attached` });
    expect([...store.tips.keys()]).toEqual([first.tipId]);
  });

  it('resumes nothing when the uploads come from two different failed submissions; both stay listed', async () => {
    const { evidence, store, service } = setup();
    store.failCreates = 2;
    await service.submitTip(tip([U1])).catch(() => undefined);
    await service.submitTip(tip([U2])).catch(() => undefined);
    await expect(service.submitTip(tip([U1, U2, U3]))).rejects.toBeInstanceOf(ValidationError);
    expect(store.tips.size).toBe(0);
    expect(evidence.unreferenced().map((o) => o.uploadId)).toEqual([U1, U2]);
    expect(new Set(evidence.unreferenced().map((o) => o.owner)).size).toBe(2);
  });

  it('writes one tip when two retries of the same failed submission race; the other is told it was received', async () => {
    const { store, service } = setup();
    store.failCreates = 1;
    await service.submitTip(tip([U1])).catch(() => undefined);
    const results = await Promise.allSettled([service.submitTip(tip([U1])), service.submitTip(tip([U1]))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConflictError);
    expect(store.tips.size).toBe(1);
  });

  it('reuses evidence added with the receipt when the timeline write failed, and clears its marks', async () => {
    const { evidence, store, service } = setup();
    const { tipId, receipt } = await service.submitTip(tip([]));
    const addEntry = store.addEntry.bind(store);
    store.addEntry = async () => {
      store.addEntry = addEntry;
      throw Object.assign(new Error('cancelled'), { name: 'TransactionCanceledException' });
    };
    await expect(service.addInfo(receipt, '今晚又排了', [U1])).rejects.toThrow('cancelled');
    expect(evidence.unreferenced()).toEqual([expect.objectContaining({ uploadId: U1, owner: `tip#${tipId}` })]);
    const view = await service.addInfo(receipt, '今晚又排了', [U1]);
    expect(view.addedInfo).toEqual([expect.objectContaining({ files: 1 })]);
    expect(evidence.sealed).toBe(1);
    expect(evidence.unreferenced()).toEqual([]);
  });
});

describe('PatrolService: photos sealed for a patrol that failed to record', () => {
  it('resumes the patrol id on retry and reuses the sealed photos', async () => {
    const evidence = new MemoryEvidence();
    const patrols = new MemoryPatrolStore(evidence);
    const tips = setup().service;
    const service = new PatrolService({ store: patrols, evidence, tips, newId: () => ulid(), now: () => NOW });
    const input = PatrolInput.parse({
      sectionId: 'songyuanxi',
      route: [{ lat: 27.612, lng: 119.05 }],
      startedAt: '2026-03-10T08:00:00+08:00',
      endedAt: '2026-03-10T09:30:00+08:00',
      findings: [{ text: '排口下游水面有油膜', uploadIds: [U1] }],
    });
    const create = patrols.create.bind(patrols);
    patrols.create = async () => {
      patrols.create = create;
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    };
    await expect(service.record(input, { sub: 'grid-1', roles: ['grid_member'] })).rejects.toThrow('throttled');
    const orphan = evidence.unreferenced()[0];
    const patrol = await service.record(input, { sub: 'grid-1', roles: ['grid_member'] });
    expect(`patrol#${patrol.id}`).toBe(orphan?.owner);
    expect(patrol.findings[0]?.evidence.map((e) => e.originalKey)).toEqual([orphan?.originalKey]);
    expect(evidence.sealed).toBe(1);
    expect(evidence.unreferenced()).toEqual([]);
  });
});
