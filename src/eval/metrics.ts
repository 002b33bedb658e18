/** Per-origin error accounting for the backtest (design §5), one accumulator per model. */
import type { Forecast } from '../series/forecast.js';
import type { ModelScore, QuantileScore } from './types.js';

/** Minutes averaged by `mae5`: a 5-minute mean is what a scaler acting every few minutes feels. */
export const MEAN_MINUTES = 5;
/** A forecast maximum below this share of the actual maximum counts as an under-forecast. */
export const UNDER_FRACTION = 0.9;

/** What the metrics read from one horizon of values, forecast or actual. */
export interface HorizonStats {
  /** The value at +H. */
  atH: number;
  /** Mean of the last min(5, H) minutes, ending at +H. */
  meanEnd: number;
  /** Maximum over minutes 1..H. */
  max: number;
}

/** Stats of `values[0..horizon-1]`, where `values[h-1]` is minute +h. */
export function horizonStats(values: ArrayLike<number>, horizon: number): HorizonStats {
  const window = Math.min(MEAN_MINUTES, horizon);
  let sum = 0;
  let max = -Infinity;
  for (let i = 0; i < horizon; i++) {
    const v = values[i];
    if (i >= horizon - window) sum += v;
    if (v > max) max = v;
  }
  return { atH: values[horizon - 1], meanEnd: sum / window, max };
}

interface QuantileSums {
  origins: number;
  covered: number;
  width: number;
}

export class ScoreAccumulator {
  private origins = 0;
  private absSum = 0;
  private squaredSum = 0;
  private absMeanSum = 0;
  private under = 0;
  private readonly quantiles = new Map<string, QuantileSums>();

  constructor(private readonly horizon: number) {}

  /** Scores one origin's forecast against what happened. */
  add(forecast: Forecast, actual: HorizonStats): void {
    const f = horizonStats(forecast.values, this.horizon);
    const error = f.atH - actual.atH;
    this.origins++;
    this.absSum += Math.abs(error);
    this.squaredSum += error * error;
    this.absMeanSum += Math.abs(f.meanEnd - actual.meanEnd);
    if (f.max < UNDER_FRACTION * actual.max) this.under++;
    for (const [level, q] of Object.entries(forecast.maxQuantiles ?? {})) {
      let sums = this.quantiles.get(level);
      if (sums === undefined) this.quantiles.set(level, (sums = { origins: 0, covered: 0, width: 0 }));
      sums.origins++;
      if (actual.max <= q) sums.covered++;
      sums.width += q - f.max;
    }
  }

  /** The scores so far; `persistenceMae` is the relative MAE's denominator on the same origins. */
  score(name: string, persistenceMae: number): ModelScore {
    const n = this.origins;
    const mae = this.absSum / n;
    const score: ModelScore = {
      name,
      mae,
      rmse: Math.sqrt(this.squaredSum / n),
      mae5: this.absMeanSum / n,
      relMae: persistenceMae > 0 ? mae / persistenceMae : null,
      underRate: this.under / n,
    };
    if (this.quantiles.size > 0) {
      const levels = [...this.quantiles.keys()].sort((a, b) => Number(a) - Number(b));
      score.quantiles = Object.fromEntries(
        levels.map((level): [string, QuantileScore] => {
          const s = this.quantiles.get(level)!;
          return [level, { coverage: s.covered / s.origins, meanWidth: s.width / s.origins, origins: s.origins }];
        }),
      );
    }
    return score;
  }
}
