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
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../telemetry/logger.js';
import type { Forecast } from '../../series/forecast.js';
import type { ForecastRequest, Forecaster } from '../types.js';
import { forecastOrigin } from '../gate.js';
import { MINUTE_MS } from '../../series/minute.js';
import { LstmForecaster } from './forecaster.js';
import type { FineTunePool } from './finetune-pool.js';
import type { InferencePool } from './inference-pool.js';
import { getWeights, loadModel, saveModel, setWeights } from './io.js';
import { checkMeta, type LstmMeta } from './meta.js';
import { createModel } from './model.js';

export interface LstmRuntime {
  /** The pre-trained model, shared (and batched) by every workload without fine-tuned weights. */
  shared: LstmForecaster;
  /** Null: fine-tuning off. */
  pool: FineTunePool | null;
  /** Runs inference in a worker thread; absent: on the calling thread. */
  inference?: InferencePool | null;
  /** Where accepted per-workload weights live; null: not persisted. */
  weightsDir: string | null;
  fineTuneIntervalMs: number;
  /** History each fine-tuning round learns from (minutes). */
  fineTuneHistoryMinutes: number;
  /**
   * Rounds allowed to wait for the worker at once (default 2). One worker trains one round at a
   * time; with many workloads, a round that would queue behind more is postponed to the next
   * interval instead, so the backlog stays bounded and rounds spread out over time.
   */
  maxPendingRounds?: number;
  log: Logger;
  /** Wall clock, for the time stamp of accepted weights only. */
  clock?: () => number;
}

/**
 * Minutes from the origin a round learned up to until its weights answer: longer than a round takes
 * (seconds) and than the simulator's forecast batches (10 minutes), so neither changes which
 * minute a new model first answers.
 */
export const FINE_TUNE_EFFECT_MINUTES = 10;

/**
 * Minutes between two rounds of one workload, in serve and in simulate alike: a round learns from
 * two days, so a quarter of a day between rounds follows a workload's change while 1,000 workloads
 * cost a fraction of a core (BENCHMARKS.md).
 */
export const DEFAULT_FINE_TUNE_INTERVAL_MINUTES = 360;

