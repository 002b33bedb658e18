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

/** The model as in-memory files (model.json, weights.bin, and `metaName` holding `meta`), for publishing. */
export async function modelFiles<M extends object>(model: tf.LayersModel, meta: M, metaName: string): Promise<Record<string, Buffer>> {
  let files: Record<string, Buffer> | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = concatWeightData(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
      const manifest = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      files = { 'model.json': Buffer.from(JSON.stringify(manifest)), 'weights.bin': weights, [metaName]: Buffer.from(JSON.stringify(meta, null, 2) + '\n') };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
  return files!;
}

/** Loads a model from files made by modelFiles. */
export async function modelFromFiles<M>(files: Record<string, Buffer>, metaName: string): Promise<LoadedModel<M>> {
  const need = (name: string) => {
    const f = files[name];
    if (!f) throw new Error(`model file ${name} is missing`);
    return f;
  };
  return parseModel<M>(need('model.json'), need('weights.bin'), need(metaName));
}

async function parseModel<M>(modelJson: Buffer, bin: Buffer, metaJson: Buffer): Promise<LoadedModel<M>> {
  const manifest = JSON.parse(modelJson.toString()) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: manifest.weightsManifest.flatMap((m) => m.weights), weightData }),
  );
  return { model, meta: JSON.parse(metaJson.toString()) as M };
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
  return parseModel<M>(read('model.json'), read('weights.bin'), read('meta.json'));
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
