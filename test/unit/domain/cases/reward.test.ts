import { describe, expect, it } from 'vitest';
import {
  computeReward,
  formatYuan,
  type GrantedComponent,
  penaltyReward,
  type RewardClue,
  type RewardDecisions,
  type RewardInput,
  type RewardReporter,
  rewardDelta,
} from '#shared/domain/cases/reward.ts';
import { ValidationError } from '#shared/domain/errors.ts';

/**
 * Zhejiang reward rules (浙环发〔2020〕15号, docs/domain.md §5.2) on Qingyuan cases. All amounts in fen.
 * Fines follow the penalty scale of docs/domain.md §4.5 (water: CNY 100k–1M under Water Law Art.83).
 */
const reporter = (over: Partial<RewardReporter> = {}): RewardReporter => ({
  firstValidReporter: true,
  kind: 'real_name',
  identityVerified: true,
  supervisoryStaff: false,
  closeRelativeOfStaff: false,
  declined: false,
  ...over,
});
const clue = (over: Partial<RewardClue> = {}): RewardClue => ({
  alreadyKnown: false,
  underInvestigation: false,
  alreadyOrderedToCorrect: false,
  untrue: false,
  malicious: false,
  ...over,
});
const input = (
  decisions: RewardDecisions,
  r: Partial<RewardReporter> = {},
  c: Partial<RewardClue> = {},
): RewardInput => ({
  reporter: reporter(r),
  clue: clue(c),
  decisions,
});
const penalty = (fineFen: number) => ({ decisionNumber: '庆环罚〔2026〕8号', fineFen });
const APPROVERS = ['handler', 'section_chief', 'bureau_head'];

describe('computeReward: the worked table', () => {
  // case                                        decisions                                    total fen   approvals
  const table: [string, RewardInput, number, string[]][] = [
    ['fine CNY 300,000 → 5% = CNY 15,000', input({ penalty: penalty(30_000_000) }), 1_500_000, APPROVERS],
    ['fine CNY 2,000,000 → 5% = 100,000 (at the cap)', input({ penalty: penalty(200_000_000) }), 10_000_000, APPROVERS],
    ['fine CNY 3,000,000 → capped at CNY 100,000', input({ penalty: penalty(300_000_000) }), 10_000_000, APPROVERS],
    ['fine 1,234,567 fen → 61,728 fen (floor)', input({ penalty: penalty(1_234_567) }), 61_728, APPROVERS],
    [
      'penalty + detention + arrest + conviction stack',
      input({
        penalty: penalty(50_000_000),
        detention: { reference: '庆公（治）行罚决字〔2026〕31号' },
        arrest: { reference: '庆检捕〔2026〕5号' },
        conviction: { reference: '（2026）浙1126刑初45号' },
      }),
      2_500_000 + 500_000 + 1_000_000 + 1_000_000,
      APPROVERS,
    ],
    [
      'capped penalty + conviction: the cap applies to the 5% only',
      input({ penalty: penalty(400_000_000), conviction: { reference: '（2026）浙1126刑初46号' } }),
      11_000_000,
      APPROVERS,
    ],
    [
      'especially serious: county-approved CNY 300,000 on top, county government joins the chain',
      input({
        penalty: penalty(100_000_000),
        special: { approvedFen: 30_000_000, approvalReference: '庆政办〔2026〕12号' },
      }),
      5_000_000 + 30_000_000,
      [...APPROVERS, 'county_government'],
    ],
    [
      'bounty of CNY 500,000 (the cap), county government approves',
      input({ bounty: { approvedFen: 50_000_000, approvalReference: '庆政办〔2026〕20号' } }),
      50_000_000,
      [...APPROVERS, 'county_government'],
    ],
    ['reporter declined: nothing', input({ penalty: penalty(30_000_000) }, { declined: true }), 0, []],
    ['supervisory staff: excluded', input({ penalty: penalty(30_000_000) }, { supervisoryStaff: true }), 0, []],
    [
      'close relative of staff: excluded',
      input({ penalty: penalty(30_000_000) }, { closeRelativeOfStaff: true }),
      0,
      [],
    ],
    ['not the first valid reporter', input({ penalty: penalty(30_000_000) }, { firstValidReporter: false }), 0, []],
    ['clue already known', input({ penalty: penalty(30_000_000) }, {}, { alreadyKnown: true }), 0, []],
    [
      'anonymous, never came forward',
      input({ penalty: penalty(30_000_000) }, { kind: 'anonymous', identityVerified: false }),
      0,
      [],
    ],
    [
      'anonymous, claimed with the receipt and verified by the reward post',
      input({ penalty: penalty(30_000_000) }, { kind: 'anonymous', identityVerified: true }),
      1_500_000,
      APPROVERS,
    ],
    ['penalty without a fine (warning only): nothing payable', input({ penalty: penalty(0) }), 0, []],
  ];

  it.each(table)('%s', (_name, given, totalFen, approvals) => {
    const result = computeReward(given);
    expect(result.totalFen).toBe(totalFen);
    expect(result.approvals.map((a) => a.step)).toEqual(approvals);
    expect(Number.isSafeInteger(result.totalFen)).toBe(true);
    expect(result.totalFen).toBe(result.lines.reduce((s, l) => s + l.amountFen, 0));
  });

  it('marks the capped 5% line and explains the basis', () => {
    const [line] = computeReward(input({ penalty: penalty(300_000_000) })).lines;
    expect(line).toMatchObject({ component: 'penalty', amountFen: 10_000_000, capped: true });
    expect(line?.basis).toContain('capped');
    const [uncapped] = computeReward(input({ penalty: penalty(30_000_000) })).lines;
    expect(uncapped?.capped).toBeUndefined();
  });

  it('names every exclusion that applies, in both languages', () => {
    const result = computeReward(
      input({ penalty: penalty(30_000_000) }, { supervisoryStaff: true, declined: true }, { underInvestigation: true }),
    );
    expect(result.eligible).toBe(false);
    expect(result.exclusions.map((e) => e.code)).toEqual(['supervisory_staff', 'clue_under_investigation', 'declined']);
    expect(result.exclusions[0]?.reasonZh).toContain('监管职责');
    expect(result.lines).toEqual([]);
  });

  it('excludes untrue and malicious reports and clues already ordered to correct', () => {
    for (const c of [{ untrue: true }, { malicious: true }, { alreadyOrderedToCorrect: true }]) {
      expect(computeReward(input({ penalty: penalty(30_000_000) }, {}, c)).eligible).toBe(false);
    }
  });
});

