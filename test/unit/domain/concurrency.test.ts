import { describe, expect, it } from 'vitest';
import { forEachLimited } from '#shared/domain/concurrency.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('forEachLimited', () => {
  it('runs every item, never more than the limit at once, starting them in order', async () => {
    let inFlight = 0;
    let max = 0;
    const started: number[] = [];
    async function* items() {
      for (let i = 0; i < 25; i++) yield i;
    }
    await forEachLimited(items(), 4, async (i) => {
      started.push(i);
      inFlight++;
      max = Math.max(max, inFlight);
      for (let t = 0; t < 1 + (i % 3); t++) await tick();
      inFlight--;
    });
    expect(started).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(max).toBe(4);
    expect(inFlight).toBe(0);
  });

  it('starts nothing after a failure, lets what is in flight finish, then throws the failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = forEachLimited([0, 1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
      started.push(i);
      if (i === 1) throw new Error('device 1 failed');
      await tick();
      await tick();
      finished.push(i);
    });
    await expect(run).rejects.toThrow('device 1 failed');
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([0, 2]);
  });

  it('when the source fails, lets the work in flight finish before throwing', async () => {
    const finished: number[] = [];
    async function* items() {
      yield 0;
      yield 1;
      throw new Error('registry page failed');
    }
    const run = forEachLimited(items(), 4, async (i) => {
      for (let t = 0; t < 3; t++) await tick();
      finished.push(i);
    });
    await expect(run).rejects.toThrow('registry page failed');
    expect(finished).toEqual([0, 1]);
  });

  it('turns a synchronous throw of the work into the run failing', async () => {
    const work = (i: number): Promise<void> => {
      if (i === 0) throw new Error('sync');
      return Promise.resolve();
    };
    await expect(forEachLimited([0, 1], 2, work)).rejects.toThrow('sync');
  });

  it('refuses a limit that is not a positive integer', async () => {
    await expect(forEachLimited([1], 0, async () => {})).rejects.toThrow('positive integer');
  });
});
