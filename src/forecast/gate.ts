/**
 * The live accuracy gate (design §1, "trust is earned per workload"): a Forecaster that runs a primary
 * model (the LSTM) and the baselines on every request, scores each one's past forecasts as their minutes
 * come due, and answers with the primary only while it beats the best baseline and stays under an error
 * threshold; otherwise with the best baseline, and says why in `gate`.
 *
 * Three layers, each testable alone: `RollingErrors` (a bounded error window), `ForecastScorer` (records
 * forecasts and scores them against later histories, exactly once per target minute) and `decide` (the
 * rule). `createGatedForecaster` only wires them around the models. One gate per workload: it is stateful.
 */
import { MINUTE_MS } from '../series/minute.js';
import { lastMinutes, type History } from '../series/history.js';
import { isObserved } from '../series/observed.js';
import { InsufficientHistoryError, type ForecastRequest, type Forecaster, type StatefulForecaster } from './types.js';
import type { Forecast } from '../series/forecast.js';

export const GATE_DEFAULTS = {
  /** Scored minute-errors kept per model: with a 10-minute horizon, roughly the last hour of forecasts. */
  window: 600,
  /** Scored errors the primary needs before its error is trusted either way. */
  minScored: 60,
  /** Highest MAE ÷ mean observed load at which the primary is still used. */
  maxRelativeError: 0.5,
} as const;

/**
 * How many minutes a due but unobserved minute stays scoreable. A scrape or rule evaluation that lands
 * late fills the minute on a later refresh and still counts; after that the minute is a real gap and
 * the forecast is dropped, so gaps cannot pin forecasts in memory.
 */
export const LATE_DATA_MINUTES = 5;

export type GateReason =
  | 'warming-up'
  | 'primary-best'
  | 'primary-worse-than-baseline'
  | 'primary-error-above-threshold'
  | 'primary-failed'
  /** The primary failed the rule but no baseline produced a forecast this round: it is all there is. */
  | 'no-baseline';

export interface RollingErrorsState {
  next: number;
  size: number;
  errorSum: number;
  actualSum: number;
  errors: number[];
  actuals: number[];
}

/** The most recent `capacity` absolute errors and the observed loads they were scored against. */
export class RollingErrors {
  private readonly errors: Float64Array;
  private readonly actuals: Float64Array;
  private next = 0;
  private size = 0;
  private errorSum = 0;
  private actualSum = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`error window must be a positive integer, got ${capacity}`);
    this.errors = new Float64Array(capacity);
    this.actuals = new Float64Array(capacity);
  }

  push(error: number, actual: number): void {
    if (this.size === this.capacity) {
      this.errorSum -= this.errors[this.next];
      this.actualSum -= this.actuals[this.next];
    } else {
      this.size++;
    }
    this.errors[this.next] = error;
    this.actuals[this.next] = actual;
    this.errorSum += error;
    this.actualSum += actual;
    this.next = (this.next + 1) % this.capacity;
    // Running sums drift by rounding over millions of updates: re-add exactly once per lap.
    if (this.next === 0) this.resum();
  }

  get count(): number {
    return this.size;
  }

  /** Mean absolute error over the window, null before the first score. */
  get mae(): number | null {
    return this.size === 0 ? null : Math.max(0, this.errorSum) / this.size;
  }

  /** Mean observed load over the same scored minutes, null before the first score. */
  get meanObserved(): number | null {
    return this.size === 0 ? null : this.actualSum / this.size;
  }

  /** The whole window, exactly (running sums included), for a replica to continue from. */
  toState(): RollingErrorsState {
    return { next: this.next, size: this.size, errorSum: this.errorSum, actualSum: this.actualSum, errors: Array.from(this.errors.subarray(0, this.size)), actuals: Array.from(this.actuals.subarray(0, this.size)) };
  }

  /** Replaces the window with `s` (from toState of a window of the same capacity). */
  loadState(s: RollingErrorsState): void {
    const ok = Number.isInteger(s.size) && s.size >= 0 && s.size <= this.capacity && Number.isInteger(s.next) && s.next >= 0 && s.next < this.capacity
      && s.errors.length === s.size && s.actuals.length === s.size && Number.isFinite(s.errorSum) && Number.isFinite(s.actualSum)
      && s.errors.every(Number.isFinite) && s.actuals.every(Number.isFinite);
    if (!ok) throw new Error('error window state does not fit this window');
    this.errors.fill(0);
    this.actuals.fill(0);
    this.errors.set(s.errors);
    this.actuals.set(s.actuals);
    this.next = s.next;
    this.size = s.size;
    this.errorSum = s.errorSum;
    this.actualSum = s.actualSum;
  }

  private resum(): void {
    this.errorSum = 0;
    this.actualSum = 0;
    for (let i = 0; i < this.size; i++) {
      this.errorSum += this.errors[i];
      this.actualSum += this.actuals[i];
    }
  }
}

