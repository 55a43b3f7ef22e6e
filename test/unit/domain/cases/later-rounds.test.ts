import { describe, expect, it } from 'vitest';
import type { Case } from '#shared/domain/cases/model.ts';
import { rewardLines } from '#shared/domain/cases/reward.ts';
import { laterRound, roundOfExecution } from '#shared/domain/cases/rules.ts';

/** The reward rounds after the first, pure (rules.ts laterRound, roundOfExecution). */
const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';
const conviction = rewardLines({ conviction: { reference: '（2026）浙1126刑初45号' } });

describe('later rounds (pure)', () => {
  const noDecision: Pick<Case, 'decision'> = {};

  it('pays only the new component after a paid penalty, as round 2', () => {
    const next = laterRound(
      noDecision,
      {
        rounds: [],
        granted: [{ component: 'penalty', amountFen: 600_000, round: 1, grantedAt: '2026-05-20T00:00:00.000Z' }],
      },
      'conviction',
      '（2026）浙1126刑初45号',
    );
    expect(next).toMatchObject({ round: 2, totalFen: 1_000_000 });
    expect(next.lines.map((l) => l.component)).toEqual(['conviction']);
  });

  it('pays nothing for a component a started round already pays', () => {
    const next = laterRound(
      noDecision,
      { rounds: [{ round: 2, lines: conviction, startedAt: '2026-05-21T00:00:00.000Z' }], granted: [] },
      'conviction',
      '（2026）浙1126刑初45号',
    );
    expect(next.totalFen).toBe(0);
    expect(next.lines).toEqual([]);
  });

  it('never re-pays round 1’s penalty from the case’s penalty decision, paid or not', () => {
    const decided = {
      decision: {
        type: 'administrative_penalty',
        decisionNumber: '庆环罚〔2026〕8号',
        decidedOn: '2026-04-07',
        legalBasis: '《水污染防治法》第八十三条第二项',
        fineFen: 12_000_000,
        items: [{ kind: 'fine' }],
        decidedBy: 'u-chief-01',
        decidedAt: '2026-04-07T02:00:00.000Z',
      },
    } as unknown as Pick<Case, 'decision'>;
    const next = laterRound(decided, { rounds: [], granted: [] }, 'detention', '庆公（治）决字〔2026〕77号');
    expect(next).toMatchObject({ round: 2, totalFen: 500_000 });
    expect(next.lines.map((l) => l.component)).toEqual(['detention']);
  });

  it('reads the round from a reward execution name, and nothing from another workflow’s', () => {
    const arn = (name: string) => `arn:aws:states:cn-northwest-1:123456789012:execution:envwatch-reward:${name}`;
    expect(roundOfExecution(arn(`reward-${CASE_ID}-3`), CASE_ID)).toBe(3);
    expect(roundOfExecution(arn(`transfer-${CASE_ID}-1`), CASE_ID)).toBeUndefined();
    expect(roundOfExecution(arn(`reward-01JQ7Z3K9M2V4X6Y8A0B1C2D9Z-1`), CASE_ID)).toBeUndefined();
  });
});
