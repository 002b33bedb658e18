/**
 * scripts/traces/: the rebuilds of the trace suite's per-minute CSVs from the traces' public
 * distribution formats. The pure rules are tested on single lines and records; each command end to
 * end on tiny synthetic inputs made here (gzipped like the originals), and its output is read back
 * with the project's own trace loader.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ClfCounter, parseClfTime, stripTarJunk } from '../scripts/traces/lib/clf.mjs';
import { localMinuteOf, logsFor } from '../scripts/traces/lib/clf-build.mjs';
import {
  CSV_HEADER,
  DAY_MS,
  MINUTE_MS,
  MinuteSeries,
  csvLines,
  daySpan,
  forEachLine,
  formatMinute,
  formatOffset,
  localMidnight,
  summarize,
  zeroRuns,
} from '../scripts/traces/lib/minutes.mjs';
import {
  CLARKNET_HTTP,
  CLEANED_WINDOWS,
  OUTAGES,
  compareWindows,
  denormalize,
  edtMinute,
  parseCountsLine as parseClarknetCounts,
  parseDcsimLine,
  robustSd,
  straightRuns,
} from '../scripts/traces/clarknet-http/clarknet-http.mjs';
import { SASKATCHEWAN_HTTP } from '../scripts/traces/saskatchewan-http/saskatchewan-http.mjs';
import {
  PARTS,
  RECORD_BYTES,
  RecordReader,
  WC98_OFFSET_MINUTES,
  dayOf,
  dayStart,
  daysToSpan,
  logNames,
  parseCountsLine,
} from '../scripts/traces/worldcup98/worldcup98.mjs';
import { parseTrace } from './sources/trace.js';

const script = (name: string) => fileURLToPath(new URL(`../scripts/traces/${name}/build-${name}-csv.mjs`, import.meta.url));

const EDT = -240;
const CST = -360;
const CEST = 120;

/** A CLF line as the ITA logs have them. */
const clf = (stamp: string, host = 'ix-dc9-19.ix.netcom.com') => `${host} - - [${stamp}] "GET /index.html HTTP/1.0" 200 3542`;

/** Local wall time → epoch ms. */
const local = (iso: string, offsetMinutes: number) => Date.parse(`${iso}Z`) - offsetMinutes * MINUTE_MS;

