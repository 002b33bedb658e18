/**
 * The LSTM as a Forecaster. Concurrent `forecast` calls made in the same tick (refreshes of many
 * ScaledObjects) are answered by one batched `predict`, which costs about as much as a single one.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Forecast, ForecastRequest, Forecaster } from '../types.js';
import { DAY_MINUTES } from './features.js';
import type { LstmMeta } from './meta.js';
import { predictBatch } from './predict.js';

interface Pending {
  request: ForecastRequest;
  resolve: (f: Forecast) => void;
  reject: (e: Error) => void;
}

export class LstmForecaster implements Forecaster {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    readonly name: string,
    private model: tf.LayersModel,
    readonly meta: LstmMeta,
  ) {}

  /** The window, plus the day before it for the day-ago feature. */
  historyMinutes(requested: number): number {
    return Math.max(requested, this.meta.shape.historyMinutes + DAY_MINUTES);
  }

  /** Swaps in other weights of the same shape (a fine-tuned copy); forecasts in flight finish first. */
  replaceModel(model: tf.LayersModel, meta: LstmMeta): void {
    this.model = model;
    Object.assign(this.meta, meta);
  }

  get currentModel(): tf.LayersModel {
    return this.model;
  }

  forecast(request: ForecastRequest): Promise<Forecast> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
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
    let results: (Forecast | Error)[];
    try {
      results = this.forecastBatch(batch.map((p) => p.request));
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    });
  }
}
