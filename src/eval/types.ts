/** What `amadeus eval` scores (a batch forecaster), how its table makes one, and what it reports per model. */
import type { Forecast } from '../series/forecast.js';
import type { Trace } from '../sources/trace.js';
import type { ForecastRequest } from '../forecast/types.js';

/**
 * A forecaster that may answer many origins in one call. Models with a per-call overhead (the
 * LSTM's tensor set-up) are much faster this way; a plain `Forecaster` fits through
 * `batchFromForecaster`.
 */
export interface BatchForecaster {
  /** The name reported in the results. */
  readonly name: string;
  /** As `Forecaster.historyMinutes`: the minutes of history wanted when `requested` are asked for. */
  historyMinutes(requested: number): number;
  /**
   * One forecast per request, in the same order. Requests and their histories are owned by the
   * caller and must not be modified.
   */
  forecastBatch(requests: readonly ForecastRequest[]): Promise<Forecast[]>;
}

/** What a provider of the eval table (models.ts) is given to make its model. */
export interface ModelContext {
  /** The whole trace being evaluated. */
  trace: Trace;
  horizon: number;
  /** Index of the first minute that may be an origin (`firstEvaluatedMinute`). */
  evalStart: number;
  /** The pre-trained LSTM's directory (default `models/nasa-lstm`). */
  modelDir?: string;
  /** Progress notes of slow providers (fine-tuning), for stderr. */
  log?: (line: string) => void;
  /** lstm-finetuned's rounds also choose a blend toward a baseline (`--fine-tune-blend`). */
  fineTuneBlend?: boolean;
}

/** One entry of the eval table (models.ts): makes the model for one trace. */
export type ModelProvider = (context: ModelContext) => Promise<BatchForecaster>;

/** Calibration of one quantile of the horizon's maximum (`Forecast.maxQuantiles`). */
export interface QuantileScore {
  /** Share of origins where the actual maximum over the horizon was <= the quantile. */
  coverage: number;
  /** Mean of (quantile − forecast maximum): what the confidence costs in provisioned capacity. */
  meanWidth: number;
  /** Origins whose forecast carried this level (all of them unless the model omits it at times). */
  origins: number;
}

/** One model's accuracy at horizon +H over the backtest's origins (design §5). */
export interface ModelScore {
  name: string;
  /** Mean absolute error of the value at +H. */
  mae: number;
  /** Root mean squared error of the value at +H. */
  rmse: number;
  /** MAE of the mean of the 5 minutes ending at +H (of minutes 1..H when H < 5). */
  mae5: number;
  /** `mae` ÷ persistence's MAE on the same origins; null when persistence's MAE is 0. */
  relMae: number | null;
  /** Share of origins where the forecast's maximum over 1..H is below 90% of the actual maximum. */
  underRate: number;
  /** Per quantile level ("0.9"), only for models whose forecasts carry `maxQuantiles`. */
  quantiles?: Record<string, QuantileScore>;
}

export interface BacktestResult {
  horizon: number;
  split: number;
  /** Number of origins every model was scored on (the same origins for all). */
  origins: number;
  /** Epoch ms of the first and the last origin minute. */
  firstOrigin: number;
  lastOrigin: number;
  /** Persistence's MAE on these origins: the denominator of every `relMae`. */
  persistenceMae: number;
  /** In the order the models were given. */
  models: ModelScore[];
}
