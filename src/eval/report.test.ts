import { formatLocal, formatTable, jsonReport, type TraceInfo } from './report.js';
import type { BacktestResult } from './types.js';

const result: BacktestResult = {
  horizon: 10,
  split: 0.75,
  origins: 22310,
  firstOrigin: Date.UTC(1995, 7, 16, 16, 0),
  lastOrigin: Date.UTC(1995, 8, 1, 3, 49),
  persistenceMae: 14.66,
  models: [
    { name: 'persistence', mae: 14.66, rmse: 19.49, mae5: 11.98, relMae: 1, underRate: 0.835 },
    { name: 'lstm', mae: 10.123, rmse: 13.2, mae5: 7.1, relMae: 0.6905, underRate: 0.2, quantiles: { '0.9': { coverage: 0.912, meanWidth: 12.34, origins: 22310 } } },
    { name: 'flat', mae: 0, rmse: 0, mae5: 0, relMae: null, underRate: 0 },
  ],
};
const info: TraceInfo = { file: 'nasa.csv', minutes: 89280, start: Date.UTC(1995, 6, 1, 4, 0), utcOffsetMinutes: -240 };

test('the JSON report: trace, horizon, origins and the models with their metrics, quantiles only when present', () => {
  const parsed = JSON.parse(JSON.stringify(jsonReport('nasa.csv', result)));
  expect(Object.keys(parsed)).toEqual(['trace', 'horizon', 'origins', 'models']);
  expect(parsed).toMatchObject({ trace: 'nasa.csv', horizon: 10, origins: 22310 });
  expect(Object.keys(parsed.models[0])).toEqual(['name', 'mae', 'rmse', 'mae5', 'relMae', 'underRate']);
  expect(parsed.models[1].quantiles).toEqual({ '0.9': { coverage: 0.912, meanWidth: 12.34, origins: 22310 } });
  expect(parsed.models[2].relMae).toBeNull();
});

test('the table: trace, split and origins, then one aligned row per model', () => {
  const lines = formatTable(info, result).split('\n');
  expect(lines[0]).toBe('trace    nasa.csv (89,280 min from 1995-07-01 00:00 (UTC-04:00))');
  expect(lines[1]).toBe('split    0.75: origins 1995-08-16 12:00 (UTC-04:00) … 1995-08-31 23:49 (UTC-04:00)');
  expect(lines[2]).toContain('+10 min, 22,310 origins');
  expect(lines[4].split(/ {2,}/)).toEqual(['model', 'mae', 'rmse', 'mae5', 'relMae', 'underRate', 'coverage (level: share, mean width)']);
  expect(lines[5].split(/ +/)).toEqual(['persistence', '14.66', '19.49', '11.98', '1.00', '83.5%']);
  expect(lines[6].split(/ {2,}/)).toEqual(['lstm', '10.12', '13.20', '7.10', '0.69', '20.0%', '0.9: 91.2%, 12.34']);
  expect(lines[7].split(/ +/)).toEqual(['flat', '0.00', '0.00', '0.00', 'n/a', '0.0%']);
  // Numbers are right-aligned under their heading: every underRate ends where the heading does.
  const end = lines[4].indexOf('underRate') + 'underRate'.length;
  expect(lines.slice(5).map((l) => l[end - 1])).toEqual(['%', '%', '%']);
});

test('no coverage column when no model has quantiles', () => {
  const table = formatTable(info, { ...result, models: [result.models[0]] });
  expect(table).not.toContain('coverage');
});

test('formatLocal writes the trace\'s own local time', () => {
  expect(formatLocal(Date.UTC(1995, 6, 1, 4, 0), -240)).toBe('1995-07-01 00:00 (UTC-04:00)');
  expect(formatLocal(Date.UTC(2024, 0, 1, 0, 0), 330)).toBe('2024-01-01 05:30 (UTC+05:30)');
});
