/**
 * Deadlines on I/O, shared by every part that waits on another process (Prometheus reads, the
 * Kubernetes API's Leases): an AbortSignal that fires with a DeadlineError naming the limit, and a
 * race that settles at the deadline even when the awaited work ignores its signal.
 */

/** A read (or request) ran out of time: the message says what and how long it was given. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
  readonly reason = 'deadline';
  constructor(readonly ms: number, what?: string) {
    super(`${what === undefined ? '' : `${what}: `}deadline exceeded after ${formatSeconds(ms)}s`);
  }
}

/** When a deadline started and how long it gives (epoch ms, ms): see deadlineOf. */
export interface DeadlineSpan {
  readonly start: number;
  readonly ms: number;
}

const spans = new WeakMap<AbortSignal, DeadlineSpan>();

/**
 * The span of the deadline `signal` stands for, when deadlineSignal made it: what a callee handed
 * the signal can still spend (a read queued behind another has already spent its wait). Undefined
 * for any other signal (one composed with AbortSignal.any included).
 */
export function deadlineOf(signal: AbortSignal | undefined): DeadlineSpan | undefined {
  return signal === undefined ? undefined : spans.get(signal);
}

/** An AbortSignal that aborts with a DeadlineError (naming `what`, when given) after `ms`, and the function that disarms it. */
export function deadlineSignal(ms: number, what?: string): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  spans.set(controller.signal, { start: Date.now(), ms });
  const timer = setTimeout(() => controller.abort(new DeadlineError(ms, what)), ms);
  // A deadline alone never keeps a process alive (a shutdown does not wait for it).
  timer.unref();
  return {
    signal: controller.signal,
    clear: () => clearTimeout(timer),
  };
}

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts, whichever comes first. The
 * work goes on (it should heed the signal too), but the caller is free at the deadline.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, reasonOf: (reason: unknown) => unknown = (r) => r): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(reasonOf(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(reasonOf(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function formatSeconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/**
 * `work`, or a DeadlineError naming `what` after `ms`, whichever comes first: for requests that take
 * no signal (client-node's), so a silent server cannot hold a renewal, a lock or a shutdown.
 */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DeadlineError(ms, what)), ms);
  timer.unref();
  return untilAborted(work, deadline.signal).finally(() => clearTimeout(timer));
}

/**
 * Milliseconds on a clock that only moves forward (since the process started): what an elapsed
 * time — a Lease's expiry as this replica watched it, the age of its own renewal — is measured on.
 * The wall clock may be stepped (NTP, a VM resumed), which would end a live leader's Lease early
 * on a follower, or keep a stalled leader acting past it.
 */
export const monotonicMs = (): number => performance.now();
