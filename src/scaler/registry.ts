/**
 * The ScaledObjects KEDA is asking about, each with a background refresh loop and its latest plan.
 *
 * KEDA never waits on Amadeus's I/O or models: the RPC handlers only read what this registry has
 * cached. An object is registered on its first call (and refreshed at once), then refreshed once per
 * minute of its source's clock, `refreshOffsetMs` after the minute starts, and forgotten once nothing
 * has asked for it for `idleTimeoutMs` (an open IsActive stream counts as asking). Every refresh in
 * minute m + 1 reads the same window (the minutes up to m), whenever its object registered and on
 * whichever replica: the plan is a function of the minute, which is also what the simulator computes.
 * Refreshes run through one bounded queue so 1,000 objects do not hit a data source at once.
 */
import type { PlanSnapshot } from '../notify/scale-notice.js';
import type { Forecaster } from '../forecast/types.js';
import { lastObserved } from '../forecast/series.js';
import { makePlan, type Plan, type PlanReason } from '../plan/plan.js';
import { noiseScale } from '../plan/noise.js';
import { planSignals, signalHistoryMinutes } from '../plan/signals.js';
import { floorMinute, MINUTE_MS, msUntil, type History, type MetricSource } from '../sources/types.js';
import type { Logger, Level } from '../telemetry/logger.js';
import type { RefreshRecord } from '../telemetry/metrics.js';
import type { MetadataParser, ScalerConfig } from './metadata.js';

export interface ObjectRef {
  namespace: string;
  name: string;
  metadata: Readonly<Record<string, string>>;
}

export interface RegistryOptions {
  parseMetadata: MetadataParser;
  /** Binds a data source to one ScaledObject's configuration. */
  sourceFor(config: ScalerConfig, ref: { namespace: string; name: string }): MetricSource;
  /**
   * The forecaster for one ScaledObject, made once per configuration (stateful models keep
   * per-workload state: fine-tuned weights, live errors) and closed when the object goes.
   */
  forecasterFor(name: string, key: string): Forecaster;
  /**
   * Milliseconds of the source's clock after each minute starts at which an object refreshes (its
   * history then ends at the minute just completed, which has had this long to land). Default 10 s.
   */
  refreshOffsetMs?: number;
  idleTimeoutMs: number;
  maxObjects: number;
  refreshConcurrency: number;
  logger: Logger;
  /** Level of the one line logged per refresh (observed, forecast, plan, reason). */
  refreshLogLevel?: Level;
  /**
   * How long the last good plan is served while the source fails (ms); after that, the last observed
   * load. Default 5 minutes.
   */
  planTtlMs?: number;
  /** Told about every successful refresh and every forgotten object (metrics). */
  observer?: RegistryObserver;
  clock?: () => number;
}

export interface RegistryObserver {
  refreshed(record: RefreshRecord): void;
  forgotten(namespace: string, name: string): void;
  refreshDuration?(seconds: number): void;
  /** Every new plan, with what it is measured against (predicted scale-out notices). */
  planned?(snapshot: PlanSnapshot): void;
}

/**
 * Why the answered value is what it is: the plan's own reason while the source works; while it
 * fails, `last-plan` (within the TTL), then `last-observed`; `observed-only` before the first plan.
 */
export type ServedReason = PlanReason | 'last-plan' | 'last-observed' | 'observed-only';

export interface Served {
  value: number;
  active: boolean;
  reason: ServedReason;
  model: string | null;
}

/** Nothing is known yet for this object (no data has arrived): the RPC answers UNAVAILABLE. */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** The registry is full: the RPC answers RESOURCE_EXHAUSTED. */
export class CapacityError extends Error {
  override name = 'CapacityError';
}

type Listener = (active: boolean) => void;

export interface EntryState {
  key: string;
  config: ScalerConfig;
  plan: Plan | null;
  /** Latest observed load, known before the first plan when the forecaster is slow or failing. */
  observed: number | null;
  /** When the last plan was made (the registry's clock). */
  lastRefreshAt: number | null;
  lastError: string | null;
  /** The latest read of the source failed: the plan (or observed load) being served is aging. */
  sourceFailing: boolean;
}

