/**
 * Planner tuning: the choice rule by hand, and the whole pass on a synthetic trace — it reads only
 * the tuning days, its figures are the engine's for each setting, and the span is then simulated
 * with the setting it chose.
 */
import { createForecasterProvider } from '../forecast/catalog.js';
import type { Forecaster } from '../forecast/types.js';
import { silentLogger } from '../telemetry/logger.js';
import { SIM_DEFAULTS } from './params.js';
import { simulate } from './simulate.js';
import { chooseCandidate, defaultGrid, DEFAULT_GOALS, meetsGoals, plannerQuantile, tunePlanner, type TuneCandidate } from './tune.js';

const DAY = 1440;
const START = Date.UTC(2025, 0, 6);

const candidate = (quantile: string, headroom: number, p95: number, slo: number, podHours: number, meets: boolean): TuneCandidate => ({
  quantile,
  headroom,
  noiseMargin: 0,
  p95LatencyIncreasePct: p95,
  sloViolationMinutes: slo,
  podHours,
  meetsGoals: meets,
});

describe('the choice', () => {
  test('the cheapest setting among those meeting the goals, whatever its latency', () => {
    const cs = [candidate('none', 0, 50, 90, 80, false), candidate('none', 0.2, 5, 10, 120, true), candidate('0.9', 0, 8, 12, 110, true), candidate('0.9', 0.3, -40, 1, 150, true)];
    expect(chooseCandidate(cs)).toEqual({ chosen: cs[2], met: true });
  });

  test('when none meets them, the lowest p95 increase, then the fewest pod-hours', () => {
    const cs = [candidate('none', 0, 50, 90, 80, false), candidate('0.5', 0.1, 20, 40, 130, false), candidate('0.9', 0, 20, 30, 110, false)];
    expect(chooseCandidate(cs)).toEqual({ chosen: cs[2], met: false });
  });

  test('a tie goes to the earlier setting in the grid', () => {
    const cs = [candidate('none', 0.1, 0, 1, 100, true), candidate('0.5', 0.1, 0, 1, 100, true)];
    expect(chooseCandidate(cs).chosen).toBe(cs[0]);
  });

  test('no candidate is an error, not an arbitrary setting', () => {
    expect(() => chooseCandidate([])).toThrow(RangeError);
  });

  test('goals: the p95 bound is strict, the SLO share inclusive', () => {
    expect(meetsGoals({ p95LatencyIncreasePct: 9.99, sloViolationMinutes: 25 }, 100, DEFAULT_GOALS)).toBe(true);
    expect(meetsGoals({ p95LatencyIncreasePct: 10, sloViolationMinutes: 0 }, 100, DEFAULT_GOALS)).toBe(false);
    expect(meetsGoals({ p95LatencyIncreasePct: 0, sloViolationMinutes: 26 }, 100, DEFAULT_GOALS)).toBe(false);
    // hpa-cpu without a violation leaves no room for one.
    expect(meetsGoals({ p95LatencyIncreasePct: 0, sloViolationMinutes: 1 }, 0, DEFAULT_GOALS)).toBe(false);
  });

  test('the grid: the point forecast and each quantile, headroom 0 to 0.5 by 0.05, noise margin 0 to 1 by 0.25', () => {
    const grid = defaultGrid(['0.5', '0.9']);
    expect(grid).toHaveLength(3 * 11 * 5);
    expect(grid[0]).toEqual({ quantile: 'none', headroom: 0, noiseMargin: 0 });
    expect(grid[10]).toEqual({ quantile: 'none', headroom: 0.5, noiseMargin: 0 });
    expect(grid[11]).toEqual({ quantile: 'none', headroom: 0, noiseMargin: 0.25 });
    expect(grid.filter((g) => g.quantile === '0.9' && g.noiseMargin === 0).map((g) => g.headroom)).toEqual([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]);
    expect([...new Set(grid.map((g) => g.noiseMargin))]).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
});

/** Four days: a daily cycle with a 10-minute surge of 45% every 3 hours; the last day is the simulated span. */
function bursty(days: number): number[] {
  return Array.from({ length: days * DAY }, (_, i) => {
    const base = 600 + 300 * Math.sin((2 * Math.PI * i) / DAY);
    return Math.round(base * (i % 180 < 10 ? 1.45 : 1));
  });
}

const mean10 = (): Forecaster => createForecasterProvider({ lstm: null, log: silentLogger })('mean10', 'ns/tune');
const fixed = { horizonMinutes: 3, historyMinutes: 60 };

describe('on a bursty trace', () => {
  const requests = bursty(4);
  const trace = { start: START, utcOffsetMinutes: 0, requests };
  const grid = defaultGrid(['0.5', '0.9']);

  test('more headroom or noise margin never costs fewer pod-hours, and the choice is the cheapest meeting the goals', async () => {
    const t = await tunePlanner({ trace, from: DAY, to: 3 * DAY, params: SIM_DEFAULTS, amadeus: { forecaster: mean10(), headroom: 0, ...fixed }, grid, goals: DEFAULT_GOALS });
    expect(t.minutes).toBe(2 * DAY);
    expect(t.from).toBe(new Date(START + DAY * 60_000).toISOString());
    expect(t.candidates).toHaveLength(grid.length);
    const point = t.candidates.filter((c) => c.quantile === 'none' && c.noiseMargin === 0);
    for (let k = 1; k < point.length; k++) expect(point[k]!.podHours).toBeGreaterThanOrEqual(point[k - 1]!.podHours);
    const noisy = t.candidates.filter((c) => c.quantile === 'none' && c.headroom === 0);
    expect(noisy.map((c) => c.noiseMargin)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    for (let k = 1; k < noisy.length; k++) expect(noisy[k]!.podHours).toBeGreaterThanOrEqual(noisy[k - 1]!.podHours);
    // Surges a lagging 10-minute mean and a 90 s start-up cannot follow: without headroom the goals are missed.
    expect(point[0]!.meetsGoals).toBe(false);
    expect(t.met).toBe(true);
    const meeting = t.candidates.filter((c) => c.meetsGoals);
    expect(t.chosen.meetsGoals).toBe(true);
    expect(t.chosen.podHours).toBe(Math.min(...meeting.map((c) => c.podHours)));
    for (const c of t.candidates) expect(c.meetsGoals).toBe(meetsGoals(c, t.hpaCpu.sloViolationMinutes, DEFAULT_GOALS));
  }, 30_000);

  test('it reads only the tuning days: whatever comes after them changes nothing', async () => {
    const changed = requests.map((v, i) => (i >= 3 * DAY ? v * 7 : v));
    const tune = (r: number[]) => tunePlanner({ trace: { ...trace, requests: r }, from: DAY, to: 3 * DAY, params: SIM_DEFAULTS, amadeus: { forecaster: mean10(), headroom: 0, ...fixed }, grid, goals: DEFAULT_GOALS });
    expect(await tune(changed)).toEqual(await tune(requests));
  }, 30_000);

  test('simulate --tune: the span is simulated with the chosen setting, exactly as if it had been given', async () => {
    const base = { name: 'bursty', trace, split: 0.75, params: SIM_DEFAULTS, policies: ['hpa-cpu', 'amadeus'] as const };
    const tuned = await simulate({
      ...base,
      amadeus: { forecaster: mean10(), ...fixed, headroom: 0.1, quantile: '0.9', describe: { forecaster: 'mean10' }, tune: { minutes: 2 * DAY, forecaster: mean10(), grid, goals: DEFAULT_GOALS } },
    });
    const t = tuned.tuning!;
    expect(t.minutes).toBe(2 * DAY);
    expect(tuned.amadeus).toEqual({ forecaster: 'mean10', quantile: t.chosen.quantile, headroom: t.chosen.headroom, noiseMargin: t.chosen.noiseMargin, surgeNoiseMargin: t.chosen.noiseMargin, tuned: true });
    const q = plannerQuantile(t.chosen.quantile);
    const direct = await simulate({ ...base, amadeus: { forecaster: mean10(), ...fixed, headroom: t.chosen.headroom, quantile: q, noiseMargin: t.chosen.noiseMargin, describe: {} } });
    expect(tuned.policies).toEqual(direct.policies);
    expect(direct.tuning).toBeNull();
  }, 30_000);

  test('tuning days the trace does not have are an error', async () => {
    await expect(
      simulate({
        name: 'bursty',
        trace,
        split: 0.75,
        params: SIM_DEFAULTS,
        policies: ['amadeus'],
        amadeus: { forecaster: mean10(), ...fixed, headroom: 0.1, describe: {}, tune: { minutes: 4 * DAY, forecaster: mean10(), grid, goals: DEFAULT_GOALS } },
      }),
    ).rejects.toThrow(/tuning needs 5760 minutes before the simulated span; the trace has 4320/);
  });
});
