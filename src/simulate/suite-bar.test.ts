/** The planner's bar on hand-made figures: the oracle-reach rule, naive at equal pod-hours, cost, and the eval. */
import type { ModelScore } from '../eval/types.js';
import type { PolicyFigures } from './engine.js';
import { judgeBar, NAIVE_FACTORS, naiveAt, type BarInput, type NaivePoint } from './suite-bar.js';

const policy = (name: string, p95: number, slo: number, podHours: number): PolicyFigures => ({ name, p95LatencyIncreasePct: p95, p99LatencyIncreasePct: p95 * 3, sloViolationMinutes: slo, podHours, scaleEvents: 0 });
const point = (factor: number, p95: number, slo: number, podHours: number): NaivePoint => ({ factor, p95LatencyIncreasePct: p95, sloViolationMinutes: slo, podHours });
const score = (name: string, relMae: number): ModelScore => ({ name, mae: relMae, rmse: relMae, mae5: relMae, relMae, underRate: 0 });

// Naive gets dearer and faster as k grows.
const CURVE = [point(1.2, 40, 300, 1200), point(1.0, 100, 500, 1000), point(1.4, 0, 100, 1400)];

test('the factors span 1.0 to 2.0 by 0.05', () => {
  expect(NAIVE_FACTORS).toHaveLength(21);
  expect(NAIVE_FACTORS[0]).toBe(1);
  expect(NAIVE_FACTORS[1]).toBe(1.05);
  expect(NAIVE_FACTORS[20]).toBe(2);
});

test('naive at equal pod-hours is interpolated between the curve points around it, in any input order', () => {
  expect(naiveAt(CURVE, 1100)).toEqual({ position: 'inside', factor: 1.1, p95LatencyIncreasePct: 70, sloViolationMinutes: 400, podHours: 1100 });
  const at = naiveAt(CURVE, 1350);
  expect(at.position).toBe('inside');
  expect(at.factor).toBeCloseTo(1.35, 10);
  expect(at.p95LatencyIncreasePct).toBeCloseTo(10, 10);
  expect(at.sloViolationMinutes).toBeCloseTo(150, 10);
  expect(naiveAt(CURVE, 1200)).toMatchObject({ factor: 1.2, p95LatencyIncreasePct: 40, sloViolationMinutes: 300 });
  expect(naiveAt(CURVE, 900)).toEqual({ position: 'below', ...CURVE[1] });
  expect(naiveAt(CURVE, 1500)).toEqual({ position: 'above', ...CURVE[2] });
  expect(() => naiveAt([], 1)).toThrow(RangeError);
});

const input = (over: Partial<BarInput> = {}): BarInput => ({
  spikeMinutes: 100,
  amadeus: policy('amadeus', 5, 100, 1100),
  hpaCpu: policy('hpa-cpu', 2000, 3000, 1000),
  oracle5: policy('oracle+5%', -10, 50, 1050),
  naiveCurve: CURVE,
  eval: [score('persistence', 1), score('mean30', 0.77), score('holt-winters', 0.76), score('lstm-pretrained', 0.74), score('lstm-finetuned', 0.75)],
  ...over,
});

test('a trace where everything holds passes, with the figures behind each verdict', () => {
  const bar = judgeBar(input());
  expect(bar.verdict).toBe('pass');
  expect(bar.p95).toEqual({ verdict: 'pass', amadeus: 5, oracle5: -10 });
  expect(bar.vsNaive.verdict).toBe('pass');
  expect(bar.vsNaive.naive).toMatchObject({ position: 'inside', p95LatencyIncreasePct: 70, sloViolationMinutes: 400 });
  expect(bar.podHours).toEqual({ verdict: 'pass', ratioToHpa: 1.1 });
  expect(bar.finetuned).toEqual({ verdict: 'pass', relMae: 0.75, bestBaseline: { name: 'holt-winters', relMae: 0.76 } });
  expect(bar.pretrained).toEqual({ verdict: 'pass', relMae: 0.74 });
});

test('the p95 goal is asked only where the oracle with 5% headroom reaches it', () => {
  const miss = policy('amadeus', 12, 100, 1100);
  expect(judgeBar(input({ amadeus: miss })).p95).toEqual({ verdict: 'fail', amadeus: 12, oracle5: -10 });
  expect(judgeBar(input({ amadeus: miss })).verdict).toBe('fail');
  // The oracle itself misses: not asked, and the bar can still pass.
  const unreachable = judgeBar(input({ amadeus: miss, oracle5: policy('oracle+5%', 15, 50, 1050), naiveCurve: [point(1, 200, 900, 1000), point(1.4, 100, 500, 1400)] }));
  expect(unreachable.p95).toEqual({ verdict: 'not-required', amadeus: 12, oracle5: 15 });
  expect(unreachable.verdict).toBe('pass');
  // Met anyway: a pass whether or not it was asked.
  expect(judgeBar(input({ oracle5: policy('oracle+5%', 15, 50, 1050) })).p95.verdict).toBe('pass');
  // At exactly 10% the goal (< 10%) is missed, and so is it reached by the oracle.
  expect(judgeBar(input({ amadeus: policy('amadeus', 10, 100, 1100), oracle5: policy('oracle+5%', 9.99, 50, 1050) })).p95.verdict).toBe('fail');
  expect(judgeBar(input({ oracle5: undefined })).p95.verdict).toBe('n/a');
});

