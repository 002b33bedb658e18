import { InsufficientHistoryError } from './types.js';
import { SeasonalDayForecaster, seasonalNaiveForecast } from './seasonal-day.js';
import { DAY_MINUTES } from '../series/calendar.js';

const history = (requests: (number | null)[]) => ({ start: 0, requests });

describe('seasonalNaiveForecast', () => {
  it('reads the value one period before each future minute', () => {
    // len 6, period 4: h=1 -> index 2, h=2 -> 3, h=3 -> 4
    expect(seasonalNaiveForecast([1, 2, 3, 4, 5, 6], 3, 4)).toEqual({ values: [3, 4, 5] });
  });

  it('uses the last observed value where a period earlier is missing or out of range, with a note', () => {
    // period 5: h=1 -> index 1 (null), h=2 -> index 2 (3); last observed is 5 at index 4.
    const gap = seasonalNaiveForecast([1, null, 3, 4, 5, null], 2, 5);
    expect(gap.values).toEqual([5, 3]);
    expect(gap.note).toMatch(/^1 of 2 min/);
    // period 4, len 6: h=5 -> index 6, beyond the history.
    const beyond = seasonalNaiveForecast([1, 2, 3, 4, 5, 6], 5, 4);
    expect(beyond.values).toEqual([3, 4, 5, 6, 6]);
    expect(beyond.note).toMatch(/^1 of 5 min/);
  });

  it('clamps to >= 0 and throws on an all-null history', () => {
    expect(seasonalNaiveForecast([-1, 2], 1, 2).values).toEqual([0]);
    expect(() => seasonalNaiveForecast([null, null], 1, 2)).toThrow(InsufficientHistoryError);
  });
});

describe('SeasonalDayForecaster', () => {
  it('forecasts the same minute yesterday from exactly one day of history', async () => {
    const requests = Array.from({ length: DAY_MINUTES }, (_, i) => i);
    const r = await new SeasonalDayForecaster().forecast({ history: history(requests), horizon: 120 });
    expect(r.model).toBe('seasonal-day');
    expect(r.values).toEqual(Array.from({ length: 120 }, (_, h) => h)); // minute h+1 -> index h
    expect(r.note).toBeUndefined();
  });

  it('asks for at least a day and rejects an all-null history', async () => {
    const f = new SeasonalDayForecaster();
    expect(f.historyMinutes(60)).toBe(DAY_MINUTES);
    expect(f.historyMinutes(2000)).toBe(2000);
    await expect(f.forecast({ history: history([null, null]), horizon: 1 })).rejects.toThrow(InsufficientHistoryError);
  });
});
