import { isSurging, loadLevel, planSignals, rampProjection, recurringPeak, SIGNAL_DEFAULTS, signalHistoryMinutes, surgeOnset } from './signals.js';
import { makePlan } from './plan.js';

const DAY = 1440;
/** A flat load with Poisson-like noise scale α = 1 (σ ≈ 0.89·√level per minute). */
const flat = (minutes: number, level: number): (number | null)[] => new Array<number | null>(minutes).fill(level);

describe('rampProjection', () => {
  test('a surge that builds over minutes is projected over the horizon while it builds', () => {
    // 100/min, then +40 a minute for the last four minutes: 140, 180, 220, 260.
    const v = [...flat(60, 100), 140, 180, 220, 260];
    const p = rampProjection(v, 3, 1)!;
    // The ramp: recent = (220 + 260) / 2 = 240; earlier = minutes t-5..t-3 = (100 + 100 + 140) / 3;
    // their centres are 3.5 minutes apart.
    const ramp = 240 + ((240 - 340 / 3) / 3.5) * (3 + 0.5);
    // The step: the latest minute, 260, against minutes t-4..t-2 = (100 + 140 + 180) / 3, 3 minutes apart:
    // centred on now, it reads the ramp's true slope (40/min) where the two-minute mean lags it.
    const step = 260 + ((260 - 140) / 3) * (3 + 0.5);
    expect(step).toBeGreaterThan(ramp);
    expect(p).toBeCloseTo(step, 6);
    // Ahead of the load: pods ordered now are ready when the ramp has gone on (380 at t+3).
    expect(p).toBeGreaterThanOrEqual(380);
  });

  test('a surge that builds in two minutes: its first minute already orders what the second brings', () => {
    // 100/min, then the surge's first minute at 200 (it peaks at 300 the next minute).
    const v = [...flat(60, 100), 200];
    const p = rampProjection(v, 3, 1)!;
    // The two-minute mean (150) sees half the rise: its projection (150 + 50/3.5·3.5 = 200) is below
    // the coming peak; the latest minute alone projects 200 + 100/3·3.5.
    expect(p).toBeCloseTo(200 + (100 / 3) * 3.5, 6);
    expect(p).toBeGreaterThan(300);
  });

  test('the step only fires beyond noise, and never on a minute with no observation', () => {
    // One minute 40 above a level of 400 with α = 1: σ ≈ 0.89·20·1.15 ≈ 20.5, 4σ ≈ 82.
    expect(rampProjection([...flat(60, 400), 440], 3, 1)).toBeNull();
    expect(rampProjection([...flat(60, 400), 500], 3, 1)).not.toBeNull();
    // The latest minute not observed: the two-minute mean (of the one observed minute) decides alone.
    const gap = rampProjection([...flat(60, 100), 300, null], 3, 1);
    expect(gap).toBeCloseTo(300 + ((300 - 100) / 3.5) * 3.5, 6);
  });

  test('noise is not a ramp: a rise within z standard deviations projects nothing', () => {
    // A rise of 20 on a level of 400 with α = 1: σ of the difference ≈ 0.89·20·0.91 ≈ 16, z·σ ≈ 49.
    expect(rampProjection([...flat(60, 400), 410, 420], 3, 1)).toBeNull();
    // The same rise on a smooth series (small α) is a ramp.
    expect(rampProjection([...flat(60, 400), 410, 420], 3, 0.05)).not.toBeNull();
  });

  test('falling or flat load, no noise scale or too short a history: no projection', () => {
    expect(rampProjection([...flat(60, 300), 250, 200, 150], 3, 1)).toBeNull();
    expect(rampProjection(flat(60, 300), 3, 1)).toBeNull();
    expect(rampProjection([...flat(60, 100), 200, 300], 3, null)).toBeNull();
    expect(rampProjection([1, 2, 3], 3, 1)).toBeNull();
  });

  test('the projection is capped: the ramp at maxFactor × its recent level, the step at maxFactor × the level it rose from', () => {
    // The ramp's recent level is 75 (cap 300); the step rose from minutes t-4..t-2 = (1 + 1 + 50) / 3.
    const v = [...flat(60, 1), 1, 1, 1, 50, 100];
    expect(rampProjection(v, 20, 0.1)).toBeCloseTo(75 * SIGNAL_DEFAULTS.ramp.maxFactor, 6);
    // A 10× jump in one minute: the step (100 + 30 × 3.5) is cut to 4 × 10, so the ramp's 55 + 45 decides.
    const w = [...flat(60, 10), 100];
    expect(rampProjection(w, 3, 0.1)).toBeCloseTo(100, 6);
  });

  test('load back after an outage (zeros) is no step to carry on: only the ramp projects it', () => {
    // NASA's one such minute: 0, 0, 0, 0, 84, 108 — the ramp's 96 + 96 = 192; the step's cap is 4 × 0.
    const v = [...flat(60, 50), 0, 0, 0, 0, 84, 108];
    expect(rampProjection(v, 3, 2.5)).toBeCloseTo(96 + (96 / 3.5) * 3.5, 6);
  });

  test('reads only values[0, n): a simulation passes the whole trace without the future', () => {
    const v = [...flat(60, 100), 140, 180, 220, 260, 9999, 9999];
    expect(rampProjection(v, 3, 1, v.length - 2)).toBeCloseTo(rampProjection(v.slice(0, -2), 3, 1)!, 12);
  });
});

