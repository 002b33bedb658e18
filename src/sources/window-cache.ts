import { MINUTE_MS, type History } from './types.js';

/** Fills one window of minutes, [start, start + minutes·MINUTE_MS); `start` is a whole minute. */
export type WindowReader = (start: number, minutes: number) => History;

type Series = 'requests' | 'cpu' | 'memory';
const SERIES: readonly Series[] = ['requests', 'cpu', 'memory'];

/**
 * Remembers the last window so the next read computes only the minutes it does not share with it.
 * Refreshes come every 30 s while a window spans up to 3,000 minutes, so consecutive reads overlap
 * almost entirely. Only worth it where computing a minute costs more than copying it (the generator).
 * Callers get copies: a caller mutating its window must not corrupt the next one.
 */
export function cachedReader(inner: WindowReader): WindowReader {
  let last: History | undefined;
  return (start, minutes) => {
    const end = start + minutes * MINUTE_MS;
    // The overlap with the previous window, if any.
    const from = last === undefined ? end : Math.max(start, last.start);
    const to = last === undefined ? start : Math.min(end, last.start + last.requests.length * MINUTE_MS);
    if (last === undefined || from >= to) {
      last = inner(start, minutes);
    } else {
      const parts: History[] = [];
      if (start < from) parts.push(inner(start, (from - start) / MINUTE_MS));
      parts.push(slice(last, from, to));
      if (to < end) parts.push(inner(to, (end - to) / MINUTE_MS));
      last = concat(start, parts);
    }
    return slice(last, start, end);
  };
}

function slice(h: History, from: number, to: number): History {
  const a = (from - h.start) / MINUTE_MS;
  const b = (to - h.start) / MINUTE_MS;
  const out: History = { start: from, requests: h.requests.slice(a, b) };
  for (const s of SERIES) {
    const series = h[s];
    if (series !== undefined) out[s] = series.slice(a, b);
  }
  return out;
}

function concat(start: number, parts: History[]): History {
  const out: History = { start, requests: [] };
  for (const s of SERIES) {
    // The parts come from one reader, so they agree on which series exist.
    if (parts[0][s] === undefined) continue;
    out[s] = ([] as (number | null)[]).concat(...parts.map((p) => p[s] ?? []));
  }
  return out;
}
