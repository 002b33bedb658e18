import { InsufficientHistoryError } from './types.js';
import {
  assertHorizon,
  clampRate,
  forEachMinuteStep,
  isObserved,
  lastObserved,
  observedCount,
  observedMean,
  repeatValue,
  requireLastObserved,
} from './series.js';

describe('series helpers', () => {
  it('isObserved treats null and non-finite numbers as gaps, zero as a value', () => {
    expect([null, undefined, NaN, Infinity, -Infinity, 0, -1, 3.5].map(isObserved)).toEqual([
      false, false, false, false, false, true, true, true,
    ]);
  });

  it('lastObserved returns the newest observed value and its index', () => {
    expect(lastObserved([1, 2, null, null])).toEqual({ value: 2, index: 1 });
    expect(lastObserved([5, 0])).toEqual({ value: 0, index: 1 });
    expect(lastObserved([NaN, 2, Infinity])).toEqual({ value: 2, index: 1 });
    expect(lastObserved([null, null])).toBeNull();
    expect(lastObserved([])).toBeNull();
  });

  it('requireLastObserved throws InsufficientHistoryError without an observation', () => {
    expect(() => requireLastObserved([null])).toThrow(InsufficientHistoryError);
    expect(requireLastObserved([null, 4, null])).toEqual({ value: 4, index: 1 });
  });

  it('observedMean and observedCount skip gaps and clip the range', () => {
    const v = [2, null, 4, 6, null];
    expect(observedMean(v, 0, 5)).toBe(4);
    expect(observedMean(v, -10, 2)).toBe(2);
    expect(observedMean(v, 4, 99)).toBeNull();
    expect(observedCount(v, 0, 5)).toBe(3);
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

describe('forEachMinuteStep', () => {
  const steps = (values: (number | null)[], from: number, to: number) => {
    const out: [number, number][] = [];
    forEachMinuteStep(values, from, to, (a, b) => out.push([a, b]));
    return out;
  };
  test('consecutive observed pairs in [from, to), in order; a gap breaks the chain', () => {
    expect(steps([1, 2, null, 4, 5, 6], 0, 6)).toEqual([[1, 2], [4, 5], [5, 6]]);
    expect(steps([1, 2, NaN, 4, 5, 6], 1, 5)).toEqual([[4, 5]]);
  });
  test('bounds outside the series are clipped', () => {
    expect(steps([1, 2, 3], -5, 10)).toEqual([[1, 2], [2, 3]]);
    expect(steps([1, 2, 3], 2, 3)).toEqual([]);
  });
});
