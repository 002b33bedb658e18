import type { History } from '../sources/types.js';

export interface ForecastRequest {
  history: History;
  /** Number of future minutes to forecast: values[0] is the minute after the history's last one. */
  horizon: number;
}

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

/** Turns a history of request rates into the next `horizon` minutes. */
export interface Forecaster {
  readonly name: string;
  /**
   * How many minutes of history this forecaster wants when the ScaledObject asks for `requested`
   * (seasonal models need at least a day, whatever the plan window is).
   */
  historyMinutes(requested: number): number;
  /** Rejects when the history holds no observed value at all. */
  forecast(request: ForecastRequest): Promise<Forecast>;
  /** Releases per-workload state (models, timers) when the workload is forgotten. */
  close?(): void;
  /**
   * Resolves once background work that earlier forecasts started (a fine-tuning round) is over.
   * A simulation awaits it so its results do not depend on how fast the machine trains.
   */
  settled?(): Promise<void>;
}

/** Raised when a forecaster cannot produce a forecast from the given history. */
export class InsufficientHistoryError extends Error {
  override name = 'InsufficientHistoryError';
}
