/** Types for aggregate.mjs, so the TypeScript test (and any TypeScript caller) imports it checked. */
export declare const MINUTE_MS: number;
export declare const LOCAL_OFFSET_MINUTES: number;
export declare function localMinute(year: number, month: number, day: number, hour: number, minute: number): number;
export declare const FIRST_MINUTE: number;
export declare const LAST_MINUTE: number;

export interface UnobservedWindow {
  /** Epoch ms of the first unobserved minute (inclusive). */
  from: number;
  /** Epoch ms of the last unobserved minute (inclusive). */
  to: number;
  why: string;
}
export declare const UNOBSERVED_WINDOWS: readonly UnobservedWindow[];
export declare function isObservedMinute(minute: number): boolean;

export declare function parseLogTime(line: string): number | null;
export declare function lineMinute(line: string): number | null;

export declare class MinuteCounts {
  constructor(first?: number, last?: number);
  readonly first: number;
  readonly last: number;
  readonly counts: Uint32Array;
  malformed: number;
  outOfRange: number;
  counted: number;
  malformedSamples: string[];
  add(line: string): 'counted' | 'malformed' | 'out-of-range';
}

export declare function countChunks(chunks: AsyncIterable<Buffer | string>, counts: MinuteCounts): Promise<void>;
export declare function formatLocalMinute(minute: number): string;
export declare const CSV_HEADER: string;
export declare function csvLines(counts: MinuteCounts): Generator<string>;
export declare function renderCsv(counts: MinuteCounts): string;
