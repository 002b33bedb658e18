/** The minute grid every series in Amadeus is sampled on. */

/** One minute in milliseconds: every series in Amadeus is sampled at a 1-minute step. */
export const MINUTE_MS = 60_000;

/** Minute index (epoch ms) of the minute containing `t`. */
export function floorMinute(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS;
}
