/** How the LSTM forecaster hands batched results back to the event loop. */
import { sineSeries } from '../../test-support/series.js';
import { LstmForecaster } from './forecaster.js';
import type { InferencePool } from './inference-pool.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import type * as tf from '@tensorflow/tfjs';
import type { ModelShape } from './model.js';

const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 4, stepMinutes: 5 };
const meta: LstmMeta = { format: META_FORMAT, shape, features: FEATURES, normalisation: '', createdAt: '', backend: 'cpu', training: {} as LstmMeta['training'] };

/** A stand-in for the inference worker whose every output is 1: the window's own level, at once. */
const levelPool = () =>
  ({
    run: (_key: string, s: ModelShape, _w: unknown, _x: Float32Array, rows: number) => Promise.resolve(new Float32Array(rows * (s.horizonMinutes + s.quantiles.length)).fill(1)),
    drop: () => {},
  }) as unknown as InferencePool;

test('a batch answered by the worker resumes its callers a few per turn of the event loop, so I/O gets a turn in between', async () => {
  // A stand-in for the worker: every output is 1 (the window's own level), answered on a later turn.
  const pool = {
    run: (_key: string, s: ModelShape, _w: unknown, _x: Float32Array, rows: number) =>
      new Promise<Float32Array>((resolve) => setTimeout(() => resolve(new Float32Array(rows * (s.horizonMinutes + s.quantiles.length)).fill(1)), 0)),
    drop: () => {},
  } as unknown as InferencePool;
  const forecaster = new LstmForecaster('lstm', {} as tf.LayersModel, meta, pool);
  const marks: string[] = [];
  let turnScheduled = false;
  const requests = Array.from({ length: 12 }, (_, k) => ({ history: { start: Date.UTC(2025, 0, 6), requests: sineSeries(40, { seed: k }) }, horizon: 5 }));
  const forecasts = await Promise.all(
    requests.map((r) =>
      forecaster.forecast(r).then((f) => {
        marks.push('forecast');
        // The first result in: what else is waiting on the event loop gets its turn before the last one.
        if (!turnScheduled) {
          turnScheduled = true;
          setImmediate(() => marks.push('turn'));
        }
        return f;
      }),
    ),
  );
  expect(forecasts).toHaveLength(12);
  for (const f of forecasts) expect(f.values).toHaveLength(5);
  expect(marks.filter((m) => m === 'forecast')).toHaveLength(12);
  expect(marks.indexOf('turn')).toBeGreaterThan(0);
  expect(marks.indexOf('turn')).toBeLessThan(marks.lastIndexOf('forecast'));
});

test('a surge the window clearly shows is held: the served forecast does not fall back below its latest minute', async () => {
  // A model that answers the window's level (its divisor) for every minute ahead, as a mean-reverting one would.
  const pool = levelPool();
  const forecaster = new LstmForecaster('lstm', {} as tf.LayersModel, meta, pool);
  const steady = Array.from({ length: 40 }, (_, i) => 30_000 + ((i * 7919) % 300) - 150);
  const surge = [...steady.slice(0, 37), 36_000, 45_000, 54_000];
  const level = (await forecaster.forecast({ history: { start: Date.UTC(2025, 0, 6), requests: steady }, horizon: 5 })).values;
  expect(level.every((v) => Math.abs(v - 30_000) < 300)).toBe(true);
  const held = await forecaster.forecast({ history: { start: Date.UTC(2025, 0, 6), requests: surge }, horizon: 5 });
  // The window's level after the jump is the last five minutes' mean (~41,000); the forecast holds 54,000.
  expect(held.values).toEqual([54_000, 54_000, 54_000, 54_000, 54_000]);
  expect(held.maxQuantiles?.['0.9']).toBeGreaterThanOrEqual(54_000);
});

test('with a blend toward a baseline (fine-tuned copies, --fine-tune-blend) a clear surge is still held: the blend applies first', async () => {
  const pool = levelPool();
  const blended = new LstmForecaster('lstm', {} as tf.LayersModel, { ...meta, blend: { baseline: 'mean10', weight: 0.75 } }, pool);
  const steady = Array.from({ length: 40 }, (_, i) => 30_000 + ((i * 7919) % 300) - 150);
  const surge = [...steady.slice(0, 37), 36_000, 45_000, 54_000];
  // mean10 is ~37,500 here: blended after the hold, the forecast would have fallen to ~41,700.
  expect((await blended.forecast({ history: { start: Date.UTC(2025, 0, 6), requests: surge }, horizon: 5 })).values).toEqual([54_000, 54_000, 54_000, 54_000, 54_000]);
  // Without a move the blend is what is served: three quarters of the way to mean10.
  const calm = (await blended.forecast({ history: { start: Date.UTC(2025, 0, 6), requests: steady }, horizon: 5 })).values;
  expect(calm.every((v) => Math.abs(v - 30_000) < 300)).toBe(true);
});