interface Entry extends EntryState {
  namespace: string;
  name: string;
  signature: string;
  source: MetricSource;
  /** Null in reactive mode. */
  forecaster: Forecaster | null;
  lastAskedAt: number;
  /** Each subscriber with the activity it was last told (null: nothing yet), so it hears only changes. */
  listeners: Map<Listener, boolean | null>;
  pinned: boolean;
  /** Bumped when the configuration changes, so a refresh started under the old one is discarded. */
  generation: number;
  timer: NodeJS.Timeout | null;
  /** The source's minute in progress when it was last read (the window ended just before it). */
  readMinute: number | null;
  queued: boolean;
  refreshing: boolean;
  removed: boolean;
}

/** Canonical form of a metadata map: the same keys and values in any order give the same string. */
function signatureOf(metadata: Readonly<Record<string, string>>): string {
  const keys = Object.keys(metadata).sort();
  let s = '';
  for (const k of keys) s += `${k}\u0000${metadata[k]}\u0001`;
  return s;
}

/** The default refresh offset: late enough after a minute for Prometheus to have scraped and evaluated it. */
export const DEFAULT_REFRESH_OFFSET_MS = 10_000;
/** A timer waits at most this long at once (Node's limit is ~24.8 days; a slow replay can ask for more). */
const MAX_TIMER_MS = 3_600_000;

