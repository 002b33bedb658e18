/**
 * The planner's defaults, in one place: ScaledObject metadata (scaler/metadata.ts) and
 * `amadeus simulate` (cli/options/simulate.ts) both read them, so a simulation runs the plan that a
 * ScaledObject without those keys gets. Chosen on the tuning set of the trace suite (NASA and the
 * generator's random family, seeds 1–10) and reported on held-out traces (BENCHMARKS.md).
 */
import type { SignalName } from './signals.js';

export const PLANNER_DEFAULTS = {
  /**
   * × (1 + headroom) over the base and its noise margin. Not below 0.0756: at 10+ replicas the HPA
   * holds its count until the metric is 10% above target, so a plan of (1 + h) × load lets the
   * pods' utilisation reach 0.8 × 1.1 ÷ (1 + h) before one is added, and beyond 0.818 a tick's
   * latency exceeds the SLO's 1.1 × baseline (docs/experiments/planner-2026-12.md, 2026-12-05).
   */
  headroom: 0.08,
  /**
   * k of the noise margin k·α·√base (plan/noise.ts): 0.52 since the onset signal is on
   * (2026-12-05; 0.55 the night before, 0.5 until then).
   */
  noiseMargin: 0.52,
  /** k while a surge is under way (plan/signals.ts): the base's, as the onset's grown level carries the surge (0.75 before). */
  surgeNoiseMargin: 0.52,
  /** Signals the plan uses (plan/signals.ts); `onset` since 2026-12-05 (docs/experiments/planner-2026-12.md). */
  signals: ['ramp', 'recurring', 'surge', 'onset'] as readonly SignalName[],
} as const;
