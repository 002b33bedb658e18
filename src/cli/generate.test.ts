import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrace } from '../sources/trace.js';
import { runCli } from '../test-support/process.js';
import { isoWithOffset } from './generate.js';

test('isoWithOffset writes the trace CSV timestamp form', () => {
  expect(isoWithOffset(Date.UTC(1995, 6, 1, 4), -240)).toBe('1995-07-01T00:00:00-04:00');
  expect(isoWithOffset(Date.UTC(2025, 0, 6), 0)).toBe('2025-01-06T00:00:00Z');
  expect(isoWithOffset(Date.UTC(2025, 0, 6), 330)).toBe('2025-01-06T05:30:00+05:30');
});

test('amadeus generate writes a trace that loads back, one row per minute', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-gen-'));
  try {
    const out = join(dir, 'day.csv');
    const proc = runCli(['generate', '--out', out, '--days', '1', '--scenario', 'daily', '--utc-offset-minutes', '-240'], { AMADEUS_DAY: '7' });
    expect(await proc.exited).toBe(0);
    // A misspelt variable is ignored, and said to be.
    expect(proc.stderr()).toContain('amadeus generate: warning: AMADEUS_DAY is read by no option of amadeus generate, so it is ignored (did you mean AMADEUS_DAYS?)');
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('timestamp,requests,observed');
    const trace = loadTrace(out);
    expect(trace.requests).toHaveLength(1440);
    expect(trace.utcOffsetMinutes).toBe(-240);
    expect(trace.requests.every((v) => v !== null && v >= 0)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('amadeus generate --scenario random draws the workload from --seed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-gen-'));
  try {
    const out = join(dir, 'random.csv');
    const proc = runCli(['generate', '--out', out, '--days', '1', '--scenario', 'random', '--seed', '101']);
    expect(await proc.exited).toBe(0);
    expect(proc.stderr()).toContain('random seed 101 (');
    const trace = loadTrace(out);
    expect(trace.requests).toHaveLength(1440);
    expect(trace.requests.every((v) => v !== null && v >= 0)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('an --out that cannot be written: a usage error naming it before generating (exit 2); a write that fails midway, an error naming it, no stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-gen-'));
  try {
    const generate = async (out: string) => {
      const proc = runCli(['generate', '--out', out, '--days', '1']);
      return { code: await proc.exited, stderr: proc.stderr() };
    };
    const missing = await generate('/nonexistent/x.csv');
    expect(missing).toEqual({ code: 2, stderr: 'amadeus generate: --out: cannot write "/nonexistent/x.csv": no such directory\n' });
    const directory = await generate(dir);
    expect(directory).toEqual({ code: 2, stderr: `amadeus generate: --out: cannot write "${dir}": it is a directory\n` });
    // /dev/full accepts the open and fails every write (ENOSPC).
    const full = await generate('/dev/full');
    expect(full.code).toBe(1);
    expect(full.stderr).toContain('"error":"--out: cannot write \\"/dev/full\\": no space left on the device"');
    expect(full.stderr).not.toMatch(/\n\s+at /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  ['2025-13-45T00:00Z', 'amadeus generate: --start (AMADEUS_START) is not a valid time: "2025-13-45T00:00Z"\n'],
  ['2025-02-30T00:00Z', 'amadeus generate: --start (AMADEUS_START) is not a valid time: "2025-02-30T00:00Z"\n'],
  ['2025-01-06T00:00:30Z', 'amadeus generate: --start must be a whole minute\n'],
])('--start %s: a usage error that says what is wrong', async (start, message) => {
  const proc = runCli(['generate', '--out', join(tmpdir(), 'amadeus-never-written.csv'), '--start', start]);
  expect(await proc.exited).toBe(2);
  expect(proc.stderr()).toBe(message);
});
