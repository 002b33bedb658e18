/**
 * The load's minute-to-minute noise, for a margin that follows it (metadata `noiseMargin`). Pure.
 *
 * Arrivals are close to a Poisson process, whose count per minute varies by about the square root
 * of its level; real traffic adds bursts on top. So the noise is modelled as α·√level, with α fitted
 * on the workload's own history: Σ|x_t − x_{t−1}| ÷ Σ√((x_t + x_{t−1}) / 2) over consecutive
 * observed minutes (for Poisson counts α ≈ 1.13; bursty traffic has more). The margin k·α·√base
 * then gives relatively more room at low load, where a burst is a larger share of it, and less at
 * high load — where a flat percentage provisions for noise that is not there. Measured on NASA
 * (BENCHMARKS.md): at equal p95 latency, fewer pod-hours than a flat headroom.
 *
 * α·√level is in the load's own unit whatever the unit is (scaling the load by s scales both α
 * and √level by √s), so no knowledge of how the metric was sampled is needed.
 */
import { forEachMinuteStep } from '../series/observed.js';

/** α of the last `minutes` of `values`; null when no two consecutive observed minutes have load. */
export function noiseScale(values: ArrayLike<number | null | undefined>, minutes: number): number | null {
  let changes = 0;
  let roots = 0;
  forEachMinuteStep(values, values.length - minutes, values.length, (a, b) => {
    if (a < 0 || b < 0) return; // not a load: no square root to fit
    changes += Math.abs(b - a);
    roots += Math.sqrt((a + b) / 2);
  });
  return roots > 0 ? changes / roots : null;
}

/** The margin added to a planned base: k·α·√base, in the load's unit; 0 without a noise scale. */
export function noiseMargin(base: number, k: number, alpha: number | null): number {
  if (!(k > 0) || alpha === null || !Number.isFinite(alpha) || !(base > 0)) return 0;
  return k * alpha * Math.sqrt(base);
}
