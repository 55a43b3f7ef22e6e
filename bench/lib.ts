import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Small helpers shared by the bench files: timing, temp dirs, target checks. */

export const ROOT = resolve(import.meta.dirname, '..');

export const seconds = (ms: number) => Math.round(ms) / 1000;

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `envwatch-bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TargetCheck {
  target: string;
  value: number;
  limit: number;
  unit: string;
  pass: boolean;
}

/** `value` must be at most `limit`. */
export function atMost(target: string, value: number, limit: number, unit: string): TargetCheck {
  return { target, value, limit, unit, pass: value <= limit };
}

export const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1000) / 1000);
