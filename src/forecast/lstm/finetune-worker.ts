/**
 * Worker-thread entry: runs fine-tuning rounds off the gRPC event loop. One job at a time; each
 * message is `{ id, job }`, each reply `{ id, result }` or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from './backend.js';
import { fineTuneRound, type FineTuneJob } from './finetune.js';

if (!parentPort) throw new Error('finetune-worker must run in a worker thread');
const port = parentPort;
const ready = selectBackend(((workerData as { backend?: BackendChoice } | null)?.backend ?? 'auto'));

port.on('message', async (msg: { id: number; job: FineTuneJob }) => {
  try {
    await ready;
    const result = await fineTuneRound(msg.job);
    port.postMessage({ id: msg.id, result }, (result.weights ?? []).map((w) => w.buffer as ArrayBuffer));
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
