/** The suite's tables on a hand-made report: grouping by role, held-out marked, the worst of each group, missing traces. */
import type { ModelScore } from '../eval/types.js';
import type { PolicyFigures } from './engine.js';
import { SIM_DEFAULTS } from './params.js';
import { judgeBar, type NaivePoint } from './suite-bar.js';
import { formatSuite, groupsOf, renderTable, suiteJson, worstOf } from './suite-report.js';
import type { MemberResult, SuiteReport } from './suite-run.js';
import type { SuiteMember, SuiteRole } from './suite.js';

const policy = (name: string, p95: number, slo: number, podHours: number): PolicyFigures => ({ name, p95LatencyIncreasePct: p95, p99LatencyIncreasePct: p95 + 100, sloViolationMinutes: slo, podHours, scaleEvents: 1 });
const score = (name: string, relMae: number, coverage?: number): ModelScore => ({
  name, mae: 1, rmse: 1, mae5: 1, relMae, underRate: 0,
  ...(coverage === undefined ? {} : { quantiles: { '0.9': { coverage, meanWidth: 1, origins: 10 } } }),
});
const CURVE: NaivePoint[] = [1, 1.5, 2].map((factor, i) => ({ factor, p95LatencyIncreasePct: 100 - 50 * i, sloViolationMinutes: 500 - 200 * i, podHours: 100 + 50 * i }));

function member(name: string, role: SuiteRole, family: string, amadeusP95: number, amadeusPods: number, ftRelMae: number): MemberResult {
  const member: SuiteMember = { name, role, family, source: { kind: 'file', path: `${name}.csv` } };
  const policies = [policy('hpa-cpu', 2500, 3000, 100), policy('naive', 0, 300, 150), policy('amadeus', amadeusP95, 200, amadeusPods), policy('oracle', 5, 700, 105)];
  const oracle5 = policy('oracle+5%', -12, 90, 110);
  const models = [score('persistence', 1), score('holt-winters', 0.8), score('lstm-pretrained', 0.78, 0.91), score('lstm-finetuned', ftRelMae, 0.88)];
  return {
    member, start: '2025-01-01T00:00:00.000Z', minutes: 1000, spikeMinutes: 50, policies, oracle5, naiveCurve: CURVE, meanOracle: null,
    eval: { horizon: 10, origins: 900, models },
    bar: judgeBar({ spikeMinutes: 50, amadeus: policies[2], hpaCpu: policies[0], oracle5, naiveCurve: CURVE, eval: models }),
    seconds: { simulate: 1, eval: 2 },
  };
}

const REPORT: SuiteReport = {
  suite: 'default',
  params: SIM_DEFAULTS,
  split: 0.75,
  amadeus: { forecaster: 'auto', headroom: 0.1 },
  policies: ['hpa-cpu', 'naive', 'amadeus', 'oracle'],
  evalModels: ['persistence', 'holt-winters', 'lstm-pretrained', 'lstm-finetuned'],
  members: [
    member('random seed 101', 'held-out', 'random', 20, 120, 0.79),
    member('nasa', 'design', 'nasa', -9, 140, 0.75),
    member('random seed 1', 'tune', 'random', 3, 110, 0.7),
    member('random seed 102', 'held-out', 'random', 4, 125, 0.78),
    { member: { name: 'broken', role: 'held-out', family: 'real', source: { kind: 'file', path: 'broken.csv' } }, error: 'broken.csv:3: bad row' },
  ],
  missing: [{ name: 'wiki', path: 'data/traces/wiki.csv', rebuild: 'scripts/traces/wiki/README.md' }],
  seconds: 12.3,
};

test('members group by role (design, tune, held-out), then by family', () => {
  expect(groupsOf(REPORT.members).map((g) => `${g.role}/${g.family}:${g.entries.map((e) => e.member.name).join(',')}`)).toEqual([
    'design/nasa:nasa',
    'tune/random:random seed 1',
    'held-out/random:random seed 101,random seed 102',
    'held-out/real:broken',
  ]);
});

