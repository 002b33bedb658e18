/**
 * LSTM inference in a worker thread, so a forecast never holds the event loop that answers KEDA.
 * Each model is known to the worker by a key (one per set of weights); its weights cross until the
 * worker confirms it holds them (a model whose weights failed to load is sent again).
 *
 * Every call has a deadline (`callTimeoutMs`): past it the call fails (the gate falls back to a
 * baseline for that refresh). A worker that has answered nothing since that call was sent is stuck
 * (a call that never ends holds every call behind it, since one worker serves every LSTM): it is
 * terminated, every call in flight fails, and the next call starts a new worker, which is sent its
 * models again. A crashed or exited worker is handled the same way. A worker that is merely busy
 * (answering calls, just not this one yet) is left alone.
 *
 * Two guards keep one bad model or a broken worker from costing every forecast a full deadline,
 * over and over (each stall holds every call in flight, and the refreshes waiting on them, up to
 * 20 s; with a worker that hangs on every call, only as many refreshes as the registry lets run at
 * once — 40 at its defaults — would end per 20 s, of 1,000 due a minute):
 * - the model whose call found the worker stuck is quarantined: its calls fail at once (its gate
 *   answers a baseline) for a minute, doubling with each strike up to an hour; a call of it that
 *   answers clears its strikes;
 * - after a worker was stuck or crashed, its successor takes one call at a time until it answers:
 *   the others fail at once instead of waiting behind a call that may never end.
 */
import { Worker } from 'node:worker_threads';
import { DeadlineError } from '../../deadline/deadline.js';
import { retireWorker } from './retire-worker.js';
import type { BackendChoice } from './backend.js';
import type { InferenceRequest } from './inference-worker.js';
import type { ModelShape } from './model.js';

export const DEFAULT_INFERENCE_WORKER_URL = new URL('./inference-worker.js', import.meta.url);

/**
 * How long one inference call may take, worker start-up and the calls queued before it included: a
 * batch of 256 windows takes well under a second, so only a stuck worker reaches it. Shorter than the
 * registry's forecast deadline (30 s), so the gate's baseline answers before the refresh gives up.
 */
export const DEFAULT_INFERENCE_TIMEOUT_MS = 20_000;
/** A model's first quarantine after it left the worker stuck (ms); each further strike doubles it. */
export const DEFAULT_QUARANTINE_MS = 60_000;
/** The longest quarantine (ms). */
export const MAX_QUARANTINE_MS = 3_600_000;

export interface InferencePoolOptions {
  workerUrl?: URL;
  backend?: BackendChoice;
  /** Deadline of one call (ms); default DEFAULT_INFERENCE_TIMEOUT_MS. */
  callTimeoutMs?: number;
  /** A model's first quarantine (ms); default DEFAULT_QUARANTINE_MS, doubling per strike up to MAX_QUARANTINE_MS. */
  quarantineMs?: number;
}

interface Pending {
  key: string;
  /** The message carried the model's weights: a success confirms the worker holds them. */
  weights: boolean;
  /** The worker's answers received when the call was sent: none since, at its deadline, is a stuck worker. */
  answersAtSend: number;
  timer: NodeJS.Timeout;
  resolve: (out: Float32Array) => void;
  reject: (err: Error) => void;
}

export class InferencePool {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Models the current worker has confirmed it holds. */
  private readonly loaded = new Set<string>();
  /** Messages the current worker has answered. */
  private answers = 0;
  private workersStarted = 0;
  private nextId = 1;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly quarantineMs: number;
  /** Models that left a worker stuck: strikes, and until when (performance.now()) their calls fail at once. */
  private readonly quarantined = new Map<string, { strikes: number; until: number }>();
  /** The current worker follows one that was stuck or crashed and has not answered yet: one call at a time. */
  private probation = false;

  constructor(private readonly opts: InferencePoolOptions = {}) {
    this.timeoutMs = opts.callTimeoutMs ?? DEFAULT_INFERENCE_TIMEOUT_MS;
    this.quarantineMs = opts.quarantineMs ?? DEFAULT_QUARANTINE_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError(`the inference call timeout must be > 0 ms, got ${this.timeoutMs}`);
  }

