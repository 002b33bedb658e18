/**
 * The pure half of the NASA-HTTP 1995 rebuild: log line → minute, per-minute counting, the two
 * no-data windows, and CSV rendering. No I/O here, so the test can check every rule on a few lines;
 * `build-nasa-csv.mjs` adds the files and the gzip streams.
 */

export const MINUTE_MS = 60_000;

/** The server's local time, EDT: the shipped CSV and every log line are in UTC−4. */
export const LOCAL_OFFSET_MINUTES = -240;

/**
 * Epoch ms of a wall-clock minute in local time (UTC−4). Months are 1-based here, unlike Date.UTC.
 * @param {number} year @param {number} month @param {number} day @param {number} hour @param {number} minute
 * @returns {number}
 */
export function localMinute(year, month, day, hour, minute) {
  return Date.UTC(year, month - 1, day, hour, minute) - LOCAL_OFFSET_MINUTES * MINUTE_MS;
}

/** First and last minute (inclusive) of the shipped CSV: 1995-07-01 00:00 .. 1995-08-31 23:59 local. */
export const FIRST_MINUTE = localMinute(1995, 7, 1, 0, 0);
export const LAST_MINUTE = localMinute(1995, 8, 31, 23, 59);

/**
 * @typedef {object} UnobservedWindow
 * @property {number} from  epoch ms of the first unobserved minute (inclusive)
 * @property {number} to    epoch ms of the last unobserved minute (inclusive)
 * @property {string} why
 */

/**
 * Minutes the logs do not cover (PROVENANCE.md). Written out rather than inferred from the data
 * because what they mark is an outage, which a quiet minute in the counts cannot tell apart; the
 * partial first and last minutes are included so a half-logged minute is never learned as real load.
 * @type {readonly UnobservedWindow[]}
 */
export const UNOBSERVED_WINDOWS = Object.freeze([
  {
    from: localMinute(1995, 7, 28, 13, 32),
    to: localMinute(1995, 7, 31, 23, 59),
    why: 'July log ends at 13:32:25; August log starts Aug 1 00:00',
  },
  {
    from: localMinute(1995, 8, 1, 14, 52),
    to: localMinute(1995, 8, 3, 4, 36),
    why: 'server shut down for Hurricane Erin',
  },
]);

/** @param {number} minute epoch ms */
export function isObservedMinute(minute) {
  return !UNOBSERVED_WINDOWS.some((w) => minute >= w.from && minute <= w.to);
}

const MONTHS = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };

/**
 * Common Log Format: `host ident authuser [dd/Mon/yyyy:HH:MM:SS ±hhmm] "request" status bytes`.
 * Only the timestamp matters; the request part of the NASA logs is often mangled, and those lines
 * are still real requests, so nothing after the `]` is checked.
 */
const CLF_TIME = /^\S+\s+\S+\s+\S+\s+\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})\s+([+-])(\d{2})(\d{2})\]/;

/**
 * The instant of a log line, epoch ms, or null when the line has no valid CLF timestamp.
 * @param {string} line
 * @returns {number | null}
 */
export function parseLogTime(line) {
  const m = CLF_TIME.exec(line);
  if (m === null) return null;
  const [, dd, mon, yyyy, HH, MM, SS, sign, oh, om] = m;
  const month = MONTHS[/** @type {keyof typeof MONTHS} */ (mon)];
  if (month === undefined) return null;
  const [year, day, hour, minute, second] = [yyyy, dd, HH, MM, SS].map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 32/Jul over into August; a timestamp that does not round-trip is malformed.
  const d = new Date(wall);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) return null;
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return wall - offsetMinutes * MINUTE_MS;
}

/**
 * The minute (epoch ms, floored) a log line falls in, or null when the line is malformed.
 * @param {string} line
 * @returns {number | null}
 */
