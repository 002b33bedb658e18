/**
 * The triggers KEDA is asking about, each with a background refresh loop and its latest plan.
 *
 * A trigger is one ScaledObject's namespace, name *and* metadata: a ScaledObject with two triggers
 * pointing at Amadeus sends the same name with different metadata, and each gets its own state,
 * source and plan (keyed by the canonical metadata, so a changed metadata map is a new trigger and
 * the old one expires once nothing asks for it).
 *
 * KEDA never waits on Amadeus's I/O or models: the RPC handlers only read what this registry has
 * cached. A trigger is registered on its first call (and refreshed at once), then refreshed once per
 * minute of its source's clock, `refreshOffsetMs` after the minute starts, and forgotten once nothing
 * has asked for it for `idleTimeoutMs` (an open IsActive stream counts as asking). Every refresh
 * between the offsets of minutes m + 1 and m + 2 reads the same window (the minutes up to m),
 * whenever its trigger registered and on whichever replica: a first refresh before the offset reads
 * the window its peers planned on then, not the minute just ended. The plan is a function of the
 * minute, which is also what the simulator computes.
 * Refreshes run through one bounded queue so 1,000 objects do not hit a data source at once; every
 * read has a deadline (metadata `timeoutSeconds`), every forecast one too (`forecastTimeoutMs`), and a
 * refresh still running after `slowRefreshMs` gives its slot to the next one (a few such at once), and
 * a trigger whose last read was that slow and failed runs only in the room of those, never in a slot,
 * so triggers whose source hangs — however many — cannot starve the rest: every refresh ends within
 * both deadlines. A
 * refresh that still waits `overdueMs` past its due time counts as a failing read (the plan ages).
 *
 * A failing source never lowers what is answered: the last good plan (value and activity) stays in
 * force, `last-plan` within `planTtlMs`, `stale-plan` after, until the outage passes
 * `maxOutageSeconds`; then every call answers UNAVAILABLE so KEDA's own `fallback` applies. A sample
 * outside [0, maxValue] (negative, NaN, ±Inf, absurd) is such a failure, and no value answered is
 * ever above `maxValue`.
 *
 * A failing forecaster (a rejection, no answer within `forecastTimeoutMs`, a forecast of the wrong
 * length or with a value that is not finite and >= 0, or a gate that answered a baseline because its
 * primary model failed) never lowers the answer nor deactivates either: see heldThroughForecastError.
 */
import type { ServedState } from '../telemetry/metrics.js';
import { createHash } from 'node:crypto';
import type { PlanSnapshot } from '../notify/scale-notice.js';
import type { ForecastRequest, Forecaster, SeedableForecaster } from '../forecast/types.js';
import { forecastOrigin, type GateReason } from '../forecast/gate.js';
import type { Forecast } from '../series/forecast.js';
import { makePlan, type Plan, type PlanReason } from '../plan/plan.js';
import { noiseScale } from '../plan/noise.js';
import { planSignals, signalHistoryMinutes, type SignalName } from '../plan/signals.js';
import { DeadlineError, deadlineSignal, untilAborted } from '../deadline/deadline.js';
import { floorMinute, MINUTE_MS } from '../series/minute.js';
import { msUntil, type MetricSource } from '../sources/types.js';
import { lastMinutes, type History } from '../series/history.js';
import type { Logger, Level } from '../telemetry/logger.js';
import type { RefreshRecord } from '../telemetry/metrics.js';
import { DEFAULT_MAX_OUTAGE_SECONDS, DEFAULT_METRIC_NAME, InvalidRequestError, type MetadataParser, type ScalerConfig } from './metadata.js';
import { checkSamples } from './samples.js';

export interface ObjectRef {
  namespace: string;
  name: string;
  metadata: Readonly<Record<string, string>>;
}

export interface RegistryOptions {
  parseMetadata: MetadataParser;
  /** Binds a data source to one trigger's configuration. */
  sourceFor(config: ScalerConfig, ref: { namespace: string; name: string }): MetricSource;
  /**
   * Throws InvalidRequestError where `sourceFor` would refuse `config` (serverAddress with query,
   * credential files), opening nothing: GetMetricSpec while the registry is full. Absent: no check.
   */
  checkSource?(config: ScalerConfig, ref: { namespace: string; name: string }): void;
  /**
   * The forecaster for one trigger, made once per configuration (stateful models keep
   * per-workload state: fine-tuned weights, live errors) and closed when the trigger goes.
   */
  forecasterFor(name: string, key: string, stateKey: string): Forecaster;
  /**
   * Milliseconds of the source's clock after each minute starts at which a trigger refreshes (its
   * history then ends at the minute just completed, which has had this long to land). Default 10 s.
   */
  refreshOffsetMs?: number;
  idleTimeoutMs: number;
  /** Most triggers served at once (a ScaledObject with two Amadeus triggers counts twice). */
  maxObjects: number;
  refreshConcurrency: number;
  logger: Logger;
  /** Level of the one line logged per refresh (observed, forecast, plan, reason). */
  refreshLogLevel?: Level;
  /**
   * While the source fails, the last good plan is `last-plan` for this long (ms), then
   * `stale-plan`: the same value and activity either way. Default 5 minutes.
   */
  planTtlMs?: number;
  /**
   * How long the last good plan is answered while the source fails (ms), for triggers whose
   * metadata sets no `maxOutageSeconds`; after that, UNAVAILABLE. Default 15 minutes.
   */
  maxOutageMs?: number;
  /**
   * A refresh still running after this long (ms) frees its concurrency slot, up to
   * 4 × refreshConcurrency such at once (5 × for slots a source holds beyond its share), and goes on
   * to its deadline. Default 2 s.
   */
  slowRefreshMs?: number;
  /**
   * How long one refresh waits for its forecast (ms). Past it the forecast is a forecaster error (the
   * last good plan holds, see heldThroughForecastError) and the refresh ends; a forecast still
   * running then is not called again until it settles. Default 30 s (DEFAULT_FORECAST_TIMEOUT_MS).
   */
  forecastTimeoutMs?: number;
  /**
   * A trigger whose refresh has waited in the queue this long (ms) past its due time is treated as
   * failing: its last plan is answered as `last-plan`, then `stale-plan`, and UNAVAILABLE past
   * maxOutageSeconds, as when its source fails. Default one minute.
   */
  overdueMs?: number;
  /** Told about every successful refresh and every forgotten object (metrics). */
  observer?: RegistryObserver;
  clock?: () => number;
}

export interface RegistryObserver {
  refreshed(record: RefreshRecord): void;
  /** The last trigger of a ScaledObject was forgotten. */
  forgotten(namespace: string, name: string): void;
  refreshDuration?(seconds: number): void;
  /** Every new plan, with what it is measured against (predicted scale-out notices). */
  planned?(snapshot: PlanSnapshot): void;
}

/**
 * Why the answered value is what it is: the plan's own reason while the source works; while it
 * fails, `last-plan` (within the plan TTL), then `stale-plan` (the same value, older).
 */
export type ServedReason = PlanReason | 'last-plan' | 'stale-plan';

/** Where a trigger stands: answering (`serving`, or the degraded stages) or not. */
export type Stage = 'serving' | 'last-plan' | 'stale-plan' | 'unavailable' | 'not-ready';

