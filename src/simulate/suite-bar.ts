/**
 * The planner's bar, judged per trace of the suite (pure). Amadeus, with its defaults:
 * - keeps the p95 latency increase during spikes under 10%, where the oracle with 5% headroom does
 *   (a trace whose bursts even perfect foresight cannot absorb asks nothing of a causal planner, nor
 *   does a span without spike minutes);
 * - at equal pod-hours, beats the naive planner on both p95 and SLO-violation minutes: naive's
 *   cost–latency curve over its factor k, interpolated at Amadeus's pod-hours;
 * - costs at most 1.3× hpa-cpu's pod-hours (design §5's bound);
 * and in the eval backtest the fine-tuned LSTM is no worse than the best baseline, and the
 * pre-trained LSTM no worse than persistence.
 */
import type { ModelScore } from '../eval/types.js';
import type { PolicyFigures } from './engine.js';

export const BAR = {
  p95IncreasePct: 10,
  /** The oracle that decides whether the p95 goal is asked of a trace. */
  oracleHeadroom: 0.05,
  podHoursRatioToHpa: 1.3,
  pretrainedRelMae: 1,
} as const;

/** Naive's factors whose curve Amadeus is compared against. */
export const NAIVE_FACTORS: readonly number[] = Array.from({ length: 21 }, (_, i) => Math.round((1 + i * 0.05) * 100) / 100);

/** The eval models the fine-tuned LSTM must match: the best of those evaluated. */
export const EVAL_BASELINES: readonly string[] = ['persistence', 'mean10', 'mean30', 'seasonal-day', 'holt-winters'];

/** `not-required`: the goal does not apply to this trace. `n/a`: a figure it needs was not measured. */
export type Verdict = 'pass' | 'fail' | 'not-required' | 'n/a';

export interface NaivePoint {
  factor: number;
  p95LatencyIncreasePct: number;
  sloViolationMinutes: number;
  podHours: number;
}

/**
 * Naive's figures at `podHours`: interpolated between the two points of its curve around it
 * (`inside`); outside the curve, its nearest end (`below` its cheapest, `above` its dearest).
 */
export interface NaiveAt {
  position: 'inside' | 'below' | 'above';
  factor: number;
  p95LatencyIncreasePct: number;
  sloViolationMinutes: number;
  podHours: number;
}

export function naiveAt(curve: readonly NaivePoint[], podHours: number): NaiveAt {
  if (curve.length === 0) throw new RangeError('naive curve is empty');
  const points = [...curve].sort((a, b) => a.podHours - b.podHours || a.factor - b.factor);
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (podHours < first.podHours) return { position: 'below', ...first };
  if (podHours > last.podHours) return { position: 'above', ...last };
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    if (podHours > b.podHours) continue;
    const t = b.podHours === a.podHours ? 0 : (podHours - a.podHours) / (b.podHours - a.podHours);
    const at = (x: number, y: number) => x + t * (y - x);
    return {
      position: 'inside',
      factor: at(a.factor, b.factor),
      p95LatencyIncreasePct: at(a.p95LatencyIncreasePct, b.p95LatencyIncreasePct),
      sloViolationMinutes: at(a.sloViolationMinutes, b.sloViolationMinutes),
      podHours,
    };
  }
  return { position: 'inside', ...first };
}

export interface BarInput {
  /** Spike minutes of the span: with none, spike latency is not measured (every p95 reads 0) and only SLO minutes compare. */
  spikeMinutes: number;
  amadeus?: PolicyFigures;
  hpaCpu?: PolicyFigures;
  /** The oracle with BAR.oracleHeadroom. */
  oracle5?: PolicyFigures;
  naiveCurve: readonly NaivePoint[];
  /** The eval backtest's scores; null or absent when it did not run. */
  eval?: readonly ModelScore[] | null;
}

export interface Bar {
  p95: { verdict: Verdict; amadeus: number | null; oracle5: number | null };
  /** Naive at Amadeus's pod-hours, against Amadeus's p95 and SLO minutes. */
  vsNaive: { verdict: Verdict; naive: NaiveAt | null; amadeus: { p95LatencyIncreasePct: number; sloViolationMinutes: number; podHours: number } | null };
  podHours: { verdict: Verdict; ratioToHpa: number | null };
  finetuned: { verdict: Verdict; relMae: number | null; bestBaseline: { name: string; relMae: number } | null };
  pretrained: { verdict: Verdict; relMae: number | null };
  /** `incomplete`: nothing failed, but some criterion could not be judged. */
  verdict: 'pass' | 'fail' | 'incomplete';
}

