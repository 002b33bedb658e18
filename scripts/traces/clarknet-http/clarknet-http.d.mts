/** Types for clarknet-http.mjs. */
import type { ClfTrace } from '../lib/clf-build.mjs';
export declare const OUTAGES: readonly { from: string; to: string; why: string }[];
export declare const CLARKNET_HTTP: ClfTrace;
export declare const PUBLISHED_TOTAL: number;
export declare const COUNTS_HEADER: string;
export declare function parseCountsLine(line: string): { minute: number; count: number } | null;
export declare const MIN_STRAIGHT_POINTS: number;
export declare function straightRuns(
  values: ArrayLike<number>,
  present?: ArrayLike<number>,
  minPoints?: number,
): { start: number; end: number }[];
export declare const CLEANED_WINDOWS: readonly string[];
export declare const WINDOW_MINUTES: number;
export declare function edtMinute(text: string): number;
export declare function denormalize(values: readonly number[], maxScale?: number): { scale: number; counts: number[] } | null;
export declare function parseDcsimLine(line: string): { second: number; value: number } | null;
export declare function compareWindows(
  minuteCounts: ArrayLike<number>,
  observed: ArrayLike<number>,
  binCounts: readonly number[],
): { diffs: { window: number; diff: number }[]; robustSd: number };
export declare function robustSd(xs: readonly number[]): number;
