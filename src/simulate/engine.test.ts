/** The engine against cases worked out by hand (design §5's model). */
import { figures, Pods, recommend, runPolicy, Stabilizer, type Policy } from './engine.js';
import type { SimLoad } from './load.js';
import { baselineLatency, SIM_DEFAULTS, type SimParams } from './params.js';
import { hpaCpu, kedaReactive, naive, oracle } from './policies.js';
import { PLANNER_DEFAULTS } from '../plan/defaults.js';

/** A load straight from per-minute rates (req/s), every minute observed, no spikes unless given. */
function loadOf(rates: number[], spike: number[] = []): SimLoad {
  const s = new Uint8Array(rates.length);
  for (const m of spike) s[m] = 1;
  return { start: 0, utcOffsetMinutes: 0, offset: 0, rate: Float64Array.from(rates), observed: new Uint8Array(rates.length).fill(1), spike: s, scale: 1 };
}
const P: SimParams = { ...SIM_DEFAULTS };
const steps = (...parts: [number, number][]) => parts.flatMap(([rate, minutes]) => Array<number>(minutes).fill(rate));
/** Index of the tick at `seconds`. */
const at = (seconds: number) => seconds / P.tickSeconds;

describe('constant load', () => {
  // 320 req/s at μ 20 and 80%: 20 pods exactly at the target.
  const load = loadOf(steps([320, 60]));
  for (const policy of [hpaCpu(P), kedaReactive(P), oracle(load, P)]) {
    test(`${policy.name}: no scaling, latency at the baseline, pod-hours = pods × hours`, () => {
      const run = runPolicy(load, policy, P);
      expect(run.scaleEvents).toBe(0);
      expect(new Set(run.replicas)).toEqual(new Set([20]));
      for (const l of run.latency) expect(l).toBeCloseTo(baselineLatency(P), 12);
      const f = figures(load, run, P);
      expect(f).toEqual({ name: policy.name, p95LatencyIncreasePct: 0, p99LatencyIncreasePct: 0, sloViolationMinutes: 0, podHours: 20, scaleEvents: 0 });
    });
  }
});

describe('a step up with a 90 s start-up', () => {
  // 160 → 320 req/s at minute 10: 10 pods (200 req/s) face 320 until the 10 new ones are ready.
  const load = loadOf(steps([160, 10], [320, 10]));
  const run = runPolicy(load, kedaReactive(P), P);
  const l0 = 1 / P.mu;

  test('scales to 20 at the first poll after the step, ready 90 s later', () => {
    expect(run.replicas[at(585)]).toBe(10);
    expect(run.replicas[at(600)]).toBe(20);
    expect(run.ready[at(675)]).toBe(10);
    expect(run.ready[at(690)]).toBe(20);
    expect(run.scaleEvents).toBe(1);
  });

  test('the backlog grows by the excess each tick and drains at the spare capacity', () => {
    // Each starting tick: (320 − 200) × 15 s = 1,800 requests more; ρ capped at 0.95 → L0 / 0.05.
    for (let k = 0; k < 6; k++) expect(run.latency[at(600) + k]).toBeCloseTo(l0 / 0.05 + (1800 * (k + 1)) / 200, 9);
    // Ready at 690: 10,800 queued, draining (400 − 320) × 15 = 1,200 per tick at ρ = 0.8.
    expect(run.latency[at(690)]).toBeCloseTo(l0 / 0.2 + 9600 / 400, 9);
    // 10,800 / 1,200 = 9 ticks of draining: empty at the ninth, back at the baseline.
    expect(run.latency[at(690) + 8]).toBeCloseTo(l0 / 0.2, 9);
    expect(run.latency[at(690) + 7]).toBeCloseTo(l0 / 0.2 + 1200 / 400, 9);
  });

  test('without a start-up delay there is no backlog at all', () => {
    const instant = runPolicy(load, kedaReactive(P), { ...P, startupSeconds: 0 });
    for (const l of instant.latency) expect(l).toBeCloseTo(l0 / 0.2, 9);
  });
});

