/**
 * The pure half of the WorldCup98 rebuild (Internet Traffic Archive, "1998 World Cup Web Site Access
 * Logs"): which binary log files cover which day, how a binary record is read, and how the alternative
 * aggregated input (per-minute counts) is read. No I/O here; `build-worldcup98-csv.mjs` adds the files.
 *
 * The binary logs: one fixed-size 20-byte record per request, big-endian (network order), the first
 * field a uint32 timestamp in seconds since the Epoch, GMT; then clientID, objectID, size (uint32 each)
 * and method, status, type, server (uint8 each). Only the timestamp is read. One file per day
 * (`wc_dayX_Y.gz`, day X from 00:00:00 to 23:59:59 local time in Paris, +02:00; busy days split into
 * subintervals Y of 7 million requests), 249 files for days 1-92; days 1-4 are empty and day 5
 * starts at 23:30 local on Apr 30, so the trace here is days 6-92: May 1 - Jul 26, 1998.
 */
import { DAY_MS, MINUTE_MS, localMidnight } from '../lib/minutes.mjs';

/** Local time during the World Cup (CEST): the page says timestamps are GMT and local is +0200. */
export const WC98_OFFSET_MINUTES = 120;
export const RECORD_BYTES = 20;

export const FIRST_DAY = 6;
export const LAST_DAY = 92;
export const FIRST_DATE = '1998-05-01';
export const LAST_DATE = '1998-07-26';

/** "ITA" totals, for the report: 1,352,804,107 requests in all 249 files. */
export const PUBLISHED_TOTAL = 1_352_804_107;

/**
 * Subintervals per day, from the page's list of files (days not listed have one file).
 * @type {Readonly<Record<number, number>>}
 */
export const PARTS = Object.freeze({
  38: 2, 39: 2, 40: 2, 41: 2, 44: 3, 45: 3, 46: 8, 47: 8, 48: 7, 49: 4, 50: 4, 51: 9, 52: 6, 53: 6,
  54: 6, 55: 5, 56: 3, 57: 3, 58: 6, 59: 7, 60: 7, 61: 8, 62: 10, 63: 4, 64: 3, 65: 9, 66: 11,
  67: 5, 68: 3, 69: 7, 70: 3, 71: 2, 72: 3, 73: 6, 74: 6, 75: 3, 76: 2, 77: 2, 78: 2, 79: 4, 80: 2,
});

/** Day 1 is Sunday, April 26, 1998 (local). */
const DAY_ONE = /** @type {number} */ (localMidnight('1998-04-26', WC98_OFFSET_MINUTES));

/**
 * Epoch ms of 00:00 local on log day `day`.
 * @param {number} day
 */
export function dayStart(day) {
  return DAY_ONE + (day - 1) * DAY_MS;
}

/**
 * The log day (1-based) a local midnight falls on.
 * @param {number} midnight epoch ms
 */
export function dayOf(midnight) {
  return Math.floor((midnight - DAY_ONE) / DAY_MS) + 1;
}

/**
 * The file names of a day's logs, in chronological order, without `.gz`.
 * @param {number} day
 * @returns {string[]}
 */
export function logNames(day) {
  const parts = PARTS[day] ?? 1;
  return Array.from({ length: parts }, (_, i) => `wc_day${day}_${i + 1}`);
}

/**
 * The minute range of a span of log days, inclusive.
 * @param {number} firstDay
 * @param {number} lastDay
 */
export function daysToSpan(firstDay, lastDay) {
  return { first: dayStart(firstDay), last: dayStart(lastDay) + DAY_MS - MINUTE_MS };
}

/**
 * Reads the timestamps of a stream of binary records, chunk by chunk: records may straddle chunks.
 * `onSecond(t, n)` is called with an epoch second and how many consecutive records had it (the logs
 * are sorted, so this batches almost all of them).
 */
export class RecordReader {
  /** @param {(second: number, n: number) => void} onSecond */
  constructor(onSecond) {
    this.onSecond = onSecond;
    /** @type {Buffer} bytes of a record cut by the chunk boundary */
    this.rest = Buffer.alloc(0);
    this.records = 0;
    this.run = -1;
    this.runLength = 0;
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const whole = buf.length - (buf.length % RECORD_BYTES);
    for (let o = 0; o < whole; o += RECORD_BYTES) {
      const t = buf.readUInt32BE(o);
      if (t === this.run) this.runLength++;
      else {
        if (this.runLength > 0) this.onSecond(this.run, this.runLength);
        this.run = t;
        this.runLength = 1;
      }
    }
    this.records += whole / RECORD_BYTES;
    this.rest = Buffer.from(buf.subarray(whole));
  }

  /** Flushes the last run; throws when the stream ended inside a record (a truncated file). */
  end() {
    if (this.runLength > 0) this.onSecond(this.run, this.runLength);
    this.runLength = 0;
    this.run = -1;
    if (this.rest.length > 0) {
      const n = this.rest.length;
      this.rest = Buffer.alloc(0);
      throw new Error(`ends inside a record (${n} stray bytes): truncated?`);
    }
  }
}

export const COUNTS_HEADER = 'period,count';

const COUNTS_LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):00,(\d+)$/;

/**
 * One line of the aggregated per-minute form (`period,count`, GMT wall time, as written by the
 * `recreate` tool's CLF timestamps with `+0000` and grouped per minute), or null when malformed.
 * @param {string} line e.g. `1998-04-30 21:30:00,2`
 * @returns {{ minute: number, count: number } | null}
 */
export function parseCountsLine(line) {
  const m = COUNTS_LINE.exec(line);
  if (m === null) return null;
  const [year, month, day, hour, minute, count] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (hour > 23 || minute > 59) return null;
  const t = Date.UTC(year, month - 1, day, hour, minute);
  const d = new Date(t);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) return null;
  return { minute: t, count };
}
