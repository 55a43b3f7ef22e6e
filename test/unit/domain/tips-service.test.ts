import { describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import { hashSecret, verifySecret } from '#shared/domain/secrets.ts';
import { EvidenceError, type EvidenceFinalizer } from '#shared/domain/tips/evidence-port.ts';
import { TipInput } from '#shared/domain/tips/model.ts';
import { MAX_FAILURES } from '#shared/domain/tips/receipt.ts';
import type { TriageSources } from '#shared/domain/tips/triage.ts';
import { type Official, TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault } from '#shared/domain/tips/vault.ts';
import { LocalKeys, MemoryTipStore } from '../helpers/memory-tips.ts';

const finalizer: EvidenceFinalizer = {
  async finalize({ owner, uploadIds }) {
    return uploadIds.map((id) => {
      if (id.startsWith('0BAD')) throw new EvidenceError('upload was never completed', id);
      return {
        id,
        kind: 'photo' as const,
        contentType: 'image/jpeg',
        bytes: 1000,
        sha256: 'a'.repeat(64),
        originalKey: `sealed/${owner.id}/${id}`,
        workingKey: `working/${owner.id}/${id}`,
        finalizedAt: '2025-03-02T00:00:00.000Z',
      };
    });
  },
};

const NOW = new Date('2025-03-02T08:00:00.000Z');
function setup() {
  const store = new MemoryTipStore();
  const keys = new LocalKeys();
  const service = new TipService({
    store,
    vault: new IdentityVault(keys, () => NOW),
    evidence: finalizer,
    now: () => NOW,
    newId: () => ulid(),
    hashReceipt: (code) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 }),
  });
  return { store, keys, service };
}

const input = (over: Record<string, unknown> = {}) =>
  TipInput.parse({
    category: 'illegal_discharge',
    description: '暗管排放白色废水',
    location: { townshipId: 'songyuan', address: '工业园区东侧' },
    observedAt: '2025-03-01T22:10:00+08:00',
    reporter: { kind: 'real_name', identity: { name: '张三', phone: '13800001111', idNumber: '33112619800101001X' } },
    commendationConsent: true,
    uploadIds: ['01JNZ3Q8X7K2M4V6W8Y0A1B2C3'],
    ...over,
  });

const analyst: Official = { sub: 'u-analyst', roles: ['analyst'] };
const rewardPost: Official = { sub: 'u-reward', name: '奖励岗李四', roles: ['reward_post'] };

