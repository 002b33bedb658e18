/**
 * Shrinking a fine-tuned LSTM's point forecast toward a simple baseline, by a weight each workload's
 * fine-tuning round chooses on its own hold-out. Pure.
 *
 * Why: on many workloads the pre-trained LSTM is within a few percent of the best simple baseline
 * but above it (docs/experiments/forecaster-2026-12.md): refitting its output maps on two days of
 * the workload does not close that gap, while an average of the two often beats both (the errors of
 * a learned model and of a level estimate are far from perfectly correlated). So the round also
 * scores (1 − w)·LSTM + w·baseline for a small grid of baselines and weights — on the workload's
 * record of out-of-sample errors (blend-record.ts), or on its own span until that record is long
 * enough — and keeps the best; w = 0 (the LSTM alone) wins ties, and w stays below 1 so the model
 * is never replaced outright — the gate does that when a baseline is better throughout.
 */
import { isObserved, observedMean } from '../../series/observed.js';
import { holdValue, type HeldMove } from './move-hold.js';

type Series = ArrayLike<number | null>;

export const BLEND_BASELINES = ['persistence', 'mean10', 'mean30'] as const;
export type BlendBaseline = (typeof BLEND_BASELINES)[number];
/** Weights tried; 0 (the LSTM alone) first, so it wins ties. */
export const BLEND_WEIGHTS = [0, 0.25, 0.5, 0.75] as const;

export interface Blend {
  baseline: BlendBaseline;
  /** In [0, 1): the baseline's share of the point forecast. */
  weight: number;
}

/** The baseline's forecast (flat over the horizon) from the history `values[0, end)`, or null without an observed minute. */
export function baselineAt(values: Series, end: number, baseline: BlendBaseline): number | null {
  if (baseline === 'mean10') return observedMean(values, end - 10, end);
  if (baseline === 'mean30') return observedMean(values, end - 30, end);
  for (let i = end - 1; i >= Math.max(0, end - 60); i--) {
    const v = values[i];
    if (isObserved(v)) return v;
  }
  return null;
}

export function isBlend(b: unknown): b is Blend {
  const x = b as Partial<Blend> | null;
  return !!x && (BLEND_BASELINES as readonly string[]).includes(x.baseline as string) && typeof x.weight === 'number' && x.weight >= 0 && x.weight < 1;
}

/**
 * The blended point forecast, and the quantiles of the horizon maximum moved by as much as its
 * maximum moved (they describe the spread around the point forecast, which the blend does not change).
 */
export function applyBlend(values: readonly number[], maxQuantiles: Record<string, number>, blend: Blend, base: number | null): { values: number[]; maxQuantiles: Record<string, number> } {
  if (blend.weight === 0 || base === null || !Number.isFinite(base)) return { values: [...values], maxQuantiles: { ...maxQuantiles } };
  const w = blend.weight;
  const out = values.map((v) => Math.max(0, (1 - w) * v + w * base));
  const shift = Math.max(0, ...out) - Math.max(0, ...values);
  const q: Record<string, number> = {};
  for (const [k, v] of Object.entries(maxQuantiles)) q[k] = Math.max(0, v + shift);
  return { values: out, maxQuantiles: q };
}

/** The grid in the order ties are settled: the LSTM alone first, then each weight × baseline. */
export const BLEND_CANDIDATES: readonly Blend[] = BLEND_WEIGHTS.flatMap<Blend>((weight) =>
  weight === 0 ? [{ baseline: BLEND_BASELINES[0], weight }] : BLEND_BASELINES.map((baseline) => ({ baseline, weight })),
);

/**
 * The summed absolute error of every candidate of BLEND_CANDIDATES (same order) over `n` windows:
 * `predicted` and `actual` are [n × horizon] in the load's unit, `base[b][i]` is baseline b's
 * forecast for window i (null: none, the window is scored as the LSTM alone), `held[i]` the move
 * window i holds after the blend, as serving does (move-hold.ts).
 */
export function blendErrorSums(predicted: Float64Array, actual: Float64Array, horizon: number, base: Record<BlendBaseline, (number | null)[]>, held: readonly (HeldMove | null)[] = []): number[] {
  const n = actual.length / horizon;
  return BLEND_CANDIDATES.map(({ baseline, weight }) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const b = base[baseline][i] ?? null;
      for (let h = 0; h < horizon; h++) {
        const p = predicted[i * horizon + h]!;
        const f = holdValue(b === null || weight === 0 ? p : Math.max(0, (1 - weight) * p + weight * b), held[i] ?? null);
        sum += Math.abs(f - actual[i * horizon + h]!);
      }
    }
    return sum;
  });
}

/** The candidate with the lowest of `sums` (BLEND_CANDIDATES' order; ties to the earlier), with its share of `count` and the LSTM's. */
export function bestOfSums(sums: readonly number[], count: number): Blend & { mae: number; lstmMae: number } {
  let best = 0;
  for (let k = 1; k < sums.length; k++) if (sums[k]! < sums[best]!) best = k;
  const mae = (s: number) => (count > 0 ? s / count : NaN);
  return { ...BLEND_CANDIDATES[best]!, mae: mae(sums[best]!), lstmMae: mae(sums[0]!) };
}

/** The lowest-error candidate of `sums` (over `count` minute-errors), used only when its error is below `bar` × the LSTM alone's; else none. */
export function blendBelowBar(sums: readonly number[], count: number, bar: number): Blend {
  const best = bestOfSums(sums, count);
  return best.weight > 0 && best.mae < bar * best.lstmMae ? { baseline: best.baseline, weight: best.weight } : { baseline: BLEND_BASELINES[0], weight: 0 };
}
