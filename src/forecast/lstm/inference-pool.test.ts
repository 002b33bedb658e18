/** Inference in the worker thread (the built worker in dist/) gives the same forecasts as in-thread. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { LstmForecaster } from './forecaster.js';
import { InferencePool } from './inference-pool.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import { createModel, type ModelShape } from './model.js';

const WORKER = new URL('../../../dist/forecast/lstm/inference-worker.js', import.meta.url);
const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 4, stepMinutes: 5 };
const meta: LstmMeta = { format: META_FORMAT, shape, features: FEATURES, normalisation: '', createdAt: '', backend: 'wasm', training: {} as LstmMeta['training'], calibration: { '0.9': 1.1 } };

beforeAll(async () => {
  if (!existsSync(fileURLToPath(WORKER))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  await startBackend('wasm');
});

test('forecasts from the worker equal forecasts made in this thread; models are loaded once and dropped', async () => {
  const pool = new InferencePool({ workerUrl: WORKER, backend: 'wasm' });
  try {
    const model = createModel(shape, 4);
    const local = new LstmForecaster('lstm', model, meta);
    const remote = new LstmForecaster('lstm', model, meta, pool);
    const requests = [0, 1, 2].map((k) => ({ history: { start: Date.UTC(2025, 0, 6), requests: sineSeries(100, { seed: k }) }, horizon: 5 }));
    const viaWorker = await Promise.all(requests.map((r) => remote.forecast(r)));
    const here = await Promise.all(requests.map((r) => local.forecast(r)));
    expect(viaWorker).toEqual(here);
    // Too little history is declined without reaching the worker, as in-thread.
    await expect(remote.forecast({ history: { start: 0, requests: [1, 2] }, horizon: 5 })).rejects.toThrow('lstm needs 20 minutes');
    // A second model of the same shape is a different key: its own weights.
    const other = new LstmForecaster('lstm', createModel(shape, 99), meta, pool);
    expect(await other.forecast(requests[0]!)).not.toEqual(viaWorker[0]);
    remote.dispose();
  } finally {
    await pool.close();
  }
  await expect(pool.run('k', shape, () => [], new Float32Array(1), 1)).rejects.toThrow('closed');
});

describe('a worker that misbehaves (a stand-in worker: no model, it doubles its input)', () => {
  /**
   * Key `hang` spins forever (a stuck model), `ignore` is never answered while the rest are, `crash`
   * exits the thread, `fail-once…` fails its first load (as setWeights would on weights that do not fit).
   */
  const STAND_IN = new URL(
    'data:text/javascript,' +
      encodeURIComponent(`
        import { parentPort } from 'node:worker_threads';
        const models = new Set();
        const loads = new Map();
        parentPort.on('message', (msg) => {
          if ('drop' in msg) return void models.delete(msg.drop);
          if (msg.key === 'hang') for (;;);
          if (msg.key === 'ignore') return;
          if (msg.key === 'crash') process.exit(3);
          try {
            if (!models.has(msg.key)) {
              if (!msg.weights) throw new Error('no weights for ' + msg.key);
              const n = (loads.get(msg.key) ?? 0) + 1;
              loads.set(msg.key, n);
              if (msg.key.startsWith('fail-once') && n === 1) throw new Error('weights do not fit');
              models.add(msg.key);
            }
            const out = msg.x.map((v) => v * 2);
            parentPort.postMessage({ id: msg.id, out }, [out.buffer]);
          } catch (err) {
            parentPort.postMessage({ id: msg.id, error: err.message });
          }
        });
      `),
  );
  // Generous against a slow machine's worker start-up: only a call that is never answered reaches it.
  const TIMEOUT_MS = 2000;
  let pool: InferencePool;
  /** Times model `m` (or `fail-once`) had its weights sent. */
  let sent: number;
  const call = (key: string) => pool.run(key, shape, () => (key === 'm' || key === 'fail-once' ? sent++ : 0, [new Float32Array(1)]), Float32Array.from([1, 2]), 1);

  const QUARANTINE_MS = 3000;
  beforeEach(() => {
    pool = new InferencePool({ workerUrl: STAND_IN, callTimeoutMs: TIMEOUT_MS, quarantineMs: QUARANTINE_MS });
    sent = 0;
  });
  afterEach(() => pool.close());

  test('a stuck call fails at its deadline, with the calls behind it; the worker is replaced and sent its models again', async () => {
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    await call('m');
    expect(sent).toBe(1); // confirmed held: not sent again
    const stuck = call('hang');
    const behind = call('m');
    await expect(stuck).rejects.toThrow(/inference worker stuck, restarted: deadline exceeded after 2s/);
    await expect(behind).rejects.toThrow(/stuck/);
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    expect(pool.started).toBe(2);
    expect(sent).toBe(2); // the new worker had to be sent the model
  });

  // A model that hangs the worker took every call in flight down with it at each of its refreshes,
  // 20 s each time, minute after minute.
  test('the model that left the worker stuck is quarantined: its calls fail at once, the others run; after the quarantine it is tried again, for twice as long after a second strike', async () => {
    await expect(call('hang')).rejects.toThrow(/stuck/);
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    await expect(call('hang')).rejects.toThrow(/^model hang quarantined for [1-3]s more: it left the inference worker stuck \(1 time\)$/);
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    expect(pool.started).toBe(2); // the quarantined call never reached a worker
    await new Promise((res) => setTimeout(res, QUARANTINE_MS + 100));
    await expect(call('hang')).rejects.toThrow(/stuck/);
    expect(pool.started).toBe(2);
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    await expect(call('hang')).rejects.toThrow(/quarantined for [4-6]s more: it left the inference worker stuck \(2 times\)/);
    expect(pool.started).toBe(3);
  }, 20_000);

  // A worker that hangs on every call: each 20 s stall held every refresh's forecast in flight.
  test('after a worker was stuck, its successor takes one call at a time until it answers; then calls run together again', async () => {
    await expect(call('hang')).rejects.toThrow(/stuck/);
    const first = call('m');
    await expect(call('m')).rejects.toThrow('inference worker restarted after it was stuck or crashed: one call at a time until it answers');
    expect(Array.from(await first)).toEqual([2, 4]);
    const both = await Promise.all([call('m'), call('m')]);
    expect(both.map((o) => Array.from(o))).toEqual([[2, 4], [2, 4]]);
  });

  test('a call the worker leaves unanswered while it answers others fails alone; the worker is kept', async () => {
    const ignored = call('ignore');
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    await expect(ignored).rejects.toThrow(/^inference call: deadline exceeded after 2s/);
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    expect(pool.started).toBe(1);
    expect(sent).toBe(1);
  });

  test('a model whose weights failed to load is sent again with the next call', async () => {
    await expect(call('fail-once')).rejects.toThrow('weights do not fit');
    expect(Array.from(await call('fail-once'))).toEqual([2, 4]);
    expect(sent).toBe(2);
    await call('fail-once');
    expect(sent).toBe(2);
  });

  test('a worker that exits fails its calls and is replaced by the next call', async () => {
    await call('m');
    await expect(call('crash')).rejects.toThrow('inference worker exited with code 3');
    expect(Array.from(await call('m'))).toEqual([2, 4]);
    expect(pool.started).toBe(2);
    expect(sent).toBe(2);
  });
});
