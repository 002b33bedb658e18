import { createCalibratedForecaster, RatioWindow } from './calibrate.js';
import type { Forecaster } from './types.js';
import { MINUTE_MS } from '../sources/types.js';

/** Forecasts a flat 100 for every minute, with its own (uncalibrated) quantiles. */
const flat: Forecaster = {
  name: 'flat',
  historyMinutes: (r) => r,
  forecast: async ({ horizon }) => ({ model: 'flat', values: Array<number>(horizon).fill(100), maxQuantiles: { '0.9': 777 } }),
};

const history = (values: (number | null)[]) => ({ start: 0, requests: values, utcOffsetMinutes: 0 });

test('RatioWindow keeps the last `capacity` ratios and interpolates quantiles', () => {
  const w = new RatioWindow(4);
  for (const r of [9, 1, 2, 3, 4]) w.push(r);
  expect(w.count).toBe(4);
  expect(w.quantile(0)).toBe(1);
  expect(w.quantile(1)).toBe(4);
  expect(w.quantile(0.5)).toBe(2.5);
  expect(() => new RatioWindow(0)).toThrow(RangeError);
});

test('quantiles of the horizon maximum come from the workload\'s own actual ÷ forecast peaks', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 5, window: 100 });
  // Actual minutes alternate 80 / 150: every 2-minute window peaks at 150, so the ratio is 1.5.
  const series = Array.from({ length: 40 }, (_, i) => (i % 2 ? 150 : 80));
  let last;
  for (let t = 10; t <= 40; t++) last = await f.forecast({ history: history(series.slice(0, t)), horizon: 2 });
  // Until five ratios exist the model's own quantiles pass through.
  expect(f.ratios.count).toBeGreaterThanOrEqual(5);
  expect(last!.maxQuantiles!['0.9']).toBeCloseTo(150, 9);
  expect(last!.maxQuantiles!['0.5']).toBeCloseTo(150, 9);
  expect(last!.values).toEqual([100, 100]);
});

test('before enough ratios, the model\'s own quantiles are kept; gaps give no ratio', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 3 });
  const first = await f.forecast({ history: history([100, 100]), horizon: 2 });
  expect(first.maxQuantiles).toEqual({ '0.9': 777 });
  // The forecast from minute 2 covers minutes 2 and 3; minute 3 is a gap.
  await f.forecast({ history: history([100, 100, 120, null]), horizon: 2 });
  expect(f.ratios.count).toBe(0);
});

test('a forecast is scored once, when its whole horizon has come due', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 1 });
  await f.forecast({ history: history([100]), horizon: 3 }); // covers minutes 1..3
  await f.forecast({ history: history([100, 200, 300]), horizon: 3 });
  expect(f.ratios.count).toBe(0);
  await f.forecast({ history: history([100, 200, 300, 120]), horizon: 3 });
  expect(f.ratios.count).toBe(1);
  expect(f.ratios.quantile(0.5)).toBeCloseTo(3, 12); // max(200, 300, 120) / 100
  // The forecast made at length 3 covers minutes 3..5: due once minute 5 is in.
  await f.forecast({ history: history([100, 200, 300, 120, 90]), horizon: 3 });
  expect(f.ratios.count).toBe(1);
  await f.forecast({ history: history([100, 200, 300, 120, 90, 60]), horizon: 3 });
  expect(f.ratios.count).toBe(2);
  expect(f.ratios.quantile(0)).toBeCloseTo(1.2, 12); // the new one: max(120, 90, 60) / 100
});

test('a replay that restarts drops forecasts from a timeline that no longer exists', async () => {
  const f = createCalibratedForecaster(flat, { minScored: 1 });
  await f.forecast({ history: { start: 100 * MINUTE_MS, requests: [1, 2, 3], utcOffsetMinutes: 0 }, horizon: 1 });
  await f.forecast({ history: history([1, 2, 3]), horizon: 1 });
  expect(f.ratios.count).toBe(0);
});

test('bad options fail at construction', () => {
  expect(() => createCalibratedForecaster(flat, { minScored: 0 })).toThrow(RangeError);
  expect(() => createCalibratedForecaster(flat, { levels: ['1.5'] })).toThrow(RangeError);
});
