import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrace, MAX_TRACE_BYTES, parseTimestamp, parseTrace, TraceError } from './trace.js';
import { MINUTE_MS } from '../series/minute.js';

const NASA = new URL('../../../shared/datasets/nasa-http-1995/nasa_http_1995_1min.csv', import.meta.url).pathname;

describe('loadTrace', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'amadeus-trace-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses a small file exactly: values, masked rows, missing minutes, offset', () => {
    const path = join(dir, 'tiny.csv');
    writeFileSync(
      path,
      [
        'timestamp,requests,observed',
        '1995-07-01T00:00:00-04:00,42,1',
        '1995-07-01T00:01:00-04:00,61,1',
        '1995-07-01T00:02:00-04:00,57,0', // unobserved: masked
        // 00:03 and 00:04 missing: masked
        '1995-07-01T00:05:00-04:00,0,1', // a real zero stays zero
        '1995-07-01T00:06:00-04:00,7.5,1',
        '',
      ].join('\n'),
    );
    const trace = loadTrace(path);
    expect(trace.start).toBe(Date.UTC(1995, 6, 1, 4, 0));
    expect(trace.utcOffsetMinutes).toBe(-240);
    expect(trace.requests).toEqual([42, 61, null, null, null, 0, 7.5]);
    expect(trace.cpu).toBeUndefined();
    expect(trace.memory).toBeUndefined();
    expect(trace.file).toBe(path);
  });

  it('reads optional cpu and memory columns, CRLF line ends and a BOM; observed is optional', () => {
    const text =
      '\uFEFFtimestamp,requests,memory,cpu\r\n' +
      '2024-03-01T10:00:00Z,10,1000,0.5\r\n' +
      '2024-03-01T10:02:00Z,12,1100,0.7\r\n';
    const trace = parseTrace(text, 'x.csv');
    expect(trace.utcOffsetMinutes).toBe(0);
    expect(trace.requests).toEqual([10, null, 12]);
    expect(trace.cpu).toEqual([0.5, null, 0.7]);
    expect(trace.memory).toEqual([1000, null, 1100]);
  });

  it('does not read the values of unobserved rows', () => {
    const trace = parseTrace('timestamp,requests,observed\n2024-01-01T00:00:00+05:30,,0\n', 'x.csv');
    expect(trace.requests).toEqual([null]);
    expect(trace.utcOffsetMinutes).toBe(330);
    expect(trace.start).toBe(Date.UTC(2023, 11, 31, 18, 30));
  });

  const H = 'timestamp,requests,observed\n';
  const ROW = '2024-01-01T00:00:00Z,1,1\n';
  it.each([
    ['bad header', 'time,requests\n2024-01-01T00:00:00Z,1\n', 1, /bad header/],
    ['unknown column', 'timestamp,requests,latency\n', 1, /unknown or repeated column "latency"/],
    ['repeated column', 'timestamp,requests,cpu,cpu\n', 1, /unknown or repeated column "cpu"/],
    ['no rows', H, 1, /no data rows/],
    ['unparsable timestamp', H + ROW + 'yesterday,1,1\n', 3, /unparsable timestamp "yesterday"/],
    ['timestamp without offset', H + '2024-01-01T00:01:00,1,1\n', 2, /unparsable timestamp/],
    ['impossible date', H + '2024-02-30T00:00:00Z,1,1\n', 2, /unparsable timestamp/],
    ['repeated timestamp', H + ROW + ROW, 3, /not after the previous row/],
    ['decreasing timestamp', H + ROW + '2023-12-31T23:59:00Z,1,1\n', 3, /not after the previous row/],
    ['decreasing across offsets', H + ROW + '2024-01-01T00:30:00+01:00,1,1\n', 3, /not after the previous row/],
    ['not a whole minute', H + ROW + '2024-01-01T00:01:30Z,1,1\n', 3, /not on a whole minute/],
    ['negative value', H + ROW + '2024-01-01T00:01:00Z,-3,1\n', 3, /requests is negative: -3/],
    ['non-numeric value', H + ROW + '2024-01-01T00:01:00Z,abc,1\n', 3, /requests is not a number: "abc"/],
    ['empty value', H + ROW + '2024-01-01T00:01:00Z,,1\n', 3, /requests is not a number/],
    ['infinite value', H + ROW + '2024-01-01T00:01:00Z,Infinity,1\n', 3, /requests is not a number/],
    ['negative cpu', 'timestamp,requests,cpu\n2024-01-01T00:00:00Z,1,-0.1\n', 2, /cpu is negative/],
    ['bad observed flag', H + '2024-01-01T00:00:00Z,1,yes\n', 2, /observed must be 0 or 1/],
    ['wrong field count', H + '2024-01-01T00:00:00Z,1\n', 2, /expected 3 fields/],
  ])('rejects %s, naming the file and line', (_name, text, line, message) => {
    let error: unknown;
    try {
      parseTrace(text, 'load.csv');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceError);
    const traceError = error as TraceError;
    expect(traceError.line).toBe(line);
    expect(traceError.message.startsWith(`load.csv:${line}: `)).toBe(true);
    expect(traceError.message).toMatch(message);
  });

  it('names the real path when loading a bad file', () => {
    const path = join(dir, 'bad.csv');
    writeFileSync(path, 'timestamp,requests\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,x\n');
    expect(() => loadTrace(path)).toThrow(`${path}:3: requests is not a number: "x"`);
  });

  it('refuses what is not a regular file, or too large, before reading it', () => {
    const fifo = join(dir, 'fifo.csv');
    execFileSync('mkfifo', [fifo]);
    expect(() => loadTrace(fifo)).toThrow(`${fifo}:0: not a regular file`);
    const huge = join(dir, 'huge.csv');
    writeFileSync(huge, 'timestamp,requests\n');
    truncateSync(huge, MAX_TRACE_BYTES + 1); // sparse: no disk used
    expect(() => loadTrace(huge)).toThrow(`more than the ${MAX_TRACE_BYTES} a trace may have`);
  });
});

