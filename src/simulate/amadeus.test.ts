/**
 * The amadeus policy runs the real forecaster and planner, and cannot see the future: changing the
 * trace after minute T must not change any plan made at or before T.
 */
import { createForecasterProvider } from '../forecast/catalog.js';
import { loadLstmRuntime } from '../forecast/lstm/runtime.js';
import type { Forecaster, ForecastRequest } from '../forecast/types.js';
import { noiseScale } from '../plan/noise.js';
import { MINUTE_MS } from '../series/minute.js';
import { STALE_AFTER_MINUTES } from '../series/observed.js';
import { silentLogger } from '../telemetry/logger.js';
import { historyThrough, type TraceWindow } from '../sources/trace.js';
import { planAmadeus } from './amadeus.js';
import { buildLoad } from './load.js';
import { SIM_DEFAULTS } from './params.js';

const START = Date.UTC(2025, 0, 6);
/** A daily cycle with noise-free structure: 3 days. */
function cycle(days: number): number[] {
  return Array.from({ length: days * 1440 }, (_, i) => Math.round(200 + 150 * Math.sin((2 * Math.PI * i) / 1440) + 30 * Math.sin(i / 7)));
}
const traceOf = (requests: (number | null)[]): TraceWindow => ({ start: START, utcOffsetMinutes: 0, requests });
// With a noise margin, so the tests that the future stays unseen cover its noise scale too.
const config = (forecaster: Forecaster) => ({ forecaster, horizonMinutes: 5, historyMinutes: 60, headroom: 0.1, noiseMargin: 0.5, batchMinutes: 7 });

/** The span: the last 240 minutes of 3 days; T is 120 minutes into it. */
const SPAN = 240;
const requests = cycle(3);
const from = requests.length - SPAN;
const T = from + 120;
const future = requests.map((v, i) => (i >= T ? v * 5 + 1000 : v));

async function plansFor(values: number[], forecaster: Forecaster) {
  const trace = traceOf(values);
  // The rescaling is the span's (it needs the span's peak); plans are compared in trace units.
  const load = buildLoad(trace, from, values.length, SIM_DEFAULTS);
  const plans = await planAmadeus(trace, load, config(forecaster));
  return { plans, planned: Array.from(plans.planned, (v) => v / load.scale) };
}

test('historyThrough hands over the minutes up to the planned one, as copies', () => {
  const trace = traceOf([1, 2, 3, 4, 5]);
  const h = historyThrough(trace, 2, 10);
  expect(h.requests).toEqual([1, 2, 3]);
  expect(h.start).toBe(START);
  h.requests[0] = 99;
  expect(trace.requests[0]).toBe(1);
  expect(historyThrough(trace, 2, 2)).toMatchObject({ start: START + MINUTE_MS, requests: [2, 3] });
});

test('every forecast request ends with the minute it plans for', async () => {
  const seen: ForecastRequest[] = [];
  const spy: Forecaster = {
    name: 'spy',
    historyMinutes: (r) => r,
    forecast: async (req) => {
      seen.push(req);
      return { model: 'spy', values: Array<number>(req.horizon).fill(1) };
    },
  };
  const trace = traceOf(requests);
  const load = buildLoad(trace, from, requests.length, SIM_DEFAULTS);
  await planAmadeus(trace, load, config(spy));
  expect(seen).toHaveLength(SPAN);
  seen.forEach((req, i) => {
    const planned = load.start + i * MINUTE_MS;
    expect(req.history.start + (req.history.requests.length - 1) * MINUTE_MS).toBe(planned);
  });
});

describe.each([
  ['the accuracy gate over the baselines', async () => createForecasterProvider({ lstm: null, unavailableReason: 'test', log: silentLogger })('auto', 'ns/a')],
  [
    'the shipped LSTM',
    async () => {
      const { runtime } = await loadLstmRuntime({ model: 'models/nasa-lstm', backend: 'wasm', fineTune: false, fineTuneIntervalMs: 1, fineTuneHistoryMinutes: 360, weightsDir: null, log: silentLogger });
      return createForecasterProvider({ lstm: runtime, log: silentLogger })('lstm', 'ns/a');
    },
  ],
])('%s cannot see the future', (_name, make) => {
  test('plans before T are identical whatever happens from T on; plans after it react', async () => {
    const a = await plansFor(requests, await make());
    const b = await plansFor(future, await make());
    // The plans up to minute T − 1 were made before anything changed.
    // (Compared in trace units: the two spans rescale differently, so only rounding may differ.)
    const cut = T - from;
    for (let i = 0; i < cut; i++) expect(b.planned[i]).toBeCloseTo(a.planned[i]!, 6);
    // The test can tell: as soon as a changed minute is "now", the plan moves.
    expect(b.planned[cut]).toBeGreaterThan(a.planned[cut]! * 2);
    expect(Object.values(a.plans.reasons).reduce((x, y) => x + (y ?? 0), 0)).toBe(SPAN);
  }, 60_000);
});

