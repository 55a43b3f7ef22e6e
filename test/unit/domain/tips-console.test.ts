import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
import type { EvidenceFinalizer, EvidenceViewer } from '#shared/domain/tips/evidence-port.ts';
import { TipInput } from '#shared/domain/tips/model.ts';
import type { TriageSources, UnitCandidate } from '#shared/domain/tips/triage.ts';
import { type Official, TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault } from '#shared/domain/tips/vault.ts';
import { LocalKeys, MemoryTipStore } from '../helpers/memory-tips.ts';

/**
 * What the officials' console asks of tips beyond triage: the queue narrowed by township, category and time; linking
 * a tip to a registered unit; and links to the metadata-stripped copies of its evidence, never to an original.
 */
const NOW = new Date('2025-03-02T08:00:00.000Z');
const PHOTO = '01JNZ3Q8X7K2M4V6W8Y0A1B2C3';
const VIDEO = '01JNZ3Q8X7K2M4V6W8Y0A1B2C4';
const BOILER: UnitCandidate = {
  id: '91331126MA2HT7XX1A',
  name: '示例供热站',
  location: { lat: 27.615, lng: 119.058 },
  townshipId: 'songyuan',
};
const FAR: UnitCandidate = { ...BOILER, id: '91331126MA2HT7YY2B', name: '竹口示例厂', townshipId: 'zhukou' };

const finalizer: EvidenceFinalizer = {
  async finalize({ owner, uploadIds }) {
    return uploadIds.map((id) => {
      const video = id === VIDEO;
      const base = `evidence/tip/${owner.id}/${id}`;
      return {
        id,
        kind: video ? ('video' as const) : ('photo' as const),
        contentType: video ? 'video/mp4' : 'image/jpeg',
        bytes: 1000,
        sha256: (video ? 'b' : 'a').repeat(64),
        originalKey: `${base}/original`,
        ...(video ? {} : { workingKey: `${base}/working.jpg` }),
        finalizedAt: NOW.toISOString(),
      };
    });
  },
};

function setup() {
  const store = new MemoryTipStore();
  const linked: string[] = [];
  const viewer: EvidenceViewer = {
    async link(key) {
      linked.push(key);
      return { url: `https://evidence.example/${key}?sig=1`, expiresAt: '2025-03-02T08:05:00.000Z' };
    },
  };
  const triage: TriageSources = {
    enterprise: async (id) => [BOILER, FAR].find((u) => u.id === id),
    enterprisesInTownship: async () => [],
    openAlarms: async () => [],
    tipsByPlace: async () => [],
    tipsByUnit: async () => [],
  };
  const service = new TipService({
    store,
    vault: new IdentityVault(new LocalKeys(), () => NOW),
    evidence: finalizer,
    viewer,
    triage,
    now: () => NOW,
    newId: () => ulid(),
    hashReceipt: (code) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 }),
  });
  return { store, service, linked };
}

const input = (over: Record<string, unknown> = {}) =>
  TipInput.parse({
    category: 'air',
    description: '供热站夜间冒黑烟',
    location: { townshipId: 'songyuan', address: '供热站东北侧' },
    observedAt: '2025-03-01T22:10:00+08:00',
    reporter: { kind: 'anonymous' },
    ...over,
  });

const analyst: Official = { sub: 'u-analyst', roles: ['analyst'] };

