/**
 * Pre-training on tiny data: restarts keep the training with the lowest validation loss and record
 * every one. A tiny model, a few seconds.
 */
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { bestValLoss, pretrain, pretrainBest, type PretrainOptions } from './pretrain.js';

const T0 = Date.UTC(2025, 0, 6);
const trace = { requests: sineSeries(2000, { seed: 3, period: 120 }), start: T0, utcOffsetMinutes: 0 };
const o: PretrainOptions = {
  split: 1,
  validation: 0.2,
  epochs: 1,
  batchSize: 64,
  learningRate: 0.003,
  stride: 10,
  units: 4,
  dropRate: 0,
  seed: 7,
  shape: { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], stepMinutes: 5 },
};

beforeAll(async () => {
  await startBackend('wasm');
});

test('restarts: the seeds from --seed on, the lowest validation loss kept, every one recorded', async () => {
  const seen: number[] = [];
  const best = await pretrainBest(trace, o, 3, (_r, seed) => seen.push(seed));
  expect(seen).toEqual([7, 8, 9]);
  const tried = best.meta.training.restarts!;
  expect(tried.map((t) => t.seed)).toEqual([7, 8, 9]);
  expect(tried.every((t) => typeof t.valLoss === 'number' && Number.isFinite(t.valLoss))).toBe(true);
  expect(new Set(tried.map((t) => t.valLoss)).size).toBe(3); // the seeds differ, so the choice is one
  const lowest = tried.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
  expect(best.meta.training.seed).toBe(lowest.seed);
  expect(bestValLoss(best.meta)).toBe(lowest.valLoss);
  // Each restart is the plain training with its seed: the same loss as training that seed alone.
  const alone = await pretrain(trace, { ...o, seed: 8 });
  expect(bestValLoss(alone.meta)).toBe(tried[1]!.valLoss);
  alone.model.dispose();
  best.model.dispose();
});

test('one restart is the plain training and records none; restarts without validation are refused', async () => {
  const one = await pretrainBest(trace, o, 1);
  expect(one.meta.training.restarts).toBeUndefined();
  expect(one.meta.training.seed).toBe(7);
  one.model.dispose();
  await expect(pretrainBest(trace, { ...o, validation: 0 }, 2)).rejects.toThrow('validation share above 0');
  await expect(pretrainBest(trace, o, 0)).rejects.toThrow('positive integer');
  await expect(pretrainBest(trace, { ...o, seed: 2 ** 32 - 2 }, 3)).rejects.toThrow('exceed');
});
