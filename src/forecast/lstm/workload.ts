/**
 * The LSTM for one workload: the shared pre-trained model until a fine-tuned copy has earned its
 * place. Fine-tuning rounds run in the worker pool from the history the forecasts already receive
 * (no extra reads), at most once per interval; accepted weights are persisted per workload so a
 * restart keeps them.
 *
 * Timing is the history's, not the wall clock's: a round starts when the forecast origin is an
 * interval past the last round's, and its weights answer from FINE_TUNE_EFFECT_MINUTES after that
 * origin on. So the same histories give the same forecasts however fast the machine trains —
 * `amadeus simulate` (which awaits rounds at most every DEFAULT_BATCH_MINUTES) and `amadeus serve`
 * (which refreshes once a minute) answer alike, as do replicas.
 *
 * With several replicas (docs/adr/0003-replica-state.md) only the workload's owner runs rounds,
 * under a per-workload lock, and publishes accepted weights as a new version on the shared volume
 * with the minute they answer from; every replica checks for a new version once a minute and
 * switches at that same minute. Earlier versions stay loaded while a replay may still reach back
 * to their minutes, so a replayed minute is forecast with the weights that answered it.
 */
import { access } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { Logger } from '../../telemetry/logger.js';
import type { Forecast } from '../../series/forecast.js';
import type { ForecastRequest, Forecaster } from '../types.js';
import { forecastOrigin } from '../gate.js';
import { MINUTE_MS } from '../../series/minute.js';
import { LstmForecaster } from './forecaster.js';
import type { FineTunePool } from './finetune-pool.js';
import { roundSlots, type RoundSlots } from './round-slots.js';
import { roundReadMinutes } from './finetune.js';
import { isBlendRecord, recordToContinue, type BlendRecord } from './blend-record.js';
import type { InferencePool } from './inference-pool.js';
import { getWeights, loadModel, modelFiles, modelFromFiles, setWeights } from './io.js';
import { fileWeightsStore, LineageGone, SHARED_VOLUME_TIMEOUT_MS, type WeightsStore } from '../../replicas/shared-dir.js';
import type { Seen } from '../../replicas/publish.js';
import { VersionCursor } from '../../replicas/version-cursor.js';
import { sharedVolume, VolumeBusyError, type VolumeGate } from '../volume-ops.js';
import { within } from '../../deadline/deadline.js';
import { UsageError } from '../../config/options.js';
import { checkMeta, type LstmMeta } from './meta.js';
import { createModel } from './model.js';

/**
 * The per-workload round lock as a workload uses it (round-lock.ts). The optional parts keep the
 * schedule across restarts and takeovers: without them a process knows of the rounds it ran and of
 * the weights accepted rounds published, and a workload first seen by it waits an interval.
 */
export interface RoundLockLike {
  acquire(key: string): Promise<boolean>;
  /** Like acquire, but not taken when a round ran to its end less than `intervalMs` before `origin` (lastRound: when). */
  acquireRound?(key: string, round: { origin: number; intervalMs: number }): Promise<{ taken: boolean; lastRound: number | null }>;
  /** `ranAt`: the origin of the round that ran under it (null: none ran), recorded for the next round anywhere. */
  release(key: string, ranAt?: number | null): Promise<void>;
  holds?(key: string): boolean;
  /** When the workload was first seen and its last round ran, as recorded. */
  recall?(key: string): Promise<{ firstSeen: number | null; lastRound: number | null }>;
  noteFirstSeen?(key: string, at: number): Promise<void>;
}

