/**
 * Runs fine-tuning jobs in one worker thread, one at a time, so training never blocks the event
 * loop that answers KEDA. The worker starts on the first job and is restarted after a crash.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from './backend.js';
import type { FineTuneJob, FineTuneResult } from './finetune.js';

export const DEFAULT_WORKER_URL = new URL('./finetune-worker.js', import.meta.url);

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
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: { workerUrl?: URL; backend?: BackendChoice } = {}) {}

  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
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
    this.current?.reject(new Error('fine-tuning pool closed'));
    this.current = null;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.opts.workerUrl ?? DEFAULT_WORKER_URL, { workerData: { backend: this.opts.backend ?? 'auto' } });
    w.unref(); // an idle fine-tuner must not keep a finished process alive
    w.on('message', (msg: { id: number; result?: FineTuneResult; error?: string }) => {
      const job = this.current;
      if (!job || job.id !== msg.id) return;
      this.current = null;
      if (msg.error !== undefined) job.reject(new Error(msg.error));
      else job.resolve(msg.result!);
      this.next();
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      const job = this.current;
      this.current = null;
      job?.reject(err);
      if (!this.closed) this.next();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (code !== 0 && !this.closed) fail(new Error(`fine-tuning worker exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }

  private next(): void {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    try {
      this.ensureWorker().postMessage({ id: job.id, job: job.job });
    } catch (err) {
      this.current = null;
      job.reject(err as Error);
      this.next();
    }
  }
}
