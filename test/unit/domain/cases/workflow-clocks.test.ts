import { describe, expect, it } from 'vitest';
import { computeDeadline } from '#shared/domain/cases/deadlines.ts';
import {
  ESCALATION_WINDOW_HOURS,
  enterStep,
  escalateTimer,
  FLOWS,
  FOLLOW_UP_PERIOD,
  followUpTimer,
  hasTimer,
  serviceLevelOf,
  TRANSFER_STEP_SLA,
  type WorkflowName,
} from '#shared/domain/cases/timers.ts';
import { TRANSFER_FLOW } from '#shared/domain/cases/transfer.ts';
import { checkDefinition, type StepDef, stepFunctionsOutline } from '#shared/domain/cases/workflow.ts';

/**
 * Every human wait has a clock (timers.ts): the statutory deadlines, the bureau's service levels where no statute
 * sets one, and the criminal proceedings, which no execution waits on (the periodic follow-up keeps them).
 */
const AT = new Date('2026-09-29T02:00:00Z'); // Tue 10:00 Beijing, before the Mid-Autumn and National Day breaks

const humanSteps = (workflow: WorkflowName) =>
  (Object.entries(FLOWS[workflow].steps) as [string, StepDef<string, string>][]).filter(
    ([, d]) => !d.terminal && !d.actors.includes('system'),
  );

describe('the clocks of the human steps', () => {
  it('gives every human wait of both workflows a timer; the followed-up step is no wait', () => {
    for (const workflow of ['reward', 'transfer'] as const) {
      for (const [step, def] of humanSteps(workflow)) {
        if (def.followUp) {
          expect(hasTimer(workflow, step), step).toBe(false);
          expect(FOLLOW_UP_PERIOD[step as keyof typeof FOLLOW_UP_PERIOD], step).toBeDefined();
        } else {
          expect(hasTimer(workflow, step), `${workflow} ${step}`).toBe(true);
          expect(enterStep(workflow, step, undefined, undefined, AT, 's').timeoutSeconds, step).toBeGreaterThan(0);
        }
      }
    }
    expect(
      humanSteps('transfer')
        .filter(([, d]) => d.followUp)
        .map(([s]) => s),
    ).toEqual(['criminal_proceedings']);
  });

  it('gives the transfer report 5 working days: past National Day, counting the worked Saturday', () => {
    const t = enterStep('transfer', 'report_drafting', undefined, undefined, AT, 's');
    expect(serviceLevelOf('transfer', 'report_drafting')).toEqual({ counting: 'working_days', amount: 5 });
    // 30 Sep, (1–7 Oct off), 8, 9, Sat 10 (worked), Mon 12 Oct → 24:00 Beijing
    expect(t).toMatchObject({
      basis: 'sla',
      dueAt: '2026-10-12T16:00:00.000Z',
      labelZh: '专案组撰写移送报告（5个工作日）',
    });
    expect(t.warnAt).toBe('2026-10-11T16:00:00.000Z');
    expect(t.timeoutSeconds).toBe((Date.parse('2026-10-12T16:00:00.000Z') - AT.getTime()) / 1000);
  });

  it('gives the police 24 hours to sign the receipt, by the clock, warning 6 hours before', () => {
    const t = enterStep('transfer', 'police_receipt', undefined, 'hand_over', AT, 's');
    expect(t).toMatchObject({
      basis: 'sla',
      dueAt: '2026-09-30T02:00:00.000Z',
      warnAt: '2026-09-29T20:00:00.000Z',
      timeoutSeconds: 86_400,
      labelZh: '公安机关接收（24小时）',
    });
    expect(t.calendarAssumed).toBeUndefined();
  });

  it('gives the procuratorate 30 days, a last day in a holiday rolling to the first working day after it', () => {
    const t = enterStep('transfer', 'procuratorate_supervision', undefined, 'request_supervision', AT, 's');
    expect(t).toMatchObject({ basis: 'sla', dueAt: '2026-10-29T16:00:00.000Z', labelZh: '检察机关立案监督（30日）' });
    // from Sat 5 Sep: 30 days end on 5 Oct, inside National Day → Thu 8 Oct
    const early = enterStep(
      'transfer',
      'procuratorate_supervision',
      undefined,
      undefined,
      new Date('2026-09-05T02:00:00Z'),
      's',
    );
    expect(early.dueAt).toBe('2026-10-08T16:00:00.000Z');
  });

  it('escalates a lapsed service level as a statutory deadline: 24 hours more, level by level', () => {
    const t = enterStep('transfer', 'report_drafting', undefined, undefined, AT, 's');
    const lapse = new Date(t.dueAt ?? '');
    const next = escalateTimer(t, lapse);
    expect(next).toMatchObject({ level: 1, timeoutSeconds: ESCALATION_WINDOW_HOURS * 3600, basis: 'sla' });
  });

  it('follows the criminal proceedings every 60 days, with no warning before and no stop', () => {
    const t = followUpTimer('transfer', 'criminal_proceedings', AT, 'seed');
    // 60 days from 29 Sep end on Sat 28 Nov → Mon 30 Nov, 24:00 Beijing
    expect(t).toMatchObject({
      step: 'criminal_proceedings',
      basis: 'follow_up',
      level: 0,
      dueAt: '2026-11-30T16:00:00.000Z',
      labelZh: '刑事诉讼进展反馈（每60日跟踪一次）',
    });
    expect(t.warnAt).toBeUndefined();
    expect(t.timeoutSeconds).toBeUndefined(); // no execution waits on it
    expect(followUpTimer('transfer', 'criminal_proceedings', AT, 'seed', 3).level).toBe(3);
    // a period reaching into a year without holiday data says so
    expect(
      followUpTimer('transfer', 'criminal_proceedings', new Date('2026-12-01T02:00:00Z'), 's').calendarAssumed,
    ).toEqual([2027]);
    expect(() => followUpTimer('transfer', 'head_decision', AT, 's')).toThrow(/not followed up/);
  });

  it('keeps the service levels as data the bureau confirms (docs/decisions.md)', () => {
    expect(TRANSFER_STEP_SLA).toEqual({
      report_drafting: { counting: 'working_days', amount: 5 },
      police_receipt: { counting: 'hours', amount: 24 },
      procuratorate_supervision: { counting: 'calendar_days', amount: 30 },
    });
    expect(FOLLOW_UP_PERIOD).toEqual({ criminal_proceedings: { counting: 'calendar_days', amount: 60 } });
    // a statutory step keeps its statute
    expect(enterStep('transfer', 'head_decision', undefined, undefined, AT, 's').dueAt).toBe(
      computeDeadline('head_decision', AT).dueAt,
    );
  });
});