/** `days` days at `level`, with a jump to `size` × level at minute-of-day `at` for `length` minutes on the days `on` selects. */
function daysWithEvent(days: number, level: number, at: number, length: number, size: number, on: (day: number) => boolean): (number | null)[] {
  const v: (number | null)[] = [];
  for (let d = 0; d < days; d++) for (let m = 0; m < DAY; m++) v.push(on(d) && m >= at && m < at + length ? level * size : level);
  return v;
}

describe('recurringPeak', () => {
  const noon = 12 * 60;
  test('a jump that happened at this time on recent days is provisioned for before it starts', () => {
    // A 2.5× sale at 12:00 on every one of the last 7 days; now is 11:58 on day 8, before today's.
    const v = daysWithEvent(8, 100, noon, 20, 2.5, () => true).slice(0, 7 * DAY + noon - 1);
    expect(v[v.length - 1]).toBe(100); // nothing has happened yet today
    expect(recurringPeak(v, 3, 1)).toBeCloseTo(250, 6);
    // And makePlan plans for it, saying why.
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: 100, forecast: { model: 'm', values: [100, 100, 100] }, signals: planSignals(v, 3, 1, new Set(['recurring'])) });
    expect(plan).toMatchObject({ value: 250, reason: 'recurring' });
  });

  test('weekday-only events recur too (five of seven days)', () => {
    const weekday = (d: number) => d % 7 < 5;
    // Day 7 is a weekday again (d % 7 = 0).
    const v = daysWithEvent(8, 100, noon, 20, 2.5, weekday).slice(0, 7 * DAY + noon - 1);
    expect(recurringPeak(v, 3, 1)).toBeCloseTo(250, 6);
  });

  test('a one-off jump is not recurring, nor is a small one, nor is noise on a quiet workload', () => {
    const once = daysWithEvent(8, 100, noon, 20, 2.5, (d) => d === 6).slice(0, 7 * DAY + noon - 1);
    expect(recurringPeak(once, 3, 1)).toBeNull();
    const small = daysWithEvent(8, 100, noon, 20, 1.3, () => true).slice(0, 7 * DAY + noon - 1);
    expect(recurringPeak(small, 3, 1)).toBeNull();
    // 2 → 6 requests a minute is 3×, but within z·α·√level of a Poisson-like level of 2.
    const quiet = daysWithEvent(8, 2, noon, 20, 3, () => true).slice(0, 7 * DAY + noon - 1);
    expect(recurringPeak(quiet, 3, 1.13)).toBeNull();
  });

  test('scales with today: the recurring ratio times today\'s level', () => {
    const v = daysWithEvent(8, 100, noon, 20, 2, () => true).slice(0, 7 * DAY + noon - 1);
    for (let i = v.length - 30; i < v.length; i++) v[i] = 300; // today busier
    expect(recurringPeak(v, 3, 1)).toBeCloseTo(600, 6);
  });

  test('signalHistoryMinutes covers the days the guard looks back', () => {
    expect(signalHistoryMinutes(3, new Set(['recurring']))).toBeGreaterThanOrEqual(SIGNAL_DEFAULTS.recurring.days * DAY + SIGNAL_DEFAULTS.recurring.levelMinutes);
    expect(signalHistoryMinutes(3, new Set(['ramp', 'surge']))).toBe(SIGNAL_DEFAULTS.surge.trailingMinutes);
  });
});

