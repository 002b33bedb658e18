/**
 * The LSTM on tiny data: training runs and learns, save/load keeps predictions identical, and the
 * fine-tuning acceptance rule rejects a worse candidate. Tiny models, a few seconds in all.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { buildDataset, usableEnds } from './dataset.js';
import { BLEND_CANDIDATES } from './blend.js';
import { RECORD_MIN_COUNT } from './blend-record.js';
import { fineTuneRound, roundReadMinutes } from './finetune.js';
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
  // tfjs-node cannot install on these machines (it downloads libtensorflow): asking for it lands on wasm, as auto does.
  const r = await startBackend('tensorflow');
  expect(['tensorflow', 'wasm']).toContain(r.backend);
  if (r.backend === 'wasm') expect(r.unavailable).toEqual(['tensorflow']);
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

test('a weights file larger than its manifest describes (or than any model) is refused before it is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-model-'));
  try {
    await saveModel(createModel(shape, 11), dir, meta());
    const weights = join(dir, 'weights.bin');
    const size = statSync(weights).size;
    appendFileSync(weights, Buffer.alloc(4));
    await expect(loadModel<LstmMeta>(dir)).rejects.toThrow(`more than the ${size} accepted`);
    truncateSync(weights, 1024 ** 3); // sparse: no disk used, and never read
    await expect(loadModel<LstmMeta>(dir)).rejects.toThrow(/weights\.bin/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model.json or meta.json that is not what it should be fails naming the file, before weights.bin is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-model-'));
  try {
    await saveModel(createModel(shape, 11), dir, meta());
    const modelJson = join(dir, 'model.json');
    const good = readFileSync(modelJson);
    const weights = readFileSync(join(dir, 'weights.bin'));
    // Gone: a failure to read it would mean model.json was let through.
    rmSync(join(dir, 'weights.bin'));
    writeFileSync(modelJson, '<html>502 Bad Gateway</html>');
    await expect(loadModel<LstmMeta>(dir)).rejects.toThrow(`${modelJson}: not JSON (`);
    writeFileSync(modelJson, '{"format":"graph-model"}');
    await expect(loadModel<LstmMeta>(dir)).rejects.toThrow(`${modelJson}: not a TensorFlow.js layers model`);
    writeFileSync(modelJson, good);
    writeFileSync(join(dir, 'weights.bin'), weights);
    writeFileSync(join(dir, 'meta.json'), '{"format":');
    await expect(loadModel<LstmMeta>(dir)).rejects.toThrow(`${join(dir, 'meta.json')}: not JSON (`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save that fails leaves no temp file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-model-'));
  try {
    // weights.bin's rename is refused (a directory with something in it stands there).
    mkdirSync(join(dir, 'weights.bin', 'x'), { recursive: true });
    await expect(saveModel(createModel(shape, 11), dir, meta())).rejects.toThrow(/weights\.bin/);
    expect(readdirSync(dir)).toEqual(['weights.bin']);
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
  const good = await fineTuneRound({ shape, weights, series: s, learningRate: 0.01, seed: 1 });
  expect(good.accepted).toBe(true);
  expect(good.candidateLoss).toBeLessThan(good.baseLoss);
  expect(good.weights).toHaveLength(weights.length);

  // A learning rate this large wrecks the weights: the candidate must be rejected, weights kept.
  const bad = await fineTuneRound({ shape, weights: good.weights!, series: s, steps: 20, learningRate: 50, seed: 1 });
  expect(bad.accepted).toBe(false);
  expect(bad.weights).toBeUndefined();
  expect(bad.candidateLoss).toBeGreaterThan(bad.baseLoss);

  // Rounds refit from the pre-trained weights, and fall back to them when the weights in use do
  // worse: here the weights in use are the untrained ones, the pre-trained the good round's.
  const back = await fineTuneRound({ shape, weights, pretrained: good.weights!, series: s, steps: 0, seed: 1 });
  expect(back).toMatchObject({ accepted: true, reason: 'pre-trained weights beat current weights on the hold-out' });
  expect(back.weights!.map((w) => Array.from(w))).toEqual(good.weights!.map((w) => Array.from(w)));
  const kept = await fineTuneRound({ shape, weights: good.weights!, pretrained: good.weights!, series: s, steps: 0, seed: 1 });
  expect(kept.accepted).toBe(false);

  const tooShort = await fineTuneRound({ shape, weights, series: series(200) });
  expect(tooShort).toMatchObject({ accepted: false, reason: expect.stringMatching(/not enough history/) });
});

test('a round scores the hold-out with the training loss (makeLoss), computed outside tfjs', async () => {
  const skipShape: ModelShape = { ...shape, skipMinutes: 5 };
  const model = createModel(skipShape, 9);
  const s = series(1400, 4);
  const r = await fineTuneRound({ shape: skipShape, weights: getWeights(model), series: s, steps: 0 });
  // The hold-out is the last 120 usable windows.
  const o = { ...wo, yPadding: skipShape.quantiles.length, seed: 7 };
  const holdout = buildDataset(s, usableEnds(s, 0, 1400, o).slice(-120), o);
  expect(r.holdoutWindows).toBe(120);
  expect(r.baseLoss).toBeCloseTo(evaluateLoss(model, holdout, skipShape.quantiles), 5);
  expect(r.basePointLoss).toBeCloseTo(evaluateLoss(model, holdout, []), 5);
  // No step: the candidate is the current map, not better, not accepted.
  expect(r.candidateLoss).toBeCloseTo(r.baseLoss, 10);
  expect(r.accepted).toBe(false);
  model.dispose();
});

test('a round refits only the output layers, the skip path included, and keeps the LSTM as it was', async () => {
  const skipShape: ModelShape = { ...shape, skipMinutes: 5 };
  const model = createModel(skipShape, 9);
  const names = model.weights.map((w) => w.originalName);
  const weights = getWeights(model);
  model.dispose();
  const r = await fineTuneRound({ shape: skipShape, weights, series: series(1400, 4), learningRate: 0.01, seed: 1 });
  expect(r.accepted).toBe(true);
  r.weights!.forEach((w, i) => {
    const changed = w.some((v, j) => v !== weights[i]![j]);
    expect([names[i], changed]).toEqual([names[i], /^(head|skip)\//.test(names[i]!)]);
  });
  // Training windows every 2nd minute by default; every 4th halves them again.
  const strided = await fineTuneRound({ shape: skipShape, weights, series: series(1400, 4), trainStride: 4, seed: 1 });
  expect(strided.trainWindows).toBeLessThan(r.trainWindows / 1.9);
});

test('a round keeps a record of each blend\'s errors on windows its weights were not fitted on, scores each window once, and chooses from it once it is long enough', async () => {
  const weights = getWeights(createModel(shape, 9)); // untrained: a baseline beats it
  const long = series(1700, 4);
  const upTo = (n: number) => ({ ...long, requests: long.requests.slice(0, n) });
  // First round: the weights in use may have been fitted on the span, so a record starts at its end, empty; the blend is chosen on the span.
  const first = await fineTuneRound({ shape, weights, series: upTo(1400), steps: 0, seed: 1, chooseBlend: true });
  const startMinute = T0 / 60_000;
  expect(first.record).toMatchObject({ next: startMinute + 1400 - shape.horizonMinutes + 1, count: 0 });
  expect(first.blendFrom).toBe('span');
  // 300 minutes later: the windows that became scoreable (every 3rd minute), each a horizon of minute-errors.
  const second = await fineTuneRound({ shape, weights, series: upTo(1700), steps: 0, seed: 1, chooseBlend: true, record: first.record });
  expect(second.record!.next).toBe(startMinute + 1700 - shape.horizonMinutes + 1);
  expect(second.record!.count).toBe(100 * shape.horizonMinutes);
  expect(second.record!.sums.every((x) => x > 0)).toBe(true);
  // The same span again: nothing new is scored twice.
  const again = await fineTuneRound({ shape, weights, series: upTo(1700), steps: 0, seed: 1, chooseBlend: true, record: second.record });
  expect(again.record).toEqual(second.record);
  // A round without enough history (a gap in the data) keeps the record as it was.
  const gap = { ...long, requests: long.requests.map((v, i) => (i < 1600 ? null : v)) };
  const skipped = await fineTuneRound({ shape, weights, series: gap, steps: 0, seed: 1, chooseBlend: true, record: second.record });
  expect(skipped.reason).toMatch(/not enough history/);
  expect(skipped.record).toEqual(second.record);
  // A record long enough is trusted over the span: one in which the LSTM alone did best keeps it alone, though on the span a blend wins.
  const lstmBest = { next: second.record!.next, sums: BLEND_CANDIDATES.map((_, k) => (k === 0 ? 1 : 2) * RECORD_MIN_COUNT), count: RECORD_MIN_COUNT };
  const trusted = await fineTuneRound({ shape, weights, blend: first.blend, series: upTo(1700), steps: 0, seed: 1, chooseBlend: true, record: lstmBest });
  expect(first.blend!.weight).toBeGreaterThan(0);
  expect(trusted).toMatchObject({ blendFrom: 'record', blend: { weight: 0 }, accepted: true, reason: expect.stringMatching(/^blend none beats (persistence|mean10|mean30) 0\.\d+ on the hold-out$/) });
});

test('a round on a workload whose sales come at the same times every weekday chooses the blend with days3, reading the days before its span', async () => {
  const weights = getWeights(createModel(shape, 9)); // untrained: it sees no sale coming
  // 100 a minute (±3), and every two hours a 20-minute sale at 300 that ramps over 3 minutes, at the same times each day.
  const sale = (m: number) => {
    const t = m % 120;
    return t < 3 ? 100 + (200 * (t + 1)) / 3 : t < 20 ? 300 : 100;
  };
  const requests = Array.from({ length: 5 * 1440 + 300 }, (_, i) => sale(i % 1440) + ((i * 7919) % 7) - 3);
  // T0 is a Monday. Each round learns from its last two days only; the minutes before them are what days3 reads.
  const upTo = (n: number) => ({ requests: requests.slice(0, n), start: T0, utcOffsetMinutes: 0 });
  const first = await fineTuneRound({ shape, weights, series: upTo(3 * 1440 + 300), fitMinutes: 2880, steps: 0, seed: 1, chooseBlend: true });
  expect(first.record).toBeDefined();
  // Two days later (Saturday 05:00) its record holds two days of out-of-sample windows, those of Thursday and Friday with three weekdays behind them.
  const second = await fineTuneRound({ shape, weights, blend: first.blend, series: upTo(5 * 1440 + 300), fitMinutes: 2880, steps: 0, seed: 1, chooseBlend: true, record: first.record });
  expect(second).toMatchObject({ blendFrom: 'record', blend: { baseline: 'days3' } });
  expect(second.blend!.weight).toBeGreaterThan(0);
  // Given only its span, the same round has no days before it to read: no days3.
  const alone = await fineTuneRound({ shape, weights, blend: first.blend, series: { ...upTo(5 * 1440 + 300), requests: requests.slice(3 * 1440 + 300), start: T0 + (3 * 1440 + 300) * 60_000 }, steps: 0, seed: 1, chooseBlend: true, record: first.record });
  expect(alone.blend?.baseline).not.toBe('days3');
});

test('a round given more than its span fits and holds out exactly as on the span alone', async () => {
  const requests = sineSeries(3000, { period: 240, seed: 4 });
  const weights = getWeights(createModel(shape, 9));
  const span = 1200;
  const sliced = { requests: requests.slice(3000 - span), start: T0 + (3000 - span) * 60_000, utcOffsetMinutes: 0 };
  const onSpan = await fineTuneRound({ shape, weights, series: sliced, steps: 20, seed: 3 });
  const withDays = await fineTuneRound({ shape, weights, series: { requests, start: T0, utcOffsetMinutes: 0 }, fitMinutes: span, steps: 20, seed: 3 });
  expect(withDays.trainWindows).toBe(onSpan.trainWindows);
  expect(withDays.holdoutWindows).toBe(onSpan.holdoutWindows);
  expect(withDays.candidateLoss).toBe(onSpan.candidateLoss);
  expect(withDays.baseLoss).toBe(onSpan.baseLoss);
  // Without fitMinutes the whole series is the span: more windows.
  expect((await fineTuneRound({ shape, weights, series: { requests, start: T0, utcOffsetMinutes: 0 }, steps: 0, seed: 3 })).trainWindows).toBeGreaterThan(onSpan.trainWindows);
});

test('a round is given its span and, choosing a blend, five days and the interval before its newest windows', () => {
  expect(roundReadMinutes(2880, 360, 10, false)).toBe(2880);
  expect(roundReadMinutes(2880, 360, 10, true)).toBe(5 * 1440 + 10 + 360 + 10);
  expect(roundReadMinutes(20_160, 360, 10, true)).toBe(20_160);
});

test('the skip path starts at zero: a new model with it forecasts as the same model without it', () => {
  const a = createModel(shape, 4);
  const b = createModel({ ...shape, skipMinutes: 5 }, 4);
  const x = tf.randomUniform([3, shape.historyMinutes, FEATURES.length], 0, 2, 'float32', 1);
  expect(Array.from((b.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((a.predict(x) as tf.Tensor).dataSync()));
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

test('opt-in: a round also chooses how far to shrink the point forecast toward a baseline, and publishes a new blend with the weights in use', async () => {
  const s = series(1400, 4);
  const weights = getWeights(createModel(shape, 9)); // untrained: a baseline beats it
  const r = await fineTuneRound({ shape, weights, series: s, steps: 0, seed: 1, chooseBlend: true });
  expect(r.blend!.weight).toBeGreaterThan(0);
  expect(r).toMatchObject({ accepted: true, reason: expect.stringMatching(/^blend (persistence|mean10|mean30) 0\.\d+ beats none on the hold-out$/) });
  // The weights are the ones in use: only the blend is new.
  expect(r.weights!.map((w) => Array.from(w))).toEqual(weights.map((w) => Array.from(w)));
  // The same round with that blend in use: nothing new to publish.
  const again = await fineTuneRound({ shape, weights, blend: r.blend, series: s, steps: 0, seed: 1, chooseBlend: true });
  // Without the opt-in a round chooses none and publishes nothing for it.
  const off = await fineTuneRound({ shape, weights, series: s, steps: 0, seed: 1 });
  expect(off.accepted).toBe(false);
  expect(off.blend).toBeUndefined();
  expect(again).toMatchObject({ accepted: false, blend: r.blend });
  // The forecaster applies the blend from its meta: the point forecast moves toward the baseline.
  const plain = new LstmForecaster('lstm', createModel(shape, 9), meta());
  const blended = new LstmForecaster('lstm', createModel(shape, 9), { ...meta(), blend: r.blend });
  const history = { start: T0, requests: s.requests.slice(0, 200) };
  const a = await plain.forecast({ history, horizon: 5 });
  const b = await blended.forecast({ history, horizon: 5 });
  expect(b.values).not.toEqual(a.values);
  expect(b.values.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
});

