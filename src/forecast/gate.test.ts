import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';
import {
  ForecastScorer,
  GATE_DEFAULTS,
  LATE_DATA_MINUTES,
  RollingErrors,
  createGatedForecaster,
  decide,
  relativeError,
  type Candidate,
  type GatedForecasterOptions,
  type ModelScore,
} from './gate.js';
import { InsufficientHistoryError, type ForecastRequest, type Forecaster } from './types.js';
import type { Forecast } from '../series/forecast.js';

const M = MINUTE_MS;

/** Minutes [end - length, end) of a load given per minute index; a forecast from it starts at minute `end`. */
function history(end: number, load: (minute: number) => number | null = () => 100, length = 30): History {
  const first = Math.max(0, end - length);
  return { start: first * M, requests: Array.from({ length: end - first }, (_, i) => load(first + i)) };
}

/** Forecasts a constant (changeable between calls), or fails with `value` when it is an Error. */
class Fake implements Forecaster {
  calls = 0;
  constructor(
    readonly name: string,
    public value: number | Error,
    private readonly minutes = 30,
  ) {}

  historyMinutes(requested: number): number {
    return Math.max(requested, this.minutes);
  }

  async forecast({ horizon }: ForecastRequest): Promise<Forecast> {
    this.calls++;
    if (this.value instanceof Error) throw this.value;
    return { model: this.name, values: new Array<number>(horizon).fill(this.value), note: `${this.name} note` };
  }
}

const gate = (primary: Forecaster, baselines: Forecaster[], opts: Partial<GatedForecasterOptions> = {}) =>
  createGatedForecaster({ name: 'gate', primary, baselines, clock: () => 1234, ...opts });

describe('RollingErrors', () => {
  it('keeps the most recent `capacity` errors with the loads they were scored against', () => {
    const w = new RollingErrors(3);
    expect([w.mae, w.meanObserved, w.count]).toEqual([null, null, 0]);
    w.push(1, 10);
    w.push(2, 20);
    w.push(3, 30);
    expect([w.mae, w.meanObserved, w.count]).toEqual([2, 20, 3]);
    w.push(10, 100); // evicts (1, 10)
    expect([w.mae, w.meanObserved, w.count]).toEqual([5, 50, 3]);
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new RollingErrors(0)).toThrow(RangeError);
  });
});

describe('relativeError', () => {
  it('is MAE over the mean observed load; an idle workload makes any error infinite', () => {
    expect(relativeError(10, 100)).toBe(0.1);
    expect(relativeError(null, 100)).toBeNull();
    expect(relativeError(0, 0)).toBe(0);
    expect(relativeError(1, 0)).toBe(Infinity);
  });
});