describe('isSurging and the surge margin', () => {
  test('the last minutes well above the last hour is a surge', () => {
    expect(isSurging([...flat(55, 100), 150, 160, 170, 180, 190])).toBe(true);
    expect(isSurging([...flat(55, 100), 101, 99, 102, 98, 100])).toBe(false);
  });

  test('while surging the plan adds the surge margin instead of the usual one', () => {
    const v = [...flat(55, 100), 150, 160, 170, 180, 190];
    const input = { mode: 'predictive' as const, headroom: 0, activationValue: 0, observed: 190, forecast: null, noise: 1, noiseMargin: 0.5, surgeNoiseMargin: 1 };
    const surging = makePlan({ ...input, signals: planSignals(v, 3, 1, new Set(['surge'])) });
    expect(surging.surging).toBe(true);
    expect(surging.noiseMargin).toBeCloseTo(Math.sqrt(190), 9);
    const calm = makePlan({ ...input, signals: planSignals(v, 3, 1, new Set()) });
    expect(calm.noiseMargin).toBeCloseTo(0.5 * Math.sqrt(190), 9);
  });

  test("while surging the base holds at the surge's level, the mean of its last 3 minutes, through a quiet minute", () => {
    // An hour at 100, then a surge: 300, 320, and a minute of noise at 180; the forecast still catching up at 150.
    const v = [...flat(57, 100), 300, 320, 180];
    const signals = planSignals(v, 3, 1, new Set(['surge']));
    expect(signals).toMatchObject({ surging: true, surgeLevel: (300 + 320 + 180) / 3 });
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: 180, forecast: { model: 'm', values: [150, 150, 150] }, signals });
    expect(plan).toMatchObject({ reason: 'surge', value: (300 + 320 + 180) / 3, surging: true });
    // Not surging (or the signal off): no hold.
    expect(planSignals([...flat(57, 100), 101, 99, 100], 3, 1, new Set(['surge']))).toMatchObject({ surging: false, surgeLevel: null });
    expect(planSignals(v, 3, 1, new Set(['ramp']))).toMatchObject({ surging: false, surgeLevel: null });
    // A level without the surging flag (a hand-made input) raises nothing; above the level, the forecast wins.
    expect(makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: 180, forecast: { model: 'm', values: [150] }, signals: { ramp: null, recurring: null, surging: false, surgeLevel: 400 } })).toMatchObject({ reason: 'observed', value: 180 });
    expect(makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: 180, forecast: { model: 'm', values: [350] }, signals })).toMatchObject({ reason: 'forecast', value: 350 });
  });
});

