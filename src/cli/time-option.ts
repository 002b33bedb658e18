/**
 * A time option (`--start`, `--end`, `--replay-start`) as epoch ms. Its pattern admits 2025-13-45
 * and 30 February, which Date.parse reads as NaN or rolls over: checked as the trace reader checks.
 */
import { envOf, flagOf, UsageError } from '../config/options.js';
import { parseTimestamp } from '../sources/trace.js';

export function timeOption(key: string, value: string): number {
  const t = parseTimestamp(value);
  if (t === null) throw new UsageError(`${flagOf(key)} (${envOf(key)}) is not a valid time: "${value}"`);
  return t.epochMs;
}