describe('TipService', () => {
  it('stores a tip without the identity, seals the identity apart and returns a 16-digit receipt once', async () => {
    const { store, service } = setup();
    const out = await service.submitTip(input());
    expect(out.receipt).toMatch(/^\d{4} \d{4} \d{4} \d{4}$/);
    const stored = store.tips.get(out.tipId)?.tip;
    expect(stored?.reporterKind).toBe('real_name');
    expect(stored?.evidence.map((e) => e.workingKey)).toEqual([expect.stringContaining('working/')]);
    const everything = JSON.stringify({
      tips: [...store.tips.values()],
      receipts: [...store.receipts.values()],
      audit: store.audit,
    });
    for (const secret of ['张三', '13800001111', '33112619800101001X', out.receipt.replaceAll(' ', '')]) {
      expect(everything).not.toContain(secret);
    }
    const sealed = store.identities.get(out.tipId);
    expect(sealed?.algorithm).toBe('AES-256-GCM');
    expect(JSON.stringify(sealed)).not.toContain('13800001111');
    expect(store.audit).toEqual([
      {
        actor: 'public',
        action: 'tip.submit',
        entity: `tip/${out.tipId}`,
        at: NOW.toISOString(),
        detail: { channel: 'web', category: 'illegal_discharge' },
      },
    ]);
  });

  it('draws another receipt when the selector is taken', async () => {
    const { store, service } = setup();
    store.collisions = 2;
    const out = await service.submitTip(input());
    expect(store.receipts.get(out.receipt.replaceAll(' ', '').slice(0, 7))?.tipId).toBe(out.tipId);
  });

  it('refuses a future observation and a bad upload with the failing field', async () => {
    const { store, service } = setup();
    await expect(service.submitTip(input({ observedAt: '2025-03-03T00:00:00Z' }))).rejects.toMatchObject({
      issues: [expect.objectContaining({ field: 'body.observedAt' })],
    });
    const err = await service
      .submitTip(input({ uploadIds: ['01JNZ3Q8X7K2M4V6W8Y0A1B2C3', '0BADQ8X7K2M4V6W8Y0A1B2C3D4'] }))
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues[0].field).toBe('body.uploadIds.1');
    expect(store.tips.size).toBe(0);
  });

  it('shows the reporter status, messages, their additions and identity accesses, and accepts replies', async () => {
    const { service } = setup();
    const { tipId, receipt } = await service.submitTip(input());
    await expect(service.replyToMessage(receipt, '补充')).rejects.toBeInstanceOf(ConflictError);
    await service.postMessage(tipId, '请问排放时间大约几点？', analyst);
    await service.replyToMessage(receipt, '晚上十点左右');
    await service.addInfo(receipt, '今晚又排了', ['01JNZ3Q8X7K2M4V6W8Y0A1B2C4']);
    await service.openIdentity(tipId, '发放举报奖励', rewardPost);
    const view = await service.followTip(receipt);
    expect(view).toEqual({
      tipId,
      status: 'received',
      statusLabel: '已受理',
      category: 'illegal_discharge',
      receivedAt: NOW.toISOString(),
      messages: [
        { at: NOW.toISOString(), from: 'handler', text: '请问排放时间大约几点？' },
        { at: NOW.toISOString(), from: 'reporter', text: '晚上十点左右' },
      ],
      addedInfo: [{ at: NOW.toISOString(), text: '今晚又排了', files: 1 }],
      identityAccess: [{ at: NOW.toISOString(), by: '奖励岗李四', reason: '发放举报奖励' }],
      reward: { claimable: false },
    });
  });

  it('answers a wrong code, an unknown selector and garbage with the same not-found, and locks after repeated failures', async () => {
    const { store, service } = setup();
    const { receipt } = await service.submitTip(input());
    const code = receipt.replaceAll(' ', '');
    const wrong = `${code.slice(0, 15)}${(Number(code.slice(15)) + 1) % 10}`;
    const unknown = `${(Number(code.slice(0, 7)) % 9_000_000) + 1_000_000}${code.slice(7)}`;
    const messages = await Promise.all(
      [wrong, unknown, 'nonsense', undefined].map((r) =>
        service.followTip(r).catch((e: Error) => [e.constructor, e.message]),
      ),
    );
    for (const m of messages) expect(m).toEqual(messages[0]);
    expect(messages[0]).toEqual([NotFoundError, 'no tip matches this receipt code (查询码无效)']);
    for (let i = 1; i < MAX_FAILURES; i++) await expect(service.followTip(wrong)).rejects.toBeInstanceOf(NotFoundError);
    expect(store.audit.map((a) => a.action)).toContain('tip.receipt_locked');
    await expect(service.followTip(receipt)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('records staff intake with its channel and the staff member, same protections', async () => {
    const { store, service } = setup();
    const { channel: _c, ...rest } = { ...input(), channel: 'phone' as const };
    const out = await service.staffIntake({ ...rest, channel: 'phone' }, { sub: 'u-duty', roles: ['duty_officer'] });
    expect(store.tips.get(out.tipId)?.tip).toMatchObject({
      channel: 'phone',
      enteredBy: 'u-duty',
      reporterKind: 'real_name',
    });
    expect(store.identities.has(out.tipId)).toBe(true);
  });

  it('moves a tip only along allowed transitions, with a precise error otherwise', async () => {
    const { store, service } = setup();
    const { tipId } = await service.submitTip(input());
    const err = await service.setStatus(tipId, 'case_opened', undefined, analyst).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues).toEqual([
      {
        field: 'body.status',
        message: 'from received only triaging, closed',
        messageZh: '线索状态不能从"已受理"改为"已立案"',
      },
    ]);
    const moved = await service.setStatus(tipId, 'triaging', 1, analyst);
    expect(moved).toMatchObject({ version: 2, tip: { status: 'triaging' } });
    await expect(service.setStatus(tipId, 'verifying', 1, analyst)).rejects.toBeInstanceOf(ConflictError);
    await service.assign(tipId, 'u-handler', 2, analyst);
    expect((await service.queue('triaging', { limit: 10 })).items.map((t) => t.assignee)).toEqual(['u-handler']);
    expect(store.audit.map((a) => a.action)).toEqual(['tip.submit', 'tip.status', 'tip.assign']);
  });

  it('opens an identity only for the reward post with a reason, after recording the access', async () => {
    const { store, keys, service } = setup();
    const { tipId } = await service.submitTip(input());
    await expect(service.openIdentity(tipId, '发放奖励', analyst)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.openIdentity(tipId, ' ', rewardPost)).rejects.toBeInstanceOf(ValidationError);
    store.failNextAccess = true;
    await expect(service.openIdentity(tipId, '发放举报奖励', rewardPost)).rejects.toThrow('TransactionCanceled');
    expect(keys.decrypts).toBe(0);
    store.failNextAccess = false;
    const opened = await service.openIdentity(tipId, '发放举报奖励', rewardPost);
    expect(opened.identity).toEqual({ name: '张三', phone: '13800001111', idNumber: '33112619800101001X' });
    expect(store.audit.at(-1)).toMatchObject({
      actor: 'u-reward',
      action: 'tip.identity_opened',
      detail: { reason: '发放举报奖励' },
    });
  });

  it('has no identity to open for an anonymous tip', async () => {
    const { service } = setup();
    const { tipId } = await service.submitTip(input({ reporter: { kind: 'anonymous' }, commendationConsent: false }));
    await expect(service.openIdentity(tipId, '发放举报奖励', rewardPost)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('TipService merge and overdue', () => {
  it('merges a duplicate: it points to the primary, the earliest report stays first, both timelines note it', async () => {
    const { store, service } = setup();
    const first = await service.submitTip(input({ reporter: { kind: 'anonymous' }, commendationConsent: false }));
    const second = await service.submitTip(input());
    // the first tip arrived earlier: make its receipt time earlier than the second's
    const one = store.tips.get(first.tipId);
    if (one) store.tips.set(first.tipId, { ...one, tip: { ...one.tip, receivedAt: '2025-03-01T23:00:00.000Z' } });
    const out = await service.merge(first.tipId, second.tipId, '同一排放口重复举报', analyst);
    expect(out.merged.tip.mergedInto).toBe(second.tipId);
    expect(out.primary.tip).toMatchObject({ mergedTips: [first.tipId], firstReporterTipId: first.tipId });
    expect(store.entries.get(first.tipId)).toEqual([
      expect.objectContaining({ type: 'merge', direction: 'merged_into', otherTipId: second.tipId }),
    ]);
    expect(store.entries.get(second.tipId)).toEqual([
      expect.objectContaining({ type: 'merge', direction: 'absorbed', otherTipId: first.tipId }),
    ]);
    expect(store.audit.at(-1)).toMatchObject({ action: 'tip.merge', detail: { into: second.tipId } });
    expect((await service.queue('received', { limit: 50 })).items.map((t) => t.id)).toContain(second.tipId);
    await expect(service.merge(first.tipId, second.tipId, '再次合并', analyst)).rejects.toBeInstanceOf(ConflictError);
    await expect(service.merge(second.tipId, first.tipId, '反向合并', analyst)).rejects.toBeInstanceOf(ConflictError);
    // the merged tip's reporter view does not name the other tip
    expect(JSON.stringify(await service.followTip(first.receipt))).not.toContain(second.tipId);
  });

  it('refuses a merge by a non-analyst and into the tip itself', async () => {
    const { service } = setup();
    const a = await service.submitTip(input());
    await expect(service.merge(a.tipId, a.tipId, '重复', analyst)).rejects.toBeInstanceOf(ValidationError);
    await expect(service.merge(a.tipId, a.tipId, '重复', rewardPost)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('lists overdue tips with their flags', async () => {
    const { store, service } = setup();
    const a = await service.submitTip(input());
    const rec = store.tips.get(a.tipId);
    if (rec) store.tips.set(a.tipId, { ...rec, tip: { ...rec.tip, receivedAt: '2025-02-20T02:00:00.000Z' } });
    await service.submitTip(input()); // received now: not overdue
    const overdue = await service.overdue(100);
    expect(overdue.map((t) => [t.id, t.overdue])).toEqual([[a.tipId, { triage: true, conclusion: false }]]);
  });
});

describe('TipService intake with the slow receipt hash', () => {
  const small = (code: string) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 });
  const emptySources = (events: string[]): TriageSources => ({
    enterprise: async () => undefined,
    enterprisesInTownship: async () => [],
    openAlarms: async () => [],
    tipsByPlace: async () => {
      events.push('links');
      return [];
    },
    tipsByUnit: async () => [],
  });
  const service = (store: MemoryTipStore, hashReceipt: (code: string) => Promise<string>, events: string[]) =>
    new TipService({
      store,
      vault: new IdentityVault(new LocalKeys(), () => NOW),
      evidence: finalizer,
      now: () => NOW,
      newId: () => ulid(),
      hashReceipt,
      triage: emptySources(events),
    });

  it('starts the receipt hash before the triage links are queried, so the two overlap', async () => {
    const events: string[] = [];
    const store = new MemoryTipStore();
    const hash = async (code: string) => {
      events.push('hash');
      return small(code);
    };
    const out = await service(store, hash, events).submitTip(input());
    expect(events).toEqual(['hash', 'links']);
    const code = out.receipt.replaceAll(' ', '');
    const stored = store.receipts.get(code.slice(0, 7));
    expect(stored?.tipId).toBe(out.tipId);
    expect(await verifySecret(code, stored?.hash ?? '')).toBe(true);
  });

  it('fails with the hash error when the hash fails, and stores nothing', async () => {
    const store = new MemoryTipStore();
    const failing = async () => {
      throw new Error('scrypt: memory limit exceeded');
    };
    await expect(service(store, failing, []).submitTip(input())).rejects.toThrow('scrypt: memory limit exceeded');
    expect(store.tips.size).toBe(0);
  });

  it('refuses a bad upload with its field while the hash is still running, leaving no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = new MemoryTipStore();
      const slowFailing = () =>
        new Promise<string>((_, reject) => setTimeout(() => reject(new Error('scrypt failed late')), 20));
      const err = await service(store, slowFailing, [])
        .submitTip(input({ uploadIds: ['0BADQ8X7K2M4V6W8Y0A1B2C3D4'] }))
        .catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.issues[0].field).toBe('body.uploadIds.0');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      expect(store.tips.size).toBe(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('TipService reward claim by an anonymous reporter', () => {
  const claimant = { name: '匿名甲', phone: '13700002222', idNumber: '331126199002020021' };
  const anonymous = () => input({ reporter: { kind: 'anonymous' }, commendationConsent: false });
  async function substantiated(service: TipService, tipId: string) {
    for (const to of ['triaging', 'verifying', 'substantiated'] as const) {
      await service.setStatus(tipId, to, undefined, analyst);
    }
  }

  it('is open only once the report is found true, and says so in the view', async () => {
    const { service } = setup();
    const { tipId, receipt } = await service.submitTip(anonymous());
    expect((await service.followTip(receipt)).reward).toEqual({ claimable: false });
    const early = await service.claimReward(receipt, claimant).catch((e) => e);
    expect(early).toBeInstanceOf(ConflictError);
    expect(early.message).toContain('线索尚未查实');
    await substantiated(service, tipId);
    expect((await service.followTip(receipt)).reward).toEqual({ claimable: true });
  });

  it('seals the identity for the reward post only, logs the claim and lets the reporter see every opening', async () => {
    const { store, keys, service } = setup();
    const { tipId, receipt } = await service.submitTip(anonymous());
    await substantiated(service, tipId);
    await expect(service.openIdentity(tipId, '发放举报奖励', rewardPost)).rejects.toBeInstanceOf(NotFoundError);

    const view = await service.claimReward(receipt, claimant);
    expect(view.reward).toEqual({ claimable: false, claimedAt: NOW.toISOString() });
    expect(keys.decrypts).toBe(0);
    const stored = store.tips.get(tipId);
    expect(stored?.tip).toMatchObject({ reporterKind: 'anonymous', rewardClaimedAt: NOW.toISOString() });
    expect(store.audit.at(-1)).toEqual({
      actor: 'reporter',
      action: 'tip.reward_claimed',
      entity: `tip/${tipId}`,
      at: NOW.toISOString(),
    });
    const plain = JSON.stringify({ tips: [...store.tips.values()], entries: [...store.entries], audit: store.audit });
    for (const secret of Object.values(claimant)) {
      expect(plain).not.toContain(secret);
      expect(JSON.stringify(view)).not.toContain(secret);
      expect(JSON.stringify(store.identities.get(tipId))).not.toContain(secret);
    }

    await expect(service.openIdentity(tipId, '核实举报人身份', analyst)).rejects.toBeInstanceOf(ForbiddenError);
    const opened = await service.openIdentity(tipId, '核实举报人身份', rewardPost);
    expect(opened.identity).toEqual(claimant);
    expect((await service.followTip(receipt)).identityAccess).toEqual([
      { at: NOW.toISOString(), by: '奖励岗李四', reason: '核实举报人身份' },
    ]);
  });

  it('refuses a second claim, a real-name tip and a tip found untrue, writing nothing', async () => {
    const { store, service } = setup();
    const { tipId, receipt } = await service.submitTip(anonymous());
    await substantiated(service, tipId);
    await service.claimReward(receipt, claimant);
    const before = { audit: store.audit.length, identity: JSON.stringify(store.identities.get(tipId)) };
    const again = await service.claimReward(receipt, { ...claimant, name: '冒领者' }).catch((e) => e);
    expect(again).toBeInstanceOf(ConflictError);
    expect(again.message).toContain('已提交奖励申领');
    expect({ audit: store.audit.length, identity: JSON.stringify(store.identities.get(tipId)) }).toEqual(before);

    const named = await service.submitTip(input());
    await substantiated(service, named.tipId);
    const realName = await service.claimReward(named.receipt, claimant).catch((e) => e);
    expect(realName).toBeInstanceOf(ConflictError);
    expect(realName.message).toContain('实名举报无需申领');

    const untrue = await service.submitTip(anonymous());
    for (const to of ['triaging', 'verifying', 'unsubstantiated', 'closed'] as const) {
      await service.setStatus(untrue.tipId, to, undefined, analyst);
    }
    await expect(service.claimReward(untrue.receipt, claimant)).rejects.toBeInstanceOf(ConflictError);
    await expect(service.claimReward('0000 0000 0000 0000', claimant)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stays open after the case is opened and closed, and follows the finding of a merged tip group', async () => {
    const { service } = setup();
    const primary = await service.submitTip(anonymous());
    const dup = await service.submitTip(anonymous());
    await service.setStatus(dup.tipId, 'triaging', undefined, analyst);
    await service.merge(dup.tipId, primary.tipId, '同一排污口', analyst);
    expect((await service.followTip(dup.receipt)).reward.claimable).toBe(false);
    await substantiated(service, primary.tipId);
    await service.setStatus(primary.tipId, 'case_opened', undefined, analyst);
    await service.setStatus(primary.tipId, 'closed', undefined, analyst);
    expect((await service.followTip(primary.receipt)).reward.claimable).toBe(true);
    expect((await service.followTip(dup.receipt)).reward.claimable).toBe(true);
    expect((await service.claimReward(dup.receipt, claimant)).reward.claimedAt).toBe(NOW.toISOString());
  });

  it('reads the tip again when an official changed it meanwhile', async () => {
    const { store, service } = setup();
    const { tipId, receipt } = await service.submitTip(anonymous());
    await substantiated(service, tipId);
    store.staleClaims = 1;
    expect((await service.claimReward(receipt, claimant)).reward.claimedAt).toBe(NOW.toISOString());
    expect(store.audit.filter((a) => a.action === 'tip.reward_claimed')).toHaveLength(1);
  });
});
