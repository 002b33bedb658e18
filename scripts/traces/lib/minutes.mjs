/**
 * The per-minute series every trace script writes: counts per minute over a fixed span, an observed
 * flag per minute, and the CSV form the `amadeus` loader reads (`timestamp,requests,observed`, ISO-8601
 * with an explicit offset, one row per minute, every minute of the span present). No I/O here.
 *
 * A minute starts unobserved and becomes observed only when a source that covers it has been read
 * whole: a span the sources do not cover is written as `0,0`, never as an idle `0,1`.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Epoch ms of 00:00 local time on a `YYYY-MM-DD` day, in a zone `offsetMinutes` east of UTC, or null
 * when the text is not a real date.
 * @param {string} text
 * @param {number} offsetMinutes
 * @returns {number | null}
 */
export function localMidnight(text, offsetMinutes) {
  const m = DATE.exec(text);
  if (m === null) return null;
  const [year, month, day] = [m[1], m[2], m[3]].map(Number);
  const wall = Date.UTC(year, month - 1, day);
  const d = new Date(wall);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return wall - offsetMinutes * MINUTE_MS;
}

/** @param {number} n */
const pad2 = (n) => String(n).padStart(2, '0');

/**
 * `-04:00`, `+02:00`: an offset east of UTC in minutes, as ISO-8601 writes it.
 * @param {number} offsetMinutes
 */