describe('TipService for the console', () => {
  it('narrows the queue by township, category and receipt time', async () => {
    const { store, service } = setup();
    const air = await service.submitTip(input());
    const water = await service.submitTip(input({ category: 'water' }));
    const elsewhere = await service.submitTip(input({ location: { townshipId: 'zhukou', address: '竹口' } }));
    const old = await service.submitTip(input());
    const rec = store.tips.get(old.tipId);
    if (rec) store.tips.set(old.tipId, { ...rec, tip: { ...rec.tip, receivedAt: '2025-02-01T00:00:00.000Z' } });

    const ids = async (filter: Parameters<TipService['queue']>[1]['filter']) =>
      (await service.queue('received', { limit: 50, ...(filter ? { filter } : {}) })).items.map((t) => t.id).sort();
    expect(await ids({ townshipId: 'zhukou' })).toEqual([elsewhere.tipId]);
    expect(await ids({ category: 'water' })).toEqual([water.tipId]);
    expect(await ids({ townshipId: 'songyuan', category: 'air', from: '2025-03-01T00:00:00+08:00' })).toEqual([
      air.tipId,
    ]);
    expect(await ids({ to: '2025-03-01T00:00:00Z' })).toEqual([old.tipId]);
    await expect(
      service.queue('received', { limit: 50, filter: { from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' } }),
    ).rejects.toMatchObject({
      issues: [expect.objectContaining({ field: 'query.to', messageZh: '结束时间须晚于开始时间' })],
    });
  });

  it('links a tip to a registered unit, audited, and refuses an unknown unit, a unit out of scope and a stale view', async () => {
    const { store, service } = setup();
    const { tipId } = await service.submitTip(input());
    const before = store.tips.get(tipId)?.version ?? 0;

    const stale = service.linkUnit(tipId, BOILER.id, before + 5, analyst);
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    const unknown = service.linkUnit(tipId, '91331126MA2HT7ZZ3C', before, analyst);
    await expect(unknown).rejects.toMatchObject({ issues: [expect.objectContaining({ field: 'body.enterpriseId' })] });
    const outside = service.linkUnit(tipId, FAR.id, before, analyst, (p) => p.townshipId === 'songyuan');
    await expect(outside).rejects.toBeInstanceOf(ValidationError);

    const linked = await service.linkUnit(tipId, BOILER.id, before, analyst, (p) => p.townshipId === 'songyuan');
    expect(linked.tip.suspectedUnit).toEqual({ kind: 'registered', enterpriseId: BOILER.id });
    expect(linked.version).toBe(before + 1);
    expect(store.audit.at(-1)).toMatchObject({
      actor: 'u-analyst',
      action: 'tip.unit_linked',
      detail: { enterpriseId: BOILER.id },
    });
  });

  it('keeps the unit of a tip already in a case', async () => {
    const { store, service } = setup();
    const { tipId } = await service.submitTip(input());
    const rec = store.tips.get(tipId);
    if (rec) store.tips.set(tipId, { ...rec, tip: { ...rec.tip, status: 'case_opened' } });
    await expect(service.linkUnit(tipId, BOILER.id, undefined, analyst)).rejects.toBeInstanceOf(ConflictError);
  });

  it('links the stripped copies of the evidence, later additions included, and never an original', async () => {
    const { service, linked } = setup();
    const { tipId, receipt } = await service.submitTip(input({ uploadIds: [PHOTO, VIDEO] }));
    const later = '01JNZ3Q8X7K2M4V6W8Y0A1B2C5';
    await service.addInfo(receipt, '补充一张照片', [later]);

    const items = await service.evidenceLinks(tipId);
    expect(items.map((i) => [i.evidenceId, i.source, i.kind])).toEqual([
      [PHOTO, 'tip', 'photo'],
      [VIDEO, 'tip', 'video'],
      [later, 'info', 'photo'],
    ]);
    expect(items[0]?.link?.url).toContain(`${PHOTO}/working.jpg`);
    expect(items[1]).toMatchObject({ sha256: 'b'.repeat(64), withheld: expect.stringContaining('不提供原件') });
    expect(items[1]?.link).toBeUndefined();
    expect(linked).toHaveLength(2);
    expect(linked.every((k) => k.endsWith('/working.jpg'))).toBe(true);
    expect(JSON.stringify(items)).not.toContain('/original');
  });

  it('answers 404 for the evidence of an unknown tip', async () => {
    const { service } = setup();
    await expect(service.evidenceLinks(ulid())).rejects.toBeInstanceOf(NotFoundError);
  });
});
