#!/usr/bin/env node
/**
 * Rebuilds the WorldCup98 per-minute CSV (May 1 - Jul 26, 1998, local time +02:00).
 *
 *   node scripts/traces/worldcup98/build-worldcup98-csv.mjs --out FILE [--logs DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *   node scripts/traces/worldcup98/build-worldcup98-csv.mjs --out FILE --counts invocation_count.csv [--from ...] [--to ...]
 *
 * --logs (default: the current directory) reads the public binary logs wc_dayX_Y.gz (or decompressed
 * copies without .gz) for every day in the span. --counts reads instead the aggregated per-minute form
 * (`period,count`, GMT) that nimamahmoudi/worldcup98-dataset derived from those logs. Never
 * downloads. Exit codes: 0 ok, 1 an input could not be read, 2 inputs missing or bad usage.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExitError, findInput, runCommand, seriesReport, streamInput, writeCsv } from '../lib/cli.mjs';
import { DAY_MS, MINUTE_MS, MinuteSeries, daySpan, forEachLine } from '../lib/minutes.mjs';
import {
  COUNTS_HEADER,
  FIRST_DATE,
  LAST_DATE,
  PUBLISHED_TOTAL,
  RecordReader,
  WC98_OFFSET_MINUTES,
  dayOf,
  dayStart,
  logNames,
  parseCountsLine,
} from './worldcup98.mjs';

const PAGE = 'https://ita.ee.lbl.gov/html/contrib/WorldCup.html';
const TRACES = 'https://ita.ee.lbl.gov/traces/WorldCup';
const USAGE =
  'usage: node scripts/traces/worldcup98/build-worldcup98-csv.mjs --out FILE [--logs DIR | --counts FILE] [--from YYYY-MM-DD] [--to YYYY-MM-DD]';

/**
 * Counts the binary logs of days [firstDay, lastDay] into `series`; a day is marked observed once all
 * its files have been read.
 * @param {MinuteSeries} series
 * @param {string} dir
 * @param {number} firstDay
 * @param {number} lastDay
 */
async function countBinaryLogs(series, dir, firstDay, lastDay) {
  /** @type {{ day: number, name: string, path: string | null }[]} */
  const files = [];
  for (let day = firstDay; day <= lastDay; day++) {
    for (const name of logNames(day)) files.push({ day, name, path: findInput(dir, [name]) });
  }
  const missing = files.filter((f) => f.path === null);
  if (missing.length > 0) {
    const shown = missing.slice(0, 10).map((f) => `${f.name}.gz`);
    throw new ExitError(
      [
        `missing in ${dir}: ${missing.length} of ${files.length} log files: ${shown.join(', ')}${missing.length > shown.length ? ', ...' : ''}`,
        `Download the binary logs (wc_dayX_Y.gz) listed on the Internet Traffic Archive's WorldCup98 page:`,
        `  ${PAGE}`,
        `  e.g. ${TRACES}/${shown[0]}`,
        `(this script never downloads anything), then run again with --logs pointing at their folder.`,
      ].join('\n'),
      2,
    );
  }
  let records = 0;
  for (const f of files) {
    const reader = new RecordReader((second, n) => void series.add(second * 1000, n));
    const path = /** @type {string} */ (f.path);
    await streamInput(path, async (source) => {
      for await (const chunk of source) reader.push(chunk);
      try {
        reader.end();
      } catch (err) {
        throw new ExitError(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, 1);
      }
    });
    records += reader.records;
    const last = f.name === logNames(f.day).at(-1);
    if (last) series.mark(dayStart(f.day), dayStart(f.day) + DAY_MS - MINUTE_MS);
  }
  return { files: files.length, records };
}

/**
 * Counts the aggregated per-minute form into `series`. It lists only minutes with at least one
 * request, so a minute it lacks is a zero when its day has rows; a local day without a single row is
 * left unobserved (the file says nothing about it).
 * @param {MinuteSeries} series
 * @param {string} path
 */
async function countAggregated(series, path) {
  if (!existsSync(path)) throw new ExitError(`no such file: ${path}\n${USAGE}`, 2);
  let header = true;
  let rows = 0;
  let total = 0;
  let malformed = 0;
  /** @type {string[]} */
  const samples = [];
  /** @type {Set<number>} */
  const days = new Set();
  await streamInput(path, (source) =>
    forEachLine(source, (line) => {
      if (header) {
        header = false;
        if (line.replace(/^\uFEFF/, '') === COUNTS_HEADER) return;
      }
      const row = parseCountsLine(line);
      if (row === null) {
        malformed++;
        if (samples.length < 5) samples.push(line.slice(0, 200));
        return;
      }
      rows++;
      total += row.count;
      if (series.add(row.minute, row.count) === 'counted') {
        days.add(dayOf(row.minute)); // dayOf floors to the local day the minute is in
      }
    }),
  );
  for (const day of days) series.mark(dayStart(day), dayStart(day) + DAY_MS - MINUTE_MS);
  return { rows, total, malformed, samples };
}

await runCommand(async () => {
  /** @type {{ out?: string, logs?: string, counts?: string, from?: string, to?: string }} */
  let args;
  try {
    args = parseArgs({
      options: {
        out: { type: 'string' },
        logs: { type: 'string' },
        counts: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw new ExitError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, 2);
  }
  if (args.out === undefined) throw new ExitError(`--out is required\n${USAGE}`, 2);
  if (args.logs !== undefined && args.counts !== undefined) throw new ExitError(`give --logs or --counts, not both\n${USAGE}`, 2);
  const span = daySpan(args.from ?? FIRST_DATE, args.to ?? LAST_DATE, {
    firstDay: FIRST_DATE,
    lastDay: LAST_DATE,
    offsetMinutes: WC98_OFFSET_MINUTES,
  });
  if (typeof span === 'string') throw new ExitError(`${span}\n${USAGE}`, 2);
  const series = new MinuteSeries(span.first, span.last);

  /** @type {string[]} */
  let input;
  if (args.counts !== undefined) {
    const a = await countAggregated(series, resolve(args.counts));
    input = [
      `read ${a.rows} rows of aggregated counts, ${a.total} requests in all (the page's total for the 249 logs: ${PUBLISHED_TOTAL})`,
      `malformed rows: ${a.malformed}; requests outside the span: ${series.outOfRange}`,
      ...a.samples.map((line) => `  malformed: ${JSON.stringify(line)}`),
    ];
  } else {
    const b = await countBinaryLogs(series, resolve(args.logs ?? '.'), dayOf(span.first), dayOf(span.last));
    input = [`read ${b.files} log files, ${b.records} records; records outside the span: ${series.outOfRange}`];
  }
  writeCsv(args.out, series, WC98_OFFSET_MINUTES);
  return [...seriesReport(args.out, series, WC98_OFFSET_MINUTES), `counted ${series.counted} requests`, ...input];
});
