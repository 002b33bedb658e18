/** Types for clf.mjs. */
import type { MinuteSeries } from './minutes.mjs';
export declare function parseClfTime(line: string): number | null;
export declare function stripTarJunk(line: string): string;
export declare class ClfCounter {
  constructor(series: MinuteSeries);
  readonly series: MinuteSeries;
  counted: number;
  outOfRange: number;
  malformed: number;
  malformedSamples: string[];
  add(rawLine: string): 'counted' | 'out-of-range' | 'malformed' | 'blank';
}
