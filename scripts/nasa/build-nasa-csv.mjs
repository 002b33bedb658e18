#!/usr/bin/env node
/**
 * Rebuilds nasa_http_1995_1min.csv from the two public NASA-HTTP access logs.
 *
 *   node scripts/nasa/build-nasa-csv.mjs --out FILE [--logs DIR]
 *
 * Reads NASA_access_log_Jul95.gz and NASA_access_log_Aug95.gz (or their decompressed forms) from DIR
 * (default: the current directory). Never downloads: the machines Amadeus trains on may have no
 * internet, and a user should see where the data comes from. Exit codes: 0 ok, 1 error, 2 logs missing
 * or bad usage.
 */
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { MinuteCounts, countChunks, renderCsv } from './aggregate.mjs';

const ITA_PAGE = 'https://ita.ee.lbl.gov/html/contrib/NASA-HTTP.html';
const ITA_TRACES = 'https://ita.ee.lbl.gov/traces';
const LOG_NAMES = ['NASA_access_log_Jul95', 'NASA_access_log_Aug95'];

const USAGE = 'usage: node scripts/nasa/build-nasa-csv.mjs --out FILE [--logs DIR]';

/**
 * The path of one log in `dir`: the .gz as distributed, else an already decompressed copy.
 * @param {string} dir
 * @param {string} name
 * @returns {string | null}
 */
function findLog(dir, name) {
  for (const candidate of [`${name}.gz`, name]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  return null;
}

/**
 * Streams one log into `counts` so the ~200 MB of text per month never sits in memory; pipeline()
 * carries a read or gunzip error (truncated download) to the caller instead of hanging.
 * @param {string} path
 * @param {MinuteCounts} counts
 * @returns {Promise<void>}
 */
async function countLog(path, counts) {
  /** @param {AsyncIterable<Buffer>} source */
  const sink = (source) => countChunks(source, counts);
  if (path.endsWith('.gz')) await pipeline(createReadStream(path), createGunzip(), sink);
  else await pipeline(createReadStream(path), sink);
}

/** @param {string} message */
function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main() {
  /** @type {{ out?: string, logs?: string }} */
  let args;
  try {
    args = parseArgs({ options: { out: { type: 'string' }, logs: { type: 'string' } } }).values;
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, 2);
  }
  if (args.out === undefined) return fail(`--out is required\n${USAGE}`, 2);
  const dir = resolve(args.logs ?? '.');

  const paths = LOG_NAMES.map((name) => findLog(dir, name));
  const missing = LOG_NAMES.filter((_, i) => paths[i] === null);
  if (missing.length > 0) {
    return fail(
      [
        `missing in ${dir}: ${missing.map((n) => `${n}.gz`).join(', ')}`,
        `Download both logs from the Internet Traffic Archive's NASA-HTTP page (direct links below it):`,
        `  ${ITA_PAGE}`,
        ...LOG_NAMES.map((n) => `  ${ITA_TRACES}/${n}.gz`),
        `(this script never downloads anything), then run again with --logs pointing at their folder.`,
      ].join('\n'),
      2,
    );
  }

  const counts = new MinuteCounts();
  for (const path of /** @type {string[]} */ (paths)) {
    try {
      await countLog(path, counts);
    } catch (err) {
      return fail(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  writeFileSync(args.out, renderCsv(counts));

  const report = [
    `wrote ${counts.counts.length} minutes to ${args.out}`,
    `counted ${counts.counted} requests; malformed lines: ${counts.malformed}; outside Jul 1 - Aug 31: ${counts.outOfRange}`,
    ...counts.malformedSamples.map((line) => `  malformed: ${JSON.stringify(line)}`),
  ];
  process.stderr.write(`${report.join('\n')}\n`);
}

await main();