test('the worst of a group is each column\'s worst over its members', () => {
  const w = worstOf(groupsOf(REPORT.members)[2]!);
  expect(w.members).toBe(2);
  expect(w.policies.find((p) => p.name === 'amadeus')).toEqual({ name: 'amadeus', p95LatencyIncreasePct: 20, p99LatencyIncreasePct: 120, sloViolationMinutes: 200, podHoursRatioToHpa: 1.25 });
  expect(w.policies.map((p) => p.name)).toEqual(['hpa-cpu', 'naive', 'amadeus', 'oracle', 'oracle+5%']);
  expect(w.bar).toEqual({ pass: 1, fail: 1, incomplete: 0 });
  expect(w.eval.find((m) => m.name === 'lstm-finetuned')).toEqual({ name: 'lstm-finetuned', relMae: 0.79, p90Coverage: 0.88 });
});

test('the outcome table has a row per trace and policy, roles marked, and the worst rows', () => {
  const text = formatSuite(REPORT);
  const lines = text.split('\n');
  expect(lines[0]).toBe('suite default: 5 traces (design 1, tune 1, held-out 3), 1 failed, 1 missing; the last 25% of each simulated and evaluated');
  expect(text).toMatch(/^trace\s+role\s+policy\s+p95 Δ%\s+p99 Δ%\s+SLO min\s+pod-hours\s+pods ÷ hpa$/m);
  expect(text).toMatch(/^nasa\s+design\s+amadeus\s+-9\.0\s+\+91\s+200\s+140\.0\s+1\.40$/m);
  expect(text).toMatch(/^random seed 101\s+HELD-OUT\s+amadeus\s+\+20\.0\s+\+120\s+200\s+120\.0\s+1\.20$/m);
  expect(text).toMatch(/^random seed 101\s+HELD-OUT\s+oracle\+5%\s+-12\.0/m);
  expect(text).toMatch(/^worst of 2 random seeds\s+HELD-OUT\s+amadeus\s+\+20\.0\s+\+120\s+200\s+-\s+1\.25$/m);
  expect(text).toMatch(/^nasa\s+design\s+hpa-cpu\s+\+2,500\.0\s+\+2,600\s+3,000\s+100\.0\s+1\.00$/m);
  expect(text).toMatch(/^broken\s+HELD-OUT\s+failed \(below\)$/m);
  // Design first, held-out last.
  expect(text.indexOf('nasa ')).toBeLessThan(text.indexOf('random seed 1 '));
  expect(text.indexOf('random seed 1 ')).toBeLessThan(text.indexOf('random seed 101'));
});

test('the bar table gives each criterion\'s verdict with its figures, and how many of a group passed it', () => {
  const text = formatSuite(REPORT);
  // seed 101: +20% where oracle+5% reaches −12%: fail; at 120 pod-hours naive (k 1.2) has +80%, 420 min.
  const row = text.split('\n').find((l) => l.startsWith('random seed 101') && l.includes('FAIL +20.0%'))!;
  expect(row).toContain('FAIL +20.0% (oracle+5% -12.0%)');
  expect(row).toContain('pass +20.0%/200 min vs +80.0%/420 min (naive k 1.20)');
  expect(row).toContain('pass 1.20×');
  expect(row).toContain('pass 0.790 vs holt-winters 0.800');
  expect(row).toContain('pass 0.780');
  expect(row).toMatch(/FAIL$/);
  expect(text).toMatch(/^nasa\s+design\s+1,000 \(50\)\s+pass -9\.0%/m);
  expect(text).toMatch(/^worst of 2 random seeds\s+HELD-OUT\s+1\/2 pass\s+2\/2 pass\s+2\/2 pass\s+2\/2 pass\s+2\/2 pass\s+1 pass, 1 fail, 0 incomplete$/m);
});

