/**
 * The command shared by the Common Log Format traces (ClarkNet-HTTP, Saskatchewan-HTTP): each trace
 * is a {@link ClfTrace} description (its module holds the rules: files, what each covers, the local
 * offset, the default span) and its build script calls {@link buildClfTrace} with it.
 *
 *   node scripts/traces/NAME/build-NAME-csv.mjs --out FILE [--logs DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClfCounter } from './clf.mjs';
import { ExitError, findInput, runCommand, seriesReport, streamInput, writeCsv } from './cli.mjs';
import { DAY_MS, MINUTE_MS, MinuteSeries, daySpan, forEachLine, localMidnight } from './minutes.mjs';

/**
 * @typedef {object} ClfLog
 * @property {string} file        the name as distributed, e.g. `clarknet_access_log_Aug28.gz`
 * @property {string[]} [aliases] other names the decompressed log goes by (without `.gz`)
 * @property {string} firstDay    first local day the log covers (`YYYY-MM-DD`)
 * @property {string} lastDay     last local day it covers, whole
 */

/**
 * @typedef {object} ClfTrace
 * @property {string} name           kebab-case, e.g. `clarknet-http`
 * @property {string} title          e.g. `ClarkNet-HTTP`
 * @property {string} page           the public page that describes and links the logs
 * @property {string} downloadBase   where the files are, e.g. `https://ita.ee.lbl.gov/traces`
 * @property {number} offsetMinutes  local offset the CSV is written in (east of UTC)
 * @property {string} firstDay       first day of the trace
 * @property {string} lastDay        last day of the trace
 * @property {string} defaultFrom    first day written when --from is not given
 * @property {string} defaultTo      last day written when --to is not given
 * @property {ClfLog[]} logs
 * @property {{ from: string, to: string, why: string }[]} unobserved  known outages, local `YYYY-MM-DDTHH:MM` (inclusive minutes)
 */

/** @param {ClfTrace} trace */
export function usage(trace) {
  return `usage: node scripts/traces/${trace.name}/build-${trace.name}-csv.mjs --out FILE [--logs DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]`;
}

/**
 * The logs a span of local days needs: those covering any of its days.
 * @param {ClfTrace} trace
 * @param {{ first: number, last: number }} span
 * @returns {ClfLog[]}
 */
export function logsFor(trace, span) {
  return trace.logs.filter((log) => {
    const from = /** @type {number} */ (localMidnight(log.firstDay, trace.offsetMinutes));
    const to = /** @type {number} */ (localMidnight(log.lastDay, trace.offsetMinutes)) + DAY_MS - MINUTE_MS;
    return from <= span.last && to >= span.first;
  });
}

/**
 * Epoch ms of a local `YYYY-MM-DDTHH:MM` minute.
 * @param {string} text
 * @param {number} offsetMinutes
 */
export function localMinuteOf(text, offsetMinutes) {
  const day = localMidnight(text.slice(0, 10), offsetMinutes);
  const m = /^T(\d{2}):(\d{2})$/.exec(text.slice(10));
  if (day === null || m === null) throw new RangeError(`not a local minute: ${text}`);
  return day + (Number(m[1]) * 60 + Number(m[2])) * MINUTE_MS;
}

/**
 * Counts the CLF lines of every log the span needs into a new series and marks observed what the
 * logs cover, less the known outages. Pure apart from reading `paths`.
 * @param {ClfTrace} trace
 * @param {{ first: number, last: number }} span
 * @param {{ log: ClfLog, path: string }[]} inputs
 */
export async function countClfLogs(trace, span, inputs) {
  const series = new MinuteSeries(span.first, span.last);
  const counter = new ClfCounter(series);
  for (const { log, path } of inputs) {
    await streamInput(path, (source) => forEachLine(source, (line) => void counter.add(line)));
    const from = /** @type {number} */ (localMidnight(log.firstDay, trace.offsetMinutes));
    const to = /** @type {number} */ (localMidnight(log.lastDay, trace.offsetMinutes)) + DAY_MS - MINUTE_MS;
    series.mark(from, to);
  }
  for (const w of trace.unobserved) {
    series.mark(localMinuteOf(w.from, trace.offsetMinutes), localMinuteOf(w.to, trace.offsetMinutes), false);
  }
  return { series, counter };
}

/**
 * The whole command: arguments, inputs, counting, CSV, report.
 * @param {ClfTrace} trace
 * @param {string[]} [argv]
 */
export async function buildClfTrace(trace, argv = process.argv.slice(2)) {
  await runCommand(async () => {
    /** @type {{ out?: string, logs?: string, from?: string, to?: string }} */
    let args;
    try {
      args = parseArgs({
        args: argv,
        options: { out: { type: 'string' }, logs: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
      }).values;
    } catch (err) {
      throw new ExitError(`${err instanceof Error ? err.message : String(err)}\n${usage(trace)}`, 2);
    }
    if (args.out === undefined) throw new ExitError(`--out is required\n${usage(trace)}`, 2);
    const span = daySpan(args.from ?? trace.defaultFrom, args.to ?? trace.defaultTo, trace);
    if (typeof span === 'string') throw new ExitError(`${span}\n${usage(trace)}`, 2);

    const dir = resolve(args.logs ?? '.');
    const needed = logsFor(trace, span);
    const inputs = needed.map((log) => ({ log, path: findInput(dir, [log.file.replace(/\.gz$/, ''), ...(log.aliases ?? [])]) }));
    const missing = inputs.filter((i) => i.path === null).map((i) => i.log.file);
    if (missing.length > 0) {
      throw new ExitError(
        [
          `missing in ${dir}: ${missing.join(', ')}`,
          `Download from the Internet Traffic Archive's ${trace.title} page (direct links below it):`,
          `  ${trace.page}`,
          ...missing.map((f) => `  ${trace.downloadBase}/${f}`),
          `(this script never downloads anything), then run again with --logs pointing at their folder.`,
        ].join('\n'),
        2,
      );
    }

    const { series, counter } = await countClfLogs(trace, span, /** @type {{ log: ClfLog, path: string }[]} */ (inputs));
    writeCsv(args.out, series, trace.offsetMinutes);
    return [
      ...seriesReport(args.out, series, trace.offsetMinutes),
      `counted ${counter.counted} requests; malformed lines: ${counter.malformed}; outside the span: ${counter.outOfRange}`,
      ...counter.malformedSamples.map((line) => `  malformed: ${JSON.stringify(line)}`),
    ];
  });
}
