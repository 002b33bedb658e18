/** The mean-knowing oracle: its noise law against the generator's draws, its quantiles, and its policy on hand-made loads. */
import { familyShape } from '../sources/generator.js';
import { REFERENCE_SCENARIO, type ScenarioParams } from '../sources/scenario-family.js';
import { runPolicy, figures } from './engine.js';
import { buildLoad } from './load.js';
import { cheapestMeeting, countQuantile, meanOracle, normalCdf, POISSON_LAW, quantileSeries, type NoiseLaw } from './mean-oracle.js';
import { SIM_DEFAULTS } from './params.js';
import { hpaCpu } from './policies.js';
import { spanStart } from './simulate.js';
import { generatedTrace } from './suite.js';
import { meanOracleOf } from './suite-run.js';

/** The exact Poisson q-quantile by summing its probabilities. */
function poissonQuantile(mean: number, q: number): number {
  let k = 0;
  let logP = -mean;
  let cdf = Math.exp(logP);
  while (cdf < q) {
    k++;
    logP += Math.log(mean / k);
    cdf += Math.exp(logP);
  }
  return k;
}

test('the normal CDF', () => {
  expect(normalCdf(0)).toBeCloseTo(0.5, 7);
  expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 6);
  expect(normalCdf(8)).toBeCloseTo(1, 9);
});

test('with Poisson noise the quantile is within a count of the exact Poisson quantile', () => {
  for (const mean of [30, 120, 900]) {
    for (const q of [0.8, 0.95, 0.99]) expect(Math.abs(Math.ceil(countQuantile(mean, q, POISSON_LAW)) - poissonQuantile(mean, q))).toBeLessThanOrEqual(1);
  }
  expect(countQuantile(0, 0.9, POISSON_LAW)).toBe(0);
  expect(() => countQuantile(10, 1, POISSON_LAW)).toThrow(/q must be in \(0, 1\)/);
});

test("the law's multiplier quantiles match the generator's own draws (gamma over-dispersion and one-minute bursts)", () => {
  // At a huge mean the Poisson part vanishes and the quantile is the multiplier's, × the mean.
  const noise: NoiseLaw = { shape: 12, burstsPerDay: 120, minBurstFactor: 1.5, maxBurstFactor: 3 };
  const p: ScenarioParams = { ...REFERENCE_SCENARIO, noise };
  const shape = familyShape(p);
  const draws = Float64Array.from({ length: 200_000 }, (_, m) => shape.noiseFactor(7, m)).sort();
  const mean = 1e7;
  for (const q of [0.5, 0.9, 0.97, 0.99]) {
    const empirical = draws[Math.floor(q * (draws.length - 1))]!;
    expect(countQuantile(mean, q, noise) / mean).toBeCloseTo(empirical, 1);
    expect(Math.abs(countQuantile(mean, q, noise) / mean / empirical - 1)).toBeLessThan(0.02);
  }
  // Bursts (a chance of 1/12 a minute here) lift the upper quantiles above the gamma's alone.
  expect(countQuantile(mean, 0.97, noise)).toBeGreaterThan(countQuantile(mean, 0.97, { ...noise, burstsPerDay: 0 }) * 1.1);
});

test('the quantile series follows each minute\'s mean, in the load\'s unit', () => {
  const law: NoiseLaw = { shape: 20, burstsPerDay: 5, minBurstFactor: 1.5, maxBurstFactor: 2.5 };
  const scale = 4; // req/s of load per req/s of trace: a minute's count is rate ÷ scale × 60
  const mean = Float64Array.from({ length: 300 }, (_, i) => 8 + 60 * Math.abs(Math.sin(i / 40)));
  const series = quantileSeries(mean, 0.95, law, 60 / scale);
  for (const i of [0, 37, 150, 299]) {
    const exact = (countQuantile((mean[i]! / scale) * 60, 0.95, law) / 60) * scale;
    expect(Math.abs(series[i]! / exact - 1)).toBeLessThan(0.005);
  }
  expect(quantileSeries(new Float64Array(3), 0.9, law, 15)).toEqual(new Float64Array(3));
});

test('the policy asks for the largest quantile a pod started now would serve, never below the current load, × (1 + headroom)', () => {
  const p = { ...SIM_DEFAULTS, startupSeconds: 90, syncSeconds: 15, pollSeconds: 30 };
  const quantiles = Float64Array.from([110, 120, 130, 400, 140, 150]);
  const policy = meanOracle(quantiles, p, 0.1);
  expect(policy).toMatchObject({ kind: 'external', pollSeconds: 30 });
  // At 0 s the window (90 + 15 + 30 s) reaches minutes 0–2; at 60 s minutes 1–3; the current load wins when larger.
  expect(policy.metric({ time: 0, minute: 0, load: 100, ready: 1, replicas: 1 })).toBeCloseTo(130 * 1.1);
  expect(policy.metric({ time: 60, minute: 1, load: 100, ready: 1, replicas: 1 })).toBeCloseTo(400 * 1.1);
  expect(policy.metric({ time: 120, minute: 2, load: 500, ready: 1, replicas: 1 })).toBeCloseTo(500 * 1.1);
  expect(policy.metric({ time: 300, minute: 5, load: 100, ready: 1, replicas: 1 })).toBeCloseTo(150 * 1.1);
});

test('the cheapest point meeting the goal', () => {
  const c = [
    { q: 0.9, p95LatencyIncreasePct: 50, sloViolationMinutes: 9, podHours: 100 },
    { q: 0.97, p95LatencyIncreasePct: 9.9, sloViolationMinutes: 5, podHours: 120 },
    { q: 0.99, p95LatencyIncreasePct: -20, sloViolationMinutes: 2, podHours: 130 },
  ];
  expect(cheapestMeeting(c, 10)?.q).toBe(0.97);
  expect(cheapestMeeting(c, 9)?.q).toBe(0.99);
  expect(cheapestMeeting(c, -30)).toBeNull();
});

test('on a generated span, a higher quantile buys lower latency with more pods; a file member has no curve', () => {
  const trace = generatedTrace({ scenario: 'random', seed: 104, days: 4 });
  const load = buildLoad(trace, spanStart(trace.requests.length, 0.75), trace.requests.length, SIM_DEFAULTS);
  const curve = meanOracleOf({ name: 's', role: 'held-out', family: 'random', source: { kind: 'generator', scenario: 'random', seed: 104, days: 4 } }, load, SIM_DEFAULTS)!;
  expect(curve.map((c) => c.q)).toEqual([0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995]);
  for (let i = 1; i < curve.length; i++) {
    expect(curve[i]!.podHours).toBeGreaterThanOrEqual(curve[i - 1]!.podHours);
    expect(curve[i]!.sloViolationMinutes).toBeLessThanOrEqual(curve[i - 1]!.sloViolationMinutes);
  }
  // Knowing the rate, at its highest quantile it does better than the reactive HPA by far.
  const hpa = figures(load, runPolicy(load, hpaCpu(SIM_DEFAULTS), SIM_DEFAULTS), SIM_DEFAULTS);
  expect(curve[curve.length - 1]!.sloViolationMinutes).toBeLessThan(hpa.sloViolationMinutes / 5);
  expect(meanOracleOf({ name: 'f', role: 'held-out', family: 'real', source: { kind: 'file', path: 'x.csv' } }, load, SIM_DEFAULTS)).toBeNull();
});
