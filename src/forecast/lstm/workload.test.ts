/** Fine-tuning scheduling of one workload, with a stand-in pool (no worker, no training). */
import { silentLogger } from '../../telemetry/logger.js';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import type { FineTunePool } from './finetune-pool.js';
import { LstmForecaster } from './forecaster.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { createModel, type ModelShape } from './model.js';
import { WorkloadLstm } from './workload.js';

const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 2, stepMinutes: 5 };
const meta: LstmMeta = { format: META_FORMAT, shape, features: [], normalisation: '', createdAt: '', backend: '', training: {} as LstmMeta['training'] };
const history = { start: Date.UTC(2025, 0, 6), requests: sineSeries(1500) };

beforeAll(() => startBackend('wasm'));

function setup(pending: number) {
  let now = 0;
  const jobs: unknown[] = [];
  const pool = { pending, run: (job: unknown) => (jobs.push(job), new Promise(() => {})) } as unknown as FineTunePool;
  const w = new WorkloadLstm(
    { shared: new LstmForecaster('lstm', createModel(shape, 1), meta), pool, weightsDir: null, fineTuneIntervalMs: 1000, fineTuneHistoryMinutes: 1500, log: silentLogger, clock: () => now },
    'ns/app',
  );
  return { w, jobs, advance: (ms: number) => (now += ms) };
}

test('one round per interval, never two in flight, starting one interval after the workload appears', async () => {
  const { w, jobs, advance } = setup(0);
  await w.forecast({ history, horizon: 5 });
  expect(jobs).toHaveLength(0);
  advance(1000);
  await w.forecast({ history, horizon: 5 });
  expect(jobs).toHaveLength(1);
  advance(5000);
  await w.forecast({ history, horizon: 5 }); // the first round is still running
  expect(jobs).toHaveLength(1);
});

test('a round that would queue behind a busy worker is postponed, keeping the backlog bounded', async () => {
  const { w, jobs, advance } = setup(2);
  advance(1000);
  await w.forecast({ history, horizon: 5 });
  expect(jobs).toHaveLength(0);
});
