/**
 * The shipped pre-trained model (models/nasa-lstm) on hand-made traffic that NASA never showed it:
 * a 100× level shift, up or down, that then holds. Scored as `amadeus eval` scores (relative MAE
 * over the evaluated last 25%, persistence = 1), the shift in the middle of that span.
 *
 * The model before the 2026-12 retraining (per-window mean as the divisor, NASA alone) scored
 * 3.07, 4.17 and 6.00 on these three traces; the shipped one 0.95, 1.08 and 1.24, 0.93, 1.02 and
 * 1.19 since its forecasts hold a clear move (move-hold.ts), and 0.93, 0.98 and 1.04 since the
 * shipped weights blend toward persistence on smooth windows (smooth-blend.ts). The target —
 * never worse than persistence — now holds for the first two; after the rise from 50, traffic of
 * thousands a minute with Poisson noise, where persistence is hard to beat, keeps it above 1, as on
 * the same traffic without a shift (1.26 without the smooth blend, 1.06 with it;
 * docs/experiments/forecaster-2026-12.md). The live gate serves a baseline wherever one does better.
 */
import { seededRandom } from '../test-support/cluster/util.js';
import { backtest } from './backtest.js';
import { loadModels } from './models.js';
import { firstEvaluatedMinute } from './origins.js';

const DAY = 1440;
const SPLIT = 0.75;

/** A Poisson count (exact below 50, normal approximation above). */
function poisson(r: () => number, mean: number): number {
  if (mean < 50) {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= r();
    } while (p > limit);
    return k - 1;
  }
  const z = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
}

/** Four days of a daily cycle around `base` a minute; at day 3.25 the level moves by `factor` over 3 minutes and holds. */
function shiftTrace(base: number, factor: number) {
  const r = seededRandom(11);
  const shiftAt = 3.25 * DAY;
  const requests: number[] = [];
  for (let i = 0; i < 4 * DAY; i++) {
    const daily = 1 + 0.4 * Math.sin((2 * Math.PI * i) / DAY);
    const f = i < shiftAt ? 1 : i < shiftAt + 3 ? 1 + ((factor - 1) * (i - shiftAt + 1)) / 3 : factor;
    requests.push(poisson(r, base * daily * f));
  }
  return { start: Date.UTC(2025, 0, 6), utcOffsetMinutes: 0, requests };
}

async function relMae(base: number, factor: number): Promise<Record<string, number | null>> {
  const trace = shiftTrace(base, factor);
  const models = await loadModels(['persistence', 'lstm-pretrained'], { trace, horizon: 10, evalStart: firstEvaluatedMinute(trace.requests.length, SPLIT) });
  const result = await backtest(trace, models, { horizon: 10, split: SPLIT });
  return Object.fromEntries(result.models.map((m) => [m.name, m.relMae]));
}

test.each([
  ['a 100× rise from a quiet 5 a minute', 5, 100],
  ['a 100× fall from 2,000 a minute (1.02 without the smooth blend)', 2000, 0.01],
])('%s: no worse than persistence', async (_label, base, factor) => {
  const r = await relMae(base, factor);
  expect(r.persistence).toBe(1);
  expect(r['lstm-pretrained']!).toBeLessThanOrEqual(1);
}, 60_000);

test.each([
  ['a 100× rise from 50 a minute (1.19 without the smooth blend; the old model: 6.00)', 50, 100],
  ['5,000 a minute without a shift (1.26 without the smooth blend)', 5000, 1],
])('%s: within 1.1× persistence', async (_label, base, factor) => {
  const r = await relMae(base, factor);
  expect(r['lstm-pretrained']!).toBeLessThan(1.1);
}, 60_000);
