/**
 * Fine-tuning in the worker thread (the built worker in dist/, which `npm test` builds first) and a
 * workload whose accepted weights survive a restart.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { silentLogger } from '../../telemetry/logger.js';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { FineTunePool } from './finetune-pool.js';
import { LstmForecaster } from './forecaster.js';
import { getWeights } from './io.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import { createModel, type ModelShape } from './model.js';
import { FINE_TUNE_EFFECT_MINUTES, workloadDir, WorkloadLstm, type LstmRuntime } from './workload.js';
import { fileWeightsStore } from '../../replicas/shared-dir.js';

const WORKER = new URL('../../../dist/forecast/lstm/finetune-worker.js', import.meta.url);
const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 4, stepMinutes: 5 };
const T0 = Date.UTC(2025, 0, 6);
const meta = (): LstmMeta => ({ format: META_FORMAT, shape, features: FEATURES, normalisation: 'test', createdAt: '', backend: 'wasm', training: {} as LstmMeta['training'] });

beforeAll(async () => {
  if (!existsSync(fileURLToPath(WORKER))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  await startBackend('wasm');
});

test('a round runs in the worker thread and returns accepted weights', async () => {
  const pool = new FineTunePool({ workerUrl: WORKER, backend: 'wasm' });
  try {
    const series = { requests: sineSeries(1400, { period: 120, seed: 3 }), start: T0, utcOffsetMinutes: 0 };
    const result = await pool.run({ shape, weights: getWeights(createModel(shape, 9)), series, learningRate: 0.01 });
    expect(result.accepted).toBe(true);
    // Typed arrays cross back from the worker (another realm: compare by tag, not instanceof).
    expect(result.weights!.every((w) => Object.prototype.toString.call(w) === '[object Float32Array]')).toBe(true);
    // A job the worker cannot run is reported, and the pool keeps working.
    await expect(pool.run({ shape, weights: [], series })).rejects.toThrow(/weights do not fit/);
    const again = await pool.run({ shape, weights: getWeights(createModel(shape, 9)), series: { ...series, requests: series.requests.slice(0, 100) } });
    expect(again.accepted).toBe(false);
  } finally {
    await pool.close();
  }
  await expect(pool.run({} as never)).rejects.toThrow('closed');
});

test('a workload fine-tunes from the history its forecasts receive, persists the weights, and a restart loads them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-weights-'));
  let now = 1_000_000;
  const pool = new FineTunePool({ workerUrl: WORKER, backend: 'wasm' });
  const runtime = (): LstmRuntime => ({
    shared: new LstmForecaster('lstm', createModel(shape, 9), meta()),
    pool,
    weightsDir: dir,
    fineTuneIntervalMs: 60_000,
    fineTuneHistoryMinutes: 1400,
    fineTuneBlend: true,
    log: silentLogger,
    clock: () => now,
  });
  try {
    const w = new WorkloadLstm(runtime(), 'shop/web');
    // A round's 1,400 minutes and, as it chooses a blend, five days and ten minutes before its newest windows (a minute's interval, the horizon).
    expect(w.historyMinutes(60)).toBe(5 * 1440 + 10 + 1 + 5);
    const noBlend = new WorkloadLstm({ ...runtime(), fineTuneBlend: false }, 'shop/other');
    expect(noBlend.historyMinutes(60)).toBe(20 + 1440); // the window and a day before it, more than the 1,400 of fine-tuning
    noBlend.close();
    const requests = sineSeries(1400, { period: 120, seed: 5 });
    // Rounds follow the history's own minutes: the same series read `minutes` later.
    const at = (minutes: number) => ({ history: { start: T0 + minutes * 60_000, requests }, horizon: 5 });
    await w.forecast(at(0)); // too early: the first round waits one interval
    expect(w.fineTuned).toBe(false);
    now += 61_000;
    await w.forecast(at(1));
    await w.settled();
    // Published as version 1 on the weights volume (publish.ts: verified, with its checksum).
    expect(await fileWeightsStore(dir).latestVersion('shop/web')).toBe(1);
    expect(w.version).toBe(0); // not yet answering
    // The accepted weights answer from FINE_TUNE_EFFECT_MINUTES after the round's origin.
    expect((await w.forecast(at(1 + FINE_TUNE_EFFECT_MINUTES))).note).toBe('fine-tuned');
    expect(w.fineTuned).toBe(true);
    expect(w.version).toBe(1);

    // A restart (or another replica) loads the version, and switches at the same minute.
    const restarted = new WorkloadLstm(runtime(), 'shop/web');
    await restarted.loaded;
    expect((await restarted.forecast(at(FINE_TUNE_EFFECT_MINUTES))).note ?? '').not.toContain('fine-tuned');
    const theirs = await restarted.forecast(at(1 + FINE_TUNE_EFFECT_MINUTES));
    expect(theirs.note).toBe('fine-tuned');
    expect(restarted.fineTuned).toBe(true);
    // The same answer as the replica that fine-tuned: weights and blend (blend.ts) both published.
    expect(theirs.values).toEqual((await w.forecast(at(1 + FINE_TUNE_EFFECT_MINUTES))).values);
    restarted.close();
    const other = new WorkloadLstm(runtime(), 'shop/cart');
    await other.loaded;
    expect(other.fineTuned).toBe(false);
    w.close();
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  void tf;
});

test('workload directories cannot escape the weights root', () => {
  expect(workloadDir('/w', 'ns/name')).toBe('/w/ns/name');
  expect(workloadDir('/w', '../../etc/passwd')).toBe('/w/_/_');
  expect(workloadDir('/w', 'a b/c:d')).toBe('/w/a_b/c_d');
});

describe('a worker that misbehaves (a stand-in worker that answers every job "not accepted")', () => {
  /** A job with `hang` spins forever (a stuck round); with `exit` the thread exits with that code, unasked. */
  const STAND_IN = new URL(
    'data:text/javascript,' +
      encodeURIComponent(`
        import { parentPort } from 'node:worker_threads';
        parentPort.on('message', ({ id, job }) => {
          if (job.hang) for (;;);
          if (job.exit !== undefined) process.exit(job.exit);
          parentPort.postMessage({ id, result: { accepted: false, reason: 'stand-in ' + job.n } });
        });
      `),
  );
  const job = (j: Record<string, unknown>) => j as never;
  let pool: FineTunePool;
  // Generous against a slow machine's worker start-up: only a job that never ends reaches it.
  beforeEach(() => (pool = new FineTunePool({ workerUrl: STAND_IN, jobTimeoutMs: 2000 })));
  afterEach(() => pool.close());

  test('a stuck job fails at its deadline; the worker is replaced and the jobs queued behind it run', async () => {
    expect((await pool.run(job({ n: 1 }))).reason).toBe('stand-in 1');
    const stuck = pool.run(job({ hang: true }));
    const behind = pool.run(job({ n: 2 }));
    expect(pool.pending).toBe(2);
    await expect(stuck).rejects.toThrow(/^fine-tuning job \(worker restarted\): deadline exceeded after 2s$/);
    expect((await behind).reason).toBe('stand-in 2');
    expect(pool.started).toBe(2);
    expect(pool.pending).toBe(0);
  });

  test('a worker that exits, even with code 0, fails its job and the next job gets a new worker', async () => {
    for (const code of [0, 7]) {
      const exited = pool.run(job({ exit: code }));
      const behind = pool.run(job({ n: code }));
      await expect(exited).rejects.toThrow(`fine-tuning worker exited with code ${code}`);
      expect((await behind).reason).toBe(`stand-in ${code}`);
    }
    expect(pool.started).toBe(3);
    expect((await pool.run(job({ n: 3 }))).reason).toBe('stand-in 3');
  });
});