test('naive at equal pod-hours must be beaten on both p95 and SLO minutes', () => {
  // At 1100 pod-hours naive has +70% and 400 minutes.
  expect(judgeBar(input({ amadeus: policy('amadeus', 5, 450, 1100) })).vsNaive.verdict).toBe('fail');
  expect(judgeBar(input({ amadeus: policy('amadeus', 80, 100, 1100) })).vsNaive.verdict).toBe('fail');
  expect(judgeBar(input({ amadeus: policy('amadeus', 70, 100, 1100) })).vsNaive.verdict).toBe('fail'); // a tie is not better
  expect(judgeBar(input({ amadeus: policy('amadeus', 69, 399, 1100) })).vsNaive.verdict).toBe('pass');
});

test('outside naive\'s curve only dominance decides', () => {
  // Cheaper than naive's cheapest point (k 1.0: +100%, 500 min, 1000 pod-hours) and better on both: pass.
  expect(judgeBar(input({ amadeus: policy('amadeus', 5, 100, 900) })).vsNaive).toMatchObject({ verdict: 'pass', naive: { position: 'below', factor: 1 } });
  // Cheaper but worse: equal pod-hours are off the curve, nothing claimed.
  expect(judgeBar(input({ amadeus: policy('amadeus', 150, 100, 900) })).vsNaive.verdict).toBe('n/a');
  // Dearer than its dearest point (k 1.4: 0%, 100 min) and worse on either: fail.
  expect(judgeBar(input({ amadeus: policy('amadeus', 5, 50, 1500) })).vsNaive).toMatchObject({ verdict: 'fail', naive: { position: 'above', factor: 1.4 } });
  expect(judgeBar(input({ amadeus: policy('amadeus', -5, 50, 1500) })).vsNaive.verdict).toBe('n/a');
});

test('pod-hours may reach 1.3× hpa-cpu\'s, not more', () => {
  expect(judgeBar(input({ amadeus: policy('amadeus', 5, 100, 1300) })).podHours).toEqual({ verdict: 'pass', ratioToHpa: 1.3 });
  expect(judgeBar(input({ amadeus: policy('amadeus', 5, 100, 1301) })).podHours).toEqual({ verdict: 'fail', ratioToHpa: 1.301 });
  expect(judgeBar(input({ hpaCpu: undefined })).podHours).toEqual({ verdict: 'n/a', ratioToHpa: null });
});

test('the eval: fine-tuned no worse than the best baseline evaluated, pre-trained no worse than persistence', () => {
  const evalOf = (ft: number, pt: number) => judgeBar(input({ eval: [score('persistence', 1), score('mean10', 0.8), score('lstm-pretrained', pt), score('lstm-finetuned', ft)] }));
  expect(evalOf(0.8, 1).finetuned).toEqual({ verdict: 'pass', relMae: 0.8, bestBaseline: { name: 'mean10', relMae: 0.8 } });
  expect(evalOf(0.81, 1).finetuned.verdict).toBe('fail');
  expect(evalOf(0.8, 1).pretrained.verdict).toBe('pass');
  expect(evalOf(0.8, 1.01).pretrained.verdict).toBe('fail');
});

test('what was not measured leaves the bar incomplete, unless something failed', () => {
  const noEval = judgeBar(input({ eval: null }));
  expect(noEval.finetuned).toEqual({ verdict: 'n/a', relMae: null, bestBaseline: null });
  expect(noEval.pretrained.verdict).toBe('n/a');
  expect(noEval.verdict).toBe('incomplete');
  const noAmadeus = judgeBar(input({ amadeus: undefined }));
  expect([noAmadeus.p95.verdict, noAmadeus.vsNaive.verdict, noAmadeus.podHours.verdict]).toEqual(['n/a', 'n/a', 'n/a']);
  expect(judgeBar(input({ amadeus: undefined, eval: [score('persistence', 1), score('lstm-pretrained', 1.2)] })).verdict).toBe('fail');
});

test('a span without spike minutes asks no p95 goal, and naive is compared on SLO minutes alone', () => {
  // Every p95 reads 0 without spike minutes: a tie there is no defeat.
  const calm = (slo: number) => judgeBar(input({ spikeMinutes: 0, amadeus: policy('amadeus', 0, slo, 1100), naiveCurve: [point(1, 0, 500, 1000), point(1.4, 0, 100, 1400)] }));
  expect(calm(100).p95.verdict).toBe('not-required');
  expect(calm(100).vsNaive.verdict).toBe('pass'); // naive: 400 minutes at 1100 pod-hours
  expect(calm(450).vsNaive.verdict).toBe('fail');
});