describe('penaltyReward rounding and validation', () => {
  it('rounds 5% down to the fen and caps at CNY 100,000', () => {
    expect(penaltyReward(19)).toEqual({ amountFen: 0, capped: false });
    expect(penaltyReward(20)).toEqual({ amountFen: 1, capped: false });
    expect(penaltyReward(39)).toEqual({ amountFen: 1, capped: false });
    expect(penaltyReward(200_000_000)).toEqual({ amountFen: 10_000_000, capped: false });
    expect(penaltyReward(200_000_020)).toEqual({ amountFen: 10_000_000, capped: true });
  });

  it('refuses fractional, negative or unsafe fines', () => {
    expect(() => penaltyReward(100.5)).toThrow(ValidationError);
    expect(() => penaltyReward(-1)).toThrow(ValidationError);
    expect(() => penaltyReward(Number.MAX_SAFE_INTEGER + 1)).toThrow(ValidationError);
  });

  it('refuses a special amount or a bounty above CNY 500,000 or in fractions of a fen', () => {
    expect(() =>
      computeReward(input({ special: { approvedFen: 50_000_001, approvalReference: '庆政办〔2026〕12号' } })),
    ).toThrow(/special\.approvedFen/);
    expect(() =>
      computeReward(input({ bounty: { approvedFen: 50_000_001, approvalReference: '庆政办〔2026〕20号' } })),
    ).toThrow(ValidationError);
    expect(() =>
      computeReward(input({ bounty: { approvedFen: 1.5, approvalReference: '庆政办〔2026〕20号' } })),
    ).toThrow(ValidationError);
    expect(
      computeReward(input({ special: { approvedFen: 50_000_000, approvalReference: '庆政办〔2026〕12号' } })).totalFen,
    ).toBe(50_000_000);
  });
});

describe('rewardDelta: later decisions without paying twice', () => {
  const afterPenalty: RewardDecisions = { penalty: penalty(60_000_000) };
  const paid: GrantedComponent[] = [{ component: 'penalty', amountFen: 3_000_000 }];

  it('adds only the conviction after a penalty already paid', () => {
    const delta = rewardDelta(paid, input({ ...afterPenalty, conviction: { reference: '（2026）浙1126刑初45号' } }));
    expect(delta.lines.map((l) => l.component)).toEqual(['conviction']);
    expect(delta.totalFen).toBe(1_000_000);
    expect(delta.alreadyGranted).toEqual(['penalty']);
    expect(delta.result.totalFen).toBe(4_000_000);
    expect(delta.approvals.map((a) => a.step)).toEqual(APPROVERS);
  });

  it('pays nothing when the same decisions come again (retry)', () => {
    const delta = rewardDelta(paid, input(afterPenalty));
    expect(delta.lines).toEqual([]);
    expect(delta.totalFen).toBe(0);
    expect(delta.approvals).toEqual([]);
  });

  it('is idempotent after the new lines are recorded', () => {
    const all = input({
      ...afterPenalty,
      detention: { reference: '庆公（治）行罚决字〔2026〕31号' },
      arrest: { reference: '庆检捕〔2026〕5号' },
    });
    const first = rewardDelta(paid, all);
    expect(first.totalFen).toBe(1_500_000);
    const ledger = [...paid, ...first.lines.map((l) => ({ component: l.component, amountFen: l.amountFen }))];
    expect(rewardDelta(ledger, all).totalFen).toBe(0);
  });

  it('flags a component whose amount changed since it was granted, and does not re-pay it', () => {
    const delta = rewardDelta(paid, input({ penalty: penalty(40_000_000) }));
    expect(delta.totalFen).toBe(0);
    expect(delta.discrepancies).toEqual([{ component: 'penalty', grantedFen: 3_000_000, nowFen: 2_000_000 }]);
  });

  it('brings in the county government only when the new round holds a special amount or a bounty', () => {
    const delta = rewardDelta(
      paid,
      input({ ...afterPenalty, special: { approvedFen: 20_000_000, approvalReference: '庆政办〔2026〕12号' } }),
    );
    expect(delta.approvals.map((a) => a.step)).toEqual([...APPROVERS, 'county_government']);
    expect(delta.totalFen).toBe(20_000_000);
  });

  it('pays nothing to a reporter who declined after the first round', () => {
    const delta = rewardDelta(
      paid,
      input({ ...afterPenalty, arrest: { reference: '庆检捕〔2026〕5号' } }, { declined: true }),
    );
    expect(delta.totalFen).toBe(0);
  });
});

describe('formatYuan', () => {
  it('formats fen as yuan with integer arithmetic', () => {
    expect(formatYuan(10_000_000)).toBe('100,000.00');
    expect(formatYuan(61_728)).toBe('617.28');
    expect(formatYuan(5)).toBe('0.05');
  });
});
