/**
 * The mean-knowing oracle: a reference for generated traces that tells a planner's failure apart
 * from a goal out of reach. The 5%-headroom oracle reads each minute's drawn load, noise and
 * bursts included, so it passes where no forecast could. This one knows only what a perfect
 * forecaster could know — the generator's noise-free rate, sales and surges included — and
 * provisions for the q-quantile of each minute's count under the generator's noise law, with the
 * product's own rules: never below the current load (what every policy, Amadeus included, reads as
 * now), × (1 + headroom), refreshed at KEDA's poll. It still knows more than any causal planner (a surge's onset, the true level), so
 * where even it cannot reach the latency goal within the pod budget, no forecast can. Pure.
 */
import type { Noise } from '../sources/scenario-family.js';
import type { Policy, PolicyFigures } from './engine.js';
import type { SimLoad } from './load.js';
import type { SimParams } from './params.js';

/** The quantiles the curve is traced at. */
export const MEAN_ORACLE_QUANTILES: readonly number[] = [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995];

/** The generator's per-minute noise (sources/generator.ts): count ~ Poisson(mean × F), F = Gamma(k)/k × a burst. */
export type NoiseLaw = Pick<Noise, 'shape' | 'burstsPerDay' | 'minBurstFactor' | 'maxBurstFactor'>;
export const POISSON_LAW: NoiseLaw = { shape: Infinity, burstsPerDay: 0, minBurstFactor: 1, maxBurstFactor: 1 };

/** The multiplier F as weighted nodes: a normal grid through the generator's Wilson–Hilferty cube, × burst midpoints. */
function multiplierNodes(law: NoiseLaw): { f: Float64Array; w: Float64Array } {
  const zs: number[] = [];
  const zw: number[] = [];
  if (law.shape === Infinity) {
    zs.push(1);
    zw.push(1);
  } else {
    // Wilson–Hilferty, as the generator draws it: F = max(0, 1 − c + √c·Z)³, c = 1/(9k).
    const c = 1 / (9 * law.shape);
    for (let z = -5; z <= 5 + 1e-9; z += 0.1) {
      const b = 1 - c + Math.sqrt(c) * z;
      zs.push(b > 0 ? b * b * b : 0);
      zw.push(Math.exp(-0.5 * z * z));
    }
  }
  const burst = Math.min(1, law.burstsPerDay / 1440);
  const sizes = burst > 0 ? Array.from({ length: 8 }, (_, i) => law.minBurstFactor + ((law.maxBurstFactor - law.minBurstFactor) * (i + 0.5)) / 8) : [];
  const total = zw.reduce((a, b) => a + b, 0);
  const f: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < zs.length; i++) {
    f.push(zs[i]!);
    w.push(((1 - burst) * zw[i]!) / total);
    for (const s of sizes) {
      f.push(zs[i]! * s);
      w.push((burst * zw[i]!) / total / sizes.length);
    }
  }
  return { f: Float64Array.from(f), w: Float64Array.from(w) };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 for erf; |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * The q-quantile of one minute's count whose noise-free mean is `mean` (counts, not req/s), under
 * `law`; the Poisson draw taken as normal with a continuity correction (within a count or two of the
 * exact quantile at the means that size pods).
 */
export function countQuantile(mean: number, q: number, law: NoiseLaw): number {
  if (!(mean > 0)) return 0;
  if (!(q > 0 && q < 1)) throw new RangeError(`q must be in (0, 1), got ${q}`);
  return quantileOn(multiplierNodes(law), mean, q);
}

