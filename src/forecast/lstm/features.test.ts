import { FEATURE_COUNT, FEATURES, observedLevel, RECENT_MINUTES, writeWindow } from './features.js';
import { buildDataset, concatDatasets, usableEnds } from './dataset.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0); // a Monday, 00:00 UTC

describe('window features', () => {
  test('values are divided by the window level, gaps are 0 with their flag 0, never a zero load', () => {
    const requests = [10, 20, null, 30];
    const out = new Float32Array(4 * FEATURE_COUNT);
    const level = writeWindow({ requests, start: T0, utcOffsetMinutes: 0 }, 4, 4, 2, out, 0);
    expect(level).toBe(20);
    const col = (f: string) => Array.from({ length: 4 }, (_, i) => out[i * FEATURE_COUNT + FEATURES.indexOf(f as (typeof FEATURES)[number])]);
    expect(col('requests')).toEqual([0.5, 1, 0, 1.5]);
    expect(col('requestsObserved')).toEqual([1, 1, 0, 1]);
    // No cpu/memory series: zero with a zero flag throughout.
    expect(col('cpuObserved')).toEqual([0, 0, 0, 0]);
    // Normalisation round trip: ratio × level gives the load back.
    expect(col('requests').map((v) => v * level!)).toEqual([10, 20, 0, 30]);
  });

  test('calendar features follow local time', () => {
    const out = new Float32Array(FEATURE_COUNT);
    // 18:00 UTC at UTC-6 is local noon: time-of-day phase 0.5 → sin 0, cos -1.
    writeWindow({ requests: [1], start: Date.UTC(2025, 0, 6, 18), utcOffsetMinutes: -360 }, 1, 1, 2, out, 0);
    expect(out[FEATURES.indexOf('todSin')]).toBeCloseTo(0, 5);
    expect(out[FEATURES.indexOf('todCos')]).toBeCloseTo(-1, 5);
  });

  test('the day-ago feature carries yesterday\'s minutes shifted ahead by the horizon, never the future', () => {
    const DAY = 1440;
    // Minute i has value i; the window is the 4 minutes ending at index DAY + 100 (exclusive).
    const requests = Array.from({ length: DAY + 100 }, (_, i) => i);
    const out = new Float32Array(4 * FEATURE_COUNT);
    const end = DAY + 100;
    const level = writeWindow({ requests, start: T0, utcOffsetMinutes: 0 }, end, 4, 10, out, 0)!;
    const f = FEATURES.indexOf('dayAgoAhead');
    // Position k is minute end-4+k; its feature is the value a day earlier, 10 minutes further on.
    for (let k = 0; k < 4; k++) expect(out[k * FEATURE_COUNT + f]! * level).toBeCloseTo(end - 4 + k - DAY + 10, 2);
    // The last position looks at end-1-DAY+10 < end: still the past.
    // Less than a day of history: the feature is a flagged gap.
    const short = new Float32Array(4 * FEATURE_COUNT);
    writeWindow({ requests: requests.slice(0, 50), start: T0, utcOffsetMinutes: 0 }, 50, 4, 10, short, 0);
    expect(short[f + 1]).toBe(0);
  });

  test('roughness: the log of the mean absolute minute-to-minute change over the level, skipping gaps', () => {
    // Steps observed on both sides: |20-10| and |40-30|; the gap breaks the pairs around it.
    const requests = [10, 20, null, 30, 40];
    const out = new Float32Array(5 * FEATURE_COUNT);
    const level = writeWindow({ requests, start: T0, utcOffsetMinutes: 0 }, 5, 5, 2, out, 0)!;
    expect(level).toBe(25);
    const f = FEATURES.indexOf('logRoughness');
    for (let k = 0; k < 5; k++) expect(out[k * FEATURE_COUNT + f]).toBeCloseTo(Math.log(10 / 25), 5);
    // A flat window is as smooth as the input reads: the floor, 10⁻³.
    const flat = new Float32Array(3 * FEATURE_COUNT);
    writeWindow({ requests: [7, 7, 7], start: T0, utcOffsetMinutes: 0 }, 3, 3, 2, flat, 0);
    expect(flat[f]).toBeCloseTo(Math.log(1e-3), 5);
  });

  test('steady roughness leaves out the largest fifth of the steps: a jump is not noise', () => {
    // ±1 around 100 for 50 minutes, then a jump to 200 (one step of 102) and ±1 around it.
    const requests = Array.from({ length: 60 }, (_, i) => (i < 50 ? 100 : 200) + (i % 2 === 0 ? 1 : -1));
    const out = new Float32Array(60 * FEATURE_COUNT);
    const level = writeWindow({ requests, start: T0, utcOffsetMinutes: 0 }, 60, 60, 10, out, 0)!;
    const rough = Math.exp(out[FEATURES.indexOf('logRoughness')]!) * level;
    const steady = Math.exp(out[FEATURES.indexOf('logSteadyRoughness')]!) * level;
    expect(rough).toBeCloseTo((58 * 2 + 102) / 59, 3); // 99 → 201 at the jump
    expect(steady).toBeCloseTo(2, 5);
  });

  test('the divisor is the window\'s mean, or the last minutes\' when the load has jumped above it', () => {
    const steady = [...Array.from({ length: 55 }, () => 10), ...Array.from({ length: RECENT_MINUTES }, () => 12)];
    expect(writeWindow({ requests: steady, start: T0, utcOffsetMinutes: 0 }, 60, 60, 10, new Float32Array(60 * FEATURE_COUNT), 0)).toBe(12);
    const jump = [...Array.from({ length: 55 }, () => 10), ...Array.from({ length: RECENT_MINUTES }, () => 1000)];
    const out = new Float32Array(60 * FEATURE_COUNT);
    const level = writeWindow({ requests: jump, start: T0, utcOffsetMinutes: 0 }, 60, 60, 10, out, 0)!;
    expect(level).toBe(1000);
    expect(out[59 * FEATURE_COUNT]).toBeCloseTo(1, 6); // the last minute reads 1, not 60/5.5
    // A drop keeps the window's mean: the last minutes read as a small share of it.
    const drop = [...Array.from({ length: 55 }, () => 1000), ...Array.from({ length: RECENT_MINUTES }, () => 10)];
    expect(writeWindow({ requests: drop, start: T0, utcOffsetMinutes: 0 }, 60, 60, 10, new Float32Array(60 * FEATURE_COUNT), 0)).toBeCloseTo((55 * 1000 + 50) / 60, 6);
  });

  test('day level: the log of the last 24 hours\' mean over the window level, from the past only', () => {
    const DAY = 1440;
    // A quiet day at 10, then a busy hour at 40: the last 24 hours' mean is well below the hour's level.
    const requests = [...Array.from({ length: DAY }, () => 10), ...Array.from({ length: 60 }, () => 40)];
    const out = new Float32Array(60 * FEATURE_COUNT);
    const level = writeWindow({ requests, start: T0, utcOffsetMinutes: 0 }, requests.length, 60, 10, out, 0)!;
    expect(level).toBe(40);
    const dayMean = ((DAY - 60) * 10 + 60 * 40) / DAY;
    expect(out[FEATURES.indexOf('logDayLevel')]).toBeCloseTo(Math.log(dayMean / 40), 5);
    // Minutes after the window (the future) change nothing.
    const withFuture = new Float32Array(60 * FEATURE_COUNT);
    writeWindow({ requests: [...requests, 1000, 1000], start: T0, utcOffsetMinutes: 0 }, requests.length, 60, 10, withFuture, 0);
    expect(Array.from(withFuture)).toEqual(Array.from(out));
  });

  test('a window with no observed request has no level', () => {
    expect(writeWindow({ requests: [null, null], start: T0, utcOffsetMinutes: 0 }, 2, 2, 2, new Float32Array(2 * FEATURE_COUNT), 0)).toBeNull();
    expect(observedLevel([null, 4, 6], 0, 3)).toBe(5);
  });
});

