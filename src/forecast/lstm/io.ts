/**
 * Saves and loads a model as plain files — `model.json` (topology and weight manifest, the tfjs
 * layers format), `weights.bin` and Amadeus's `meta.json` — without tfjs-node's file:// handler,
 * which the WebAssembly and CPU backends do not have.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

function concatWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

/** Writes a file atomically: a reader (or a crash) never sees half of it. */
function writeAtomic(path: string, data: string | Buffer): void {
  // Unique per write, not per process: two replicas (both PID 1 in their containers) may share the
  // weights volume, and a second write in one process may overlap the first.
  const tmp = `${path}.tmp-${randomUUID()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export async function saveModel<M extends object>(model: tf.LayersModel, dir: string, meta: M): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = concatWeightData(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
      writeAtomic(join(dir, 'weights.bin'), weights);
      const manifest = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeAtomic(join(dir, 'model.json'), JSON.stringify(manifest));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
  writeAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
}

export interface LoadedModel<M> {
  model: tf.LayersModel;
  meta: M;
}

export async function loadModel<M>(dir: string): Promise<LoadedModel<M>> {
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f));
    } catch (err) {
      throw new Error(`cannot read model file ${join(dir, f)}: ${(err as Error).message}`, { cause: err });
    }
  };
  const manifest = JSON.parse(read('model.json').toString()) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const bin = read('weights.bin');
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: manifest.weightsManifest.flatMap((m) => m.weights), weightData }),
  );
  const meta = JSON.parse(read('meta.json').toString()) as M;
  return { model, meta };
}

/** The weights as plain arrays: what crosses to the fine-tuning worker and back. */
export function getWeights(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array).map((a) => new Float32Array(a));
}

export function setWeights(model: tf.LayersModel, weights: Float32Array[]): void {
  const current = model.getWeights();
  if (current.length !== weights.length) throw new Error(`weights do not fit the model: ${weights.length} arrays for ${current.length}`);
  const tensors = weights.map((w, i) => tf.tensor(w, current[i]!.shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
}
