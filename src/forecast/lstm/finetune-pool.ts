/**
 * Runs fine-tuning jobs in one worker thread, one at a time, so training never blocks the event
 * loop that answers KEDA. The worker starts on the first job. A job has a deadline (`jobTimeoutMs`,
 * from when the worker is handed it): past it the job fails and the worker, stuck on it, is
 * terminated. A worker that crashes or exits (with any code) fails its job too; the next job starts
 * a new worker, so one bad round never stops fine-tuning.
 */
import { Worker } from 'node:worker_threads';
import { DeadlineError } from '../../deadline/deadline.js';
import { retireWorker } from './retire-worker.js';
import type { BackendChoice } from './backend.js';
import type { FineTuneJob, FineTuneResult } from './finetune.js';

export const DEFAULT_WORKER_URL = new URL('./finetune-worker.js', import.meta.url);

/** A round costs about a second of CPU (README), a slow machine's a few: only a stuck one takes this long. */
export const DEFAULT_FINE_TUNE_JOB_TIMEOUT_MS = 300_000;

export interface FineTunePoolOptions {
  workerUrl?: URL;
  backend?: BackendChoice;
  /** Deadline of one job once the worker has it (ms); default DEFAULT_FINE_TUNE_JOB_TIMEOUT_MS. */
  jobTimeoutMs?: number;
}

interface Job {
  id: number;
  job: FineTuneJob;
  resolve: (r: FineTuneResult) => void;
  reject: (e: Error) => void;
}

export class FineTunePool {
  private worker: Worker | null = null;
  private queue: Job[] = [];
  private current: Job | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;
  private workersStarted = 0;
  private readonly timeoutMs: number;

  constructor(private readonly opts: FineTunePoolOptions = {}) {
    this.timeoutMs = opts.jobTimeoutMs ?? DEFAULT_FINE_TUNE_JOB_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError(`the fine-tuning job timeout must be > 0 ms, got ${this.timeoutMs}`);
  }

  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Workers started so far (the first one included): more than one means a crash, an exit or a stuck job. */
  get started(): number {
    return this.workersStarted;
  }

  run(job: FineTuneJob): Promise<FineTuneResult> {
    if (this.closed) return Promise.reject(new Error('fine-tuning pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('fine-tuning pool closed'));
    this.finish()?.reject(new Error('fine-tuning pool closed'));
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  /** Takes the current job off the worker (its deadline disarmed) and returns it. */
  private finish(): Job | null {
    const job = this.current;
    this.current = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return job;
  }

  /** Stops using `w` (crashed, exited or stuck): its job fails with `err`, the next job gets a new worker. */
  private discard(w: Worker, err: Error): void {
    if (this.worker !== w) return; // already replaced
    this.worker = null;
    retireWorker(w);
    this.finish()?.reject(err);
    this.next();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.opts.workerUrl ?? DEFAULT_WORKER_URL, { workerData: { backend: this.opts.backend ?? 'auto' } });
    w.unref(); // an idle fine-tuner must not keep a finished process alive
    this.workersStarted++;
    w.on('message', (msg: { id: number; result?: FineTuneResult; error?: string }) => {
      if (this.worker !== w || this.current?.id !== msg.id) return;
      const job = this.finish()!;
      if (msg.error !== undefined) job.reject(new Error(msg.error));
      else job.resolve(msg.result!);
      this.next();
    });
    w.on('error', (err) => this.discard(w, err));
    // Any exit, code 0 included: the thread is gone, whatever it said.
    w.on('exit', (code) => this.discard(w, new Error(`fine-tuning worker exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  private next(): void {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    try {
      const w = this.ensureWorker();
      this.timer = setTimeout(() => {
        if (this.current !== job) return;
        this.discard(w, new DeadlineError(this.timeoutMs, 'fine-tuning job (worker restarted)'));
      }, this.timeoutMs);
      this.timer.unref();
      w.postMessage({ id: job.id, job: job.job });
    } catch (err) {
      this.finish();
      job.reject(err as Error);
      this.next();
    }
  }
}
