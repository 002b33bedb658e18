/**
 * Restarting a failed watch. client-node's informer reports a failed list or watch through its
 * `error` event and then stops; its `start()` resolves even when the list failed. So success is
 * not "start() resolved" but "no error during it", and the delay before the next restart grows
 * (doubling, capped at 30 s, with jitter so that replicas do not retry in step) until a watch has
 * stayed healthy for a while: an API server that answers every list with 403 or 500 must not be
 * asked ten times a second.
 */

export interface BackoffOptions {
  /** The first delay. */
  initialMs: number;
  /** No delay is longer than this (before jitter is capped too). */
  capMs?: number;
  /** A watch healthy for this long resets the delay to `initialMs`. */
  healthyMs?: number;
  /** [0, 1): up to a fifth of the delay is added. */
  random?: () => number;
}

export const WATCH_BACKOFF = { capMs: 30_000, healthyMs: 60_000 } as const;

export class RestartBackoff {
  private failures = 0;
  private healthySince: number | null = null;
  private readonly capMs: number;
  private readonly healthyMs: number;
  private readonly random: () => number;

  constructor(private readonly o: BackoffOptions) {
    this.capMs = o.capMs ?? WATCH_BACKOFF.capMs;
    this.healthyMs = o.healthyMs ?? WATCH_BACKOFF.healthyMs;
    this.random = o.random ?? Math.random;
  }

  /** A (re)start listed and opened its watch without an error. */
  healthy(now: number): void {
    this.healthySince = now;
  }

  /** The delay before restarting after a failure at `now`. */
  next(now: number): number {
    if (this.healthySince !== null && now - this.healthySince >= this.healthyMs) this.failures = 0;
    this.healthySince = null;
    const base = Math.min(this.capMs, this.o.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.min(this.capMs, Math.round(base * (1 + 0.2 * this.random())));
  }
}

/**
 * A pod watch refused for the bound on what the watches cache (--heal-max-pods): `scope` (a
 * namespace, `*` for all) holds or lists at least `count` pods, the other scopes `elsewhere`.
 */
export class TooManyPods extends Error {
  constructor(
    readonly maxPods: number,
    readonly scope: string,
    readonly count: number,
    readonly elsewhere: number,
  ) {
    const where = scope === '*' ? 'the cluster' : `namespace ${scope}`;
    super(
      `more than --heal-max-pods ${maxPods} pods to watch (${where}: at least ${count}${elsewhere > 0 ? `, the other watched namespaces: ${elsewhere}` : ''}); ` +
        `the healer sees nothing in ${where} until there is room: narrow --heal-namespaces or --heal-pod-selector, or raise --heal-max-pods`,
    );
    this.name = 'TooManyPods';
  }
}
