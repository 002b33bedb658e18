/** Types for worldcup98.mjs. */
export declare const WC98_OFFSET_MINUTES: number;
export declare const RECORD_BYTES: number;
export declare const FIRST_DAY: number;
export declare const LAST_DAY: number;
export declare const FIRST_DATE: string;
export declare const LAST_DATE: string;
export declare const PUBLISHED_TOTAL: number;
export declare const PARTS: Readonly<Record<number, number>>;
export declare function dayStart(day: number): number;
export declare function dayOf(midnight: number): number;
export declare function logNames(day: number): string[];
export declare function daysToSpan(firstDay: number, lastDay: number): { first: number; last: number };
export declare class RecordReader {
  constructor(onSecond: (second: number, n: number) => void);
  records: number;
  push(chunk: Buffer): void;
  end(): void;
}
export declare const COUNTS_HEADER: string;
export declare function parseCountsLine(line: string): { minute: number; count: number } | null;
