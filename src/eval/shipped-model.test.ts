/**
 * The shipped pre-trained model (models/nasa-lstm) on hand-made traffic that NASA never showed it:
 * a 100× level shift, up or down, that then holds. Scored as `amadeus eval` scores (relative MAE
 * over the evaluated last 25%, persistence = 1), the shift in the middle of that span.
 *
 * The model before the 2026-12 retraining (per-window mean as the divisor, NASA alone) scored
 * 3.07, 4.17 and 6.00 on these three traces; the shipped one 0.95, 1.08 and 1.24, and 0.93, 1.02
 * and 1.19 since its forecasts hold a clear move (move-hold.ts). The target — never worse
 * than persistence — holds for the first only: on the other two smooth traffic of thousands a
 * minute, where persistence is hard to beat, keeps it above 1 (docs/experiments/forecaster-2026-12.md).
 * The live gate serves a baseline wherever one does better; the bound of 1.3 below guards the gain.
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

test('a 100× rise from a quiet 5 a minute: no worse than persistence', async () => {
  const r = await relMae(5, 100);
  expect(r.persistence).toBe(1);
  expect(r['lstm-pretrained']!).toBeLessThanOrEqual(1);
}, 60_000);

test.each([
  ['a 100× fall from 2,000 a minute', 2000, 0.01],
  ['a 100× rise from 50 a minute', 50, 100],
])('%s: within 1.3× persistence (the old model: 4–6×)', async (_label, base, factor) => {
  const r = await relMae(base, factor);
  expect(r['lstm-pretrained']!).toBeLessThan(1.3);
}, 60_000);
