/** The eval table's LSTM entries load the shipped model and forecast; fine-tuning never sees scored minutes. */
import { sineSeries } from '../test-support/series.js';
import { lstmFinetuned, lstmPretrained } from './lstm-models.js';
import type { ModelContext } from './models.js';

const minutes = 3000;
const requests = sineSeries(minutes, { period: 1440, seed: 2 });
const context: ModelContext = { trace: { start: Date.UTC(2025, 0, 6), utcOffsetMinutes: 0, requests }, horizon: 10, evalStart: 2250 };
const request = { history: { start: context.trace.start, requests: requests.slice(0, 120) }, horizon: 10 };

test('lstm-pretrained forecasts with the shipped model, with quantiles of the horizon maximum', async () => {
  const model = await lstmPretrained(context);
  expect(model.historyMinutes(60)).toBe(60 + 1440); // the window and the day before it
  const [f] = await model.forecastBatch([request]);
  expect(f!.values).toHaveLength(10);
  expect(Object.keys(f!.maxQuantiles!)).toEqual(['0.5', '0.8', '0.9', '0.95']);
});

test('lstm-finetuned trains only on minutes before the evaluated span', async () => {
  const seen: string[] = [];
  const poisoned = requests.map((v, i) => (i >= context.evalStart ? NaN : v)); // NaN would wreck any training that touched it
  const model = await lstmFinetuned({ ...context, trace: { ...context.trace, requests: poisoned }, log: (l) => seen.push(l) });
  const [f] = await model.forecastBatch([request]);
  expect(f!.values.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
  expect(seen[0]).toMatch(/^lstm-finetuned: candidate (does not )?beat/);
});
