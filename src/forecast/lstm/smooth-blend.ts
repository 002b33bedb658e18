/**
 * The shipped weights' default blend: toward persistence on smooth traffic. Pure.
 *
 * Why: on traffic of thousands a minute whose minute-to-minute noise is a percent or two of the
 * load, the pre-trained LSTM's forecast is less precise than the latest minute (its forecast is off
 * by a few percent where the latest minute's error is about one), and it loses to persistence on such
 * workloads by up to 2% (docs/experiments/forecaster-2026-12.md). The window's steady roughness (the
 * feature of that name) tells such traffic apart from the noisy traffic the model is good at: most of
 * NASA's windows sit at 0.14–0.35 (its 1st to 90th percentile), the workloads where it lost at
 * 0.005–0.03. So, until a fine-tuning round has chosen a blend for the workload (which then
 * replaces this one: the round scores its own candidates on the workload's errors), a smooth
 * window's point forecast is pulled halfway to the latest minute, less as the window gets rougher,
 * not at all from SMOOTH_NONE up.
 */
import type { Blend } from './blend.js';
import type { WindowNoise } from './features.js';
import type { LstmMeta } from './meta.js';

/** Steady roughness from which the default blend is off. */
export const SMOOTH_NONE = 0.03;
/** Steady roughness at and below which it has its full weight. */
export const SMOOTH_FULL = 0.015;
/** Persistence's share of the point forecast at and below SMOOTH_FULL. */
export const SMOOTH_WEIGHT = 0.5;

/** Marks a forecaster answering with the shipped default, resolved per window by `smoothWeight`. */
export const SMOOTH_DEFAULT = 'smooth-default' as const;
export type BlendInUse = Blend | typeof SMOOTH_DEFAULT | undefined;

/** The blend the weights described by `meta` answer with: a round's, none (a round chose none), or the shipped default. */
export function blendInUse(meta: Pick<LstmMeta, 'blend' | 'fineTuned'>): BlendInUse {
  if (meta.blend) return meta.blend;
  return meta.fineTuned ? undefined : SMOOTH_DEFAULT;
}

/** The default blend for a window of `history` minutes with this request level and noise (features.ts reads both). */
export function smoothWeight(level: number, noise: WindowNoise, history: number): Blend {
  if (level <= 0) return { baseline: 'persistence', weight: 0 };
  // Too few pairs of consecutive minutes (a window full of gaps) tell nothing about its noise.
  if (noise.steps < history / 2) return { baseline: 'persistence', weight: 0 };
  const share = Math.min(1, Math.max(0, (SMOOTH_NONE - noise.steady) / (SMOOTH_NONE - SMOOTH_FULL)));
  return { baseline: 'persistence', weight: SMOOTH_WEIGHT * share };
}

/** The blend for one window: the default from its level and noise (as prepared for the model), else as given. */
export function resolveBlend(blend: BlendInUse, level: number, noise: WindowNoise | undefined, history: number): Blend | undefined {
  if (blend !== SMOOTH_DEFAULT) return blend;
  return noise ? smoothWeight(level, noise, history) : undefined;
}
