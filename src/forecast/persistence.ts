/** `persistence`: the value now, held over the horizon. The yardstick every model must beat. */
import type { Forecast } from '../series/forecast.js';
import type { ForecastRequest, Forecaster } from './types.js';
import { assertHorizon, repeatValue, requireLastObserved } from './series.js';
import type { Series } from '../series/observed.js';

/** The last observed value repeated `horizon` times; throws InsufficientHistoryError without one. */
export function persistenceForecast(values: Series, horizon: number): number[] {
  assertHorizon(horizon);
  return repeatValue(requireLastObserved(values).value, horizon);
}

export class PersistenceForecaster implements Forecaster {
  readonly name = 'persistence';

  historyMinutes(requested: number): number {
    return Math.max(requested, 1);
  }

  async forecast({ history, horizon }: ForecastRequest): Promise<Forecast> {
    return { model: this.name, values: persistenceForecast(history.requests, horizon) };
  }
}
