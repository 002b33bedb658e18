/**
 * `amadeus simulate` as a real process: the JSON schema, the table, the report files, the usage
 * errors, and "what if" on a workload's history read from a real Prometheus.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLANNER_DEFAULTS } from '../plan/defaults.js';
import { createMetadataParser } from '../scaler/metadata.js';
import { generatedTrace } from '../simulate/suite.js';
import { runCli } from '../test-support/process.js';
import { openMetricsGauge, prometheusAvailable, startPrometheus, type TestPrometheus } from '../test-support/prometheus.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'amadeus-simulate-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string> = {}) {
  const proc = runCli(['simulate', ...args], env);
  const code = await proc.exited;
  return { code, logs: proc.logs, stderr: proc.stderr() };
}

// Small and fast: two days of the flash-sale generator, the second simulated, a baseline forecaster.
const SMALL = ['--scenario', 'flash-sale', '--days', '2', '--split', '0.5', '--forecaster', 'mean10'];

interface PolicyJson {
  name: string;
  p95LatencyIncreasePct: number;
  p99LatencyIncreasePct: number;
  sloViolationMinutes: number;
  podHours: number;
  scaleEvents: number;
  planReasons?: Record<string, number>;
}

test('--json prints one object with the documented schema; --report and --svg write the charts', async () => {
  const report = join(dir, 'report.html');
  const svg = join(dir, 'main.svg');
  const { code, logs, stderr } = await run([...SMALL, '--json', '--report', report, '--svg', svg]);
  expect(code).toBe(0);
  expect(logs).toHaveLength(1);
  const out = logs[0] as { trace: string; minutes: number; spikeMinutes: number; policies: PolicyJson[]; amadeus: Record<string, unknown> };
  expect(Object.keys(out)).toEqual(['trace', 'start', 'minutes', 'spikeMinutes', 'params', 'amadeus', 'policies']);
  expect(out.trace).toContain('flash-sale');
  expect(out.minutes).toBe(1440);
  expect(out.spikeMinutes).toBeGreaterThan(0);
  // The planner's defaults are the ScaledObject's (plan/defaults.ts): what a simulation shows is what serve runs.
  expect(out.amadeus).toMatchObject({ forecaster: 'mean10', horizonMinutes: 3, quantile: 'none', headroom: PLANNER_DEFAULTS.headroom, noiseMargin: PLANNER_DEFAULTS.noiseMargin, signals: PLANNER_DEFAULTS.signals.join(',') });
  expect(out.policies.map((p) => p.name)).toEqual(['hpa-cpu', 'keda-reactive', 'naive', 'amadeus', 'oracle']);
  for (const p of out.policies) {
    for (const k of ['p95LatencyIncreasePct', 'p99LatencyIncreasePct', 'sloViolationMinutes', 'podHours', 'scaleEvents'] as const) {
      expect(Number.isFinite(p[k])).toBe(true);
    }
    expect(p.podHours).toBeGreaterThan(0);
  }
  const amadeus = out.policies.find((p) => p.name === 'amadeus')!;
  expect(Object.values(amadeus.planReasons!).reduce((a, b) => a + b, 0)).toBe(1440);
  expect(stderr).toContain('simulate [');

  const html = readFileSync(report, 'utf8');
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect(html).not.toContain('<script');
  expect(readFileSync(svg, 'utf8')).toMatch(/^(<\?xml[^>]*>\s*)?<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
}, 60_000);

test('the planning horizon follows the pod start-up time unless --horizon is given', async () => {
  const horizonOf = async (extra: string[]) => {
    const { code, logs } = await run([...SMALL, '--policies', 'amadeus', '--json', ...extra]);
    expect(code).toBe(0);
    return (logs[0] as { amadeus: { horizonMinutes: number } }).amadeus.horizonMinutes;
  };
  expect(await horizonOf(['--startup-seconds', '300'])).toBe(6); // ⌈(300 + 15 + 30) / 60⌉
  expect(await horizonOf(['--startup-seconds', '30', '--sync-seconds', '15', '--poll-seconds', '15'])).toBe(1);
  expect(await horizonOf(['--startup-seconds', '1200'])).toBe(10); // capped at the LSTM's trained horizon
  expect(await horizonOf(['--startup-seconds', '300', '--horizon', '2'])).toBe(2);
}, 60_000);

test('the table names every policy and its ratios to hpa-cpu', async () => {
  const { code, logs } = await run([...SMALL, '--policies', 'hpa-cpu,amadeus']);
  expect(code).toBe(0);
  const text = logs.map((l) => String(l.raw ?? JSON.stringify(l))).join('\n');
  expect(text).toMatch(/policy\s+p95 Δ%\s+p99 Δ%\s+SLO min\s+SLO ÷ hpa\s+pod-hours\s+pods ÷ hpa\s+scale events/);
  expect(text).toMatch(/^hpa-cpu .* 1\.00 .* 1\.00 /m);
  expect(text).toMatch(/^amadeus /m);
  expect(text).toContain('amadeus plan reasons:');
}, 60_000);

test('--tune chooses quantile, headroom and noise margin on the days before the span, says so, and simulates the span with them', async () => {
  const report = join(dir, 'tuned.html');
  const { code, logs, stderr } = await run([...SMALL, '--policies', 'hpa-cpu,amadeus', '--tune', '--tune-days', '0.5', '--json', '--report', report]);
  expect(code).toBe(0);
  const out = logs[0] as { amadeus: Record<string, unknown>; tuning: { minutes: number; candidates: unknown[]; chosen: { quantile: string; headroom: number; noiseMargin: number }; met: boolean; goals: unknown; metadata: Record<string, string> } };
  expect(out.tuning.minutes).toBe(720);
  expect(out.tuning.goals).toEqual({ p95IncreasePct: 10, sloShareOfHpa: 0.25 });
  expect(out.tuning.candidates).toHaveLength(275);
  expect(out.amadeus).toMatchObject({ quantile: out.tuning.chosen.quantile, headroom: out.tuning.chosen.headroom, noiseMargin: out.tuning.chosen.noiseMargin, tuned: true });
  expect(stderr).toContain('tune [');
  const html = readFileSync(report, 'utf8');
  expect(html).toContain('<table id="tuning">');
  expect(html.match(/<tr class="chosen">/g)).toHaveLength(1);

  const table = await run([...SMALL, '--policies', 'hpa-cpu,amadeus', '--tune', '--tune-days', '0.5']);
  const text = table.logs.map((l) => String(l.raw ?? JSON.stringify(l))).join('\n');
  expect(text).toMatch(new RegExp(`amadeus tuned on 0\\.5 days from .* \\(275 settings\\): quantile ${out.tuning.chosen.quantile.replace('.', '\\.')}, headroom ${out.tuning.chosen.headroom}, noise margin ${out.tuning.chosen.noiseMargin}`));

  // The recommendation, pasted as a ScaledObject's metadata, gives serve the planner the tuned run used.
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.includes("put these keys under the trigger's metadata")) + 1;
  expect(first).toBeGreaterThan(0);
  const printed: Record<string, string> = {};
  for (const m of lines.slice(first).map((l) => /^ {2}(\w+): "(.*)"$/.exec(l))) {
    if (!m) break;
    printed[m[1]!] = m[2]!;
  }
  expect(Object.keys(printed)).toContain('surgeNoiseMargin');
  expect(out.tuning.metadata).toEqual(printed);
  const config = createMetadataParser()({ targetValue: '1', ...printed });
  const used = out.amadeus;
  expect({ forecaster: config.forecaster, horizonMinutes: config.horizonMinutes, historyMinutes: config.historyMinutes, quantile: config.quantile ?? 'none', headroom: config.headroom, noiseMargin: config.noiseMargin, surgeNoiseMargin: config.surgeNoiseMargin, signals: config.signals.join(',') || 'none' })
    .toEqual({ forecaster: used.forecaster, horizonMinutes: used.horizonMinutes, historyMinutes: used.historyMinutes, quantile: used.quantile, headroom: used.headroom, noiseMargin: used.noiseMargin, surgeNoiseMargin: used.surgeNoiseMargin, signals: used.signals });

  const tooLong = await run([...SMALL, '--tune', '--tune-days', '2']);
  expect(tooLong.code).toBe(2);
  expect(tooLong.stderr).toContain('tuning needs 2880 minutes before the simulated span; the trace has 1440');
}, 90_000);

test('--report and --svg paths are checked before the run (usage error naming the flag); a write failing at the end comes after the table', async () => {
  const missing = await run([...SMALL, '--policies', 'hpa-cpu', '--report', '/nonexistent/r.html']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe('amadeus simulate: --report: cannot write "/nonexistent/r.html": no such directory\n');
  const directory = await run([...SMALL, '--policies', 'hpa-cpu', '--svg', dir]);
  expect(directory.code).toBe(2);
  expect(directory.stderr).toBe(`amadeus simulate: --svg: cannot write "${dir}": it is a directory\n`);

  // /dev/full passes the check and fails the write (ENOSPC): the figures are printed all the same.
  const svg = join(dir, 'full.svg');
  const full = await run([...SMALL, '--policies', 'hpa-cpu', '--report', '/dev/full', '--svg', svg]);
  expect(full.code).toBe(1);
  expect(full.logs.map((l) => String(l.raw ?? '')).join('\n')).toMatch(/^hpa-cpu /m);
  expect(full.stderr).toContain('"error":"--report: cannot write \\"/dev/full\\": no space left on the device"');
  expect(full.stderr).not.toMatch(/\n\s+at /);
  expect(readFileSync(svg, 'utf8')).toContain('<svg');
}, 60_000);

test('--fine-tune fine-tunes the LSTM in its worker as the simulation runs, on the simulated clock, every AMADEUS_FINE_TUNE_INTERVAL seconds as serve', async () => {
  // The interval as serve's ConfigMap gives it: seconds, from the same environment variable.
  const { code, logs, stderr } = await run([
    '--scenario', 'flash-sale', '--days', '1', '--split', '0.5', '--policies', 'amadeus', '--forecaster', 'lstm',
    '--fine-tune', '--fine-tune-history', '360', '--json',
  ], { AMADEUS_FINE_TUNE_INTERVAL: '10800' });
  expect(code).toBe(0);
  // 720 simulated minutes, a round at most every 180: the first one interval after the start.
  const rounds = stderr.split('\n').filter((l) => l.includes('"msg":"fine-tuning round"'));
  expect(rounds.length).toBeGreaterThanOrEqual(2);
  expect(rounds.length).toBeLessThanOrEqual(4);
  expect((logs[0] as { amadeus: { fineTune: boolean } }).amadeus.fineTune).toBe(true);
}, 120_000);

test.each([
  [[], 'give exactly one load'],
  [['--trace', 'x.csv', '--scenario', 'daily'], 'give exactly one load'],
  [['--scenario', 'daily', '--query', 'up'], '--query and --prometheus-url go together'],
  [['--scenario', 'daily', '--policies', 'hpa-cpu,magic'], '--policies'],
  [['--scenario', 'daily', '--tick-seconds', '7'], 'tickSeconds must divide a minute'],
  [['--trace', '/nonexistent/trace.csv'], 'no such file'],
  [['--scenario', 'daily', '--quantile', '0.99'], '--quantile'],
  [['--prometheus-url', 'http://127.0.0.1:1', '--query', 'up', '--end', '2025-02-30T00:00Z'], '--end (AMADEUS_END) is not a valid time: "2025-02-30T00:00Z"'],
])('usage error %j', async (args, message) => {
  const { code, stderr } = await run(args);
  expect(code).toBe(2);
  expect(stderr).toContain(message);
});

const withPrometheus = prometheusAvailable() ? describe : describe.skip;
withPrometheus('what if, on a history read from a real Prometheus', () => {
  let prom: TestPrometheus;
  // Two days ending an hour ago (backfill must lie in the past): a daily cycle with a lunch surge.
  const end = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  const minutes = 2 * 1440;
  const start = end - minutes * 60_000;
  const rate = (i: number) => 100 + 60 * Math.sin((2 * Math.PI * i) / 1440) + (i % 1440 >= 700 && i % 1440 < 730 ? 150 : 0);

  beforeAll(async () => {
    const points = Array.from({ length: minutes }, (_, i) => ({ t: start + (i + 1) * 60_000, v: rate(i) }));
    prom = await startPrometheus({
      openMetrics: openMetricsGauge('shop_requests_per_second', { app: 'shop' }, points) + openMetricsGauge('shop_requests_per_second', { app: 'other' }, points),
      lookbackDelta: '30s',
    });
  }, 60_000);
  afterAll(() => prom?.close());

  test('pulls N days at a 1-minute step and runs the same comparison', async () => {
    const { code, logs, stderr } = await run([
      '--prometheus-url', prom.url, '--query', 'shop_requests_per_second{app="shop"}', '--days', '2', '--end', new Date(end).toISOString(),
      '--split', '0.5', '--forecaster', 'holt-winters', '--json',
    ]);
    expect(stderr).not.toContain('"level":"error"');
    expect(code).toBe(0);
    const out = logs[0] as { trace: string; minutes: number; policies: PolicyJson[] };
    expect(out.trace).toContain(`prometheus:${prom.url}`);
    expect(out.minutes).toBe(1440);
    expect(out.policies).toHaveLength(5);
    expect(stderr).toContain('prometheus [');
  }, 120_000);

  test('a query that matches several series is refused by name', async () => {
    const { code, stderr } = await run(['--prometheus-url', prom.url, '--query', 'shop_requests_per_second', '--days', '1', '--end', new Date(end).toISOString()]);
    expect(code).toBe(1);
    expect(stderr).toContain('returned 2 series');
  }, 60_000);

  test('an unreachable server fails with a clear error', async () => {
    const { code, stderr } = await run(['--prometheus-url', 'http://127.0.0.1:1', '--query', 'up', '--days', '1', '--timeout', '2']);
    expect(code).toBe(1);
    expect(stderr).toContain('127.0.0.1:1');
  }, 60_000);
});

describe('--suite DIR', () => {
  let suite: string;
  // Two days of two generator seeds as trace files; the fast policies and baselines only.
  const FAST = ['--policies', 'hpa-cpu,naive,oracle', '--eval-models', 'persistence,mean10'];
  const csvOf = (seed: number) => {
    const t = generatedTrace({ scenario: 'flash-sale', seed, days: 2 });
    return ['timestamp,requests', ...t.requests.map((r, i) => `${new Date(t.start + i * 60_000).toISOString()},${r}`)].join('\n') + '\n';
  };
  beforeAll(() => {
    suite = join(dir, 'suite');
    mkdirSync(suite);
    writeFileSync(join(suite, 'shop.csv'), csvOf(1));
    writeFileSync(join(suite, 'blog.csv'), csvOf(2));
    writeFileSync(join(suite, 'README.md'), 'not a trace');
  });
  const text = (logs: Record<string, unknown>[]) => logs.map((l) => String(l.raw ?? JSON.stringify(l))).join('\n');

  test('runs every CSV of the directory, held out, and prints the outcome, the bar and the eval tables', async () => {
    const { code, logs, stderr } = await run(['--suite', suite, ...FAST]);
    expect(code).toBe(0);
    const out = text(logs);
    expect(out).toContain(`suite ${suite}: 2 traces (design 0, tune 0, held-out 2)`);
    expect(out).toMatch(/^trace\s+role\s+policy\s+p95 Δ%\s+p99 Δ%\s+SLO min\s+pod-hours\s+pods ÷ hpa$/m);
    for (const name of ['blog', 'shop']) {
      for (const policy of ['hpa-cpu', 'naive', 'oracle', 'oracle\\+5%']) expect(out).toMatch(new RegExp(`^${name}\\s+HELD-OUT\\s+${policy}\\s`, 'm'));
    }
    expect(out).toMatch(/^blog\s+HELD-OUT\s+hpa-cpu\s.*\s1\.00$/m);
    expect(out).toMatch(/^worst of 2 real traces\s+HELD-OUT\s+naive\s/m);
    expect(out).toMatch(/^trace\s+role\s+span min \(spike\)\s+p95 < 10%\s+vs naive at equal pod-hours/m);
    // Without amadeus and the LSTMs, the bar cannot be judged: said, not passed.
    expect(out).toMatch(/^shop\s+HELD-OUT\s+720 \(\d+\)\s+n\/a\s+n\/a\s+n\/a\s+n\/a\s+n\/a\s+incomplete$/m);
    expect(out).toMatch(/^trace\s+role\s+persistence relMAE\s+mean10 relMAE$/m);
    expect(out).toMatch(/^shop\s+HELD-OUT\s+1\.000\s+\d\.\d{3}$/m);
    expect(stderr).toContain(`suite ${suite}: 1/2 blog (held-out)`);
    expect(stderr).toContain('eval shop [');
  }, 60_000);

  test('--json prints one object: each trace\'s figures, the oracle with 5% headroom, naive\'s curve, the eval, the bar, the worst', async () => {
    const { code, logs } = await run(['--suite', suite, ...FAST, '--json']);
    expect(code).toBe(0);
    expect(logs).toHaveLength(1);
    const out = logs[0] as {
      suite: string;
      members: { member: { name: string; role: string }; minutes: number; policies: { name: string }[]; oracle5: { name: string }; naiveCurve: { factor: number }[]; eval: { models: { name: string; relMae: number }[] }; bar: { verdict: string } }[];
      missing: unknown[];
      worst: { role: string; family: string; members: number }[];
    };
    expect(out.suite).toBe(suite);
    expect(out.members.map((m) => [m.member.name, m.member.role])).toEqual([['blog', 'held-out'], ['shop', 'held-out']]);
    for (const m of out.members) {
      expect(m.minutes).toBe(720);
      expect(m.policies.map((p) => p.name)).toEqual(['hpa-cpu', 'naive', 'oracle']);
      expect(m.oracle5.name).toBe('oracle+5%');
      expect(m.naiveCurve.map((p) => p.factor)).toEqual(Array.from({ length: 21 }, (_, i) => Math.round((1 + i * 0.05) * 100) / 100));
      expect(m.eval.models.map((s) => s.name)).toEqual(['persistence', 'mean10']);
      expect(m.bar.verdict).toBe('incomplete');
    }
    expect(out.missing).toEqual([]);
    expect(out.worst).toEqual([expect.objectContaining({ role: 'held-out', family: 'real', members: 2 })]);
  }, 60_000);

  test('a trace that cannot be read is reported as failed, the others still run, and the exit status is 1', async () => {
    const broken = join(dir, 'suite-broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'shop.csv'), csvOf(1));
    writeFileSync(join(broken, 'bad.csv'), 'timestamp,requests\nyesterday,12\n');
    const { code, logs } = await run(['--suite', broken, ...FAST]);
    expect(code).toBe(1);
    const out = text(logs);
    expect(out).toMatch(/^bad\s+HELD-OUT\s+failed \(below\)$/m);
    expect(out).toMatch(/^failed: bad: .*bad\.csv:2: unparsable timestamp "yesterday"/m);
    expect(out).toMatch(/^shop\s+HELD-OUT\s+hpa-cpu\s/m);
  }, 60_000);

  test('usage errors: an unknown suite, a directory without traces, another load beside it', async () => {
    const unknown = await run(['--suite', join(dir, 'nowhere')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('is neither a suite (default, held-out, tune) nor a directory');
    const empty = join(dir, 'suite-empty');
    mkdirSync(empty);
    const none = await run(['--suite', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no *.csv trace in directory');
    const both = await run(['--suite', suite, '--scenario', 'flash-sale', '--tune']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--suite runs its own traces with one setting: it does not go with --scenario, --tune');
  }, 60_000);
});
