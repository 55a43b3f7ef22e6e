import { describe, expect, it } from 'vitest';
import {
  canTransition,
  StaffTipInput,
  TIP_CATEGORY_LABELS,
  TIP_TRANSITIONS,
  TipCategory,
  TipInput,
  TipStatus,
} from '#shared/domain/tips/model.ts';
import {
  afterFailure,
  formatReceipt,
  generateReceipt,
  hashReceipt,
  isLocked,
  LOCK_MS,
  MAX_FAILURES,
  parseReceipt,
  type ReceiptGuard,
  verifyReceipt,
} from '#shared/domain/tips/receipt.ts';

const valid = {
  category: 'illegal_discharge',
  description: '夜间有白色废水从厂区东侧暗管排入松源溪',
  location: { townshipId: 'songyuan', address: '松源街道工业园区东侧', point: { lat: 27.62, lng: 119.06 } },
  observedAt: '2025-03-01T22:10:00+08:00',
  suspectedUnit: { kind: 'registered', enterpriseId: '91331126MA2BW0T89P' },
  reporter: { kind: 'real_name', identity: { name: '张三', phone: '13800001111' } },
  commendationConsent: true,
};

function issues(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('tip model', () => {
  it('accepts a complete real-name tip and defaults insider, consent and uploads', () => {
    const parsed = TipInput.parse({ ...valid, commendationConsent: undefined });
    expect(parsed.insider).toBe(false);
    expect(parsed.commendationConsent).toBe(false);
    expect(parsed.uploadIds).toEqual([]);
  });

  it('has a Chinese label for every category id', () => {
    expect(Object.keys(TIP_CATEGORY_LABELS).sort()).toEqual([...TipCategory.options].sort());
    expect(TIP_CATEGORY_LABELS.monitoring_fraud).toBe('篡改伪造监测数据');
  });

  it('names the failing field precisely when the point is outside the county', () => {
    const r = TipInput.safeParse({ ...valid, location: { ...valid.location, point: { lat: 30.2, lng: 120.1 } } });
    expect(issues(r)).toEqual(['location.point: location is outside Qingyuan county (坐标不在庆元县范围内)']);
  });

  it('refuses public commendation for an anonymous reporter', () => {
    const r = TipInput.safeParse({ ...valid, reporter: { kind: 'anonymous' } });
    expect(issues(r)).toEqual([
      'commendationConsent: an anonymous reporter cannot be commended publicly (匿名举报无法公开表彰)',
    ]);
  });

  it('refuses an invalid USCC, a bad phone, a long description and unknown fields', () => {
    const r = TipInput.safeParse({
      ...valid,
      description: 'x'.repeat(2001),
      suspectedUnit: { kind: 'registered', enterpriseId: '91331126MA2BW0T89X' },
      reporter: { kind: 'real_name', identity: { name: '张三', phone: '12345' } },
      extra: 1,
    });
    expect(issues(r)).toEqual(
      expect.arrayContaining([
        'description: at most 2000 characters (不能超过 2000 个字符)',
        'suspectedUnit.enterpriseId: must be a valid unified social credit code (须为有效的统一社会信用代码)',
        'reporter.identity.phone: phone must be a mainland mobile or landline number (请填写正确的 11 位手机号码或固定电话号码)',
      ]),
    );
    expect(issues(r).some((i) => i.includes('extra'))).toBe(true);
  });

  it('refuses upload ids that are not ULIDs and more than 20 files', () => {
    expect(issues(TipInput.safeParse({ ...valid, uploadIds: ['nope'] }))).toEqual([
      'uploadIds.0: upload id is a ULID from POST /evidence/uploads (上传编号为 POST /evidence/uploads 返回的 26 位 ULID)',
    ]);
    const many = Array.from({ length: 21 }, () => '01JNZ3Q8X7K2M4V6W8Y0A1B2C3');
    expect(issues(TipInput.safeParse({ ...valid, uploadIds: many }))).toEqual([
      'uploadIds: at most 20 files (最多 20 个文件)',
    ]);
  });

  it('refuses a description that is a NUL, a lone surrogate or only invisible characters', () => {
    for (const description of ['\u0000', 'ab\ud800', '\udc00cd', '\u200b\u3000 ', 'a\u202eb']) {
      expect(issues(TipInput.safeParse({ ...valid, description })), JSON.stringify(description)).toEqual([
        expect.stringMatching(/^description: .+ \(.*\p{Script=Han}.*\)$/u),
      ]);
    }
  });

  it('keeps line breaks in the description but none in the address or a name', () => {
    const parsed = TipInput.parse({ ...valid, description: ' 第一行\r\n第二行\t。 ' });
    expect(parsed.description).toBe('第一行\n第二行\t。');

    const r = TipInput.safeParse({
      ...valid,
      location: { ...valid.location, address: '松源\n街道' },
      reporter: { kind: 'real_name', identity: { name: '张\t三', phone: '13800001111' } },
    });
    expect(issues(r)).toEqual([
      expect.stringMatching(/^location\.address: character 3 is the control character U\+000A/),
      expect.stringMatching(/^reporter\.identity\.name: character 2 is the control character U\+0009/),
    ]);
  });

  it('lets staff record phone, letter, visit and patrol but not web', () => {
    expect(StaffTipInput.parse({ ...valid, channel: 'phone' }).channel).toBe('phone');
    expect(StaffTipInput.safeParse({ ...valid, channel: 'web' }).success).toBe(false);
  });
});

describe('tip status transitions', () => {
  it('follows received → triaging → verifying → substantiated → case_opened → closed', () => {
    const path: TipStatus[] = ['received', 'triaging', 'verifying', 'substantiated', 'case_opened', 'closed'];
    for (let i = 1; i < path.length; i++)
      expect(canTransition(path[i - 1] as TipStatus, path[i] as TipStatus)).toBe(true);
  });

  it('refuses skipping verification, reopening a closed tip and staying in place', () => {
    expect(canTransition('received', 'substantiated')).toBe(false);
    expect(canTransition('triaging', 'case_opened')).toBe(false);
    expect(TIP_TRANSITIONS.closed).toEqual([]);
    for (const s of TipStatus.options) expect(canTransition(s, s)).toBe(false);
  });
});

describe('receipts', () => {
  it('generates 16 digits without a leading zero whose first 7 are the selector', () => {
    for (let i = 0; i < 50; i++) {
      const r = generateReceipt();
      expect(r.code).toMatch(/^[1-9]\d{15}$/);
      expect(r.selector).toBe(r.code.slice(0, 7));
    }
  });

  it('parses grouped input and refuses anything that is not 16 digits', () => {
    const code = '1234567890123456';
    expect(parseReceipt(formatReceipt(code))).toEqual({ code, selector: '1234567' });
    expect(formatReceipt(code)).toBe('1234 5678 9012 3456');
    expect(parseReceipt('1234-5678-9012-3456')?.code).toBe(code);
    expect(parseReceipt('123456789012345')).toBeUndefined();
    expect(parseReceipt('12345678901234567')).toBeUndefined();
    expect(parseReceipt('abcd567890123456')).toBeUndefined();
    expect(parseReceipt(undefined)).toBeUndefined();
  });

  it('verifies the right code against its slow hash and refuses a wrong one or a missing hash', async () => {
    const { code } = generateReceipt();
    const stored = await hashReceipt(code);
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored).not.toContain(code);
    expect(await verifyReceipt(code, stored)).toBe(true);
    const wrong = `${code.slice(0, 15)}${(Number(code.slice(15)) + 1) % 10}`;
    expect(await verifyReceipt(wrong, stored)).toBe(false);
    expect(await verifyReceipt(code, undefined)).toBe(false);
  });

  it(`locks a selector after ${MAX_FAILURES} failures within the window, for the lock period`, () => {
    const t0 = new Date('2025-03-01T00:00:00Z');
    let guard: ReceiptGuard = { failures: 0 };
    for (let i = 1; i < MAX_FAILURES; i++) {
      const r = afterFailure(guard, new Date(t0.getTime() + i * 1000));
      expect(r.locked).toBe(false);
      guard = r.guard;
    }
    expect(guard.failures).toBe(MAX_FAILURES - 1);
    const last = afterFailure(guard, new Date(t0.getTime() + 60_000));
    expect(last.locked).toBe(true);
    expect(isLocked(last.guard, new Date(t0.getTime() + 61_000))).toBe(true);
    expect(isLocked(last.guard, new Date(t0.getTime() + 60_000 + LOCK_MS + 1))).toBe(false);
  });

  it('starts counting again when the previous failures are older than the window', () => {
    const t0 = new Date('2025-03-01T00:00:00Z');
    const guard: ReceiptGuard = { failures: MAX_FAILURES - 1, windowStart: t0.toISOString() };
    const r = afterFailure(guard, new Date(t0.getTime() + LOCK_MS + 1));
    expect(r).toEqual({
      guard: { failures: 1, windowStart: new Date(t0.getTime() + LOCK_MS + 1).toISOString() },
      locked: false,
    });
  });
});
