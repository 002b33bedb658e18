/** Controllable sources and forecasters for tests of the layers above them. */
import type { Forecaster } from '../forecast/types.js';
import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';
import { lastObserved } from '../series/observed.js';
import { windowEnd, type MetricSource } from '../sources/types.js';

export interface FakeSource extends MetricSource {
  /** The load every minute of the window reads as; null → all minutes unobserved. */
  value: number | null;
  /** When set, the window's minutes repeat this pattern instead (ending on its last element). */
  pattern: number[] | null;
  /** When set, each minute's load is this function of the minute's start instead (windows ending at different minutes differ). */
  byMinute: ((minute: number) => number | null) | null;
  /** When set, read() rejects with it. */
  failWith: Error | null;
  /** When set, read() marks its window partial with this reason (an answer with warnings). */
  partial: string | null;
  /** When set, read() waits for this promise first (to hold a refresh in flight). */
  gate: Promise<void> | null;
  reads: number;
  /** The `end` each read was asked for, in order (undefined: none). */
  ends: (number | undefined)[];
  closed: boolean;
}

/**
 * Fake sources' clock runs this many times as fast as real time by default: a minute every 50 ms,
 * so the registry's refresh loops (once per minute of the source's clock) turn quickly in tests.
 */
export const FAKE_SOURCE_SPEED = 1200;
/** Where every fake clock meets real time: sources of one speed share one clock, as a replay feed's do. */
const FAKE_EPOCH = Date.now();

/**
 * A source clock the test moves by hand: it stands still in between, so what a refresh reads never
 * depends on how fast a loaded machine runs the test. A timer armed on it (`msUntil`) wakes every
 * `pollMs` of real time to look again, as the registry's timers do after an early wake-up.
 */
export interface ManualClock {
  now(): number;
  msUntil(epochMs: number): number;
  set(epochMs: number): void;
  advance(ms: number): void;
}

export function manualClock(start: number, pollMs = 5): ManualClock {
  let t = start;
  const set = (epochMs: number) => {
    if (epochMs < t) throw new RangeError('a manual clock only moves forward');
    t = epochMs;
  };
  return { now: () => t, msUntil: (epochMs) => (epochMs <= t ? epochMs - t : pollMs), set, advance: (ms) => set(t + ms) };
}

/**
 * `clock`, when given, is the source's own: a function running `speed` times as fast as real time,
 * or a `manualClock` (then `speed` is unused).
 */
export function fakeSource(value: number | null = 10, speed = FAKE_SOURCE_SPEED, clock?: (() => number) | ManualClock): FakeSource {
  const manual = typeof clock === 'object' ? clock : null;
  const now = manual ? manual.now : typeof clock === 'function' ? clock : () => FAKE_EPOCH + (Date.now() - FAKE_EPOCH) * speed;
  const src: FakeSource = {
    description: 'fake',
    value,
    pattern: null,
    byMinute: null,
    failWith: null,
    partial: null,
    gate: null,
    reads: 0,
    ends: [],
    closed: false,
    now,
    msUntil: manual ? manual.msUntil : (t) => (t - now()) / speed,
    async read(minutes: number, _signal?: AbortSignal, endAt?: number): Promise<History> {
      src.reads++;
      src.ends.push(endAt);
      const end = windowEnd(now(), endAt);
      if (src.gate) await src.gate;
      if (src.failWith) throw src.failWith;
      const start = end - minutes * MINUTE_MS;
      const p = src.pattern;
      const at = src.byMinute;
      const h: History = {
        start,
        requests: Array.from({ length: minutes }, (_, i) => (at ? at(start + i * MINUTE_MS) : p ? p[(((i - minutes) % p.length) + p.length) % p.length]! : src.value)),
      };
      if (src.partial !== null) h.partial = src.partial;
      return h;
    },
    close() {
      src.closed = true;
    },
  };
  return src;
}

/** Forecasts `factor ×` the last value, or fails when `failWith` is set. */
export function fakeForecaster(name = 'fake', factor = 2): Forecaster & { failWith: Error | null; calls: number } {
  const f = {
    name,
    failWith: null as Error | null,
    calls: 0,
    historyMinutes: (r: number) => r,
    async forecast({ history, horizon }: { history: History; horizon: number }) {
      f.calls++;
      if (f.failWith) throw f.failWith;
      // The newest observed minute, as the real forecasters read it (a trailing gap is not a zero).
      const last = lastObserved(history.requests)?.value ?? 0;
      return { model: name, values: Array.from({ length: horizon }, () => last * factor) };
    },
  };
  return f;
}

/** Polls `cond` until it holds or `timeoutMs` passes. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
