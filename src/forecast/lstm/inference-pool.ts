/**
 * LSTM inference in a worker thread, so a forecast never holds the event loop that answers KEDA.
 * Each model is known to the worker by a key (one per set of weights); its weights cross once.
 * A crashed worker fails the calls in flight (the gate falls back to a baseline for that refresh)
 * and is restarted on the next call.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from './backend.js';
import type { InferenceRequest } from './inference-worker.js';
import type { ModelShape } from './model.js';

export const DEFAULT_INFERENCE_WORKER_URL = new URL('./inference-worker.js', import.meta.url);

interface Pending {
  resolve: (out: Float32Array) => void;
  reject: (err: Error) => void;
}

export class InferencePool {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Models the current worker holds. */
  private readonly loaded = new Set<string>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: { workerUrl?: URL; backend?: BackendChoice } = {}) {}

  run(key: string, shape: ModelShape, weights: () => Float32Array[], x: Float32Array, rows: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('inference pool is closed'));
    if (rows === 0) return Promise.resolve(new Float32Array(0));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const send = !this.loaded.has(key);
    const input = new Float32Array(x); // its own buffer, to transfer
    const msg: InferenceRequest = { id, key, shape, x: input, rows, ...(send ? { weights: weights() } : {}) };
    if (send) this.loaded.add(key);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(msg, [input.buffer as ArrayBuffer]);
    });
  }

  /** Frees a model the worker no longer needs. */
  drop(key: string): void {
    if (!this.loaded.delete(key)) return;
    this.worker?.postMessage({ drop: key });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('inference pool closed'));
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.loaded.clear();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.opts.workerUrl ?? DEFAULT_INFERENCE_WORKER_URL, { workerData: { backend: this.opts.backend ?? 'auto' } });
    w.unref();
    w.on('message', (msg: { id: number; out?: Float32Array; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.out!);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      this.failAll(err);
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!this.closed) fail(new Error(`inference worker exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }
}