export interface LstmRuntime {
  /** The pre-trained model, shared (and batched) by every workload without fine-tuned weights. */
  shared: LstmForecaster;
  /** Null: fine-tuning off. */
  pool: FineTunePool | null;
  /** Runs inference in a worker thread; absent: on the calling thread. */
  inference?: InferencePool | null;
  /** Where accepted per-workload weights are published (the shared volume); null: not kept. */
  weightsDir: string | null;
  /** The published weights; absent: the file store over weightsDir. */
  weights?: WeightsStore | null;
  /** Whether this replica fine-tunes `key` (it owns it); absent: every workload is this replica's. */
  owns?: (key: string) => boolean;
  /**
   * The exclusive right to run a round of `key` across replicas (a Lease); absent: always granted.
   * acquire resolves false when another replica holds it.
   */
  roundLock?: RoundLockLike | null;
  fineTuneIntervalMs: number;
  /** History each fine-tuning round learns from (minutes). */
  fineTuneHistoryMinutes: number;
  /** Rounds also choose a blend toward a baseline (finetune.ts `chooseBlend`, `--fine-tune-blend`). */
  fineTuneBlend?: boolean;
  /**
   * Rounds allowed to wait for the worker at once, those taking their round lock included (default
   * 16, about 11 s of work). A round that would queue behind more is tried again at the next
   * minute's refresh: the backlog stays bounded, and workloads that all came due at once (a restart)
   * are worked through over the following minutes rather than pushed back a whole interval each time
   * they collide.
   */
  maxPendingRounds?: number;
  log: Logger;
  /** Every live workload's LSTM (for metrics: owned workloads, versions, fine-tuning lag). */
  workloads?: Set<WorkloadLstm>;
  /** Wall clock, for the time stamp of accepted weights only. */
  clock?: () => number;
  /**
   * Deadline of publishing accepted weights (ms); default SHARED_VOLUME_TIMEOUT_MS. Past it the round
   * fails and releases its lock: a hung volume must not keep the workload's lock renewed indefinitely.
   */
  publishTimeoutMs?: number;
  /**
   * The process-wide bound on shared-volume operations outstanding (volume-ops.ts); default the
   * process's one. An operation it refuses fails like any other, and is tried again later.
   */
  volume?: VolumeGate;
}

/**
 * Minutes from the origin a round learned up to until its weights answer: longer than a round takes
 * (seconds), than the simulator's forecast batches (10 minutes) and than publishing and every
 * replica's next look at the shared volume (a minute), so none of them changes which minute a new
 * model first answers.
 */
export const FINE_TUNE_EFFECT_MINUTES = 10;

/**
 * Minutes between two rounds of one workload, in serve and in simulate alike: a round learns from
 * two days, so a quarter of a day between rounds follows a workload's change while 1,000 workloads
 * cost a fraction of a core (BENCHMARKS.md).
 */
export const DEFAULT_FINE_TUNE_INTERVAL_MINUTES = 360;

/**
 * The longest fine-tuning interval (minutes) whose refresh read still fits in `readLimit` minutes (a
 * source's largest window): a round choosing a blend reads the interval and the baselines' days
 * before its span (roundReadMinutes), and serve's state sync reads `catchUpMinutes` more.
 */
export function maxFineTuneIntervalMinutes(readLimit: number, catchUpMinutes: number, horizonMinutes: number): number {
  return readLimit - catchUpMinutes - roundReadMinutes(0, 0, horizonMinutes, true);
}

/**
 * Refuses (a UsageError naming the flag and the numbers) a fine-tuning interval whose refresh read,
 * with the model actually loaded, exceeds `readLimit` minutes. The flag's own bound
 * (MAX_FINE_TUNE_INTERVAL_SECONDS) assumes the horizon `amadeus train` gives its models; a model
 * with a longer one makes every round read more, and every read of every LSTM trigger would fail at
 * run time. Only rounds that choose a blend read the interval; without fine-tuning nothing does.
 */
export function checkFineTuneInterval(rt: Pick<LstmRuntime, 'shared' | 'pool' | 'fineTuneIntervalMs' | 'fineTuneHistoryMinutes' | 'fineTuneBlend'>, readLimit: number, catchUpMinutes: number): void {
  if (!rt.pool || rt.fineTuneBlend !== true) return;
  const horizon = rt.shared.meta.shape.horizonMinutes;
  const max = maxFineTuneIntervalMinutes(readLimit, catchUpMinutes, horizon);
  const interval = Math.ceil(rt.fineTuneIntervalMs / MINUTE_MS);
  if (interval <= max) return;
  const reads = catchUpMinutes + roundReadMinutes(rt.fineTuneHistoryMinutes, interval, horizon, true);
  throw new UsageError(
    `--fine-tune-interval ${rt.fineTuneIntervalMs / 1000} s is too long for the loaded model (horizon ${horizon} min): a refresh would read ${reads} minutes, more than a source read may hold (${readLimit}); ` +
      (max * 60 >= 600 ? `at most ${max * 60} s with this model, or --no-fine-tune-blend` : 'use --no-fine-tune-blend with this model'),
  );
}

export const DEFAULT_MAX_PENDING_ROUNDS = 16;

/**
 * Deadline of each read of the published weights when a workload first appears (ms): nothing waits on
 * it but the background load (and a first forecast, FIRST_LOAD_WAIT_MS at most), so it may wait its turn for the volume (volume-ops.ts) behind the
 * reads of many workloads appearing at once. A load that fails is made good by the next minute's
 * look at the volume.
 */
