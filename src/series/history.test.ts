import { appendSamples, lastMinutes, noSamples } from './history.js';

test('noSamples is all holes; appendSamples appends values and leaves gaps as holes', () => {
  const a = noSamples(2);
  expect(a).toHaveLength(2);
  expect(0 in a || 1 in a).toBe(false);
  a[1] = 4.5;
  appendSamples(a, [1.5, null, NaN, undefined, 2]);
  expect(a).toHaveLength(7);
  expect([0, 1, 2, 3, 4, 5, 6].filter((i) => i in a)).toEqual([1, 2, 4, 6]); // null and undefined became holes
  expect(a[4]).toBeNaN(); // a bad sample is kept for the scaler to judge
  expect([a[1], a[2], a[6]]).toEqual([4.5, 1.5, 2]);
});

test('appendSamples after truncating: the newer minutes replace the cached ones', () => {
  const a = noSamples(0);
  appendSamples(a, [1, 2, 3, 4]);
  a.length = 2;
  appendSamples(a, [null, 9]);
  expect(a).toHaveLength(4);
  expect(2 in a).toBe(false);
  expect(a[3]).toBe(9);
});

test('lastMinutes keeps the holes of the window it cuts', () => {
  const requests = noSamples(5);
  requests[0] = 1;
  requests[4] = 5;
  const h = lastMinutes({ start: 0, requests }, 3);
  expect(h.start).toBe(2 * 60_000);
  expect(h.requests).toHaveLength(3);
  expect([0, 1, 2].filter((i) => i in h.requests)).toEqual([2]);
});
