/** Forecasters by name: the names the config, the planner and `eval` refer to. */
import type { Forecaster } from './types.js';
import { PersistenceForecaster } from './persistence.js';
import { MeanForecaster } from './mean.js';
import { SeasonalDayForecaster } from './seasonal-day.js';
import { HoltWintersForecaster } from './holt-winters.js';

export const FORECASTER_NAMES = ['persistence', 'mean10', 'mean30', 'seasonal-day', 'holt-winters'] as const;
export type ForecasterName = (typeof FORECASTER_NAMES)[number];
export const DEFAULT_FORECASTER: ForecasterName = 'holt-winters';

const FACTORIES: Record<ForecasterName, () => Forecaster> = {
  persistence: () => new PersistenceForecaster(),
  mean10: () => new MeanForecaster(10),
  mean30: () => new MeanForecaster(30),
  'seasonal-day': () => new SeasonalDayForecaster(),
  'holt-winters': () => new HoltWintersForecaster(),
};

export function isForecasterName(name: string): name is ForecasterName {
  return (FORECASTER_NAMES as readonly string[]).includes(name);
}

/** A new forecaster for `name`; throws listing the known names when there is none. */
export function createForecaster(name: string): Forecaster {
  if (!isForecasterName(name)) {
    throw new Error(`unknown forecaster "${name}"; known forecasters: ${FORECASTER_NAMES.join(', ')}`);
  }
  return FACTORIES[name]();
}