/** MAE ÷ mean observed load: error in units of the workload's own level, comparable across workloads. */
export function relativeError(mae: number | null, meanObserved: number | null): number | null {
  if (mae === null || meanObserved === null) return null;
  if (meanObserved > 0) return mae / meanObserved;
  // An idle workload: any error at all is infinitely large relative to nothing.
  return mae === 0 ? 0 : Infinity;
}

/** One model's live record, as `snapshot()` and `decide` see it. */
export interface ModelScore {
  /** Rolling MAE over the last `window` scored minute-errors; null before the first. */
  mae: number | null;
  /** Scored minute-errors in the window (at most `window`). */
  scored: number;
  /** Mean observed load over those same minutes; null before the first. */
  meanObserved: number | null;
  /** `mae / meanObserved`; null before the first score. */
  relativeError: number | null;
  /** Recorded forecasts still waiting for minutes to come due. */
  pending: number;
}

interface PendingForecast {
  /** Epoch ms of the minute values[0] is for: the minute after the history the forecast was made from. */
  origin: number;
  values: Float64Array;
  /** 1 where values[i] has been scored: each target minute is scored at most once. */
  scored: Uint8Array;
  remaining: number;
}

/** The minute after a history's last one: where a forecast made from it starts. */
export function forecastOrigin(history: History): number {
  return history.start + history.requests.length * MINUTE_MS;
}

/**
 * Records each model's forecasts and scores them against later histories. Only the latest forecast per
 * model and origin minute is kept (a refresh comes once a minute, and batches or replays may score one origin more than once), each target minute is
 * scored once, when it is inside a history and observed; a forecast leaves as soon as it is fully scored
 * or its last minute is more than LATE_DATA_MINUTES past due, so memory stays bounded per model by
 * horizon + LATE_DATA_MINUTES + 1 forecasts plus the error window.
 */
export class ForecastScorer {
  private readonly pending = new Map<string, Map<number, PendingForecast>>();
  private readonly errors = new Map<string, RollingErrors>();

