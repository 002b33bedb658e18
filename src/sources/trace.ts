import { readFileSync, statSync } from 'node:fs';
import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';

/** A per-minute trace as read from a CSV file: one slot per minute from `start`, `null` where there is no data. */
export interface Trace {
  /** Epoch ms of the first row (a whole minute). */
  start: number;
  /** UTC offset of the first row's timestamp, in minutes (e.g. -240 for `-04:00`): models need local time of day. */
  utcOffsetMinutes: number;
  /** Per-minute request counts as written in the file; `null` for unobserved or missing minutes. */
  requests: (number | null)[];
  /** Present only when the file has a `cpu` column. */
  cpu?: (number | null)[];
  /** Present only when the file has a `memory` column. */
  memory?: (number | null)[];
  /** Where the trace came from, for log descriptions. */
  file?: string;
}

/** `+01:00`, `-04:00`: a UTC offset in minutes as ISO-8601 writes it. */
export function formatUtcOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** What a history is cut from: a trace, or any per-minute series starting at a whole minute. */
export interface TraceWindow {
  start: number;
  utcOffsetMinutes: number;
  requests: readonly (number | null)[];
  cpu?: readonly (number | null)[];
  memory?: readonly (number | null)[];
}

/**
 * What is known at minute `t`: the `minutes` (or all there are) up to and including it, with CPU and
 * memory when the trace has them. Copies: a plain array cannot be viewed in place, copying two days
 * costs microseconds, and a forecaster can then hold nothing of the trace (least of all its future).
 */
export function historyThrough(trace: TraceWindow, t: number, minutes: number): History {
  const from = Math.max(0, t + 1 - minutes);
  const h: History = { start: trace.start + from * MINUTE_MS, requests: trace.requests.slice(from, t + 1), utcOffsetMinutes: trace.utcOffsetMinutes };
  if (trace.cpu) h.cpu = trace.cpu.slice(from, t + 1);
  if (trace.memory) h.memory = trace.memory.slice(from, t + 1);
  return h;
}

/** A malformed trace file; the message names the file and the 1-based line. */
export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'TraceError';
  }
}

/** Guards against a typo'd timestamp turning into a multi-gigabyte array of nulls (≈ 19 years of minutes). */
export const MAX_TRACE_MINUTES = 10_000_000;

const REQUIRED = ['timestamp', 'requests'] as const;
const OPTIONAL = new Set(['observed', 'cpu', 'memory']);

// An explicit offset is mandatory: without one, Date.parse would silently use the host's time zone.
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})$/;
// Stricter than Number(): rejects '', '0x1f', 'Infinity' and stray spaces.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Timestamp {
  epochMs: number;
  offsetMinutes: number;
}

/** Parses an ISO-8601 date-time with offset; returns null when it is not one (including impossible dates). */
export function parseTimestamp(text: string): Timestamp | null {
  const m = ISO.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31 June over to 1 July; catch that rather than shift the data.
  if (new Date(local).getUTCDate() !== day) return null;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== 'Z') {
    const digits = zone.replace(':', '');
    const hh = Number(digits.slice(1, 3));
    const mm = Number(digits.slice(3, 5));
    if (hh > 23 || mm > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm);
  }
  return { epochMs: local - offsetMinutes * MINUTE_MS, offsetMinutes };
}

/**
 * Parses a trace CSV: header `timestamp,requests` optionally followed by `observed`, `cpu`, `memory`
 * (any order), one row per minute. Rows with `observed=0` and minutes skipped between rows become
 * `null`; the values of an unobserved row are not read, since they carry no meaning.
 */
