/**
 * What a forecast is: the next minutes of a series, as forecast/ produces it and plan/, scaler/,
 * simulate/ and eval/ read it. The forecasters themselves (the `Forecaster` interface) are in
 * forecast/types.ts.
 */

export interface Forecast {
  /** Name of the model that produced it (may differ from the one asked for when a model degrades). */
  model: string;
  /** Point forecast, one value per future minute, `horizon` values, all finite and >= 0. */
  values: number[];
  /** Optional upper quantile per minute (same length), for provisioning at a chosen confidence. */
  upper?: number[];
  /**
   * Optional quantiles of the *maximum* over the horizon, keyed by quantile level as a string
   * ("0.9" → the value the horizon's maximum stays under with probability 0.9). What a planner
   * provisioning "for the peak of the next 10 minutes at 90% confidence" needs.
   */
  maxQuantiles?: Record<string, number>;
  /** Why the model did something unusual (e.g. too little history for seasonality). */
  note?: string;
  /** When a gate chose between models: why this one, and the rolling errors it compared. */
  gate?: GateDecision;
}

export interface GateDecision {
  /** Short machine-readable reason, e.g. `lstm-best`, `lstm-worse-than-baseline`, `lstm-error-above-threshold`, `warming-up`. */
  reason: string;
  /** Rolling mean absolute error per model name (only models with scored forecasts). */
  mae: Record<string, number>;
  /** Rolling MAE ÷ mean observed load per model (a weighted MAPE), where defined. */
  relativeError?: Record<string, number>;
}
