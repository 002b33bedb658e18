/**
 * What a source's samples may be before anything is computed from them: finite, >= 0 and at most
 * the trigger's `maxValue`. The newest observed sample is the load answered now, so a bad or old one
 * fails the read (a source error with its reason: the last good plan stays in force and the outage
 * clock runs); a bad older sample is only a gap in the history, never read as load.
 */
import { MINUTE_MS } from '../series/minute.js';
import { STALE_AFTER_MINUTES } from '../series/observed.js';
import type { History, Samples } from '../series/history.js';

/** A sample outside the bounds: the read fails with `reason` "bounds". */
export class SampleBoundsError extends Error {
  override name = 'SampleBoundsError';
  readonly reason = 'bounds';
}

/** The newest sample is STALE_AFTER_MINUTES or more old: the read fails with `reason` "stale". */
export class SampleStaleError extends Error {
  override name = 'SampleStaleError';
  readonly reason = 'stale';
}

export interface CheckedHistory {
  history: History;
  /** The newest observed request rate: finite, >= 0 and <= maxValue. */
  observed: number;
  /** Older samples that were out of bounds, now gaps. */
  masked: number;
}

function describe(v: number, maxValue: number): string | null {
  if (Number.isNaN(v)) return 'is NaN';
  if (!Number.isFinite(v)) return `is ${v > 0 ? '+' : '-'}Inf`;
  if (v < 0) return `is negative (${v})`;
  if (v > maxValue) return `is ${v}, above maxValue ${maxValue}`;
  return null;
}

/**
 * Out-of-bounds values of a series as gaps, copying it only when one is found. A gap is left as a
 * hole, not written as null, so the copy stays an array of unboxed doubles (history.ts).
 */
function masked(values: Samples, bad: (v: number) => boolean): { values: Samples; count: number } {
  let out: Samples | null = null;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !bad(v)) continue;
    out ??= values.slice();
    delete out[i];
    count++;
  }
  return { values: out ?? values, count };
}

/**
 * Checks a history read for one trigger. Throws SampleStaleError when the newest request sample is
 * STALE_AFTER_MINUTES or more before the window's end, SampleBoundsError when it is out of bounds,
 * and an Error when no minute was observed at all; otherwise returns the history with out-of-bounds
 * older samples (and non-finite or negative CPU and memory samples) as gaps. The arrays are copied
 * only when something is masked (they may be the source's cache).
 */
export function checkSamples(h: History, maxValue: number): CheckedHistory {
  const requests = h.requests;
  let last = requests.length - 1;
  while (last >= 0 && (requests[last] === null || requests[last] === undefined)) last--;
  if (last < 0) throw new Error(`no observed value in the last ${requests.length} minutes`);
  const newest = requests[last]!;
  const since = requests.length - 1 - last;
  if (since >= STALE_AFTER_MINUTES) {
    const at = new Date(h.start + (last + 1) * MINUTE_MS).toISOString();
    throw new SampleStaleError(`newest sample (${at}) is ${since} minutes old: the series stopped (scrapes failing, or the metric gone)`);
  }
  const problem = describe(newest, maxValue);
  if (problem !== null) {
    const at = new Date(h.start + (last + 1) * MINUTE_MS).toISOString();
    throw new SampleBoundsError(`newest sample (${at}) ${problem}: refused`);
  }
  const outOfBounds = (v: number) => describe(v, maxValue) !== null;
  const req = masked(requests, outOfBounds);
  const notLoad = (v: number) => !Number.isFinite(v) || v < 0;
  const cpu = h.cpu ? masked(h.cpu, notLoad) : null;
  const memory = h.memory ? masked(h.memory, notLoad) : null;
  if (req.count === 0 && !cpu?.count && !memory?.count) return { history: h, observed: newest, masked: 0 };
  const history: History = { ...h, requests: req.values };
  if (cpu) history.cpu = cpu.values;
  if (memory) history.memory = memory.values;
  return { history, observed: newest, masked: req.count };
}
