/**
 * The rolling-origin backtest of design §5 (pure: no I/O). Every model forecasts from every origin
 * with the history up to and including it, and is scored at +H against the trace; persistence's
 * MAE on the same origins is the yardstick of every relative MAE.
 */
import type { Forecast } from '../series/forecast.js';
import type { ForecastRequest } from '../forecast/types.js';
import { historyThrough, type Trace } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import { horizonStats, ScoreAccumulator } from './metrics.js';
import { CONTEXT_MINUTES, findOrigins } from './origins.js';
import type { BacktestResult, BatchForecaster } from './types.js';

export const DEFAULT_HORIZON = 10;
export const DEFAULT_SPLIT = 0.75;
/** Origins per batch: large enough for batched models to pay off, small enough to bound memory. */
export const DEFAULT_CHUNK = 512;

export type BacktestTrace = Pick<Trace, 'start' | 'requests' | 'utcOffsetMinutes'>;

export interface BacktestOptions {
  horizon?: number;
  split?: number;
  chunkSize?: number;
  /** Called with forecasts done and forecasts in all (origins × models), at 0 and after each batch. */
  onProgress?: (done: number, total: number) => void;
}

/** The trace has no minute that qualifies as an origin. */
export class NoOriginsError extends Error {
  override name = 'NoOriginsError';
}

export async function backtest(
  trace: BacktestTrace,
  models: readonly BatchForecaster[],
  options: BacktestOptions = {},
): Promise<BacktestResult> {
  const { horizon = DEFAULT_HORIZON, split = DEFAULT_SPLIT, chunkSize = DEFAULT_CHUNK, onProgress } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be an integer >= 1, got ${chunkSize}`);
  const { requests } = trace;
  const origins = findOrigins(requests, { horizon, split });
  if (origins.length === 0) {
    throw new NoOriginsError(
      `no origin in the last ${formatShare(1 - split)} of the trace (${requests.length} min) has ` +
        `${CONTEXT_MINUTES} observed minutes up to it and ${horizon} after it`,
    );
  }
  const historyLengths = models.map((m) => {
    const minutes = m.historyMinutes(CONTEXT_MINUTES);
    if (!Number.isInteger(minutes) || minutes < 1) throw new RangeError(`${m.name}: historyMinutes must be a positive integer, got ${minutes}`);
    return minutes;
  });
  const scores = models.map(() => new ScoreAccumulator(horizon));
  // Request rates only: the models are scored on what every one of them can use.
  const series = { start: trace.start, requests, utcOffsetMinutes: trace.utcOffsetMinutes };
  let persistenceAbsSum = 0;
  const total = origins.length * models.length;
  let done = 0;
  onProgress?.(done, total);

  for (let c = 0; c < origins.length; c += chunkSize) {
    const chunk = origins.slice(c, c + chunkSize);
    // Origins are valid only when t+1..t+H are observed, so these slices hold numbers only.
    const actual = chunk.map((t) => horizonStats(requests.slice(t + 1, t + 1 + horizon) as number[], horizon));
    chunk.forEach((t, j) => (persistenceAbsSum += Math.abs((requests[t] as number) - actual[j].atH)));

    for (let m = 0; m < models.length; m++) {
      const batch: ForecastRequest[] = chunk.map((t) => ({ history: historyThrough(series, t, historyLengths[m]), horizon }));
      const forecasts = await models[m].forecastBatch(batch);
      if (forecasts.length !== chunk.length) {
        throw new Error(`${models[m].name}: forecastBatch returned ${forecasts.length} forecasts for ${chunk.length} requests`);
      }
      forecasts.forEach((f, j) => {
        checkForecast(models[m].name, f, horizon, trace.start + chunk[j] * MINUTE_MS);
        scores[m].add(f, actual[j]);
      });
      done += chunk.length;
      onProgress?.(done, total);
    }
  }

  const persistenceMae = persistenceAbsSum / origins.length;
  return {
    horizon,
    split,
    origins: origins.length,
    firstOrigin: trace.start + origins[0] * MINUTE_MS,
    lastOrigin: trace.start + origins[origins.length - 1] * MINUTE_MS,
    persistenceMae,
    models: scores.map((s, m) => s.score(models[m].name, persistenceMae)),
  };
}

/** A short or non-finite forecast would silently skew every mean: fail naming the model and origin. */
function checkForecast(model: string, f: Forecast, horizon: number, originMs: number): void {
  let problem: string | null = f.values.length < horizon ? `${f.values.length} values` : null;
  for (let h = 0; problem === null && h < horizon; h++) {
    if (!Number.isFinite(f.values[h])) problem = `value ${f.values[h]} at +${h + 1}`;
  }
  for (const [level, q] of Object.entries(f.maxQuantiles ?? {})) {
    if (problem === null && !Number.isFinite(q)) problem = `maxQuantiles["${level}"] = ${q}`;
  }
  if (problem !== null) {
    throw new Error(`${model}: invalid forecast at origin ${new Date(originMs).toISOString()} (horizon ${horizon}): ${problem}`);
  }
}

function formatShare(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
