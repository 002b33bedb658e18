import { basename } from 'node:path';
import { createGenerator, type Generator, type GeneratorOptions } from './generator.js';
import type { Trace } from './trace.js';
import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';
import { windowEnd, type MetricSource } from './types.js';
import { cachedReader, type WindowReader } from './window-cache.js';

interface ReplayTimingOptions {
  /** Virtual minutes per real minute. Default 1. */
  speed?: number;
  /**
   * Virtual epoch ms at creation. Default: trace start + 2 days (so seasonal models see history from
   * the first read); for the generator, the real clock's now (at speed 1 it follows wall-clock time).
   */
  virtualStart?: number;
  /** Real clock, epoch ms. Default `Date.now`; injectable so tests are deterministic. */
  clock?: () => number;
}

export type ReplayFeedOptions = ReplayTimingOptions &
  (
    | {
        /** A parsed trace (per-minute counts), played in requests per second and looped. */
        trace: Trace;
      }
    | {
        /** Synthetic workload options; `{}` for the defaults. */
        generator: GeneratorOptions;
      }
  );

export type ReplaySourceOptions = ReplayFeedOptions & {
  /** Multiplier on the load (requests, cpu and memory). Default 1. */
  scale?: number;
};

/** Trace default start: two days in, so models that use "same minute yesterday" have it from the start. */
export const TRACE_DEFAULT_LEAD_MS = 2 * 24 * 60 * MINUTE_MS;

/** One replay clock and one computed series, shared by every ScaledObject of a process. */
export interface ReplayFeed {
  readonly description: string;
  /** Virtual now, epoch ms. */
  now(): number;
  /** Real milliseconds until the virtual clock reads `epochMs`. */
  msUntil(epochMs: number): number;
  /**
   * A source for one ScaledObject: the feed's load × `scale` (requests, and cpu and memory too, as
   * totals of a workload `scale` times as large would be). Closing it does not close the feed.
   */
  source(scale?: number): MetricSource;
}

/**
 * Plays a trace or the synthetic generator in real or accelerated time:
 * virtual now = virtualStart + (clock() − realStart) × speed. Every source made from one feed sees
 * the same virtual time, and the generator's minutes are computed once for all of them.
 */
export function createReplayFeed(options: ReplayFeedOptions): ReplayFeed {
  const clock = options.clock ?? Date.now;
  const speed = options.speed ?? 1;
  if (!(Number.isFinite(speed) && speed > 0)) throw new RangeError(`replay: speed must be > 0, got ${speed}`);

  const realStart = clock();
  let virtualStart: number;
  let reader: WindowReader;
  let name: string;
  let utcOffsetMinutes: number;
  if ('trace' in options) {
    const { trace } = options;
    if (trace.requests.length === 0) throw new RangeError('replay: the trace is empty');
    // Slots are whole minutes; a misaligned start would index between them.
    if (trace.start % MINUTE_MS !== 0) throw new RangeError(`replay: trace start ${trace.start} is not a whole minute`);
    virtualStart = options.virtualStart ?? trace.start + TRACE_DEFAULT_LEAD_MS;
    reader = traceReader(trace);
    utcOffsetMinutes = trace.utcOffsetMinutes;
    name = `trace(${trace.file === undefined ? 'inline' : basename(trace.file)})`;
  } else {
    const generator = createGenerator(options.generator);
    virtualStart = options.virtualStart ?? realStart;
    // Each generated minute costs a few hashes and transcendentals; a copied one costs nothing.
    reader = cachedReader(generatorReader(generator));
    utcOffsetMinutes = generator.utcOffsetMinutes;
    name = `generator(${generator.scenario})`;
  }
  if (!Number.isFinite(virtualStart)) throw new RangeError(`replay: virtualStart must be epoch ms, got ${virtualStart}`);

  const now = (): number => virtualStart + (clock() - realStart) * speed;
  // Virtual time runs `speed` times as fast as real time.
  const msUntil = (epochMs: number): number => (epochMs - now()) / speed;
  const description = `replay:${name}x${speed}`;

  return {
    description,
    now,
    msUntil,
    source(scale = 1): MetricSource {
      if (!(Number.isFinite(scale) && scale >= 0)) throw new RangeError(`replay: scale must be >= 0, got ${scale}`);
      let closed = false;
      return {
        description: scale === 1 ? description : `${description}*${scale}`,
        now,
        msUntil,
        async read(minutes: number, _signal?: AbortSignal, endAt?: number): Promise<History> {
          if (closed) throw new Error('replay: read after close');
          if (!(Number.isSafeInteger(minutes) && minutes > 0)) {
            throw new RangeError(`replay: minutes must be a positive integer, got ${minutes}`);
          }
          // The minute containing "now" is still filling up; the window ends just before it, or
          // before the earlier minute asked for (the virtual clock's, as every replica counts it).
          const end = windowEnd(now(), endAt);
          const history = reader(end - minutes * MINUTE_MS, minutes);
          // Calendar features need the workload's local time.
          history.utcOffsetMinutes = utcOffsetMinutes;
          return scale === 1 ? history : scaled(history, scale);
        },
        close(): void {
          closed = true;
        },
      };
    },
  };
}

