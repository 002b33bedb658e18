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
  /** Why the model did something unusual (e.g. too little history for seasonality). */
  note?: string;
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
}

/** Raised when a forecaster cannot produce a forecast from the given history. */
export class InsufficientHistoryError extends Error {
  override name = 'InsufficientHistoryError';
}