describe('where the transfer execution hands over to the follow-up', () => {
  it('outlines the criminal proceedings as a hand-over, not a wait', () => {
    const outline = stepFunctionsOutline(TRANSFER_FLOW);
    expect(outline.find((o) => o.state === 'criminal_proceedings')?.type).toBe('FollowUp');
    expect(outline.filter((o) => o.type === 'FollowUp').map((o) => o.state)).toEqual(['criminal_proceedings']);
    // entered only once the police filed the case and the items were handed over
    const into = outline.filter((o) => Object.values(o.choices).includes('criminal_proceedings')).map((o) => o.state);
    expect(into.sort()).toEqual(['criminal_proceedings', 'items_handover']);
  });

  it('refuses a followed-up step that leads back into the state machine', () => {
    const broken = {
      ...TRANSFER_FLOW,
      steps: {
        ...TRANSFER_FLOW.steps,
        criminal_proceedings: {
          ...TRANSFER_FLOW.steps.criminal_proceedings,
          actions: {
            ...TRANSFER_FLOW.steps.criminal_proceedings.actions,
            record_detention: { next: 'police_review', labelZh: 'x' },
          },
        },
      },
    };
    expect(checkDefinition(broken as typeof TRANSFER_FLOW)).toEqual([
      'criminal_proceedings: a followed-up step may only end or stay',
    ]);
    expect(checkDefinition(TRANSFER_FLOW)).toEqual([]);
  });
});
