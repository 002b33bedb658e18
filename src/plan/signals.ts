/**
 * What the load's own history says about the next minutes, beyond a forecaster's point estimate:
 * the errors that cost are under-provisioning at a surge's onset, and a model trained for mean error
 * smooths exactly those away. Guards, each pure, each in the load's own unit and scale-free
 * (every threshold is a ratio, or a multiple of the noise α·√level of plan/noise.ts):
 *
 * - **ramp**: the last minutes rise well beyond noise → the rise is projected over the horizon, so
 *   pods are ordered while a surge builds rather than after it has arrived; the latest minute alone
 *   is also compared (a step), because a surge that builds in two minutes shows only half its rise
 *   in a two-minute mean, and pods ordered on that half are ready after the surge has peaked;
 * - **recurring**: at this time of day on several recent days the load jumped well above its level
 *   just before → a jump of that size is provisioned for before it starts (a daily sale, a batch);
 * - **surging**: the last minutes are well above the last hour (a surge is under way) → the plan
 *   adds the surge margin (`surgeNoiseMargin`: by default the base's since the onset below carries
 *   surges; larger before); and its base holds at the
 *   surge's level, the mean of its last minutes, so one quiet minute of noise or a forecast still
 *   catching up with the new level does not lower the plan mid-surge;
 * - **onset**: a surge's onset found by Page's one-sided CUSUM —
 *   each of the last minutes adds its excess over the level before them, in noise units, less a
 *   slack k, to a sum floored at 0, and it fires when the sum ends above h — so several moderate
 *   minutes count together and a surge building over minutes on noisy traffic is found sooner than
 *   by a test of one or two minutes at the same false-alarm rate; while it fires the surge is under
 *   way (the surge margin applies) and the base is provisioned for it to grow half as much again as
 *   it has shown, since it is still building while pods start. It buys p95 latency at 1–3% more
 *   pod-hours, paid for by a smaller noise margin (plan/defaults.ts; docs/experiments/
 *   planner-2026-12.md, "a surge's onset, found by CUSUM");
 * - **level**: the load's level now — a straight line fitted through the last half hour, read at
 *   the current minute, plus a quarter of the scatter around it — as a floor: traffic of short
 *   bursts needs standing capacity between them (a pod ordered on a one-minute burst is ready after
 *   it), and a line, unlike a mean, follows a daily decline instead of holding the pods of an hour
 *   ago (docs/experiments/planner-2026-12.md, "a floor at the load's level").
 */
import { isObserved, observedMean, type Series } from '../series/observed.js';

const DAY_MINUTES = 1440;

export const SIGNAL_DEFAULTS = {
  ramp: {
    /** The recent level: mean of the last `recentMinutes` (now included). */
    recentMinutes: 2,
    /** The earlier level: mean of the minutes `earlierFrom`..`earlierTo` ago (now = 0). */
    earlierFrom: 5,
    earlierTo: 3,
    /** The rise must exceed z standard deviations of the difference of those two means. */
    z: 3,
    /** Minutes beyond the horizon the projection reaches (the two-minute mean is centred half a minute back). */
    lead: 0.5,
    /** The projection never exceeds this × the recent level (the step's: the level it rose from): a rise is not a rocket. */
    maxFactor: 4,
    /**
     * The step: the latest minute alone against the mean of the minutes `earlierFrom`..`earlierTo`
     * ago, its rise beyond `z` standard deviations (stricter than the ramp's: one minute is noisier
     * than two). Settings chosen on the tuning traces (docs/experiments/planner-2026-12.md).
     */
    step: { earlierFrom: 4, earlierTo: 2, z: 4 },
  },
  recurring: {
    /** Days looked back (1 = yesterday). */
    days: 7,
    /** Days on which the jump must have happened for it to count as recurring. */
    minDays: 3,
    /** The jump: the peak 3-minute mean of the horizon ÷ the median of the 30 minutes before. */
    ratio: 1.5,
    /** … and its rise must exceed z·α·√level: a burst of a few requests on a quiet workload is noise. */
    z: 3,
    levelMinutes: 30,
  },
  surge: {
    /** A surge is under way while the last `shortMinutes`' mean exceeds `ratio` × the last `trailingMinutes`'. */
    shortMinutes: 5,
    trailingMinutes: 60,
    ratio: 1.3,
    /** While it is, the base is at least the mean of the last `holdMinutes` (docs/experiments/planner-2026-12.md, "holding a surge's level"). */
    holdMinutes: 3,
  },
  onset: {
    /** The minutes searched: the last `minutes`, now included. */
    minutes: 10,
    /** The level before: the median of the `beforeMinutes` before them. */
    beforeMinutes: 30,
    /** Slack: each minute adds (excess over the level before) ÷ one minute's σ − k. */
    k: 1.25,
    /** It fires when the sum ends above h. */
    h: 5,
    /** The surge's level: the mean of the minutes since the change point (the sum's last 0), at most this many. */
    levelMinutes: 3,
    /** While it fires, the base is at least before + growth × (level − before). */
    growth: 1.5,
  },
  level: {
    /** The line is fitted through the observed minutes of the last `minutes`, now included. */
    minutes: 30,
    /** … and the floor is its value now plus `spread` × the standard deviation of the minutes around it. */
    spread: 0.25,
  },
} as const;

