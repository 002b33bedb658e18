import { HPA_SYNC_SECONDS, KEDA_POLL_SECONDS, planningHorizonMinutes } from './horizon.js';

test('a 90 s start-up with the HPA and KEDA defaults plans 3 minutes ahead (the simulator default)', () => {
  expect(HPA_SYNC_SECONDS + KEDA_POLL_SECONDS).toBe(45);
  expect(planningHorizonMinutes(90)).toBe(3); // ⌈135 / 60⌉
});

test('rounds up to whole minutes, at least one', () => {
  expect(planningHorizonMinutes(0, 0, 0)).toBe(1);
  expect(planningHorizonMinutes(15)).toBe(1); // 60 s exactly
  expect(planningHorizonMinutes(16)).toBe(2); // 61 s
  expect(planningHorizonMinutes(300)).toBe(6); // ⌈345 / 60⌉
  expect(planningHorizonMinutes(90, 60, 60)).toBe(4); // ⌈210 / 60⌉
});

test('rejects negative or non-finite seconds', () => {
  expect(() => planningHorizonMinutes(-1)).toThrow(RangeError);
  expect(() => planningHorizonMinutes(Number.NaN)).toThrow(RangeError);
  expect(() => planningHorizonMinutes(90, Infinity)).toThrow(RangeError);
});
