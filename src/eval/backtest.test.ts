import { PersistenceForecaster } from '../forecast/persistence.js';
import type { Forecast } from '../series/forecast.js';
import type { ForecastRequest } from '../forecast/types.js';
import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';
import { batchFromForecaster } from './adapter.js';
import { backtest, NoOriginsError, type BacktestTrace } from './backtest.js';
import { findOrigins } from './origins.js';
import type { BatchForecaster } from './types.js';

const START = Date.UTC(2024, 0, 1);
const OFFSET = -240;

/** requests[i] = i: persistence is off by exactly H at +H. */
function ramp(n = 400): BacktestTrace {
  return { start: START, utcOffsetMinutes: OFFSET, requests: Array.from({ length: n }, (_, i) => i) };
}

/** The origin minute index a history ends at. */
const originOf = (h: History): number => (h.start - START) / MINUTE_MS + h.requests.length - 1;

/** A model that forecasts `values(t)` from origin t, recording what it was given. */
function model(
  name: string,
  values: (t: number, horizon: number) => number[],
  options: { minutes?: number; quantiles?: (t: number) => Record<string, number> } = {},
): BatchForecaster & { seen: History[]; batches: number[] } {
  const m = {
    name,
    seen: [] as History[],
    batches: [] as number[],
    historyMinutes: (requested: number) => options.minutes ?? requested,
    async forecastBatch(requests: readonly ForecastRequest[]): Promise<Forecast[]> {
      m.batches.push(requests.length);
      return requests.map(({ history, horizon }) => {
        m.seen.push(history);
        const t = originOf(history);
        const f: Forecast = { model: name, values: values(t, horizon) };
        if (options.quantiles) f.maxQuantiles = options.quantiles(t);
        return f;
      });
    },
  };
  return m;
}

const repeat = (v: number, n: number) => new Array<number>(n).fill(v);
/** Persistence on the ramp (the value at t is t), as a recording model. */
const persistence = () => model('persistence', (t, h) => repeat(t, h));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('backtest on a ramp (requests[i] = i, 400 min, origins 300..389)', () => {
  test('persistence: off by exactly 10 at +10, by 8 on the 5-minute mean; relMae 1; never under', async () => {
    const result = await backtest(ramp(), [batchFromForecaster(new PersistenceForecaster())]);
    expect(result).toMatchObject({ horizon: 10, split: 0.75, origins: 90, persistenceMae: 10 });
    expect(result.firstOrigin).toBe(START + 300 * MINUTE_MS);
    expect(result.lastOrigin).toBe(START + 389 * MINUTE_MS);
    expect(result.models).toEqual([{ name: 'persistence', mae: 10, rmse: 10, mae5: 8, relMae: 1, underRate: 0 }]);
  });

  test('a model that knows the future scores 0 everywhere, relative MAE included', async () => {
    const oracle = model('oracle', (t, h) => range(t + 1, t + h));
    const [score] = (await backtest(ramp(), [oracle])).models;
    expect(score).toEqual({ name: 'oracle', mae: 0, rmse: 0, mae5: 0, relMae: 0, underRate: 0 });
  });

  test('a constant 315, by hand: under-forecast when 315 < 0.9 × (t + 10), i.e. from t = 341', async () => {
    const [score] = (await backtest(ramp(), [model('flat', (_, h) => repeat(315, h))])).models;
    // |315 - (t+10)| = |305 - t| over t = 300..389: 5+4+3+2+1 + 0 + (1+…+84) = 15 + 3570.
    expect(score.mae).toBeCloseTo(3585 / 90, 12);
    expect(score.rmse).toBeCloseTo(Math.sqrt((55 + (84 * 85 * 169) / 6) / 90), 12);
    // The actual 5-minute mean ending at +10 is t + 8: |307 - t| sums to 28 + (1+…+82).
    expect(score.mae5).toBeCloseTo((28 + (82 * 83) / 2) / 90, 12);
    expect(score.relMae).toBeCloseTo(3585 / 900, 12);
    // At t = 340, 0.9 × 350 = 315 exactly: not under. t = 341..389 are.
    expect(score.underRate).toBeCloseTo(49 / 90, 12);
  });

  test('a horizon under 5 minutes: the 5-minute mean shrinks to the horizon', async () => {
    const result = await backtest(ramp(), [persistence()], { horizon: 3 });
    expect(result.origins).toBe(97); // 300..396
    expect(result.models[0]).toMatchObject({ mae: 3, mae5: 2, relMae: 1 });
  });

  test('quantiles of the maximum: coverage and width, reported only for models that give them', async () => {
    const q = model('q', (t, h) => repeat(t, h), { quantiles: (t) => ({ '0.9': t + 5, '0.99': t + 10 }) });
    const result = await backtest(ramp(), [q, persistence()]);
    expect(result.models[0].quantiles).toEqual({
      '0.9': { coverage: 0, meanWidth: 5, origins: 90 }, // the actual maximum is t + 10
      '0.99': { coverage: 1, meanWidth: 10, origins: 90 }, // <= counts as covered
    });
    expect(result.models[1]).not.toHaveProperty('quantiles');
  });

  test('relMae is null when persistence is never wrong', async () => {
    const flat: BacktestTrace = { ...ramp(), requests: repeat(7, 400) };
    expect((await backtest(flat, [batchFromForecaster(new PersistenceForecaster())])).models[0]).toEqual({ name: 'persistence', mae: 0, rmse: 0, mae5: 0, relMae: null, underRate: 0 });
  });
});

