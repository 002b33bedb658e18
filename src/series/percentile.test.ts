import { percentile } from './percentile.js';

test('percentile interpolates between ranks', () => {
  expect(percentile([1, 2, 3, 4, 5], 0.5)).toBe(3);
  expect(percentile([0, 10], 0.95)).toBeCloseTo(9.5, 12);
  expect(percentile([7], 0.99)).toBe(7);
  expect(() => percentile([], 0.5)).toThrow(RangeError);
});
