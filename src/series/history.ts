/** The per-minute history window a metric source reads and a forecaster learns from. */
import { MINUTE_MS } from './minute.js';

/**
 * A per-minute series. A minute with no data is null or a hole (it reads as undefined). Sources that
 * keep long histories leave gaps as holes: V8 then stores the array's numbers as unboxed doubles,
 * 8 bytes a minute, where one null makes every non-integer number its own heap object (about 28
 * bytes a minute, and work for every garbage collection). Build such series with `noSamples` and
 * `appendSamples`: writing null or undefined into them, or spreading them, boxes them again.
 */
export type Samples = (number | null | undefined)[];

/** `n` minutes without data, as holes. */
export function noSamples(n: number): Samples {
  return new Array<number | null | undefined>(n);
}

/** Appends `from` to `to`, its gaps as holes (NaN and ±Inf are kept: they are samples, if bad ones). */
export function appendSamples(to: Samples, from: Samples): void {
  const base = to.length;
  to.length = base + from.length;
  for (let i = 0; i < from.length; i++) {
    const v = from[i];
    if (typeof v === 'number') to[base + i] = v;
  }
}

/**
 * A per-minute history window. Element i covers the minute starting at `start + i * MINUTE_MS`
 * (minute.ts); the last element is the most recent *complete* minute. `null` or a hole marks a
 * minute with no data: consumers must mask it (`isObserved`), never read it as zero.
 */
export interface History {
  /** Epoch milliseconds of the first minute, aligned to a whole minute (UTC). */
  start: number;
  /** Request rate, in the source's unit (the replay source reports requests per second). */
  requests: Samples;
  /** CPU usage (cores), when the source has it. */
  cpu?: Samples;
  /** Memory usage (bytes), when the source has it. */
  memory?: Samples;
  /**
   * The workload's local time offset from UTC in minutes (e.g. -240 for EDT), when the source
   * knows it: calendar features (time of day, day of week) are computed in local time. Default 0.
   */
  utcOffsetMinutes?: number;
  /**
   * Set when the source says the window may be incomplete (Prometheus or Thanos answered with
   * warnings: a store, shard or remote read missing), so its values may be undercounted: why, for
   * logs. The scaler plans on such a window only to raise what it answers (registry.ts).
   */
  partial?: string;
}

/** The last `minutes` of the window (the whole window when it is no longer). */
export function lastMinutes(h: History, minutes: number): History {
  const cut = h.requests.length - minutes;
  if (cut <= 0) return h;
  const out: History = { start: h.start + cut * MINUTE_MS, requests: h.requests.slice(cut) };
  if (h.cpu) out.cpu = h.cpu.slice(cut);
  if (h.memory) out.memory = h.memory.slice(cut);
  if (h.utcOffsetMinutes !== undefined) out.utcOffsetMinutes = h.utcOffsetMinutes;
  if (h.partial !== undefined) out.partial = h.partial;
  return out;
}
