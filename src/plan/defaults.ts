/**
 * The planner's defaults, in one place: ScaledObject metadata (scaler/metadata.ts) and
 * `amadeus simulate` (cli/options/simulate.ts) both read them, so a simulation runs the plan that a
 * ScaledObject without those keys gets. Chosen on the tuning set of the trace suite (NASA and the
 * generator's random family, seeds 1–10) and reported on held-out traces (BENCHMARKS.md).
 */
import type { SignalName } from './signals.js';

export const PLANNER_DEFAULTS = {
  /** × (1 + headroom) over the base and its noise margin. */
  headroom: 0.08,
  /** k of the noise margin k·α·√base (plan/noise.ts). */
  noiseMargin: 0.5,
  /** k while a surge is under way (plan/signals.ts). */
  surgeNoiseMargin: 0.75,
  /** Signals the plan uses (plan/signals.ts). */
  signals: ['ramp', 'recurring', 'surge'] as readonly SignalName[],
} as const;