  constructor(
    readonly window: number = GATE_DEFAULTS.window,
    readonly lateMinutes: number = LATE_DATA_MINUTES,
  ) {
    // Checked here too, not only when the first model is seen, so a bad option fails at construction.
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`error window must be a positive integer, got ${window}`);
  }

  /** Keeps `values` (copied) as `model`'s forecast from `origin`, replacing one from the same minute. */
  record(model: string, origin: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.pendingOf(model).set(origin, {
      origin,
      values: Float64Array.from(values),
      scored: new Uint8Array(values.length),
      remaining: values.length,
    });
  }

  /** Scores every recorded forecast's newly due, observed minutes against `history`. Returns how many. */
  score(history: History): number {
    const end = forecastOrigin(history);
    const giveUpBefore = end - this.lateMinutes * MINUTE_MS;
    let added = 0;
    for (const [model, forecasts] of this.pending) {
      const errors = this.errorsOf(model);
      for (const [origin, f] of forecasts) {
        // A history that ends before the forecast was made means time went backwards (a replay restarted):
        // the forecast belongs to a timeline that no longer exists.
        if (origin > end) {
          forecasts.delete(origin);
          continue;
        }
        for (let i = 0; i < f.values.length; i++) {
          const minute = origin + i * MINUTE_MS;
          if (minute >= end) break; // not due yet, nor any later one
          if (f.scored[i] === 1 || minute < history.start) continue;
          const actual = history.requests[(minute - history.start) / MINUTE_MS];
          if (!isObserved(actual)) continue; // a gap is not a zero; it may still be filled late
          errors.push(Math.abs(f.values[i] - actual), actual);
          f.scored[i] = 1;
          f.remaining--;
          added++;
        }
        const lastMinute = origin + (f.values.length - 1) * MINUTE_MS;
        if (f.remaining === 0 || lastMinute < giveUpBefore) forecasts.delete(origin);
      }
    }
    return added;
  }

  stats(model: string): ModelScore {
    const errors = this.errors.get(model);
    const mae = errors?.mae ?? null;
    const meanObserved = errors?.meanObserved ?? null;
    return {
      mae,
      scored: errors?.count ?? 0,
      meanObserved,
      relativeError: relativeError(mae, meanObserved),
      pending: this.pending.get(model)?.size ?? 0,
    };
  }

  /** Everything scoring depends on, exactly: what another replica needs to score as this one does. */
  toState(): ScorerState {
    const models: ScorerState['models'] = {};
    for (const [model, errors] of this.errors) {
      const pending = [...(this.pending.get(model)?.values() ?? [])].map((f) => ({ origin: f.origin, values: Array.from(f.values), scored: Array.from(f.scored) }));
      models[model] = { errors: errors.toState(), pending };
    }
    return { window: this.window, models };
  }

  /** Replaces every model's record with `s`; throws (changing nothing) when it does not fit. */
  loadState(s: ScorerState): void {
    if (s.window !== this.window || typeof s.models !== 'object' || s.models === null) throw new Error(`scorer state for window ${s.window} does not fit window ${this.window}`);
    const errors = new Map<string, RollingErrors>();
    const pending = new Map<string, Map<number, PendingForecast>>();
    for (const [model, m] of Object.entries(s.models)) {
      const e = new RollingErrors(this.window);
      e.loadState(m.errors);
      errors.set(model, e);
      const forecasts = new Map<number, PendingForecast>();
      for (const f of m.pending) {
        if (!Number.isFinite(f.origin) || f.values.length !== f.scored.length || !f.values.every(Number.isFinite)) throw new Error(`pending forecast of ${model} is malformed`);
        const scored = Uint8Array.from(f.scored, (x) => (x ? 1 : 0));
        forecasts.set(f.origin, { origin: f.origin, values: Float64Array.from(f.values), scored, remaining: scored.length - scored.reduce((a, b) => a + b, 0) });
      }
      pending.set(model, forecasts);
    }
    this.errors.clear();
    this.pending.clear();
    for (const [k, v] of errors) this.errors.set(k, v);
    for (const [k, v] of pending) this.pending.set(k, v);
  }

  private pendingOf(model: string): Map<number, PendingForecast> {
    let forecasts = this.pending.get(model);
    if (forecasts === undefined) {
      forecasts = new Map();
      this.pending.set(model, forecasts);
      this.errorsOf(model);
    }
    return forecasts;
  }

  private errorsOf(model: string): RollingErrors {
    let errors = this.errors.get(model);
    if (errors === undefined) {
      errors = new RollingErrors(this.window);
      this.errors.set(model, errors);
    }
    return errors;
  }
}

export interface ScorerState {
  window: number;
  models: Record<string, { errors: RollingErrorsState; pending: { origin: number; values: number[]; scored: number[] }[] }>;
}

/** A model as the rule sees it this round. */
export interface Candidate {
  name: string;
  /** Whether it produced a usable forecast this round. */
  ok: boolean;
  score: ModelScore;
}

export interface GateRule {
  minScored: number;
  maxRelativeError: number;
}

export interface GateChoice {
  model: string;
  reason: GateReason;
}

/** Has enough scored errors for its MAE to mean something. */
const isProven = (c: Candidate, rule: GateRule): boolean => c.score.scored >= rule.minScored && c.score.mae !== null;

/** The lowest MAE among `candidates`, the earlier one on a tie; unscored candidates rank last, in order. */
function lowestError(candidates: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) {
    if (best === undefined || (c.score.mae ?? Infinity) < (best.score.mae ?? Infinity)) best = c;
  }
  return best;
}

/**
 * The gate's rule, pure. Returns null only when no model produced a forecast.
 *
 * - Primary failed → the best baseline (`primary-failed`).
 * - Primary warming up (fewer than `minScored` scored errors) → the primary, because it is pre-trained
 *   and scale-free and forecasts from the first hour (design §1, cold start), *unless* a baseline has
 *   already proven itself: enough scored errors and within the threshold. That happens when the primary
 *   joined late or was failing while the baselines kept scoring; a model with no live record then does
 *   not displace one with a good record (`warming-up` either way; `model` tells which).
 * - Otherwise the primary only if its MAE is strictly below the best proven baseline's (equal is not
 *   better: the simpler model wins ties) and its relative error ≤ `maxRelativeError`; else the best
 *   baseline, proven or not, with `primary-worse-than-baseline` (checked first) or
 *   `primary-error-above-threshold`. With no baseline this round, a primary above the threshold is
 *   still used, as `no-baseline`: a forecast that may only add capacity beats none.
 *
 * "Best baseline": lowest MAE among proven baselines that produced a forecast this round, else lowest
 * MAE among the others, else the first in the configured order.
 */
