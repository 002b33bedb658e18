/**
 * ClarkNet-HTTP (Internet Traffic Archive): two weeks of every HTTP request to the ClarkNet WWW server
 * (an Internet access provider for the Baltimore-Washington DC area), Aug 28 - Sep 10, 1995, in two
 * Common Log Format files. The rules only, no I/O:
 *
 * - the logs: which file covers which days, the local offset, the span, the one outage; the shared CLF
 *   command (../lib/clf-build.mjs) runs them;
 * - the aggregated form that could be fetched instead (`datetime,view` per minute, EDT wall time,
 *   "cleaned" by whoever made it): how its rows are read, how its interpolated stretches are found, and
 *   which of its windows an independent derivation of the same logs contradicts;
 * - DCSim's ClarkNet trace (normalized requests per 100 s, another derivation of the same logs), used only
 *   to check the aggregated form.
 *
 * `build-clarknet-http-csv.mjs` adds the files.
 */
import { MINUTE_MS, localMidnight } from '../lib/minutes.mjs';

const OFFSET_MINUTES = -240;

/**
 * The outage in the logs: DCSim's derivation of the same two logs (see `DCSIM`) counts 3 requests or
 * fewer per 5 minutes from 19:20 to 21:20 on Tuesday, Sep 5 (about 1,250 on either side), and the
 * aggregated form papers over the same minutes with a straight line; the ITA page names no outage.
 * @type {readonly { from: string, to: string, why: string }[]}
 */
export const OUTAGES = Object.freeze([
  {
    from: '1995-09-05T19:17',
    to: '1995-09-05T21:23',
    why: 'outage: near-empty in an independent derivation of the logs, interpolated in the aggregated form',
  },
]);

/** @type {import('../lib/clf-build.mjs').ClfTrace} */
export const CLARKNET_HTTP = Object.freeze({
  name: 'clarknet-http',
  title: 'ClarkNet-HTTP',
  page: 'https://ita.ee.lbl.gov/html/contrib/ClarkNet-HTTP.html',
  downloadBase: 'https://ita.ee.lbl.gov/traces',
  // The page: "The timezone is -0400" (EDT); the lines carry it too.
  offsetMinutes: OFFSET_MINUTES,
  firstDay: '1995-08-28',
  lastDay: '1995-09-10',
  defaultFrom: '1995-08-28',
  defaultTo: '1995-09-10',
  logs: [
    // "The first log was collected from 00:00:00 August 28, 1995 through 23:59:59 September 3, 1995"
    { file: 'clarknet_access_log_Aug28.gz', firstDay: '1995-08-28', lastDay: '1995-09-03' },
    // "The second log was collected from 00:00:00 September 4, 1995 through 23:59:59 September 10, 1995"
    { file: 'clarknet_access_log_Sep4.gz', firstDay: '1995-09-04', lastDay: '1995-09-10' },
  ],
  unobserved: [...OUTAGES],
});

/** The page's total for both logs. */
export const PUBLISHED_TOTAL = 3_328_587;

// ---------------------------------------------------------------------------------------------------
// The aggregated form: data/clarknet.csv of github.com/marcusalstrom/sarima-lstm-hybrid.

export const COUNTS_HEADER = 'datetime,view';

const COUNTS_LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):00,(\d+)$/;

/**
 * One row of the aggregated form (`1995-08-28 00:00:00,44`: EDT wall time, requests in that minute),
 * or null when malformed.
 * @param {string} line
 * @returns {{ minute: number, count: number } | null}
 */
export function parseCountsLine(line) {
  const m = COUNTS_LINE.exec(line);
  if (m === null) return null;
  const [year, month, day, hour, minute, count] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (hour > 23 || minute > 59) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const d = new Date(wall);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) return null;
  return { minute: wall - OFFSET_MINUTES * MINUTE_MS, count };
}

/** Points in a straight line from which a stretch is taken for interpolation (see `straightRuns`). */
export const MIN_STRAIGHT_POINTS = 5;

/**
 * The stretches of consecutive values that lie on a straight line: every second difference within ±1,
 * which is what linear interpolation leaves once rounded to whole requests. Real per-minute counts of
 * a few hundred requests almost never do this over five minutes (the second difference of three
 * Poisson counts of 100 has a standard deviation of about 25); the aggregated form does it wherever it
 * replaced a spike, a dip or an outage by a line. Returns inclusive index ranges of at least
 * `minPoints` values; `present[i]` false (a minute without a row) breaks a run.
 * @param {ArrayLike<number>} values
 * @param {ArrayLike<number>} [present]
 * @param {number} [minPoints]
 * @returns {{ start: number, end: number }[]}
 */
export function straightRuns(values, present, minPoints = MIN_STRAIGHT_POINTS) {
  /** @type {{ start: number, end: number }[]} */
  const runs = [];
  const ok = (/** @type {number} */ i) => present === undefined || present[i] === 1;
  let start = -1; // first point of the current run; the run so far is start..i
  for (let i = 1; i + 1 < values.length; i++) {
    const straight = ok(i - 1) && ok(i) && ok(i + 1) && Math.abs(values[i + 1] - 2 * values[i] + values[i - 1]) <= 1;
    if (straight) {
      if (start < 0) start = i - 1;
    } else if (start >= 0) {
      if (i - start + 1 >= minPoints) runs.push({ start, end: i });
      start = -1;
    }
  }
  if (start >= 0 && values.length - start >= minPoints) runs.push({ start, end: values.length - 1 });
  return runs;
}

