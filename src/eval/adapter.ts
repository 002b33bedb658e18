/** Fits plain `Forecaster`s into the batch interface `eval` drives. */
import type { Forecast } from '../series/forecast.js';
import type { Forecaster } from '../forecast/types.js';
import type { BatchForecaster } from './types.js';

/** A `BatchForecaster` that forecasts one request after the other with `forecaster`. */
export function batchFromForecaster(forecaster: Forecaster): BatchForecaster {
  return {
    name: forecaster.name,
    historyMinutes: (requested) => forecaster.historyMinutes(requested),
    async forecastBatch(requests) {
      // Sequentially: the baselines are CPU-bound, so running them concurrently gains nothing.
      const out: Forecast[] = [];
      for (const request of requests) out.push(await forecaster.forecast(request));
      return out;
    },
  };
}

/** `model` reported under `name` (when one provider's model calls itself what another's does). */
export function renamed(model: BatchForecaster, name: string): BatchForecaster {
  if (model.name === name) return model;
  return {
    name,
    historyMinutes: (requested) => model.historyMinutes(requested),
    forecastBatch: (requests) => model.forecastBatch(requests),
  };
}
