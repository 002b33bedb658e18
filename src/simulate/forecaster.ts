/**
 * The simulated workload's forecaster, from the same catalog `serve` uses (gate, calibration, LSTM
 * and fine-tuning included), on a simulated clock. The one piece of I/O of a simulation: loading
 * the pre-trained model.
 */
import { createForecasterProvider, type ModelName } from '../forecast/catalog.js';
import type { BackendChoice } from '../forecast/lstm/backend.js';
import { loadLstmRuntime } from '../forecast/lstm/runtime.js';
import type { LstmRuntime } from '../forecast/lstm/workload.js';
import type { Forecaster } from '../forecast/types.js';
import type { Logger } from '../telemetry/logger.js';

export interface SimForecasterOptions {
  forecaster: ModelName;
  model: string;
  backend: BackendChoice;
  fineTune: boolean;
  /** Seconds of simulated time between two fine-tuning rounds (serve's --fine-tune-interval). */
  fineTuneIntervalSeconds: number;
  fineTuneHistoryMinutes: number;
  /** Rounds also choose a blend toward a baseline (`--fine-tune-blend`). */
  fineTuneBlend?: boolean;
  log: Logger;
  /** The simulated time (epoch ms) the forecaster's timers read. */
  clock: () => number;
}

export interface SimForecaster {
  forecaster: Forecaster;
  close(): Promise<void>;
}

export async function createSimForecaster(o: SimForecasterOptions): Promise<SimForecaster> {
  let runtime: LstmRuntime | null = null;
  let reason: string | undefined;
  if (o.forecaster === 'auto' || o.forecaster === 'lstm') {
    const loaded = await loadLstmRuntime({
      model: o.model,
      backend: o.backend,
      fineTune: o.fineTune,
      fineTuneIntervalMs: o.fineTuneIntervalSeconds * 1000,
      fineTuneHistoryMinutes: o.fineTuneHistoryMinutes,
      fineTuneBlend: o.fineTuneBlend === true,
      // A simulation must not leave weights behind that a real scaler would pick up.
      weightsDir: null,
      log: o.log,
      // Nothing here answers RPCs: inference on this thread is faster than crossing to a worker.
      inferenceWorker: false,
    });
    runtime = loaded.runtime;
    reason = loaded.reason;
    if (runtime) runtime.clock = o.clock;
  }
  const forecaster = createForecasterProvider({ lstm: runtime, unavailableReason: reason, log: o.log })(o.forecaster, 'simulation/amadeus');
  return {
    forecaster,
    async close() {
      forecaster.close?.();
      await runtime?.pool?.close();
    },
  };
}
