import { holtWintersForecast } from '../holt-winters.js';
import { applyBlend, baselineAt, bestOfSums, blendErrorSums, isBlend, type BaseValue, type Blend, type BlendBaseline } from './blend.js';
import type { HeldMove } from './move-hold.js';

/** The lowest-error blend over the windows blendErrorSums scores (ties to the earlier candidate, w = 0 first), as a round chooses on its span. */
function chooseBlend(predicted: Float64Array, actual: Float64Array, horizon: number, base: Record<BlendBaseline, BaseValue[]>, held: readonly (HeldMove | null)[] = []): Blend & { mae: number; lstmMae: number } {
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
  expect(chooseBlend(Float64Array.from([10, 10, 20, 20]), actual, horizon, { persistence: [10, 20], mean10: [10, 20], mean30: [10, 20], days3: [null, null], 'holt-winters': [null, null] })).toMatchObject({ weight: 0, mae: 0, lstmMae: 0 });
  // An LSTM 8 too high everywhere, persistence right: the largest weight on persistence.
  const r = chooseBlend(Float64Array.from([18, 18, 28, 28]), actual, horizon, { persistence: [10, 20], mean10: [0, 0], mean30: [0, 0], days3: [[0, 0], [0, 0]], 'holt-winters': [] });
  expect(r).toMatchObject({ baseline: 'persistence', weight: 0.75, lstmMae: 8 });
  expect(r.mae).toBeCloseTo(2, 10);
  // A window without a baseline is scored as the LSTM alone.
  expect(chooseBlend(Float64Array.from([18, 18]), Float64Array.from([10, 10]), horizon, { persistence: [null], mean10: [null], mean30: [null], days3: [null], 'holt-winters': [null] })).toMatchObject({ weight: 0, lstmMae: 8 });
});

test('the blend is scored as it is served, with a clear move held after it: a weight is not charged for undoing a rise serving would keep', () => {
  const horizon = 2;
  // Window 0: no move, the LSTM 8 too high, persistence right. Window 1: a clear rise to 40, the LSTM right, persistence 20 behind.
  const predicted = Float64Array.from([18, 18, 40, 40]);
  const actual = Float64Array.from([10, 10, 40, 40]);
  const base = { persistence: [10, 20], mean10: [10, 20], mean30: [10, 20], days3: [null, null], 'holt-winters': [null, null] };
  // Scored without the hold, shrinking loses more on the rise than it gains elsewhere: the LSTM alone.
  expect(chooseBlend(predicted, actual, horizon, base)).toMatchObject({ weight: 0, lstmMae: 4 });
  // Served, the rise is held at 40 whatever the weight: the largest weight wins.
  const held = chooseBlend(predicted, actual, horizon, base, [null, { move: 'rise', last: 40 }]);
  expect(held).toMatchObject({ weight: 0.75, lstmMae: 4 });
  expect(held.mae).toBeCloseTo(1, 10);
});

