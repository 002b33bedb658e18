import { createCalibratedForecaster, dispersion, SCORE_LIMIT, ScoreWindow } from './calibrate.js';
import type { Forecaster } from './types.js';
import { MINUTE_MS } from '../series/minute.js';

/** Forecasts a flat 100 for every minute, with its own (uncalibrated) quantiles. */
const flat: Forecaster = {
  name: 'flat',
  historyMinutes: (r) => r,
  forecast: async ({ horizon }) => ({ model: 'flat', values: Array<number>(horizon).fill(100), maxQuantiles: { '0.9': 777 } }),
};

const history = (values: (number | null)[]) => ({ start: 0, requests: values, utcOffsetMinutes: 0 });

test('ScoreWindow keeps the last `capacity` scores and interpolates quantiles', () => {
  const w = new ScoreWindow(4);
  for (const r of [9, 1, 2, 3, 4]) w.push(r);
  expect(w.count).toBe(4);
  expect(w.quantile(0)).toBe(1);
  expect(w.quantile(1)).toBe(4);
  expect(w.quantile(0.5)).toBe(2.5);
  expect(() => new ScoreWindow(0)).toThrow(RangeError);
});

test('dispersion: mean absolute minute-to-minute change over the last minutes; gaps break the chain', () => {
  expect(dispersion([1, 3, 2], 30)).toBe(1.5);
  expect(dispersion([50, 1, 3, 2], 3)).toBe(1.5);
  expect(dispersion([1, 3, null, 10, 12], 30)).toBe(2);
  expect(dispersion([5, 5, 5], 30)).toBe(0);
  expect(dispersion([5, null], 30)).toBeNaN();
});

test('the quantile of the horizon peak is the forecast peak + the score quantile × the local dispersion', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 5, window: 100 });
  // Minutes alternate 80 / 150: every 2-minute window peaks at 150, the dispersion is 70, so each
  // score is (150 − 100) / 70 and every quantile lands on 150.
  const series = Array.from({ length: 40 }, (_, i) => (i % 2 ? 150 : 80));
  let last;
  for (let t = 10; t <= 40; t++) last = await f.forecast({ history: history(series.slice(0, t)), horizon: 2 });
  expect(f.scores.count).toBeGreaterThanOrEqual(5);
  expect(last!.maxQuantiles!['0.9']).toBeCloseTo(150, 9);
  expect(last!.maxQuantiles!['0.5']).toBeCloseTo(150, 9);
  expect(last!.values).toEqual([100, 100]);
});

test('the margin follows the local noise: a quieter history gets a narrower one', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 5, window: 100 });
  const noisy = Array.from({ length: 40 }, (_, i) => (i % 2 ? 150 : 80));
  for (let t = 10; t <= 40; t++) await f.forecast({ history: history(noisy.slice(0, t)), horizon: 2 });
  const quiet = Array.from({ length: 40 }, (_, i) => (i % 2 ? 107 : 100)); // dispersion 7
  const q = await f.forecast({ history: history(quiet), horizon: 2 });
  expect(q.maxQuantiles!['0.9']).toBeCloseTo(100 + (50 / 70) * 7, 9);
});

test('before enough scores, the model\'s own quantiles are kept; gaps and flat histories give no score', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 3 });
  expect((await f.forecast({ history: history([90, 110]), horizon: 2 })).maxQuantiles).toEqual({ '0.9': 777 });
  // That forecast covers minutes 2 and 3; minute 3 is a gap.
  await f.forecast({ history: history([90, 110, 120, null]), horizon: 2 });
  expect(f.scores.count).toBe(0);
  // Nothing to scale by: not recorded at all.
  const g = createCalibratedForecaster(flat, { minScored: 1 });
  await g.forecast({ history: history([100, 100]), horizon: 1 });
  await g.forecast({ history: history([100, 100, 100, 100]), horizon: 1 });
  expect(g.scores.count).toBe(0);
});

test('a forecast is scored once, when its whole horizon has come due', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 1 });
  await f.forecast({ history: history([90, 110]), horizon: 3 }); // covers minutes 2..4, dispersion 20
  await f.forecast({ history: history([90, 110, 200, 300]), horizon: 3 }); // covers 4..6, dispersion 70
  expect(f.scores.count).toBe(0);
  await f.forecast({ history: history([90, 110, 200, 300, 120]), horizon: 3 });
  expect(f.scores.count).toBe(1);
  expect(f.scores.quantile(0.5)).toBeCloseTo((300 - 100) / 20, 12);
  await f.forecast({ history: history([90, 110, 200, 300, 120, 90, 60]), horizon: 3 });
  expect(f.scores.count).toBe(2);
  expect(f.scores.quantile(0)).toBeCloseTo((120 - 100) / 70, 12);
});

