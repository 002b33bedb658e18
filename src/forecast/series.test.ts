import { InsufficientHistoryError } from './types.js';
import { assertHorizon, clampRate, repeatValue, requireLastObserved } from './series.js';

describe('forecast series helpers', () => {
  it('requireLastObserved throws InsufficientHistoryError without an observation', () => {
    expect(() => requireLastObserved([null])).toThrow(InsufficientHistoryError);
    expect(requireLastObserved([null, 4, null])).toEqual({ value: 4, index: 1 });
  });

  it('clampRate keeps forecasts finite and >= 0', () => {
    expect([-1, NaN, Infinity, 0, 2.5].map(clampRate)).toEqual([0, 0, 0, 0, 2.5]);
    expect(repeatValue(-3, 2)).toEqual([0, 0]);
  });

  it('assertHorizon accepts whole non-negative minutes only', () => {
    expect(() => assertHorizon(0)).not.toThrow();
    expect(() => assertHorizon(-1)).toThrow(RangeError);
    expect(() => assertHorizon(1.5)).toThrow(RangeError);
  });
});