/**
 * The 5-minute windows (local start minute, `YYYY-MM-DDTHH:MM`) where the aggregated form and DCSim's
 * derivation of the same logs disagree by more than 5 robust standard deviations (178 requests; the
 * spread is mostly the 40-second offset between the two binnings), among the windows that the outage
 * and `straightRuns` leave whole: spikes and dips the aggregated form smoothed over a minute or two.
 * Exactly the list `--dcsim` prints before they are removed (see the README); written unobserved.
 */
export const CLEANED_WINDOWS = Object.freeze([
  '1995-08-29T02:30', '1995-08-29T15:20', '1995-08-30T15:35', '1995-08-30T19:20', '1995-08-31T16:20',
  '1995-08-31T16:45', '1995-08-31T19:55', '1995-09-01T10:20', '1995-09-01T11:15', '1995-09-01T13:15',
  '1995-09-01T16:20', '1995-09-01T19:10', '1995-09-05T09:30', '1995-09-05T12:30', '1995-09-05T23:30',
  '1995-09-06T18:35', '1995-09-07T23:30', '1995-09-08T10:55', '1995-09-08T12:40', '1995-09-08T14:10',
  '1995-09-08T17:05',
]);

/** Minutes in a comparison window. */
export const WINDOW_MINUTES = 5;

/**
 * Epoch ms of a local (EDT) `YYYY-MM-DDTHH:MM`.
 * @param {string} text
 */
export function edtMinute(text) {
  const day = localMidnight(text.slice(0, 10), OFFSET_MINUTES);
  const m = /^T(\d{2}):(\d{2})$/.exec(text.slice(10));
  if (day === null || m === null || Number(m[1]) > 23 || Number(m[2]) > 59) throw new RangeError(`not a local minute: ${text}`);
  return day + (Number(m[1]) * 60 + Number(m[2])) * MINUTE_MS;
}

// ---------------------------------------------------------------------------------------------------
// DCSim's trace: traces/clarknet of github.com/digs-uwo/dcsim, a header line (the interval, 100) and then
// `seconds, value` rows: requests in each 100 s from the first request, divided by the largest 100-s count.

/**
 * The whole counts behind DCSim's normalized values: the smallest scale (up to `maxScale`) that makes
 * every value a whole number, and the counts. Null when no such scale exists (not a normalized count).
 * @param {readonly number[]} values
 * @param {number} [maxScale]
 * @returns {{ scale: number, counts: number[] } | null}
 */
export function denormalize(values, maxScale = 100_000) {
  const whole = (/** @type {number} */ x) => Math.abs(x - Math.round(x)) < 1e-6;
  const peak = values.reduce((a, b) => Math.max(a, b), 0);
  if (peak <= 0) return null;
  for (let scale = 1; scale <= maxScale; scale++) {
    if (!whole(peak * scale)) continue;
    if (values.every((v) => whole(v * scale))) return { scale, counts: values.map((v) => Math.round(v * scale)) };
  }
  return null;
}

/**
 * One row of DCSim's trace (`300, 0.309111880046`), or null (the header, or malformed).
 * @param {string} line
 * @returns {{ second: number, value: number } | null}
 */
export function parseDcsimLine(line) {
  const m = /^(\d+),\s*([0-9.]+(?:[eE][+-]?\d+)?)$/.exec(line.trim());
  if (m === null) return null;
  const value = Number(m[2]);
  return Number.isFinite(value) ? { second: Number(m[1]), value } : null;
}

/**
 * Compares 5-minute totals of a per-minute series with 300-s totals of 100-s counts (three bins each),
 * window by window from the start of both. Windows with an unobserved minute are skipped. Returns the
 * differences and a robust standard deviation (1.4826 × the median absolute deviation) of them.
 * @param {ArrayLike<number>} minuteCounts
 * @param {ArrayLike<number>} observed 1 where the minute is vouched for
 * @param {readonly number[]} binCounts 100-s counts
 * @returns {{ diffs: { window: number, diff: number }[], robustSd: number }}
 */
export function compareWindows(minuteCounts, observed, binCounts) {
  const windows = Math.min(Math.floor(minuteCounts.length / WINDOW_MINUTES), Math.floor(binCounts.length / 3));
  /** @type {{ window: number, diff: number }[]} */
  const diffs = [];
  for (let w = 0; w < windows; w++) {
    let mine = 0;
    let seen = true;
    for (let i = w * WINDOW_MINUTES; i < (w + 1) * WINDOW_MINUTES; i++) {
      mine += minuteCounts[i];
      if (observed[i] !== 1) seen = false;
    }
    if (!seen) continue;
    diffs.push({ window: w, diff: mine - (binCounts[3 * w] + binCounts[3 * w + 1] + binCounts[3 * w + 2]) });
  }
  return { diffs, robustSd: robustSd(diffs.map((d) => d.diff)) };
}

/**
 * 1.4826 × the median absolute deviation from the median (0 for no values).
 * @param {readonly number[]} xs
 */
export function robustSd(xs) {
  if (xs.length === 0) return 0;
  const median = (/** @type {number[]} */ a) => {
    const s = [...a].sort((x, y) => x - y);
    const n = s.length;
    return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  };
  const m = median([...xs]);
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}