test('the shipped weights on a smooth window answer halfway between the model and the latest minute; fine-tuned weights answer the model', async () => {
  // A model 2% above the window's level for every minute ahead: the imprecision it shows on smooth traffic.
  const pool = {
    run: (_key: string, s: ModelShape, _w: unknown, _x: Float32Array, rows: number) => Promise.resolve(new Float32Array(rows * (s.horizonMinutes + s.quantiles.length)).fill(1.02)),
    drop: () => {},
  } as unknown as InferencePool;
  // Thousands a minute, ±0.5%: far smoother than the 1.5% at which the default has its full weight.
  const smooth = Array.from({ length: 40 }, (_, i) => 30_000 + ((i * 7919) % 300) - 150);
  const latest = smooth[smooth.length - 1]!;
  // The window's level, as features.ts divides by it: the larger of the window's mean and its last 5 minutes'.
  const levelOf = (w: number[]) => Math.max(w.slice(-20).reduce((a, b) => a + b, 0) / 20, w.slice(-5).reduce((a, b) => a + b, 0) / 5);
  const level = levelOf(smooth);
  const ask = (m: LstmMeta) => new LstmForecaster('lstm', {} as tf.LayersModel, m, pool).forecast({ history: { start: Date.UTC(2025, 0, 6), requests: smooth }, horizon: 5 });
  const shipped = (await ask(meta)).values;
  for (const v of shipped) expect(v).toBeCloseTo(0.5 * 1.02 * level + 0.5 * latest, 0);
  const fineTuned = (await ask({ ...meta, fineTuned: { workload: 'default/api', at: '2026-12-05T00:00:00Z', rounds: 1, lastHoldoutLoss: 0.1, baseHoldoutLoss: 0.2 } })).values;
  for (const v of fineTuned) expect(v).toBeCloseTo(1.02 * level, 0);
  // NASA-like noise (±40%): the shipped weights answer the model.
  const noisy = Array.from({ length: 40 }, (_, i) => 50 + (((i * 7919) % 41) - 20));
  const noisyLevel = levelOf(noisy);
  const raw = (await new LstmForecaster('lstm', {} as tf.LayersModel, meta, pool).forecast({ history: { start: Date.UTC(2025, 0, 6), requests: noisy }, horizon: 5 })).values;
  for (const v of raw) expect(v).toBeCloseTo(1.02 * noisyLevel, 2);
});

test('with a blend toward days3, a sale that began at this time on the weekdays before is forecast before anything of it shows today', async () => {
  // A model that answers the window's level (100) for every minute ahead: it does not see the sale coming.
  const pool = levelPool();
  const f = new LstmForecaster('lstm', {} as tf.LayersModel, { ...meta, blend: { baseline: 'days3', weight: 0.75 } }, pool);
  // It asks for five days and the level's ten minutes (three weekdays behind a Monday); the shipped weights for the window and a day.
  expect(f.historyMinutes(60)).toBe(5 * 1440 + 10);
  // A blend toward Holt-Winters reads from earlier days too (its two days, within the same five).
  expect(new LstmForecaster('lstm', {} as tf.LayersModel, { ...meta, blend: { baseline: 'holt-winters', weight: 0.5 } }, pool).historyMinutes(60)).toBe(5 * 1440 + 10);
  expect(new LstmForecaster('lstm', {} as tf.LayersModel, meta, pool).historyMinutes(60)).toBe(20 + 1440);
  // Monday to Wednesday at 100 with a sale at 400 from minute 42 each day; Thursday at 100 so far, asked at minute 40.
  const monday = Date.UTC(2025, 0, 6);
  const requests = Array.from({ length: 3 * 1440 + 40 }, (_, i) => (i % 1440 >= 42 && i % 1440 < 90 ? 400 : 100));
  const values = (await f.forecast({ history: { start: monday, requests }, horizon: 5 })).values;
  // Minutes 40–44 of each day, each the mean of the five around it (160, 220, 280, 340, 400), three quarters of the way from 100.
  expect(values.map((v) => Math.round(v))).toEqual([145, 190, 235, 280, 325]);
  // The pre-trained weights (no round's blend) answer the model alone here; so does the blend on a Saturday.
  const shipped = (await new LstmForecaster('lstm', {} as tf.LayersModel, meta, pool).forecast({ history: { start: monday, requests }, horizon: 5 })).values;
  expect(shipped.every((v) => Math.abs(v - 100) < 1)).toBe(true);
  const saturday = (await f.forecast({ history: { start: monday + 2 * 86_400_000, requests }, horizon: 5 })).values;
  expect(saturday.every((v) => Math.abs(v - 100) < 1)).toBe(true);
});