export function lineMinute(line) {
  const t = parseLogTime(line);
  return t === null ? null : Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

/**
 * Requests per minute over [first, last], plus what was not counted and why. A typed array keeps the
 * 89,280 minutes of the two months in 350 KB, however many lines stream through.
 */
export class MinuteCounts {
  /**
   * @param {number} [first] epoch ms of the first minute (inclusive)
   * @param {number} [last]  epoch ms of the last minute (inclusive)
   */
  constructor(first = FIRST_MINUTE, last = LAST_MINUTE) {
    if (first % MINUTE_MS !== 0 || last % MINUTE_MS !== 0 || last < first) {
      throw new RangeError('first and last must be whole minutes with first <= last');
    }
    this.first = first;
    this.last = last;
    this.counts = new Uint32Array((last - first) / MINUTE_MS + 1);
    /** Lines without a valid timestamp (blank, truncated, garbage). */
    this.malformed = 0;
    /** Valid lines whose minute is outside [first, last]. */
    this.outOfRange = 0;
    /** Lines counted into a minute. */
    this.counted = 0;
    /** @type {string[]} up to five malformed lines, for the report: enough to see what went wrong. */
    this.malformedSamples = [];
  }

  /**
   * Counts one log line.
   * @param {string} line
   * @returns {'counted' | 'malformed' | 'out-of-range'}
   */
  add(line) {
    const minute = lineMinute(line);
    if (minute === null) {
      this.malformed++;
      if (this.malformedSamples.length < 5) this.malformedSamples.push(line.slice(0, 200));
      return 'malformed';
    }
    if (minute < this.first || minute > this.last) {
      this.outOfRange++;
      return 'out-of-range';
    }
    this.counts[(minute - this.first) / MINUTE_MS]++;
    this.counted++;
    return 'counted';
  }
}

/**
 * Feeds a stream of text or byte chunks into `counts`, one log line at a time. Lines may straddle
 * chunks; CRLF endings and blank lines are tolerated. Bytes are read as latin1: the logs predate
 * UTF-8 and hold stray bytes, and latin1 maps each byte to one character, so decoding can neither
 * fail nor merge lines.
 * @param {AsyncIterable<Buffer | string>} chunks
 * @param {MinuteCounts} counts
 * @returns {Promise<void>}
 */
export async function countChunks(chunks, counts) {
  let rest = '';
  /** @param {string} line */
  const addLine = (line) => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.length > 0) counts.add(trimmed);
  };
  for await (const chunk of chunks) {
    const lines = (rest + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'))).split('\n');
    rest = lines.pop() ?? '';
    lines.forEach(addLine);
  }
  addLine(rest);
}

/** @param {number} n */
const pad2 = (n) => String(n).padStart(2, '0');

/**
 * `1995-07-01T00:00:00-04:00`: the shipped CSV's timestamp form (local wall time and its offset).
 * @param {number} minute epoch ms
 * @returns {string}
 */
export function formatLocalMinute(minute) {
  const d = new Date(minute + LOCAL_OFFSET_MINUTES * MINUTE_MS);
  const off = Math.abs(LOCAL_OFFSET_MINUTES);
  const sign = LOCAL_OFFSET_MINUTES < 0 ? '-' : '+';
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
    `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:00${sign}${pad2(Math.floor(off / 60))}:${pad2(off % 60)}`
  );
}

export const CSV_HEADER = 'timestamp,requests,observed';

/**
 * The CSV lines (header first, no line terminators): every minute, zero-filled, observed=0 inside the
 * unobserved windows. Counts there are still written (a partial minute keeps its count), exactly as in
 * the shipped file; consumers mask them by the flag.
 * @param {MinuteCounts} counts
 * @returns {Generator<string>}
 */
export function* csvLines(counts) {
  yield CSV_HEADER;
  for (let i = 0; i < counts.counts.length; i++) {
    const minute = counts.first + i * MINUTE_MS;
    yield `${formatLocalMinute(minute)},${counts.counts[i]},${isObservedMinute(minute) ? 1 : 0}`;
  }
}

/**
 * The whole CSV as one string, LF line endings and a final newline, like the shipped file.
 * @param {MinuteCounts} counts
 * @returns {string}
 */
export function renderCsv(counts) {
  return [...csvLines(counts)].join('\n') + '\n';
}
