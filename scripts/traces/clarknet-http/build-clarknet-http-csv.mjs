#!/usr/bin/env node
/**
 * Rebuilds the ClarkNet-HTTP per-minute CSV (Aug 28 - Sep 10, 1995, local time -04:00).
 *
 *   node scripts/traces/clarknet-http/build-clarknet-http-csv.mjs --out FILE [--logs DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *   node scripts/traces/clarknet-http/build-clarknet-http-csv.mjs --out FILE --counts clarknet.csv [--dcsim clarknet] [--from ...] [--to ...]
 *
 * --logs (default: the current directory) reads the two public access logs clarknet_access_log_Aug28.gz
 * and clarknet_access_log_Sep4.gz (or decompressed copies without .gz), only those the chosen days need.
 * --counts reads instead the aggregated per-minute form (`datetime,view`, EDT wall time) of
 * marcusalstrom/sarima-lstm-hybrid, writing unobserved the minutes it interpolated or that an independent
 * derivation contradicts; --dcsim also checks it against DCSim's 100-second ClarkNet trace. Never
 * downloads. Exit codes: 0 ok, 1 an input could not be read, 2 inputs missing or bad usage.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildClfTrace, localMinuteOf } from '../lib/clf-build.mjs';
import { ExitError, runCommand, seriesReport, streamInput, writeCsv } from '../lib/cli.mjs';
import { DAY_MS, MINUTE_MS, MinuteSeries, daySpan, forEachLine, formatMinute, localMidnight } from '../lib/minutes.mjs';
import {
  CLARKNET_HTTP,
  CLEANED_WINDOWS,
  COUNTS_HEADER,
  OUTAGES,
  PUBLISHED_TOTAL,
  WINDOW_MINUTES,
  compareWindows,
  denormalize,
  edtMinute,
  parseCountsLine,
  parseDcsimLine,
  straightRuns,
} from './clarknet-http.mjs';

const T = CLARKNET_HTTP;
const USAGE =
  'usage: node scripts/traces/clarknet-http/build-clarknet-http-csv.mjs --out FILE [--logs DIR | --counts FILE [--dcsim FILE]] [--from YYYY-MM-DD] [--to YYYY-MM-DD]';

/**
 * Reads the aggregated form into a series over the whole trace: every row counted, the minutes that
 * have a row marked observed.
 * @param {string} path
 */
async function readCounts(path) {
  const first = /** @type {number} */ (localMidnight(T.firstDay, T.offsetMinutes));
  const last = /** @type {number} */ (localMidnight(T.lastDay, T.offsetMinutes)) + DAY_MS - MINUTE_MS;
  const full = new MinuteSeries(first, last);
  let header = true;
  let rows = 0;
  let total = 0;
  let malformed = 0;
  let repeated = 0;
  /** @type {string[]} */
  const samples = [];
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
      if (full.add(row.minute, row.count) === 'counted') {
        const i = (row.minute - first) / MINUTE_MS;
        if (full.observed[i] === 1) repeated++;
        full.mark(row.minute, row.minute);
      }
    }),
  );
  return { full, rows, total, malformed, repeated, samples };
}

/**
 * Marks unobserved what the aggregated form cannot vouch for; returns how many minutes each rule took.
 * @param {MinuteSeries} full
 */
function maskCounts(full) {
  const before = () => full.observed.reduce((a, b) => a + b, 0);
  const start = before();
  for (const o of OUTAGES) full.mark(localMinuteOf(o.from, T.offsetMinutes), localMinuteOf(o.to, T.offsetMinutes), false);
  const afterOutage = before();
  const runs = straightRuns(full.counts, full.observed);
  for (const r of runs) full.mark(full.first + r.start * MINUTE_MS, full.first + r.end * MINUTE_MS, false);
  const afterRuns = before();
  return {
    outage: start - afterOutage,
    runs,
    runMinutes: afterOutage - afterRuns,
    /** The windows DCSim contradicts; applied after the check so that it can find them again. */
    applyCleaned() {
      const b = before();
      for (const w of CLEANED_WINDOWS) {
        const t = edtMinute(w);
        full.mark(t, t + (WINDOW_MINUTES - 1) * MINUTE_MS, false);
      }
      return b - before();
    },
  };
}

/**
 * Reads DCSim's normalized 100-s trace and compares it with the aggregated form.
 * @param {string} path
 * @param {MinuteSeries} full
 * @param {string} stage what `full.observed` holds at this point
 */
