import { dampedHoltForecast, dampedTrendSum } from './holt.js';

describe('dampedTrendSum', () => {
  it('sums phi^1..phi^h, and is h without damping', () => {
    expect(dampedTrendSum(0.5, 3)).toBeCloseTo(0.5 + 0.25 + 0.125, 12);
    expect(dampedTrendSum(1, 4)).toBe(4);
  });
});

describe('dampedHoltForecast', () => {
  const p = { alpha: 0.5, beta: 0.5, phi: 1 };

  it('matches a hand computation', () => {
    // level 10, trend 0 -> y=20: level 0.5*20 + 0.5*10 = 15, trend 0.5*(15-10) = 2.5
    expect(dampedHoltForecast([10, 20], 3, p)).toEqual([17.5, 20, 22.5]);
  });

  it('imputes a gap with the one-step prediction instead of 0', () => {
    // the gap at t=1 keeps level 10 and trend 0, so the result equals the gapless case above
    expect(dampedHoltForecast([null, 10, null, 20], 2, p)).toEqual([17.5, 20]);
  });

  it('damps the trend', () => {
    // same level 15 and trend 2.5; h minutes ahead carry 2.5 * (0.5 + ... + 0.5^h)
    expect(dampedHoltForecast([10, 20], 2, { ...p, phi: 0.5 })).toEqual([16.25, 16.875]);
  });

  it('clamps a falling extrapolation to 0, and returns null with nothing observed', () => {
    const out = dampedHoltForecast([100, 50, 0], 5, { alpha: 1, beta: 1, phi: 1 });
    expect(out).toEqual([0, 0, 0, 0, 0]);
    expect(dampedHoltForecast([null], 1, p)).toBeNull();
  });
});
