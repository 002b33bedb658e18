import { buildLoad, EmptySpanError, spikeMinutes } from './load.js';
import { SIM_DEFAULTS } from './params.js';

const P = SIM_DEFAULTS;

test('rescales so the span peak needs peakPods pods at the target utilisation', () => {
  const requests = [50, 100, 200, 400, 100, 300];
  const load = buildLoad({ start: 0, utcOffsetMinutes: -240, requests }, 2, 6, P);
  // The span [2, 6) peaks at 400: 20 pods × 20 req/s × 0.8 = 320 req/s.
  expect(load.scale).toBeCloseTo(320 / 400, 12);
  expect(Array.from(load.rate)).toEqual([160, 320, 80, 240]);
  expect(load.start).toBe(2 * 60_000);
  expect(load.offset).toBe(2);
  expect(load.utcOffsetMinutes).toBe(-240);
});

test('gaps carry the last observed rate and are marked unobserved', () => {
  const load = buildLoad({ start: 0, utcOffsetMinutes: 0, requests: [100, null, null, 200] }, 1, 4, P);
  expect(Array.from(load.observed)).toEqual([0, 0, 1]);
  expect(Array.from(load.rate)).toEqual([160, 160, 320]);
});

test('a span with nothing observed is an error, not a silent zero', () => {
  expect(() => buildLoad({ start: 0, utcOffsetMinutes: 0, requests: [1, null, null] }, 1, 3, P)).toThrow(EmptySpanError);
  expect(() => buildLoad({ start: 0, utcOffsetMinutes: 0, requests: [1, 2] }, 1, 5, P)).toThrow(RangeError);
});

describe('spike minutes', () => {
  const flat = (n: number, v = 100) => Array<number | null>(n).fill(v);

  test('a 5-minute mean above 1.3 × the rolling hour is a spike; noise below it is not', () => {
    const values = [...flat(100), ...flat(10, 300), ...flat(50)];
    const s = spikeMinutes(values, 0, values.length, 1.3);
    // Minute 100: 5-min mean (4×100 + 300) / 5 = 140 > 1.3 × (59×100 + 300) / 60 = 134.3
    expect(s[99]).toBe(0);
    expect(s[100]).toBe(1);
    expect(s.slice(0, 100).every((x) => x === 0)).toBe(true);
    expect(s[150]).toBe(0);
    const noisy = Array.from({ length: 200 }, (_, i) => 100 + (i % 2 ? 20 : -20));
    expect(spikeMinutes(noisy, 0, 200, 1.3).some((x) => x === 1)).toBe(false);
  });

  test('the first hour of a trace has no trailing mean, so no spike; a span later uses the minutes before it', () => {
    const values = [...flat(20), ...flat(39, 1000)];
    expect(spikeMinutes(values, 0, 59, 1.3).some((x) => x === 1)).toBe(false);
    const later = [...flat(100), ...flat(10, 300)];
    expect(spikeMinutes(later, 100, 110, 1.3)[0]).toBe(1);
  });

  test('unobserved minutes are neither spikes nor zeros in the means', () => {
    const values = [...flat(60), null, null, ...flat(5, 100)];
    expect(Array.from(spikeMinutes(values, 0, values.length, 1.3)).some((x) => x === 1)).toBe(false);
  });
});
