/**
 * Deterministic pseudo-random numbers for the simulator (mulberry32): the same `--seed` gives the same values for
 * the same device and sample index, whatever the wall clock does. Not for cryptography.
 */
export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  /** standard normal (Box–Muller) */
  normal(): number;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal() {
      const u = Math.max(next(), 1e-12);
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A stable 32-bit seed for one device: the run's seed mixed with its MN (FNV-1a). */
export function deviceSeed(seed: number, mn: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < mn.length; i++) {
    h ^= mn.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