describe('training windows', () => {
  const o = { history: 4, horizon: 2, yPadding: 2, minObserved: 0.75 };

  test('windows whose targets touch a gap are skipped; inputs may hold flagged gaps', () => {
    const requests = [1, 2, 3, 4, 5, 6, null, 8, 9, 10, 11, 12];
    const ends = usableEnds({ requests, start: T0, utcOffsetMinutes: 0 }, 0, requests.length, o);
    // end e uses inputs [e-4, e) and targets [e, e+2): ends 5 and 6 would target index 6 (null).
    expect(ends).toEqual([4, 7, 8, 9, 10]);
    // end 9: inputs [5,9) = 6,null,8,9 → 75% observed, allowed with a flagged gap.
    const d = buildDataset({ requests, start: T0, utcOffsetMinutes: 0 }, ends, o);
    expect(d.count).toBe(5);
    const level9 = (6 + 8 + 9) / 3;
    expect(d.levels[3]).toBeCloseTo(level9, 5);
    expect(d.y[3 * d.yWidth]).toBeCloseTo(10 / level9, 5);
    expect(d.y[3 * d.yWidth + 1]).toBeCloseTo(11 / level9, 5);
  });

  test('smoothed point targets average the centred minutes from the origin on; the maximum stays raw', () => {
    const requests = [10, 10, 10, 10, 0, 30, 0, 50];
    const d = buildDataset({ requests, start: T0, utcOffsetMinutes: 0 }, [4], { ...o, horizon: 3, targetSmoothing: 3 });
    // Targets at indices 4, 5, 6; windows [4,5], [4..6], [5..7] (never before the origin's end).
    expect(Array.from(d.y.subarray(0, 3)).map((v) => v * 10)).toEqual([15, 10, expect.closeTo(80 / 3, 5)]);
    expect(d.y[4]! * 10).toBe(30); // the raw maximum of 0, 30, 0
  });

  test('each sample carries its weight: its level over the mean level', () => {
    const requests = [10, 10, 10, 10, 10, 10, 30, 30, 30, 30, 30, 30];
    const d = buildDataset({ requests, start: T0, utcOffsetMinutes: 0 }, [4, 10], o);
    const mean = (10 + 30) / 2;
    expect(d.y[0 * d.yWidth + 2]).toBeCloseTo(10 / mean, 5);
    expect(d.y[1 * d.yWidth + 2]).toBeCloseTo(30 / mean, 5);
  });

  test('an explicit weight replaces the level in the weights (augmented copies), and datasets concatenate', () => {
    const requests = [10, 10, 10, 10, 10, 10, 30, 30, 30, 30, 30, 30];
    const input = { requests, start: T0, utcOffsetMinutes: 0 };
    const d = buildDataset(input, [4, 10], o, (end, level) => (end === 10 ? level / 3 : level));
    expect(d.y[0 * d.yWidth + 2]).toBeCloseTo(1, 5);
    expect(d.y[1 * d.yWidth + 2]).toBeCloseTo(1, 5);
    const both = concatDatasets([d, buildDataset(input, [5], o)]);
    expect(both.count).toBe(3);
    expect(Array.from(both.ends)).toEqual([4, 10, 5]);
    expect(both.x.length).toBe(3 * o.history * FEATURE_COUNT);
    expect(Array.from(both.y.subarray(2 * d.yWidth))).toEqual(Array.from(buildDataset(input, [5], o).y));
  });
});
