/** `seasonal-day`: the same minute yesterday (seasonal naive with a one-day season). */
import type { Forecast } from '../series/forecast.js';
import type { ForecastRequest, Forecaster } from './types.js';
import { assertHorizon, clampRate, requireLastObserved, type SeriesForecast } from './series.js';
import { isObserved, type Series } from '../series/observed.js';
import { DAY_MINUTES } from '../series/calendar.js';


/**
 * Forecast for future minute h (1-based; series index len-1+h) = the value one `period` earlier,
 * index len-1+h-period. Where that minute is outside the history or unobserved, the last observed
 * value stands in (persistence is the honest fallback) and `note` counts those minutes.
 */
export function seasonalNaiveForecast(values: Series, horizon: number, period = DAY_MINUTES): SeriesForecast {
  assertHorizon(horizon);
  const last = requireLastObserved(values);
  const out = new Array<number>(horizon);
  let filled = 0;
  for (let h = 1; h <= horizon; h++) {
    const i = values.length - 1 + h - period;
    const v = i >= 0 && i < values.length ? values[i] : null;
    if (isObserved(v)) {
      out[h - 1] = clampRate(v);
    } else {
      out[h - 1] = clampRate(last.value);
      filled++;
    }
  }
  if (filled === 0) return { values: out };
  return {
    values: out,
    note: `${filled} of ${horizon} min had no value one season (${period} min) earlier; used the last observed value`,
  };
}

export class SeasonalDayForecaster implements Forecaster {
  readonly name = 'seasonal-day';

  historyMinutes(requested: number): number {
    // With exactly a day of history, yesterday's value exists for every horizon up to a day.
    return Math.max(requested, DAY_MINUTES);
  }

  async forecast({ history, horizon }: ForecastRequest): Promise<Forecast> {
    return { model: this.name, ...seasonalNaiveForecast(history.requests, horizon, DAY_MINUTES) };
  }
}