describe('origins and histories', () => {
  const gappy = (): BacktestTrace => {
    const t = ramp();
    t.requests[250] = null; // context of origins 300..309
    t.requests[350] = null; // horizon or context of origins 340..389
    return t;
  };

  test('every model is scored on the same origins, each given its own history length up to the origin', async () => {
    const trace = gappy();
    const expected = findOrigins(trace.requests, { horizon: 10, split: 0.75 });
    expect(expected).toEqual(range(310, 339));
    const short = model('short', (t, h) => repeat(t, h), { minutes: 1 });
    const hour = model('hour', (t, h) => repeat(t, h));
    const long = model('long', (t, h) => repeat(t, h), { minutes: 100 });
    const all = model('all', (t, h) => repeat(t, h), { minutes: 10_000 });
    const result = await backtest(trace, [short, hour, long, all]);
    expect(result.origins).toBe(30);
    for (const m of [short, hour, long, all]) expect(m.seen.map(originOf)).toEqual(expected);

    expect(short.seen[0]).toEqual({ start: START + 310 * MINUTE_MS, requests: [310], utcOffsetMinutes: OFFSET });
    expect(hour.seen[0].requests).toEqual(range(251, 310));
    // Longer histories reach back over the gap: models get the null and must mask it.
    expect(long.seen[0].requests.length).toBe(100);
    expect(long.seen[0].requests[250 - 211]).toBeNull();
    // More than there is: everything from minute 0.
    expect(all.seen[0].start).toBe(START);
    expect(all.seen[0].requests.length).toBe(311);
    expect(all.seen[0].utcOffsetMinutes).toBe(OFFSET);
  });

  test('the split decides where the span starts', async () => {
    const result = await backtest(ramp(), [persistence()], { split: 0.5 });
    expect(result.origins).toBe(190); // 200..389
    expect(result.firstOrigin).toBe(START + 200 * MINUTE_MS);
  });

  test('persistence is the denominator even when not evaluated', async () => {
    const result = await backtest(ramp(), [model('flat', (_, h) => repeat(315, h))]);
    expect(result.persistenceMae).toBe(10);
    expect(result.models.map((m) => m.name)).toEqual(['flat']);
  });

  test('chunks bound the batches without changing the results; progress counts forecasts', async () => {
    const scores = [];
    for (const chunkSize of [1, 7, 512]) {
      const a = persistence();
      const b = model('flat', (_, h) => repeat(315, h));
      const progress: [number, number][] = [];
      const result = await backtest(gappy(), [a, b], { chunkSize, onProgress: (done, total) => progress.push([done, total]) });
      expect(Math.max(...a.batches)).toBe(Math.min(chunkSize, 30));
      expect(a.batches.reduce((x, y) => x + y)).toBe(30);
      expect(progress[0]).toEqual([0, 60]);
      expect(progress.at(-1)).toEqual([60, 60]);
      expect(progress.every(([d], i) => i === 0 || d > progress[i - 1][0])).toBe(true);
      scores.push(result.models);
    }
    expect(scores[1]).toEqual(scores[0]);
    expect(scores[2]).toEqual(scores[0]);
  });
});

describe('failures', () => {
  test('no origin: a NoOriginsError saying what an origin needs', async () => {
    // 69 minutes: the first minute with 60 before it is 59, and 59 + 10 is past the end.
    await expect(backtest(ramp(69), [persistence()])).rejects.toBeInstanceOf(NoOriginsError);
    await expect(backtest(ramp(69), [persistence()])).rejects.toThrow('60 observed minutes up to it and 10 after it');
  });

  test('a short or non-finite forecast fails naming the model and the origin', async () => {
    await expect(backtest(ramp(), [model('short', () => [1, 2])])).rejects.toThrow(
      'short: invalid forecast at origin 2024-01-01T05:00:00.000Z (horizon 10): 2 values',
    );
    await expect(backtest(ramp(), [model('nan', (t, h) => [...repeat(t, h - 1), NaN])])).rejects.toThrow('value NaN at +10');
    await expect(backtest(ramp(), [model('q', (t, h) => repeat(t, h), { quantiles: () => ({ '0.9': Infinity }) })])).rejects.toThrow(
      'maxQuantiles["0.9"] = Infinity',
    );
  });

  test('a batch of the wrong size fails', async () => {
    const m: BatchForecaster = { name: 'lossy', historyMinutes: (r) => r, forecastBatch: async () => [] };
    await expect(backtest(ramp(), [m])).rejects.toThrow('lossy: forecastBatch returned 0 forecasts for 90 requests');
  });
});
