/** Small synthetic per-minute series for model tests: a daily-ish sine with seeded noise. */
import { rng } from '../forecast/lstm/dataset.js';

export function sineSeries(minutes: number, opts: { period?: number; base?: number; amplitude?: number; noise?: number; seed?: number } = {}): number[] {
  const { period = 240, base = 100, amplitude = 50, noise = 5, seed = 1 } = opts;
  const r = rng(seed);
  return Array.from({ length: minutes }, (_, i) => Math.max(0, base + amplitude * Math.sin((2 * Math.PI * i) / period) + (r() - 0.5) * 2 * noise));
}
