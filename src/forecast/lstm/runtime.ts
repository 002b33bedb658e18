/**
 * Loads the pre-trained LSTM and the fine-tuning machinery for `amadeus serve`. A model that cannot
 * be loaded is not fatal: it is logged, and the `auto` gate serves the best baseline instead.
 */
import { existsSync, promises as fs } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from '../../deadline/deadline.js';
import type { Logger } from '../../telemetry/logger.js';
import { selectBackend, type BackendChoice } from './backend.js';
import { FineTunePool } from './finetune-pool.js';
import { LstmForecaster } from './forecaster.js';
import { InferencePool } from './inference-pool.js';
import { loadModel } from './io.js';
import { checkMeta } from './meta.js';
import type { LstmRuntime } from './workload.js';

/** The directory Amadeus is installed in (where `models/` ships). */
export const INSTALL_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A relative model path is looked up from the working directory first, then from the install. */
export function resolveModelDir(path: string): string {
  if (isAbsolute(path) || existsSync(resolve(path))) return resolve(path);
  return join(INSTALL_ROOT, path);
}

/**
 * resolveModelDir asked off the event loop, for serve: the relative path may lead onto a mounted
 * volume, where existsSync's stat on a hung one would block the whole process for good, start-up's
 * deadline included.
 */
export async function findModelDir(path: string): Promise<string> {
  if (isAbsolute(path)) return resolve(path);
  return fs.access(resolve(path)).then(
    () => resolve(path),
    () => join(INSTALL_ROOT, path),
  );
}

export interface LstmRuntimeOptions {
  model: string;
  backend: BackendChoice;
  fineTune: boolean;
  fineTuneIntervalMs: number;
  fineTuneHistoryMinutes: number;
  /** See LstmRuntime.fineTuneBlend. */
  fineTuneBlend?: boolean;
  weightsDir: string | null;
  log: Logger;
  /** Run LSTM inference in a worker thread (off the event loop answering KEDA). */
  inferenceWorker?: boolean;
  /** Override of the worker script (tests run from sources, the worker from dist/). */
  workerUrl?: URL;
  /** Deadline of reading the model's files (ms). Default MODEL_LOAD_TIMEOUT_MS. */
  loadTimeoutMs?: number;
}

/**
 * How long start-up waits for the model's files: --model may name a mounted volume, and one that
 * stops answering would hold start-up (and the gRPC server, started after it) for good. Past it the
 * LSTM is unavailable, as for a corrupt model: the baselines serve.
 */
export const MODEL_LOAD_TIMEOUT_MS = 60_000;

export async function loadLstmRuntime(o: LstmRuntimeOptions): Promise<{ runtime: LstmRuntime | null; reason?: string }> {
  let dir = o.model;
  try {
    const backend = await selectBackend(o.backend, o.log);
    // Finding the directory is part of reading the model: within the same deadline.
    const load = async () => loadModel<unknown>((dir = await findModelDir(o.model)));
    const { model, meta } = await within(load(), o.loadTimeoutMs ?? MODEL_LOAD_TIMEOUT_MS, `loading the LSTM from ${o.model}`);
    const checked = checkMeta(meta, dir);
    o.log.info('LSTM loaded', { dir, backend, trainedOn: checked.training?.trace, history: checked.shape.historyMinutes, horizon: checked.shape.horizonMinutes, quantiles: checked.shape.quantiles });
    const inference = o.inferenceWorker ? new InferencePool({ backend: o.backend }) : null;
    return {
      runtime: {
        shared: new LstmForecaster('lstm', model, checked, inference),
        inference,
        pool: o.fineTune ? new FineTunePool({ backend: o.backend, workerUrl: o.workerUrl }) : null,
        weightsDir: o.fineTune ? o.weightsDir : null,
        fineTuneIntervalMs: o.fineTuneIntervalMs,
        fineTuneHistoryMinutes: o.fineTuneHistoryMinutes,
        fineTuneBlend: o.fineTuneBlend === true,
        log: o.log,
      },
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    o.log.error('LSTM unavailable: forecasting with baselines only', { dir, error: reason });
    return { runtime: null, reason };
  }
}