describe('ForecastScorer', () => {
  it('scores each target minute once, as it comes due and is observed', () => {
    const s = new ForecastScorer(100);
    // Made from minutes 0..1: values for minutes 2, 3, 4.
    s.record('a', 2 * M, [12, 15, 20]);
    expect(s.stats('a')).toMatchObject({ scored: 0, mae: null, pending: 1 });

    // Minute 2 due: |12 - 11| = 1.
    expect(s.score({ start: 0, requests: [10, 10, 11] })).toBe(1);
    expect(s.stats('a')).toMatchObject({ scored: 1, mae: 1, meanObserved: 11 });

    // The same history again scores nothing.
    expect(s.score({ start: 0, requests: [10, 10, 11] })).toBe(0);
    expect(s.stats('a').scored).toBe(1);

    // Minutes 3 and 4 due (the window slid by one); 3 is unobserved so only 4 scores: |20 - 25| = 5.
    expect(s.score({ start: M, requests: [10, 11, null, 25] })).toBe(1);
    expect(s.stats('a')).toMatchObject({ scored: 2, mae: 3, meanObserved: 18 });

    // Minute 3 arrives late (14): |15 - 14| = 1, and the forecast is now fully scored and dropped.
    expect(s.score({ start: M, requests: [10, 11, 14, 25, 30] })).toBe(1);
    const done = s.stats('a');
    expect(done).toMatchObject({ scored: 3, mae: 7 / 3, meanObserved: 50 / 3, pending: 0 });
    expect(done.relativeError).toBeCloseTo(7 / 50, 12);
  });

  it('keeps only the latest forecast per model and origin minute', () => {
    const s = new ForecastScorer(100);
    s.record('a', 2 * M, [500]); // refresh at :00
    s.record('a', 2 * M, [12]); // refresh at :30, same minute, same history
    s.record('b', 2 * M, [8]);
    expect(s.stats('a').pending).toBe(1);
    s.score({ start: 0, requests: [10, 10, 10] });
    expect(s.stats('a')).toMatchObject({ scored: 1, mae: 2 });
    expect(s.stats('b')).toMatchObject({ scored: 1, mae: 2 });
  });

  it('never scores an unobserved minute, and gives it up after LATE_DATA_MINUTES', () => {
    const s = new ForecastScorer(100);
    s.record('a', 2 * M, [5, 5]);
    const gap = (end: number) => history(end, (m) => (m === 2 || m === 3 ? null : 5));
    s.score(gap(4));
    expect(s.stats('a')).toMatchObject({ scored: 0, pending: 1 });
    s.score(gap(3 + LATE_DATA_MINUTES)); // minute 3 is exactly LATE_DATA_MINUTES overdue: still waiting
    expect(s.stats('a').pending).toBe(1);
    s.score(gap(4 + LATE_DATA_MINUTES));
    expect(s.stats('a')).toMatchObject({ scored: 0, mae: null, pending: 0 });
  });

  it('drops forecasts from a later point when the history goes backwards (a replay restarted)', () => {
    const s = new ForecastScorer(100);
    s.record('a', 50 * M, [1, 1]);
    s.score(history(10));
    expect(s.stats('a')).toMatchObject({ scored: 0, pending: 0 });
  });

  it('does not score target minutes that fell before the history window', () => {
    const s = new ForecastScorer(100);
    s.record('a', 2 * M, [1, 1, 1]);
    s.score({ start: 3 * M, requests: [2, 2] }); // minute 2 is out of view; 3 and 4 score
    expect(s.stats('a')).toMatchObject({ scored: 2, mae: 1 });
  });
});

describe('decide', () => {
  const score = (mae: number | null, scored: number, meanObserved = 100): ModelScore => ({
    mae,
    scored,
    meanObserved: mae === null ? null : meanObserved,
    relativeError: relativeError(mae, mae === null ? null : meanObserved),
    pending: 0,
  });
  const c = (name: string, mae: number | null, scored: number, ok = true): Candidate => ({ name, ok, score: score(mae, scored) });
  const rule = { minScored: 10, maxRelativeError: 0.5 };

  it.each<[string, Candidate, Candidate[], ReturnType<typeof decide>]>([
    ['primary better and under the threshold', c('p', 5, 10), [c('b', 6, 10)], { model: 'p', reason: 'primary-best' }],
    ['a tie goes to the baseline', c('p', 6, 10), [c('b', 6, 10)], { model: 'b', reason: 'primary-worse-than-baseline' }],
    ['best of several baselines', c('p', 9, 10), [c('b1', 8, 10), c('b2', 7, 10)], { model: 'b2', reason: 'primary-worse-than-baseline' }],
    ['unproven baselines are not compared', c('p', 9, 10), [c('b', 1, 9)], { model: 'p', reason: 'primary-best' }],
    ['above the threshold', c('p', 60, 10), [c('b', 70, 10)], { model: 'b', reason: 'primary-error-above-threshold' }],
    ['above the threshold, only unproven baselines', c('p', 60, 10), [c('b', null, 0)], { model: 'b', reason: 'primary-error-above-threshold' }],
    ['above the threshold, no baseline this round', c('p', 60, 10), [c('b', 1, 10, false)], { model: 'p', reason: 'no-baseline' }],
    ['warming up, nothing proven', c('p', null, 0), [c('b', 3, 9)], { model: 'p', reason: 'warming-up' }],
    ['warming up, a baseline proven good', c('p', 1, 9), [c('b', 3, 10)], { model: 'b', reason: 'warming-up' }],
    ['warming up, the proven baseline is above the threshold', c('p', 1, 9), [c('b', 60, 10)], { model: 'p', reason: 'warming-up' }],
    ['primary failed: best proven baseline', c('p', 1, 10, false), [c('b1', null, 0), c('b2', 9, 10)], { model: 'b2', reason: 'primary-failed' }],
    ['primary failed: first baseline when none is scored', c('p', 1, 10, false), [c('b1', null, 0), c('b2', null, 0)], { model: 'b1', reason: 'primary-failed' }],
    ['primary failed: a failed baseline is skipped', c('p', 1, 10, false), [c('b1', 1, 10, false), c('b2', 9, 10)], { model: 'b2', reason: 'primary-failed' }],
    ['everything failed', c('p', 1, 10, false), [c('b', 1, 10, false)], null],
  ])('%s', (_what, primary, baselines, expected) => {
    expect(decide(primary, baselines, rule)).toEqual(expected);
  });
});

