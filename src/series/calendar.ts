/** Local days and weekdays of the minute grid (minute.ts). */

/** Minutes in a day. */
export const DAY_MINUTES = 24 * 60;
// Bound once: the generator calls localDay per minute, and under jest's vm contexts every lookup of the global `Math` is slow.
const { floor } = Math;
/** 1970-01-01, local day 0, was a Thursday. */
const EPOCH_WEEKDAY = 4;

/** Local minute index: minutes since the epoch in the workload's local time. */
export type LocalMinute = number;

/** Minute of the day and weekday (Sunday = 0) of a local minute index. */
export function localDay(local: LocalMinute): { minuteOfDay: number; weekday: number } {
  const day = floor(local / DAY_MINUTES);
  return { minuteOfDay: local - day * DAY_MINUTES, weekday: (((day + EPOCH_WEEKDAY) % 7) + 7) % 7 };
}

export function isWeekend(weekday: number): boolean {
  return weekday === 0 || weekday === 6;
}
