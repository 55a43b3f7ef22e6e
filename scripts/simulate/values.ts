import type { SimDevice } from './devices.ts';
import { createRng, deviceSeed, type Rng } from './rng.ts';

/**
 * Realistic values for one simulated DAQ, one real-time sample at a time (pure apart from the device's own RNG).
 *
 * - Factories run a day shift, 07:00–19:00 Beijing time (smooth ramps, a lunch dip): wastewater flow follows production
 *   closely, COD / NH3-N / SS less so; the sterilisation boiler and the coating line idle at night.
 * - The WWTP is smooth: a gentle two-peak daily wave on flow, small changes in concentrations.
 * - The gas-fired heating boiler runs around the clock with morning and evening peaks: NOx, SO2 and particulate track
 *   the load, O2 moves inversely between about 3.5 and 6 %, flue-gas temperature and flow follow the load.
 * Each value = profile × (1 + slow AR(1) drift + white noise); concentrations normally stay well under the outlet's limit.
 * Devices with electricity meters (ST=44) draw production power with the load and treatment power with production.
 * Injections (exceed, flag, flat, treatment-off) are applied on top; see `Injections`.
 */
export interface Reading {
  v: number;
  flag: string;
}

export interface Sample {
  /** acquisition instant, epoch ms (simulated time) */
  t: number;
  /** the real-time interval this sample stands for */
  seconds: number;
  values: Record<string, Reading>;
  /** SBx-RS: SB1 production, SB2 treatment facility (factory devices only) */
  facilities?: Record<string, number>;
  /** ST=44 electricity, kW: the production and treatment meters (devices with `power`) */
  power?: Record<string, number>;
}

export interface Injections {
  /** pollutant → factor × limit */
  exceed: Map<string, number>;
  /** pollutant → data flag letter */
  flags: Map<string, string>;
  /** pollutant → frozen value (undefined until the next sample fixes it) */
  flat: Map<string, number | undefined>;
  treatmentOff: boolean;
  /** simulated epoch ms until which the device is silent */
  gapUntil?: number;
  /**
   * HJ 212-2025: simulated epoch ms until which the link carries only heartbeats (9015); the device keeps measuring and
   * re-sends what it stored with RF=1 when the quiet period ends (runner.ts)
   */
  quietUntil?: number;
  /** the next n packets go out with a corrupted CRC */
  badCrc: number;
}

export const emptyInjections = (): Injections => ({
  exceed: new Map(),
  flags: new Map(),
  flat: new Map(),
  treatmentOff: false,
  badCrc: 0,
});

interface Profile {
  /** value at full load */
  base: number;
  /** multiplier when the plant is idle: < 1 falls with the load, 1 ignores it, > 1 rises when idle (O2) */
  idle: number;
  /** relative noise σ; `abs` for absolute σ */
  noise: number;
  abs?: boolean;
  decimals: number;
  /** physical bounds the analyser reports within */
  clamp?: [number, number];
}

/** Profiles by pattern; concentrations with a limit are given as a fraction of it (`ofLimit`). */
const FACTORY_WATER: Record<string, Profile & { ofLimit?: number }> = {
  w00000: { base: 3.2, idle: 0.08, noise: 0.05, decimals: 2 },
  w01001: { base: 7.3, idle: 1, noise: 0.06, abs: true, decimals: 2, clamp: [6.6, 8.2] },
  w01018: { base: 0, ofLimit: 0.45, idle: 0.55, noise: 0.06, decimals: 1 },
  w21003: { base: 0, ofLimit: 0.3, idle: 0.6, noise: 0.07, decimals: 2 },
  w01012: { base: 0, ofLimit: 0.38, idle: 0.5, noise: 0.08, decimals: 1 },
};
const WWTP_WATER: Record<string, Profile & { ofLimit?: number }> = {
  w00000: { base: 62, idle: 0.75, noise: 0.02, decimals: 1 },
  w01001: { base: 7.1, idle: 1, noise: 0.03, abs: true, decimals: 2, clamp: [6.6, 8.2] },
  w01018: { base: 0, ofLimit: 0.5, idle: 0.9, noise: 0.03, decimals: 1 },
  w21003: { base: 0, ofLimit: 0.22, idle: 0.85, noise: 0.04, decimals: 2 },
  w21001: { base: 0, ofLimit: 0.6, idle: 0.9, noise: 0.03, decimals: 2 },
  w21011: { base: 0, ofLimit: 0.45, idle: 0.9, noise: 0.04, decimals: 3 },
  w01012: { base: 0, ofLimit: 0.5, idle: 0.9, noise: 0.04, decimals: 1 },
};
const AIR: Record<string, Profile & { ofLimit?: number }> = {
  a00000: { base: 4.2, idle: 0.3, noise: 0.03, decimals: 2 },
  a01012: { base: 128, idle: 0.55, noise: 0.015, decimals: 1 },
  a19001: { base: 3.7, idle: 1.6, noise: 0.02, decimals: 2, clamp: [3.4, 6.2] },
  a21002: { base: 0, ofLimit: 0.24, idle: 0.4, noise: 0.05, decimals: 1 },
  a21026: { base: 0, ofLimit: 0.08, idle: 0.5, noise: 0.1, decimals: 2 },
  a34013: { base: 0, ofLimit: 0.12, idle: 0.5, noise: 0.08, decimals: 2 },
  a24088: { base: 14, idle: 0.08, noise: 0.08, decimals: 2 },
};
const FALLBACK: Profile = { base: 1, idle: 0.5, noise: 0.05, decimals: 2 };

