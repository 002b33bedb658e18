import { InsufficientHistoryError } from './types.js';
import {
  HOLT_WINTERS_DEFAULTS,
  HoltWintersForecaster,
  circularMovingAverage,
  holtWintersForecast,
  type HoltWintersOptions,
} from './holt-winters.js';
import { persistenceForecast } from './persistence.js';

const DAY = 1440;
const history = (requests: (number | null)[]) => ({ start: 0, requests });
const mae = (a: number[], b: number[]) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / a.length;

/** Noiseless daily sine around 100 with amplitude 50, one value per minute. */
const sine = (t: number) => 100 + 50 * Math.sin((2 * Math.PI * t) / DAY);
const sineSeries = (n: number) => Array.from({ length: n }, (_, t) => sine(t));
const truth = (n: number, horizon: number) => Array.from({ length: horizon }, (_, h) => sine(n + h));

describe('circularMovingAverage', () => {
  it('averages defined neighbours, wrapping around the ends', () => {
    expect(circularMovingAverage([1, null, 3, 5], 3)).toEqual([3, 2, 4, 3]);
  });

  it('narrows a window wider than the profile and maps an all-undefined window to 0', () => {
    expect(circularMovingAverage([1, 2, 3], 99)).toEqual([2, 2, 2]);
    expect(circularMovingAverage([null, null, null], 3)).toEqual([0, 0, 0]);
  });
});

describe('holtWintersForecast on tiny seasons (period 2, hand-computed)', () => {
  const opts: HoltWintersOptions = {
    ...HOLT_WINTERS_DEFAULTS,
    alpha: 0.5,
    beta: 0,
    gamma: 0.5,
    phi: 1,
    period: 2,
    smoothingWindow: 1,
  };

  it('reproduces a perfectly seasonal series', () => {
    // season means 2 and 2 (no trend), indices [-1, 1]: every step is predicted exactly
    expect(holtWintersForecast([1, 3, 1, 3], 3, opts)).toEqual({ values: [1, 3, 1] });
  });

  it('updates level and season as computed by hand', () => {
    // init: level 2, trend 0, indices avg([-1, 1], [1, -1]) = [0, 0]; after 4 updates
    // level 1.5625, indices [0.125, -0.5625]
    expect(holtWintersForecast([1, 3, 3, 1], 3, opts).values).toEqual([1.6875, 1, 1.6875]);
  });

  it('imputes a missing minute with the one-step prediction', () => {
    // with trend 0, imputed minutes leave level and indices as they were: same as the case above
    expect(holtWintersForecast([1, 3, 3, 1, null, null], 3, opts).values).toEqual([1.6875, 1, 1.6875]);
    // whereas reading the gaps as zeros would drag the forecast down
    expect(holtWintersForecast([1, 3, 3, 1, 0, 0], 1, opts).values[0]).toBeLessThan(1);
  });

  it('degrades when an initial season is mostly unobserved', () => {
    const r = holtWintersForecast([1, null, null, null, 1, 2, 3, 4], 2, { ...opts, period: 4 });
    expect(r.note).toMatch(/no daily season.*damped Holt/);
    expect(r.values).toHaveLength(2);
  });

  it('clamps a negative seasonal forecast to 0', () => {
    expect(holtWintersForecast([-5, 3, -5, 3], 2, opts).values).toEqual([0, 3]);
  });
});

describe('HoltWintersForecaster (defaults, m = 1440)', () => {
  const hw = new HoltWintersForecaster();

  it('forecasts a noiseless daily sine within 0.25 (0.5% of the amplitude) and beats persistence', async () => {
    for (const n of [3 * DAY, 3 * DAY - 100, 3 * DAY - 720]) {
      const requests = sineSeries(n);
      const r = await hw.forecast({ history: history(requests), horizon: 10 });
      expect(r.model).toBe('holt-winters');
      expect(r.note).toBeUndefined();
      expect(r.values).toHaveLength(10);
      const expected = truth(n, 10);
      r.values.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(0.25));
      // at these phases the sine moves ~1 per 10 min, so persistence is off by ~1 on average
      expect(mae(r.values, expected)).toBeLessThan(mae(persistenceForecast(requests, 10), expected) / 5);
    }
  });

  it('returns a constant for a constant history', async () => {
    const r = await hw.forecast({ history: history(new Array<number>(2 * DAY).fill(100)), horizon: 15 });
    expect(r.values).toHaveLength(15);
    r.values.forEach((v) => expect(v).toBeCloseTo(100, 9));
  });

  it('does not drop toward zero across gaps', async () => {
    // a constant with every 7th minute missing and the last 3 hours missing
    const constant = new Array<number | null>(2 * DAY)
      .fill(100)
      .map((v, t) => (t % 7 === 0 || t >= 2 * DAY - 180 ? null : v));
    const c = await hw.forecast({ history: history(constant), horizon: 10 });
    c.values.forEach((v) => expect(v).toBeCloseTo(100, 6));

    // the sine with 20% of minutes missing and a 2-hour hole just before the end
    const n = 3 * DAY;
    const gappy = sineSeries(n).map((v, t) => (t % 5 === 0 || (t >= n - 150 && t < n - 30) ? null : v));
    const s = await hw.forecast({ history: history(gappy), horizon: 10 });
    const expected = truth(n, 10);
    s.values.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(0.5));
  });

  it('degrades to damped Holt with a note when there are fewer than 2 days', async () => {
    const r = await hw.forecast({ history: history(new Array<number>(DAY + 500).fill(80)), horizon: 10 });
    expect(r.model).toBe('holt-winters');
    expect(r.note).toMatch(/no daily season.*1940 min \(1940 observed\).*damped Holt/);
    expect(r.values).toHaveLength(10);
    r.values.forEach((v) => expect(v).toBeCloseTo(80, 9));

    const short = await hw.forecast({ history: history([null, 5, null]), horizon: 3 });
    expect(short.values).toEqual([5, 5, 5]);
    expect(short.note).toBeDefined();
  });

  it('keeps every value finite and >= 0 on a collapsing history', async () => {
    const falling = Array.from({ length: 2 * DAY }, (_, t) => Math.max(0, 200 - t));
    const r = await hw.forecast({ history: history(falling), horizon: 120 });
    expect(r.values).toHaveLength(120);
    r.values.forEach((v) => {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    });
  });

  it('rejects an all-null history', async () => {
    await expect(hw.forecast({ history: history(new Array<null>(2 * DAY).fill(null)), horizon: 5 })).rejects.toThrow(
      InsufficientHistoryError,
    );
    await expect(hw.forecast({ history: history([]), horizon: 5 })).rejects.toThrow(InsufficientHistoryError);
  });

  it('asks for two days of history, or more when requested', () => {
    expect(hw.historyMinutes(60)).toBe(2 * DAY);
    expect(hw.historyMinutes(5000)).toBe(5000);
  });

  it('validates its options', () => {
    expect(() => new HoltWintersForecaster({ alpha: 0 })).toThrow(/alpha/);
    expect(() => new HoltWintersForecaster({ gamma: 1.5 })).toThrow(/gamma/);
    expect(() => new HoltWintersForecaster({ smoothingWindow: 14 })).toThrow(/smoothingWindow/);
    expect(() => new HoltWintersForecaster({ period: 1 })).toThrow(/period/);
    expect(new HoltWintersForecaster({ alpha: 0.2 }).options).toEqual({ ...HOLT_WINTERS_DEFAULTS, alpha: 0.2 });
  });
});