export function parseTrace(text: string, file = '<trace>'): Trace {
  const lines = text.split('\n');
  // Takes the 0-based index into `lines`; reports the 1-based line number editors show.
  const err = (index: number, detail: string): TraceError => new TraceError(file, index + 1, detail);

  const header = clean(lines[0] ?? '').replace(/^\uFEFF/, '');
  const columns = header.split(',').map((c) => c.trim().toLowerCase());
  if (columns[0] !== REQUIRED[0] || columns[1] !== REQUIRED[1]) {
    throw err(0, `bad header "${header}": expected "timestamp,requests[,observed][,cpu][,memory]"`);
  }
  for (let c = 2; c < columns.length; c++) {
    if (!OPTIONAL.has(columns[c]) || columns.indexOf(columns[c]) !== c) {
      throw err(0, `bad header "${header}": unknown or repeated column "${columns[c]}"`);
    }
  }
  const observedCol = columns.indexOf('observed');
  const cpuCol = columns.indexOf('cpu');
  const memoryCol = columns.indexOf('memory');

  const requests: (number | null)[] = [];
  const cpu: (number | null)[] | undefined = cpuCol >= 0 ? [] : undefined;
  const memory: (number | null)[] | undefined = memoryCol >= 0 ? [] : undefined;
  let start = NaN;
  let utcOffsetMinutes = 0;
  let previous = NaN;

  for (let i = 1; i < lines.length; i++) {
    const line = clean(lines[i]);
    if (line === '') continue;
    const fields = line.split(',');
    if (fields.length !== columns.length) {
      throw err(i, `expected ${columns.length} fields (${columns.join(',')}), got ${fields.length}`);
    }
    const ts = parseTimestamp(fields[0].trim());
    if (ts === null) {
      throw err(i, `unparsable timestamp "${fields[0]}": expected ISO-8601 with offset, e.g. 1995-07-01T00:00:00-04:00`);
    }
    const t = ts.epochMs;
    if (t % MINUTE_MS !== 0) throw err(i, `timestamp "${fields[0]}" is not on a whole minute`);

    if (Number.isNaN(start)) {
      start = t;
      utcOffsetMinutes = ts.offsetMinutes;
    } else {
      if (t <= previous) throw err(i, `timestamp "${fields[0]}" is not after the previous row's`);
      const slot = (t - start) / MINUTE_MS;
      if (slot >= MAX_TRACE_MINUTES) throw err(i, `trace would span more than ${MAX_TRACE_MINUTES} minutes`);
      // Minutes absent from the file are unknown, not idle.
      while (requests.length < slot) {
        requests.push(null);
        cpu?.push(null);
        memory?.push(null);
      }
    }
    previous = t;

    let observed = true;
    if (observedCol >= 0) {
      const flag = fields[observedCol].trim();
      if (flag !== '0' && flag !== '1') throw err(i, `observed must be 0 or 1, got "${flag}"`);
      observed = flag === '1';
    }
    const read = (col: number, name: string): number | null => {
      if (!observed) return null;
      const problem = checkValue(fields[col], name);
      if (problem !== null) throw err(i, problem);
      return Number(fields[col]);
    };
    requests.push(read(1, 'requests'));
    cpu?.push(read(cpuCol, 'cpu'));
    memory?.push(read(memoryCol, 'memory'));
  }

  if (requests.length === 0) throw err(0, 'no data rows after the header');

  const trace: Trace = { start, utcOffsetMinutes, requests, file };
  if (cpu !== undefined) trace.cpu = cpu;
  if (memory !== undefined) trace.memory = memory;
  return trace;
}

/** Why a value cell is unusable, or null when it is a finite non-negative number. */
function checkValue(raw: string, column: string): string | null {
  const s = raw.trim();
  const n = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n)) return `${column} is not a number: "${raw}"`;
  if (n < 0) return `${column} is negative: ${s}`;
  return null;
}

/**
 * The largest trace file read: a few times MAX_TRACE_MINUTES' rows of `timestamp,requests,observed`,
 * well below what one JavaScript string may hold (a larger file would fail with an opaque error).
 */
export const MAX_TRACE_BYTES = 256 * 1024 * 1024;

/** Reads and parses a trace CSV (synchronously: this happens once, at start-up). */
export function loadTrace(path: string): Trace {
  // A FIFO or a device would block or never end; a huge file would exhaust memory before any row is checked.
  const stat = statSync(path);
  if (!stat.isFile()) throw new TraceError(path, 0, 'not a regular file');
  if (stat.size > MAX_TRACE_BYTES) throw new TraceError(path, 0, `${stat.size} bytes, more than the ${MAX_TRACE_BYTES} a trace may have`);
  return parseTrace(readFileSync(path, 'utf8'), path);
}

function clean(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