export interface Served {
  value: number;
  active: boolean;
  reason: ServedReason;
  model: string | null;
}

/** Nothing is known yet for this trigger (no data has arrived): the RPC answers UNAVAILABLE. */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/**
 * The source has failed for longer than the trigger's maxOutageSeconds: the RPC answers
 * UNAVAILABLE, so KEDA's `fallback` replica count applies (or the HPA holds its replicas).
 */
export class OutageError extends NotReadyError {
  override name = 'OutageError';
}

/** The registry is full: the RPC answers RESOURCE_EXHAUSTED. */
export class CapacityError extends Error {
  override name = 'CapacityError';
}

type Listener = (active: boolean) => void;
/** Told once when the trigger's own metadata is found wrong while nothing is known (the answer would be INVALID_ARGUMENT); the subscription then ends. */
type FaultListener = (err: InvalidRequestError) => void;

export interface EntryState {
  /** The trigger's key: namespace, name and a digest of the canonical metadata. */
  key: string;
  namespace: string;
  name: string;
  /** Short stable id of the trigger's metadata, for logs (several triggers may share a name). */
  trigger: string;
  config: ScalerConfig;
  plan: Plan | null;
  /** Latest observed load (known before the first plan while the first forecast runs; never answered alone). */
  observed: number | null;
  /** When the last plan was made (the registry's clock). */
  lastRefreshAt: number | null;
  /** When the source last answered a good read (the registry's clock): an outage is measured from it. */
  lastGoodAt: number | null;
  lastError: string | null;
  /** The latest read of the source failed: the plan (or observed load) being served is aging. */
  sourceFailing: boolean;
  /** Why the latest read failed (a PrometheusError's reason, `deadline`, `bounds`, …), null when it did not. */
  cause: string | null;
  /**
   * The latest read failed because of the trigger's own metadata (a query Prometheus cannot parse, or
   * one matching several series): before anything is known it is INVALID_ARGUMENT naming the key.
   */
  metadataFault: string | null;
  /**
   * The last plan made with a working forecaster (any plan in reactive or shadow mode) and when: while
   * the forecaster fails, the answer never drops below it nor deactivates, up to maxOutageSeconds.
   */
  goodPlan: { plan: Plan; at: number } | null;
}

interface Entry extends EntryState {
  objectKey: string;
  source: MetricSource;
  /** Null in reactive mode. */
  forecaster: Forecaster | null;
  lastAskedAt: number;
  /**
   * Each subscriber with the activity it was last told (null: nothing yet), so it hears only
   * changes, and what ends it on a metadata fault (StreamIsActive).
   */
  listeners: Map<Listener, { told: boolean | null; onFault?: FaultListener }>;
  pinned: boolean;
  timer: NodeJS.Timeout | null;
  /** The minute the last read's window ended just before: the last one whose offset had passed. */
  readMinute: number | null;
  /** When the next refresh is (or the running one was) due, on the registry's clock and on the source's; null while none is armed. */
  dueAt: { at: number; source: number } | null;
  /** Its last refresh ran past slowRefreshMs and its read failed (a source that hangs): its next one runs only among the detached, never in a slot. */
  slowLast: boolean;
  /** The forecaster's call in flight (settling, never rejecting), kept past its deadline until it settles. */
  forecasting: Promise<void> | null;
  /**
   * What its forecaster's state is the state of (forecastIdentity): a sibling with the same one may
   * hand its state on. Null without a forecaster.
   */
  forecastKey: string | null;
  /** Its first forecast is still to come: its forecaster may start from a sibling's state (seedFromSibling). */
  seedPending: boolean;
  queued: boolean;
  /** Its place in the queue (first come, first served across the sources' queues). */
  queuedSeq: number;
  refreshing: boolean;
  removed: boolean;
  /** The stage last logged, so each change is logged once. */
  loggedStage: Stage;
}

/** What metrics read at scrape time for one trigger: the exporter's row, its stage always known. */
export type TriggerSnapshot = ServedState & { stage: Stage; cause: string | null };

/** Canonical form of a metadata map: the same keys and values in any order give the same string. */
function signatureOf(metadata: Readonly<Record<string, string>>): string {
  const keys = Object.keys(metadata).sort();
  let s = '';
  for (const k of keys) s += `${k}\u0000${metadata[k]}\u0001`;
  return s;
}

/** The default refresh offset: late enough after a minute for Prometheus to have scraped and evaluated it. */
export const DEFAULT_REFRESH_OFFSET_MS = 10_000;
export const DEFAULT_PLAN_TTL_MS = 300_000;
/** How long a new trigger's first forecast waits for a sibling's call in flight to take its state (seedFromSibling). */
const SEED_WAIT_MS = 2_000;
export const DEFAULT_SLOW_REFRESH_MS = 2_000;
/**
 * How long a refresh waits for its forecast: longer than the LSTM inference worker's own deadline
 * (inference-pool.ts, 20 s), so a stuck worker is answered by the gate's baseline first, and short
 * enough that a refresh at the 10 s offset with a 10 s read still ends within its minute.
 */
export const DEFAULT_FORECAST_TIMEOUT_MS = 30_000;
/** The gate's reason when it answered a baseline because its primary model failed (gate.ts). */
const PRIMARY_FAILED: GateReason = 'primary-failed';
/** A timer waits at most this long at once (Node's limit is ~24.8 days; a slow replay can ask for more). */
const MAX_TIMER_MS = 3_600_000;

export class ScaledObjectRegistry {
  private readonly entries = new Map<string, Entry>();
  /** The triggers of each ScaledObject (namespace/name). */
  private readonly objects = new Map<string, Set<Entry>>();
  /**
   * Triggers waiting for a slot, one queue per source (its description: one Prometheus server as its
   * address is written, one replay feed), so the next for a slot is found among the sources, not by
   * walking every trigger waiting behind a source at its share.
   */
  private readonly waiting = new Map<string, Entry[]>();
  /** Triggers whose last read hung, waiting for the detached room (never a slot). */
  private readonly waitingSlow: Entry[] = [];
  private queuedSeq = 0;
  private running = 0;
  /** Slow refreshes that gave their slot back and go on to their deadline. */
  private detached = 0;
  /** Slots held now, by source (its description: one Prometheus server, one replay feed). */
  private readonly slotsBySource = new Map<string, number>();
  /** Triggers registered, by source: each source's share of the slots is an equal part among these. */
  private readonly triggersBySource = new Map<string, number>();
  private pumpScheduled = false;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly offsetMs: number;