async function* chunked(bytes: Buffer, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('minutes: the shared per-minute series', () => {
  it('reads local days and writes local minutes with their offset', () => {
    expect(localMidnight('1995-08-28', EDT)).toBe(Date.UTC(1995, 7, 28, 4));
    expect(localMidnight('1998-05-01', CEST)).toBe(Date.UTC(1998, 3, 30, 22));
    expect(localMidnight('1995-02-29', EDT)).toBeNull();
    expect(localMidnight('1995-8-28', EDT)).toBeNull();
    expect(formatOffset(CEST)).toBe('+02:00');
    expect(formatOffset(CST)).toBe('-06:00');
    expect(formatMinute(Date.UTC(1998, 3, 30, 22), CEST)).toBe('1998-05-01T00:00:00+02:00');
    expect(formatMinute(Date.UTC(1995, 8, 11, 3, 59), EDT)).toBe('1995-09-10T23:59:00-04:00');
  });

  it('counts per minute, keeps out-of-span requests apart, and starts every minute unobserved', () => {
    const first = local('1995-08-28T00:00', EDT);
    const s = new MinuteSeries(first, first + 3 * MINUTE_MS);
    expect(s.length).toBe(4);
    expect(Array.from(s.observed)).toEqual([0, 0, 0, 0]);
    expect(s.add(first + 59_999)).toBe('counted');
    expect(s.add(first + 2 * MINUTE_MS, 5)).toBe('counted');
    expect(s.add(first - 1)).toBe('out-of-range');
    expect(s.add(first + 4 * MINUTE_MS, 2)).toBe('out-of-range');
    expect(Array.from(s.counts)).toEqual([1, 0, 5, 0]);
    expect({ counted: s.counted, outOfRange: s.outOfRange }).toEqual({ counted: 6, outOfRange: 3 });
    s.mark(first - DAY_MS, first + MINUTE_MS); // clipped to the span
    s.mark(first + 3 * MINUTE_MS, first + 3 * MINUTE_MS);
    expect(Array.from(s.observed)).toEqual([1, 1, 0, 1]);
    expect([...csvLines(s, EDT)]).toEqual([
      CSV_HEADER,
      '1995-08-28T00:00:00-04:00,1,1',
      '1995-08-28T00:01:00-04:00,0,1',
      '1995-08-28T00:02:00-04:00,5,0', // a count the sources do not vouch for keeps its value; the flag masks it
      '1995-08-28T00:03:00-04:00,0,1',
    ]);
    expect(() => new MinuteSeries(first + 1, first + MINUTE_MS)).toThrow(RangeError);
  });

  it('summarizes and finds zero runs over observed minutes only', () => {
    const s = new MinuteSeries(0, 7 * MINUTE_MS);
    [4, 0, 0, 0, 9, 2, 0, 100].forEach((v, i) => s.add(i * MINUTE_MS, v));
    s.mark(0, 6 * MINUTE_MS); // the 100 is not observed
    expect(summarize(s)).toEqual({ minutes: 8, observed: 7, total: 15, mean: 15 / 7, median: 0, peak: 9, peakMinute: 4 * MINUTE_MS });
    expect(zeroRuns(s)).toEqual([
      { from: MINUTE_MS, minutes: 3 },
      { from: 6 * MINUTE_MS, minutes: 1 },
    ]);
  });

  it('turns --from/--to days into a span and rejects what the trace does not have', () => {
    const bounds = { firstDay: '1995-08-28', lastDay: '1995-09-10', offsetMinutes: EDT };
    expect(daySpan('1995-08-28', '1995-09-10', bounds)).toEqual({
      first: local('1995-08-28T00:00', EDT),
      last: local('1995-09-10T23:59', EDT),
    });
    expect(daySpan('1995-08-27', '1995-09-10', bounds)).toMatch(/covers 1995-08-28 \.\. 1995-09-10/);
    expect(daySpan('1995-09-02', '1995-09-01', bounds)).toMatch(/before/);
    expect(daySpan('Aug 28', '1995-09-01', bounds)).toMatch(/--from "Aug 28" is not a date/);
  });

  it('splits lines across chunks, strips CR, skips blank lines, reads bytes as latin1', async () => {
    const lines: string[] = [];
    await forEachLine(chunked(Buffer.from('a\r\n\nb\xe9\nc', 'latin1'), 2), (l) => lines.push(l));
    expect(lines).toEqual(['a', 'b\xe9', 'c']);
  });
});

describe('clf: Common Log Format timestamps', () => {
  it('reads the timestamp with its own offset', () => {
    expect(parseClfTime(clf('28/Aug/1995:00:00:34 -0400'))).toBe(Date.UTC(1995, 7, 28, 4, 0, 34));
    expect(parseClfTime(clf('01/Jun/1995:00:00:59 -0600', '202.32.92.47'))).toBe(Date.UTC(1995, 5, 1, 6, 0, 59));
    expect(parseClfTime(clf('28/Aug/1995:04:00:34 +0000'))).toBe(Date.UTC(1995, 7, 28, 4, 0, 34));
    expect(parseClfTime('h - - [04/Sep/1995:10:00:00 -0400] "GET /\xff\xfe junk')).toBe(Date.UTC(1995, 8, 4, 14));
  });

  it.each([
    ['empty', ''],
    ['no timestamp', 'garbage'],
    ['truncated', 'host - - [28/Aug/1995:00:0'],
    ['unknown month', clf('28/Agu/1995:00:00:34 -0400')],
    ['31 September', clf('31/Sep/1995:00:00:34 -0400')],
    ['second 60', clf('28/Aug/1995:00:00:60 -0400')],
    ['no offset', clf('28/Aug/1995:00:00:34')],
    ['too few fields', '- - [28/Aug/1995:00:00:34 -0400] "GET /"'],
  ])('returns null for a malformed line (%s)', (_what, line) => {
    expect(parseClfTime(line)).toBeNull();
  });

  it('keeps what follows a tar header, so a tar-wrapped log loses no line', () => {
    expect(stripTarJunk('plain line')).toBe('plain line');
    expect(stripTarJunk(`access_1\0\0\x000000644\0\0\0${clf('28/Aug/1995:00:00:34 -0400')}`)).toBe(clf('28/Aug/1995:00:00:34 -0400'));
    expect(stripTarJunk('\0\0\0')).toBe('');
  });

  it('counts lines into minutes, apart from malformed and out-of-span lines', () => {
    const first = local('1995-08-28T00:00', EDT);
    const c = new ClfCounter(new MinuteSeries(first, first + MINUTE_MS));
    expect(c.add(clf('28/Aug/1995:00:00:34 -0400'))).toBe('counted');
    expect(c.add(clf('28/Aug/1995:00:01:59 -0400'))).toBe('counted');
    expect(c.add(clf('27/Aug/1995:23:59:59 -0400'))).toBe('out-of-range');
    expect(c.add('\0\0\0')).toBe('blank');
    for (let i = 0; i < 6; i++) expect(c.add(`junk ${i}`)).toBe('malformed');
    expect(Array.from(c.series.counts)).toEqual([1, 1]);
    expect({ counted: c.counted, outOfRange: c.outOfRange, malformed: c.malformed }).toEqual({ counted: 2, outOfRange: 1, malformed: 6 });
    expect(c.malformedSamples).toHaveLength(5);
  });
});

describe('CLF trace descriptions', () => {
  it('ClarkNet-HTTP: two files of seven days each, EDT', () => {
    const span = daySpan(CLARKNET_HTTP.defaultFrom, CLARKNET_HTTP.defaultTo, CLARKNET_HTTP) as { first: number; last: number };
    expect((span.last - span.first) / MINUTE_MS + 1).toBe(14 * 1440);
    expect(logsFor(CLARKNET_HTTP, span).map((l) => l.file)).toEqual(['clarknet_access_log_Aug28.gz', 'clarknet_access_log_Sep4.gz']);
    const firstWeek = daySpan('1995-08-28', '1995-09-03', CLARKNET_HTTP) as { first: number; last: number };
    expect(logsFor(CLARKNET_HTTP, firstWeek).map((l) => l.file)).toEqual(['clarknet_access_log_Aug28.gz']);
  });

  it('Saskatchewan-HTTP: one file, CST all year, an eight-week default cut', () => {
    const span = daySpan(SASKATCHEWAN_HTTP.defaultFrom, SASKATCHEWAN_HTTP.defaultTo, SASKATCHEWAN_HTTP) as { first: number; last: number };
    expect((span.last - span.first) / MINUTE_MS + 1).toBe(56 * 1440);
    expect(new Date(span.first + SASKATCHEWAN_HTTP.offsetMinutes * MINUTE_MS).getUTCDay()).toBe(1); // starts on a Monday
    expect(localMinuteOf('1995-09-05T08:30', CST)).toBe(Date.UTC(1995, 8, 5, 14, 30));
  });
});

describe('clarknet-http: the aggregated form and the DCSim check', () => {
  it('reads EDT wall-time rows of the aggregated form', () => {
    expect(parseClarknetCounts('1995-08-28 00:00:00,44')).toEqual({ minute: Date.UTC(1995, 7, 28, 4), count: 44 });
    expect(parseClarknetCounts('1995-09-10 23:59:00,11')).toEqual({ minute: Date.UTC(1995, 8, 11, 3, 59), count: 11 });
    expect(parseClarknetCounts('1995-09-31 10:00:00,5')).toBeNull();
    expect(parseClarknetCounts('1995-09-01 10:00:30,5')).toBeNull();
    expect(parseClarknetCounts('1995-09-01 10:00:00,-5')).toBeNull();
    expect(parseClarknetCounts('datetime,view')).toBeNull();
    expect(edtMinute('1995-09-05T19:17')).toBe(Date.UTC(1995, 8, 5, 23, 17));
    expect(() => edtMinute('1995-09-05T24:00')).toThrow(RangeError);
  });

  it('finds straight-line stretches of five or more minutes (rounded interpolation), not noise', () => {
    // 258, 258, 257, 257, 256, 256: a rounded line; then noise; then a 4-point line (too short)
    const values = [100, 300, 258, 258, 257, 257, 256, 256, 90, 310, 120, 130, 140, 150, 40, 260];
    expect(straightRuns(values)).toEqual([{ start: 2, end: 7 }]);
    expect(straightRuns([10, 20, 30, 40, 50])).toEqual([{ start: 0, end: 4 }]);
    expect(straightRuns([10, 20, 30, 40])).toEqual([]);
    expect(straightRuns([10, 20, 30, 40, 50], [1, 1, 0, 1, 1])).toEqual([]); // a missing row breaks it
    expect(straightRuns([5, 5, 5, 5, 5, 5], undefined, 6)).toEqual([{ start: 0, end: 5 }]);
  });

  it('recovers the counts behind normalized values and compares 5-minute windows with 100-second bins', () => {
    expect(parseDcsimLine('100')).toBeNull();
    expect(parseDcsimLine('300, 0.309111880046')).toEqual({ second: 300, value: 0.309111880046 });
    expect(parseDcsimLine('1209400, 0.318339100346')).toEqual({ second: 1209400, value: 0.318339100346 });
    expect(denormalize([205 / 867, 226 / 867, 1, 0].map((v) => Number(v.toPrecision(12))))).toEqual({ scale: 867, counts: [205, 226, 867, 0] });
    expect(denormalize([0, 0])).toBeNull();
    expect(robustSd([1, 2, 3, 4, 100])).toBeCloseTo(1.4826);
    expect(robustSd([])).toBe(0);
    // two windows of 5 minutes against six bins; the second window has an unobserved minute
    const cmp = compareWindows([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 1, 1, 1, 1, 0, 1, 1, 1], [5, 5, 4, 10, 10, 20]);
    expect(cmp.diffs).toEqual([{ window: 0, diff: 1 }]);
  });

  it('names the outage and the contradicted windows inside the trace, on 5-minute boundaries', () => {
    const first = localMinuteOf('1995-08-28T00:00', CLARKNET_HTTP.offsetMinutes);
    const last = localMinuteOf('1995-09-10T23:59', CLARKNET_HTTP.offsetMinutes);
    for (const w of CLEANED_WINDOWS) {
      const t = edtMinute(w);
      expect(t >= first && t <= last).toBe(true);
      expect(((t - first) / MINUTE_MS) % 5).toBe(0);
    }
    expect(OUTAGES).toHaveLength(1);
    expect(CLARKNET_HTTP.unobserved).toEqual(OUTAGES);
    expect((localMinuteOf(OUTAGES[0].to, EDT) - localMinuteOf(OUTAGES[0].from, EDT)) / MINUTE_MS + 1).toBe(127);
  });
});

describe('worldcup98: binary records and the file table', () => {
  it('numbers days from Sunday, April 26, 1998, local (+02:00)', () => {
    expect(dayStart(1)).toBe(Date.UTC(1998, 3, 25, 22));
    expect(formatMinute(dayStart(6), WC98_OFFSET_MINUTES)).toBe('1998-05-01T00:00:00+02:00');
    expect(formatMinute(dayStart(92), WC98_OFFSET_MINUTES)).toBe('1998-07-26T00:00:00+02:00');
    expect(new Date(dayStart(92) + 2 * 3600_000).getUTCDay()).toBe(0); // "92 mod 7 = 1 ... a Sunday"
    expect(dayOf(dayStart(46) + DAY_MS - 1)).toBe(46);
    expect(daysToSpan(6, 92).last).toBe(Date.UTC(1998, 6, 26, 21, 59));
  });

  it('lists the 249 files of the page, subintervals in order', () => {
    let files = 0;
    for (let day = 1; day <= 92; day++) files += logNames(day).length;
    expect(files).toBe(249);
    expect(logNames(6)).toEqual(['wc_day6_1']);
    expect(logNames(66)).toHaveLength(11);
    expect(logNames(66).at(-1)).toBe('wc_day66_11');
    expect(PARTS[62]).toBe(10);
  });

  it('reads big-endian timestamps from 20-byte records split anywhere across chunks', () => {
    const t0 = Date.UTC(1998, 5, 10, 19) / 1000;
    const seconds = [t0, t0, t0 + 1, t0 + 61, t0 + 61, t0 + 61];
    const bytes = Buffer.alloc(seconds.length * RECORD_BYTES, 0xab);
    seconds.forEach((s, i) => bytes.writeUInt32BE(s, i * RECORD_BYTES));
    const runs: [number, number][] = [];
    const reader = new RecordReader((s, n) => runs.push([s, n]));
    for (let i = 0; i < bytes.length; i += 7) reader.push(bytes.subarray(i, i + 7));
    reader.end();
    expect(runs).toEqual([
      [t0, 2],
      [t0 + 1, 1],
      [t0 + 61, 3],
    ]);
    expect(reader.records).toBe(6);

    const truncated = new RecordReader(() => undefined);
    truncated.push(bytes.subarray(0, 27));
    expect(truncated.records).toBe(1);
    expect(() => truncated.end()).toThrow(/ends inside a record \(7 stray bytes\)/);
  });

  it('reads the aggregated per-minute form (GMT wall time)', () => {
    expect(parseCountsLine('1998-04-30 21:30:00,2')).toEqual({ minute: Date.UTC(1998, 3, 30, 21, 30), count: 2 });
    expect(parseCountsLine('1998-07-26 21:59:00,679')).toEqual({ minute: Date.UTC(1998, 6, 26, 21, 59), count: 679 });
    expect(parseCountsLine('1998-04-31 21:30:00,2')).toBeNull();
    expect(parseCountsLine('1998-04-30 21:30:30,2')).toBeNull();
    expect(parseCountsLine('period,count')).toBeNull();
  });
});

describe('the build commands', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'amadeus-traces-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (name: string, ...args: string[]) => spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8' });
  const writeGz = (name: string, text: string | Buffer) => writeFileSync(join(dir, name), gzipSync(text));
  const rowsOf = (path: string) => {
    const rows = readFileSync(path, 'utf8').split('\n');
    expect(rows.pop()).toBe(''); // a final newline
    return rows;
  };
  const byTime = (rows: string[]) => new Map(rows.slice(1).map((row) => [row.slice(0, row.indexOf(',')), row]));

  /** Binary WC98 records, one per second given. */
  const records = (seconds: number[]) => {
    const b = Buffer.alloc(seconds.length * RECORD_BYTES);
    seconds.forEach((s, i) => {
      b.writeUInt32BE(s, i * RECORD_BYTES);
      b.writeUInt32BE(i, i * RECORD_BYTES + 4); // clientID etc.: present, never read
    });
    return b;
  };
  const sec = (iso: string) => Date.parse(iso) / 1000;

  describe('build-worldcup98-csv.mjs', () => {
    it('rebuilds a day from its binary logs (gzip and decompressed subintervals), in local time', () => {
      // Day 38 (June 2) has two subintervals; the CSV is asked for that day only.
      writeGz('wc_day38_1.gz', records([sec('1998-06-01T21:59:59Z'), sec('1998-06-01T22:00:00Z'), sec('1998-06-01T22:00:59Z'), sec('1998-06-02T10:00:00Z')]));
      writeFileSync(join(dir, 'wc_day38_2'), records([sec('1998-06-02T10:00:01Z'), sec('1998-06-02T21:59:59Z'), sec('1998-06-02T22:00:00Z')]));
      const out = join(dir, 'wc.csv');
      const r = run('worldcup98', '--logs', dir, '--out', out, '--from', '1998-06-02', '--to', '1998-06-02');
      expect(r.stderr).toMatch(/read 2 log files, 7 records; records outside the span: 2/);
      expect(r.status).toBe(0);
      const rows = rowsOf(out);
      expect(rows[0]).toBe(CSV_HEADER);
      expect(rows).toHaveLength(1 + 1440);
      const m = byTime(rows);
      expect(m.get('1998-06-02T00:00:00+02:00')).toBe('1998-06-02T00:00:00+02:00,2,1');
      expect(m.get('1998-06-02T12:00:00+02:00')).toBe('1998-06-02T12:00:00+02:00,2,1');
      expect(m.get('1998-06-02T23:59:00+02:00')).toBe('1998-06-02T23:59:00+02:00,1,1');
      expect(m.get('1998-06-02T00:01:00+02:00')).toBe('1998-06-02T00:01:00+02:00,0,1'); // a covered minute without requests
      expect(r.stderr).toMatch(/counted 5 requests/);

      const trace = parseTrace(readFileSync(out, 'utf8'), out);
      expect(trace.utcOffsetMinutes).toBe(120);
      expect(trace.requests).toHaveLength(1440);
    });

    it('never downloads: without the day files it names them and the page, exits 2', () => {
      writeGz('wc_day38_1.gz', records([sec('1998-06-02T10:00:00Z')]));
      const r = run('worldcup98', '--logs', dir, '--out', join(dir, 'wc.csv'), '--from', '1998-06-02', '--to', '1998-06-03');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/missing in .*: 3 of 4 log files: wc_day38_2\.gz, wc_day39_1\.gz, wc_day39_2\.gz/);
      expect(r.stderr).toContain('https://ita.ee.lbl.gov/html/contrib/WorldCup.html');
    });

    it('exits 1 on a log that ends inside a record or a corrupt gzip, writing nothing', () => {
      writeGz('wc_day6_1.gz', records([sec('1998-05-01T10:00:00Z'), sec('1998-05-01T10:00:01Z')]).subarray(0, 27));
      const out = join(dir, 'wc.csv');
      let r = run('worldcup98', '--logs', dir, '--out', out, '--from', '1998-05-01', '--to', '1998-05-01');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot read .*wc_day6_1\.gz: ends inside a record \(7 stray bytes\)/);
      expect(() => readFileSync(out)).toThrow();
      writeFileSync(join(dir, 'wc_day6_1.gz'), gzipSync(records([sec('1998-05-01T10:00:00Z')])).subarray(0, 12));
      r = run('worldcup98', '--logs', dir, '--out', out, '--from', '1998-05-01', '--to', '1998-05-01');
      expect(r.status).toBe(1);
      expect(() => readFileSync(out)).toThrow();
    });

    it('accepts the aggregated per-minute form: absent minutes of a listed day are zeros, an unlisted day is unobserved', () => {
      const counts = join(dir, 'invocation_count.csv');
      writeFileSync(
        counts,
        ['period,count', '1998-04-30 21:30:00,2', '1998-04-30 22:00:00,7', '1998-04-30 22:02:00,3', '1998-05-01 21:59:00,4', 'bad,row'].join('\n') + '\n',
      );
      const out = join(dir, 'wc.csv');
      const r = run('worldcup98', '--counts', counts, '--out', out, '--from', '1998-05-01', '--to', '1998-05-02');
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/read 4 rows of aggregated counts, 16 requests in all/);
      expect(r.stderr).toMatch(/malformed rows: 1; requests outside the span: 2/);
      const m = byTime(rowsOf(out));
      expect(m.size).toBe(2 * 1440);
      expect(m.get('1998-05-01T00:00:00+02:00')).toBe('1998-05-01T00:00:00+02:00,7,1');
      expect(m.get('1998-05-01T00:01:00+02:00')).toBe('1998-05-01T00:01:00+02:00,0,1');
      expect(m.get('1998-05-01T23:59:00+02:00')).toBe('1998-05-01T23:59:00+02:00,4,1');
      expect(m.get('1998-05-02T00:00:00+02:00')).toBe('1998-05-02T00:00:00+02:00,0,0'); // nothing says what May 2 was
      expect(r.stderr).toMatch(/observed minutes: 1440 of 2880 \(50\.0%\)/);

      const trace = parseTrace(readFileSync(out, 'utf8'), out);
      expect(trace.requests[0]).toBe(7);
      expect(trace.requests[1440]).toBeNull();
    });

    it.each([
      [['--logs', '.'], /--out is required/],
      [['--out', 'x.csv', '--logs', '.', '--counts', 'c.csv'], /give --logs or --counts, not both/],
      [['--out', 'x.csv', '--from', '1998-04-30'], /the trace covers 1998-05-01 \.\. 1998-07-26/],
      [['--out', 'x.csv', '--bogus'], /Unknown option '--bogus'/],
    ])('exits 2 with the usage on bad arguments (%j)', (args, message) => {
      const r = run('worldcup98', ...(args as string[]));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message as RegExp);
      expect(r.stderr).toMatch(/usage: node scripts\/traces\/worldcup98\/build-worldcup98-csv\.mjs --out FILE/);
    });
  });

  describe('build-clarknet-http-csv.mjs', () => {
    it('rebuilds the two weeks from both gzip logs, every minute present, in EDT', () => {
      writeGz(
        'clarknet_access_log_Aug28.gz',
        [
          clf('28/Aug/1995:00:00:34 -0400', '204.249.225.59'),
          clf('28/Aug/1995:00:00:59 -0400'),
          'a malformed line',
          clf('28/Aug/1995:05:00:10 +0100'), // another offset: the same instant as 00:00:10 EDT
          clf('03/Sep/1995:23:59:59 -0400'),
        ].join('\n') + '\n',
      );
      writeGz('clarknet_access_log_Sep4.gz', [clf('04/Sep/1995:00:00:00 -0400'), clf('10/Sep/1995:23:59:59 -0400'), clf('11/Sep/1995:00:00:00 -0400')].join('\r\n'));
      const out = join(dir, 'clarknet-http.csv');
      const r = run('clarknet-http', '--logs', dir, '--out', out);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/counted 6 requests; malformed lines: 1; outside the span: 1/);
      expect(r.stderr).toMatch(/observed minutes: 20033 of 20160 \(99\.4%\)/); // less the Sep 5 outage
      const rows = rowsOf(out);
      expect(rows).toHaveLength(1 + 20160);
      const m = byTime(rows);
      expect(rows[1]).toBe('1995-08-28T00:00:00-04:00,3,1');
      expect(m.get('1995-09-03T23:59:00-04:00')).toBe('1995-09-03T23:59:00-04:00,1,1');
      expect(m.get('1995-09-04T00:00:00-04:00')).toBe('1995-09-04T00:00:00-04:00,1,1');
      expect(rows.at(-1)).toBe('1995-09-10T23:59:00-04:00,1,1');
      expect(m.get('1995-09-05T20:00:00-04:00')).toBe('1995-09-05T20:00:00-04:00,0,0');
      expect(parseTrace(readFileSync(out, 'utf8'), out).requests).toHaveLength(20160);
    });

    it('needs only the logs of the days asked for, and reads a tar-wrapped log', () => {
      const header = Buffer.alloc(512);
      header.write('access_1', 0, 'latin1');
      header.write('ustar', 257, 'latin1');
      const body = Buffer.from([clf('29/Aug/1995:12:00:00 -0400'), clf('29/Aug/1995:12:00:30 -0400')].join('\n') + '\n', 'latin1');
      const padded = Buffer.concat([header, body, Buffer.alloc(512 - (body.length % 512)), Buffer.alloc(1024)]);
      writeGz('clarknet_access_log_Aug28.gz', padded);
      const out = join(dir, 'c.csv');
      const r = run('clarknet-http', '--logs', dir, '--out', out, '--from', '1995-08-29', '--to', '1995-08-29');
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/counted 2 requests; malformed lines: 0/);
      expect(byTime(rowsOf(out)).get('1995-08-29T12:00:00-04:00')).toBe('1995-08-29T12:00:00-04:00,2,1');
    });

    it('never downloads: without a needed log it names it and the page, exits 2', () => {
      writeGz('clarknet_access_log_Aug28.gz', clf('28/Aug/1995:00:00:34 -0400'));
      const r = run('clarknet-http', '--logs', dir, '--out', join(dir, 'c.csv'));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/missing in .*: clarknet_access_log_Sep4\.gz\n/);
      expect(r.stderr).toContain('https://ita.ee.lbl.gov/html/contrib/ClarkNet-HTTP.html');
      expect(r.stderr).toContain('https://ita.ee.lbl.gov/traces/clarknet_access_log_Sep4.gz');
    });

    it('exits 1 on a corrupt gzip file instead of writing a partial CSV', () => {
      writeFileSync(join(dir, 'clarknet_access_log_Aug28.gz'), gzipSync(clf('28/Aug/1995:00:00:34 -0400')).subarray(0, 15));
      const out = join(dir, 'c.csv');
      const r = run('clarknet-http', '--logs', dir, '--out', out, '--to', '1995-09-01');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot read .*clarknet_access_log_Aug28\.gz/);
      expect(() => readFileSync(out)).toThrow();
    });

    it('exits 2 with the usage when --out is missing or a day is outside the trace', () => {
      let r = run('clarknet-http', '--logs', dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/usage: node scripts\/traces\/clarknet-http\/build-clarknet-http-csv\.mjs --out FILE/);
      r = run('clarknet-http', '--out', join(dir, 'c.csv'), '--to', '1995-09-11');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/covers 1995-08-28 \.\. 1995-09-10/);
    });
  });

  describe('build-clarknet-http-csv.mjs --counts (the aggregated form)', () => {
    /** Sep 5 as the aggregated form has it: noisy counts (never straight), a 6-minute line at 03:00, and the outage interpolated. */
    const sep5 = () => {
      const v: number[] = [];
      for (let i = 0; i < 1440; i++) v.push(200 + (i % 2 === 0 ? 40 : -40) + (i % 7) * 3);
      for (let i = 0; i < 6; i++) v[180 + i] = 150 + 10 * i; // 03:00-03:05
      for (let i = 19 * 60 + 16; i <= 21 * 60 + 24; i++) v[i] = 259 - Math.round((i - (19 * 60 + 16)) / 4); // like the real fill
      return v;
    };
    const row = (day: string, i: number, n: number) => `1995-09-${day} ${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00,${n}`;
    const countsFile = (values: number[], extra: string[] = []) => {
      const path = join(dir, 'clarknet.csv');
      writeFileSync(path, ['datetime,view', ...values.map((n, i) => row('05', i, n)), ...extra].join('\n') + '\n');
      return path;
    };

    it('writes the rows it has, and unobserved the outage, its straight lines and the contradicted windows', () => {
      const values = sep5();
      const counts = countsFile(values, ['1995-09-04 23:59:00,7', 'not a row']);
      const out = join(dir, 'c.csv');
      const r = run('clarknet-http', '--counts', counts, '--out', out, '--from', '1995-09-05', '--to', '1995-09-05');
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/read 1441 rows of aggregated counts/);
      expect(r.stderr).toMatch(/malformed rows: 1; requests outside the trace: 0; repeated minutes: 0; requests outside the span: 7/);
      expect(r.stderr).toMatch(/127 minutes of the Sep 5 outage; 6 minutes in 1 straight-line runs/);
      const m = byTime(rowsOf(out));
      expect(m.size).toBe(1440);
      expect(m.get('1995-09-05T00:00:00-04:00')).toBe(`1995-09-05T00:00:00-04:00,${values[0]},1`);
      expect(m.get('1995-09-05T03:02:00-04:00')).toBe('1995-09-05T03:02:00-04:00,170,0'); // the straight line
      expect(m.get('1995-09-05T03:06:00-04:00')).toBe(`1995-09-05T03:06:00-04:00,${values[186]},1`);
      expect(m.get('1995-09-05T20:00:00-04:00')).toMatch(/,0$/); // the outage
      expect(m.get('1995-09-05T21:25:00-04:00')).toMatch(/,1$/);
      expect(m.get('1995-09-05T09:30:00-04:00')).toMatch(/,0$/); // a contradicted window
      expect(m.get('1995-09-05T09:34:00-04:00')).toMatch(/,0$/);
      expect(m.get('1995-09-05T09:35:00-04:00')).toMatch(/,1$/);
      const trace = parseTrace(readFileSync(out, 'utf8'), out);
      expect(trace.utcOffsetMinutes).toBe(-240);
      expect(trace.requests[0]).toBe(values[0]);
      expect(trace.requests[20 * 60]).toBeNull();
    });

    it('leaves a day without rows unobserved', () => {
      const counts = countsFile(sep5());
      const out = join(dir, 'c.csv');
      const r = run('clarknet-http', '--counts', counts, '--out', out, '--from', '1995-09-06', '--to', '1995-09-06');
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/observed minutes: 0 of 1440/);
    });

    it('checks the counts against DCSim\'s normalized 100-second trace and names the windows that disagree', () => {
      const values = sep5();
      const counts = countsFile(values);
      // DCSim bins from Aug 28 00:00: zero before Sep 5; on Sep 5 each 5-minute total split over three bins.
      const bins: number[] = new Array(8 * 864).fill(0);
      for (let w = 0; w < 288; w++) {
        const total = values.slice(w * 5, w * 5 + 5).reduce((a, b) => a + b, 0) + (w === 12 ? 900 : 0); // 01:00 disagrees
        const a = Math.floor(total / 3);
        bins.push(a, a, total - 2 * a);
      }
      const peak = Math.max(...bins);
      const dcsim = join(dir, 'dcsim-clarknet');
      writeFileSync(dcsim, ['100', ...bins.map((b, i) => `${i * 100}, ${Number((b / peak).toPrecision(12))}`)].join('\n') + '\n');
      const r = run('clarknet-http', '--counts', counts, '--dcsim', dcsim, '--out', join(dir, 'c.csv'), '--from', '1995-09-05', '--to', '1995-09-05');
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`dcsim before the contradicted windows are removed: ${bins.length} bins of 100 s, scale ${peak}`));
      expect(r.stderr).toMatch(/beyond 5 sd \(0\): 1\n {2}1995-09-05T01:00 \(-900\)/);

      writeFileSync(dcsim, '100\n0, 1\n100, 0.3141592653\n');
      const bad = run('clarknet-http', '--counts', counts, '--dcsim', dcsim, '--out', join(dir, 'c.csv'));
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/not counts divided by a common peak/);
    });

    it.each([
      [['--counts', 'c.csv', '--logs', '.', '--out', 'x.csv'], /give --logs or --counts, not both/],
      [['--dcsim', 'd', '--out', 'x.csv'], /--dcsim checks --counts; give both/],
      [['--counts', 'no-such.csv', '--out', 'x.csv'], /no such file/],
      [['--counts', 'c.csv'], /--out is required/],
    ])('exits 2 with the usage on bad arguments (%j)', (args, message) => {
      const r = run('clarknet-http', ...(args as string[]));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message as RegExp);
      expect(r.stderr).toMatch(/usage: node scripts\/traces\/clarknet-http\/build-clarknet-http-csv\.mjs --out FILE/);
    });
  });

  describe('build-saskatchewan-http-csv.mjs', () => {
    it('writes the eight-week default cut in CST from the decompressed log (UofS_access_log)', () => {
      writeFileSync(
        join(dir, 'UofS_access_log'),
        [
          clf('01/Jun/1995:00:00:59 -0600', '202.32.92.47'),
          clf('21/Aug/1995:00:00:01 -0600'),
          clf('05/Sep/1995:09:15:00 -0600'),
          clf('05/Sep/1995:09:15:40 -0600'),
          clf('15/Oct/1995:23:59:59 -0600'),
          clf('16/Oct/1995:00:00:00 -0600'),
        ].join('\n') + '\n',
      );
      const out = join(dir, 'sask.csv');
      const r = run('saskatchewan-http', '--logs', dir, '--out', out);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/counted 4 requests; malformed lines: 0; outside the span: 2/);
      const rows = rowsOf(out);
      expect(rows).toHaveLength(1 + 56 * 1440);
      expect(rows[1]).toBe('1995-08-21T00:00:00-06:00,1,1');
      expect(byTime(rows).get('1995-09-05T09:15:00-06:00')).toBe('1995-09-05T09:15:00-06:00,2,1');
      expect(rows.at(-1)).toBe('1995-10-15T23:59:00-06:00,1,1');
      expect(parseTrace(readFileSync(out, 'utf8'), out).utcOffsetMinutes).toBe(-360);
    });

    it('reads the gzip file as distributed and takes any span of its days', () => {
      writeGz('usask_access_log.gz', clf('31/Dec/1995:23:59:59 -0600') + '\n');
      const out = join(dir, 'sask.csv');
      const r = run('saskatchewan-http', '--logs', dir, '--out', out, '--from', '1995-12-31', '--to', '1995-12-31');
      expect(r.status).toBe(0);
      expect(rowsOf(out).at(-1)).toBe('1995-12-31T23:59:00-06:00,1,1');
    });
  });
});
