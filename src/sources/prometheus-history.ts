/**
 * A workload's past request rate from Prometheus as a trace, for "what if" simulations: range queries
 * at a 1-minute step, in chunks Prometheus accepts, with progress. Minute i of the trace is the
 * query's value at the end of that minute (the same mapping as the live source's).
 */
import { isObserved } from '../series/observed.js';
import { MAX_POINTS_PER_QUERY, PrometheusError, safeAddress, type PrometheusClient } from './prometheus-client.js';
import type { Trace } from './trace.js';
import { MINUTE_MS } from '../series/minute.js';

export interface HistoryRequest {
  client: PrometheusClient;
  serverAddress: string;
  query: string;
  /** Epoch ms; rounded down to a whole minute. */
  end: number;
  minutes: number;
  utcOffsetMinutes: number;
  onProgress?: (done: number, total: number) => void;
}

export async function fetchHistory(r: HistoryRequest): Promise<Trace> {
  if (!(Number.isSafeInteger(r.minutes) && r.minutes > 0)) throw new RangeError(`minutes must be a positive integer, got ${r.minutes}`);
  const server = safeAddress(r.serverAddress);
  const end = Math.floor(r.end / MINUTE_MS) * MINUTE_MS;
  const start = end - r.minutes * MINUTE_MS;
  const requests: (number | null)[] = [];
  r.onProgress?.(0, r.minutes);
  for (let done = 0; done < r.minutes; done += MAX_POINTS_PER_QUERY) {
    const n = Math.min(MAX_POINTS_PER_QUERY, r.minutes - done);
    const part = await r.client.minutes(r.query, start + done * MINUTE_MS, n);
    if (part.series > 1) {
      throw new PrometheusError('series', `${server}: the query returned ${part.series} series; it must return exactly one: aggregate it, e.g. sum(${r.query})`);
    }
    // An undercounted trace would show a gain or a loss that is not there: refused, not simulated.
    if (part.warnings.length > 0) throw new PrometheusError('partial', `${server}: the answer may be incomplete (${part.warnings.join('; ')}): not simulated`);
    for (const v of part.values) requests.push(v ?? null); // a trace marks gaps null (trace.ts)
    r.onProgress?.(done + n, r.minutes);
  }
  if (!requests.some(isObserved)) {
    throw new PrometheusError('no-data', `${server}: the query returned no data between ${new Date(start).toISOString()} and ${new Date(end).toISOString()}`);
  }
  return { start, utcOffsetMinutes: r.utcOffsetMinutes, requests, file: `prometheus:${server} ${r.query}` };
}
