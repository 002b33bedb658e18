/**
 * The I/O the trace commands share: finding an input as distributed (gzip) or already decompressed,
 * streaming it (never whole in memory), failing with the exit codes of scripts/nasa (1: an input could
 * not be read; 2: bad usage or inputs missing), and the stderr report. Never downloads anything.
 */
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { formatMinute, formatOffset, renderCsv, summarize, zeroRuns } from './minutes.mjs';

/** Thrown by the commands' helpers; `main` turns it into a message and an exit code. */
export class ExitError extends Error {
  /** @param {string} message @param {number} code */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/**
 * The first of `names` that exists as a file in `dir`, each tried as `NAME.gz` (as distributed) and
 * then `NAME` (already decompressed), or null.
 * @param {string} dir
 * @param {readonly string[]} names base names without `.gz`
 * @returns {string | null}
 */
export function findInput(dir, names) {
  for (const name of names) {
    for (const candidate of [`${name}.gz`, name]) {
      const path = join(dir, candidate);
      if (existsSync(path) && statSync(path).isFile()) return path;
    }
  }
  return null;
}

/**
 * Streams a file (gunzipped when it ends in `.gz`) into `sink`. pipeline() carries a read or gunzip
 * error (a truncated download) to the caller as an {@link ExitError} with code 1 instead of hanging.
 * @param {string} path
 * @param {(source: AsyncIterable<Buffer>) => Promise<void>} sink
 */
export async function streamInput(path, sink) {
  try {
    if (path.endsWith('.gz')) await pipeline(createReadStream(path), createGunzip(), sink);
    else await pipeline(createReadStream(path), sink);
  } catch (err) {
    if (err instanceof ExitError) throw err;
    throw new ExitError(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

/**
 * Writes the CSV (only once every input has been read, so a failed run leaves no partial file).
 * @param {string} out
 * @param {import('./minutes.mjs').MinuteSeries} series
 * @param {number} offsetMinutes
 */
export function writeCsv(out, series, offsetMinutes) {
  try {
    writeFileSync(out, renderCsv(series, offsetMinutes));
  } catch (err) {
    throw new ExitError(`cannot write ${out}: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

/**
 * The report's lines about the written series: span, observed share, per-minute figures and the
 * longest runs of observed zero minutes.
 * @param {string} out
 * @param {import('./minutes.mjs').MinuteSeries} series
 * @param {number} offsetMinutes
 * @returns {string[]}
 */
export function seriesReport(out, series, offsetMinutes) {
  const s = summarize(series);
  /** @param {number} t */
  const at = (t) => formatMinute(t, offsetMinutes);
  const lines = [
    `wrote ${s.minutes} minutes (${at(series.first)} .. ${at(series.last)}, UTC${formatOffset(offsetMinutes)}) to ${out}`,
    `observed minutes: ${s.observed} of ${s.minutes} (${((100 * s.observed) / s.minutes).toFixed(1)}%)`,
    `per observed minute: mean ${s.mean.toFixed(1)}, median ${s.median}, peak ${s.peak}` + (s.peakMinute === null ? '' : ` at ${at(s.peakMinute)}`),
  ];
  const runs = zeroRuns(series).filter((r) => r.minutes > 1);
  if (runs.length > 0) {
    lines.push(`longest runs of observed zero minutes: ${runs.map((r) => `${r.minutes} from ${at(r.from)}`).join('; ')}`);
  }
  return lines;
}

/**
 * Runs a command's `main`, mapping an {@link ExitError} to its message and code.
 * @param {() => Promise<string[]>} main resolves to the report's lines
 */
export async function runCommand(main) {
  try {
    const report = await main();
    process.stderr.write(`${report.join('\n')}\n`);
  } catch (err) {
    if (err instanceof ExitError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err.code);
    }
    throw err;
  }
}
