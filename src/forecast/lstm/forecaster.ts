/**
 * The LSTM as a Forecaster. Concurrent `forecast` calls made in the same tick (refreshes of many
 * ScaledObjects) are answered by one batched `predict`, which costs about as much as a single one.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Forecast, ForecastRequest, Forecaster } from '../types.js';
import { DAY_MINUTES } from './features.js';
import type { InferencePool } from './inference-pool.js';
import { getWeights } from './io.js';
import type { LstmMeta } from './meta.js';
import { finishBatch, predictBatch, prepareBatch } from './predict.js';

let instances = 0;

/** How long forecasts bound for the worker wait for company (a refresh is not an RPC: no one waits on it). */
const WORKER_BATCH_WINDOW_MS = 25;
/** A batch this large goes at once. */
const MAX_BATCH = 256;

interface Pending {
  request: ForecastRequest;
  resolve: (f: Forecast) => void;
  reject: (e: Error) => void;
}

export class LstmForecaster implements Forecaster {
  private pending: Pending[] = [];
  private scheduled = false;
  /** This model's key in the inference worker (one per instance: new weights, new instance). */
  private readonly key = `lstm-${++instances}`;

  constructor(
    readonly name: string,
    private model: tf.LayersModel,
    readonly meta: LstmMeta,
    /** When set, forecasts run in this worker pool instead of on the calling thread. */
    private readonly inference: InferencePool | null = null,
  ) {}

  /** Frees the model here and in the inference worker. */
  dispose(): void {
    this.inference?.drop(this.key);
    this.model.dispose();
  }

  /** The window, plus the day before it for the day-ago feature. */
  historyMinutes(requested: number): number {
    return Math.max(requested, this.meta.shape.historyMinutes + DAY_MINUTES);
  }

  get currentModel(): tf.LayersModel {
    return this.model;
  }

  forecast(request: ForecastRequest): Promise<Forecast> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      if (this.pending.length >= MAX_BATCH) {
        this.flush();
        return;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        // With a worker, refreshes that arrive within a few milliseconds share one batch: one
        // message and one model call instead of many (tfjs's per-call overhead dominates a row).
        // Without one, the next turn of the event loop, as before.
        if (this.inference) setTimeout(() => this.flush(), WORKER_BATCH_WINDOW_MS);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Many forecasts at once (the backtest uses it directly). */
  forecastBatch(requests: readonly ForecastRequest[]): (Forecast | Error)[] {
    return predictBatch(this.model, this.meta.shape, this.name, requests, this.meta.calibration);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const settle = (results: (Forecast | Error)[]) =>
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      });
    const fail = (err: unknown) => {
      for (const p of batch) p.reject(err as Error);
    };
    const requests = batch.map((p) => p.request);
    if (!this.inference) {
      try {
        settle(this.forecastBatch(requests));
      } catch (err) {
        fail(err);
      }
      return;
    }
    // Off the event loop: only the feature windows cross, the weights once per model.
    try {
      const prepared = prepareBatch(this.meta.shape, requests);
      this.inference
        .run(this.key, this.meta.shape, () => getWeights(this.model), prepared.x, prepared.rows)
        .then((out) => settle(finishBatch(this.meta.shape, this.name, requests, prepared, out, this.meta.calibration)), fail);
    } catch (err) {
      fail(err);
    }
  }
}
