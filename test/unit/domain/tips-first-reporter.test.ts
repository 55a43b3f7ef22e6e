import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
import { StaffTipInput, TipInput } from '#shared/domain/tips/model.ts';
import { type Official, TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault } from '#shared/domain/tips/vault.ts';
import { LocalKeys, MemoryEvidence, MemoryTipStore } from '../helpers/memory-tips.ts';

/**
 * The first valid reporter of a merged group, through the use-cases: merge order, later findings and staff-entered
 * report times (docs/domain.md §5.1). Songyuan subdistrict, the boiler house of the Qingyuan seed.
 */
const analyst: Official = { sub: 'u-analyst', name: '研判员王五', roles: ['analyst'] };
const duty: Official = { sub: 'u-duty', roles: ['duty_officer'] };

function setup() {
  const store = new MemoryTipStore();
  let clock = new Date('2026-03-10T02:00:00.000Z');
  const service = new TipService({
    store,
    vault: new IdentityVault(new LocalKeys(), () => clock),
    evidence: new MemoryEvidence(),
    now: () => clock,
    newId: () => ulid(clock.getTime()),
    hashReceipt: (code) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 }),
  });
  /** submits a public tip at `at` (the reporter's receipt time) */
  const submitAt = async (at: string) => {
    clock = new Date(at);
    return (await service.submitTip(webTip())).tipId;
  };
  const setClock = (at: string) => {
    clock = new Date(at);
  };
  const first = async (tipId: string) => (await service.getTip(tipId)).tip.firstReporterTipId;
  return { store, service, submitAt, setClock, first };
}

const webTip = (over: Record<string, unknown> = {}) =>
  TipInput.parse({
    category: 'air',
    description: '供热站烟囱夜间冒黑烟',
    location: { townshipId: 'songyuan', address: '松源街道供热站' },
    observedAt: '2026-03-05T21:00:00+08:00',
    reporter: { kind: 'real_name', identity: { name: '张三', phone: '13800001111' } },
    ...over,
  });

const letter = (reportedAt?: string) =>
  StaffTipInput.parse({
    ...webTip(),
    reporter: { kind: 'real_name', identity: { name: '李四', phone: '13900002222' } },
    channel: 'letter',
    ...(reportedAt ? { reportedAt } : {}),
  });