const LOAD_TIMEOUT_MS = 60_000;
/**
 * How long a workload's first forecast waits for the weights already published (their load at
 * start). Under the registry's slow-refresh mark (2 s), so waiting refreshes keep their queue moving;
 * a healthy volume loads within it. Past it, or with the volume refusing (hung), the pre-trained
 * model answers meanwhile, as before: answering differently from the peers for a while is better
 * than every trigger of a restarted replica waiting out the volume's 60 s deadlines (UNAVAILABLE).
 */
export const FIRST_LOAD_WAIT_MS = 1_000;

/** How far back (minutes) a replayed minute may reach: earlier versions are kept that long. */
const KEEP_VERSIONS_MINUTES = 120;

/** The LSTM's own meta file inside a published version (publish.ts keeps meta.json for itself). */
export const LSTM_META_FILE = 'lstm-meta.json';

/** The directory of the layout before versions were published (read once, to migrate). */
export function workloadDir(root: string, key: string): string {
  const [ns, name] = key.split('/', 2).map((p) => (p ?? '').replace(/[^A-Za-z0-9_.~-]/g, '_').replace(/^\.+/, '_'));
  return join(root, ns || '_', name || '_');
}

interface Version {
  /** 0: weights of the old layout, or not published. */
  version: number;
  /** publish.ts's; absent: an older release published it (or not published). */
  lineage?: string;
  /** Epoch ms of the first origin it answers. */
  from: number;
  model: LstmForecaster;
}

export class WorkloadLstm implements Forecaster {
  readonly name = 'lstm';
  /** Fine-tuned versions loaded, by `from` ascending; before the first one the shared model answers. */
  private versions: Version[] = [];
  /** Origin (epoch ms) of the last round known (run here, published, or recorded by the lock); null: none. */
  private lastAttempt: number | null = null;
  /**
   * Origin of the first forecast (this process's, or an earlier one's the lock recorded); null before
   * it. With no round known, the first waits an interval from it: a workload that just appeared has
   * little history.
   */
  private firstSeen: number | null = null;
  /** The latest origin forecast live (a smaller one is a replay). */
  private maxOrigin = -Infinity;
  /** The origin minute the shared volume was last looked at. */
  private checkedAt = -Infinity;
  /** Whether a forecast has waited for the first load already (it is waited for once, FIRST_LOAD_WAIT_MS at most). */
  private loadWaited = false;
  private checking: Promise<void> | null = null;
  /** The lock's recall of the schedule, at the first forecast (recallSchedule). */
  private recalling: Promise<void> | null = null;
  /**
   * The newest published version read (loaded, published by this replica, or refused: a newer
   * release's meta during a rolling upgrade, a damaged file, not read again, so it costs one read
   * and one warning, not one a minute), and what to read next (version-cursor.ts).
   */
  private readonly cursor = new VersionCursor();
  /** The fine-tuning round in flight, if any. */
  private round: Promise<void> | null = null;
  /** A publish of weights the store has not answered yet (past its deadline): no round starts until it ends. */
  private writing: Promise<void> | null = null;
  private rounds = 0;
  /** Attempts in a row whose round lock was held elsewhere or not answered (the first is logged at info or warn, the rest at debug). */
  private lockMisses = 0;
  /**
   * The blend's record of out-of-sample errors (blend-record.ts), carried from round to round and
   * published with accepted weights: a restarted process, or a replica taking the workload over,
   * continues the one published with the weights in use (the rounds since, if none was accepted,
   * are scored again from there: their windows are still in the span).
   */
  private blendRecord: BlendRecord | undefined;
  private closed = false;
  private readonly store: WeightsStore | null;
  private readonly volume: VolumeGate;
  /** Shared with the other workloads of the pool: the backlog, and this key's rounds (round-slots.ts). */
  private readonly slots: RoundSlots | null;
  readonly loaded: Promise<void>;

  constructor(
    private readonly rt: LstmRuntime,
    readonly key: string,
  ) {
    this.store = rt.weights !== undefined ? rt.weights : rt.weightsDir ? fileWeightsStore(rt.weightsDir) : null;
    this.volume = rt.volume ?? sharedVolume;
    this.slots = rt.pool ? roundSlots(rt.pool) : null;
    this.slots?.join(key);
    this.loaded = this.loadPersisted();
    rt.workloads?.add(this);
  }

  historyMinutes(requested: number): number {
    const need = this.rt.shared.historyMinutes(requested);
    return this.rt.pool ? Math.max(need, this.roundMinutes) : need;
  }

