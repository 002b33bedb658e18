/**
 * A process-wide bound on shared-volume operations that have not returned (the state sync's reads and
 * publishes, sync.ts; the published weights' reads and publishes, lstm/workload.ts).
 *
 * A deadline frees the caller, not the file system call: on a hung volume (an NFS server gone) each
 * call still running holds a thread of libuv's pool (4 by default), which every other fs call, DNS
 * lookup, crypto and zlib job of the process also waits for. So at most `limit` volume operations
 * are ever outstanding (each of them runs its fs calls one after the other, so holds one thread at a
 * time): a new one waits for a slot within its deadline, and is never started if none frees by
 * then. When every slot is held by an operation that has not returned for `stuckMs` the volume
 * looks hung: new ones are refused at once (VolumeBusyError) instead of waiting. A refused or
 * never-started operation fails like any other volume operation, and its caller tries again later.
 */
import { DeadlineError } from '../deadline/deadline.js';
import { SHARED_VOLUME_TIMEOUT_MS } from '../replicas/shared-dir.js';

/** Shared-volume operations outstanding at most: half of libuv's default pool of 4 threads. */
export const DEFAULT_MAX_VOLUME_OPS = 2;

/** An operation refused without being started: every slot is held by one the volume has not answered. */
export class VolumeBusyError extends Error {
  override name = 'VolumeBusyError';
  constructor(what: string, limit: number, stuckMs: number) {
    super(`${what}: not started, the ${limit} shared-volume operations allowed at once have all gone unanswered for over ${stuckMs / 1000} s (the volume looks hung)`);
  }
}

export interface VolumeOp<T> {
  /** The operation's outcome within the deadline; VolumeBusyError or DeadlineError when it was never started. */
  result: Promise<T>;
  /** Settles once the operation has returned (however late), or when it is certain never to start. */
  ended: Promise<void>;
}

export interface VolumeGateOptions {
  /** Operations outstanding at most (default DEFAULT_MAX_VOLUME_OPS). */
  limit?: number;
  /** How long every slot's operation must have run for new ones to be refused at once (ms); default SHARED_VOLUME_TIMEOUT_MS. */
  stuckMs?: number;
  now?: () => number;
}

export class VolumeGate {
  readonly limit: number;
  private readonly stuckMs: number;
  private readonly now: () => number;
  /** Start times of the operations that have not returned. */
  private readonly running = new Set<{ since: number }>();
  /** Operations waiting for a slot, oldest first. */
  private readonly waiting: (() => void)[] = [];

  constructor(o: VolumeGateOptions = {}) {
    this.limit = o.limit ?? DEFAULT_MAX_VOLUME_OPS;
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError(`the shared volume's operation limit must be a whole number >= 1, got ${this.limit}`);
    this.stuckMs = o.stuckMs ?? SHARED_VOLUME_TIMEOUT_MS;
    this.now = o.now ?? Date.now;
  }

  /** Operations started that have not returned. */
  get outstanding(): number {
    return this.running.size;
  }

  /** Operations waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Whether a new operation would be refused now (every slot held by one past stuckMs). */
  get refusing(): boolean {
    if (this.running.size < this.limit) return false;
    const now = this.now();
    for (const op of this.running) if (now - op.since < this.stuckMs) return false;
    return true;
  }

  /** Runs `op` once a slot is free, its outcome bounded by `deadlineMs` from now (waiting included). */
  run<T>(what: string, op: () => Promise<T>, deadlineMs: number): VolumeOp<T> {
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    if (this.refusing) {
      markEnded();
      return { result: Promise.reject(new VolumeBusyError(what, this.limit, this.stuckMs)), ended };
    }
    const result = new Promise<T>((resolve, reject) => {
      const start = () => {
        const slot = { since: this.now() };
        this.running.add(slot);
        let work: Promise<T>;
        try {
          work = op();
        } catch (err) {
          work = Promise.reject(err);
        }
        const done = () => {
          this.running.delete(slot);
          clearTimeout(timer);
          markEnded();
          this.pump();
        };
        work.then(
          (v) => (done(), resolve(v)),
          (e: unknown) => (done(), reject(e)),
        );
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(start);
        if (i >= 0) {
          // Never started: nothing of the volume's is held for it.
          this.waiting.splice(i, 1);
          markEnded();
        }
        reject(new DeadlineError(deadlineMs, what));
      }, deadlineMs);
      timer.unref();
      if (this.running.size < this.limit && this.waiting.length === 0) start();
      else this.waiting.push(start);
    });
    return { result, ended };
  }

  /** Starts waiting operations while slots are free. */
  private pump(): void {
    while (this.running.size < this.limit && this.waiting.length > 0) this.waiting.shift()!();
  }
}

/** The process's one gate: every shared-volume operation of the forecasting layer goes through it. */
export const sharedVolume = new VolumeGate();
