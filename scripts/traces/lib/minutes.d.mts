/** Types for minutes.mjs, so the TypeScript tests (and any TypeScript caller) import it checked. */
export declare const MINUTE_MS: number;
export declare const DAY_MS: number;
export declare function localMidnight(text: string, offsetMinutes: number): number | null;
export declare function formatOffset(offsetMinutes: number): string;
export declare function formatMinute(minute: number, offsetMinutes: number): string;
export declare function formatLocalDate(minute: number, offsetMinutes: number): string;

export declare class MinuteSeries {
  constructor(first: number, last: number);
  readonly first: number;
  readonly last: number;
  readonly counts: Uint32Array;
  readonly observed: Uint8Array;
  counted: number;
  outOfRange: number;
  readonly length: number;
  add(t: number, n?: number): 'counted' | 'out-of-range';
  mark(from: number, to: number, observed?: boolean): void;
}

export declare const CSV_HEADER: string;
export declare function csvLines(series: MinuteSeries, offsetMinutes: number): Generator<string>;
export declare function renderCsv(series: MinuteSeries, offsetMinutes: number): string;

export interface SeriesSummary {
  minutes: number;
  observed: number;
  total: number;
  mean: number;
  median: number;
  peak: number;
  peakMinute: number | null;
}
export declare function summarize(series: MinuteSeries): SeriesSummary;
export declare function zeroRuns(series: MinuteSeries, limit?: number): { from: number; minutes: number }[];
export declare function daySpan(
  fromText: string,
  toText: string,
  bounds: { firstDay: string; lastDay: string; offsetMinutes: number },
): { first: number; last: number } | string;
export declare function forEachLine(chunks: AsyncIterable<Buffer | string>, onLine: (line: string) => void): Promise<void>;