describe('surgeOnset (the `onset` signal): a surge found while it builds, on noisy traffic', () => {
  // α 1.5 at 400/min: one minute's noise σ ≈ 0.886 × 1.5 × 20 ≈ 26.6 (±7%); the same zig-zag of
  // noise (±1 σ) on every minute, so the cases are exact.
  const alpha = 1.5;
  const sigma = (Math.sqrt(Math.PI) / 2) * alpha * Math.sqrt(400);
  const noisy = (minutes: number, level: (i: number) => number) => Array.from({ length: minutes }, (_, i) => level(i) + (i % 2 === 0 ? sigma : -sigma));
  const c = SIGNAL_DEFAULTS.onset;
  const onlyOnset = new Set(['onset'] as const);

  test('a surge building slowly (+5% a minute) is found in its seventh minute, where the ramp never fires and the five-minute test fires at the ninth; provisioned beyond what it has shown', () => {
    const before = noisy(60, () => 400);
    const minute = (m: number) => [...before, ...noisy(m, (i) => 400 * (1 + 0.05 * (i + 1)))];
    expect(surgeOnset(minute(6), alpha)).toBeNull();
    const seventh = minute(7);
    const onset = surgeOnset(seventh, alpha)!;
    // The level before is the median of the zig-zag, 400 + σ; the surge's level the mean of its last three minutes.
    const level = (seventh.at(-1)! + seventh.at(-2)! + seventh.at(-3)!) / 3;
    const median = 400 + sigma;
    expect(onset).toBeCloseTo(median + c.growth * (level - median), 6);
    expect(onset).toBeGreaterThan(level);
    for (let m = 1; m <= 12; m++) expect(rampProjection(minute(m), 3, alpha)).toBeNull();
    expect(isSurging(minute(8))).toBe(false);
    expect(isSurging(minute(9))).toBe(true);
    // As a signal: only when enabled; the plan takes it (reason onset) and counts it as a surge (the surge margin).
    expect(planSignals(seventh, 3, alpha, onlyOnset)).toMatchObject({ onset, surging: false });
    expect(planSignals(seventh, 3, alpha, new Set(['ramp', 'recurring', 'surge']))).toMatchObject({ onset: null });
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: seventh.at(-1)!, forecast: { model: 'm', values: [400, 400, 400] }, noise: alpha, noiseMargin: 0.5, surgeNoiseMargin: 1, signals: planSignals(seventh, 3, alpha, onlyOnset) });
    expect(plan).toMatchObject({ reason: 'onset', surging: true });
    expect(plan.noiseMargin).toBeCloseTo(alpha * Math.sqrt(onset), 9);
    expect(plan.value).toBeCloseTo(onset + alpha * Math.sqrt(onset), 9);
  });

  test('noise alone, a single burst minute, or a small lasting shift does not fire it', () => {
    expect(surgeOnset(noisy(60, () => 400), alpha)).toBeNull();
    const burst = noisy(60, () => 400);
    burst[55] = 400 + 4 * sigma;
    expect(surgeOnset(burst, alpha)).toBeNull();
    // +1 σ for the last ten minutes: each adds ±1 − 1.25 < 0.
    expect(surgeOnset([...noisy(50, () => 400), ...noisy(10, () => 400 + sigma)], alpha)).toBeNull();
    // +3 σ for five minutes is not enough against the zig-zag's median (400 + σ); +4 σ is.
    expect(surgeOnset([...noisy(55, () => 400), ...noisy(5, () => 400 + 3 * sigma)], alpha)).toBeNull();
    expect(surgeOnset([...noisy(55, () => 400), ...noisy(5, () => 400 + 4 * sigma)], alpha)).not.toBeNull();
  });

  test('no noise scale, no level before (too short a history, or nothing but zeros): nothing; unobserved minutes are skipped', () => {
    const surge = [...noisy(50, () => 400), ...noisy(10, () => 800)];
    expect(surgeOnset(surge, null)).toBeNull();
    expect(surgeOnset(surge, 0)).toBeNull();
    expect(surgeOnset(surge.slice(-c.minutes), alpha)).toBeNull();
    expect(surgeOnset([...flat(50, 0), ...flat(10, 50)], alpha)).toBeNull();
    const gaps: (number | null)[] = [...surge];
    gaps[55] = null;
    expect(surgeOnset(gaps, alpha)).not.toBeNull();
    expect(signalHistoryMinutes(3, onlyOnset)).toBeGreaterThanOrEqual(c.minutes + c.beforeMinutes);
  });
});

