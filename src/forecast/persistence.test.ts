import { InsufficientHistoryError } from './types.js';
import { PersistenceForecaster, persistenceForecast } from './persistence.js';

const history = (requests: (number | null)[]) => ({ start: 0, requests });

describe('persistence', () => {
  it('repeats the last observed value, skipping trailing gaps', () => {
    expect(persistenceForecast([1, 2, 3], 3)).toEqual([3, 3, 3]);
    expect(persistenceForecast([1, 7, null, null], 2)).toEqual([7, 7]);
  });

  it('respects the horizon, including 0', () => {
    expect(persistenceForecast([4], 5)).toHaveLength(5);
    expect(persistenceForecast([4], 0)).toEqual([]);
  });

  it('clamps a negative observation to 0', () => {
    expect(persistenceForecast([-2], 2)).toEqual([0, 0]);
  });

  it('forecast() names the model and rejects an all-null or empty history', async () => {
    const f = new PersistenceForecaster();
    await expect(f.forecast({ history: history([null, 9, null]), horizon: 2 })).resolves.toEqual({
      model: 'persistence',
      values: [9, 9],
    });
    await expect(f.forecast({ history: history([null, null]), horizon: 2 })).rejects.toThrow(InsufficientHistoryError);
    await expect(f.forecast({ history: history([]), horizon: 2 })).rejects.toThrow(InsufficientHistoryError);
    await expect(f.forecast({ history: history([1]), horizon: -1 })).rejects.toThrow(RangeError);
  });

  it('wants only the requested history', () => {
    expect(new PersistenceForecaster().historyMinutes(60)).toBe(60);
  });
});