  /** What a round is given: its span and, choosing a blend, the days the baselines read before it. */
  private get roundMinutes(): number {
    return roundReadMinutes(this.rt.fineTuneHistoryMinutes, Math.ceil(this.rt.fineTuneIntervalMs / MINUTE_MS), this.rt.shared.meta.shape.horizonMinutes, this.rt.fineTuneBlend === true);
  }

  /** Whether this workload runs on its own fine-tuned weights (at the latest minute forecast). */
  get fineTuned(): boolean {
    return this.active(this.maxOrigin) !== null;
  }

  /** The published version answering at the latest minute forecast; 0: the pre-trained model. */
  get version(): number {
    return this.active(this.maxOrigin)?.version ?? 0;
  }

  /** Epoch ms (history time) by which the next round is due; null before the first forecast. */
  get nextRoundDue(): number | null {
    // As due() reads it: a round another trigger of this workload ran counts (the lag metric).
    const last = this.lastRoundOrFirstSeen;
    return last === null ? null : last + this.rt.fineTuneIntervalMs;
  }

  /** What the schedule runs from: the last round known (another trigger's of this workload too), else the first forecast. */
  private get lastRoundOrFirstSeen(): number | null {
    if (this.firstSeen === null) return null;
    return Math.max(this.lastAttempt ?? this.firstSeen, this.slots?.lastRound(this.key) ?? -Infinity);
  }

  /** The latest origin forecast live, or null. */
  get latestOrigin(): number | null {
    return Number.isFinite(this.maxOrigin) ? this.maxOrigin : null;
  }

  async forecast(request: ForecastRequest): Promise<Forecast> {
    // The weights already published answer from the first forecast, as on the peers, not the
    // pre-trained model while their load is under way (a restart, a workload first seen late) —
    // within FIRST_LOAD_WAIT_MS, once (`loaded` never rejects).
    if (!this.loadWaited) {
      this.loadWaited = true;
      if (!this.volume.refusing) await within(this.loaded, FIRST_LOAD_WAIT_MS, 'the published weights\' first load').catch(() => undefined);
    }
    const origin = forecastOrigin(request.history);
    const live = origin > this.maxOrigin;
    if (live) {
      this.maxOrigin = origin;
      this.pruneVersions();
      this.lookForPublished(origin);
    }
    const own = this.active(origin);
    const forecast = await (own?.model ?? this.rt.shared).forecast(request);
    if (live) this.maybeFineTune(request);
    return own ? { ...forecast, note: forecast.note ? `fine-tuned; ${forecast.note}` : 'fine-tuned' } : forecast;
  }

  async settled(): Promise<void> {
    await this.recalling;
    await this.round;
    await this.checking;
  }

  close(): void {
    if (!this.closed) this.slots?.leave(this.key);
    this.closed = true;
    this.rt.workloads?.delete(this);
    for (const v of this.versions) setTimeout(() => v.model.dispose(), 5000).unref();
    this.versions = [];
  }

  private active(origin: number): Version | null {
    let found: Version | null = null;
    for (const v of this.versions) if (v.from <= origin) found = v;
    return found;
  }

  /** Adds a version in `from` order (a version already loaded is not loaded twice). */
  private addVersion(v: Version): void {
    if (this.closed || this.versions.some((x) => x.version === v.version && x.lineage === v.lineage && v.version > 0)) {
      setTimeout(() => v.model.dispose(), 5000).unref();
      return;
    }
    this.versions = [...this.versions, v].sort((a, b) => a.from - b.from || a.version - b.version);
  }

  /** Drops versions a replay can no longer reach (a later one answers from before its reach). */
  private pruneVersions(): void {
    const reach = this.maxOrigin - KEEP_VERSIONS_MINUTES * MINUTE_MS;
    while (this.versions.length > 1 && this.versions[1]!.from <= reach) {
      const old = this.versions.shift()!;
      // Forecasts already queued on it flush on the next tick: dispose it later.
      setTimeout(() => old.model.dispose(), 5000).unref();
    }
  }

