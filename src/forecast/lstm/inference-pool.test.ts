/** Inference in the worker thread (the built worker in dist/) gives the same forecasts as in-thread. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { LstmForecaster } from './forecaster.js';
import { InferencePool } from './inference-pool.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import { createModel, type ModelShape } from './model.js';

const WORKER = new URL('../../../dist/forecast/lstm/inference-worker.js', import.meta.url);
const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 4, stepMinutes: 5 };
const meta: LstmMeta = { format: META_FORMAT, shape, features: FEATURES, normalisation: '', createdAt: '', backend: 'wasm', training: {} as LstmMeta['training'], calibration: { '0.9': 1.1 } };

beforeAll(async () => {
  if (!existsSync(fileURLToPath(WORKER))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  await startBackend('wasm');
});

test('forecasts from the worker equal forecasts made in this thread; models are loaded once and dropped', async () => {
  const pool = new InferencePool({ workerUrl: WORKER, backend: 'wasm' });
  try {
    const model = createModel(shape, 4);
    const local = new LstmForecaster('lstm', model, meta);
    const remote = new LstmForecaster('lstm', model, meta, pool);
    const requests = [0, 1, 2].map((k) => ({ history: { start: Date.UTC(2025, 0, 6), requests: sineSeries(100, { seed: k }) }, horizon: 5 }));
    const viaWorker = await Promise.all(requests.map((r) => remote.forecast(r)));
    const here = await Promise.all(requests.map((r) => local.forecast(r)));
    expect(viaWorker).toEqual(here);
    // Too little history is declined without reaching the worker, as in-thread.
    await expect(remote.forecast({ history: { start: 0, requests: [1, 2] }, horizon: 5 })).rejects.toThrow('lstm needs 20 minutes');
    // A second model of the same shape is a different key: its own weights.
    const other = new LstmForecaster('lstm', createModel(shape, 99), meta, pool);
    expect(await other.forecast(requests[0]!)).not.toEqual(viaWorker[0]);
    remote.dispose();
  } finally {
    await pool.close();
  }
  await expect(pool.run('k', shape, () => [], new Float32Array(1), 1)).rejects.toThrow('closed');
});