  /** Workers started so far (the first one included): more than one means a crash or a stuck worker. */
  get started(): number {
    return this.workersStarted;
  }

  run(key: string, shape: ModelShape, weights: () => Float32Array[], x: Float32Array, rows: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('inference pool is closed'));
    if (rows === 0) return Promise.resolve(new Float32Array(0));
    const q = this.quarantined.get(key);
    const now = performance.now();
    if (q && now < q.until) {
      return Promise.reject(new Error(`model ${key} quarantined for ${Math.ceil((q.until - now) / 1000)}s more: it left the inference worker stuck (${q.strikes} time${q.strikes === 1 ? '' : 's'})`));
    }
    if (this.probation && this.pending.size > 0) {
      return Promise.reject(new Error('inference worker restarted after it was stuck or crashed: one call at a time until it answers'));
    }
    let worker: Worker;
    try {
      worker = this.ensureWorker();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = this.nextId++;
    const send = !this.loaded.has(key);
    const input = new Float32Array(x); // its own buffer, to transfer
    return new Promise((resolve, reject) => {
      const msg: InferenceRequest = { id, key, shape, x: input, rows, ...(send ? { weights: weights() } : {}) };
      const timer = setTimeout(() => this.expire(id, worker), this.timeoutMs);
      timer.unref();
      this.pending.set(id, { key, weights: send, answersAtSend: this.answers, timer, resolve, reject });
      try {
        worker.postMessage(msg, [input.buffer as ArrayBuffer]);
      } catch (err) {
        this.settle(id)?.reject(err as Error);
      }
    });
  }

  /** Frees a model the worker no longer needs. */
  drop(key: string): void {
    // A load still in flight must not mark it held once the worker has dropped it.
    for (const p of this.pending.values()) if (p.key === key) p.weights = false;
    this.loaded.delete(key);
    this.quarantined.delete(key);
    this.worker?.postMessage({ drop: key });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('inference pool closed'));
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  /** Removes a call from the pending ones (its deadline disarmed) and returns it, if still pending. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  /** A call's deadline: it fails; a worker that has answered nothing since it was sent is replaced. */
  private expire(id: number, worker: Worker): void {
    const p = this.settle(id);
    if (!p) return;
    const stuck = this.worker === worker && this.answers === p.answersAtSend;
    const err = new DeadlineError(this.timeoutMs, stuck ? 'inference worker stuck, restarted' : 'inference call');
    p.reject(err);
    if (stuck) {
      const strikes = (this.quarantined.get(p.key)?.strikes ?? 0) + 1;
      const ms = Math.min(this.quarantineMs * 2 ** (strikes - 1), MAX_QUARANTINE_MS);
      this.quarantined.set(p.key, { strikes, until: performance.now() + ms });
      this.discard(worker, err);
    }
  }

  /** Stops using `w` (crashed, exited or stuck): every call in flight fails; the next call starts a new worker. */
  private discard(w: Worker, err: Error): void {
    if (this.worker !== w) return; // already replaced: its calls were failed then
    this.worker = null;
    this.probation = true;
    retireWorker(w);
    this.failAll(err);
  }

  private failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(err);
    this.loaded.clear();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.opts.workerUrl ?? DEFAULT_INFERENCE_WORKER_URL, { workerData: { backend: this.opts.backend ?? 'auto' } });
    w.unref();
    this.workersStarted++;
    this.answers = 0;
    w.on('message', (msg: { id: number; out?: Float32Array; error?: string }) => {
      if (this.worker !== w) return;
      this.answers++;
      this.probation = false;
      const p = this.settle(msg.id);
      if (!p) return; // past its deadline: already failed
      if (msg.error !== undefined) {
        p.reject(new Error(msg.error));
        return;
      }
      // Held only once the worker says so: a model whose weights failed to load is sent again.
      if (p.weights) this.loaded.add(p.key);
      this.quarantined.delete(p.key);
      p.resolve(msg.out!);
    });
    w.on('error', (err) => this.discard(w, err));
    w.on('exit', (code) => this.discard(w, new Error(`inference worker exited with code ${code}`)));
    this.worker = w;
    return w;
  }
}
