/**
 * scripts/nasa/: the rebuild of the shipped NASA per-minute CSV from the public access logs. The pure
 * rules are tested on single lines; the script end to end on tiny synthetic gzip logs, compared with
 * the shipped CSV's header, timestamps and observed flags row by row.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  CSV_HEADER,
  FIRST_MINUTE,
  LAST_MINUTE,
  MINUTE_MS,
  MinuteCounts,
  countChunks,
  csvLines,
  formatLocalMinute,
  isObservedMinute,
  lineMinute,
  localMinute,
  parseLogTime,
} from '../scripts/nasa/aggregate.mjs';

const SCRIPT = fileURLToPath(new URL('../scripts/nasa/build-nasa-csv.mjs', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../shared/datasets/nasa-http-1995/nasa_http_1995_1min.csv', import.meta.url));

/** A CLF line as the NASA logs have them. */
const logLine = (stamp: string, host = 'piweba3y.prodigy.com') =>
  `${host} - - [${stamp}] "GET /shuttle/countdown/ HTTP/1.0" 200 3985`;

describe('parseLogTime / lineMinute', () => {
  it('reads the CLF timestamp with its offset', () => {
    expect(parseLogTime(logLine('01/Jul/1995:00:00:01 -0400'))).toBe(Date.UTC(1995, 6, 1, 4, 0, 1));
    expect(lineMinute(logLine('01/Jul/1995:00:00:59 -0400'))).toBe(FIRST_MINUTE);
    // Another offset is converted to the same instant, so it lands in the right local minute.
    expect(lineMinute(logLine('01/Jul/1995:04:00:30 +0000'))).toBe(FIRST_MINUTE);
  });

  it('ignores whatever follows the timestamp: mangled requests are still requests', () => {
    expect(lineMinute('h - - [13/Jul/1995:08:30:00 -0400] "GET /\xff\xfe junk')).toBe(localMinute(1995, 7, 13, 8, 30));
  });

  it.each([
    ['empty', ''],
    ['no timestamp', 'garbage line'],
    ['truncated', 'host - - [01/Jul/1995:00:0'],
    ['unknown month', logLine('01/Jly/1995:00:00:01 -0400')],
    ['day out of range', logLine('32/Jul/1995:00:00:01 -0400')],
    ['hour out of range', logLine('01/Jul/1995:24:00:01 -0400')],
    ['no offset', logLine('01/Jul/1995:00:00:01')],
    ['too few fields before it', '- - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1'],
  ])('returns null for a malformed line (%s)', (_what, line) => {
    expect(parseLogTime(line)).toBeNull();
    expect(lineMinute(line)).toBeNull();
  });
});

describe('formatLocalMinute', () => {
  it('writes local wall time with -04:00, like the shipped CSV', () => {
    expect(formatLocalMinute(FIRST_MINUTE)).toBe('1995-07-01T00:00:00-04:00');
    expect(formatLocalMinute(LAST_MINUTE)).toBe('1995-08-31T23:59:00-04:00');
    expect(formatLocalMinute(localMinute(1995, 7, 31, 23, 59) + MINUTE_MS)).toBe('1995-08-01T00:00:00-04:00');
  });
});

describe('isObservedMinute', () => {
  it.each([
    [7, 28, 13, 31, true],
    [7, 28, 13, 32, false], // the July log ends at 13:32:25: a partial minute
    [7, 31, 23, 59, false],
    [8, 1, 0, 0, true],
    [8, 1, 14, 51, true],
    [8, 1, 14, 52, false], // Hurricane Erin shutdown
    [8, 3, 4, 36, false],
    [8, 3, 4, 37, true],
  ])('1995-%i-%i %i:%i observed=%s', (month, day, hour, minute, observed) => {
    expect(isObservedMinute(localMinute(1995, month, day, hour, minute))).toBe(observed);
  });
});

describe('MinuteCounts', () => {
  it('counts per minute and keeps malformed and out-of-range lines apart', () => {
    const c = new MinuteCounts();
    expect(c.counts).toHaveLength(89_280); // 62 days × 1440
    expect(c.add(logLine('01/Jul/1995:00:00:01 -0400'))).toBe('counted');
    c.add(logLine('01/Jul/1995:00:00:59 -0400'));
    c.add(logLine('01/Jul/1995:00:02:00 -0400'));
    expect(c.add(logLine('30/Jun/1995:23:59:59 -0400'))).toBe('out-of-range');
    expect(c.add(logLine('01/Sep/1995:00:00:00 -0400'))).toBe('out-of-range');
    for (let i = 0; i < 7; i++) expect(c.add(`bad ${i}`)).toBe('malformed');
    expect(Array.from(c.counts.slice(0, 3))).toEqual([2, 0, 1]);
    expect({ counted: c.counted, outOfRange: c.outOfRange, malformed: c.malformed }).toEqual({ counted: 3, outOfRange: 2, malformed: 7 });
    expect(c.malformedSamples).toEqual(['bad 0', 'bad 1', 'bad 2', 'bad 3', 'bad 4']); // capped: a report, not a copy
  });

  it('rejects a range that is not whole minutes', () => {
    expect(() => new MinuteCounts(FIRST_MINUTE + 1, LAST_MINUTE)).toThrow(RangeError);
  });
});

describe('countChunks', () => {
  it('splits lines across chunk boundaries, tolerates CRLF, blank lines and stray bytes', async () => {
    const text = `${logLine('01/Jul/1995:00:00:01 -0400')}\r\n\n${logLine('01/Jul/1995:00:01:00 -0400', 'h\xe9')}\nnot a log line\n${logLine('01/Jul/1995:00:01:30 -0400')}`;
    const bytes = Buffer.from(text, 'latin1');
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    const c = new MinuteCounts();
    await countChunks(chunks(), c);
    expect(Array.from(c.counts.slice(0, 2))).toEqual([1, 2]); // the last line has no newline and still counts
    expect(c.malformed).toBe(1);
  });
});