describe('loadLevel (the `level` signal): standing capacity between bursts', () => {
  const c = SIGNAL_DEFAULTS.level;
  const onlyLevel = new Set(['level'] as const);
  /** The scatter the floor adds: spread × √(Σ r² ÷ (k − 2)). */
  const scatter = (residuals: number[]) => c.spread * Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / (residuals.length - 2));

  test('a flat load with short bursts: the level plus a quarter of its scatter, above the quiet minute now', () => {
    // 100/min with one-minute bursts to 250, placed symmetrically in the last half hour (so the line
    // is flat at the window's mean); now is a quiet minute.
    const window = Array.from({ length: c.minutes }, (_, o) => ([2, 14, 15, 27].includes(o) ? 250 : 100));
    const v = [...flat(30, 100), ...window];
    const level = loadLevel(v)!;
    const mean = window.reduce((a, b) => a + b, 0) / window.length;
    expect(mean).toBe(120);
    expect(level).toBeCloseTo(mean + scatter(window.map((x) => x - mean)), 9);
    expect(level).toBeGreaterThan(v.at(-1)!);
    // The plan holds it between the bursts (reason level), where the observed minute alone would not.
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: v.at(-1)!, forecast: { model: 'm', values: [100, 100, 100] }, signals: planSignals(v, 3, 1, onlyLevel) });
    expect(plan).toMatchObject({ reason: 'level', value: level });
  });

  test('a steady decline: the line read now, not the mean of the half hour, so the pods of an hour ago are let go', () => {
    // 400 falling by 5 a minute: exactly on a line, so no scatter; the mean of the half hour is 72.5 above now.
    const v = Array.from({ length: 60 }, (_, i) => 400 - 5 * i);
    expect(loadLevel(v)).toBeCloseTo(v.at(-1)!, 9);
    const mean = v.slice(-c.minutes).reduce((a, b) => a + b, 0) / c.minutes;
    expect(mean - v.at(-1)!).toBeCloseTo(72.5, 9);
    // A rise on a line is read now too: the floor is the current load, which the plan has anyway.
    const up = Array.from({ length: 60 }, (_, i) => 100 + 5 * i);
    expect(loadLevel(up)).toBeCloseTo(up.at(-1)!, 9);
  });

  test('unobserved minutes are left out of the line; fewer than three observed minutes give no floor; never negative', () => {
    const v: (number | null)[] = Array.from({ length: 60 }, (_, i) => 200 + (i % 2 === 0 ? 10 : -10));
    const holes = [...v];
    for (let i = 40; i < 50; i++) holes[i] = null;
    const kept = holes.slice(-c.minutes).filter((x): x is number => x !== null);
    expect(kept).toHaveLength(20);
    expect(loadLevel(holes)).toBeGreaterThan(200);
    expect(loadLevel(holes)).toBeLessThan(210);
    expect(loadLevel([...new Array<null>(58).fill(null), 100, 120])).toBeNull();
    expect(loadLevel([])).toBeNull();
    // A collapse to 0 projects below zero: the floor stays at 0 plus the scatter.
    const collapse = [...flat(50, 1000), ...flat(10, 0)];
    expect(loadLevel(collapse)!).toBeGreaterThanOrEqual(0);
    expect(loadLevel(collapse)!).toBeLessThan(1000);
  });

  test('only when enabled, and it only raises the base', () => {
    const v = Array.from({ length: 60 }, (_, i) => (i % 10 === 5 ? 250 : 100));
    expect(planSignals(v, 3, 1, new Set(['ramp', 'recurring', 'surge', 'onset'])).level).toBeNull();
    expect(planSignals(v, 3, 1, onlyLevel).level).toBe(loadLevel(v));
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: 100, forecast: { model: 'm', values: [900] }, signals: planSignals(v, 3, 1, onlyLevel) });
    expect(plan).toMatchObject({ reason: 'forecast', value: 900 });
    expect(signalHistoryMinutes(3, onlyLevel)).toBeGreaterThanOrEqual(c.minutes);
  });
});

describe('signals only add capacity', () => {
  test('a signal below the forecast or observed load changes nothing', () => {
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed: 500, forecast: { model: 'm', values: [600] }, signals: { ramp: 550, recurring: 100, surging: false, surgeLevel: null } });
    expect(plan).toMatchObject({ value: 600, reason: 'forecast' });
  });

  test('shadow and reactive modes ignore them', () => {
    const signals = { ramp: 900, recurring: 900, surging: true, surgeLevel: 900 };
    expect(makePlan({ mode: 'shadow', headroom: 0, activationValue: 0, observed: 100, forecast: null, signals }).value).toBe(100);
    expect(makePlan({ mode: 'reactive', headroom: 0, activationValue: 0, observed: 100, forecast: null, signals }).value).toBe(100);
  });

  test('a ramp activates a workload before the load crosses the activation value', () => {
    const plan = makePlan({ mode: 'predictive', headroom: 0, activationValue: 50, observed: 20, forecast: null, signals: { ramp: 80, recurring: null, surging: false, surgeLevel: null } });
    expect(plan).toMatchObject({ active: true, reason: 'ramp', value: 80 });
  });
});