  constructor(private readonly opts: RegistryOptions) {
    // Ages (an outage, a plan's TTL, idleness) are measured on a clock that only moves forward,
    // read as epoch ms: the wall clock stepped back an hour held the last plan an hour past
    // maxOutageSeconds (its age negative), and one stepped forward forgot triggers at once.
    const origin = Date.now() - performance.now();
    this.clock = opts.clock ?? (() => origin + performance.now());
    this.log = opts.logger;
    this.offsetMs = opts.refreshOffsetMs ?? DEFAULT_REFRESH_OFFSET_MS;
    if (!(this.offsetMs >= 0 && this.offsetMs < MINUTE_MS)) throw new RangeError(`refreshOffsetMs must be in [0, ${MINUTE_MS}), got ${this.offsetMs}`);
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(opts.idleTimeoutMs / 4, 60_000)));
    this.sweeper.unref();
  }

  /** Triggers registered. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Parses the ref's metadata and returns its configuration, without registering anything: what
   * GetMetricSpec needs, which must answer from metadata alone.
   */
  configOf(ref: ObjectRef): ScalerConfig {
    const entry = this.entries.get(triggerKey(ref, signatureOf(ref.metadata)).key);
    if (entry) return entry.config;
    const config = this.opts.parseMetadata(ref.metadata);
    // What only the source checks (serverAddress with query, credential files) is checked here too,
    // as registering would: a full registry must not answer OK to metadata that can never work.
    this.opts.checkSource?.(config, ref);
    return config;
  }

  /**
   * Registers (or finds) the trigger and marks it as asked for. Throws InvalidRequestError for bad
   * metadata and CapacityError when full.
   */
  touch(ref: ObjectRef, options: { pinned?: boolean } = {}): EntryState {
    if (this.closed) throw new NotReadyError('shutting down');
    const { key, digest } = triggerKey(ref, signatureOf(ref.metadata));
    const now = this.clock();
    let entry = this.entries.get(key);
    if (entry) {
      entry.lastAskedAt = now;
      if (options.pinned) entry.pinned = true;
      return entry;
    }
    const config = this.opts.parseMetadata(ref.metadata);
    if (this.entries.size >= this.opts.maxObjects) {
      throw new CapacityError(`already serving ${this.entries.size} ScaledObjects (--max-objects)`);
    }
    const objectKey = `${ref.namespace}/${ref.name}`;
    const trigger = digest.slice(0, 8);
    const source = this.opts.sourceFor(config, ref);
    let forecaster: Forecaster | null;
    try {
      // The model's state is the trigger's own (its metadata may differ from a sibling's of one name).
      forecaster = this.forecasterOf(config, workloadKey(objectKey, config), `${objectKey}#${trigger}`);
    } catch (err) {
      // Nothing else holds the source: a call that failed here must not leave one open behind it.
      source.close();
      throw err;
    }
    entry = {
      key,
      objectKey,
      namespace: ref.namespace,
      name: ref.name,
      trigger,
      config,
      source,
      forecaster,
      plan: null,
      observed: null,
      lastRefreshAt: null,
      lastGoodAt: null,
      lastError: null,
      sourceFailing: false,
      cause: null,
      metadataFault: null,
      goodPlan: null,
      lastAskedAt: now,
      listeners: new Map(),
      pinned: options.pinned ?? false,
      timer: null,
      readMinute: null,
      dueAt: null,
      slowLast: false,
      forecasting: null,
      forecastKey: forecaster ? forecastIdentity(objectKey, config) : null,
      seedPending: isSeedable(forecaster),
      queued: false,
      queuedSeq: 0,
      refreshing: false,
      removed: false,
      loggedStage: 'not-ready',
    };
    this.entries.set(key, entry);
    const described = entry.source.description;
    this.triggersBySource.set(described, (this.triggersBySource.get(described) ?? 0) + 1);
    let siblings = this.objects.get(objectKey);
    if (!siblings) this.objects.set(objectKey, (siblings = new Set()));
    const others = [...siblings];
    siblings.add(entry);
    this.log.info('registered ScaledObject', { scaledObject: objectKey, trigger, metric: config.metricName, source: entry.source.description, mode: config.mode, forecaster: config.forecaster });
    if (others.length > 0) {
      // Two triggers of one ScaledObject, or a trigger whose metadata changed (the old one is
      // forgotten after the idle timeout once KEDA stops asking for it).
      const sameName = others.filter((o) => o.config.metricName === config.metricName).map((o) => o.trigger);
      this.log[sameName.length > 0 ? 'warn' : 'info']('ScaledObject has several triggers (or its metadata changed): each is served on its own', {
        scaledObject: objectKey,
        triggers: [...others.map((o) => o.trigger), trigger],
        ...(sameName.length > 0 ? { note: `triggers ${[...sameName, trigger].join(', ')} share metricName "${config.metricName}": give each its own metricName to tell them apart in Amadeus's metrics` } : {}),
      });
    }
    this.enqueue(entry);
    return entry;
  }

  /**
   * What to answer now. A failing source never lowers the answer nor deactivates: the last good
   * plan stays in force until the outage passes the trigger's maxOutageSeconds, then OutageError
   * (UNAVAILABLE: KEDA's `fallback` applies); with nothing known yet, NotReadyError.
   */
  served(state: EntryState): Served {
    const { plan, config } = state;
    let base: Served;
    // No plan yet, even with the load read and the first forecast running (a slow model): not the
    // observed load alone, which is at most the plan of the same window and inactive where a forecast
    // may activate. The other replicas KEDA round-robins over have their plan; this one answering
    // less would halve the HPA's metric or idle the workload by turns. UNAVAILABLE holds both.
    if (plan) base = { value: plan.value, active: plan.active, reason: plan.reason, model: plan.model };
    else if (state.sourceFailing && state.metadataFault !== null) {
      // Nothing is known yet and the metadata is why: a clear error, not "no data yet" for ever.
      // (Once a plan exists the same answer is a source fault: the last plan holds.)
      throw new InvalidRequestError(`ScaledObject ${state.namespace}/${state.name}: ${state.metadataFault}`);
    } else throw new NotReadyError(notReadyMessage(state));
    // A refresh stuck in the queue (other triggers' sources hanging hold every slot) is no fresher
    // than a failed read: the plan it would replace ages the same way, to UNAVAILABLE.
    const overdue = !state.sourceFailing && this.overdue(state);
    if (!state.sourceFailing && !overdue) return this.stageNoted(state, 'serving', base);
    const age = this.clock() - (state.lastGoodAt ?? 0);
    const limit = this.maxOutageMs(config);
    if (age > limit) {
      this.stageNoted(state, 'unavailable', null);
      throw new OutageError(
        overdue
          ? `ScaledObject ${state.namespace}/${state.name}: not refreshed for ${formatAge(age)} (maxOutageSeconds ${limit / 1000}): its refresh is overdue (the refreshes in flight hold every slot), answering UNAVAILABLE so KEDA's fallback applies`
          : `ScaledObject ${state.namespace}/${state.name}: the source has failed for ${formatAge(age)} (maxOutageSeconds ${limit / 1000}), ` +
              `answering UNAVAILABLE so KEDA's fallback applies: ${state.lastError ?? 'source failing'}`,
      );
    }
    const stage = age <= (this.opts.planTtlMs ?? DEFAULT_PLAN_TTL_MS) ? 'last-plan' : 'stale-plan';
    return this.stageNoted(state, stage, { ...base, reason: stage });
  }

  /**
   * Whether the trigger's next refresh has waited longer than overdueMs past its due time without
   * starting — on both clocks: a replay's minute passes in a second of real time, and a test's
   * registry clock may jump where the source's does not.
   */
  private overdue(state: EntryState): boolean {
    const entry = this.entries.get(state.key);
    if (!entry || entry.dueAt === null) return false;
    const limit = this.opts.overdueMs ?? MINUTE_MS;
    return this.clock() - entry.dueAt.at > limit && entry.source.now() - entry.dueAt.source > limit;
  }

  /** The metric value to answer now (see served). */
  metricValue(state: EntryState): number {
    return this.served(state).value;
  }

  isActive(state: EntryState): boolean {
    return this.served(state).active;
  }

  /** The stage a trigger is at now, without logging or throwing. */
  stageOf(state: EntryState): { stage: Stage; served: Served | null } {
    try {
      const served = this.served(state);
      return { stage: served.reason === 'last-plan' || served.reason === 'stale-plan' ? served.reason : 'serving', served };
    } catch (err) {
      return { stage: err instanceof OutageError ? 'unavailable' : 'not-ready', served: null };
    }
  }

  /**
   * Every trigger's served state, for metrics at scrape time; triggers with nothing known report
   * nulls. Two triggers of one ScaledObject with the same metricName share their labels: the one
   * asked for most recently is reported.
   */
  servedStates(): TriggerSnapshot[] {
    const rows = new Map<string, { row: TriggerSnapshot; askedAt: number }>();
    for (const e of this.entries.values()) {
      const { stage, served } = this.stageOf(e);
      const row: TriggerSnapshot = {
        namespace: e.namespace,
        name: e.name,
        metric: e.config.metricName === DEFAULT_METRIC_NAME ? undefined : e.config.metricName,
        observed: e.observed,
        planned: served?.value ?? null,
        reason: served?.reason ?? (stage === 'unavailable' ? 'unavailable' : null),
        model: served?.model ?? null,
        stage,
        cause: e.sourceFailing ? e.cause : this.overdue(e) ? 'overdue' : null,
      };
      const k = `${e.objectKey}\u0000${e.config.metricName}`;
      const seen = rows.get(k);
      if (!seen || e.lastAskedAt > seen.askedAt) rows.set(k, { row, askedAt: e.lastAskedAt });
    }
    return [...rows.values()].map((r) => r.row);
  }

  /**
   * Calls `listener` with every change of the trigger's activity (and once with the current state
   * if it is known). Returns the unsubscribe function. A subscribed trigger is never forgotten.
   * A failing source sends nothing: the last activity told stays in force.
   */
  subscribe(state: EntryState, listener: Listener, onFault?: FaultListener): () => void {
    const entry = this.entries.get(state.key);
    if (!entry) throw new NotReadyError(`ScaledObject ${state.namespace}/${state.name} is not registered`);
    // What IsActive would answer now: its INVALID_ARGUMENT (the trigger's own metadata is wrong and
    // nothing is known) is thrown, as IsActive throws it; nothing known yet for another reason waits.
    let active: boolean | null = null;
    try {
      active = this.served(entry).active;
    } catch (err) {
      if (err instanceof InvalidRequestError) throw err;
    }
    entry.listeners.set(listener, { told: active, onFault });
    if (active !== null) listener(active);
    return () => {
      entry.listeners.delete(listener);
      entry.lastAskedAt = this.clock();
    };
  }

  /** Read-only view of a ScaledObject's trigger asked for most recently (for logs, metrics and tests). */
  get(namespace: string, name: string): EntryState | undefined {
    let best: Entry | undefined;
    for (const e of this.objects.get(`${namespace}/${name}`) ?? []) if (!best || e.lastAskedAt >= best.lastAskedAt) best = e;
    return best;
  }

  /** Every trigger of a ScaledObject. */
  triggers(namespace: string, name: string): EntryState[] {
    return [...(this.objects.get(`${namespace}/${name}`) ?? [])];
  }

  /** Stops every loop and releases every source. Refreshes in flight finish but are discarded. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const entry of this.entries.values()) this.remove(entry, 'shutdown');
    this.waiting.clear();
    this.waitingSlow.length = 0;
  }

  private maxOutageMs(config: ScalerConfig): number {
    if (config.maxOutageSeconds !== undefined) return config.maxOutageSeconds * 1000;
    return this.opts.maxOutageMs ?? DEFAULT_MAX_OUTAGE_SECONDS * 1000;
  }

  /** Logs each change of a trigger's stage once: degraded, stale, unavailable. Returns `served`. */
  private stageNoted<T>(state: EntryState, stage: Stage, served: T): T {
    const entry = this.entries.get(state.key);
    if (!entry || entry.loggedStage === stage) return served;
    const previous = entry.loggedStage;
    entry.loggedStage = stage;
    const overdue = !entry.sourceFailing && this.overdue(entry);
    const fields = { scaledObject: entry.objectKey, trigger: entry.trigger, error: entry.lastError ?? undefined, cause: overdue ? 'overdue' : (entry.cause ?? undefined) };
    const failingFor = entry.lastGoodAt === null ? undefined : formatAge(this.clock() - entry.lastGoodAt);
    if (stage === 'last-plan' && overdue) this.log.warn('refresh overdue (the refreshes in flight hold every slot): serving the last good plan', { ...fields, failingFor });
    else if (stage === 'last-plan') this.log.warn('source failing: serving the last good plan', { ...fields, failingFor });
    else if (stage === 'stale-plan') this.log.warn('source still failing: serving the last good plan, now stale', { ...fields, failingFor });
    else if (stage === 'unavailable') {
      this.log.error('source outage past maxOutageSeconds: answering UNAVAILABLE, KEDA\'s fallback applies', { ...fields, failingFor, maxOutageSeconds: this.maxOutageMs(entry.config) / 1000 });
    } else if (stage === 'serving' && previous !== 'not-ready') this.log.info('serving fresh plans again', { scaledObject: entry.objectKey, trigger: entry.trigger, after: previous });
    return served;
  }

  private forecasterOf(config: ScalerConfig, key: string, stateKey: string): Forecaster | null {
    return config.mode === 'reactive' ? null : this.opts.forecasterFor(config.forecaster, key, stateKey);
  }

  private enqueue(entry: Entry): void {
    if (entry.removed || entry.queued || this.closed) return;
    // A refresh in flight schedules the next one itself when it finishes.
    if (entry.refreshing) return;
    entry.queued = true;
    if (entry.dueAt === null) entry.dueAt = { at: this.clock(), source: entry.source.now() };
    entry.queuedSeq = this.queuedSeq++;
    if (entry.slowLast) this.waitingSlow.push(entry);
    else {
      const source = entry.source.description;
      const queue = this.waiting.get(source);
      if (queue) queue.push(entry);
      else this.waiting.set(source, [entry]);
    }
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
    const slowMs = this.opts.slowRefreshMs ?? DEFAULT_SLOW_REFRESH_MS;
    const maxDetached = 4 * this.opts.refreshConcurrency;
    // Triggers whose last read hung run only in the detached refreshes' room, never in a slot:
    // were they taken in turn, enough of them (a Prometheus that hangs for hundreds of triggers)
    // would hold every slot to its deadline, and the triggers of working sources would wait minutes
    // behind them with their plans aging. The others take the slots, first come, first served.
    // They may not fill that room: a slot's worth of it stays for the refreshes in the slots to hand
    // theirs on (a read that starts hanging now), or the slots would stay held and starve the rest.
    const slowRoom = maxDetached - this.opts.refreshConcurrency;
    // The slots are shared out between the sources the triggers read: a source takes more than its
    // share only when no other source's trigger waits and while the detached room has space, so
    // what it takes beyond its share can be handed on if it turns slow (see detach in start). A
    // Prometheus that starts hanging for hundreds of triggers at once (none yet known to hang)
    // would otherwise have them take every slot in turn, each until it is handed on, and keep them
    // to their deadlines once the room is full, while the triggers of the working Prometheus
    // beside it wait minutes behind them (the fault soak of 2026-12-08).
    while (this.waitingSlow.length > 0 && (this.waitingSlow[0]!.removed || this.detached < slowRoom)) {
      const entry = this.waitingSlow.shift()!;
      entry.queued = false;
      if (!entry.removed) this.start(entry, slowMs, maxDetached, true);
    }
    const share = this.slotShare();
    while (this.running < this.opts.refreshConcurrency) {
      const entry = this.nextForSlot(share) ?? (this.detached < maxDetached ? this.nextForSlot(Infinity) : null);
      if (!entry) break;
      entry.queued = false;
      this.start(entry, slowMs, maxDetached, false);
    }
  }

  /**
   * Takes the trigger that has waited longest among the sources holding fewer than `cap` slots (its
   * queue's first: each source's queue is in arrival order), or null. Forgotten triggers at the
   * head of a queue are dropped on the way.
   */
  private nextForSlot(cap: number): Entry | null {
    let best: { source: string; queue: Entry[] } | null = null;
    for (const [source, queue] of this.waiting) {
      while (queue.length > 0 && queue[0]!.removed) queue.shift()!.queued = false;
      if (queue.length === 0) {
        this.waiting.delete(source);
        continue;
      }
      if ((this.slotsBySource.get(source) ?? 0) >= cap) continue;
      if (!best || queue[0]!.queuedSeq < best.queue[0]!.queuedSeq) best = { source, queue };
    }
    if (!best) return null;
    const entry = best.queue.shift()!;
    if (best.queue.length === 0) this.waiting.delete(best.source);
    return entry;
  }

  /** The slots each source may hold while another's trigger waits: an equal part for every source the triggers read. */
  private slotShare(): number {
    return Math.max(1, Math.floor(this.opts.refreshConcurrency / Math.max(1, this.triggersBySource.size)));
  }

  /** Starts a refresh in a slot (handed on once it runs past slowMs), or among the detached ones from the start (`detachedFromStart`). */
  private start(entry: Entry, slowMs: number, maxDetached: number, detachedFromStart: boolean): void {
    // A refresh that starts overdue keeps its due time until it ends (schedule() arms the next): its
    // plan goes on aging while it runs, as it did while it waited — not fresh again for the length of
    // a read that may fail anyway (KEDA would see UNAVAILABLE, a value, UNAVAILABLE). One that
    // starts on time is not overdue while it runs: its deadlines bound it.
    if (!this.overdue(entry)) entry.dueAt = null;
    entry.refreshing = true;
    const started = performance.now();
    let holding = !detachedFromStart;
    let detached = detachedFromStart;
    const source = entry.source.description;
    if (detachedFromStart) this.detached++;
    else {
      this.running++;
      this.slotsBySource.set(source, (this.slotsBySource.get(source) ?? 0) + 1);
    }
    const release = () => {
      if (!holding) return;
      holding = false;
      this.running--;
      const held = (this.slotsBySource.get(source) ?? 1) - 1;
      if (held > 0) this.slotsBySource.set(source, held);
      else this.slotsBySource.delete(source);
      this.schedulePump();
    };
    // A refresh waiting on a slow source (until its deadline) hands its slot on: the queue moves.
    // While as many as may be are detached already, it asks again every slowMs — unless its source
    // holds more than its share (taken while no other source's trigger waited, the room then not
    // full): then it may go beyond the room, by at most a slot's worth, or the other sources'
    // triggers would wait out its deadline.
    const detach = () => {
      const overShare = (this.slotsBySource.get(source) ?? 0) > this.slotShare();
      if (this.detached >= maxDetached && !(overShare && this.detached < maxDetached + this.opts.refreshConcurrency)) {
        slow = setTimeout(detach, slowMs);
        slow.unref();
        return;
      }
      this.detached++;
      detached = true;
      release();
    };
    let slow: NodeJS.Timeout | undefined = detachedFromStart ? undefined : setTimeout(detach, slowMs);
    slow?.unref();
    this.refresh(entry)
      .catch((err: unknown) => this.log.error('refresh failed unexpectedly', { scaledObject: entry.objectKey, trigger: entry.trigger, error: err }))
      .finally(() => {
        clearTimeout(slow);
        if (detached) {
          this.detached--;
          this.schedulePump();
        }
        // Slow and failed: a source that hangs or trickles to its deadline. A slow read that
        // answered keeps its turn: the source works, it is only busy.
        entry.slowLast = entry.sourceFailing && performance.now() - started > slowMs;
        release();
        entry.refreshing = false;
        this.schedule(entry);
        this.schedulePump();
      });
  }

  /**
   * Arms the next refresh: at the offset of the first minute (of the source's clock) not read yet, so
   * never one window twice (a timer that fired early); a first refresh before the offset read the
   * minute before, so this minute's offset comes next. A refresh that overran its minute's
   * successor's offset is followed at once, reading the minute then ended; minutes wholly overrun
   * are skipped, never queued up.
   */
  private schedule(entry: Entry): void {
    if (entry.removed || this.closed) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.dueAt = null;
    const current = floorMinute(entry.source.now());
    // The clock went back before the window already read (the wall clock stepped, a replay
    // restarted): the refreshes go on at the minutes it now reads, rather than stop until it gets
    // back there — an hour without a read, the plan frozen and a failing source never noticed.
    if (this.wentBack(entry, current)) return this.arm(entry, current + this.offsetMs);
    this.arm(entry, (entry.readMinute === null ? current : Math.max(current, entry.readMinute + MINUTE_MS)) + this.offsetMs);
  }

  /** Whether the source's clock now reads a minute (`current`) more than a minute before the window last read ended. */
  private wentBack(entry: Entry, current: number): boolean {
    // A step of seconds (NTP slewing past a minute's start, a replay's clock at 60×) is waited out: the
    // next refresh is at most a minute later. Re-reading at once would ask for a window already read.
    if (entry.readMinute === null || current >= entry.readMinute - MINUTE_MS) return false;
    this.log.warn('the source\'s clock went back: refreshing at the minutes it now reads', {
      scaledObject: entry.objectKey,
      trigger: entry.trigger,
      now: new Date(current).toISOString(),
      lastRead: new Date(entry.readMinute).toISOString(),
    });
    entry.readMinute = null;
    return true;
  }

  /** Waits, in real time, until the source's clock reads `due`, then queues the refresh. */
  private arm(entry: Entry, due: number): void {
    if (entry.removed || this.closed) return;
    const wait = msUntil(entry.source, due);
    if (entry.dueAt === null) entry.dueAt = { at: this.clock() + Math.max(0, wait), source: due };
    if (wait <= 0) return this.enqueue(entry);
    // A timer may fire a little early, and a long wait is cut up: each wake-up checks the clock again.
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.wentBack(entry, floorMinute(entry.source.now()))) this.schedule(entry);
      else this.arm(entry, due);
    }, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  }

  private async refresh(entry: Entry): Promise<void> {
    const started = this.clock();
    const config = entry.config;
    const forecaster = entry.forecaster;
    const signals = new Set(config.mode === 'predictive' ? config.signals : []);
    const modelMinutes = Math.max(config.historyMinutes, forecaster ? forecaster.historyMinutes(config.historyMinutes) : 0);
    const minutes = Math.max(modelMinutes, signals.size > 0 ? signalHistoryMinutes(config.horizonMinutes, signals) : 0);
    // The window the peers plan on: ending at the last minute whose offset has passed. Before this
    // minute's offset (a trigger first asked for then) that is the minute before: the minute just
    // ended may not have landed yet, and the peers did not read it. The next refresh reads a later one.
    const end = floorMinute(entry.source.now() - this.offsetMs);
    entry.readMinute = end;

    let observed: number;
    let history: History;
    // The whole read, every request of it, within timeoutSeconds: a source that trickles or hangs
    // fails the read at the deadline (and the refresh ends), it does not hold it.
    const deadline = deadlineSignal(config.timeoutSeconds * 1000);
    try {
      const read = await untilAborted(entry.source.read(minutes, deadline.signal, end), deadline.signal);
      ({ history, observed } = checkSamples(read, config.maxValue));
    } catch (err) {
      if (!entry.removed) this.sourceFailed(entry, err);
      return;
    } finally {
      deadline.clear();
    }
    if (entry.removed) return;
    if (history.partial !== undefined) return this.partialRead(entry, history, observed, signals, started);
    // The plan in force until the forecast answers (up to forecastTimeoutMs) is from before this read:
    // after a failing or overdue spell past --plan-ttl or the trigger's maxOutageSeconds (a
    // `stale-plan`, or UNAVAILABLE) it may be hours old, and answering it as fresh would drop a
    // trigger from UNAVAILABLE to less than the load just read. So it is raised to the reactive plan
    // of that load first (never lowered), as a partial answer raises it. Not on a younger plan: it
    // was answered through the spell already. Only after a failing read or a refresh that started
    // overdue: a healthy trigger whose refresh merely ran later than the last (a short
    // maxOutageSeconds, a later place in the queue) has no such spell behind it.
    const spell = Math.min(this.opts.planTtlMs ?? DEFAULT_PLAN_TTL_MS, this.maxOutageMs(config));
    const late = entry.sourceFailing || entry.dueAt !== null;
    const behind = late && entry.lastGoodAt !== null && this.clock() - entry.lastGoodAt > spell;
    entry.observed = observed;
    entry.lastGoodAt = this.clock();
    entry.sourceFailing = false;
    entry.cause = null;
    entry.metadataFault = null;
    // The observed load's plan alone (no signals: they read the whole window, and a fault soak's
    // hundreds of triggers recovering each minute doubled that work until refreshes fell overdue),
    // logged at debug: the refresh's own line follows within the forecast's deadline.
    if (behind) this.raisePlan(entry, planOf(config, history, observed, null, NO_SIGNALS), 'plan raised by the load read after a failing or late spell, until the forecast answers', started, 'debug');

    let forecast: Forecast | null = null;
    let forecastError: string | null = null;
    if (forecaster) {
      try {
        // Exactly the window the model asked for, as the simulator hands it: a model may use all it
        // is given (Holt-Winters runs over the whole of it), so the signals' longer read must not leak in.
        const got = await this.forecastWithin(entry, forecaster, { history: lastMinutes(history, modelMinutes), horizon: config.horizonMinutes, requested: config.historyMinutes });
        // A forecast the planner would read wrong (NaN minutes skipped, a NaN quantile ignored) is no
        // forecast: a failure, so it cannot replace the last good plan.
        const unusable = unusableForecast(got, config.horizonMinutes, config.quantile);
        if (unusable === null) forecast = got;
        else forecastError = `forecaster ${forecaster.name}: ${unusable}`;
      } catch (err) {
        forecastError = `forecaster ${forecaster.name}: ${messageOf(err)}`;
      }
    }
    if (entry.removed) return;
    // A gate whose primary model failed answers a baseline: a usable forecast, planned on, but made
    // because of an error, so it is held like one (never below the last good plan) and replaces nothing.
    const primaryFailed = forecast?.gate?.reason === PRIMARY_FAILED;
    const failure = forecastError ?? (primaryFailed ? `forecaster ${forecaster!.name}: its primary model failed; answering ${forecast!.model}` : null);
    const at = history.start + history.requests.length * MINUTE_MS;

    let plan = planOf(config, history, observed, forecast, signals);
    const made = plan;
    if (failure === null) entry.goodPlan = { plan, at: this.clock() };
    else if (config.mode === 'predictive') plan = this.heldThroughForecastError(entry, plan, primaryFailed ? `the plan of ${forecast!.model}` : 'the reactive plan');
    entry.plan = plan;
    entry.lastRefreshAt = this.clock();
    if (failure) this.noteError(entry, failure);
    else this.clearError(entry);
    this.stageNoted(entry, 'serving', null);

    this.log[this.opts.refreshLogLevel ?? 'info']('refresh', {
      scaledObject: entry.objectKey,
      trigger: entry.trigger,
      // The minute the history ends just before (virtual time for a replay): the one in progress, or
      // the one before it for a refresh before the offset.
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
      capped: plan.capped ? config.maxValue : undefined,
      gate: forecast?.gate?.reason,
      gateMae: forecast?.gate?.mae,
      note: forecast?.note,
      active: plan.active,
      // The last good plan held the value or activity up through a forecaster failure.
      held: plan !== made ? true : undefined,
      durationMs: this.clock() - started,
    });
    this.tell(entry, plan.active);
    try {
      this.opts.observer?.refreshed({ namespace: entry.namespace, name: entry.name, at, observed, horizon: config.horizonMinutes, forecast });
      this.opts.observer?.refreshDuration?.((this.clock() - started) / 1000);
      this.opts.observer?.planned?.({ namespace: entry.namespace, name: entry.name, trigger: entry.trigger, plan, targetValue: config.targetValue, horizonMinutes: config.horizonMinutes });
    } catch (err) {
      this.log.warn('metrics observer failed', { scaledObject: entry.objectKey, error: err });
    }
  }

  /** Tells each subscriber the trigger's activity when it differs from what it was told last. */
  private tell(entry: Entry, active: boolean): void {
    for (const [listener, sub] of entry.listeners) {
      if (sub.told === active) continue;
      sub.told = active;
      listener(active);
    }
  }

  /**
   * The source answered, but said its answer may be incomplete (Prometheus's or Thanos's warnings: a
   * store or remote read missing), so the load it shows may be undercounted. Such a read counts as a
   * failed one (cause `partial`: the outage clock runs, the last good plan stays in force, then
   * UNAVAILABLE past maxOutageSeconds) except that what it shows may raise the plan in force, value
   * and activity, never lower it: a surge seen by half the shards is still a surge. No forecast is
   * asked (a model must not learn from, nor be judged on, undercounted minutes), so the raise comes
   * from the observed load and the signals; with no plan yet, nothing is served from it.
   */
  private partialRead(entry: Entry, history: History, observed: number, signals: ReadonlySet<SignalName>, started: number): void {
    const config = entry.config;
    entry.sourceFailing = true;
    entry.cause = 'partial';
    entry.metadataFault = null;
    this.noteError(entry, `source ${entry.source.description}: ${history.partial}`);
    if (entry.plan !== null) this.raisePlan(entry, planOf(config, history, observed, null, signals), 'plan raised by a partial answer', started);
    // The stage as of now (last-plan, stale-plan, unavailable, not ready), logged on change.
    try {
      this.served(entry);
    } catch {
      // Nothing to answer yet, or the outage has passed maxOutageSeconds: served() noted it.
    }
  }

  /** The plan in force raised to `seen`'s value and activity where they are higher (never lowered); logged when raised. */
  private raisePlan(entry: Entry, seen: Plan, message: string, started: number, level: 'info' | 'debug' = 'info'): void {
    const previous = entry.plan;
    if (previous === null || !(seen.value > previous.value || (seen.active && !previous.active))) return;
    entry.plan = { ...previous, value: Math.max(seen.value, previous.value), active: seen.active || previous.active };
    this.log[level](message, {
      scaledObject: entry.objectKey,
      trigger: entry.trigger,
      observed: round(seen.observed),
      planned: round(entry.plan.value),
      previous: round(previous.value),
      active: entry.plan.active,
      durationMs: this.clock() - started,
    });
    this.tell(entry, entry.plan.active);
  }

  /**
   * The forecaster failed, so `plan` is the reactive one (observed load), or the plan of the baseline
   * a gate fell back to: an error must not remove capacity the last good plan provisioned nor
   * deactivate, so the answer is the larger of the two while the last good plan is younger than
   * maxOutageSeconds; after that, `plan` alone (the source still answers, so the observed load is
   * fresh), logged once. `what` names `plan` in that line.
   */
  private heldThroughForecastError(entry: Entry, plan: Plan, what: string): Plan {
    const good = entry.goodPlan;
    if (!good) return plan;
    const age = this.clock() - good.at;
    if (age > this.maxOutageMs(entry.config)) {
      this.log.warn(`forecaster failing past maxOutageSeconds: answering ${what}`, { scaledObject: entry.objectKey, trigger: entry.trigger, failingFor: formatAge(age) });
      entry.goodPlan = null;
      return plan;
    }
    if (plan.value >= good.plan.value && (plan.active || !good.plan.active)) return plan;
    return { ...plan, value: Math.max(plan.value, good.plan.value), active: plan.active || good.plan.active };
  }

  /**
   * The forecaster's answer within `forecastTimeoutMs`, else a DeadlineError. One call per trigger at
   * a time: a call still running past an earlier refresh's deadline is waited for (within this
   * refresh's deadline) before the next is made, so a hung model is not handed one more call, and
   * one more history to hold, every minute. (Stateful forecasters answer in call order anyway.)
   */
  private async forecastWithin(entry: Entry, forecaster: Forecaster, request: ForecastRequest): Promise<Forecast> {
    const ms = this.opts.forecastTimeoutMs ?? DEFAULT_FORECAST_TIMEOUT_MS;
    const deadline = deadlineSignal(ms);
    try {
      if (entry.forecasting) await untilAborted(entry.forecasting, deadline.signal, () => new DeadlineError(ms, 'its previous forecast is still running'));
      if (entry.seedPending) await this.seedFromSibling(entry, forecastOrigin(request.history), Math.min(ms, SEED_WAIT_MS));
      let call: Promise<Forecast>;
      try {
        call = forecaster.forecast(request);
      } catch (err) {
        call = Promise.reject(err);
      }
      const settled = call.then(
        () => undefined,
        () => undefined,
      );
      entry.forecasting = settled;
      void settled.then(() => {
        if (entry.forecasting === settled) entry.forecasting = null;
      });
      return await untilAborted(call, deadline.signal);
    } finally {
      deadline.clear();
    }
  }

  /**
   * Before a new trigger's first forecast: when a sibling (same ScaledObject) forecasts the same
   * series the same way — a metadata edit of planner settings alone, or a second trigger differing
   * only in them — the new forecaster starts from the sibling's state (the gate's live record, the
   * calibration) rather than from nothing, where the gate would answer a baseline through its
   * warm-up. The sibling's call in flight is waited for, up to `waitMs` (a hung sibling must not
   * spend this forecast's deadline): its state is whole only between calls. A sibling already past
   * this forecast's origin `origin` (a first read of the minute before the offset, slow enough for
   * the sibling to step the next) is not taken: a state cannot be stepped back. Every replica seeds from its own copy of the sibling, and each copy
   * steps alike (sync.ts), so they stay alike. Nothing is carried over when nothing fits.
   */
  private async seedFromSibling(entry: Entry, origin: number, waitMs: number): Promise<void> {
    entry.seedPending = false;
    const target = entry.forecaster;
    if (!isSeedable(target) || target.lastOrigin !== null) return;
    let from: (Entry & { forecaster: SeedableForecaster }) | null = null;
    for (const o of this.objects.get(entry.objectKey) ?? []) {
      const f = o.forecaster;
      if (o === entry || o.removed || o.forecastKey !== entry.forecastKey || !isSeedable(f) || f.lastOrigin === null) continue;
      if (!from || f.lastOrigin > from.forecaster.lastOrigin!) from = o as Entry & { forecaster: SeedableForecaster };
    }
    if (!from) return;
    const fields = { scaledObject: entry.objectKey, trigger: entry.trigger, from: from.trigger };
    try {
      if (from.forecasting) {
        const wait = deadlineSignal(waitMs);
        try {
          await untilAborted(from.forecasting, wait.signal, () => new DeadlineError(waitMs, 'the sibling\'s forecast is still running'));
        } finally {
          wait.clear();
        }
      }
      // Another call of the sibling's may have started meanwhile (its next minute): its state is mid-step.
      if (from.forecasting || entry.removed) return;
      const seed = from.forecaster.exportSeed();
      if (!seed) return;
      if (seed.origin > origin) {
        this.log.debug('a sibling trigger\'s forecasting state is already past this forecast\'s minute: starting from nothing', { ...fields, stateAt: new Date(seed.origin).toISOString() });
        return;
      }
      target.importSeed(seed);
      this.log.info('forecasting state carried over from a trigger of the same series and forecast', { ...fields, stateAt: new Date(seed.origin).toISOString() });
    } catch (err) {
      this.log.warn('could not carry the forecasting state over from a sibling trigger; starting from nothing', { ...fields, error: messageOf(err) });
    }
  }

  /** A read failed (I/O, deadline, bad samples): the last good plan stays in force, the error is noted. */
  private sourceFailed(entry: Entry, err: unknown): void {
    entry.sourceFailing = true;
    entry.cause = causeOf(err);
    entry.metadataFault = metadataFaultOf(err);
    this.noteError(entry, `source ${entry.source.description}: ${messageOf(err)}`);
    // The stage (last-plan, stale-plan, unavailable) as of now, logged on change; and what IsActive
    // answers now: its INVALID_ARGUMENT ends a stream waiting for a first state for ever on
    // metadata that cannot work (KEDA reports it and opens a new one later).
    try {
      this.served(entry);
    } catch (err) {
      if (!(err instanceof InvalidRequestError)) return;
      for (const [listener, sub] of [...entry.listeners]) {
        if (!sub.onFault) continue;
        entry.listeners.delete(listener);
        sub.onFault(err);
      }
    }
  }

  /** Logs an error only when it differs from the last one: once per change, not once per poll. */
  private noteError(entry: Entry, message: string): void {
    if (entry.lastError === message) return;
    entry.lastError = message;
    this.log.warn('refresh degraded', { scaledObject: entry.objectKey, trigger: entry.trigger, error: message, cause: entry.sourceFailing ? entry.cause : undefined, servingPlan: entry.plan !== null });
  }

  private clearError(entry: Entry): void {
    if (entry.lastError === null) return;
    this.log.info('refresh recovered', { scaledObject: entry.objectKey, trigger: entry.trigger, previousError: entry.lastError });
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
    const described = entry.source.description;
    const triggers = (this.triggersBySource.get(described) ?? 1) - 1;
    if (triggers > 0) this.triggersBySource.set(described, triggers);
    else this.triggersBySource.delete(described);
    const siblings = this.objects.get(entry.objectKey);
    siblings?.delete(entry);
    if (!siblings || siblings.size === 0) {
      this.objects.delete(entry.objectKey);
      this.opts.observer?.forgotten(entry.namespace, entry.name);
    }
    if (why !== 'shutdown') this.log.info('forgot ScaledObject trigger', { scaledObject: entry.objectKey, trigger: entry.trigger, reason: why });
  }
}