describe('parseTimestamp', () => {
  it('handles Z, ±hh:mm, ±hhmm and fractional zero seconds', () => {
    expect(parseTimestamp('2024-01-01T00:00:00Z')).toEqual({ epochMs: Date.UTC(2024, 0, 1), offsetMinutes: 0 });
    expect(parseTimestamp('2024-01-01T00:00-0400')).toEqual({ epochMs: Date.UTC(2024, 0, 1, 4), offsetMinutes: -240 });
    expect(parseTimestamp('2024-01-01T00:00:00.000+01:00')?.epochMs).toBe(Date.UTC(2023, 11, 31, 23));
    expect(parseTimestamp('2024-01-01 00:00:00Z')).toBeNull();
    expect(parseTimestamp('2024-13-01T00:00:00Z')).toBeNull();
  });
});

describe('the NASA 1995 trace', () => {
  const present = existsSync(NASA);
  if (!present) {
    it.skip(`skipped: ${NASA} is absent (the shared dataset is not on this machine)`, () => undefined);
    return;
  }

  it('parses 89,280 minutes with the two unobserved windows masked', () => {
    const trace = loadTrace(NASA);

    expect(trace.requests).toHaveLength(89_280);
    expect(trace.start).toBe(Date.parse('1995-07-01T00:00:00-04:00'));
    expect(trace.utcOffsetMinutes).toBe(-240);

    const at = (iso: string): number => (Date.parse(iso) - trace.start) / MINUTE_MS;
    const runs: [number, number][] = [];
    trace.requests.forEach((v, i) => {
      if (v !== null) return;
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === i - 1) last[1] = i;
      else runs.push([i, i]);
    });
    expect(runs).toEqual([
      [at('1995-07-28T13:32:00-04:00'), at('1995-07-31T23:59:00-04:00')],
      [at('1995-08-01T14:52:00-04:00'), at('1995-08-03T04:36:00-04:00')],
    ]);
    expect(trace.requests[0]).toBe(42);
    expect(trace.requests[at('1995-08-31T23:59:00-04:00')]).toBe(22);
  });
});