test('a replay that restarts drops forecasts from a timeline that no longer exists', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 1 });
  await f.forecast({ history: { start: 100 * MINUTE_MS, requests: [1, 2, 3], utcOffsetMinutes: 0 }, horizon: 1 });
  await f.forecast({ history: history([1, 2, 3]), horizon: 1 });
  expect(f.scores.count).toBe(0);
});

test('bad options fail at construction', () => {
  expect(() => createCalibratedForecaster(flat, { minScored: 0 })).toThrow(RangeError);
  expect(() => createCalibratedForecaster(flat, { levels: ['1.5'] })).toThrow(RangeError);
  expect(() => createCalibratedForecaster(flat, { dispersionMinutes: 1 })).toThrow(RangeError);
});

test('overlapping calls get exactly the answers of calls made one after the other (a batch of minutes)', async () => {
  const series = Array.from({ length: 80 }, (_, i) => 100 + 30 * Math.sin(i / 2) + (i % 5) * 4);
  const request = (t: number) => ({ history: history(series.slice(0, t)), horizon: 3 });
  const one = createCalibratedForecaster(flat, { minScored: 5, window: 50 });
  const sequential = [];
  for (let t = 10; t < 80; t++) sequential.push((await one.forecast(request(t))).maxQuantiles);
  const batched = createCalibratedForecaster(flat, { minScored: 5, window: 50 });
  const together = [];
  for (let t = 10; t < 80; t += 10) together.push(...(await Promise.all(Array.from({ length: Math.min(10, 80 - t) }, (_, k) => batched.forecast(request(t + k))))).map((f) => f.maxQuantiles));
  expect(together).toEqual(sequential);
  expect(sequential.at(-1)).not.toEqual({ '0.9': 777 }); // calibrated by then
});

// A snapshot from a peer (another release during a rolling upgrade, a buggy owner) was checked for
// finiteness only: −1e300 scores zeroed every calibrated quantile, +1e300 sent the plan to maxValue,
// and a pending forecast with a zero dispersion or a non-integer horizon scored ±Infinity or NaN.
test('an adopted state is range-checked and refused whole: scores within ±SCORE_LIMIT, positive peaks and dispersions, a whole horizon a trigger can ask for', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 1 });
  for (let t = 2; t <= 10; t++) await f.forecast({ history: history(Array.from({ length: t }, (_, i) => 100 + (i % 3) * 10)), horizon: 2 });
  const good = f.exportState() as { scores: { values: number[] }; pending: Record<string, number>[] };
  expect(good.scores.values.length).toBeGreaterThan(0);
  expect(good.pending.length).toBeGreaterThan(0);
  const copy = () => JSON.parse(JSON.stringify(good)) as typeof good;
  const bad: ((s: typeof good) => void)[] = [
    (s) => (s.scores.values[0] = -1e300),
    (s) => (s.scores.values[0] = 1e300),
    (s) => (s.scores.values[0] = SCORE_LIMIT * 1.5),
    (s) => (s.pending[0]!.dispersion = 0),
    (s) => (s.pending[0]!.dispersion = -1),
    (s) => (s.pending[0]!.forecastMax = 0),
    (s) => (s.pending[0]!.horizon = 0),
    (s) => (s.pending[0]!.horizon = 2.5),
    (s) => (s.pending[0]!.horizon = 1e9),
  ];
  for (const edit of bad) {
    const g = createCalibratedForecaster(flat, { minScored: 1 });
    const s = copy();
    edit(s);
    expect(() => g.importState(s)).toThrow(/does not fit|malformed pending/);
    expect(g.scores.count).toBe(0); // nothing taken
  }
  // The state itself, and scores at the limit, are taken.
  const g = createCalibratedForecaster(flat, { minScored: 1 });
  const s = copy();
  s.scores.values[0] = -SCORE_LIMIT;
  g.importState(s);
  expect(g.scores.quantile(0)).toBe(-SCORE_LIMIT);
});

test('a score is kept within ±SCORE_LIMIT, so every state this code exports is one it takes; NaN is refused', () => {
  const w = new ScoreWindow(4);
  w.push(1e300);
  w.push(-Infinity);
  w.push(3);
  expect(w.toState().values).toEqual([SCORE_LIMIT, -SCORE_LIMIT, 3]);
  expect(() => w.push(NaN)).toThrow(RangeError);
  expect(w.count).toBe(3);
  new ScoreWindow(4).loadState(w.toState());
});