async function checkDcsim(path, full, stage) {
  /** @type {number[]} */
  const values = [];
  let expected = 0;
  await streamInput(path, (source) =>
    forEachLine(source, (line) => {
      const row = parseDcsimLine(line);
      if (row === null) return;
      if (row.second !== expected) throw new ExitError(`cannot read ${path}: expected second ${expected}, got ${row.second}`, 1);
      expected += 100;
      values.push(row.value);
    }),
  );
  const d = denormalize(values);
  if (d === null) throw new ExitError(`cannot read ${path}: its values are not counts divided by a common peak`, 1);
  const { diffs, robustSd } = compareWindows(full.counts, full.observed, d.counts);
  const limit = 5 * robustSd;
  const off = diffs.filter((x) => Math.abs(x.diff) > limit);
  const at = (/** @type {number} */ w) => formatMinute(full.first + w * WINDOW_MINUTES * MINUTE_MS, T.offsetMinutes).slice(0, 16);
  const sum = diffs.reduce((a, x) => a + x.diff, 0);
  return [
    `dcsim ${stage}: ${values.length} bins of 100 s, scale ${d.scale}, ${d.counts.reduce((a, b) => a + b, 0)} requests (the page: ${PUBLISHED_TOTAL});` +
      ` ${diffs.length} observed 5-minute windows compared: robust sd ${robustSd.toFixed(1)}, sum of differences ${sum},` +
      ` largest ${diffs.reduce((a, x) => Math.max(a, Math.abs(x.diff)), 0)}; beyond 5 sd (${limit.toFixed(0)}): ${off.length}`,
    ...(off.length > 0 ? [`  ${off.map((x) => `${at(x.window)} (${x.diff > 0 ? '+' : ''}${x.diff})`).join(', ')}`] : []),
  ];
}

const argv = process.argv.slice(2);
const aggregated = argv.some((a) => /^--(counts|dcsim)(=|$)/.test(a));

if (!aggregated) await buildClfTrace(T, argv);
else await runCommand(async () => {
  /** @type {{ out?: string, logs?: string, counts?: string, dcsim?: string, from?: string, to?: string }} */
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        logs: { type: 'string' },
        counts: { type: 'string' },
        dcsim: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw new ExitError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, 2);
  }
  if (args.counts === undefined) throw new ExitError(`--dcsim checks --counts; give both\n${USAGE}`, 2);
  if (args.out === undefined) throw new ExitError(`--out is required\n${USAGE}`, 2);
  if (args.logs !== undefined) throw new ExitError(`give --logs or --counts, not both\n${USAGE}`, 2);
  const span = daySpan(args.from ?? T.defaultFrom, args.to ?? T.defaultTo, T);
  if (typeof span === 'string') throw new ExitError(`${span}\n${USAGE}`, 2);
  const countsPath = resolve(args.counts);
  if (!existsSync(countsPath)) throw new ExitError(`no such file: ${countsPath}\n${USAGE}`, 2);
  const dcsimPath = args.dcsim === undefined ? undefined : resolve(args.dcsim);
  if (dcsimPath !== undefined && !existsSync(dcsimPath)) throw new ExitError(`no such file: ${dcsimPath}\n${USAGE}`, 2);

  const c = await readCounts(countsPath);
  const mask = maskCounts(c.full);
  const check = dcsimPath === undefined ? [] : await checkDcsim(dcsimPath, c.full, 'before the contradicted windows are removed');
  const cleaned = mask.applyCleaned();
  if (dcsimPath !== undefined) check.push(...(await checkDcsim(dcsimPath, c.full, 'as written')));

  const series = new MinuteSeries(span.first, span.last);
  const a = (span.first - c.full.first) / MINUTE_MS;
  series.counts.set(c.full.counts.subarray(a, a + series.length));
  series.observed.set(c.full.observed.subarray(a, a + series.length));
  series.counted = series.counts.reduce((s, v) => s + v, 0);
  writeCsv(args.out, series, T.offsetMinutes);
  return [
    ...seriesReport(args.out, series, T.offsetMinutes),
    `read ${c.rows} rows of aggregated counts, ${c.total} requests in all (the page's total for both logs: ${PUBLISHED_TOTAL});` +
      ` malformed rows: ${c.malformed}; requests outside the trace: ${c.full.outOfRange}; repeated minutes: ${c.repeated};` +
      ` requests outside the span: ${c.full.counted - series.counted}`,
    ...c.samples.map((line) => `  malformed: ${JSON.stringify(line)}`),
    `written unobserved over the whole trace: ${mask.outage} minutes of the Sep 5 outage; ${mask.runMinutes} minutes in ${mask.runs.length} straight-line runs` +
      ` (interpolated by the aggregated form); ${cleaned} more minutes in the ${CLEANED_WINDOWS.length} windows an independent derivation contradicts`,
    ...check,
  ];
});
