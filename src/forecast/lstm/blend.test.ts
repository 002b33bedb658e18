import { applyBlend, baselineAt, bestOfSums, blendErrorSums, isBlend, type Blend, type BlendBaseline } from './blend.js';
import type { HeldMove } from './move-hold.js';

/** The lowest-error blend over the windows blendErrorSums scores (ties to the earlier candidate, w = 0 first), as a round chooses on its span. */
function chooseBlend(predicted: Float64Array, actual: Float64Array, horizon: number, base: Record<BlendBaseline, (number | null)[]>, held: readonly (HeldMove | null)[] = []): Blend & { mae: number; lstmMae: number } {
  return bestOfSums(blendErrorSums(predicted, actual, horizon, base, held), actual.length);
}

test('baselines read only the history before the window end: the last observed minute, the mean of the last ten observed', () => {
  const h = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, null];
  expect(baselineAt(h, 12, 'persistence')).toBe(12);
  expect(baselineAt(h, 13, 'persistence')).toBe(12); // an unobserved minute is skipped, never a zero
  expect(baselineAt(h, 12, 'mean10')).toBe(7.5); // minutes 3..12
  expect(baselineAt(h, 13, 'mean10')).toBe((4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12) / 9);
  expect(baselineAt([null, null], 2, 'mean10')).toBeNull();
  expect(baselineAt([null, null], 2, 'persistence')).toBeNull();
  const long = Array.from({ length: 40 }, (_, i) => i + 1);
  expect(baselineAt(long, 40, 'mean30')).toBe(25.5); // minutes 11..40
  expect(baselineAt(long, 20, 'mean30')).toBe(10.5); // fewer than 30 minutes: the mean of those there are
});

test('a blend moves the point forecast toward the baseline and the quantiles of the maximum by as much as the maximum', () => {
  const out = applyBlend([10, 20, 30], { '0.5': 30, '0.9': 40 }, { baseline: 'mean10', weight: 0.5 }, 10);
  expect(out.values).toEqual([10, 15, 20]);
  expect(out.maxQuantiles).toEqual({ '0.5': 20, '0.9': 30 });
  // No weight or no baseline: unchanged.
  expect(applyBlend([10, 20], { '0.5': 20 }, { baseline: 'persistence', weight: 0 }, 0)).toEqual({ values: [10, 20], maxQuantiles: { '0.5': 20 } });
  expect(applyBlend([10, 20], { '0.5': 20 }, { baseline: 'persistence', weight: 0.5 }, null)).toEqual({ values: [10, 20], maxQuantiles: { '0.5': 20 } });
  // Never below zero.
  expect(applyBlend([1], { '0.9': 1 }, { baseline: 'persistence', weight: 0.75 }, 0).maxQuantiles['0.9']).toBeGreaterThanOrEqual(0);
});

test('the blend with the lowest error wins; the LSTM alone wins ties', () => {
  const horizon = 2;
  const actual = Float64Array.from([10, 10, 20, 20]);
  // An LSTM that is right: no blend.
  expect(chooseBlend(Float64Array.from([10, 10, 20, 20]), actual, horizon, { persistence: [10, 20], mean10: [10, 20], mean30: [10, 20] })).toMatchObject({ weight: 0, mae: 0, lstmMae: 0 });
  // An LSTM 8 too high everywhere, persistence right: the largest weight on persistence.
  const r = chooseBlend(Float64Array.from([18, 18, 28, 28]), actual, horizon, { persistence: [10, 20], mean10: [0, 0], mean30: [0, 0] });
  expect(r).toMatchObject({ baseline: 'persistence', weight: 0.75, lstmMae: 8 });
  expect(r.mae).toBeCloseTo(2, 10);
  // A window without a baseline is scored as the LSTM alone.
  expect(chooseBlend(Float64Array.from([18, 18]), Float64Array.from([10, 10]), horizon, { persistence: [null], mean10: [null], mean30: [null] })).toMatchObject({ weight: 0, lstmMae: 8 });
});

test('the blend is scored as it is served, with a clear move held after it: a weight is not charged for undoing a rise serving would keep', () => {
  const horizon = 2;
  // Window 0: no move, the LSTM 8 too high, persistence right. Window 1: a clear rise to 40, the LSTM right, persistence 20 behind.
  const predicted = Float64Array.from([18, 18, 40, 40]);
  const actual = Float64Array.from([10, 10, 40, 40]);
  const base = { persistence: [10, 20], mean10: [10, 20], mean30: [10, 20] };
  // Scored without the hold, shrinking loses more on the rise than it gains elsewhere: the LSTM alone.
  expect(chooseBlend(predicted, actual, horizon, base)).toMatchObject({ weight: 0, lstmMae: 4 });
  // Served, the rise is held at 40 whatever the weight: the largest weight wins.
  const held = chooseBlend(predicted, actual, horizon, base, [null, { move: 'rise', last: 40 }]);
  expect(held).toMatchObject({ weight: 0.75, lstmMae: 4 });
  expect(held.mae).toBeCloseTo(1, 10);
});

test('a blend in a meta file is checked', () => {
  expect(isBlend({ baseline: 'mean10', weight: 0.25 })).toBe(true);
  expect(isBlend({ baseline: 'mean30', weight: 0.5 })).toBe(true);
  for (const bad of [null, {}, { baseline: 'mean60', weight: 0.5 }, { baseline: 'mean10', weight: 1 }, { baseline: 'mean10', weight: -0.1 }, { baseline: 'persistence', weight: '0.5' }]) expect(isBlend(bad)).toBe(false);
});
