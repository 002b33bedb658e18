import { InsufficientHistoryError } from './types.js';
import { MeanForecaster, meanForecast, windowMean } from './mean.js';

const history = (requests: (number | null)[]) => ({ start: 0, requests });

describe('windowMean', () => {
  it('averages the observed values of the last N minutes only', () => {
    expect(windowMean([100, 1, 2, 3], 3)).toBe(2);
    expect(windowMean([1, 2, 3, null, 5], 3)).toBe(4); // [3, null, 5]: the gap is skipped, not a 0
    expect(windowMean([2, 4], 10)).toBe(3); // shorter history than the window
    expect(windowMean([5, null, null], 2)).toBeNull();
  });
});

describe('meanForecast', () => {
  it('repeats the window mean over the horizon', () => {
    expect(meanForecast([1, 2, 3, null, 5], 3, 4)).toEqual({ values: [4, 4, 4, 4] });
  });

  it('falls back to the last observed value with a note when the window is empty', () => {
    const r = meanForecast([7, null, null, null], 3, 2);
    expect(r.values).toEqual([7, 7]);
    expect(r.note).toMatch(/no observed value in the last 3 min.*3 min old/);
  });

  it('clamps to >= 0', () => {
    expect(meanForecast([-4, -2], 2, 1).values).toEqual([0]);
  });

  it('throws InsufficientHistoryError on an all-null history', () => {
    expect(() => meanForecast([null, null], 10, 1)).toThrow(InsufficientHistoryError);
  });
});

describe('MeanForecaster', () => {
  // 50, 50, then 1..10: the last 10 minutes average 5.5, all 12 average (100 + 55) / 12.
  const requests = [50, 50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('mean10 and mean30 use their windows', async () => {
    const m10 = await new MeanForecaster(10).forecast({ history: history(requests), horizon: 3 });
    expect(m10).toEqual({ model: 'mean10', values: [5.5, 5.5, 5.5] });
    const m30 = await new MeanForecaster(30).forecast({ history: history(requests), horizon: 2 });
    expect(m30.model).toBe('mean30');
    expect(m30.values[0]).toBeCloseTo(155 / 12, 12);
    expect(m30.values).toHaveLength(2);
  });

  it('rejects an all-null history', async () => {
    await expect(new MeanForecaster(10).forecast({ history: history([null]), horizon: 1 })).rejects.toThrow(
      InsufficientHistoryError,
    );
  });

  it('asks for at least its window and rejects a bad window', () => {
    expect(new MeanForecaster(30).historyMinutes(10)).toBe(30);
    expect(new MeanForecaster(30).historyMinutes(60)).toBe(60);
    expect(() => new MeanForecaster(0)).toThrow(RangeError);
  });
});