describe('TipService: first valid reporter of a merged group', () => {
  it('is the earliest valid report whatever the order analysts merge in and whichever tip is primary', async () => {
    const { service, submitAt, first } = setup();
    const a = await submitAt('2026-03-06T01:00:00.000Z');
    const b = await submitAt('2026-03-07T01:00:00.000Z');
    const c = await submitAt('2026-03-08T01:00:00.000Z');
    // the latest tip is made primary, the earliest is merged into the middle one first
    await service.merge(a, b, '同一烟囱重复举报', analyst);
    const out = await service.merge(b, c, '同一烟囱重复举报', analyst);
    expect(out.primary.tip.firstReporterTipId).toBe(a);
    expect(out.merged.tip.firstReporterTipId).toBe(a);
    // every member of the group, down to the tip merged into a merged tip, says the same
    for (const id of [a, b, c]) expect(await first(id)).toBe(a);
    expect((await service.getTip(c)).tip.firstReportedAt).toBe('2026-03-06T01:00:00.000Z');
  });

  it('passes to the next valid report when the first is found unsubstantiated, and stays there once it is closed', async () => {
    const { service, submitAt, first } = setup();
    const a = await submitAt('2026-03-06T01:00:00.000Z');
    const b = await submitAt('2026-03-07T01:00:00.000Z');
    await service.merge(b, a, '重复举报', analyst);
    expect(await first(a)).toBe(a);
    await service.setStatus(a, 'triaging', undefined, analyst);
    await service.setStatus(a, 'verifying', undefined, analyst);
    await service.setStatus(a, 'unsubstantiated', undefined, analyst);
    expect(await first(a)).toBe(b);
    expect(await first(b)).toBe(b);
    await service.setStatus(a, 'closed', undefined, analyst);
    expect((await service.getTip(a)).tip).toMatchObject({ status: 'closed', finding: 'unsubstantiated' });
    expect(await first(a)).toBe(b);
  });

  it('keeps first place for a report that was substantiated and then closed', async () => {
    const { service, submitAt, first } = setup();
    const a = await submitAt('2026-03-06T01:00:00.000Z');
    const b = await submitAt('2026-03-07T01:00:00.000Z');
    await service.merge(a, b, '重复举报', analyst);
    for (const s of ['triaging', 'verifying', 'substantiated', 'closed'] as const) {
      await service.setStatus(a, s, undefined, analyst);
    }
    expect((await service.getTip(a)).tip.finding).toBe('substantiated');
    expect(await first(b)).toBe(a);
  });

  it('ranks a letter by the day the bureau received it, not the day staff entered it', async () => {
    const { store, service, submitAt, setClock, first } = setup();
    const web = await submitAt('2026-03-08T01:00:00.000Z');
    setClock('2026-03-10T02:00:00.000Z');
    const { tipId: entered } = await service.staffIntake(letter('2026-03-07T00:30:00.000Z'), duty);
    const stored = store.tips.get(entered)?.tip;
    expect(stored).toMatchObject({
      channel: 'letter',
      enteredBy: 'u-duty',
      receivedAt: '2026-03-10T02:00:00.000Z',
      reportedAt: '2026-03-07T00:30:00.000Z',
    });
    // the claimed report time is in the audit entry, next to who entered it
    expect(store.audit.at(-1)).toMatchObject({
      actor: 'u-duty',
      action: 'tip.submit',
      detail: { channel: 'letter', reportedAt: '2026-03-07T00:30:00.000Z' },
    });
    await service.merge(web, entered, '来信与网络举报为同一问题', analyst);
    expect(await first(web)).toBe(entered);
    expect((await service.getTip(entered)).tip.firstReportedAt).toBe('2026-03-07T00:30:00.000Z');
  });

  it('dates a staff tip without a report time at its entry, and a web tip at its receipt', async () => {
    const { store, service, submitAt, setClock } = setup();
    const web = await submitAt('2026-03-08T01:00:00.000Z');
    expect(store.tips.get(web)?.tip.reportedAt).toBe('2026-03-08T01:00:00.000Z');
    setClock('2026-03-10T02:00:00.000Z');
    const { tipId } = await service.staffIntake(letter(), duty);
    expect(store.tips.get(tipId)?.tip.reportedAt).toBe('2026-03-10T02:00:00.000Z');
    expect(store.audit.at(-1)?.detail).not.toHaveProperty('reportedAt');
  });

  it('refuses a report time in the future or before the observation, and a citizen cannot give one at all', async () => {
    const { store, service, setClock } = setup();
    setClock('2026-03-10T02:00:00.000Z');
    for (const [reportedAt, zh] of [
      ['2026-03-11T00:00:00.000Z', '收到举报的时间不能晚于现在'],
      ['2026-03-05T12:00:00.000Z', '收到举报的时间不能早于发现时间'],
    ] as const) {
      const err = await service.staffIntake(letter(reportedAt), duty).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.issues).toEqual([expect.objectContaining({ field: 'body.reportedAt', messageZh: zh })]);
    }
    expect(store.tips.size).toBe(0);
    expect(TipInput.safeParse({ ...webTip(), reportedAt: '2026-03-06T00:00:00.000Z' }).success).toBe(false);
  });

  it('is the tip itself for a lone valid tip, and absent when no report of the group is valid', async () => {
    const { service, submitAt, first } = setup();
    const a = await submitAt('2026-03-06T01:00:00.000Z');
    expect(await first(a)).toBe(a);
    await service.setStatus(a, 'triaging', undefined, analyst);
    await service.setStatus(a, 'unsubstantiated', undefined, analyst);
    expect(await first(a)).toBeUndefined();
    expect((await service.getTip(a)).tip).not.toHaveProperty('firstReportedAt');
  });
});
