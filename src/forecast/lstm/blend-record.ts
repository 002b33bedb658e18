/**
 * A workload's record of how each blend (blend.ts) would have done on forecasts the LSTM made out of
 * sample: the errors of the weights in use on the minutes that came after they were fitted. Pure.
 *
 * Why: a round that chooses its blend on the windows its own weights were fitted on sees the LSTM's
 * in-sample errors, smaller than those of the minutes to come, so it blends too little where the
 * LSTM overfits its two days (over-dispersed traffic). Refitting maps on parts of the span to score
 * the rest (cross-fitting) fixed that but scored maps worse than the served one, and cost NASA 1%
 * (docs/experiments/forecaster-2026-12.md). The record scores the weights actually in use, on windows
 * whose targets came after the round that chose them: every round adds the windows that became
 * scoreable since the last, and older errors fade with a half-life of a day.
 */
import { BLEND_CANDIDATES, blendBelowBar, type Blend } from './blend.js';

export interface BlendRecord {
  /** The first window end (a minute since the epoch) not yet scored. */
  next: number;
  /** Decayed summed absolute error of each of BLEND_CANDIDATES, same order. */
  sums: number[];
  /** Decayed count of minute-errors behind `sums`. */
  count: number;
}

/** Minutes over which a scored error's weight halves. */
export const RECORD_HALF_LIFE_MINUTES = 1440;
/** Fewest minute-errors (decayed) the record needs before its choice is trusted: half a day of windows a few minutes apart, each of a 10-minute horizon. */
export const RECORD_MIN_COUNT = 2400;

/** A record that has scored nothing yet, starting at window end `next`. */
export function emptyRecord(next: number): BlendRecord {
  return { next, sums: BLEND_CANDIDATES.map(() => 0), count: 0 };
}

/**
 * The record with the errors of newly scored windows added (`sums` as blendErrorSums gives them,
 * over `count` minute-errors) and `next` moved to `next`; what it held fades by the minutes `next`
 * moved. A record of another grid (a release with other candidates) starts over.
 */
export function addToRecord(r: BlendRecord | undefined, next: number, sums: readonly number[], count: number): BlendRecord {
  const prev = r && r.sums.length === BLEND_CANDIDATES.length && next >= r.next ? r : emptyRecord(next);
  const fade = Math.pow(0.5, (next - prev.next) / RECORD_HALF_LIFE_MINUTES);
  return { next, sums: prev.sums.map((s, k) => s * fade + (sums[k] ?? 0)), count: prev.count * fade + count };
}

/**
 * The record's choice: the candidate with the lowest error, used only when it is below `bar` × the
 * LSTM alone's; null while the record is too short to trust (the round then chooses as before).
 */
export function recordChoice(r: BlendRecord | undefined, bar: number): Blend | null {
  if (!r || r.count < RECORD_MIN_COUNT || r.sums.length !== BLEND_CANDIDATES.length) return null;
  return blendBelowBar(r.sums, r.count, bar);
}

/** A record read from a published meta file is used only when it is whole: otherwise a round starts one. */
export function isBlendRecord(x: unknown): x is BlendRecord {
  const r = x as Partial<BlendRecord> | null;
  return (
    !!r &&
    typeof r === 'object' &&
    Number.isFinite(r.next) &&
    Number.isFinite(r.count) &&
    (r.count as number) >= 0 &&
    Array.isArray(r.sums) &&
    r.sums.length === BLEND_CANDIDATES.length &&
    r.sums.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)
  );
}

/**
 * The record a round continues: the newest of `records` (this process's own, the one published with
 * the weights in use) that scores nothing those weights were fitted on — it must start no earlier
 * than the first window whose targets all came after the round that fitted them, whose origin was
 * minute `fittedAt` (undefined: weights never fitted on this workload). None: the round starts one.
 * A replica that owned the workload before another owner published newer weights must not score
 * those weights on the minutes they were fitted on.
 */
export function recordToContinue(records: readonly (BlendRecord | undefined)[], fittedAt: number | undefined, horizon: number): BlendRecord | undefined {
  let best: BlendRecord | undefined;
  for (const r of records) {
    if (!r || (fittedAt !== undefined && r.next < fittedAt - horizon + 1)) continue;
    if (!best || r.next > best.next) best = r;
  }
  return best;
}
