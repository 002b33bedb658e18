/** How `amadeus eval` prints a backtest: one JSON object, or a table for people. */
import { formatUtcOffset } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import type { BacktestResult, ModelScore } from './types.js';

/** What the table says about the trace besides the scores. */
export interface TraceInfo {
  file: string;
  minutes: number;
  start: number;
  utcOffsetMinutes: number;
}

export interface JsonReport {
  trace: string;
  horizon: number;
  origins: number;
  models: ModelScore[];
}

/** The `--json` object; `relMae` is null when persistence's MAE is 0. */
export function jsonReport(trace: string, result: BacktestResult): JsonReport {
  return {
    trace,
    horizon: result.horizon,
    origins: result.origins,
    models: result.models.map((m) => {
      const out: ModelScore = { name: m.name, mae: m.mae, rmse: m.rmse, mae5: m.mae5, relMae: m.relMae, underRate: m.underRate };
      if (m.quantiles) out.quantiles = m.quantiles;
      return out;
    }),
  };
}

export function formatTable(trace: TraceInfo, result: BacktestResult): string {
  const local = (ms: number) => formatLocal(ms, trace.utcOffsetMinutes);
  const header = [
    `trace    ${trace.file} (${trace.minutes.toLocaleString('en-US')} min from ${local(trace.start)})`,
    `split    ${result.split}: origins ${local(result.firstOrigin)} … ${local(result.lastOrigin)}`,
    `horizon  +${result.horizon} min, ${result.origins.toLocaleString('en-US')} origins ` +
      `(every minute of the last ${Math.round((1 - result.split) * 1000) / 10}% with 60 observed minutes up to it and ${result.horizon} after)`,
    '',
  ];
  const columns = ['model', 'mae', 'rmse', 'mae5', 'relMae', 'underRate'];
  const withQuantiles = result.models.some((m) => m.quantiles);
  if (withQuantiles) columns.push('coverage (level: share, mean width)');
  const rows = result.models.map((m) => {
    const row = [m.name, fixed(m.mae), fixed(m.rmse), fixed(m.mae5), m.relMae === null ? 'n/a' : fixed(m.relMae), percent(m.underRate)];
    if (withQuantiles) {
      row.push(Object.entries(m.quantiles ?? {}).map(([level, q]) => `${level}: ${percent(q.coverage)}, ${fixed(q.meanWidth)}`).join('; '));
    }
    return row;
  });
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  // Names left-aligned, numbers right-aligned; the free-text last column is not padded.
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : i === 6 ? cell : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [...header, render(columns), ...rows.map(render)].join('\n');
}

/** `1995-08-16 11:59 (UTC-04:00)`: the trace's own local time, as its timestamps were written. */
export function formatLocal(epochMs: number, utcOffsetMinutes: number): string {
  const iso = new Date(epochMs + utcOffsetMinutes * MINUTE_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} (UTC${formatUtcOffset(utcOffsetMinutes)})`;
}

function fixed(n: number): string {
  return n.toFixed(2);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