test('a forecaster that fails plans on the observed load, with the reason counted', async () => {
  const failing: Forecaster = { name: 'down', historyMinutes: (r) => r, forecast: () => Promise.reject(new Error('down')) };
  const trace = traceOf(requests);
  const load = buildLoad(trace, from, requests.length, SIM_DEFAULTS);
  const plans = await planAmadeus(trace, load, { ...config(failing), headroom: 0, noiseMargin: 0 });
  expect(plans.reasons).toEqual({ 'forecast-unavailable': SPAN });
  for (let i = 0; i < SPAN; i++) expect(plans.planned[i]).toBeCloseTo(requests[from + i]! * load.scale, 9);
  expect(plans.forecastMax.every(Number.isNaN)).toBe(true);
});

test('the noise margin: α fitted on the last historyMinutes up to the planned minute, as the scaler does', async () => {
  const failing: Forecaster = { name: 'down', historyMinutes: (r) => r, forecast: () => Promise.reject(new Error('down')) };
  const trace = traceOf(requests);
  const load = buildLoad(trace, from, requests.length, SIM_DEFAULTS);
  const plans = await planAmadeus(trace, load, { ...config(failing), headroom: 0, noiseMargin: 2 });
  for (const i of [0, 1, 100, SPAN - 1]) {
    const now = from + i;
    const alpha = noiseScale(requests.slice(now - 59, now + 1), 60)!;
    expect(alpha).toBeGreaterThan(0);
    const observed = requests[now]!;
    expect(plans.planned[i]).toBeCloseTo((observed + 2 * alpha * Math.sqrt(observed)) * load.scale, 9);
  }
});

test('minutes with no observed history keep the previous plan; before any, there is none', async () => {
  const gappy: (number | null)[] = [...requests];
  gappy.fill(null, from - 60, from + 10);
  const trace = traceOf(gappy);
  const load = buildLoad(trace, from, gappy.length, SIM_DEFAULTS);
  const plans = await planAmadeus(trace, load, config(createForecasterProvider({ lstm: null, log: silentLogger })('mean10', 'ns/a')));
  // Up to minute from+9 the last 60 minutes hold nothing observed.
  for (let i = 0; i < 10; i++) expect(plans.planned[i]).toBeNaN();
  expect(plans.planned[10]).toBeGreaterThan(0);
  expect(plans.reasons['no-data']).toBe(10);
});

test('a series that stopped: once its newest sample is STALE_AFTER_MINUTES old, the previous plan holds and no forecast is asked for, as serve does', async () => {
  const gap = 20;
  const stopped: (number | null)[] = [...requests];
  stopped.fill(null, from + 100, from + 100 + gap);
  let asked = 0;
  const flat: Forecaster = {
    name: 'flat',
    historyMinutes: (r) => r,
    forecast: async (req) => {
      asked++;
      return { model: 'flat', values: Array<number>(req.horizon).fill(1) };
    },
  };
  const trace = traceOf(stopped);
  const load = buildLoad(trace, from, stopped.length, SIM_DEFAULTS);
  const plans = await planAmadeus(trace, load, config(flat));
  const planned = Array.from(plans.planned, (v) => v / load.scale);
  // Minutes 100 … 100 + STALE − 2 of the span read a sample at most STALE − 1 minutes old: planned on it.
  const lastSample = stopped[from + 99]!;
  for (let i = 100; i < 100 + STALE_AFTER_MINUTES - 1; i++) expect(planned[i]).toBeGreaterThanOrEqual(lastSample);
  // From then on to the gap's end the sample is stale: the plan of the last fresh minute, unchanged.
  const held = planned[100 + STALE_AFTER_MINUTES - 2]!;
  for (let i = 100 + STALE_AFTER_MINUTES - 1; i < 100 + gap; i++) expect(planned[i]).toBe(held);
  expect(plans.reasons['no-data']).toBe(gap - STALE_AFTER_MINUTES + 1);
  expect(asked).toBe(SPAN - (gap - STALE_AFTER_MINUTES + 1));
  // The series back: planned on fresh samples again.
  expect(planned[100 + gap]).toBeGreaterThanOrEqual(stopped[from + 100 + gap]!);
});
