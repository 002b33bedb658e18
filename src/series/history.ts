/** The per-minute history window a metric source reads and a forecaster learns from. */
import { MINUTE_MS } from './minute.js';

/**
 * A per-minute history window. Element i covers the minute starting at `start + i * MINUTE_MS`
 * (minute.ts); the last element is the most recent *complete* minute. `null` marks a minute with no
 * data: consumers must mask it, never read it as zero.
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

/** The last `minutes` of the window (the whole window when it is no longer). */
export function lastMinutes(h: History, minutes: number): History {
  const cut = h.requests.length - minutes;
  if (cut <= 0) return h;
  const out: History = { start: h.start + cut * MINUTE_MS, requests: h.requests.slice(cut) };
  if (h.cpu) out.cpu = h.cpu.slice(cut);
  if (h.memory) out.memory = h.memory.slice(cut);
  if (h.utcOffsetMinutes !== undefined) out.utcOffsetMinutes = h.utcOffsetMinutes;
  return out;
}
