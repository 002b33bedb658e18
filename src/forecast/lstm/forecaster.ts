/**
 * The LSTM as a Forecaster. Concurrent `forecast` calls made in the same tick (refreshes of many
 * ScaledObjects) are answered by one batched `predict`, which costs about as much as a single one.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Forecast } from '../../series/forecast.js';
import type { ForecastRequest, Forecaster } from '../types.js';
import { FEATURE_COUNT } from './features.js';
import { DAY_MINUTES } from '../../series/calendar.js';
import type { InferencePool } from './inference-pool.js';
import { getWeights } from './io.js';
import type { LstmMeta } from './meta.js';
import { finishBatch, predictBatch, prepareBatch, type PreparedBatch } from './predict.js';
import { blendInUse } from './smooth-blend.js';
import { BLEND_CONTEXT_MINUTES, FROM_EARLIER_DAYS } from './blend.js';

let instances = 0;

/** How long forecasts bound for the worker wait for company (a refresh is not an RPC: no one waits on it). */
const WORKER_BATCH_WINDOW_MS = 25;
/** A batch this large goes at once. */
const MAX_BATCH = 256;
/** Forecasts handed back per turn of the event loop (see flush). */
const SETTLE_PER_TURN = 4;

interface Pending {
  request: ForecastRequest;
  /** With a worker: the request's feature row, written when it arrived (see forecast). */
  prepared?: PreparedBatch;
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

  /** The window, plus the day before it for the day-ago feature; a blend from earlier days, the days it reads. */
  historyMinutes(requested: number): number {
    const blend = this.meta.blend;
    return Math.max(requested, this.meta.shape.historyMinutes + DAY_MINUTES, blend && FROM_EARLIER_DAYS.has(blend.baseline) ? BLEND_CONTEXT_MINUTES : 0);
  }

  get currentModel(): tf.LayersModel {
    return this.model;
  }

  forecast(request: ForecastRequest): Promise<Forecast> {
    return new Promise((resolve, reject) => {
      let prepared: PreparedBatch | undefined;
      if (this.inference) {
        // Each request's features are written in its own refresh's turn, not all at the flush: a
        // full batch of windows takes milliseconds (about 22 µs a row) that RPCs would wait out.
        try {
          prepared = prepareBatch(this.meta.shape, [request]);
        } catch (err) {
          reject(err as Error);
          return;
        }
        const level = prepared.levels[0];
        if (level instanceof Error) {
          reject(level);
          return;
        }
      }
      this.pending.push({ request, prepared, resolve, reject });
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
    return predictBatch(this.model, this.meta.shape, this.name, requests, this.meta.calibration, blendInUse(this.meta));
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    // A few waiting refreshes resume per turn of the event loop: resolved all at once, every
    // refresh's remaining work (gate, plan, metrics) would run back to back while RPCs wait unread.
    const settle = (result: (i: number) => Forecast | Error) => {
      let i = 0;
      const step = () => {
        for (const end = Math.min(batch.length, i + SETTLE_PER_TURN); i < end; i++) {
          let r: Forecast | Error;
          try {
            r = result(i);
          } catch (err) {
            r = err as Error; // never thrown out of a later turn, where no caller could catch it
          }
          if (r instanceof Error) batch[i]!.reject(r);
          else batch[i]!.resolve(r);
        }
        if (i < batch.length) setImmediate(step);
      };
      step();
    };
    const fail = (err: unknown) => {
      for (const p of batch) p.reject(err as Error);
    };
    if (!this.inference) {
      try {
        const results = this.forecastBatch(batch.map((p) => p.request));
        settle((i) => results[i]!);
      } catch (err) {
        fail(err);
      }
      return;
    }
    // Off the event loop: only the feature windows cross, the weights once per model.
    const shape = this.meta.shape;
    const width = shape.historyMinutes * FEATURE_COUNT;
    const cols = shape.horizonMinutes + shape.quantiles.length;
    const x = new Float32Array(batch.length * width);
    batch.forEach((p, i) => x.set(p.prepared!.x, i * width));
    const finish = (out: Float32Array) => (i: number) => {
      const p = batch[i]!;
      return finishBatch(shape, this.name, [p.request], p.prepared!, out.subarray(i * cols, (i + 1) * cols), this.meta.calibration, blendInUse(this.meta))[0]!;
    };
    try {
      this.inference.run(this.key, shape, () => getWeights(this.model), x, batch.length).then((out) => settle(finish(out)), fail);
    } catch (err) {
      fail(err); // e.g. the worker cannot start
    }
  }
}
