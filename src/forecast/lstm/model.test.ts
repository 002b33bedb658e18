/**
 * The LSTM on tiny data: training runs and learns, save/load keeps predictions identical, and the
 * fine-tuning acceptance rule rejects a worse candidate. Tiny models, a few seconds in all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { buildDataset, usableEnds } from './dataset.js';
import { fineTuneRound } from './finetune.js';
import { LstmForecaster } from './forecaster.js';
import { getWeights, loadModel, saveModel } from './io.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import { createModel, makeLoss, type ModelShape } from './model.js';
import { evaluateLoss, train } from './train.js';

const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 4, stepMinutes: 5 };
const T0 = Date.UTC(2025, 0, 6);
const series = (minutes: number, seed = 1) => ({ requests: sineSeries(minutes, { seed, period: 120 }), start: T0, utcOffsetMinutes: 0 });
const wo = { history: shape.historyMinutes, horizon: shape.horizonMinutes, yPadding: 2 };

beforeAll(async () => {
  await startBackend('wasm');
});

function meta(): LstmMeta {
  return { format: META_FORMAT, shape, features: FEATURES, normalisation: 'test', createdAt: '', backend: tf.getBackend(), training: {} as LstmMeta['training'] };
}

test('backend selection falls back cleanly when the native backend is absent', async () => {
  // tfjs-node cannot install on these machines (it downloads libtensorflow): asking for it lands on cpu.
  const r = await startBackend('tensorflow');
  expect(['tensorflow', 'cpu']).toContain(r.backend);
  if (r.backend === 'cpu') expect(r.unavailable).toEqual(['tensorflow']);
  const w = await startBackend('auto');
  expect(['tensorflow', 'wasm']).toContain(w.backend);
  await startBackend('wasm');
});

test('training reduces the loss on a learnable pattern and is reproducible with a seed', async () => {
  const s = series(600);
  const d = buildDataset(s, usableEnds(s, 0, 600, wo), wo);
  const run = async () => {
    const model = createModel(shape, 3);
    const before = evaluateLoss(model, d, shape.quantiles);
    const result = await train(model, d, null, { epochs: 4, batchSize: 64, learningRate: 0.01, seed: 5, quantiles: shape.quantiles });
    const after = evaluateLoss(model, d, shape.quantiles);
    const w = getWeights(model);
    model.dispose();
    return { before, after, result, w };
  };
  const a = await run();
  expect(a.after).toBeLessThan(a.before);
  expect(a.result.epochs).toHaveLength(4);
  const b = await run();
  expect(b.after).toBe(a.after);
  expect(Array.from(b.w[0]!)).toEqual(Array.from(a.w[0]!));
});

test('save/load round trip gives identical predictions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-model-'));
  try {
    const model = createModel(shape, 11);
    await saveModel(model, dir, meta());
    const loaded = await loadModel<LstmMeta>(dir);
    expect(loaded.meta.shape).toEqual(shape);
    const s = series(200);
    const req = { history: { start: s.start, requests: s.requests.slice(0, 100), utcOffsetMinutes: 0 }, horizon: 5 };
    const a = new LstmForecaster('lstm', model, meta()).forecastBatch([req])[0];
    const b = new LstmForecaster('lstm', loaded.model, loaded.meta).forecastBatch([req])[0];
    expect(b).toEqual(a);
    expect((a as { values: number[] }).values).toHaveLength(5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forecasts: finite, >= 0, quantiles ordered, gaps tolerated, too little history declined', async () => {
  const f = new LstmForecaster('lstm', createModel(shape, 2), meta());
  const s = series(100);
  const withGaps = s.requests.map((v, i) => (i % 7 === 0 ? null : v));
  const out = await f.forecast({ history: { start: T0, requests: withGaps }, horizon: 7 });
  expect(out.values).toHaveLength(7);
  expect(out.values.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
  expect(out.note).toMatch(/beyond the trained 5 minutes/);
  expect(out.maxQuantiles!['0.5']).toBeLessThanOrEqual(out.maxQuantiles!['0.9']!);
  await expect(f.forecast({ history: { start: T0, requests: [1, 2, 3] }, horizon: 5 })).rejects.toThrow('lstm needs 20 minutes');
  await expect(f.forecast({ history: { start: T0, requests: Array(30).fill(null) }, horizon: 5 })).rejects.toThrow();
});

test('fine-tuning accepts a candidate that beats the current weights on the hold-out and rejects a worse one', async () => {
  const s = series(1400, 4);
  const weights = getWeights(createModel(shape, 9)); // untrained: easy to beat
  const good = await fineTuneRound({ shape, weights, series: s, epochs: 3, learningRate: 0.01, seed: 1 });
  expect(good.accepted).toBe(true);
  expect(good.candidateLoss).toBeLessThan(good.baseLoss);
  expect(good.weights).toHaveLength(weights.length);

  // A learning rate this large wrecks the weights: the candidate must be rejected, weights kept.
  const bad = await fineTuneRound({ shape, weights: good.weights!, series: s, epochs: 2, learningRate: 50, seed: 1 });
  expect(bad.accepted).toBe(false);
  expect(bad.weights).toBeUndefined();
  expect(bad.candidateLoss).toBeGreaterThan(bad.baseLoss);

  const tooShort = await fineTuneRound({ shape, weights, series: series(200) });
  expect(tooShort).toMatchObject({ accepted: false, reason: expect.stringMatching(/not enough history/) });
});

test('the loss: point errors weigh more at the horizon\'s last minute, scaled by the sample weight; quantiles by pinball', () => {
  const loss = makeLoss(2, [0.5, 0.9]);
  // yTrue: targets t0 t1, weight, actual maximum; yPred: p0 p1, q0.5 q0.9 of the maximum.
  const value = (yTrue: number[], yPred: number[]) => loss(tf.tensor2d([yTrue]), tf.tensor2d([yPred])).dataSync()[0]!;
  // An error of 4 on the last minute: half of (mean 2 + last 4) = 3; on the first minute: half of (2 + 0) = 1.
  expect(value([1, 1, 1, 3], [1, 5, 3, 3])).toBeCloseTo(3, 5);
  expect(value([1, 1, 1, 3], [5, 1, 3, 3])).toBeCloseTo(1, 5);
  // Twice the weight, twice the loss.
  expect(value([1, 1, 2, 3], [1, 5, 3, 3])).toBeCloseTo(6, 5);
  // Quantiles: actual maximum 3, both quantiles predicted 1 (under by 2): pinball 0.5·2 and 0.9·2, averaged.
  expect(value([1, 1, 1, 3], [1, 1, 1, 1])).toBeCloseTo((1 + 1.8) / 2, 5);
});