/**
 * Why the planner cannot use `f` for `horizon` minutes, or null: every value sent to KEDA is finite
 * and >= 0, and makePlan would silently skip a NaN minute or quantile (planning on less than the
 * model said), so a forecast of the wrong length, or with a value (or the requested quantile of the
 * horizon maximum) that is not a finite number >= 0, is a forecaster failure.
 */
export function unusableForecast(f: Forecast | null | undefined, horizon: number, quantile?: string): string | null {
  if (!f || !Array.isArray(f.values)) return 'returned no forecast values';
  if (f.values.length !== horizon) return `returned ${f.values.length} values for a horizon of ${horizon} minutes`;
  const bad = f.values.findIndex((v) => !isUsable(v));
  if (bad >= 0) return `returned ${String(f.values[bad])} for minute ${bad + 1} of the horizon (values must be finite and >= 0)`;
  const q = quantile === undefined ? undefined : f.maxQuantiles?.[quantile];
  if (q !== undefined && !isUsable(q)) return `returned ${String(q)} for quantile ${quantile} of the horizon maximum (values must be finite and >= 0)`;
  return null;
}

const isUsable = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;


/**
 * The key a stateful forecaster keeps per-workload state under (fine-tuned weights on disk):
 * "namespace/name" (with "_metricName" for a named trigger; no Kubernetes name holds "_") and "~"
 * with 8 hex digits of the series it forecasts (server, query, replay scale). Weights learn one
 * series: two triggers of one ScaledObject with one metricName but different queries must not train
 * and overwrite each other's, while a change of planner settings (a new trigger on the same series)
 * keeps them.
 */