describe('csvLines', () => {
  it('writes every minute of the range, zero-filled, with the observed flag', () => {
    const c = new MinuteCounts(localMinute(1995, 7, 28, 13, 30), localMinute(1995, 7, 28, 13, 33));
    c.add(logLine('28/Jul/1995:13:30:10 -0400'));
    c.add(logLine('28/Jul/1995:13:32:25 -0400'));
    expect([...csvLines(c)]).toEqual([
      CSV_HEADER,
      '1995-07-28T13:30:00-04:00,1,1',
      '1995-07-28T13:31:00-04:00,0,1',
      '1995-07-28T13:32:00-04:00,1,0', // a partial minute keeps its count; the flag masks it
      '1995-07-28T13:33:00-04:00,0,0',
    ]);
  });
});

describe('build-nasa-csv.mjs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'amadeus-nasa-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  const writeGz = (name: string, lines: string[]) => writeFileSync(join(dir, name), gzipSync(lines.join('\n') + '\n'));

  it('rebuilds the per-minute CSV from gzip logs, in the shipped CSV form', () => {
    writeGz('NASA_access_log_Jul95.gz', [
      logLine('01/Jul/1995:00:00:01 -0400'),
      logLine('01/Jul/1995:00:00:30 -0400'),
      'a malformed line',
      logLine('01/Jul/1995:00:02:00 -0400'),
      logLine('28/Jul/1995:13:32:25 -0400'),
    ]);
    writeGz('NASA_access_log_Aug95.gz', [
      logLine('01/Aug/1995:00:00:00 -0400'),
      'host - - [01/Aug/1995:00:00',
      logLine('31/Aug/1995:23:59:59 -0400'),
      logLine('31/Aug/1995:23:59:59 -0400'),
      '',
      '\xff\xfe',
    ]);
    const out = join(dir, 'out.csv');
    const r = run('--logs', dir, '--out', out);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/counted 7 requests; malformed lines: 3; outside Jul 1 - Aug 31: 0/);

    const rows = readFileSync(out, 'utf8').split('\n');
    expect(rows.pop()).toBe(''); // a final newline, like the shipped file
    expect(rows).toHaveLength(1 + 89_280);
    const byTime = new Map(rows.slice(1).map((row) => [row.slice(0, row.indexOf(',')), row]));
    expect(byTime.get('1995-07-01T00:00:00-04:00')).toBe('1995-07-01T00:00:00-04:00,2,1');
    expect(byTime.get('1995-07-01T00:01:00-04:00')).toBe('1995-07-01T00:01:00-04:00,0,1');
    expect(byTime.get('1995-07-01T00:02:00-04:00')).toBe('1995-07-01T00:02:00-04:00,1,1');
    expect(byTime.get('1995-07-28T13:32:00-04:00')).toBe('1995-07-28T13:32:00-04:00,1,0');
    expect(byTime.get('1995-08-01T00:00:00-04:00')).toBe('1995-08-01T00:00:00-04:00,1,1');
    expect(byTime.get('1995-08-31T23:59:00-04:00')).toBe('1995-08-31T23:59:00-04:00,2,1');
    const total = rows.slice(1).reduce((sum, row) => sum + Number(row.split(',')[1]), 0);
    expect(total).toBe(7);

    // Header, every timestamp and every observed flag match the shipped CSV, row for row.
    const shipped = readFileSync(SHIPPED, 'utf8').split('\n');
    shipped.pop();
    expect(rows[0]).toBe(shipped[0]);
    const shape = (row: string) => row.replace(/,\d+,/, ',_,');
    const mismatched = rows.findIndex((row, i) => shape(row) !== shape(shipped[i]));
    expect(mismatched).toBe(-1);
    expect(rows).toHaveLength(shipped.length);
  });

  it('also reads logs that were already decompressed', () => {
    writeGz('NASA_access_log_Jul95.gz', [logLine('01/Jul/1995:00:00:01 -0400')]);
    writeFileSync(join(dir, 'NASA_access_log_Aug95'), `${logLine('01/Aug/1995:00:00:01 -0400')}\n`);
    const r = run('--logs', dir, '--out', join(dir, 'out.csv'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/counted 2 requests; malformed lines: 0/);
  });

  it('never downloads: without the logs it names the public page and exits 2', () => {
    writeGz('NASA_access_log_Jul95.gz', [logLine('01/Jul/1995:00:00:01 -0400')]);
    const r = run('--logs', dir, '--out', join(dir, 'out.csv'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('NASA_access_log_Aug95.gz');
    expect(r.stderr).not.toContain('NASA_access_log_Jul95.gz,');
    expect(r.stderr).toContain('https://ita.ee.lbl.gov/html/contrib/NASA-HTTP.html');
  });

  it('exits 2 with the usage when --out is missing', () => {
    const r = run('--logs', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: node scripts\/nasa\/build-nasa-csv\.mjs --out FILE/);
  });

  it('exits 1 on a corrupt gzip file instead of hanging or writing a partial CSV', () => {
    writeFileSync(join(dir, 'NASA_access_log_Jul95.gz'), gzipSync(logLine('01/Jul/1995:00:00:01 -0400')).subarray(0, 15));
    writeGz('NASA_access_log_Aug95.gz', [logLine('01/Aug/1995:00:00:01 -0400')]);
    const r = run('--logs', dir, '--out', join(dir, 'out.csv'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*NASA_access_log_Jul95\.gz/);
  });
});
