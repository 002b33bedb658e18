/** The forecasters' contract; what a forecast is (`Forecast`) is in series/forecast.ts. */
import type { Forecast } from '../series/forecast.js';
import type { History } from '../series/history.js';

export interface ForecastRequest {
  history: History;
  /** Number of future minutes to forecast: values[0] is the minute after the history's last one. */
  horizon: number;
  /**
   * The minutes of history the ScaledObject asked for (metadata `historyMinutes`), when the caller
   * knows them: a forecaster made of others (the gate) hands each only the last
   * `historyMinutes(requested)` of `history`, so a model that uses all it is given (Holt-Winters)
   * sees the same window whatever its neighbours need. Absent: each gets the whole history.
   */
  requested?: number;
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

/**
 * A forecaster whose answers depend on what it has seen (the gate's scores, the calibration's
 * window): its state can be exported exactly and loaded into another instance of the same
 * composition, so replicas answer alike (docs/adr/0003-replica-state.md). The state is plain
 * JSON-able data; importState throws, changing nothing, when the state does not fit.
 */
export interface StatefulForecaster {
  exportState(): unknown;
  importState(state: unknown): void;
}

/** A stateful forecaster's state and the origin minute it was stepped to (SeedableForecaster). */
export interface ForecasterSeed {
  origin: number;
  state: unknown;
}

/**
 * A trigger's forecaster that a new trigger of the same series and forecast may start from: a
 * metadata edit of planner settings alone (headroom, margins) makes a new trigger, whose gate and
 * calibration would otherwise start over (the gate back on a baseline for its warm-up).
 */
export interface SeedableForecaster {
  /** The minute the state was stepped to; null before the first step. */
  readonly lastOrigin: number | null;
  /** Null before the first step. */
  exportSeed(): ForecasterSeed | null;
  /** Only into one never stepped; throws, changing nothing, when the state does not fit. */
  importSeed(seed: ForecasterSeed): void;
}

/** Raised when a forecaster cannot produce a forecast from the given history. */
export class InsufficientHistoryError extends Error {
  override name = 'InsufficientHistoryError';
}