test('days3: each minute ahead on the last three weekdays, each the mean of the five around it scaled to today\'s level, and their median', () => {
  const day = 1440;
  const clock = { start: Date.UTC(2025, 0, 6), utcOffsetMinutes: 0 }; // a Monday: days 0–4 Mon–Fri, 5–6 the weekend, 7 Monday
  // Each weekday at 100; from minute 32 a sale at 300 on Tuesday, a one-off surge to 5,000 on Wednesday, nothing on Monday.
  const week = (i: number) => {
    const [d, m] = [Math.floor(i / day), i % day];
    if (m < 32 || m >= 60) return 100;
    return d === 1 ? 300 : d === 2 ? 5_000 : 100;
  };
  const v: (number | null)[] = Array.from({ length: 8 * day }, (_, i) => (i >= 3 * day && i < 4 * day ? 200 : week(i)));
  // Thursday at 00:30, today twice the level of the same ten minutes on each earlier day: on each
  // minute ahead Tuesday's value is the median (Monday's 100 below it, Wednesday's surge above).
  // Minute 30 on Tuesday: (100 × 4 + 300) / 5 × 2; minute 31: (100 × 3 + 300 × 2) / 5 × 2; and so on into the sale.
  const end = 3 * day + 30;
  expect(baselineAt(v, end, 'days3', 4, clock)).toEqual([280, 360, 440, 520]);
  // It reads nothing at or after the window's end: today's minutes after it change nothing.
  expect(baselineAt([...v.slice(0, end), ...v.slice(end).map(() => 9_999)], end, 'days3', 4, clock)).toEqual([280, 360, 440, 520]);
  // An unobserved minute of Tuesday's five is left out of its mean; five unobserved leave no baseline.
  const gap = [...v];
  gap[day + 30] = null;
  expect((baselineAt(gap, end, 'days3', 1, clock) as number[])[0]).toBeCloseTo(((100 * 3 + 300) / 4) * 2, 10);
  for (let i = day + 28; i <= day + 32; i++) gap[i] = null;
  expect(baselineAt(gap, end, 'days3', 1, clock)).toBeNull();
  // Without the series' clock, with fewer than three weekdays behind it, or a day at level 0: none.
  expect(baselineAt(v, end, 'days3', 4)).toBeNull();
  expect(baselineAt(v, 2 * day + 30, 'days3', 4, clock)).toBeNull();
  expect(baselineAt(v.map((x, i) => (i < day ? 0 : x)), end, 'days3', 4, clock)).toBeNull();
});

test('days3 lifts a day by any scale, but its shape at most tenfold above today unless the day itself was that high', () => {
  const day = 1440;
  const clock = { start: Date.UTC(2025, 0, 6), utcOffsetMinutes: 0 }; // Monday
  // Monday to Wednesday idle at 1 until a batch of 50 from minute 40; Thursday busy at `today` from its start.
  const trace = (today: number) => Array.from({ length: 4 * day }, (_, i) => (i >= 3 * day ? today : i % day >= 40 && i % day < 60 ? 50 : 1));
  const end = 3 * day + 30;
  const at = (xs: BaseValue) => xs as number[];
  // Busy today (100 against 1): the scale is 100, the batch would be forecast at 5,000; it stops at 10 × 100.
  const busy = at(baselineAt(trace(100), end, 'days3', 15, clock));
  expect(busy[0]).toBe(100); // minute 30 of each day: 1 × 100
  expect(busy[12]).toBe(1_000); // minute 42: 50 × 100 = 5,000, bounded
  expect(Math.max(...busy)).toBe(1_000);
  // The same batch on an idle day is forecast as large as it was: its own value.
  expect(at(baselineAt(trace(1), end, 'days3', 15, clock))[12]).toBe(50);
  // A level shift (26×, as WorldCup98's match days) scales the whole day, a fivefold batch with it.
  const shifted = trace(1).map((x, i) => (i >= 3 * day ? 260 : x === 1 ? 10 : x));
  expect(at(baselineAt(shifted, end, 'days3', 15, clock))[0]).toBe(260);
  expect(at(baselineAt(shifted, end, 'days3', 15, clock))[12]).toBe(50 * 26);
});

test('holt-winters: the shipped Holt-Winters over exactly the two days before the window end; none with less history or an unobserved last minute', () => {
  const day = 1440;
  // A daily cycle with a slow rise: three days and a half.
  const v: (number | null)[] = Array.from({ length: 3.5 * day }, (_, i) => 200 + 100 * Math.sin((2 * Math.PI * i) / day) + i / 100);
  const end = 3 * day + 17;
  const hw = baselineAt(v, end, 'holt-winters', 10) as number[];
  expect(hw).toEqual(holtWintersForecast(v.slice(end - 2 * day, end), 10).values);
  // Only the two days before the end: the minutes before them and after the end change nothing.
  expect(baselineAt(v.map((x, i) => (i < end - 2 * day || i >= end ? 9_999 : x)), end, 'holt-winters', 10)).toEqual(hw);
  expect(baselineAt(v, 2 * day - 1, 'holt-winters', 10)).toBeNull();
  const gap = [...v];
  gap[end - 1] = null;
  expect(baselineAt(gap, end, 'holt-winters', 10)).toBeNull();
});

