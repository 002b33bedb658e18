/** Types for clf-build.mjs: the description of a Common Log Format trace and the shared command. */
import type { ClfCounter } from './clf.mjs';
import type { MinuteSeries } from './minutes.mjs';

export interface ClfLog {
  /** The name as distributed, e.g. `clarknet_access_log_Aug28.gz`. */
  file: string;
  /** Other names the decompressed log goes by (without `.gz`). */
  aliases?: string[];
  /** First local day the log covers, `YYYY-MM-DD`. */
  firstDay: string;
  /** Last local day it covers, whole. */
  lastDay: string;
}

export interface ClfTrace {
  name: string;
  title: string;
  page: string;
  downloadBase: string;
  /** Local offset the CSV is written in, minutes east of UTC. */
  offsetMinutes: number;
  firstDay: string;
  lastDay: string;
  defaultFrom: string;
  defaultTo: string;
  logs: ClfLog[];
  /** Known outages, local `YYYY-MM-DDTHH:MM`, inclusive minutes. */
  unobserved: { from: string; to: string; why: string }[];
}

export declare function usage(trace: ClfTrace): string;
export declare function logsFor(trace: ClfTrace, span: { first: number; last: number }): ClfLog[];
export declare function localMinuteOf(text: string, offsetMinutes: number): number;
export declare function countClfLogs(
  trace: ClfTrace,
  span: { first: number; last: number },
  inputs: { log: ClfLog; path: string }[],
): Promise<{ series: MinuteSeries; counter: ClfCounter }>;
export declare function buildClfTrace(trace: ClfTrace, argv?: string[]): Promise<void>;
