/** The metric-source contract; the history it reads (`History`) is in series/history.ts. */
import type { History } from '../series/history.js';

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
   * the signal's reason. One made by deadlineSignal also tells when the deadline started
   * (deadlineOf): time spent waiting for an earlier read of the source counts against it.
   */
  read(minutes: number, signal?: AbortSignal): Promise<History>;
  /** Releases timers, sockets or caches the source holds. Idempotent. */
  close(): void;
}

/** Real milliseconds until `source`'s clock reads `epochMs` (see MetricSource.msUntil). */
export function msUntil(source: Pick<MetricSource, 'now' | 'msUntil'>, epochMs: number): number {
  return source.msUntil ? source.msUntil(epochMs) : epochMs - source.now();
}