describe('stabilization', () => {
  // 320 → 160 req/s at minute 10: 20 pods are 10 too many.
  const load = loadOf(steps([320, 10], [160, 20]));

  test('scale-down waits for the window: no 20-pod recommendation left in the last 300 s', () => {
    const run = runPolicy(load, kedaReactive(P), P);
    // The last 20-pod recommendation is from t = 585 s: it leaves the window at 885 s.
    expect(run.replicas[at(870)]).toBe(20);
    expect(run.replicas[at(885)]).toBe(10);
    expect(run.scaleEvents).toBe(1);
  });

  test('without a window, at the first poll', () => {
    const run = runPolicy(load, kedaReactive(P), { ...P, stabilizationSeconds: 0 });
    expect(run.replicas[at(585)]).toBe(20);
    expect(run.replicas[at(600)]).toBe(10);
  });

  test('a dip shorter than the window sheds no pod', () => {
    const dip = loadOf(steps([320, 10], [160, 3], [320, 10]));
    const run = runPolicy(dip, kedaReactive(P), P);
    expect(run.scaleEvents).toBe(0);
  });

  test('Stabilizer: up at once, down to the window maximum', () => {
    const s = new Stabilizer(60);
    expect(s.next(10, 5, 0)).toBe(10);
    expect(s.next(4, 10, 15)).toBe(10);
    expect(s.next(6, 10, 30)).toBe(10);
    expect(s.next(4, 10, 60)).toBe(6); // the 10 of t=0 has left (0, 60]: the 6 of t=30 is the highest
    expect(s.next(4, 6, 90)).toBe(4); // (30, 90] holds only 4s
  });
});

describe('HPA formula', () => {
  test('tolerance: within 10% of the target nothing changes', () => {
    expect(recommend('external', 350, 20, 20, P)).toBe(20); // 350 / 320 = 1.09
    expect(recommend('external', 360, 20, 20, P)).toBe(23); // 1.125 → ceil(360 / 16)
    expect(recommend('cpu', 0.85, 20, 20, P)).toBe(20);
    expect(recommend('cpu', 1, 20, 20, P)).toBe(25);
  });

  test('CPU saturates: hpa-cpu needs several syncs to reach what a request-rate policy reaches in one', () => {
    const load = loadOf(steps([160, 5], [480, 15]));
    const cpu = runPolicy(load, hpaCpu(P), P);
    const rate = runPolicy(load, kedaReactive(P), P);
    expect(rate.replicas[at(300)]).toBe(30);
    expect(cpu.replicas[at(300)]).toBe(13); // ceil(10 × 1 / 0.8)
    expect(cpu.scaleEvents).toBeGreaterThan(rate.scaleEvents);
  });

  test('replica bounds hold', () => {
    const load = loadOf(steps([10, 5], [100000, 5], [0, 10]));
    const run = runPolicy(load, kedaReactive(P), { ...P, maxReplicas: 40, stabilizationSeconds: 0 });
    expect(Math.max(...run.replicas)).toBe(40);
    expect(Math.min(...run.replicas)).toBe(1);
  });
});

test('Pods: scale-in removes pods still starting first', () => {
  const pods = new Pods(3);
  pods.scaleTo(6, 100, 90); // 3 ready, 3 ready at 190
  expect(pods.readyCount(150)).toBe(3);
  pods.scaleTo(4, 150, 90);
  expect(pods.count).toBe(4);
  expect(pods.readyCount(150)).toBe(3);
  pods.scaleTo(2, 150, 90);
  expect(pods.readyCount(150)).toBe(2);
  expect(pods.readyCount(1000)).toBe(2);
});

test('a policy without a metric keeps the replicas', () => {
  const load = loadOf(steps([160, 5], [320, 5]));
  const none: Policy = { name: 'none', kind: 'external', metric: () => null };
  const run = runPolicy(load, none, P);
  expect(run.scaleEvents).toBe(0);
  expect(new Set(run.replicas)).toEqual(new Set([10]));
});