function workloadKey(objectKey: string, config: Pick<ScalerConfig, 'metricName' | 'serverAddress' | 'query' | 'replayScale'>): string {
  const series = createHash('sha256').update(JSON.stringify([config.serverAddress ?? null, config.query ?? null, config.replayScale])).digest('hex').slice(0, 8);
  return `${config.metricName === DEFAULT_METRIC_NAME ? objectKey : `${objectKey}_${config.metricName}`}~${series}`;
}

/**
 * What a trigger's forecaster state is the state of: the series (workloadKey, with the CPU and memory
 * queries a model may read, the credentials and the samples' ceiling) and the forecast asked of it
 * (model, horizon, history). Planner settings (headroom, margins, signals, quantile, targetValue,
 * activationValue) are not in it: they never reach the forecaster.
 */
function forecastIdentity(objectKey: string, config: ScalerConfig): string {
  // maxValue: an older sample above it is a gap in the history the model is handed (samples.ts).
  // The credentials: behind one URL they may choose the tenant, so the series.
  const { cpuQuery, memoryQuery, maxValue, authModes, usernameFile, passwordFile, bearerTokenFile, certFile } = config;
  return JSON.stringify([workloadKey(objectKey, config), cpuQuery, memoryQuery, maxValue, authModes, usernameFile, passwordFile, bearerTokenFile, certFile, config.forecaster, config.horizonMinutes, config.historyMinutes]);
}

