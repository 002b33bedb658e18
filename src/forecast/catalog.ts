/**
 * Every model a ScaledObject can name, and how each is made for one workload:
 * - `auto` (the default): the LSTM gated by live accuracy against every baseline (see gate.ts);
 * - `lstm`: the LSTM alone (pre-trained, fine-tuned per workload when enabled);
 * - the baselines, stateless and shared by all workloads.
 * Each is wrapped per workload in the peak-quantile calibration of calibrate.ts, and, in serve, in
 * the replica state sync of sync.ts.
 */
import type { Logger } from '../telemetry/logger.js';
import { createCalibratedForecaster } from './calibrate.js';
import { createGatedForecaster } from './gate.js';
import { createSyncedForecaster, syncMinutes, type SyncOptions } from './sync.js';
import { checkFineTuneInterval, WorkloadLstm, type LstmRuntime } from './lstm/workload.js';
import { DEFAULT_MAX_MINUTES } from '../sources/prometheus.js';
import { createForecaster, FORECASTER_NAMES } from './registry.js';
import type { Forecast } from '../series/forecast.js';
import type { Forecaster } from './types.js';

export const MODEL_NAMES = ['auto', 'lstm', ...FORECASTER_NAMES] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export const DEFAULT_MODEL: ModelName = 'auto';

/** Stands in for the LSTM when no model could be loaded: every forecast fails with the reason. */
export function unavailableForecaster(name: string, reason: string): Forecaster {
  return {
    name,
    historyMinutes: (r) => r,
    forecast: (): Promise<Forecast> => Promise.reject(new Error(`${name} unavailable: ${reason}`)),
  };
}

export interface CatalogOptions {
  /** Null when the LSTM could not be loaded; `unavailableReason` says why. */
  lstm: LstmRuntime | null;
  unavailableReason?: string;
  log: Logger;
  /**
   * Serve's replica state sync (sync.ts), per workload; absent: none (the simulator steps through
   * every minute itself, and its state is its own).
   */
  sync?: Omit<SyncOptions, 'key' | 'owns' | 'log'> & { owns: (key: string) => boolean };
  /**
   * The most minutes one read of the source may hold: a fine-tuning interval whose reads would not
   * fit with the loaded model is refused here, at start-up (checkFineTuneInterval). Default with
   * `sync` (serve): a Prometheus read's, DEFAULT_MAX_MINUTES; without it (the simulator reads a trace
   * it holds) or null: not checked.
   */
  maxReadMinutes?: number | null;
}

/** `key`: the workload (fine-tuned weights, ownership); `stateKey`: the trigger (published state). */
export type ForecasterProvider = (name: string, key: string, stateKey?: string) => Forecaster;

export function createForecasterProvider(o: CatalogOptions): ForecasterProvider {
  const readLimit = o.maxReadMinutes !== undefined ? o.maxReadMinutes : o.sync ? DEFAULT_MAX_MINUTES : null;
  // Checked here, at start-up: every workload's forecaster is made with them, per call.
  const catchUp = o.sync ? syncMinutes(o.sync).catchUp : 0;
  if (o.lstm && readLimit !== null) checkFineTuneInterval(o.lstm, readLimit, catchUp);
  // Baselines hold no per-workload state: one instance each serves every workload. The order is the
  // gate's preference before any has a live record: best first on the NASA backtest.
  const preference = ['holt-winters', 'mean30', 'mean10', 'seasonal-day', 'persistence'] as const;
  const baselines = new Map(preference.map((n) => [n, createForecaster(n)]));
  const lstmFor = (key: string): Forecaster => (o.lstm ? new WorkloadLstm(o.lstm, key) : unavailableForecaster('lstm', o.unavailableReason ?? 'no model loaded'));
  const modelFor = (name: string, key: string): Forecaster => {
    if (name === 'lstm') return lstmFor(key);
    // The gate closes the models it wraps: the workload's LSTM; the shared baselines hold nothing.
    if (name === 'auto') return createGatedForecaster({ name: 'auto', primary: lstmFor(key), baselines: [...baselines.values()] });
    const baseline = baselines.get(name as (typeof FORECASTER_NAMES)[number]);
    if (!baseline) throw new Error(`unknown forecaster "${name}"; known: ${MODEL_NAMES.join(', ')}`);
    return baseline;
  };
  // Every workload's peak quantiles are calibrated on its own forecasts (metadata quantile).
  return (name, key, stateKey = key) => {
    const calibrated = createCalibratedForecaster(modelFor(name, key));
    const sync = o.sync;
    return sync ? createSyncedForecaster(calibrated, { ...sync, key: stateKey, owns: () => sync.owns(key), log: o.log }) : calibrated;
  };
}
