/** Small synthetic per-minute series for model tests: a daily-ish sine with seeded noise. */
import { rng } from '../forecast/lstm/dataset.js';
import { appendSamples, noSamples, type Samples } from '../series/history.js';

export function sineSeries(minutes: number, opts: { period?: number; base?: number; amplitude?: number; noise?: number; seed?: number } = {}): number[] {
  const { period = 240, base = 100, amplitude = 50, noise = 5, seed = 1 } = opts;
  const r = rng(seed);
  return Array.from({ length: minutes }, (_, i) => Math.max(0, base + amplitude * Math.sin((2 * Math.PI * i) / period) + (r() - 0.5) * 2 * noise));
}

/** A series with a hole wherever `undefined` (or null) is given: how the Prometheus source hands gaps out (history.ts). */
export function holey(...values: (number | null | undefined)[]): Samples {
  const out = noSamples(0);
  appendSamples(out, values);
  return out;
}
