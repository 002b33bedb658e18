/** Loading the pre-trained LSTM at start-up: a model that cannot be read in time leaves the baselines to serve. */
import { promises } from 'node:fs';
import { silentLogger } from '../../telemetry/logger.js';
import { loadLstmRuntime, resolveModelDir } from './runtime.js';

test('a model directory on a volume that stops answering: the LSTM is unavailable at its deadline and start-up goes on', async () => {
  const dir = resolveModelDir('models/nasa-lstm');
  const open = promises.open;
  // Every open under the model directory hangs, as on an NFS server gone (a hard mount never answers).
  promises.open = ((path: Parameters<typeof open>[0], ...rest: unknown[]) =>
    String(path).startsWith(dir) ? new Promise(() => {}) : (open as (...a: unknown[]) => ReturnType<typeof open>)(path, ...rest)) as typeof open;
  try {
    const started = Date.now();
    const { runtime, reason } = await loadLstmRuntime({ model: dir, backend: 'cpu', fineTune: false, fineTuneIntervalMs: 60_000, fineTuneHistoryMinutes: 360, weightsDir: null, log: silentLogger, loadTimeoutMs: 500 });
    expect(runtime).toBeNull();
    expect(reason).toMatch(/loading the LSTM from .*nasa-lstm: deadline exceeded after 0\.5s/);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    promises.open = open;
  }
}, 30_000);

test('a relative model path whose lookup on the volume never answers: the LSTM is unavailable at its deadline and start-up goes on', async () => {
  const access = promises.access;
  // The lookup of models/nasa-lstm under the working directory hangs, as a stat on an NFS server gone does.
  promises.access = ((path: Parameters<typeof access>[0], ...rest: unknown[]) =>
    String(path).endsWith('nasa-lstm') ? new Promise(() => {}) : (access as (...a: unknown[]) => ReturnType<typeof access>)(path, ...rest)) as typeof access;
  try {
    const { runtime, reason } = await loadLstmRuntime({ model: 'models/nasa-lstm', backend: 'cpu', fineTune: false, fineTuneIntervalMs: 60_000, fineTuneHistoryMinutes: 360, weightsDir: null, log: silentLogger, loadTimeoutMs: 500 });
    expect(runtime).toBeNull();
    expect(reason).toBe('loading the LSTM from models/nasa-lstm: deadline exceeded after 0.5s');
  } finally {
    promises.access = access;
  }
}, 30_000);
