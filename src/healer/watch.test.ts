/**
 * The watch restart back-off (issue 19, defect 7): doubles from the first delay up to 30 s, with
 * jitter, and starts over only after a watch has been healthy for a while — a watch that lists,
 * opens and fails at once keeps backing off.
 */
import { RestartBackoff } from './watch.js';

const noJitter = () => 0;

test('doubles up to the 30 s cap', () => {
  const b = new RestartBackoff({ initialMs: 1000, random: noJitter });
  const delays = Array.from({ length: 8 }, () => b.next(0));
  expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

test('a start that succeeds but fails again soon does not reset it; a minute of health does', () => {
  const b = new RestartBackoff({ initialMs: 1000, healthyMs: 60_000, random: noJitter });
  let t = 0;
  expect(b.next(t)).toBe(1000);
  b.healthy((t += 1000));
  expect(b.next((t += 5000))).toBe(2000); // healthy for 5 s only
  b.healthy((t += 2000));
  expect(b.next(t + 60_000)).toBe(1000); // healthy for a minute: starts over
});

test('jitter adds up to a fifth and never passes the cap', () => {
  const b = new RestartBackoff({ initialMs: 1000, random: () => 0.999 });
  expect(b.next(0)).toBeGreaterThan(1000);
  expect(b.next(0)).toBeLessThanOrEqual(2400);
  for (let i = 0; i < 10; i++) expect(b.next(0)).toBeLessThanOrEqual(30_000);
});
