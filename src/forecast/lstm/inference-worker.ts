/**
 * Worker-thread entry: runs LSTM inference off the event loop that answers KEDA. Models are kept
 * by key; a message carries the weights until the worker has answered one that loaded them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from './backend.js';
import { setWeights } from './io.js';
import { createModel, type ModelShape } from './model.js';
import { runModel } from './predict.js';

export interface InferenceRequest {
  id: number;
  key: string;
  shape: ModelShape;
  /** Present when the worker must (re)load this key's model. */
  weights?: Float32Array[];
  x: Float32Array;
  rows: number;
}

if (!parentPort) throw new Error('inference-worker must run in a worker thread');
const port = parentPort;
const ready = selectBackend((workerData as { backend?: BackendChoice } | null)?.backend ?? 'auto');
const models = new Map<string, tf.LayersModel>();

port.on('message', async (msg: InferenceRequest | { drop: string }) => {
  if ('drop' in msg) {
    models.get(msg.drop)?.dispose();
    models.delete(msg.drop);
    return;
  }
  try {
    await ready;
    let model = models.get(msg.key);
    if (!model) {
      if (!msg.weights) throw new Error(`no weights for ${msg.key}`);
      const created = createModel(msg.shape, null);
      try {
        setWeights(created, msg.weights);
      } catch (err) {
        // Not kept: the pool sends the weights again with the next call.
        created.dispose();
        throw err;
      }
      models.set(msg.key, created);
      model = created;
    }
    const out = runModel(model, msg.shape, msg.x, msg.rows);
    const copy = new Float32Array(out);
    port.postMessage({ id: msg.id, out: copy }, [copy.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