export function decide(primary: Candidate, baselines: readonly Candidate[], rule: GateRule): GateChoice | null {
  const available = baselines.filter((b) => b.ok);
  const proven = available.filter((b) => isProven(b, rule));
  const bestProven = lowestError(proven);
  const fallback = bestProven ?? lowestError(available);

  if (!primary.ok) return fallback ? { model: fallback.name, reason: 'primary-failed' } : null;

  if (primary.score.scored < rule.minScored || primary.score.mae === null) {
    const trusted = lowestError(proven.filter((b) => (b.score.relativeError ?? Infinity) <= rule.maxRelativeError));
    return { model: trusted?.name ?? primary.name, reason: 'warming-up' };
  }

  if (bestProven !== undefined && !(primary.score.mae < (bestProven.score.mae ?? Infinity))) {
    return { model: bestProven.name, reason: 'primary-worse-than-baseline' };
  }
  if (!((primary.score.relativeError ?? Infinity) <= rule.maxRelativeError)) {
    return fallback ? { model: fallback.name, reason: 'primary-error-above-threshold' } : { model: primary.name, reason: 'no-baseline' };
  }
  return { model: primary.name, reason: 'primary-best' };
}

export interface GatedForecasterOptions {
  /** The gate's own name (logs, `Forecaster.name`). */
  name: string;
  primary: Forecaster;
  /** Models the primary must beat, in order of preference when none has a record yet. */
  baselines: Forecaster[];
  /** Scored minute-errors kept per model (default 600). */
  window?: number;
  /** Scored errors the primary needs before it is judged (default 60). */
  minScored?: number;
  /** Highest relative error (MAE ÷ mean observed load) at which the primary is used (default 0.5). */
  maxRelativeError?: number;
  /**
   * Wall clock for the decision timestamp only. Scoring runs on the histories' own minutes, never on
   * this clock, because a replay source may run in accelerated time.
   */
  clock?: () => number;
}

export interface GateState {
  models: Record<string, ModelScore>;
  /** The last decision, or null before the first forecast. */
  last: (GateChoice & { at: number; mae: Record<string, number> }) | null;
}

/** `close` may be absent on a Forecaster; stated here so the gate can forward it either way. */
type Closable = Forecaster & { close?(): void };

/** `close()` closes every model the gate composes: give each gate (each workload) its own instances. */
export type GatedForecaster = Forecaster & StatefulForecaster & { snapshot(): GateState; close(): void; settled(): Promise<void> };

type Outcome = { ok: true; forecast: Forecast } | { ok: false; error: unknown };