describe('createGatedForecaster', () => {
  it('switches to the baseline when the primary gets worse, and back when it improves', async () => {
    const p = new Fake('P', 100);
    const b = new Fake('B', 90); // load is 100: B is always 10 off
    const g = gate(p, [b], { window: 4, minScored: 2 });
    // Horizon 1: each minute the history advances scores the forecast made one minute earlier.
    // P forecasts 150 from minutes 4 and 5 (errors 50 at minutes 4 and 5), 100 otherwise.
    const expected: [string, string, Record<string, number>][] = [
      ['P', 'warming-up', {}], // end 1: nothing due yet
      ['P', 'warming-up', { P: 0, B: 10 }], // one score each
      ['P', 'primary-best', { P: 0, B: 10 }],
      ['P', 'primary-best', { P: 0, B: 10 }],
      ['B', 'primary-worse-than-baseline', { P: 12.5, B: 10 }], // end 5: [0, 0, 0, 50]
      ['B', 'primary-worse-than-baseline', { P: 25, B: 10 }], // [0, 0, 50, 50]
      ['B', 'primary-worse-than-baseline', { P: 25, B: 10 }], // [0, 50, 50, 0]
      ['B', 'primary-worse-than-baseline', { P: 25, B: 10 }], // [50, 50, 0, 0]
      ['B', 'primary-worse-than-baseline', { P: 12.5, B: 10 }], // [50, 0, 0, 0]
      ['P', 'primary-best', { P: 0, B: 10 }], // the bad minutes have left the window
    ];
    for (let end = 1; end <= expected.length; end++) {
      p.value = end === 4 || end === 5 ? 150 : 100;
      const f = await g.forecast({ history: history(end), horizon: 1 });
      const [model, reason, mae] = expected[end - 1];
      expect({ end, model: f.model, reason: f.gate?.reason, mae: f.gate?.mae }).toEqual({ end, model, reason, mae });
      expect(f.values).toEqual([model === 'P' ? p.value : 90]);
    }
  });

  it('answers overlapping calls exactly as calls made one after the other (a batch of minutes, as the simulator asks)', async () => {
    const load = (m: number) => 100 + 40 * Math.sin(m / 3) + (m % 7) * 5;
    const scaled = (name: string, k: number): Forecaster => ({
      name,
      historyMinutes: (r) => r,
      forecast: async ({ history: h, horizon }) => ({ model: name, values: new Array<number>(horizon).fill((h.requests.at(-1) ?? 0) * k) }),
    });
    const make = () => gate(scaled('P', 1.3), [scaled('B', 1), scaled('C', 0.9)], { window: 20, minScored: 5 });
    const request = (end: number) => ({ history: history(end, load), horizon: 3 });
    const summary = (f: Forecast) => ({ model: f.model, reason: f.gate?.reason, mae: f.gate?.mae });
    const one = make();
    const sequential = [];
    for (let end = 1; end <= 40; end++) sequential.push(summary(await one.forecast(request(end))));
    const batched = make();
    const together = [];
    for (let end = 1; end <= 40; end += 10) together.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => batched.forecast(request(end + k))))).map(summary));
    expect(together).toEqual(sequential);
    expect(new Set(sequential.map((s) => s.model)).size).toBeGreaterThan(1); // the rule had choices to make
  });

  it('returns the chosen forecast whole, with the gate decision added', async () => {
    const g = gate(new Fake('P', 100), [new Fake('B', 90)]);
    const f = await g.forecast({ history: history(5), horizon: 3 });
    expect(f).toEqual({ model: 'P', values: [100, 100, 100], note: 'P note', gate: { reason: 'warming-up', mae: {}, relativeError: {} } });
  });

  it('applies the relative-error threshold against the mean observed load', async () => {
    const run = async (load: number, maxRelativeError?: number) => {
      // P is 60 off, B is 70 off: P beats B, so only the threshold can reject it.
      const g = gate(new Fake('P', load + 60), [new Fake('B', load - 70)], { minScored: 2, maxRelativeError });
      let f: Forecast | undefined;
      for (let end = 1; end <= 4; end++) f = await g.forecast({ history: history(end, () => load), horizon: 1 });
      return [f?.model, f?.gate?.reason];
    };
    expect(await run(100)).toEqual(['B', 'primary-error-above-threshold']); // 60 / 100 = 0.6 > 0.5
    expect(await run(100, 0.7)).toEqual(['P', 'primary-best']);
    expect(await run(200)).toEqual(['P', 'primary-best']); // 60 / 200 = 0.3
  });

  describe('warming up', () => {
    it('uses the pre-trained primary until it has minScored errors, even if it turns out worse', async () => {
      const g = gate(new Fake('P', 150), [new Fake('B', 100)], { minScored: 3 });
      const reasons: string[] = [];
      for (let end = 1; end <= 4; end++) {
        const f = await g.forecast({ history: history(end), horizon: 1 });
        reasons.push(`${f.model}:${f.gate?.reason}`);
      }
      expect(reasons).toEqual(['P:warming-up', 'P:warming-up', 'P:warming-up', 'B:primary-worse-than-baseline']);
    });

    it('keeps a baseline that proved itself while the primary was failing, until the primary has a record', async () => {
      const p = new Fake('P', new Error('model not loaded yet'));
      const g = gate(p, [new Fake('B', 95)], { minScored: 3 });
      const got: string[] = [];
      for (let end = 1; end <= 9; end++) {
        if (end === 6) p.value = 100;
        const f = await g.forecast({ history: history(end), horizon: 1 });
        got.push(`${f.model}:${f.gate?.reason}`);
      }
      expect(got).toEqual([
        ...Array<string>(5).fill('B:primary-failed'),
        'B:warming-up', // P has 0, 1, 2 scored errors; B has a record of 5% error
        'B:warming-up',
        'B:warming-up',
        'P:primary-best', // P: 3 errors of 0 beat B's 5
      ]);
    });

    it('does not let a proven but inaccurate baseline displace the warming primary', async () => {
      const p = new Fake('P', new Error('not loaded'));
      const g = gate(p, [new Fake('B', 40)], { minScored: 3 }); // 60% error
      for (let end = 1; end <= 5; end++) await g.forecast({ history: history(end), horizon: 1 });
      p.value = 100;
      const f = await g.forecast({ history: history(6), horizon: 1 });
      expect([f.model, f.gate?.reason]).toEqual(['P', 'warming-up']);
    });
  });

  describe('failures', () => {
    it('falls back to the best baseline with reason primary-failed', async () => {
      const p = new Fake('P', 100);
      const g = gate(p, [new Fake('B1', 80), new Fake('B2', 95)], { minScored: 2 });
      for (let end = 1; end <= 3; end++) await g.forecast({ history: history(end), horizon: 1 });
      p.value = new Error('boom');
      const f = await g.forecast({ history: history(4), horizon: 2 });
      expect(f).toMatchObject({ model: 'B2', values: [95, 95], gate: { reason: 'primary-failed', mae: { P: 0, B1: 20, B2: 5 } } });
    });

    it('treats an unusable forecast (wrong length, NaN, negative) as a failure', async () => {
      const bad = (values: number[]): Forecaster => ({
        name: 'P',
        historyMinutes: (n) => n,
        forecast: async () => ({ model: 'P', values }),
      });
      for (const values of [[1], [NaN, 1], [-1, 1]]) {
        const f = await gate(bad(values), [new Fake('B', 5)]).forecast({ history: history(3), horizon: 2 });
        expect([f.model, f.gate?.reason]).toEqual(['B', 'primary-failed']);
      }
    });

    it('survives a primary that throws synchronously', async () => {
      const p: Forecaster = {
        name: 'P',
        historyMinutes: (n) => n,
        forecast: () => {
          throw new Error('sync');
        },
      };
      const f = await gate(p, [new Fake('B', 5)]).forecast({ history: history(3), horizon: 1 });
      expect(f.gate?.reason).toBe('primary-failed');
    });

    it('rejects only when every model fails, keeping InsufficientHistoryError when that is the cause', async () => {
      const g = gate(new Fake('P', new Error('p down')), [new Fake('B', new Error('b down'))]);
      await expect(g.forecast({ history: history(3), horizon: 1 })).rejects.toThrow(/every model failed \(P: p down; B: b down\)/);
      const short = gate(new Fake('P', new InsufficientHistoryError('no data')), [new Fake('B', new InsufficientHistoryError('no data'))]);
      await expect(short.forecast({ history: history(3), horizon: 1 })).rejects.toThrow(InsufficientHistoryError);
      await expect(gate(new Fake('P', new Error('x')), []).forecast({ history: history(3), horizon: 1 })).rejects.toThrow(/every model failed/);
    });
  });

  it('does not score twice when the same history comes again or two forecasts share a minute', async () => {
    const p = new Fake('P', 500);
    const g = gate(p, [new Fake('B', 90)]);
    await g.forecast({ history: history(1), horizon: 3 });
    p.value = 100; // the :30 refresh of the same minute: this forecast replaces the 500 one
    await g.forecast({ history: history(1), horizon: 3 });
    await g.forecast({ history: history(2), horizon: 3 });
    await g.forecast({ history: history(2), horizon: 3 });
    expect(g.snapshot().models.P).toMatchObject({ scored: 1, mae: 0 });
    await g.forecast({ history: history(3), horizon: 3 });
    // Minute 2 was forecast from minutes 1 and 2 (horizons +2 and +1): two errors, plus minute 1's one.
    expect(g.snapshot().models.P).toMatchObject({ scored: 3, mae: 0 });
    expect(g.snapshot().models.B).toMatchObject({ scored: 3, mae: 10 });
  });

  it('does not score unobserved actuals', async () => {
    const g = gate(new Fake('P', 100), [new Fake('B', 90)]);
    const load = (m: number) => (m >= 1 ? null : 100);
    for (let end = 1; end <= 4; end++) await g.forecast({ history: history(end, load), horizon: 2 });
    expect(g.snapshot().models.P).toMatchObject({ scored: 0, mae: null });
  });

  it('snapshot() reports scores and the last decision', async () => {
    const g = gate(new Fake('P', 100), [new Fake('B', 90)], { minScored: 1 });
    expect(g.snapshot()).toEqual({
      models: {
        P: { mae: null, scored: 0, meanObserved: null, relativeError: null, pending: 0 },
        B: { mae: null, scored: 0, meanObserved: null, relativeError: null, pending: 0 },
      },
      last: null,
    });
    await g.forecast({ history: history(1), horizon: 2 });
    await g.forecast({ history: history(2), horizon: 2 });
    expect(g.snapshot()).toEqual({
      models: {
        P: { mae: 0, scored: 1, meanObserved: 100, relativeError: 0, pending: 2 },
        B: { mae: 10, scored: 1, meanObserved: 100, relativeError: 0.1, pending: 2 },
      },
      last: { model: 'P', reason: 'primary-best', at: 1234, mae: { P: 0, B: 10 } },
    });
  });

  it('asks for the longest history any of its models wants', () => {
    const g = gate(new Fake('P', 1, 60), [new Fake('B', 1, 1440)]);
    expect(g.historyMinutes(30)).toBe(1440);
    expect(g.name).toBe('gate');
  });

  it('hands each model only the history it asked for when the request says what the object asked for, so one model\'s long window does not change another\'s answer', async () => {
    const seen: Record<string, number> = {};
    const recording = (name: string, minutes: number): Forecaster => ({
      name,
      historyMinutes: (r) => Math.max(r, minutes),
      forecast: async ({ history: h, horizon }) => ((seen[name] = h.requests.length), { model: name, values: new Array<number>(horizon).fill(1) }),
    });
    const g = gate(recording('P', 7580), [recording('B', 2880), recording('C', 30)]);
    const long = { start: 0, requests: new Array<number>(g.historyMinutes(60)).fill(5) };
    await g.forecast({ history: long, horizon: 1, requested: 60 });
    expect(seen).toEqual({ P: 7580, B: 2880, C: 60 });
    // Without it (a caller that does not know), each model gets the whole history, as before.
    await g.forecast({ history: long, horizon: 1 });
    expect(seen).toEqual({ P: 7580, B: 7580, C: 7580 });
  });

  it('rejects ambiguous names and impossible options', () => {
    expect(() => gate(new Fake('P', 1), [new Fake('P', 1)])).toThrow(/distinct/);
    expect(() => gate(new Fake('P', 1), [], { window: 10, minScored: 11 })).toThrow(RangeError);
    expect(() => gate(new Fake('P', 1), [], { maxRelativeError: 0 })).toThrow(RangeError);
    expect(() => gate(new Fake('P', 1), [], { window: 0, minScored: 0 })).toThrow(RangeError);
  });

  it('close() closes every model, even when one of them throws', () => {
    const closed: string[] = [];
    const closable = (name: string, fail = false): Forecaster & { close(): void } =>
      Object.assign(new Fake(name, 1), {
        close: () => {
          closed.push(name);
          if (fail) throw new Error('close failed');
        },
      });
    gate(closable('P', true), [new Fake('B0', 1), closable('B1')]).close();
    expect(closed).toEqual(['P', 'B1']);
  });

  it('keeps memory bounded over 10,000 refreshes', async () => {
    const horizon = 10;
    const p = new Fake('P', 100);
    const g = gate(p, [new Fake('B1', 90), new Fake('B2', 110)]);
    // Every 7th minute is never observed, so some forecasts are never fully scored and must age out.
    const load = (m: number) => (m % 7 === 0 ? null : 100 + (m % 13));
    for (let refresh = 0; refresh < 10_000; refresh++) {
      const end = 60 + Math.floor(refresh / 2); // refreshes every 30 s, minutes every 60 s
      p.value = refresh % 3 === 0 ? new Error('flaky') : 100;
      await g.forecast({ history: history(end, load, 60), horizon });
      if (refresh % 500 === 499) {
        for (const [name, s] of Object.entries(g.snapshot().models)) {
          expect({ name, bounded: s.pending <= horizon + LATE_DATA_MINUTES + 1 }).toEqual({ name, bounded: true });
          expect(s.scored).toBeLessThanOrEqual(GATE_DEFAULTS.window);
        }
      }
    }
    const models = g.snapshot().models;
    expect(models.B1.scored).toBe(GATE_DEFAULTS.window); // the window filled and stayed full
    expect(models.B1.mae).toBeGreaterThan(0);
  });
});
