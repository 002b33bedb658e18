/** Fine-tuning scheduling of one workload, with a stand-in pool (no worker, no training). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../telemetry/logger.js';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import type { FineTunePool } from './finetune-pool.js';
import { LstmForecaster } from './forecaster.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import { getWeights, saveModel } from './io.js';
import { createModel, type ModelShape } from './model.js';
import { FINE_TUNE_EFFECT_MINUTES, WorkloadLstm, workloadDir } from './workload.js';

const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 2, stepMinutes: 5 };
const meta: LstmMeta = { format: META_FORMAT, shape, features: FEATURES, normalisation: '', createdAt: '', backend: '', training: {} as LstmMeta['training'] };
const history = { start: Date.UTC(2025, 0, 6), requests: sineSeries(1500) };

beforeAll(() => startBackend('wasm'));

const MIN = 60_000;
/** The same series, its last minute `minutes` later: what a refresh that much later reads. */
const at = (minutes: number) => ({ history: { ...history, start: history.start + minutes * MIN }, horizon: 5 });

function setup(pending: number, result: unknown = new Promise(() => {})) {
  const jobs: unknown[] = [];
  const pool = { pending, run: (job: unknown) => (jobs.push(job), result) } as unknown as FineTunePool;
  const w = new WorkloadLstm({ shared: new LstmForecaster('lstm', createModel(shape, 1), meta), pool, weightsDir: null, fineTuneIntervalMs: 60 * MIN, fineTuneHistoryMinutes: 1500, log: silentLogger }, 'ns/app');
  return { w, jobs };
}

test('one round per interval of the history\'s own time, never two in flight, the first one interval after the workload appears', async () => {
  const { w, jobs } = setup(0);
  await w.forecast(at(0));
  await w.forecast(at(59));
  expect(jobs).toHaveLength(0);
  await w.forecast(at(60));
  expect(jobs).toHaveLength(1);
  await w.forecast(at(200)); // the first round is still running
  expect(jobs).toHaveLength(1);
});

test('a round that would queue behind a busy worker is postponed, keeping the backlog bounded', async () => {
  const { w, jobs } = setup(2);
  await w.forecast(at(0));
  await w.forecast(at(60));
  expect(jobs).toHaveLength(0);
});

test('accepted weights answer from FINE_TUNE_EFFECT_MINUTES after the round\'s origin, however fast it trained', async () => {
  const tuned = createModel(shape, 7);
  const { w, jobs } = setup(0, Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) }));
  await w.forecast(at(0));
  await w.forecast(at(60));
  expect(jobs).toHaveLength(1);
  await w.settled(); // the round is over at once here…
  expect(w.fineTuned).toBe(false);
  await w.forecast(at(60 + FINE_TUNE_EFFECT_MINUTES - 1)); // …yet not used before its minute
  expect(w.fineTuned).toBe(false);
  const f = await w.forecast(at(60 + FINE_TUNE_EFFECT_MINUTES));
  expect(w.fineTuned).toBe(true);
  expect(f.note).toMatch(/fine-tuned/);
  tuned.dispose();
});

test('persisted weights trained on other input features are ignored with a warning, not used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  try {
    const key = 'ns/app';
    const old = createModel(shape, 2);
    await saveModel(old, workloadDir(dir, key), { ...meta, features: FEATURES.slice(0, 12), fineTuned: { workload: key, at: '', rounds: 1, lastHoldoutLoss: 0, baseHoldoutLoss: 1 } });
    old.dispose();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg} ${String(f?.error)}`) };
    const w = new WorkloadLstm({ shared: new LstmForecaster('lstm', createModel(shape, 1), meta), pool: null, weightsDir: dir, fineTuneIntervalMs: 1000, fineTuneHistoryMinutes: 1500, log }, key);
    await w.loaded;
    expect(w.fineTuned).toBe(false);
    const f = await w.forecast({ history, horizon: 5 });
    expect(f.values).toHaveLength(5);
    expect(warnings.join('\n')).toMatch(/cannot load fine-tuned weights.*input features.*retrain/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
