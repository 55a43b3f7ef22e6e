import { type Aggregate, aggregate, windowStart } from './aggregate.ts';
import type { SimDevice } from './devices.ts';
import type { Injections, Sample, ValueGenerator } from './values.ts';

/**
 * One device's clock-driven data (pure, simulated time only): a real-time sample every `realtimeSeconds` (aligned to
 * the clock), a minute packet when its `minuteMinutes` window closes and an hourly packet (CN 2061) at the top of each
 * hour. DataTime of minute and hourly data is the window's start (docs/domain.md §1.9). During a gap the device samples
 * nothing, and a window without samples sends nothing.
 */
export type DataKind = '2011' | '2051' | '2061';

export type Emission =
  | { cn: '2011'; dataTime: number; sample: Sample }
  | { cn: '2051' | '2061'; dataTime: number; values: Record<string, Aggregate>; facilities?: Record<string, number> };

interface Window {
  start: number;
  samples: Sample[];
}

export class Timeline {
  private next: number;
  private minute: Window | undefined;
  private hour: Window | undefined;

  constructor(
    readonly device: SimDevice,
    private readonly gen: ValueGenerator,
    startAt: number,
  ) {
    const step = device.realtimeSeconds * 1000;
    this.next = Math.ceil(startAt / step) * step;
  }

  /** the simulated time of the next real-time sample */
  get nextAt(): number {
    return this.next;
  }

  /** Everything due up to and including simulated time `now`, in order. */
  advance(now: number, inj: Injections): Emission[] {
    const out: Emission[] = [];
    const d = this.device;
    while (this.next <= now) {
      const t = this.next;
      this.next += d.realtimeSeconds * 1000;
      this.closeWindows(t, out);
      if (inj.gapUntil !== undefined && t < inj.gapUntil) continue;
      const sample = this.gen.sample(t, inj);
      out.push({ cn: '2011', dataTime: t, sample });
      const ms = windowStart(t, d.minuteMinutes);
      if (!this.minute || this.minute.start !== ms) this.minute = { start: ms, samples: [] };
      this.minute.samples.push(sample);
      const hs = windowStart(t, 60);
      if (!this.hour || this.hour.start !== hs) this.hour = { start: hs, samples: [] };
      this.hour.samples.push(sample);
    }
    return out;
  }

  private closeWindows(t: number, out: Emission[]): void {
    const d = this.device;
    if (this.minute && t >= this.minute.start + d.minuteMinutes * 60_000) {
      out.push(this.windowEmission('2051', this.minute));
      this.minute = undefined;
    }
    if (this.hour && t >= this.hour.start + 3_600_000) {
      out.push(this.windowEmission('2061', this.hour));
      this.hour = undefined;
    }
  }

  private windowEmission(cn: '2051' | '2061', w: Window): Emission {
    const last = w.samples[w.samples.length - 1];
    return {
      cn,
      dataTime: w.start,
      values: aggregate(w.samples, this.device.medium),
      ...(last?.facilities ? { facilities: last.facilities } : {}),
    };
  }
}
