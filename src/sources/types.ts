/** The metric-source contract; the history it reads (`History`) is in series/history.ts. */
import type { History } from '../series/history.js';
import { floorMinute } from '../series/minute.js';

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
   * The last `minutes` complete minutes before `end`. The arrays may be the source's own cache: read
   * them, never change them, and copy what must outlive the next `read` (which may update them in
   * place). `signal` is the read's deadline: once it aborts, the read gives up its I/O and rejects
   * with the signal's reason. One made by deadlineSignal also tells when the deadline started
   * (deadlineOf): time spent waiting for an earlier read of the source counts against it.
   * `end` (epoch ms of the source's clock, floored to a minute) is where the window ends: the
   * registry asks for the window its peers planned on, which may end a minute before the minute in
   * progress. Absent, or later than the minute in progress: the minute in progress.
   */
  read(minutes: number, signal?: AbortSignal, end?: number): Promise<History>;
  /** Releases timers, sockets or caches the source holds. Idempotent. */
  close(): void;
}

/**
 * The minute a read's window ends before: `end` floored to a minute, never past the minute in
 * progress at `now` (a minute not complete yet is not history).
 */
export function windowEnd(now: number, end?: number): number {
  const current = floorMinute(now);
  if (end === undefined) return current;
  if (!Number.isFinite(end)) throw new RangeError(`a window's end must be epoch ms, got ${end}`);
  return Math.min(current, floorMinute(end));
}

/** Real milliseconds until `source`'s clock reads `epochMs` (see MetricSource.msUntil). */
export function msUntil(source: Pick<MetricSource, 'now' | 'msUntil'>, epochMs: number): number {
  return source.msUntil ? source.msUntil(epochMs) : epochMs - source.now();
}
