/** Holding a clear move: hand-made windows of the kinds that decide it. */
import { rng } from './dataset.js';
import { detectMove, holdMove, moveAt } from './move-hold.js';

const WINDOW = 60;

/** Gaussian noise of deviation `sd` around `mean` (Box–Muller), from a seeded generator. */
function noisy(r: () => number, mean: number, sd: number): number {
  const z = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return Math.max(0, Math.round(mean + sd * z));
}

/** 60 minutes of Poisson-like counts at `level`, the last three multiplied by `last3`. */
function window(level: number, last3: number[] = [], seed = 1): (number | null)[] {
  const r = rng(seed);
  return Array.from({ length: WINDOW }, (_, i) => {
    const k = i - (WINDOW - last3.length);
    return noisy(r, level * (k >= 0 ? last3[k]! : 1), Math.sqrt(level));
  });
}

describe('detectMove', () => {
  test('steady busy traffic (30,000 a minute, Poisson noise) has no move, on any of 20 draws', () => {
    for (let seed = 1; seed <= 20; seed++) expect(detectMove(window(30_000, [], seed), WINDOW, WINDOW)).toBeNull();
  });

  test('a surge building over the last three minutes is a rise; its mirror a fall', () => {
    expect(detectMove(window(30_000, [1.2, 1.5, 1.8]), WINDOW, WINDOW)).toBe('rise');
    expect(detectMove(window(30_000, [0.8, 0.6, 0.5]), WINDOW, WINDOW)).toBe('fall');
  });

  test('a daily cycle’s drift (1% over the last minutes) is not a move, although far beyond counting noise at this volume', () => {
    expect(detectMove(window(30_000, [1.01, 1.01, 1.01]), WINDOW, WINDOW)).toBeNull();
  });

  test('a NASA-like burst within an over-dispersed window (steps of ±30%) is not a move', () => {
    const r = rng(7);
    const w = Array.from({ length: WINDOW }, () => noisy(r, 100, 30));
    w[WINDOW - 1] = 160;
    expect(detectMove(w, WINDOW, WINDOW)).toBeNull();
  });

  test('a quiet series of mostly zeros does not see a move in a request or two; a jump far beyond its noise is one', () => {
    // Mostly zeros, a request now and then: most minutes do not change, so the noise is read from the mean change.
    const w: (number | null)[] = Array.from({ length: WINDOW }, (_, i) => (i % 7 === 0 ? 1 : i % 11 === 0 ? 2 : 0));
    w[WINDOW - 3] = 1;
    w[WINDOW - 2] = 2;
    w[WINDOW - 1] = 1;
    expect(detectMove(w, WINDOW, WINDOW)).toBeNull();
    w[WINDOW - 3] = 20;
    w[WINDOW - 2] = 25;
    w[WINDOW - 1] = 30;
    expect(detectMove(w, WINDOW, WINDOW)).toBe('rise');
    // After a silent hour, any request is beyond the window's (zero) noise.
    const silent: (number | null)[] = Array.from({ length: WINDOW }, () => 0);
    silent[WINDOW - 1] = 1;
    expect(detectMove(silent, WINDOW, WINDOW)).toBe('rise');
  });

  test('the unit of the series changes nothing: requests a minute or a rate a second, the same moves', () => {
    for (const [seed, last3] of [[1, []], [2, [1.2, 1.5, 1.8]], [3, [0.8, 0.6, 0.5]], [4, [1.03, 1.04, 1.06]], [5, [1.05, 1.1, 1.12]]] as const) {
      const perMinute = window(3_000, [...last3], seed);
      const perSecond = perMinute.map((v) => (v === null ? null : v / 60));
      expect(detectMove(perSecond, WINDOW, WINDOW)).toBe(detectMove(perMinute, WINDOW, WINDOW));
    }
  });

  test('too few observed minutes to know the level before or the noise: no move is judged', () => {
    const sparse = window(30_000, [1.5, 2, 2]).map((v, i) => (i >= WINDOW - 13 && i < WINDOW - 3 && i % 3 !== 0 ? null : v));
    expect(detectMove(sparse, WINDOW, WINDOW)).toBeNull();
    const gappy = window(30_000, [1.5, 2, 2]).map((v, i) => (i % 2 === 0 || i >= WINDOW - 3 ? v : null));
    // Every other minute unobserved: three one-minute steps in the window, too few to judge the noise.
    expect(detectMove(gappy, WINDOW, WINDOW)).toBeNull();
  });
});

describe('holdMove', () => {
  test('on a rise no forecast value stays below the latest minute; the quantiles rise with the maximum', () => {
    const h = window(30_000, [1.2, 1.5, 1.8]);
    const last = h[WINDOW - 1]!;
    const out = holdMove([40_000, 50_000, 60_000], { '0.5': 61_000, '0.9': 70_000 }, h, WINDOW);
    expect(out.move).toBe('rise');
    expect(out.values).toEqual([last, Math.max(50_000, last), 60_000]);
    expect(Math.max(...out.values)).toBe(60_000);
    expect(out.maxQuantiles).toEqual({ '0.5': 61_000, '0.9': 70_000 });
    const low = holdMove([40_000, 41_000], { '0.9': 45_000 }, h, WINDOW);
    expect(low.values).toEqual([last, last]);
    expect(low.maxQuantiles['0.9']).toBeCloseTo(45_000 + (last - 41_000), 6);
  });

  test('on a fall no forecast value stays above the latest minute, and the quantiles are not lowered', () => {
    const h = window(30_000, [0.8, 0.6, 0.5]);
    const last = h[WINDOW - 1]!;
    const out = holdMove([25_000, 20_000, 10_000], { '0.9': 28_000 }, h, WINDOW);
    expect(out.move).toBe('fall');
    expect(out.values).toEqual([last, last, 10_000]);
    expect(out.maxQuantiles).toEqual({ '0.9': 28_000 });
  });

  test('without a move the forecast is returned as it was (copies, not the caller’s arrays)', () => {
    const values = [29_000, 31_000];
    const q = { '0.9': 33_000 };
    const out = holdMove(values, q, window(30_000), WINDOW);
    expect(out).toEqual({ values, maxQuantiles: q, move: null });
    expect(out.values).not.toBe(values);
    expect(out.maxQuantiles).not.toBe(q);
  });
});

test('moveAt reads the move and the latest minute of the history before `end` only, as a forecast made then would', () => {
  const h = [...window(30_000, [1.2, 1.5, 1.8]), 5, 5, 5];
  expect(moveAt(h, WINDOW, WINDOW)).toEqual({ move: 'rise', last: h[WINDOW - 1] });
  expect(moveAt(window(30_000), WINDOW, WINDOW)).toBeNull();
});