const judge = (ok: boolean): Verdict => (ok ? 'pass' : 'fail');

/**
 * Outside naive's curve only dominance decides: cheaper than naive's cheapest point and better on
 * both passes (naive gets no better with fewer pods); dearer than its dearest and worse on either
 * fails. Otherwise equal pod-hours lie off the curve, and nothing is claimed.
 */
function versusNaive(a: PolicyFigures, curve: readonly NaivePoint[], spikes: boolean): Bar['vsNaive'] {
  const amadeus = { p95LatencyIncreasePct: a.p95LatencyIncreasePct, sloViolationMinutes: a.sloViolationMinutes, podHours: a.podHours };
  if (curve.length === 0) return { verdict: 'n/a', naive: null, amadeus };
  const naive = naiveAt(curve, a.podHours);
  const fasterInSpikes = !spikes || a.p95LatencyIncreasePct < naive.p95LatencyIncreasePct;
  const better = fasterInSpikes && a.sloViolationMinutes < naive.sloViolationMinutes;
  const worse = (spikes && a.p95LatencyIncreasePct > naive.p95LatencyIncreasePct) || a.sloViolationMinutes > naive.sloViolationMinutes;
  let verdict: Verdict;
  if (naive.position === 'inside') verdict = judge(better);
  else if (naive.position === 'below') verdict = better ? 'pass' : 'n/a';
  else verdict = worse ? 'fail' : 'n/a';
  return { verdict, naive, amadeus };
}

function relMaeOf(scores: readonly ModelScore[] | null | undefined, name: string): number | null {
  return scores?.find((m) => m.name === name)?.relMae ?? null;
}

export function judgeBar(input: BarInput): Bar {
  const { amadeus: a, hpaCpu: hpa, oracle5 } = input;
  const spikes = input.spikeMinutes > 0;
  const oracleReaches = oracle5 ? oracle5.p95LatencyIncreasePct < BAR.p95IncreasePct : null;
  const p95: Bar['p95'] = {
    verdict: !a || oracleReaches === null ? 'n/a' : !spikes ? 'not-required' : a.p95LatencyIncreasePct < BAR.p95IncreasePct ? 'pass' : oracleReaches ? 'fail' : 'not-required',
    amadeus: a?.p95LatencyIncreasePct ?? null,
    oracle5: oracle5?.p95LatencyIncreasePct ?? null,
  };
  const vsNaive: Bar['vsNaive'] = a ? versusNaive(a, input.naiveCurve, spikes) : { verdict: 'n/a', naive: null, amadeus: null };
  const ratioToHpa = a && hpa && hpa.podHours > 0 ? Math.round((a.podHours / hpa.podHours) * 1000) / 1000 : null;
  const podHours: Bar['podHours'] = { verdict: ratioToHpa === null ? 'n/a' : judge(a!.podHours <= BAR.podHoursRatioToHpa * hpa!.podHours), ratioToHpa };

  const scores = input.eval;
  const finetunedRel = relMaeOf(scores, 'lstm-finetuned');
  let bestBaseline: { name: string; relMae: number } | null = null;
  for (const name of EVAL_BASELINES) {
    const rel = relMaeOf(scores, name);
    if (rel !== null && (bestBaseline === null || rel < bestBaseline.relMae)) bestBaseline = { name, relMae: rel };
  }
  const finetuned: Bar['finetuned'] = { verdict: finetunedRel === null || bestBaseline === null ? 'n/a' : judge(finetunedRel <= bestBaseline.relMae), relMae: finetunedRel, bestBaseline };
  const pretrainedRel = relMaeOf(scores, 'lstm-pretrained');
  const pretrained: Bar['pretrained'] = { verdict: pretrainedRel === null ? 'n/a' : judge(pretrainedRel <= BAR.pretrainedRelMae), relMae: pretrainedRel };

  const verdicts = [p95, vsNaive, podHours, finetuned, pretrained].map((c) => c.verdict);
  const verdict = verdicts.includes('fail') ? 'fail' : verdicts.includes('n/a') ? 'incomplete' : 'pass';
  return { p95, vsNaive, podHours, finetuned, pretrained, verdict };
}