function quantileOn(nodes: { f: Float64Array; w: Float64Array }, mean: number, q: number): number {
  const { f, w } = nodes;
  const cdf = (x: number) => {
    let p = 0;
    for (let i = 0; i < f.length; i++) {
      const mu = mean * f[i]!;
      p += w[i]! * (mu <= 0 ? 1 : normalCdf((x + 0.5 - mu) / Math.sqrt(mu)));
    }
    return p;
  };
  let lo = 0;
  let hi = mean;
  for (let i = 0; i < f.length; i++) hi = Math.max(hi, mean * f[i]! + 10 * Math.sqrt(mean * f[i]!) + 1);
  for (let it = 0; it < 60 && hi - lo > 1e-4 * Math.max(1, lo); it++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < q) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Per span minute, the q-quantile of the load (req/s, the span's scale) given the noise-free rate
 * `mean` (req/s, same scale); `countsPerUnit` turns that rate into the minute's count
 * (60 ÷ load.scale for a trace of req/s values). Quantiles are interpolated on a log grid of means.
 */
export function quantileSeries(mean: Float64Array, q: number, law: NoiseLaw, countsPerUnit: number): Float64Array {
  const nodes = multiplierNodes(law);
  let lo = Infinity;
  let hi = 0;
  for (const m of mean) {
    if (!(m > 0)) continue;
    lo = Math.min(lo, m);
    hi = Math.max(hi, m);
  }
  const out = new Float64Array(mean.length);
  if (!(hi > 0)) return out;
  const points = 80;
  const step = hi > lo ? Math.log(hi / lo) / (points - 1) : 0;
  // The quantile's ratio to the mean varies smoothly with the mean: interpolate that ratio.
  const ratios = Float64Array.from({ length: points }, (_, i) => {
    const counts = lo * Math.exp(step * i) * countsPerUnit;
    return quantileOn(nodes, counts, q) / counts;
  });
  for (let i = 0; i < mean.length; i++) {
    const m = mean[i]!;
    if (!(m > 0)) continue;
    const x = step > 0 ? Math.log(m / lo) / step : 0;
    const j = Math.min(points - 2, Math.max(0, Math.floor(x)));
    const frac = step > 0 ? Math.min(1, Math.max(0, x - j)) : 0;
    out[i] = m * (points > 1 && step > 0 ? ratios[j]! + (ratios[j + 1]! - ratios[j]!) * frac : ratios[0]!);
  }
  return out;
}

/**
 * The mean-knowing oracle at one quantile: at each KEDA poll, (the largest quantile over the
 * minutes a pod started now would serve, or the current load if larger) × (1 + headroom).
 */
export function meanOracle(quantiles: Float64Array, p: SimParams, headroom: number): Policy {
  const window = p.startupSeconds + p.syncSeconds + p.pollSeconds;
  return {
    name: 'mean-oracle',
    kind: 'external',
    pollSeconds: p.pollSeconds,
    metric: ({ time, minute, load: now }) => {
      const last = Math.min(quantiles.length - 1, Math.ceil((time + window) / 60) - 1);
      let max = now;
      for (let m = minute; m <= last; m++) max = Math.max(max, quantiles[m]!);
      return max * (1 + headroom);
    },
  };
}

export interface MeanOraclePoint {
  q: number;
  p95LatencyIncreasePct: number;
  sloViolationMinutes: number;
  podHours: number;
}

/** The oracle's cost–latency curve over `qs`, given a way to run a policy on the span. */
export function meanOracleCurve(
  load: SimLoad,
  mean: Float64Array,
  law: NoiseLaw,
  p: SimParams,
  headroom: number,
  run: (policy: Policy) => PolicyFigures,
  qs: readonly number[] = MEAN_ORACLE_QUANTILES,
): MeanOraclePoint[] {
  return qs.map((q) => {
    const f = run(meanOracle(quantileSeries(mean, q, law, 60 / load.scale), p, headroom));
    return { q, p95LatencyIncreasePct: f.p95LatencyIncreasePct, sloViolationMinutes: f.sloViolationMinutes, podHours: f.podHours };
  });
}

/** The cheapest point of the curve that meets the p95 goal; null when none does. */
export function cheapestMeeting(curve: readonly MeanOraclePoint[], p95Goal: number): MeanOraclePoint | null {
  let best: MeanOraclePoint | null = null;
  for (const c of curve) if (c.p95LatencyIncreasePct < p95Goal && (best === null || c.podHours < best.podHours)) best = c;
  return best;
}
