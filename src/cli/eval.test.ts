/** `amadeus eval` as a real process on a small trace file: both output modes and the usage errors. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../test-support/process.js';

let dir: string;
let trace: string;

/** 400 minutes from 2024-01-01 00:00 (UTC-04:00), minute 350 unobserved: origins 300..339 at +10. */
function traceCsv(minutes = 400): string {
  const rows = ['timestamp,requests,observed'];
  for (let i = 0; i < minutes; i++) {
    // The wall-clock time, written with its offset as the NASA trace is.
    const local = new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString().slice(0, 19);
    rows.push(`${local}-04:00,${100 + (i % 17)},${i === 350 ? 0 : 1}`);
  }
  return rows.join('\n') + '\n';
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amadeus-eval-'));
  trace = join(dir, 'trace.csv');
  writeFileSync(trace, traceCsv());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string> = {}) {
  const proc = runCli(['eval', ...args], env);
  const code = await proc.exited;
  const stdout = proc.logs.map((l) => (typeof l.raw === 'string' ? l.raw : JSON.stringify(l)));
  return { code, logs: proc.logs, stdout, stderr: proc.stderr() };
}

test('--json prints exactly one JSON object on stdout, every model of the table by default, progress on stderr', async () => {
  const { code, logs, stderr } = await run(['--trace', trace, '--json']);
  expect(code).toBe(0);
  expect(logs).toHaveLength(1);
  const report = logs[0] as { trace: string; horizon: number; origins: number; models: Record<string, unknown>[] };
  expect(Object.keys(report)).toEqual(['trace', 'horizon', 'origins', 'models']);
  expect(report).toMatchObject({ trace, horizon: 10, origins: 40 });
  expect(report.models.map((m) => m.name)).toEqual(['persistence', 'mean10', 'mean30', 'seasonal-day', 'holt-winters', 'lstm-pretrained', 'lstm-finetuned']);
  for (const m of report.models) {
    // The LSTMs add the calibration of their quantiles of the horizon maximum.
    expect(Object.keys(m)).toEqual(['name', 'mae', 'rmse', 'mae5', 'relMae', 'underRate', ...(String(m.name).startsWith('lstm') ? ['quantiles'] : [])]);
    for (const k of ['mae', 'rmse', 'mae5', 'relMae', 'underRate']) expect(Number.isFinite(m[k])).toBe(true);
  }
  expect(report.models[0].relMae).toBe(1);
  expect(stderr).toMatch(/eval \[#+\] 100\.0% {2}280\/280/); // 7 models × 40 origins
});

test('the table: trace, split and origins, then the models asked for, in that order', async () => {
  const { code, stdout } = await run(['--trace', trace, '--models', 'mean10,persistence', '--horizon', '5']);
  expect(code).toBe(0);
  expect(stdout[0]).toBe(`trace    ${trace} (400 min from 2024-01-01 00:00 (UTC-04:00))`);
  expect(stdout[1]).toBe('split    0.75: origins 2024-01-01 05:00 (UTC-04:00) … 2024-01-01 05:44 (UTC-04:00)');
  expect(stdout[2]).toMatch(/^horizon {2}\+5 min, 45 origins/);
  expect(stdout[4].split(/ +/)).toEqual(['model', 'mae', 'rmse', 'mae5', 'relMae', 'underRate']);
  expect(stdout.slice(5).map((l) => l.split(/ +/)[0])).toEqual(['mean10', 'persistence']);
  expect(stdout[6].split(/ +/)[4]).toBe('1.00');
});

test('options come from the environment too, flags winning', async () => {
  const { code, logs } = await run(['--trace', trace, '--models', 'persistence'], {
    AMADEUS_HORIZON: '3',
    AMADEUS_JSON: 'true',
    AMADEUS_SPLIT: '0.5',
    AMADEUS_MODELS: 'not-a-model', // overridden by the flag, so never an error
  });
  expect(code).toBe(0);
  expect(logs[0]).toMatchObject({ horizon: 3, origins: 147 }); // 200..346: the gap at 350 is in the horizon of 347
});

test.each([
  [['--trace', '/nonexistent/trace.csv'], '--trace: no such file "/nonexistent/trace.csv"'],
  [[], '--trace (AMADEUS_TRACE) is required: a trace CSV file path'],
  [['--horizon', '0'], '--horizon (AMADEUS_HORIZON) must be an integer >= 1 and <= 1440, got "0"'],
  [['--horizon', 'ten'], '--horizon (AMADEUS_HORIZON) must be an integer >= 1 and <= 1440, got "ten"'],
  [['--models', 'persistence,lstm'], '--models (AMADEUS_MODELS) must be model names separated by commas, from persistence, mean10, mean30, seasonal-day, holt-winters, lstm-pretrained, lstm-finetuned, got "persistence,lstm"'],
  [['--split', '1'], '--split (AMADEUS_SPLIT) must be a number >= 0 and < 1, got "1"'],
  [['--horizon', '100'], '--trace: no usable origin in'],
  [['--window', '3'], 'unknown option --window'],
])('%j exits 2 with a clear message and nothing on stdout', async (args, message) => {
  const withTrace = args.includes('--trace') || args.length === 0 ? args : ['--trace', trace, ...args];
  const { code, stdout, stderr } = await run(withTrace);
  expect(code).toBe(2);
  expect(stderr).toContain(`amadeus eval: ${message}`);
  expect(stdout).toEqual([]);
});

test('a malformed trace exits 2 naming the file and line', async () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'timestamp,requests\n2024-01-01T00:00:00-04:00,abc\n');
  const { code, stderr } = await run(['--trace', bad]);
  expect(code).toBe(2);
  expect(stderr).toContain(`amadeus eval: --trace: ${bad}:2: requests is not a number: "abc"`);
});

test('--help lists the options', async () => {
  const { code, stdout } = await run(['--help']);
  expect(code).toBe(0);
  const text = stdout.join('\n');
  for (const flag of ['--trace', '--horizon', '--models', '--split', '--json']) expect(text).toContain(flag);
});