/** Runs one model; a throw, a rejection or an unusable forecast all count as that model failing. */
async function run(model: Forecaster, request: ForecastRequest): Promise<Outcome> {
  try {
    const forecast = await model.forecast(request);
    const v = forecast.values;
    if (v.length !== request.horizon || !v.every((x) => Number.isFinite(x) && x >= 0)) {
      return { ok: false, error: new Error(`${model.name} returned ${v.length} values for horizon ${request.horizon}, or a non-finite or negative one`) };
    }
    return { ok: true, forecast };
  } catch (error) {
    return { ok: false, error };
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createGatedForecaster(options: GatedForecasterOptions): GatedForecaster {
  const { name, primary, baselines, clock = Date.now } = options;
  const window = options.window ?? GATE_DEFAULTS.window;
  const rule: GateRule = {
    minScored: options.minScored ?? GATE_DEFAULTS.minScored,
    maxRelativeError: options.maxRelativeError ?? GATE_DEFAULTS.maxRelativeError,
  };
  const models: Closable[] = [primary, ...baselines];
  const names = models.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new Error(`gate ${name}: model names must be distinct, got ${names.join(', ')}`);
  if (!Number.isInteger(rule.minScored) || rule.minScored < 0 || rule.minScored > window) {
    // Above the window the primary could never collect enough scores to leave warm-up.
    throw new RangeError(`gate ${name}: minScored must be an integer in [0, window=${window}], got ${rule.minScored}`);
  }
  if (!(rule.maxRelativeError > 0)) throw new RangeError(`gate ${name}: maxRelativeError must be > 0, got ${rule.maxRelativeError}`);

  const scorer = new ForecastScorer(window);
  let last: GateState['last'] = null;
  /** Settles when the latest call has recorded its forecasts: the next one scores after it. */
  let turn: Promise<void> = Promise.resolve();

  const maeByModel = (): Record<string, number> => {
    const mae: Record<string, number> = {};
    for (const n of names) {
      const m = scorer.stats(n).mae;
      if (m !== null) mae[n] = m;
    }
    return mae;
  };

  /** Scores the minutes now due, records this call's forecasts and applies the rule. */
  const decideOn = (request: ForecastRequest, outcomes: Outcome[]): Forecast => {
    scorer.score(request.history);
    const origin = forecastOrigin(request.history);
    outcomes.forEach((o, i) => {
      if (o.ok) scorer.record(names[i], origin, o.forecast.values);
    });

    const candidate = (i: number): Candidate => ({ name: names[i], ok: outcomes[i].ok, score: scorer.stats(names[i]) });
    const choice = decide(candidate(0), baselines.map((_, i) => candidate(i + 1)), rule);
    if (choice === null) {
      const detail = outcomes.map((o, i) => `${names[i]}: ${o.ok ? 'ok' : messageOf(o.error)}`).join('; ');
      const allShort = outcomes.every((o) => !o.ok && o.error instanceof InsufficientHistoryError);
      const message = `gate ${name}: every model failed (${detail})`;
      throw allShort ? new InsufficientHistoryError(message) : new Error(message, { cause: outcomes[0].ok ? undefined : outcomes[0].error });
    }

    const chosen = outcomes[names.indexOf(choice.model)];
    if (!chosen.ok) throw new Error(`gate ${name}: chose ${choice.model}, which failed`); // decide() never does
    const mae = maeByModel();
    const relativeError: Record<string, number> = {};
    for (const n of names) {
      const r = scorer.stats(n).relativeError;
      if (r !== null) relativeError[n] = r;
    }
    last = { ...choice, at: clock(), mae };
    return { ...chosen.forecast, gate: { reason: choice.reason, mae, relativeError } };
  };

  return {
    name,

    historyMinutes(requested: number): number {
      return Math.max(...models.map((m) => m.historyMinutes(requested)));
    },

    async forecast(request: ForecastRequest): Promise<Forecast> {
      // The models start at once, so overlapping calls share a batched pass (the simulator asks for
      // many minutes together); scoring, recording and deciding then run in call order, each after
      // the previous call has recorded its forecasts: overlapping calls get exactly the answers of
      // calls made one after the other, as the scaler makes them.
      const running = Promise.all(models.map((m) => run(m, request.requested === undefined ? request : { ...request, history: lastMinutes(request.history, m.historyMinutes(request.requested)) })));
      const previous = turn;
      let done!: () => void;
      turn = new Promise((resolve) => (done = resolve));
      try {
        await previous;
        return decideOn(request, await running);
      } finally {
        done();
      }
    },

    async settled(): Promise<void> {
      await Promise.all(models.map((m) => m.settled?.()));
    },

    close(): void {
      // One model failing to close must not leak the others.
      for (const m of models) {
        try {
          m.close?.();
        } catch {
          /* nothing left to do for it */
        }
      }
    },

    exportState(): unknown {
      // Without the decision's wall-clock time: replicas decide the same at different instants.
      return { kind: 'gate', names, scorer: scorer.toState(), last: last && { model: last.model, reason: last.reason, mae: last.mae } };
    },

    importState(state: unknown): void {
      const s = state as { kind?: unknown; names?: unknown; scorer?: ScorerState; last?: Omit<NonNullable<GateState['last']>, 'at'> | null };
      if (s?.kind !== 'gate' || JSON.stringify(s.names) !== JSON.stringify(names) || !s.scorer) throw new Error(`gate ${name}: the state is not of a gate over ${names.join(', ')}`);
      scorer.loadState(s.scorer);
      last = s.last ? { ...s.last, at: clock() } : null;
    },

    snapshot(): GateState {
      const state: Record<string, ModelScore> = {};
      for (const n of names) state[n] = scorer.stats(n);
      return { models: state, last: last && { ...last, mae: { ...last.mae } } };
    },
  };
}