/** A feed with one source: see createReplayFeed. */
export function createReplaySource(options: ReplaySourceOptions): MetricSource {
  const { scale, ...feed } = options;
  return createReplayFeed(feed).source(scale);
}

/** Readers hand out fresh arrays, so scaling in place is safe. */
function scaled(h: History, scale: number): History {
  for (const series of [h.requests, h.cpu, h.memory]) {
    if (!series) continue;
    for (let i = 0; i < series.length; i++) {
      const v = series[i];
      if (v !== null && v !== undefined) series[i] = v * scale;
    }
  }
  return h;
}

/**
 * Reads a looping trace: virtual minute v maps to slot (v − start)/MINUTE_MS mod length. Values are
 * converted per read rather than up front, because one parsed trace may back hundreds of sources and
 * a converted copy each would cost megabytes apiece.
 */
export function traceReader(trace: Trace, scale = 1): WindowReader {
  const length = trace.requests.length;
  const copy = (series: (number | null)[] | undefined, first: number, minutes: number, convert: (x: number) => number) => {
    if (series === undefined) return undefined;
    const out = new Array<number | null>(minutes);
    let i = first;
    for (let k = 0; k < minutes; k++) {
      const x = series[i];
      out[k] = x === null ? null : convert(x);
      if (++i === length) i = 0;
    }
    return out;
  };
  // The file holds counts per minute; sources report requests per second.
  const toRate = (count: number): number => (count / 60) * scale;
  const asIs = (x: number): number => x;

  return (start, minutes) => {
    const slot = (start - trace.start) / MINUTE_MS;
    const first = ((slot % length) + length) % length;
    const history: History = { start, requests: copy(trace.requests, first, minutes, toRate) ?? [] };
    // Measured cpu/memory are reported as recorded: there is no model to rescale them with the load.
    const cpu = copy(trace.cpu, first, minutes, asIs);
    const memory = copy(trace.memory, first, minutes, asIs);
    if (cpu !== undefined) history.cpu = cpu;
    if (memory !== undefined) history.memory = memory;
    return history;
  };
}

/** Reads the generator minute by minute; cpu and memory are derived from the scaled request rate. */
export function generatorReader(generator: Generator, scale = 1): WindowReader {
  return (start, minutes) => {
    const requests = new Array<number>(minutes);
    const cpu = new Array<number>(minutes);
    const memory = new Array<number>(minutes);
    for (let k = 0; k < minutes; k++) {
      const t = start + k * MINUTE_MS;
      const rate = generator.requests(t) * scale;
      requests[k] = rate;
      cpu[k] = generator.cpu(t, rate);
      memory[k] = generator.memory(t, rate);
    }
    return { start, requests, cpu, memory };
  };
}