test('days3 on a Monday reads Friday, Thursday and Wednesday; on a weekend day it has none', () => {
  const day = 1440;
  const clock = { start: Date.UTC(2025, 0, 6), utcOffsetMinutes: 0 };
  const v = Array.from({ length: 8 * day }, (_, i) => 100 + (i % day === 40 ? 50 : 0));
  const monday = 7 * day + 30;
  const before = baselineAt(v, monday, 'days3', 12, clock);
  expect(before).toHaveLength(12);
  // The weekend's minutes do not count: a surge at the same minutes on Saturday and Sunday (two of
  // the last three calendar days) leaves it as it was.
  const weekendChanged = v.map((x, i) => (i >= 5 * day && i < 7 * day && i % day >= 33 && i % day < 38 ? x + 5_000 : x));
  expect(baselineAt(weekendChanged, monday, 'days3', 12, clock)).toEqual(before);
  // Saturday and Sunday: none.
  expect(baselineAt(v, 5 * day + 30, 'days3', 4, clock)).toBeNull();
  expect(baselineAt(v, 6 * day + 30, 'days3', 4, clock)).toBeNull();
  // The kind of day is the workload's local one: 00:30 UTC on Saturday is a Friday at UTC−1.
  expect(baselineAt(v, 5 * day + 30, 'days3', 4, { ...clock, utcOffsetMinutes: -60 })).toHaveLength(4);
});

test('a baseline that differs by minute moves each minute of the forecast toward its own value', () => {
  const out = applyBlend([10, 20, 30], { '0.9': 35 }, { baseline: 'days3', weight: 0.5 }, [20, 20, 50]);
  expect(out.values).toEqual([15, 20, 40]);
  expect(out.maxQuantiles).toEqual({ '0.9': 45 }); // the maximum moved from 30 to 40
  expect(applyBlend([10], { '0.9': 10 }, { baseline: 'days3', weight: 0.5 }, [NaN]).values).toEqual([10]);
});

test('a sale at the time it came on the days before: the LSTM that does not see it coming loses to a blend with days3', () => {
  const horizon = 3;
  // Two windows: a quiet one, and one whose next minutes ramp into a sale that the days before ramped into too.
  const actual = Float64Array.from([100, 100, 100, 100, 200, 300]);
  const predicted = Float64Array.from([100, 100, 100, 100, 100, 100]);
  const base = { persistence: [100, 100], mean10: [100, 100], mean30: [100, 100], days3: [[100, 100, 100], [100, 200, 300]], 'holt-winters': [] };
  expect(chooseBlend(predicted, actual, horizon, base)).toMatchObject({ baseline: 'days3', weight: 0.75, lstmMae: 50 });
  // A window without days3 (a weekend) is scored as the LSTM alone for its candidates.
  const weekend = chooseBlend(predicted, actual, horizon, { ...base, days3: [[100, 100, 100], null] });
  expect(weekend.baseline === 'days3' && weekend.weight > 0).toBe(false);
});

test('a blend in a meta file is checked', () => {
  expect(isBlend({ baseline: 'mean10', weight: 0.25 })).toBe(true);
  expect(isBlend({ baseline: 'mean30', weight: 0.5 })).toBe(true);
  expect(isBlend({ baseline: 'days3', weight: 0.75 })).toBe(true);
  for (const bad of [null, {}, { baseline: 'mean60', weight: 0.5 }, { baseline: 'mean10', weight: 1 }, { baseline: 'mean10', weight: -0.1 }, { baseline: 'persistence', weight: '0.5' }]) expect(isBlend(bad)).toBe(false);
});