test('the oracle never does worse than the reactive policy on a spike', () => {
  const rates = steps([160, 30], [480, 15], [160, 30]);
  const load = loadOf(rates, Array.from({ length: 15 }, (_, i) => 30 + i));
  const reactive = figures(load, runPolicy(load, kedaReactive(P), P), P);
  const best = figures(load, runPolicy(load, oracle(load, P), P), P);
  expect(reactive.p95LatencyIncreasePct).toBeGreaterThan(100);
  expect(best.p95LatencyIncreasePct).toBeLessThanOrEqual(reactive.p95LatencyIncreasePct);
  expect(best.sloViolationMinutes).toBeLessThanOrEqual(reactive.sloViolationMinutes);
  expect(best.sloViolationMinutes).toBe(0); // it sees the spike 105 s ahead, and pods take 90 s
});

test('unobserved minutes count in no figure', () => {
  const load = loadOf(steps([160, 10], [480, 10]));
  load.observed.fill(0, 10, 20);
  load.spike.fill(1, 10, 20);
  const f = figures(load, runPolicy(load, kedaReactive(P), P), P);
  expect(f.sloViolationMinutes).toBe(0);
  expect(f.p95LatencyIncreasePct).toBe(0);
});

describe('naive planner', () => {
  // Minutes 0–29 at 100 req/s, then 40: the mean of the last 30 minutes stays above the current rate.
  const load = loadOf(steps([100, 30], [40, 10]));
  const ctx = (minute: number) => ({ time: minute * 60, minute, load: load.rate[minute]!, ready: 5, replicas: 5 });
  test('× 1.3 the larger of the current rate and the last 30 minutes\' mean', () => {
    expect(naive(load, P).metric(ctx(10))).toBeCloseTo(130, 12);
    // Minute 35: the last 30 minutes are 25 at 100 and 5 at 40 → mean 90, above the current 40.
    expect(naive(load, P).metric(ctx(35))).toBeCloseTo(((25 * 100 + 5 * 40) / 30) * 1.3, 12);
  });
  test('its factor can be set, to trace its own latency/cost curve', () => {
    expect(naive(load, P, 1.5).metric(ctx(35))).toBeCloseTo(((25 * 100 + 5 * 40) / 30) * 1.5, 12);
    expect(naive(load, P, 1).metric(ctx(0))).toBe(100);
  });
});

describe("the HPA tolerance's dead band sets the planner's headroom floor (plan/defaults.ts)", () => {
  // A smooth, slow rise at 10+ replicas: the HPA keeps its count until the metric is 10% above
  // target × replicas, so a plan of (1 + h) × load lets utilisation reach 0.8 × 1.1 ÷ (1 + h)
  // before a pod is added; a tick's latency exceeds the SLO (1.1 × baseline) beyond 0.818.
  const rates = Array.from({ length: 400 }, (_, m) => 200 + m * 0.5); // 200 → 400 req/s
  const load = loadOf(rates);
  const planned = (h: number): Policy => ({ name: `load × ${1 + h}`, kind: 'external', pollSeconds: P.pollSeconds, metric: ({ minute }) => rates[minute]! * (1 + h) });
  const sloMinutes = (h: number) => figures(load, runPolicy(load, planned(h), P), P).sloViolationMinutes;

  test('the floor is 1.1 × 0.8 ÷ 0.818… − 1 ≈ 0.0756', () => {
    const rhoSlo = 1 - (1 - P.targetUtilization) / P.sloFactor;
    expect((1 + P.tolerance) * P.targetUtilization / rhoSlo - 1).toBeCloseTo(0.0756, 4);
  });

  test('above it (the default, 0.08) no minute breaks the SLO; below it (0.07, 0.05) minutes do, before every scale-up', () => {
    expect(PLANNER_DEFAULTS.headroom).toBeGreaterThanOrEqual(0.0756);
    expect(sloMinutes(PLANNER_DEFAULTS.headroom)).toBe(0);
    expect(sloMinutes(0.07)).toBeGreaterThan(0);
    expect(sloMinutes(0.05)).toBeGreaterThan(sloMinutes(0.07));
  });
});
