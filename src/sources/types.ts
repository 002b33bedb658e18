/** One minute in milliseconds: every series in Amadeus is sampled at a 1-minute step. */
export const MINUTE_MS = 60_000;

/**
 * A per-minute history window. Element i covers the minute starting at `start + i * MINUTE_MS`;
 * the last element is the most recent *complete* minute. `null` marks a minute with no data:
 * consumers must mask it, never read it as zero.
 */
export interface History {
  /** Epoch milliseconds of the first minute, aligned to a whole minute (UTC). */
  start: number;
  /** Request rate, in the source's unit (the replay source reports requests per second). */
  requests: (number | null)[];
  /** CPU usage (cores), when the source has it. */
  cpu?: (number | null)[];
  /** Memory usage (bytes), when the source has it. */
  memory?: (number | null)[];
  /**
   * The workload's local time offset from UTC in minutes (e.g. -240 for EDT), when the source
   * knows it: calendar features (time of day, day of week) are computed in local time. Default 0.
   */
  utcOffsetMinutes?: number;
}

/**
 * Where one ScaledObject's load comes from. A source is bound to one ScaledObject's configuration;
 * `read` returns the last `minutes` complete minutes according to the source's own clock (a replay
 * source may run in accelerated time).
 */
export interface MetricSource {
  /** Short human description for logs, e.g. `replay:generator(flash-sale)x1`. */
  readonly description: string;
  /** The source's notion of "now", epoch ms (wall clock for live sources). */
  now(): number;
  /**
   * Real milliseconds until `now()` reads `epochMs` (≤ 0 once it has): what a timer must wait for
   * an instant of the source's clock. Absent: the source runs on the wall clock (`epochMs − now()`).
   */
  msUntil?(epochMs: number): number;
  /**
   * The last `minutes` complete minutes. The arrays may be the source's own cache: read them, never
   * change them, and copy what must outlive the next `read` (which may update them in place).
   * `signal` is the read's deadline: once it aborts, the read gives up its I/O and rejects with
   * the signal's reason.
   */
  read(minutes: number, signal?: AbortSignal): Promise<History>;
  /** Releases timers, sockets or caches the source holds. Idempotent. */
  close(): void;
}

/** Minute index (epoch ms) of the minute containing `t`. */
export function floorMinute(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

/** Real milliseconds until `source`'s clock reads `epochMs` (see MetricSource.msUntil). */
export function msUntil(source: Pick<MetricSource, 'now' | 'msUntil'>, epochMs: number): number {
  return source.msUntil ? source.msUntil(epochMs) : epochMs - source.now();
}