/** A directory name per workload: Kubernetes names are DNS labels, but never trust input with paths. */
export function workloadDir(root: string, key: string): string {
  const [ns, name] = key.split('/', 2).map((p) => (p ?? '').replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_'));
  return join(root, ns || '_', name || '_');
}

export class WorkloadLstm implements Forecaster {
  readonly name = 'lstm';
  private own: LstmForecaster | null = null;
  /** Accepted weights waiting for their first minute. */
  private next: { model: LstmForecaster; from: number } | null = null;
  /** Origin (epoch ms) of the last round; null before the first forecast. */
  private lastAttempt: number | null = null;
  /** The fine-tuning round in flight, if any. */
  private round: Promise<void> | null = null;
  private rounds = 0;
  private closed = false;
  readonly loaded: Promise<void>;

  constructor(
    private readonly rt: LstmRuntime,
    readonly key: string,
  ) {
    this.loaded = this.loadPersisted();
  }

  historyMinutes(requested: number): number {
    const need = this.rt.shared.historyMinutes(requested);
    return this.rt.pool ? Math.max(need, this.rt.fineTuneHistoryMinutes) : need;
  }

  /** Whether this workload runs on its own fine-tuned weights. */
  get fineTuned(): boolean {
    return this.own !== null;
  }

  async forecast(request: ForecastRequest): Promise<Forecast> {
    const origin = forecastOrigin(request.history);
    if (this.next && origin >= this.next.from) {
      const previous = this.own;
      this.own = this.next.model;
      this.next = null;
      // Forecasts already queued on the previous model flush on the next tick: dispose it later.
      if (previous) setTimeout(() => previous.dispose(), 5000).unref();
    }
    const forecast = await (this.own ?? this.rt.shared).forecast(request);
    this.maybeFineTune(request);
    return this.own ? { ...forecast, note: forecast.note ? `fine-tuned; ${forecast.note}` : 'fine-tuned' } : forecast;
  }

  async settled(): Promise<void> {
    await this.round;
  }

  close(): void {
    this.closed = true;
    for (const m of [this.own, this.next?.model]) if (m) setTimeout(() => m.dispose(), 5000).unref();
    this.own = null;
    this.next = null;
  }

  private async loadPersisted(): Promise<void> {
    if (!this.rt.weightsDir) return;
    const dir = workloadDir(this.rt.weightsDir, this.key);
    if (!existsSync(join(dir, 'meta.json'))) return;
    try {
      const { model, meta } = await loadModel<unknown>(dir);
      let checked: LstmMeta;
      try {
        checked = checkMeta(meta, dir);
      } catch (err) {
        model.dispose(); // e.g. weights from a version with other input features
        throw err;
      }
      if (JSON.stringify(checked.shape) !== JSON.stringify(this.rt.shared.meta.shape)) {
        model.dispose();
        this.rt.log.warn('ignoring fine-tuned weights of another model shape', { workload: this.key, dir });
        return;
      }
      this.own = new LstmForecaster('lstm', model, checked, this.rt.inference ?? null);
      this.rounds = checked.fineTuned?.rounds ?? 0;
      this.rt.log.info('loaded fine-tuned weights', { workload: this.key, dir, at: checked.fineTuned?.at });
    } catch (err) {
      this.rt.log.warn('cannot load fine-tuned weights; using the pre-trained model', { workload: this.key, dir, error: err });
    }
  }

  private maybeFineTune(request: ForecastRequest): void {
    const pool = this.rt.pool;
    const origin = forecastOrigin(request.history);
    // The first round waits one interval: a workload that just appeared has little history.
    if (this.lastAttempt === null || origin < this.lastAttempt) this.lastAttempt = origin;
    if (!pool || this.round || this.next || this.closed || origin - this.lastAttempt < this.rt.fineTuneIntervalMs) return;
    this.lastAttempt = origin;
    const now = (this.rt.clock ?? Date.now)();
    if (pool.pending >= (this.rt.maxPendingRounds ?? 2)) return;
    const current = this.own ?? this.rt.shared;
    const meta = current.meta;
    const h = request.history;
    // Copies: the job crosses to the worker, and the registry's arrays may be reused.
    const series = { requests: h.requests.slice(), cpu: h.cpu?.slice(), memory: h.memory?.slice(), start: h.start, utcOffsetMinutes: h.utcOffsetMinutes ?? 0 };
    this.round = pool
      .run({ shape: meta.shape, weights: getWeights(current.currentModel), pretrained: current === this.rt.shared ? undefined : getWeights(this.rt.shared.currentModel), series, targetSmoothing: meta.training?.targetSmoothing })
      .then(async (result) => {
        this.rt.log.info('fine-tuning round', {
          workload: this.key,
          accepted: result.accepted,
          reason: result.reason,
          baseLoss: result.baseLoss,
          candidateLoss: result.candidateLoss,
          trainWindows: result.trainWindows,
          holdoutWindows: result.holdoutWindows,
        });
        if (!result.accepted || !result.weights || this.closed) return;
        const model = createModel(meta.shape, null);
        setWeights(model, result.weights);
        this.rounds++;
        const fineMeta: LstmMeta = {
          ...meta,
          fineTuned: { workload: this.key, at: new Date(now).toISOString(), rounds: this.rounds, lastHoldoutLoss: result.candidateLoss, baseHoldoutLoss: result.baseLoss },
        };
        this.next = { model: new LstmForecaster('lstm', model, fineMeta, this.rt.inference ?? null), from: origin + FINE_TUNE_EFFECT_MINUTES * MINUTE_MS };
        if (this.rt.weightsDir) await saveModel(model, workloadDir(this.rt.weightsDir, this.key), fineMeta);
      })
      .catch((err: unknown) => this.rt.log.warn('fine-tuning round failed', { workload: this.key, error: err }))
      .finally(() => {
        this.round = null;
      });
  }
}
