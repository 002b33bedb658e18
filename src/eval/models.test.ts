import { FORECASTER_NAMES } from '../forecast/registry.js';
import type { Forecaster } from '../forecast/types.js';
import type { Trace } from '../sources/trace.js';
import { batchFromForecaster, renamed } from './adapter.js';
import { loadModels, MODEL_NAMES, MODEL_PROVIDERS } from './models.js';
import type { BatchForecaster, ModelContext } from './types.js';

const trace: Trace = { start: 0, utcOffsetMinutes: 0, requests: [1, 2, 3] };
const context: ModelContext = { trace, horizon: 2, evalStart: 2 };
const history = (requests: (number | null)[]) => ({ start: 0, requests });

test('the table holds every baseline of the forecast registry, in its order, then the two LSTMs', () => {
  expect(MODEL_NAMES).toEqual([...FORECASTER_NAMES, 'lstm-pretrained', 'lstm-finetuned']);
});

test.each([...FORECASTER_NAMES])('provider %s gives a batch forecaster that forecasts', async (name) => {
  const model = await MODEL_PROVIDERS[name](context);
  expect(model.name).toBe(name);
  expect(model.historyMinutes(60)).toBeGreaterThanOrEqual(60);
  const [f] = await model.forecastBatch([{ history: history([5, 5, 5]), horizon: 2 }]);
  expect(f.values).toHaveLength(2);
});

test('loadModels keeps the order asked for, reports table names, and rejects unknown names', async () => {
  const odd: BatchForecaster = { name: 'lstm', historyMinutes: () => 7, forecastBatch: async () => [] };
  const providers = { a: async () => odd, b: async (c: ModelContext) => ({ ...odd, historyMinutes: () => c.evalStart }) };
  const models = await loadModels(['b', 'a'], context, providers);
  expect(models.map((m) => m.name)).toEqual(['b', 'a']);
  expect(models.map((m) => m.historyMinutes(60))).toEqual([2, 7]);
  await expect(loadModels(['a', 'nope'], context, providers)).rejects.toThrow('unknown model "nope"; known models: a, b');
  await expect(loadModels(['toString'], context, providers)).rejects.toThrow('unknown model "toString"');
});

test('batchFromForecaster forecasts each request in order; renamed keeps the behaviour under a new name', async () => {
  const calls: number[] = [];
  const plain: Forecaster = {
    name: 'last',
    historyMinutes: (r) => r + 1,
    async forecast({ history: h, horizon }) {
      const last = h.requests.at(-1) as number;
      calls.push(last);
      return { model: 'last', values: new Array<number>(horizon).fill(last) };
    },
  };
  const batch = batchFromForecaster(plain);
  expect(batch.name).toBe('last');
  expect(batch.historyMinutes(60)).toBe(61);
  const out = await batch.forecastBatch([1, 2, 3].map((v) => ({ history: history([v]), horizon: 1 })));
  expect(out.map((f) => f.values)).toEqual([[1], [2], [3]]);
  expect(calls).toEqual([1, 2, 3]);

  expect(renamed(batch, 'last')).toBe(batch);
  const other = renamed(batch, 'other');
  expect(other.name).toBe('other');
  expect(other.historyMinutes(60)).toBe(61);
  expect((await other.forecastBatch([{ history: history([4]), horizon: 1 }]))[0].values).toEqual([4]);
});