export class ScaledObjectRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private running = 0;
  private pumpScheduled = false;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly offsetMs: number;

  constructor(private readonly opts: RegistryOptions) {
    this.clock = opts.clock ?? Date.now;
    this.log = opts.logger;
    this.offsetMs = opts.refreshOffsetMs ?? DEFAULT_REFRESH_OFFSET_MS;
    if (!(this.offsetMs >= 0 && this.offsetMs < MINUTE_MS)) throw new RangeError(`refreshOffsetMs must be in [0, ${MINUTE_MS}), got ${this.offsetMs}`);
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(opts.idleTimeoutMs / 4, 60_000)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Parses the ref's metadata and returns its configuration, without registering anything: what
   * GetMetricSpec needs, which must answer from metadata alone.
   */
  configOf(ref: ObjectRef): ScalerConfig {
    const entry = this.entries.get(keyOf(ref));
    if (entry && entry.signature === signatureOf(ref.metadata)) return entry.config;
    return this.opts.parseMetadata(ref.metadata);
  }

  /**
   * Registers (or finds) the object and marks it as asked for. A changed metadata map replaces the
   * configuration and triggers an immediate refresh; the last plan keeps being served meanwhile.
   * Throws InvalidRequestError for bad metadata and CapacityError when full.
   */
  touch(ref: ObjectRef, options: { pinned?: boolean } = {}): EntryState {
    if (this.closed) throw new NotReadyError('shutting down');
    const key = keyOf(ref);
    const signature = signatureOf(ref.metadata);
    const now = this.clock();
    let entry = this.entries.get(key);
    if (entry) {
      entry.lastAskedAt = now;
      if (options.pinned) entry.pinned = true;
      if (entry.signature !== signature) this.reconfigure(entry, ref, signature);
      return entry;
    }
    const config = this.opts.parseMetadata(ref.metadata);
    if (this.entries.size >= this.opts.maxObjects) {
      throw new CapacityError(`already serving ${this.entries.size} ScaledObjects (--max-objects)`);
    }
    entry = {
      key,
      namespace: ref.namespace,
      name: ref.name,
      signature,
      config,
      source: this.opts.sourceFor(config, ref),
      forecaster: this.forecasterOf(config, key),
      plan: null,
      observed: null,
      lastRefreshAt: null,
      lastError: null,
      sourceFailing: false,
      lastAskedAt: now,
      listeners: new Map(),
      pinned: options.pinned ?? false,
      generation: 0,
      timer: null,
      readMinute: null,
      queued: false,
      refreshing: false,
      removed: false,
    };
    this.entries.set(key, entry);
    this.log.info('registered ScaledObject', { scaledObject: key, source: entry.source.description, mode: config.mode, forecaster: config.forecaster });
    this.enqueue(entry);
    return entry;
  }

  /**
   * What to answer now. A failing source never scales a workload to zero: the last good plan for
   * `planTtlMs`, then the last observed load; only with nothing known at all, NotReadyError (and
   * KEDA's own `fallback` applies).
   */
  served(state: EntryState): Served {
    const { plan, observed, config } = state;
    const fresh = plan && (!state.sourceFailing || this.clock() - (state.lastRefreshAt ?? 0) <= (this.opts.planTtlMs ?? 300_000));
    if (plan && fresh) return { value: plan.value, active: plan.active, reason: state.sourceFailing ? 'last-plan' : plan.reason, model: plan.model };
    if (observed !== null) {
      return { value: observed * (1 + config.headroom), active: observed > config.activationValue, reason: plan ? 'last-observed' : 'observed-only', model: null };
    }
    throw new NotReadyError(notReadyMessage(state));
  }

  /** The metric value to answer now (see served). */
  metricValue(state: EntryState): number {
    return this.served(state).value;
  }

  isActive(state: EntryState): boolean {
    return this.served(state).active;
  }

  /** Every object's served state, for metrics at scrape time; objects with nothing known report nulls. */
  servedStates(): { namespace: string; name: string; observed: number | null; planned: number | null; reason: string | null; model: string | null }[] {
    return [...this.entries.values()].map((e) => {
      let s: Served | null = null;
      try {
        s = this.served(e);
      } catch {
        // Nothing known yet: reported as nulls.
      }
      return { namespace: e.namespace, name: e.name, observed: e.observed, planned: s?.value ?? null, reason: s?.reason ?? null, model: s?.model ?? null };
    });
  }

  /**
   * Calls `listener` with every change of the object's activity (and once with the current state
   * if it is known). Returns the unsubscribe function. A subscribed object is never forgotten.
   */
  subscribe(state: EntryState, listener: Listener): () => void {
    const entry = this.entries.get(state.key);
    if (!entry) throw new NotReadyError(`ScaledObject ${state.key} is not registered`);
    const known = entry.plan !== null || entry.observed !== null;
    const active = known ? this.isActive(entry) : null;
    entry.listeners.set(listener, active);
    if (active !== null) listener(active);
    return () => {
      entry.listeners.delete(listener);
      entry.lastAskedAt = this.clock();
    };
  }

  /** Read-only view of one object (for logs, metrics and tests). */
  get(namespace: string, name: string): EntryState | undefined {
    return this.entries.get(`${namespace}/${name}`);
  }

  /** Stops every loop and releases every source. Refreshes in flight finish but are discarded. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const entry of this.entries.values()) this.remove(entry, 'shutdown');
    this.queue.length = 0;
  }

  private reconfigure(entry: Entry, ref: ObjectRef, signature: string): void {
    const config = this.opts.parseMetadata(ref.metadata);
    entry.source.close();
    entry.forecaster?.close?.();
    entry.source = this.opts.sourceFor(config, ref);
    entry.forecaster = this.forecasterOf(config, entry.key);
    entry.config = config;
    entry.signature = signature;
    entry.generation++;
    // Another source may run on another clock: its minutes start afresh.
    entry.readMinute = null;
    this.log.info('ScaledObject metadata changed', { scaledObject: entry.key, mode: config.mode, forecaster: config.forecaster });
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    this.enqueue(entry);
  }

  private forecasterOf(config: ScalerConfig, key: string): Forecaster | null {
    return config.mode === 'reactive' ? null : this.opts.forecasterFor(config.forecaster, key);
  }

  private enqueue(entry: Entry): void {
    if (entry.removed || entry.queued || this.closed) return;
    // A refresh in flight re-queues itself when it finishes if its generation went stale.
    if (entry.refreshing) return;
    entry.queued = true;
    this.queue.push(entry);
    // Deferred: touch() runs inside an RPC handler, which must never do a refresh's work.
    this.schedulePump();
  }

  /**
   * Starts queued refreshes on the next turn of the event loop, never in the same one: a refresh
   * served from cached data by a fast forecaster completes without any I/O, and starting the next
   * one from its completion would drain the whole queue in one chain of microtasks while the RPCs
   * KEDA is waiting on sit unread.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.opts.refreshConcurrency && this.queue.length > 0) {
      const entry = this.queue.shift()!;
      entry.queued = false;
      if (entry.removed) continue;
      this.running++;
      entry.refreshing = true;
      this.refresh(entry)
        .catch((err: unknown) => this.log.error('refresh failed unexpectedly', { scaledObject: entry.key, error: err }))
        .finally(() => {
          this.running--;
          entry.refreshing = false;
          this.schedule(entry);
          this.schedulePump();
        });
    }
  }

  /**
   * Arms the next refresh: at the offset of the first minute (of the source's clock) not read yet, so
   * never twice in a minute (a first refresh before the offset, a timer that fired early). A refresh
   * that overran its minute's successor's offset is followed at once, reading the minute then in
   * progress; minutes wholly overrun are skipped, never queued up.
   */
  private schedule(entry: Entry): void {
    if (entry.removed || this.closed) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    const current = floorMinute(entry.source.now());
    this.arm(entry, (entry.readMinute === null ? current : Math.max(current, entry.readMinute + MINUTE_MS)) + this.offsetMs);
  }

  /** Waits, in real time, until the source's clock reads `due`, then queues the refresh. */
  private arm(entry: Entry, due: number): void {
    if (entry.removed || this.closed) return;
    const wait = msUntil(entry.source, due);
    if (wait <= 0) return this.enqueue(entry);
    // A timer may fire a little early, and a long wait is cut up: each wake-up checks the clock again.
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.arm(entry, due);
    }, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  }

  private async refresh(entry: Entry): Promise<void> {
    const started = this.clock();
    const generation = entry.generation;
    const config = entry.config;
    const forecaster = entry.forecaster;
    const signals = new Set(config.mode === 'predictive' ? config.signals : []);
    const modelMinutes = Math.max(config.historyMinutes, forecaster ? forecaster.historyMinutes(config.historyMinutes) : 0);
    const minutes = Math.max(modelMinutes, signals.size > 0 ? signalHistoryMinutes(config.horizonMinutes, signals) : 0);
    // The window ends just before this minute: the next refresh waits for a later one.
    entry.readMinute = floorMinute(entry.source.now());

    let observed: number | null;
    let history;
    try {
      history = await entry.source.read(minutes);
      observed = lastObserved(history.requests)?.value ?? null;
      if (observed === null) throw new Error(`no observed value in the last ${minutes} minutes`);
    } catch (err) {
      if (generation === entry.generation) {
        entry.sourceFailing = true;
        this.noteError(entry, `source ${entry.source.description}: ${messageOf(err)}`);
      }
      return;
    }
    if (generation !== entry.generation || entry.removed) return this.requeueIfStale(entry, generation);
    entry.observed = observed;
    entry.sourceFailing = false;

    let forecast = null;
    let forecastError: string | null = null;
    if (forecaster) {
      try {
        // Exactly the window the model asked for, as the simulator hands it: a model may use all it
        // is given (Holt-Winters runs over the whole of it), so the signals' longer read must not leak in.
        forecast = await forecaster.forecast({ history: lastMinutes(history, modelMinutes), horizon: config.horizonMinutes });
      } catch (err) {
        forecastError = `forecaster ${forecaster.name}: ${messageOf(err)}`;
      }
    }
    if (generation !== entry.generation || entry.removed) return this.requeueIfStale(entry, generation);
    const at = history.start + history.requests.length * MINUTE_MS;

    // The noise scale is fitted on the object's own history window, not on the longer one a model may read.
    const noise = config.noiseMargin > 0 || config.surgeNoiseMargin > 0 || signals.size > 0 ? noiseScale(history.requests, config.historyMinutes) : null;
    const plan = makePlan({
      mode: config.mode,
      headroom: config.headroom,
      activationValue: config.activationValue,
      observed,
      forecast,
      quantile: config.quantile,
      noiseMargin: config.noiseMargin,
      surgeNoiseMargin: config.surgeNoiseMargin,
      noise,
      signals: signals.size > 0 ? planSignals(history.requests, config.horizonMinutes, noise, signals) : undefined,
    });
    entry.plan = plan;
    entry.lastRefreshAt = this.clock();
    if (forecastError) this.noteError(entry, forecastError);
    else this.clearError(entry);

    this.log[this.opts.refreshLogLevel ?? 'info']('refresh', {
      scaledObject: entry.key,
      // The source's minute in progress: the history ends just before it (virtual time for a replay).
      at: new Date(at).toISOString(),
      observed: round(observed),
      forecast: forecast ? forecast.values.map(round) : null,
      forecastMax: plan.forecastMax === null ? null : round(plan.forecastMax),
      planned: round(plan.value),
      // What the HPA will compute from it (AverageValue): ceil(planned / targetValue).
      replicas: Math.ceil(plan.value / config.targetValue - 1e-9),
      reason: plan.reason,
      model: plan.model,
      quantile: plan.quantile ?? undefined,
      noiseMargin: plan.noiseMargin > 0 ? round(plan.noiseMargin) : undefined,
      gate: forecast?.gate?.reason,
      gateMae: forecast?.gate?.mae,
      note: forecast?.note,
      active: plan.active,
      durationMs: this.clock() - started,
    });
    for (const [listener, told] of entry.listeners) {
      if (told === plan.active) continue;
      entry.listeners.set(listener, plan.active);
      listener(plan.active);
    }
    try {
      this.opts.observer?.refreshed({ namespace: entry.namespace, name: entry.name, at, observed, horizon: config.horizonMinutes, forecast });
      this.opts.observer?.refreshDuration?.((this.clock() - started) / 1000);
      this.opts.observer?.planned?.({ namespace: entry.namespace, name: entry.name, plan, targetValue: config.targetValue, horizonMinutes: config.horizonMinutes });
    } catch (err) {
      this.log.warn('metrics observer failed', { scaledObject: entry.key, error: err });
    }
  }

  private requeueIfStale(entry: Entry, generation: number): void {
    // The configuration changed while this refresh was reading: run again under the new one soon.
    if (!entry.removed && generation !== entry.generation) setImmediate(() => this.enqueue(entry));
  }

  /** Logs an error only when it differs from the last one: once per change, not once per poll. */
  private noteError(entry: Entry, message: string): void {
    if (entry.lastError === message) return;
    entry.lastError = message;
    this.log.warn('refresh degraded', { scaledObject: entry.key, error: message, servingPlan: entry.plan !== null });
  }

  private clearError(entry: Entry): void {
    if (entry.lastError === null) return;
    this.log.info('refresh recovered', { scaledObject: entry.key, previousError: entry.lastError });
    entry.lastError = null;
  }

  private sweep(): void {
    const cutoff = this.clock() - this.opts.idleTimeoutMs;
    for (const entry of this.entries.values()) {
      if (!entry.pinned && entry.listeners.size === 0 && entry.lastAskedAt < cutoff) this.remove(entry, 'idle');
    }
  }

  private remove(entry: Entry, why: string): void {
    entry.removed = true;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.source.close();
    entry.forecaster?.close?.();
    entry.listeners.clear();
    this.entries.delete(entry.key);
    this.opts.observer?.forgotten(entry.namespace, entry.name);
    if (why !== 'shutdown') this.log.info('forgot ScaledObject', { scaledObject: entry.key, reason: why });
  }
}

/** The last `minutes` of a history (itself when it has no more). */
function lastMinutes(h: History, minutes: number): History {
  const cut = h.requests.length - minutes;
  if (cut <= 0) return h;
  const out: History = { start: h.start + cut * MINUTE_MS, requests: h.requests.slice(cut) };
  if (h.cpu) out.cpu = h.cpu.slice(cut);
  if (h.memory) out.memory = h.memory.slice(cut);
  if (h.utcOffsetMinutes !== undefined) out.utcOffsetMinutes = h.utcOffsetMinutes;
  return out;
}

function keyOf(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

function notReadyMessage(state: EntryState): string {
  return state.lastError
    ? `no data yet for ScaledObject ${state.key}: ${state.lastError}`
    : `no data yet for ScaledObject ${state.key}: the first refresh has not completed`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