function isSeedable(f: Forecaster | null): f is Forecaster & SeedableForecaster {
  const g = f as Partial<SeedableForecaster> | null;
  return !!g && typeof g.exportSeed === 'function' && typeof g.importSeed === 'function';
}

/**
 * A trigger's key: its object and a digest of its canonical metadata. The digest, not the metadata
 * itself: a key then costs the same whatever KEDA sends (values up to the server's 1 MiB request limit, and KEDA's own
 * connection keys, TLS material included, that are not ours to keep).
 */
function triggerKey(ref: { namespace: string; name: string }, signature: string): { key: string; digest: string } {
  const digest = createHash('sha256').update(signature).digest('hex');
  return { key: `${ref.namespace}/${ref.name}\u0000${digest}`, digest };
}

function notReadyMessage(state: EntryState): string {
  const name = `${state.namespace}/${state.name}`;
  if (state.observed !== null && !state.sourceFailing) return `no data yet for ScaledObject ${name}: its first forecast has not answered yet`;
  return state.lastError ? `no data yet for ScaledObject ${name}: ${state.lastError}` : `no data yet for ScaledObject ${name}: the first refresh has not completed`;
}

/** The plan of one refresh: the observed load, the forecast (if any) and the signals on `history`. */
const NO_SIGNALS: ReadonlySet<SignalName> = new Set();