export function formatOffset(offsetMinutes) {
  const abs = Math.abs(offsetMinutes);
  return `${offsetMinutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * A minute as local wall time with its offset: `1995-08-28T00:00:00-04:00`.
 * @param {number} minute epoch ms (a whole minute)
 * @param {number} offsetMinutes
 */
export function formatMinute(minute, offsetMinutes) {
  const d = new Date(minute + offsetMinutes * MINUTE_MS);
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
    `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:00${formatOffset(offsetMinutes)}`
  );
}

/** `YYYY-MM-DD` of the local day a minute falls in. @param {number} minute @param {number} offsetMinutes */
export function formatLocalDate(minute, offsetMinutes) {
  return formatMinute(minute, offsetMinutes).slice(0, 10);
}

/**
 * Requests per minute over [first, last] (inclusive), with what was not counted. Typed arrays keep
 * months of minutes small however many requests stream through (a minute holds up to 2^32 − 1).
 */
export class MinuteSeries {
  /**
   * @param {number} first epoch ms of the first minute
   * @param {number} last  epoch ms of the last minute (inclusive)
   */
  constructor(first, last) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first % MINUTE_MS !== 0 || last % MINUTE_MS !== 0 || last < first) {
      throw new RangeError('first and last must be whole minutes with first <= last');
    }
    this.first = first;
    this.last = last;
    const n = (last - first) / MINUTE_MS + 1;
    this.counts = new Uint32Array(n);
    /** 1 where a source covering the minute has been read; 0 (unknown) until then. */
    this.observed = new Uint8Array(n);
    /** Requests counted into a minute of the span. */
    this.counted = 0;
    /** Requests whose minute is outside the span. */
    this.outOfRange = 0;
  }

  get length() {
    return this.counts.length;
  }

  /**
   * Counts `n` requests at instant `t` (epoch ms, any second within the minute).
   * @param {number} t
   * @param {number} [n]
   * @returns {'counted' | 'out-of-range'}
   */
  add(t, n = 1) {
    const i = Math.floor((t - this.first) / MINUTE_MS);
    if (i < 0 || i >= this.counts.length) {
      this.outOfRange += n;
      return 'out-of-range';
    }
    this.counts[i] += n;
    this.counted += n;
    return 'counted';
  }

  /**
   * Sets the observed flag on every minute of [from, to] (epoch ms, inclusive) inside the span.
   * @param {number} from
   * @param {number} to
   * @param {boolean} [observed]
   */
  mark(from, to, observed = true) {
    const a = Math.max(0, Math.ceil((from - this.first) / MINUTE_MS));
    const b = Math.min(this.counts.length - 1, Math.floor((to - this.first) / MINUTE_MS));
    if (b >= a) this.observed.fill(observed ? 1 : 0, a, b + 1);
  }
}

export const CSV_HEADER = 'timestamp,requests,observed';

/**
 * The CSV lines, header first, no terminators: every minute of the span, zero-filled, with its flag.
 * Counts in unobserved minutes are still written (a partial minute keeps what it had); the loader
 * ignores them.
 * @param {MinuteSeries} series
 * @param {number} offsetMinutes
 * @returns {Generator<string>}
 */
export function* csvLines(series, offsetMinutes) {
  yield CSV_HEADER;
  for (let i = 0; i < series.length; i++) {
    yield `${formatMinute(series.first + i * MINUTE_MS, offsetMinutes)},${series.counts[i]},${series.observed[i]}`;
  }
}

/**
 * The whole CSV, LF endings and a final newline.
 * @param {MinuteSeries} series
 * @param {number} offsetMinutes
 */
export function renderCsv(series, offsetMinutes) {
  return [...csvLines(series, offsetMinutes)].join('\n') + '\n';
}

/**
 * @typedef {object} SeriesSummary
 * @property {number} minutes   rows in the span
 * @property {number} observed  rows with observed=1
 * @property {number} total     requests in observed minutes
 * @property {number} mean      per observed minute
 * @property {number} median    per observed minute
 * @property {number} peak      largest observed minute
 * @property {number | null} peakMinute epoch ms of the (first) largest observed minute
 */

/**
 * Figures over the observed minutes only, for the report and the README.
 * @param {MinuteSeries} series
 * @returns {SeriesSummary}
 */
export function summarize(series) {
  const values = [];
  let total = 0;
  let peak = 0;
  /** @type {number | null} */
  let peakMinute = null;
  for (let i = 0; i < series.length; i++) {
    if (series.observed[i] !== 1) continue;
    const v = series.counts[i];
    values.push(v);
    total += v;
    if (peakMinute === null || v > peak) {
      peak = v;
      peakMinute = series.first + i * MINUTE_MS;
    }
  }
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const median = n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { minutes: series.length, observed: n, total, mean: n === 0 ? 0 : total / n, median, peak, peakMinute };
}

/**
 * The longest runs of observed minutes with no request at all, longest first: on a busy server these
 * are outages or logging gaps that the documentation may not mention, so the report names them for
 * a person to judge (they stay observed zeros; the script does not guess).
 * @param {MinuteSeries} series
 * @param {number} [limit]
 * @returns {{ from: number, minutes: number }[]}
 */
export function zeroRuns(series, limit = 3) {
  /** @type {{ from: number, minutes: number }[]} */
  const runs = [];
  let start = -1;
  for (let i = 0; i <= series.length; i++) {
    const zero = i < series.length && series.observed[i] === 1 && series.counts[i] === 0;
    if (zero && start < 0) start = i;
    if (!zero && start >= 0) {
      runs.push({ from: series.first + start * MINUTE_MS, minutes: i - start });
      start = -1;
    }
  }
  return runs.sort((a, b) => b.minutes - a.minutes || a.from - b.from).slice(0, limit);
}

/**
 * The local days [from, to] (inclusive, `YYYY-MM-DD`) as a span of minutes, checked against the
 * days a trace has. Returns an error message instead when the days are malformed or out of bounds.
 * @param {string} fromText
 * @param {string} toText
 * @param {{ firstDay: string, lastDay: string, offsetMinutes: number }} bounds
 * @returns {{ first: number, last: number } | string}
 */
export function daySpan(fromText, toText, bounds) {
  const from = localMidnight(fromText, bounds.offsetMinutes);
  const to = localMidnight(toText, bounds.offsetMinutes);
  if (from === null) return `--from "${fromText}" is not a date (YYYY-MM-DD)`;
  if (to === null) return `--to "${toText}" is not a date (YYYY-MM-DD)`;
  const min = /** @type {number} */ (localMidnight(bounds.firstDay, bounds.offsetMinutes));
  const max = /** @type {number} */ (localMidnight(bounds.lastDay, bounds.offsetMinutes));
  if (from < min || to > max) return `the trace covers ${bounds.firstDay} .. ${bounds.lastDay}; got ${fromText} .. ${toText}`;
  if (to < from) return `--to ${toText} is before --from ${fromText}`;
  return { first: from, last: to + DAY_MS - MINUTE_MS };
}

/**
 * Feeds a stream of text or byte chunks to `onLine`, one line at a time (no terminator). Lines may
 * straddle chunks; CRLF endings are stripped and blank lines skipped. Bytes are read as latin1: the
 * 1990s logs predate UTF-8 and hold stray bytes, and latin1 maps each byte to one character, so
 * decoding can neither fail nor merge lines.
 * @param {AsyncIterable<Buffer | string>} chunks
 * @param {(line: string) => void} onLine
 * @returns {Promise<void>}
 */
export async function forEachLine(chunks, onLine) {
  let rest = '';
  /** @param {string} line */
  const emit = (line) => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.length > 0) onLine(trimmed);
  };
  for await (const chunk of chunks) {
    const lines = (rest + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'))).split('\n');
    rest = lines.pop() ?? '';
    lines.forEach(emit);
  }
  emit(rest);
}
