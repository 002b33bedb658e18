import { forEachMinuteStep, isObserved, lastObserved, minutesSinceSample, observedCount, observedMean } from './observed.js';

describe('observed-series helpers', () => {
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

  it('minutesSinceSample counts the trailing minutes without a sample (a NaN is a sample, if a bad one)', () => {
    expect(minutesSinceSample([1, 2])).toBe(0);
    expect(minutesSinceSample([1, null, undefined])).toBe(2);
    expect(minutesSinceSample([1, NaN, null])).toBe(1);
    expect(minutesSinceSample([1, null, 3, null], 3)).toBe(0);
    expect(minutesSinceSample([null, null])).toBe(2);
    expect(minutesSinceSample([])).toBe(0);
  });

  it('observedMean and observedCount skip gaps and clip the range', () => {
    const v = [2, null, 4, 6, null];
    expect(observedMean(v, 0, 5)).toBe(4);
    expect(observedMean(v, -10, 2)).toBe(2);
    expect(observedMean(v, 4, 99)).toBeNull();
    expect(observedCount(v, 0, 5)).toBe(3);
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