function planOf(config: ScalerConfig, history: History, observed: number, forecast: Forecast | null, signals: ReadonlySet<SignalName>): Plan {
  // The noise scale is fitted on the object's own history window, not on the longer one a model may read.
  const noise = config.noiseMargin > 0 || config.surgeNoiseMargin > 0 || signals.size > 0 ? noiseScale(history.requests, config.historyMinutes) : null;
  return makePlan({
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
    maxValue: config.maxValue,
  });
}

/** `metadata "KEY": …` when a source error names the metadata key at fault, else null. */
function metadataFaultOf(err: unknown): string | null {
  const field = typeof err === 'object' && err !== null && 'metadataField' in err ? (err as { metadataField: unknown }).metadataField : undefined;
  if (typeof field !== 'string') return null;
  const message = messageOf(err);
  return message.startsWith(`metadata "${field}"`) ? message : `metadata "${field}": ${message}`;
}

/** The failure's kind for metrics: a source error's own reason when it has one. */
function causeOf(err: unknown): string {
  const reason = typeof err === 'object' && err !== null && 'reason' in err ? (err as { reason: unknown }).reason : undefined;
  return typeof reason === 'string' && /^[a-z-]{1,20}$/.test(reason) ? reason : 'error';
}

/** 95 s → "1m35s". */
function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
