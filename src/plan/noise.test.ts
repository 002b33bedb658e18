import { noiseMargin, noiseScale } from './noise.js';

describe('noiseScale', () => {
  test('Σ|Δ| ÷ Σ√(midpoint) over consecutive observed minutes, by hand', () => {
    // Pairs (4, 16) and (16, 4): changes 12 + 12; roots √10 + √10.
    expect(noiseScale([4, 16, 4], 60)).toBeCloseTo(24 / (2 * Math.sqrt(10)), 12);
  });

  test('only the last `minutes`, and a gap breaks the chain', () => {
    expect(noiseScale([1000, 0, 4, 16, 4], 3)).toBeCloseTo(24 / (2 * Math.sqrt(10)), 12);
    // 100 → gap → 0 is not a change; only (8, 10) counts.
    expect(noiseScale([100, null, 0, null, 8, 10], 60)).toBeCloseTo(2 / 3, 12);
  });

  test('the same in any unit: scaling the load by s scales α·√level by s', () => {
    const counts = [30, 41, 25, 38, 52, 33, 29, 44];
    const perSecond = counts.map((c) => c / 60);
    const level = 40;
    const a = noiseScale(counts, 60)!;
    const b = noiseScale(perSecond, 60)!;
    expect(b * Math.sqrt(level / 60)).toBeCloseTo((a * Math.sqrt(level)) / 60, 12);
  });

  test('a constant load has no noise; nothing to fit gives null', () => {
    expect(noiseScale([5, 5, 5, 5], 60)).toBe(0);
    expect(noiseScale([0, 0, 0], 60)).toBeNull();
    expect(noiseScale([7, null, 7], 60)).toBeNull();
    expect(noiseScale([], 60)).toBeNull();
  });

  test('Poisson counts give α near 1.13 (E|X − Y| = √(4λ/π) for two independent counts of mean λ)', () => {
    // A seeded Poisson sampler (Knuth), λ = 50.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const poisson = (lambda: number) => {
      const limit = Math.exp(-lambda);
      let k = 0;
      for (let p = random(); p > limit; p *= random()) k++;
      return k;
    };
    const counts = Array.from({ length: 20000 }, () => poisson(50));
    expect(noiseScale(counts, counts.length)).toBeCloseTo(Math.sqrt(4 / Math.PI), 1);
  });
});

describe('noiseMargin', () => {
  test('k·α·√base, and 0 when any part is missing', () => {
    expect(noiseMargin(100, 0.5, 2)).toBe(10);
    expect(noiseMargin(100, 0, 2)).toBe(0);
    expect(noiseMargin(100, 0.5, null)).toBe(0);
    expect(noiseMargin(0, 0.5, 2)).toBe(0);
    expect(noiseMargin(100, 0.5, NaN)).toBe(0);
  });
});
