/**
 * Amadeus's Prometheus metrics, on a registry of their own rather than prom-client's global one,
 * so a process (or a test) gets exactly these series and nothing a library registered elsewhere.
 *
 * Two kinds of series:
 * - refresh-driven (`amadeus_forecast_load`, `amadeus_forecast_load_due`, `amadeus_forecast_error`,
 *   and `amadeus_observed_load` when no snapshot source is set): they describe the last refresh;
 * - scrape-driven (`amadeus_planned_value`, `amadeus_plan_reason`, `amadeus_model_in_use`,
 *   `amadeus_scaled_objects`, and `amadeus_observed_load` once a snapshot source is set): read from
 *   the scaler at every scrape, because what KEDA is answered changes without a refresh (a plan
 *   served past its TTL turns `last-plan` into `stale-plan` while the source keeps failing, and
 *   into `unavailable` past maxOutageSeconds). A trigger with its own metricName adds a `metric`
 *   label: one series per trigger.
 * - `amadeus_degraded_triggers`: how many triggers answer from a failing source, by stage and cause.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const MINUTE_MS = 60_000;

export interface RefreshRecord {
  namespace: string;
  name: string;
  /** Epoch ms (source's clock) of the minute this refresh's window ends just before: the minute it is for (floored to the minute here). */
  at: number;
  observed: number;
  /** Minutes ahead: `values[0]` is the forecast at +1 minute, `values[horizon - 1]` at +horizon. */
  horizon: number;
  forecast: {
    model: string;
    values: number[];
    gate?: { reason: string; mae: Record<string, number>; relativeError?: Record<string, number> };
  } | null;
}

/** What the scaler currently answers for one ScaledObject's trigger (null: not known yet). */
export interface ServedState {
  namespace: string;
  name: string;
  /**
   * The trigger's metricName when it is not the default (a ScaledObject may have several Amadeus
   * triggers): a `metric` label. Unset: no such label, as before triggers were told apart.
   */
  metric?: string;
  observed: number | null;
  planned: number | null;
  reason: string | null;
  model: string | null;
  /**
   * `serving`, or how it is degraded: `last-plan` / `stale-plan` (the source fails, the last good
   * plan is answered), `unavailable` (failing past maxOutageSeconds: UNAVAILABLE), `not-ready`.
   */
  stage?: string;
  /** Why the source fails (its error's reason: timeout, deadline, http, too-large, bounds, …); null when it does not. */
  cause?: string | null;
}

export interface ScalerMetricsOptions {
  registry?: Registry;
  /** prom-client's process metrics (CPU, memory, event-loop lag, GC); default true. */
  defaultMetrics?: boolean;
}

type ObjectLabels = { namespace: string; scaledobject: string };
type TriggerLabels = ObjectLabels & { metric?: string };
type ErrorStat = 'mae' | 'mape';

/** The refresh-driven series one object has, so they can be replaced or removed exactly. */
interface ObjectState {
  /** `amadeus_forecast_load` holds horizons "1".."horizons". */
  horizons: number;
  errors: { model: string; stat: ErrorStat }[];
  /**
   * The +`madeHorizon` forecast value by the minute it was made. Only minutes in
   * [now − horizon, now] are kept: at most horizon + 1 numbers per object, however long it runs.
   */
  made: Map<number, number>;
  madeHorizon: number;
}

export class ScalerMetrics {
  readonly registry: Registry;
  private snapshot: (() => ServedState[]) | null = null;
  private readonly objects = new Map<string, ObjectState>();

  private readonly observed: Gauge<'namespace' | 'scaledobject'>;
  private readonly forecastLoad: Gauge<'namespace' | 'scaledobject' | 'horizon'>;
  private readonly due: Gauge<'namespace' | 'scaledobject'>;
  private readonly forecastError: Gauge<'namespace' | 'scaledobject' | 'model' | 'stat'>;
  private readonly rpcTotal: Counter<'method' | 'code'>;
  private readonly rpcSeconds: Histogram<'method'>;
  private readonly refreshSeconds: Histogram;
  private readonly heals: Counter<'action' | 'result'>;
  private healerUp: Gauge | null = null;
  private healerWatchUp: Gauge<'scope'> | null = null;

