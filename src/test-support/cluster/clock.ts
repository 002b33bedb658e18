/**
 * The simulated clock every controller of the fake cluster reads. Time moves only when a test
 * says so (Cluster.tick/until), jumping from one wake-up to the next: controllers ask to be woken
 * (a crash-loop back-off ending, a pod's minReadySeconds, a progress deadline) instead of polling.
 */

/** Kubernetes timestamps have second precision (metav1.Time marshals RFC 3339 without fractions). */
export const iso = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class SimClock {
  private t: number;
  /** Wake-ups asked for during the current controller round. */
  private wakes: number[] = [];

  constructor(start: number) {
    this.t = start;
  }

  /** Milliseconds since the epoch. */
  now = (): number => this.t;

  date(): Date {
    return new Date(this.t);
  }

  /** The current time as a Kubernetes timestamp. */
  iso(): string {
    return iso(this.t);
  }

  /** Moves time forward (never back: controllers compare against times they stamped). */
  set(ms: number): void {
    if (ms > this.t) this.t = ms;
  }

  /** Asks to be run again at `ms`; ignored unless it is in the future. */
  wakeAt(ms: number): void {
    if (ms > this.t) this.wakes.push(ms);
  }

  /** Starts a round: the wake-ups are asked for afresh by every reconcile. */
  resetWakes(): void {
    this.wakes = [];
  }

  /** The earliest wake-up asked for in the last round, if any. */
  nextWake(): number | undefined {
    const future = this.wakes.filter((w) => w > this.t);
    return future.length > 0 ? Math.min(...future) : undefined;
  }
}