/** Per-device adjustments so the plants do not look alike. */
const SCALE: Record<string, Partial<Record<string, number>>> = {
  BW01: { w00000: 1.3 },
  FW01: { w00000: 0.8 },
  PW01: { w00000: 0.5 },
  FA01: { a00000: 0.3, a01012: 0.85 },
  PA01: { a00000: 0.9, a01012: 0.28 },
};

function profileOf(device: SimDevice, code: string): Profile {
  const table = device.medium === 'air' ? AIR : device.pattern === 'wwtp' ? WWTP_WATER : FACTORY_WATER;
  const p = table[code];
  if (!p) return FALLBACK;
  const limit = device.limits[code]?.max;
  const base = p.ofLimit !== undefined ? p.ofLimit * (limit ?? 100) : p.base;
  const key = device.clonedFrom ? device.clonedFrom.slice(-4) : device.label;
  return { ...p, base: base * (SCALE[key]?.[code] ?? 1) };
}

/** Beijing hour of day with fraction, 0 ≤ h < 24. */
export function beijingHour(t: number): number {
  return (((t / 3_600_000 + 8) % 24) + 24) % 24;
}

const smoothstep = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/** 0–1: production running? Smooth ramps around 07:00 and 19:00, a dip at lunch. */
export function productionLevel(h: number): number {
  const on = smoothstep(h - 6.5) * (1 - smoothstep(h - 18.75));
  const lunch = h >= 12 && h < 13 ? 0.8 : 1;
  return on * lunch;
}

/** The plant's load (0–1) at time t for its pattern. */
export function load(pattern: SimDevice['pattern'], t: number): number {
  const h = beijingHour(t);
  if (pattern === 'factory') return productionLevel(h);
  if (pattern === 'wwtp') {
    // inflow peaks late morning and evening, lowest before dawn
    return 0.55 + 0.25 * Math.cos(((h - 10.5) / 24) * 2 * Math.PI) + 0.12 * Math.cos(((h - 20) / 12) * 2 * Math.PI);
  }
  // heating: 24 h, morning (06–09) and evening (17–22) peaks
  const bump = (c: number, w: number) => Math.exp(-(((h - c) / w) ** 2));
  return Math.min(1, 0.55 + 0.4 * bump(7.5, 1.5) + 0.35 * bump(19.5, 2.2));
}

/** Whether production (SB1) runs: factories in production hours, the heating station always. */
export const producing = (device: SimDevice, t: number): boolean =>
  device.pattern === 'factory' ? productionLevel(beijingHour(t)) > 0.5 : true;

const round = (v: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
};

/** The value generator of one device: call `sample(t)` in time order. */
export class ValueGenerator {
  private readonly rng: Rng;
  private readonly drift = new Map<string, number>();

  constructor(
    readonly device: SimDevice,
    seed: number,
  ) {
    this.rng = createRng(deviceSeed(seed, device.mn));
  }

  sample(t: number, inj: Injections = emptyInjections()): Sample {
    const d = this.device;
    const l = load(d.pattern, t);
    const values: Record<string, Reading> = {};
    for (const code of d.pollutants) {
      const p = profileOf(d, code);
      const drift = 0.92 * (this.drift.get(code) ?? 0) + 0.02 * this.rng.normal();
      this.drift.set(code, drift);
      const noise = this.rng.normal() * p.noise;
      let v: number;
      if (p.abs) v = p.base * p.idle + noise + drift * 0.5;
      else {
        // idle > 1 (O2) makes the value fall as the load rises
        v = p.base * (p.idle + (1 - p.idle) * l) * (1 + drift + noise);
      }
      const factor = inj.exceed.get(code);
      const limit = d.limits[code]?.max;
      if (factor !== undefined && limit !== undefined) v = factor * limit * (1 + 0.02 * this.rng.normal());
      if (p.clamp) v = Math.min(p.clamp[1], Math.max(p.clamp[0], v));
      v = Math.max(0, round(v, p.decimals));
      if (inj.flat.has(code)) {
        const frozen = inj.flat.get(code);
        if (frozen === undefined) inj.flat.set(code, v);
        else v = frozen;
      }
      values[code] = { v, flag: inj.flags.get(code) ?? 'N' };
    }
    const sample: Sample = { t, seconds: d.realtimeSeconds, values };
    if (d.facilities) {
      const sb1 = producing(d, t) ? 1 : 0;
      sample.facilities = { SB1: sb1, SB2: inj.treatmentOff ? 0 : sb1 };
    }
    if (d.power) {
      // production draws with the load (a little standby when stopped); treatment runs with production, or reads 0
      const on = producing(d, t);
      const kw = (base: number) => round(Math.max(0, base * (1 + 0.03 * this.rng.normal())), 1);
      sample.power = {
        [d.power.production]: on ? kw(20 + 60 * l) : kw(1.5),
        [d.power.treatment]: inj.treatmentOff ? 0 : on ? kw(6 + 4 * l) : kw(0.3),
      };
    }
    return sample;
  }
}