export interface PlanSignals {
  /** The ramp's projection over the horizon, or null when the load is not rising beyond noise. */
  ramp: number | null;
  /** Today's level × the jump seen at this time on recent days, or null when none recurs. */
  recurring: number | null;
  /** Whether a surge is under way. */
  surging: boolean;
  /** While a surge is under way, its level (the mean of the last `holdMinutes`); else null. */
  surgeLevel: number | null;
  /** While the onset detector fires, the surge's level grown (`surgeOnset`); else null. Optional: absent is null. */
  onset?: number | null;
  /** The load's level now (`loadLevel`), a floor; null without three observed minutes. Optional: absent is null. */
  level?: number | null;
}

export type SignalName = 'ramp' | 'recurring' | 'surge' | 'onset' | 'level';
export const SIGNAL_NAMES: readonly SignalName[] = ['ramp', 'recurring', 'surge', 'onset', 'level'];

/** Minutes of history the signals look at: the recurring guard looks back days. */
export function signalHistoryMinutes(horizon: number, enabled: ReadonlySet<SignalName>): number {
  const r = SIGNAL_DEFAULTS.recurring;
  const base = Math.max(SIGNAL_DEFAULTS.surge.trailingMinutes, SIGNAL_DEFAULTS.onset.minutes + SIGNAL_DEFAULTS.onset.beforeMinutes, SIGNAL_DEFAULTS.level.minutes);
  return enabled.has('recurring') ? r.days * DAY_MINUTES + Math.max(r.levelMinutes, horizon + 2) : base;
}

/** Standard deviation of one minute's noise at `level`, from α of plan/noise.ts (E|Δ| = 2σ/√π for Gaussian noise). */
const minuteSigma = (alpha: number, level: number) => (Math.sqrt(Math.PI) / 2) * alpha * Math.sqrt(Math.max(level, 0));

/**
 * The projected maximum over the next `horizon` minutes while the load rises beyond noise, else null:
 * the larger of the ramp's projection (the last two minutes' mean) and the step's (the latest minute).
 * The history is `values[0, n)`, the current minute last (`n` defaults to the length, so a simulation
 * can pass a whole trace without copying it); `alpha` is the load's noise scale (null: no projection).
 */
export function rampProjection(values: Series, horizon: number, alpha: number | null, n = values.length): number | null {
  const c = SIGNAL_DEFAULTS.ramp;
  if (alpha === null || !(alpha > 0) || n < c.earlierFrom + 1) return null;
  const ramp = projectRise(values, n, horizon, alpha, c);
  const step = projectRise(values, n, horizon, alpha, { recentMinutes: 1, ...c.step });
  // The step is capped on the level it rose from: one minute's jump from (next to) nothing — a
  // workload back after an outage — is no surge's shape to carry on, and the ramp still sees it.
  const r = ramp && Math.min(ramp.projected, ramp.recent * c.maxFactor);
  const p = step && Math.min(step.projected, step.earlier * c.maxFactor);
  return r === null ? p : p === null ? r : Math.max(r, p);
}

/** Two windows of the history compared: the last `recentMinutes` and the minutes `earlierFrom`..`earlierTo` ago. */
interface RiseWindows {
  recentMinutes: number;
  earlierFrom: number;
  earlierTo: number;
  /** The rise must exceed z standard deviations of the difference of their means. */
  z: number;
}

/**
 * The recent window's mean against the earlier one's: when it rose by more than z standard
 * deviations of their difference, that rise per minute carried over the horizon (plus the lead)
 * from the recent mean; else null.
 */
function projectRise(values: Series, n: number, horizon: number, alpha: number, w: RiseWindows): { projected: number; recent: number; earlier: number } | null {
  const { recentMinutes, earlierFrom, earlierTo, z } = w;
  const recent = observedMean(values, n - recentMinutes, n);
  const earlier = observedMean(values, n - 1 - earlierFrom, n - earlierTo);
  if (recent === null || earlier === null || !(recent > 0)) return null;
  const rise = recent - earlier;
  const spread = minuteSigma(alpha, recent) * Math.sqrt(1 / recentMinutes + 1 / (earlierFrom - earlierTo + 1));
  if (!(rise > z * spread)) return null;
  // Centres of the two windows are this many minutes apart.
  const gap = (earlierFrom + earlierTo) / 2 - (recentMinutes - 1) / 2;
  return { projected: recent + (rise / gap) * (horizon + SIGNAL_DEFAULTS.ramp.lead), recent, earlier };
}