  constructor(opts: ScalerMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    // collect() runs with `this` bound to its gauge: these arrows reach the instance instead.
    const read = () => this.snapshot?.() ?? null;
    const count = () => (this.snapshot ? this.snapshot().length : this.objects.size);
    const object = ['namespace', 'scaledobject'] as const;
    // Scrape-driven series are per trigger: a ScaledObject may have several Amadeus triggers.
    const trigger = ['namespace', 'scaledobject', 'metric'] as const;

    this.observed = new Gauge({
      name: 'amadeus_observed_load',
      help: 'Latest observed load of the workload, in its own unit (e.g. requests/s).',
      labelNames: trigger,
      registers,
      collect() {
        const states = read();
        if (!states) return; // no snapshot source: the values recordRefresh set stand
        this.reset();
        for (const s of states) if (isNumber(s.observed)) this.set(labelsOf(s), s.observed);
      },
    });
    this.forecastLoad = new Gauge({
      name: 'amadeus_forecast_load',
      help: 'Forecast load made at the last refresh, by minutes ahead (horizon "1".."H").',
      labelNames: [...object, 'horizon'],
      registers,
    });
    this.due = new Gauge({
      name: 'amadeus_forecast_load_due',
      help: 'The load forecast H minutes ago (H = the horizon) for now: compare with amadeus_observed_load.',
      labelNames: object,
      registers,
    });
    this.forecastError = new Gauge({
      name: 'amadeus_forecast_error',
      help: 'Rolling live forecast error per model: stat="mae" (load units) or "mape" (MAE / mean observed load, a weighted MAPE, as a ratio).',
      labelNames: [...object, 'model', 'stat'],
      registers,
    });
    new Gauge({
      name: 'amadeus_planned_value',
      help: 'The value KEDA is answered now (total planned load).',
      labelNames: trigger,
      registers,
      collect() {
        rebuild(this, read(), (s) => (isNumber(s.planned) ? [labelsOf(s), s.planned] : null));
      },
    });
    new Gauge({
      name: 'amadeus_plan_reason',
      help: 'Why the answered value is what it is: 1 for the current reason only (unavailable: the source has failed past maxOutageSeconds, calls answer UNAVAILABLE).',
      labelNames: [...trigger, 'reason'],
      registers,
      collect() {
        rebuild(this, read(), (s) => (s.reason === null ? null : [{ ...labelsOf(s), reason: s.reason }, 1]));
      },
    });
    new Gauge({
      name: 'amadeus_model_in_use',
      help: 'The model whose forecast the current plan used: 1 for the current model only.',
      labelNames: [...trigger, 'model'],
      registers,
      collect() {
        rebuild(this, read(), (s) => (s.model === null ? null : [{ ...labelsOf(s), model: s.model }, 1]));
      },
    });
    new Gauge({
      name: 'amadeus_degraded_triggers',
      help: 'Triggers whose source fails, by stage (last-plan, stale-plan: the last good plan is answered; unavailable: past maxOutageSeconds, UNAVAILABLE so KEDA\'s fallback applies) and cause (timeout, deadline, unreachable, http, response, too-large, bounds, no-data, overdue: its refresh waits behind slow reads, …).',
      labelNames: ['stage', 'cause'],
      registers,
      collect() {
        const states = read();
        if (!states) return;
        this.reset();
        const counts = new Map<string, { stage: string; cause: string; n: number }>();
        for (const s of states) {
          if (!s.cause || !s.stage) continue;
          const k = `${s.stage}\u0000${s.cause}`;
          const c = counts.get(k) ?? { stage: s.stage, cause: s.cause, n: 0 };
          c.n++;
          counts.set(k, c);
        }
        for (const c of counts.values()) this.set({ stage: c.stage, cause: c.cause }, c.n);
      },
    });
    new Gauge({
      name: 'amadeus_scaled_objects',
      help: 'ScaledObject triggers served (a ScaledObject with two Amadeus triggers counts twice).',
      registers,
      collect() {
        this.set(count());
      },
    });
    this.rpcTotal = new Counter({
      name: 'amadeus_grpc_requests_total',
      help: 'ExternalScaler calls by method and gRPC status.',
      labelNames: ['method', 'code'],
      registers,
    });
    this.rpcSeconds = new Histogram({
      name: 'amadeus_grpc_request_duration_seconds',
      help: 'ExternalScaler call duration.',
      labelNames: ['method'],
      // Calls answer from memory: expect well under a millisecond; 100 ms+ means a blocked event loop.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.refreshSeconds = new Histogram({
      name: 'amadeus_refresh_duration_seconds',
      help: 'Duration of one refresh (read the source, forecast, plan).',
      // A Prometheus range query plus an LSTM forecast: tens of ms to seconds.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.heals = new Counter({
      name: 'amadeus_heal_actions_total',
      help: 'Self-healing actions by action and result.',
      labelNames: ['action', 'result'],
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Read at every scrape; a throwing source fails the scrape (the HTTP layer answers 500). */
  setSnapshotSource(fn: () => ServedState[]): void {
    this.snapshot = fn;
  }

  recordRefresh(e: RefreshRecord): void {
    const labels = { namespace: e.namespace, scaledobject: e.name };
    const state = this.stateOf(e.namespace, e.name);
    if (isNumber(e.observed)) this.observed.set(labels, e.observed);
    else this.observed.remove(labels);

    for (let h = 1; h <= state.horizons; h++) this.forecastLoad.remove({ ...labels, horizon: String(h) });
    const values = e.forecast?.values ?? [];
    values.forEach((v, i) => {
      if (isNumber(v)) this.forecastLoad.set({ ...labels, horizon: String(i + 1) }, v);
    });
    state.horizons = values.length;

    this.recordDue(labels, state, e);

    // Replaced as a whole: a model the gate no longer scores must not keep its last error forever.
    for (const l of state.errors) this.forecastError.remove({ ...labels, ...l });
    state.errors = [];
    const gate = e.forecast?.gate;
    const setErrors = (stat: ErrorStat, byModel: Record<string, number> | undefined) => {
      for (const [model, v] of Object.entries(byModel ?? {})) {
        if (!isNumber(v)) continue;
        this.forecastError.set({ ...labels, model, stat }, v);
        state.errors.push({ model, stat });
      }
    };
    setErrors('mae', gate?.mae);
    setErrors('mape', gate?.relativeError);
  }

  /** Removes every series of one object (scrape-driven ones follow the snapshot by themselves). */
  forget(namespace: string, name: string): void {
    const labels = { namespace, scaledobject: name };
    const state = this.objects.get(keyOf(namespace, name));
    if (state) {
      for (let h = 1; h <= state.horizons; h++) this.forecastLoad.remove({ ...labels, horizon: String(h) });
      for (const l of state.errors) this.forecastError.remove({ ...labels, ...l });
    }
    this.observed.remove(labels);
    this.due.remove(labels);
    this.objects.delete(keyOf(namespace, name));
  }

  observeRpc(method: string, code: string, seconds: number): void {
    this.rpcTotal.inc({ method, code });
    this.rpcSeconds.observe({ method }, seconds);
  }

  heal(action: string, result: string): void {
    this.heals.inc({ action, result });
  }

  /** The healer's own readiness, apart from the scaler's; the series exists only with a healer. */
  healerReady(ready: boolean): void {
    this.healerUp ??= new Gauge({
      name: 'amadeus_healer_ready',
      help: 'The healer: 1 once its pod watches have started, 0 while it waits for the Kubernetes API. Scaling readiness does not depend on it.',
      registers: [this.registry],
    });
    this.healerUp.set(ready ? 1 : 0);
  }

  /** Whether the healer's pod watch of `scope` (a namespace, `*` for all) is live; the series exists only with a healer. */
  healerWatch(scope: string, up: boolean): void {
    this.healerWatchUp ??= new Gauge({
      name: 'amadeus_healer_watch_up',
      help: "The healer's pod watch of a namespace (`*`: all): 1 while listed and watching, 0 while it fails and is retried (an API error, more pods than --heal-max-pods): nothing in that namespace is healed then.",
      labelNames: ['scope'],
      registers: [this.registry],
    });
    this.healerWatchUp.set({ scope }, up ? 1 : 0);
  }

  observeRefreshDuration(seconds: number): void {
    this.refreshSeconds.observe(seconds);
  }

  /**
   * due(t) = the forecast made at minute t − H, at +H. With `at` being the minute after the
   * history's last one (values[0]'s minute), that is the forecast for the very minute whose load
   * this refresh observed, so `due` and `amadeus_observed_load` are directly comparable. When no
   * refresh ran at minute t − H (a slow refresh interval, a fast replay), the series is dropped
   * rather than showing a forecast for another minute.
   */
  private recordDue(labels: ObjectLabels, state: ObjectState, e: RefreshRecord): void {
    const H = e.horizon;
    const now = Math.floor(e.at / MINUTE_MS) * MINUTE_MS;
    if (state.madeHorizon !== H) {
      state.made.clear(); // values stored for another horizon are not "+H" any more
      state.madeHorizon = H;
    }
    const due = Number.isInteger(H) && H > 0 ? state.made.get(now - H * MINUTE_MS) : undefined;
    if (due === undefined) this.due.remove(labels);
    else this.due.set(labels, due);
    // Several refreshes per minute: the latest forecast of the minute wins.
    const ahead = e.forecast?.values[H - 1];
    if (isNumber(ahead)) state.made.set(now, ahead);
    // Also drops minutes "ahead of now" when the clock goes back (a replay looping).
    for (const m of state.made.keys()) if (m < now - H * MINUTE_MS || m > now) state.made.delete(m);
  }

  private stateOf(namespace: string, name: string): ObjectState {
    const key = keyOf(namespace, name);
    let state = this.objects.get(key);
    if (!state) {
      state = { horizons: 0, errors: [], made: new Map(), madeHorizon: 0 };
      this.objects.set(key, state);
    }
    return state;
  }

  /** For tests: how many forecast values are remembered for one object. */
  rememberedForecasts(namespace: string, name: string): number {
    return this.objects.get(keyOf(namespace, name))?.made.size ?? 0;
  }
}

/** Rebuilds a scrape-driven gauge from the snapshot: at most one series per object. */
function rebuild<L extends string>(
  gauge: Gauge<L>,
  states: ServedState[] | null,
  series: (s: ServedState) => [Partial<Record<L, string>>, number] | null,
): void {
  if (!states) return; // no snapshot source yet
  gauge.reset();
  for (const s of states) {
    const entry = series(s);
    if (entry) gauge.set(entry[0], entry[1]);
  }
}

function isNumber(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function labelsOf(s: ServedState): TriggerLabels {
  return s.metric === undefined ? { namespace: s.namespace, scaledobject: s.name } : { namespace: s.namespace, scaledobject: s.name, metric: s.metric };
}

/** Namespaces are DNS labels, so "/" cannot occur in one. */
function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
