/** The eval table's LSTM entries load the shipped model and forecast; fine-tuning never sees a minute before it is forecast. */
import { MINUTE_MS } from '../series/minute.js';
import { sineSeries } from '../test-support/series.js';
import { EVAL_FINE_TUNE, lstmFinetuned, lstmFinetunedOn, lstmPretrained } from './lstm-models.js';
import type { ModelContext } from './types.js';

const minutes = 3000;
const requests = sineSeries(minutes, { period: 1440, seed: 2 });
const start = Date.UTC(2025, 0, 6);
const context: ModelContext = { trace: { start, utcOffsetMinutes: 0, requests }, horizon: 10, evalStart: 2250 };
/** A request at origin `t`: the 1,500 minutes up to and including it. */
const at = (t: number, series: (number | null)[] = requests) => ({ history: { start: start + (t - 1499) * MINUTE_MS, requests: series.slice(t - 1499, t + 1) }, horizon: 10 });

test('lstm-pretrained forecasts with the shipped model, with quantiles of the horizon maximum', async () => {
  const model = await lstmPretrained(context);
  expect(model.historyMinutes(60)).toBe(60 + 1440); // the window and the day before it
  const [f] = await model.forecastBatch([at(1600)]);
  expect(f!.values).toHaveLength(10);
  expect(Object.keys(f!.maxQuantiles!)).toEqual(['0.5', '0.8', '0.9', '0.95']);
});

test('lstm-finetuned runs the live rounds on a schedule, each from the minutes up to the origin it precedes', async () => {
  expect(EVAL_FINE_TUNE).toEqual({ historyMinutes: 2880, intervalMinutes: 360, warmUpMinutes: 1440 });
  const schedule = { historyMinutes: 1000, intervalMinutes: 200, warmUpMinutes: 600 };
  const seen: string[] = [];
  const origin = 2400;
  const model = await lstmFinetunedOn(schedule)({ ...context, log: (l) => seen.push(l) });
  const [f] = await model.forecastBatch([at(origin)]);
  expect(f!.values.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
  expect(seen[0]).toMatch(/^lstm-finetuned: first round: candidate (does not )?beat/);
  // The same trace with every minute after the origin changed: the forecast from it is the same,
  // so no round learned from a minute it had not reached.
  const altered = requests.map((v, i) => (i > origin ? v * 10 + 500 : v));
  const other = await lstmFinetunedOn(schedule)({ ...context, trace: { ...context.trace, requests: altered } });
  const [g] = await other.forecastBatch([at(origin, altered)]);
  expect(g!.values).toEqual(f!.values);
});

test('lstm-finetuned with the default schedule forecasts the evaluated span', async () => {
  const model = await lstmFinetuned(context);
  const out = await model.forecastBatch([at(2260), at(2270)]);
  expect(out).toHaveLength(2);
  expect(out.every((f) => f.values.every((v) => Number.isFinite(v) && v >= 0))).toBe(true);
});

test('lstm-finetuned choosing blends asks for the days days3 reads, and its rounds still never see a minute past their origin', async () => {
  const schedule = { historyMinutes: 1000, intervalMinutes: 200, warmUpMinutes: 600 };
  const blended = { ...context, fineTuneBlend: true };
  const model = await lstmFinetunedOn(schedule)(blended);
  expect(model.historyMinutes(60)).toBe(5 * 1440 + 10);
  const origin = 2400;
  const [f] = await model.forecastBatch([at(origin)]);
  const altered = requests.map((v, i) => (i > origin ? v * 10 + 500 : v));
  const other = await lstmFinetunedOn(schedule)({ ...blended, trace: { ...context.trace, requests: altered } });
  const [g] = await other.forecastBatch([at(origin, altered)]);
  expect(g!.values).toEqual(f!.values);
});
