/**
 * Common Log Format, as the Internet Traffic Archive's HTTP server logs have it (ClarkNet,
 * Saskatchewan, Calgary, NASA):
 *
 *   host ident authuser [dd/Mon/yyyy:HH:MM:SS ±hhmm] "request" status bytes
 *
 * Only the timestamp matters for a request count. Requests in these logs are often mangled (stray
 * quotes, binary junk); those lines are still requests, so nothing after the `]` is checked. A line
 * without a valid timestamp is malformed: counted apart, never guessed at. No I/O here.
 */
import { MINUTE_MS } from './minutes.mjs';

const MONTHS = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };

const CLF_TIME = /^\S+\s+\S+\s+\S+\s+\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})\s+([+-])(\d{2})(\d{2})\]/;

/**
 * The instant of a CLF line, epoch ms, or null when it has no valid timestamp (with its offset).
 * @param {string} line
 * @returns {number | null}
 */
export function parseClfTime(line) {
  const m = CLF_TIME.exec(line);
  if (m === null) return null;
  const [, dd, mon, yyyy, HH, MM, SS, sign, oh, om] = m;
  const month = MONTHS[/** @type {keyof typeof MONTHS} */ (mon)];
  if (month === undefined) return null;
  const [year, day, hour, minute, second] = [yyyy, dd, HH, MM, SS].map(Number);
  if (hour > 23 || minute > 59 || second > 59 || Number(oh) > 23 || Number(om) > 59) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31/Sep over into October; a timestamp that does not round-trip is malformed.
  const d = new Date(wall);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) return null;
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return wall - offsetMinutes * MINUTE_MS;
}

/**
 * What a tar wrapper leaves of a line: tar headers and padding are NUL-filled blocks with no newline
 * before the next member's first line, so that line is whatever follows the last NUL. Real log lines
 * hold no NUL, so a plain log passes through unchanged.
 * @param {string} line
 */
export function stripTarJunk(line) {
  const nul = line.lastIndexOf('\0');
  return nul < 0 ? line : line.slice(nul + 1);
}

/**
 * Counts CLF lines into a {@link import('./minutes.mjs').MinuteSeries}, keeping malformed and
 * out-of-span lines apart, with up to five malformed samples for the report.
 */
export class ClfCounter {
  /** @param {import('./minutes.mjs').MinuteSeries} series */
  constructor(series) {
    this.series = series;
    this.counted = 0;
    this.outOfRange = 0;
    this.malformed = 0;
    /** @type {string[]} */
    this.malformedSamples = [];
  }

  /**
   * @param {string} rawLine one line, without its terminator
   * @returns {'counted' | 'out-of-range' | 'malformed' | 'blank'}
   */
  add(rawLine) {
    const line = stripTarJunk(rawLine);
    if (line.trim().length === 0) return 'blank';
    const t = parseClfTime(line);
    if (t === null) {
      this.malformed++;
      if (this.malformedSamples.length < 5) this.malformedSamples.push(line.slice(0, 200));
      return 'malformed';
    }
    const result = this.series.add(t);
    if (result === 'counted') this.counted++;
    else this.outOfRange++;
    return result;
  }
}
