import { describe, expect, it } from 'vitest';
import { nextCron, parseCron, parseRate, startScheduler, transformInput } from '#infra/local/services/scheduler.ts';

describe('local scheduler', () => {
  it('computes the next run of a cron expression in UTC', () => {
    const cron = parseCron('0 16 * * ? *'); // 00:00 Beijing time
    expect(nextCron(cron, new Date('2026-11-29T08:00:00Z'))?.toISOString()).toBe('2026-11-29T16:00:00.000Z');
    expect(nextCron(cron, new Date('2026-11-29T16:00:00Z'))?.toISOString()).toBe('2026-11-30T16:00:00.000Z');
  });

  it('handles steps, ranges and weekday names', () => {
    const cron = parseCron('0/15 1-2 ? * MON-FRI *');
    // 2026-11-28 is a Saturday: the next match is Monday 01:00
    expect(nextCron(cron, new Date('2026-11-28T00:00:00Z'))?.toISOString()).toBe('2026-11-30T01:00:00.000Z');
    expect(nextCron(cron, new Date('2026-11-30T01:00:00Z'))?.toISOString()).toBe('2026-11-30T01:15:00.000Z');
  });

  it('rejects what it cannot honour with a clear message', () => {
    expect(() => parseCron('0 12 L * ? *')).toThrow(/L, W and # are not supported/);
    expect(() => parseCron('0 12 * *')).toThrow(/needs 6 fields/);
    expect(() => parseRate('1 minutes')).toThrow(/use "1 minute"/);
    expect(() => parseRate('5 weeks')).toThrow(/must be/);
    expect(() =>
      startScheduler({
        schedules: [{ ruleName: 'r', scheduleExpression: 'every 5 minutes', targets: [] }],
        invoke: async () => null,
      }),
    ).toThrow(/neither rate/);
  });

  it('parses rates into milliseconds', () => {
    expect(parseRate('1 minute')).toBe(60_000);
    expect(parseRate('5 minutes')).toBe(300_000);
    expect(parseRate('2 hours')).toBe(7_200_000);
  });

  it('fires a rule on demand with the scheduled-event shape', async () => {
    const seen: unknown[] = [];
    const scheduler = startScheduler({
      schedules: [{ ruleName: 'gaps', scheduleExpression: 'rate(1 day)', targets: [{ functionArn: 'fn' }] }],
      invoke: async (_ref, event) => {
        seen.push(event);
        return null;
      },
    });
    await scheduler.runNow('gaps');
    await scheduler.stop();
    expect(seen[0]).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: [expect.stringContaining('rule/gaps')],
    });
  });

  it('keeps each run of a rule: when, for which instant, how long its targets took, whether one failed', async () => {
    let fail = false;
    const scheduler = startScheduler({
      schedules: [
        {
          ruleName: 'gaps',
          scheduleExpression: 'rate(5 minutes)',
          targets: [{ functionArn: 'arn:aws:lambda:local:0:function:jobs', input: { job: 'data-gaps' } }],
        },
      ],
      invoke: async () => {
        await new Promise((r) => setTimeout(r, 20));
        if (fail) throw new Error('job failed');
      },
    });
    await scheduler.runNow('gaps', { time: new Date('2026-11-01T01:00:00Z') });
    fail = true;
    const second = scheduler.runNow('gaps');
    // a run still going is there already, marked running
    expect(scheduler.rules()[0]?.runs[1]).toMatchObject({ running: true, failed: false });
    await second;
    await scheduler.stop();
    const [rule] = scheduler.rules();
    expect(rule?.runs).toHaveLength(2);
    expect(rule?.runs[0]).toMatchObject({ scheduledFor: '2026-11-01T01:00:00.000Z', failed: false });
    expect(rule?.runs[0]?.ms).toBeGreaterThanOrEqual(15);
    expect(Date.parse(rule?.runs[0]?.startedAt ?? '')).toBeGreaterThan(Date.parse('2026-12-01T00:00:00Z'));
    expect(rule?.runs[1]?.failed).toBe(true);
    expect(rule?.runs[1]).not.toHaveProperty('running');
  });

  it("fires as if scheduled at a given time, through the target's input transformer", async () => {
    const seen: unknown[] = [];
    const scheduler = startScheduler({
      schedules: [
        {
          ruleName: 'calendar',
          scheduleExpression: 'cron(0 1 * * ? *)',
          targets: [
            {
              functionArn: 'fn',
              inputTransformer: { paths: { time: '$.time' }, template: '{"job":"calendar","time":<time>}' },
            },
          ],
        },
      ],
      invoke: async (_ref, event) => {
        seen.push(event);
        return null;
      },
    });
    await scheduler.runNow('calendar', { time: new Date('2026-11-01T01:00:00Z') });
    await scheduler.stop();
    expect(seen).toEqual([{ job: 'calendar', time: '2026-11-01T01:00:00Z' }]);
  });

  it('transforms like EventBridge: JSON outside strings, text inside, null when absent, predefined names', () => {
    const event = { time: '2026-11-01T01:00:00Z', detail: { n: 3, s: 'a"b' }, resources: ['arn:rule/r'] };
    const t = (template: string, paths: Record<string, string> = {}) => transformInput({ paths, template }, event, 'r');
    expect(t('{"d":<d>,"n":<n>,"x":<x>}', { d: '$.detail', n: '$.detail.n', x: '$.detail.missing' })).toEqual({
      d: { n: 3, s: 'a"b' },
      n: 3,
      x: null,
    });
    expect(t('{"m":"at <t> on <aws.events.rule-name>: <s>"}', { t: '$.time', s: '$.detail.s' })).toEqual({
      m: 'at 2026-11-01T01:00:00Z on r: a"b',
    });
    expect(t('{"arn":<aws.events.rule-arn>,"tag":"<b>"}')).toEqual({ arn: 'arn:rule/r', tag: '<b>' });
    expect(() =>
      startScheduler({
        schedules: [
          {
            ruleName: 'r',
            scheduleExpression: 'rate(1 day)',
            targets: [{ functionArn: 'fn', inputTransformer: { paths: { a: '$.detail[0]' }, template: '<a>' } }],
          },
        ],
        invoke: async () => null,
      }),
    ).toThrow(/is not supported locally/);
  });
});