  /**
   * The loaded weights as a forecaster, after checking they fit the shared model (features, shape);
   * disposes them and throws when they do not (e.g. weights from a version with other input features).
   */
  private usable(model: tf.LayersModel, meta: unknown, where: string): { forecaster: LstmForecaster; meta: LstmMeta } {
    try {
      const checked = checkMeta(meta, where);
      if (JSON.stringify(checked.shape) !== JSON.stringify(this.rt.shared.meta.shape)) throw new Error(`${where}: weights of another model shape`);
      return { forecaster: new LstmForecaster('lstm', model, checked, this.rt.inference ?? null), meta: checked };
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /**
   * Takes `v` as the newest published version read. One of another lineage (the volume emptied and
   * published anew) lets the other lineages' versions go: a replica restarted now loads none of them,
   * so they must not answer here either, not even the minutes before `v` answers (the pre-trained
   * model does, as there).
   */
  private saw(v: Seen): void {
    this.cursor.take(v);
    if (v.version > 0) this.letGo((x) => x.version > 0 && x.lineage !== v.lineage);
  }

  /** Drops the loaded versions `gone` says (their forecasts already queued flush first). */
  private letGo(gone: (v: Version) => boolean): void {
    for (const v of this.versions.filter(gone)) setTimeout(() => v.model.dispose(), 5000).unref();
    this.versions = this.versions.filter((v) => !gone(v));
  }

  /** Loads and checks one published version; null (logged) when it cannot be used. */
  private async fromFiles(files: Record<string, Buffer>, version: number, lineage: string | undefined, where: string): Promise<{ v: Version; meta: LstmMeta } | null> {
    try {
      const loaded = await modelFromFiles<unknown>(files, LSTM_META_FILE);
      const { forecaster, meta } = this.usable(loaded.model, loaded.meta, where);
      return { v: { version, lineage, from: meta.fineTuned?.from ?? -Infinity, model: forecaster }, meta };
    } catch (err) {
      this.rt.log.warn('cannot load fine-tuned weights; answering with the version in use (0: the pre-trained model)', { workload: this.key, where, version, inUse: this.version, error: err });
      return null;
    }
  }

  private noteRound(meta: LstmMeta): void {
    this.rounds = Math.max(this.rounds, meta.fineTuned?.rounds ?? 0);
    // A replica that takes the workload over continues the schedule of the round it loaded.
    const origin = meta.fineTuned?.origin;
    if (origin !== undefined) this.noteLastRound(origin);
  }

  private noteLastRound(origin: number): void {
    if (this.lastAttempt === null || origin > this.lastAttempt) this.lastAttempt = origin;
  }

  /**
   * Once, at the first forecast: what the lock recalls of the schedule (an earlier first sight, the
   * last round run anywhere); this first sight is recorded when none is. Failing,
   * the schedule runs from this process's own first forecast, as without a lock.
   */
  private recallSchedule(origin: number): void {
    const lock = this.rt.roundLock;
    if (!lock?.recall) return;
    const recall = lock.recall.bind(lock);
    this.recalling = (async () => {
      const got = await recall(this.key);
      if (this.closed) return;
      if (got.firstSeen !== null && this.firstSeen !== null && got.firstSeen < this.firstSeen) this.firstSeen = got.firstSeen;
      // A replica's minute may run a little ahead of this one's; a round recorded further ahead than
      // a round's effect (a damaged or hand-made value) would stop the schedule: not believed.
      if (got.lastRound !== null && got.lastRound <= this.maxOrigin + FINE_TUNE_EFFECT_MINUTES * MINUTE_MS) this.noteLastRound(got.lastRound);
      // Any replica may record it (the first write wins): the owner at this minute may not be the
      // one whose view of the live set settles first.
      if (got.firstSeen === null && lock.noteFirstSeen) await lock.noteFirstSeen(this.key, origin);
    })().catch((err: unknown) => this.rt.log.debug('could not read or record the fine-tuning schedule; it runs from this process\'s first forecast', { workload: this.key, error: err }));
  }

  /** One operation on the shared volume, through the process's bound (volume-ops.ts), within `ms`. */
  private onVolume<T>(what: string, op: () => Promise<T>, ms = SHARED_VOLUME_TIMEOUT_MS): Promise<T> {
    return this.volume.run(what, op, ms).result;
  }

  private async loadPersisted(): Promise<void> {
    const store = this.store;
    if (!store) return;
    try {
      const current = await this.onVolume('reading published weights', () => store.read(this.key), LOAD_TIMEOUT_MS);
      if (current) {
        this.saw(current);
        const got = await this.fromFiles(current.files, current.version, current.lineage, `published weights v${current.version} of ${this.key}`);
        if (!got) return;
        // A version that answers from a later minute than some still replayable: its predecessor too.
        if (Number.isFinite(got.v.from)) {
          const older = (await this.onVolume('listing published weights', () => store.versions(this.key), LOAD_TIMEOUT_MS)).filter((v) => v < current.version).reverse();
          for (const n of older) {
            const prev = await this.onVolume('reading published weights', () => store.read(this.key, n), LOAD_TIMEOUT_MS);
            // Of the same lineage only: an older one's weights never answered beside these.
            const p = prev && prev.lineage === current.lineage && (await this.fromFiles(prev.files, n, prev.lineage, `published weights v${n} of ${this.key}`));
            if (p) {
              this.addVersion(p.v);
              break;
            }
          }
        }
        this.addVersion(got.v);
        this.noteRound(got.meta);
        this.rt.log.info('loaded fine-tuned weights', { workload: this.key, version: current.version, at: got.meta.fineTuned?.at });
        return;
      }
      await this.loadLegacy();
    } catch (err) {
      this.rt.log.warn('cannot load fine-tuned weights; using the pre-trained model', { workload: this.key, error: err });
    }
  }

  /** Weights kept by a version before publishing (`<dir>/<ns>/<name>/`): used until the next round. */
  private async loadLegacy(): Promise<void> {
    const dir = workloadDir(this.rt.weightsDir ?? '', this.key);
    if (!this.rt.weightsDir) return;
    // Asked off the event loop, within the volume's bounds: a hung volume must not freeze the process.
    const present = await this.onVolume('looking for weights of the old layout', () => access(join(dir, 'meta.json')).then(() => true, () => false));
    if (!present) return;
    const loaded = await this.onVolume('reading weights of the old layout', () => loadModel<unknown>(dir), LOAD_TIMEOUT_MS);
    const { forecaster, meta: checked } = this.usable(loaded.model, loaded.meta, dir);
    this.addVersion({ version: 0, from: -Infinity, model: forecaster });
    this.noteRound(checked);
    this.rt.log.info('loaded fine-tuned weights', { workload: this.key, dir, at: checked.fineTuned?.at });
  }

  /** Once per origin minute: a version someone else published is loaded (in the background). */
  private lookForPublished(origin: number): void {
    if (!this.store || this.checking || this.closed || origin <= this.checkedAt) return;
    this.checkedAt = origin;
    const store = this.store;
    this.checking = (async () => {
      await this.loaded;
      const latest = await this.onVolume('reading the latest weights version', () => store.latestVersion(this.key));
      if (latest === null && this.cursor.seen.version > 0 && store.empty && (await this.onVolume('looking for published weights', () => store.empty!(this.key)))) return this.forgetPublished();
      const lineage = store.lineage?.bind(store);
      const current = await this.cursor.next(latest, origin, {
        ...(lineage ? { lineage: (v: number) => this.onVolume('reading the lineage of the latest weights version', () => lineage(this.key, v)) } : {}),
        read: () => this.onVolume('reading published weights', () => store.read(this.key)),
      });
      if (!current) return;
      this.saw(current);
      const got = await this.fromFiles(current.files, current.version, current.lineage, `published weights v${current.version} of ${this.key}`);
      if (!got) return;
      this.addVersion(got.v);
      this.noteRound(got.meta);
      this.rt.log.info('loaded published fine-tuned weights', { workload: this.key, version: current.version, from: new Date(got.v.from).toISOString() });
    })()
      // Refused (the volume looks hung; every workload's look each minute): the reads that did time out said so.
      .catch((err: unknown) => {
        if (err instanceof VolumeBusyError) this.rt.log.debug('cannot read published weights', { workload: this.key, error: err });
        else this.rt.log.warn('cannot read published weights', { workload: this.key, error: err });
      })
      .finally(() => {
        this.checking = null;
      });
  }

  /**
   * The volume no longer holds any weights of this workload (emptied to start fine-tuning over): the
   * published versions loaded are let go, as a replica restarted now would have none, and the
   * pre-trained model answers (the owner's next round learns from it) until a version is published.
   */
  private forgetPublished(): void {
    this.letGo((v) => v.version > 0);
    this.rt.log.info('published fine-tuned weights gone from the volume; answering with the pre-trained model until a version is published', { workload: this.key, version: this.cursor.seen.version });
    this.cursor.reset();
  }

  /** This process's record, or the one published with the weights in use, whichever is newer and out of sample for them (blend-record.ts). */
  private recordToContinue(meta: LstmMeta): BlendRecord | undefined {
    const published = isBlendRecord(meta.blendRecord) ? meta.blendRecord : undefined;
    const fittedAt = meta.fineTuned?.origin !== undefined ? Math.round(meta.fineTuned.origin / MINUTE_MS) : undefined;
    return recordToContinue([this.blendRecord, published], fittedAt, meta.shape.horizonMinutes);
  }

  /**
   * `files` published, within the deadline. A write past it goes on: if it completes, the version is
   * on the volume like any other (`current` only moves forward) and lookForPublished loads it here too.
   */
  private publish(store: WeightsStore, files: Record<string, Buffer>, base: Version | null): Promise<Seen> {
    // Learned on top of a published version: only as that lineage's next version (LineageGone).
    const o = base && base.version > 0 ? { continues: { lineage: base.lineage } } : {};
    // Refused or never started (the volume looks hung), it fails like a write that failed.
    const { result, ended } = this.volume.run('publishing fine-tuned weights', () => store.publish(this.key, files, o), this.rt.publishTimeoutMs ?? SHARED_VOLUME_TIMEOUT_MS);
    this.writing = ended;
    void ended.then(() => {
      if (this.writing === ended) this.writing = null;
    });
    return result;
  }

  private lockMissed(message: string, err?: unknown): void {
    const fields = { workload: this.key, ...(err === undefined ? {} : { error: err }) };
    if (this.lockMisses++ > 0) this.rt.log.debug(message, fields);
    else if (err === undefined) this.rt.log.info(message, fields);
    else this.rt.log.warn(message, fields);
  }

  /** Whether a round is due at `origin`: an interval after the last one (this replica's, or the one published it loaded). */
  private due(origin: number): boolean {
    // Another trigger of this workload (its own WorkloadLstm) may have run it: one round between them.
    const last = this.lastRoundOrFirstSeen;
    return last !== null && origin - last >= this.rt.fineTuneIntervalMs;
  }

  private maybeFineTune(request: ForecastRequest): void {
    const pool = this.rt.pool;
    const origin = forecastOrigin(request.history);
    if (this.firstSeen === null) {
      this.firstSeen = origin;
      this.recallSchedule(origin);
    }
    if (!pool || this.round || this.closed || !this.due(origin)) return;
    // The volume still has not answered the last publish: a new round could not publish either (tried
    // again each minute, so it runs as soon as the volume is back).
    if (this.writing) return;
    // Nor while the volume refuses every operation (volume-ops.ts): the round's weights could not be published.
    if (this.store && this.volume.refusing) return;
    // A version waiting for its first minute: the next round learns on top of it.
    if (this.versions.some((v) => v.from > origin)) return;
    // Another replica's: it publishes, this one loads (lookForPublished).
    if (this.rt.owns && !this.rt.owns(this.key)) return;
    // A slot from here on, not from the pool's queue: rounds taking their lock count toward the bound.
    // (Null too while another trigger of this workload tries a round: it is tried again next minute.)
    const slot = this.slots?.reserve(this.key, pool.pending, this.rt.maxPendingRounds ?? DEFAULT_MAX_PENDING_ROUNDS);
    if (!slot) return;
    const now = (this.rt.clock ?? Date.now)();
    const h = request.history;
    // Copies: the job crosses to the worker, and the registry's arrays may be reused.
    const series = { requests: h.requests.slice(), cpu: h.cpu?.slice(), memory: h.memory?.slice(), start: h.start, utcOffsetMinutes: h.utcOffsetMinutes ?? 0 };
    const lock = this.rt.roundLock ?? null;
    let taken = false;
    /** The origin of the round run, for this workload's other triggers; null: none ran, or it runs again. */
    let ranAt: number | null = null;
    this.round = (async () => {
      try {
        if (lock) {
          // Not due any more once this minute's look at the volume has loaded a round another
          // replica published (noteRound moves the schedule): that round is not run again here.
          // (Without a lock there is no other replica.)
          if (this.checking) await this.checking;
          if (!this.due(origin)) return;
          // Held by another replica (a round of a replica whose view of the live set differs, or of
          // one that died holding it), or not answered: tried again at the next minute, not an
          // interval later. A round the holder publishes meanwhile moves the schedule (above).
          let ranElsewhere: number | null = null;
          try {
            if (lock.acquireRound) ({ taken, lastRound: ranElsewhere } = await lock.acquireRound(this.key, { origin, intervalMs: this.rt.fineTuneIntervalMs }));
            else taken = await lock.acquire(this.key);
          } catch (err) {
            this.lockMissed('fine-tuning round postponed to the next minute: the workload\'s lock could not be taken', err);
            return;
          }
          if (!taken && ranElsewhere !== null) {
            // A round this process could not see (rejected, or run before a restart): the schedule follows it.
            this.noteLastRound(ranElsewhere);
            this.lockMisses = 0;
            this.rt.log.debug('fine-tuning round not due: the workload\'s lock records a round run since', { workload: this.key, lastRound: new Date(ranElsewhere).toISOString() });
            return;
          }
          if (!taken) return this.lockMissed('fine-tuning round postponed to the next minute: another replica holds the workload\'s lock');
          if (!this.due(origin) || this.closed) return;
        }
        this.lockMisses = 0;
        this.lastAttempt = origin;
        ranAt = origin;
        const base = this.active(origin);
        const current = base?.model ?? this.rt.shared;
        const meta = current.meta;
        this.rt.log.info('fine-tuning round started', { workload: this.key, origin: new Date(origin).toISOString() });
        const job = pool.run({ shape: meta.shape, weights: getWeights(current.currentModel), pretrained: current === this.rt.shared ? undefined : getWeights(this.rt.shared.currentModel), series, fitMinutes: this.rt.fineTuneHistoryMinutes, targetSmoothing: meta.training?.targetSmoothing, blend: meta.blend, chooseBlend: this.rt.fineTuneBlend === true, record: this.recordToContinue(meta) });
        slot.queued();
        const result = await job;
        this.blendRecord = result.record;
        this.rt.log.info('fine-tuning round', {
          workload: this.key,
          accepted: result.accepted,
          reason: result.reason,
          blend: result.blend,
          blendFrom: result.blendFrom,
          baseLoss: result.baseLoss,
          candidateLoss: result.candidateLoss,
          trainWindows: result.trainWindows,
          holdoutWindows: result.holdoutWindows,
        });
        if (!result.accepted || !result.weights || this.closed) return;
        if (lock?.holds && !lock.holds(this.key)) {
          // Another replica may be training this workload now: two sets of weights must not both be published.
          this.rt.log.warn('fine-tuning round not published: the workload\'s lock was lost during the round', { workload: this.key });
          return;
        }
        const model = createModel(meta.shape, null);
        setWeights(model, result.weights);
        this.rounds++;
        const from = origin + FINE_TUNE_EFFECT_MINUTES * MINUTE_MS;
        const fineMeta: LstmMeta = {
          ...meta,
          blend: result.blend && result.blend.weight > 0 ? result.blend : undefined,
          blendRecord: result.record,
          fineTuned: { workload: this.key, at: new Date(now).toISOString(), rounds: this.rounds, lastHoldoutLoss: result.candidateLoss, baseHoldoutLoss: result.baseLoss, origin, from },
        };
        let written: Seen = { version: 0 };
        if (this.store) {
          try {
            written = await this.publish(this.store, await modelFiles(model, fineMeta, LSTM_META_FILE), base);
            // Its own, whatever the number (after a reset, v1 of a new lineage): not loaded again.
            this.saw(written);
            this.rt.log.info('published fine-tuned weights', { workload: this.key, version: written.version, from: new Date(from).toISOString() });
          } catch (err) {
            // Not published: the other replicas would not have it, so this one must not answer with it either.
            model.dispose();
            if (err instanceof LineageGone) {
              // The volume was emptied during the round (or before it, unnoticed): it learned from
              // weights no replica holds any more. The base is let go here and now, and the round
              // runs again at the next minute, from the pre-trained model (or a version published anew).
              this.rt.log.info('fine-tuning round not published: the weights it learned from are gone from the volume; trying again from the pre-trained model', { workload: this.key, version: base?.version });
              if (this.cursor.seen.lineage === base?.lineage) this.forgetPublished();
              else this.letGo((v) => v.version > 0 && v.lineage === base?.lineage);
              this.lastAttempt = origin - this.rt.fineTuneIntervalMs;
              ranAt = null;
              return;
            }
            this.rt.log.warn('could not publish fine-tuned weights; keeping the current ones', { workload: this.key, error: err });
            return;
          }
        }
        this.addVersion({ ...written, from, model: new LstmForecaster('lstm', model, fineMeta, this.rt.inference ?? null) });
      } finally {
        slot.end(ranAt);
        if (lock && taken) await lock.release(this.key, ranAt).catch((err: unknown) => this.rt.log.warn('could not release the fine-tuning lock; it expires', { workload: this.key, error: err }));
      }
    })()
      .catch((err: unknown) => this.rt.log.warn('fine-tuning round failed', { workload: this.key, error: err }))
      .finally(() => {
        this.round = null;
      });
  }
}
