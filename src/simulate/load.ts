/**
 * The simulated load (design §5): a span of a trace, its per-minute counts taken as that minute's
 * request rate and rescaled so the span's peak needs `peakPods` pods at the target utilisation; and
 * which of its minutes are spike minutes. Pure.
 */
import { isObserved } from '../series/observed.js';
import type { TraceWindow } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import { SPIKE_WINDOWS, type SimParams } from './params.js';


export interface SimLoad {
  /** Epoch ms of the span's first minute. */
  start: number;
  utcOffsetMinutes: number;
  /** Index of the span's first minute in the trace (minutes before it are history only). */
  offset: number;
  /**
   * Request rate (req/s) per minute of the span. An unobserved minute carries the last observed
   * rate, so the cluster keeps running through it; it counts in no figure.
   */
  rate: Float64Array;
  /** 1 where the trace observed the minute. */
  observed: Uint8Array;
  /** 1 for spike minutes (observed, 5-minute mean above spikeRatio × the trailing 60-minute mean). */
  spike: Uint8Array;
  /** Requests per second per trace count: rate = count × scale. */
  scale: number;
}

/** How many minutes of the span are spike minutes. */
export function countSpikeMinutes(load: Pick<SimLoad, 'spike'>): number {
  let n = 0;
  for (const s of load.spike) n += s;
  return n;
}

export class EmptySpanError extends Error {
  override name = 'EmptySpanError';
}

/** Minutes `from` (inclusive) to `to` (exclusive) of `trace`. */
export function buildLoad(trace: TraceWindow, from: number, to: number, p: Pick<SimParams, 'peakPods' | 'mu' | 'targetUtilization' | 'spikeRatio'>): SimLoad {
  const n = trace.requests.length;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= n)) {
    throw new RangeError(`span [${from}, ${to}) is not inside the trace's ${n} minutes`);
  }
  let peak = 0;
  for (let i = from; i < to; i++) {
    const v = trace.requests[i];
    if (isObserved(v) && v > peak) peak = v;
  }
  if (!(peak > 0)) throw new EmptySpanError(`the simulated span (${to - from} min from minute ${from}) has no observed load above zero`);
  const scale = (p.peakPods * p.mu * p.targetUtilization) / peak;

  const len = to - from;
  const rate = new Float64Array(len);
  const observed = new Uint8Array(len);
  // Carry from before the span when it starts in a gap; the first observed value otherwise.
  let carry = firstObservedFrom(trace.requests, from);
  for (let i = from - 1; i >= 0; i--) {
    const v = trace.requests[i];
    if (isObserved(v)) {
      carry = v;
      break;
    }
  }
  for (let i = 0; i < len; i++) {
    const v = trace.requests[from + i];
    if (isObserved(v)) {
      carry = v;
      observed[i] = 1;
    }
    rate[i] = Math.max(0, carry) * scale;
  }
  return { start: trace.start + from * MINUTE_MS, utcOffsetMinutes: trace.utcOffsetMinutes, offset: from, rate, observed, spike: spikeMinutes(trace.requests, from, to, p.spikeRatio), scale };
}

function firstObservedFrom(values: readonly (number | null)[], from: number): number {
  for (let i = from; i < values.length; i++) {
    const v = values[i];
    if (isObserved(v)) return v;
  }
  return 0;
}

/**
 * Spike flags for minutes [from, to): the mean of the 5 minutes ending at m exceeds `ratio` × the
 * mean of the 60 ending at m (both rolling means at m, as a dashboard would draw them). Means are over
 * observed minutes; at the start of the trace, where the trailing hour does not exist yet, no minute
 * is a spike. Uses the trace before `from`, so the span's first hour is judged like any other.
 */
export function spikeMinutes(values: readonly (number | null)[], from: number, to: number, ratio: number): Uint8Array {
  const { shortMinutes: s, trailingMinutes: w } = SPIKE_WINDOWS;
  // Prefix sums over observed values and counts: every window is two subtractions.
  const sum = new Float64Array(to + 1);
  const count = new Int32Array(to + 1);
  for (let i = 0; i < to; i++) {
    const v = values[i];
    const ok = isObserved(v);
    sum[i + 1] = sum[i] + (ok ? v : 0);
    count[i + 1] = count[i] + (ok ? 1 : 0);
  }
  const out = new Uint8Array(to - from);
  for (let m = Math.max(from, w - 1); m < to; m++) {
    if (!isObserved(values[m])) continue;
    const a = m - s + 1; // short window [a, m]
    const b = m - w + 1; // trailing window [b, m]
    const nShort = count[m + 1] - count[a];
    const nTrail = count[m + 1] - count[b];
    if (nShort === 0 || nTrail === 0) continue;
    const shortMean = (sum[m + 1] - sum[a]) / nShort;
    const trailMean = (sum[m + 1] - sum[b]) / nTrail;
    if (shortMean > ratio * trailMean) out[m - from] = 1;
  }
  return out;
}