test('the eval table has relative MAE per model and p90 coverage where the model has quantiles', () => {
  const text = formatSuite(REPORT);
  expect(text).toMatch(/^trace\s+role\s+persistence relMAE\s+holt-winters relMAE\s+lstm-pretrained relMAE\s+lstm-finetuned relMAE\s+lstm-pretrained p90 cov\s+lstm-finetuned p90 cov$/m);
  expect(text).toMatch(/^random seed 102\s+HELD-OUT\s+1\.000\s+0\.800\s+0\.780\s+0\.780\s+91\.0%\s+88\.0%$/m);
  expect(text).toMatch(/^worst of 2 random seeds\s+HELD-OUT\s+1\.000\s+0\.800\s+0\.780\s+0\.790\s+91\.0%\s+88\.0%$/m);
});

test('generated members get the mean-knowing oracle\'s cheapest point that meets the p95 goal, and whether it fits the pod budget', () => {
  const m101 = REPORT.members[0] as MemberResult;
  const m102 = REPORT.members[3] as MemberResult;
  const curve = (pods: number[]) => [0.9, 0.98, 0.995].map((q, i) => ({ q, p95LatencyIncreasePct: [40, 5, -20][i]!, sloViolationMinutes: [300, 100, 40][i]!, podHours: pods[i]! }));
  const members = [{ ...m101, meanOracle: curve([110, 125, 140]) }, { ...m102, meanOracle: [{ q: 0.9, p95LatencyIncreasePct: 300, sloViolationMinutes: 500, podHours: 110 }, { q: 0.995, p95LatencyIncreasePct: 12.5, sloViolationMinutes: 90, podHours: 150 }] }, REPORT.members[1]!];
  const text = formatSuite({ ...REPORT, members });
  expect(text).toContain("The mean-knowing oracle (generated traces; a reference, not a policy");
  expect(text).toMatch(/^random seed 101\s+HELD-OUT\s+\+20\.0 \/ 1\.20×\s+q0\.98: \+5\.0%, 100 SLO min, 1\.25×\s+yes$/m);
  expect(text).toMatch(/^random seed 102\s+HELD-OUT\s+\+4\.0 \/ 1\.25×\s+none up to q0\.995 \(\+12\.5% at 1\.50×\)\s+no$/m);
  // Files have no noise-free rate: no row, and no section when no member has one.
  expect(text).not.toMatch(/^nasa\s+design\s+-9\.0 \//m);
  expect(formatSuite(REPORT)).not.toContain('mean-knowing oracle');
});

test('missing traces and failures are named below the tables, with how to rebuild', () => {
  const evalFailed: MemberResult = { ...(REPORT.members[1] as MemberResult), member: { name: 'cdn', role: 'held-out', family: 'real', source: { kind: 'file', path: 'cdn.csv' } }, eval: { failed: 'model mismatch' } };
  const text = formatSuite({ ...REPORT, members: [...REPORT.members, evalFailed] });
  expect(text).toMatch(/^cdn\s+HELD-OUT\s+failed \(below\)$/m);
  expect(text.split('\n').slice(-6)).toEqual([
    '',
    'missing: wiki, expected at data/traces/wiki.csv; rebuild it with scripts/traces/wiki/README.md',
    'failed: broken: broken.csv:3: bad row',
    'eval failed: cdn: model mismatch',
    '',
    'took 12.3 s',
  ]);
});

test('the JSON object is the report with the worst of each group of several', () => {
  const json = JSON.parse(JSON.stringify(suiteJson(REPORT))) as SuiteReport & { worst: { role: string; family: string }[] };
  expect(json.members).toHaveLength(5);
  expect(json.missing).toEqual(REPORT.missing);
  expect(json.worst.map((w) => `${w.role}/${w.family}`)).toEqual(['held-out/random']);
});

test('tables pad columns to their widest cell', () => {
  expect(renderTable(['a', 'bb'], [['xyz', '1'], ['q', '22']], 1)).toEqual(['a    bb', 'xyz   1', 'q    22']);
});
