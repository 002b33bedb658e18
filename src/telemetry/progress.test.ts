import { createProgress, formatDuration, formatProgress } from './progress.js';

test('formatProgress: bar, percent, counts and an ETA extrapolated from the rate so far', () => {
  expect(formatProgress(500, 2000, 10_000, 8)).toBe('[##------]  25.0%  500/2,000  ETA 0:30');
  expect(formatProgress(0, 2000, 0, 4)).toBe('[----]   0.0%  0/2,000  ETA --:--');
  expect(formatProgress(2000, 2000, 5000, 4)).toBe('[####] 100.0%  2,000/2,000  ETA 0:00');
});

test('formatDuration', () => {
  expect(formatDuration(0)).toBe('0:00');
  expect(formatDuration(61_400)).toBe('1:01');
  expect(formatDuration(3_725_000)).toBe('1:02:05');
});

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (s: string) => writes.push(s) };
}

test('on a terminal: redrawn in place, at most every 100 ms, and the line ended at the finish', () => {
  let now = 0;
  const stream = fakeStream(true);
  const p = createProgress(stream, 'eval', () => now);
  p.update(0, 100);
  p.update(10, 100); // 0 ms later: skipped
  now = 150;
  p.update(20, 100);
  now = 300;
  p.finish();
  expect(stream.writes).toHaveLength(3);
  expect(stream.writes.every((w) => w.startsWith('\reval ['))).toBe(true);
  expect(stream.writes[1]).toContain(' 20.0%');
  expect(stream.writes[2].endsWith('20/100  ETA 0:01  took 0.3 s\x1b[K\n')).toBe(true);
});

test('in a log: a line per 10% step, no more than one per 5 s, and a closing line', () => {
  let now = 0;
  const stream = fakeStream(false);
  const p = createProgress(stream, 'eval', () => now);
  p.update(0, 100); // no step reached yet
  p.update(5, 100);
  now = 1000;
  p.update(12, 100); // 10% step: printed
  now = 2000;
  p.update(25, 100); // a new step, but within 5 s of the last line
  now = 7000;
  p.update(26, 100); // step 2 not yet printed: printed now
  p.update(29, 100);
  now = 8000;
  p.update(100, 100); // within 5 s: left to the closing line
  p.finish();
  expect(stream.writes.map((w) => w.match(/\d+\/100/)![0])).toEqual(['12/100', '26/100', '100/100']);
  expect(stream.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
  expect(stream.writes.at(-1)).toContain('took 8.0 s');
});
