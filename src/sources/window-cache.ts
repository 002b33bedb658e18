import { MINUTE_MS } from '../series/minute.js';
import type { History, Samples } from '../series/history.js';

/** Fills one window of minutes, [start, start + minutes·MINUTE_MS); `start` is a whole minute. */
export type WindowReader = (start: number, minutes: number) => History;

type Series = 'requests' | 'cpu' | 'memory';
const SERIES: readonly Series[] = ['requests', 'cpu', 'memory'];

/**
 * Remembers the minutes it has computed so the next read computes only the ones it lacks.
 * Refreshes come once a minute while a window spans up to a few thousand minutes, so consecutive
 * reads overlap almost entirely; one cache also serves every ScaledObject of a replay feed, whose
 * windows differ in length (60 minutes for one, two days for a seasonal model). So the cache keeps
 * the *union* of recent windows, trimmed to the longest window asked for, rather than the last one.
 * Only worth it where computing a minute costs more than copying it (the generator).
 * Callers get copies: a caller mutating its window must not corrupt the next one.
 */
export function cachedReader(inner: WindowReader): WindowReader {
  let cache: History | undefined;
  let keep = 0;
  return (start, minutes) => {
    const end = start + minutes * MINUTE_MS;
    keep = Math.max(keep, minutes);
    const cStart = cache?.start ?? 0;
    const cEnd = cache ? cStart + cache.requests.length * MINUTE_MS : 0;
    if (cache === undefined || start > cEnd || end < cStart) {
      cache = inner(start, minutes); // disjoint (or cold): start over
    } else if (start < cStart || end > cEnd) {
      const parts: History[] = [];
      if (start < cStart) parts.push(inner(start, (cStart - start) / MINUTE_MS));
      parts.push(cache);
      if (end > cEnd) parts.push(inner(cEnd, (end - cEnd) / MINUTE_MS));
      const union = concat(Math.min(start, cStart), parts);
      // Bound memory: keep the most recent `keep` minutes, which always include this window.
      const unionEnd = Math.max(end, cEnd);
      const from = Math.max(union.start, Math.min(start, unionEnd - keep * MINUTE_MS));
      cache = from > union.start ? slice(union, from, unionEnd) : union;
    }
    return slice(cache, start, end);
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
    if (parts[0]![s] === undefined) continue;
    out[s] = ([] as Samples).concat(...parts.map((p) => p[s] ?? []));
  }
  return out;
}