/** Median of the observed values of values[from, to), or null. */
function observedMedian(values: Series, from: number, to: number): number | null {
  const v: number[] = [];
  for (let i = Math.max(0, from); i < Math.min(values.length, to); i++) {
    const x = values[i];
    if (isObserved(x)) v.push(x);
  }
  if (v.length === 0) return null;
  v.sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)]!;
}

/**
 * Today's level × the jump that happened in the same minutes of the day on at least `minDays` of the
 * last `days` days (the median of those days' jumps), or null when no jump recurs.
 */
export function recurringPeak(values: Series, horizon: number, alpha: number | null, n = values.length): number | null {
  const c = SIGNAL_DEFAULTS.recurring;
  const now = n - 1;
  if (alpha === null || !(alpha > 0)) return null;
  const today = observedMedian(values, now - c.levelMinutes + 1, now + 1);
  if (today === null || !(today > 0)) return null;
  const jumps: number[] = [];
  for (let d = 1; d <= c.days; d++) {
    const then = now - d * DAY_MINUTES;
    if (then - c.levelMinutes + 1 < 0) break;
    const level = observedMedian(values, then - c.levelMinutes + 1, then + 1);
    if (level === null || !(level > 0)) continue;
    let peak = 0;
    for (let j = 1; j <= horizon; j++) {
      const m = observedMean(values, then + j - 1, then + j + 2);
      if (m !== null && m > peak) peak = m;
    }
    if (peak / level > c.ratio && peak - level > c.z * alpha * Math.sqrt(level)) jumps.push(peak / level);
  }
  if (jumps.length < c.minDays) return null;
  jumps.sort((a, b) => a - b);
  return today * jumps[Math.floor((jumps.length - 1) / 2)]!;
}

/**
 * The onset detector (see the header) over the history `values[0, n)`: the base a surge that has
 * begun is provisioned for, before + growth × (level − before), or null when it does not fire.
 */
export function surgeOnset(values: Series, alpha: number | null, n = values.length): number | null {
  const c = SIGNAL_DEFAULTS.onset;
  const from = n - c.minutes;
  if (alpha === null || !(alpha > 0) || from < 0) return null;
  const before = observedMedian(values, from - c.beforeMinutes, from);
  if (before === null || !(before > 0)) return null;
  const sigma = minuteSigma(alpha, before);
  let sum = 0;
  let changed = from - 1;
  for (let i = from; i < n; i++) {
    const x = values[i];
    if (!isObserved(x)) continue;
    sum = Math.max(0, sum + (x - before) / sigma - c.k);
    if (sum === 0) changed = i;
  }
  if (!(sum > c.h)) return null;
  const level = observedMean(values, Math.max(changed + 1, n - c.levelMinutes), n);
  return level === null ? null : before + c.growth * (level - before);
}

/**
 * The level floor (see the header) over the history `values[0, n)`: the least-squares line through
 * the observed minutes of the last `level.minutes`, at the current minute, plus `level.spread` × the
 * standard deviation of those minutes around the line; never below 0. Null with fewer than three
 * observed minutes (no line and scatter to speak of).
 */
export function loadLevel(values: Series, n = values.length): number | null {
  const c = SIGNAL_DEFAULTS.level;
  const from = Math.max(0, n - c.minutes);
  // x counts minutes back from now (0 = now), so the intercept is the line's value now.
  let k = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = from; i < n; i++) {
    const y = values[i];
    if (!isObserved(y)) continue;
    const x = i - (n - 1);
    k++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  if (k < 3) return null;
  const slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
  const now = (sy - slope * sx) / k;
  let squares = 0;
  for (let i = from; i < n; i++) {
    const y = values[i];
    if (!isObserved(y)) continue;
    const r = y - (now + slope * (i - (n - 1)));
    squares += r * r;
  }
  // Two parameters fitted: k − 2 degrees of freedom for the scatter.
  return Math.max(0, now) + c.spread * Math.sqrt(squares / (k - 2));
}

/** Whether a surge is under way: the last minutes' mean well above the last hour's. */
export function isSurging(values: Series, n = values.length): boolean {
  const c = SIGNAL_DEFAULTS.surge;
  const short = observedMean(values, n - c.shortMinutes, n);
  const trailing = observedMean(values, n - c.trailingMinutes, n);
  return short !== null && trailing !== null && short > c.ratio * trailing;
}

/** Every enabled signal over the history `values[0, n)`, the current minute last. */
export function planSignals(values: Series, horizon: number, alpha: number | null, enabled: ReadonlySet<SignalName>, n = values.length): PlanSignals {
  const surging = enabled.has('surge') && isSurging(values, n);
  return {
    ramp: enabled.has('ramp') ? rampProjection(values, horizon, alpha, n) : null,
    recurring: enabled.has('recurring') ? recurringPeak(values, horizon, alpha, n) : null,
    surging,
    surgeLevel: surging ? observedMean(values, n - SIGNAL_DEFAULTS.surge.holdMinutes, n) : null,
    onset: enabled.has('onset') ? surgeOnset(values, alpha, n) : null,
    level: enabled.has('level') ? loadLevel(values, n) : null,
  };
}
