/**
 * Saves and loads a model as plain files — `model.json` (topology and weight manifest, the tfjs
 * layers format), `weights.bin` and Amadeus's `meta.json` — without tfjs-node's file:// handler,
 * which the WebAssembly and CPU backends do not have.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readCapped } from '../../replicas/publish.js';

/**
 * What loadModel reads at most: model.json and meta.json, and weights.bin at most this and no more
 * than its manifest describes. A larger file is refused like a corrupt one (on the shared volume
 * another replica may have written it).
 */
export const MODEL_FILE_CAPS = { json: 1024 * 1024, weights: 64 * 1024 * 1024 } as const;

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** The bytes of weights.bin a manifest describes (its shapes and dtypes); null when it cannot tell. */
export function manifestWeightBytes(weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[]): number | null {
  let total = 0;
  for (const w of weightsManifest.flatMap((m) => m.weights)) {
    if (typeof w !== 'object' || w === null || !Array.isArray(w.shape)) return null;
    const per = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype];
    if (per === undefined || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return null;
    total += w.shape.reduce((a, d) => a * d, 1) * per;
  }
  return total;
}

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
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    // A failed write (a full disk, a rename refused) leaves no part-written temp file behind.
    rmSync(tmp, { force: true });
    throw err;
  }
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
  return parseModel<M>(need('model.json'), need('weights.bin'), need(metaName), (f) => (f === 'meta.json' ? metaName : f));
}

interface Manifest {
  modelTopology: object;
  weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
}

/** A model file's JSON; a file that is not JSON (or not the shape of a tfjs manifest) fails naming the file. */
function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message.slice(0, 100)})`, { cause: err });
  }
}

function parseManifest(bytes: Buffer, where: string): Manifest {
  const m = parseJson(bytes, where) as Partial<Manifest> | null;
  const ok = typeof m?.modelTopology === 'object' && m.modelTopology !== null && Array.isArray(m.weightsManifest) && m.weightsManifest.every((g) => Array.isArray(g?.weights));
  if (!ok) throw new Error(`${where}: not a TensorFlow.js layers model (no modelTopology and weightsManifest)`);
  return m as Manifest;
}

/** `where(file)`: how errors name each file (its path when read from a directory). */
async function parseModel<M>(modelJson: Buffer, bin: Buffer, metaJson: Buffer, where: (file: 'model.json' | 'meta.json') => string): Promise<LoadedModel<M>> {
  const manifest = parseManifest(modelJson, where('model.json'));
  const meta = parseJson(metaJson, where('meta.json')) as M;
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: manifest.weightsManifest.flatMap((m) => m.weights), weightData }),
  );
  return { model, meta };
}

export interface LoadedModel<M> {
  model: tf.LayersModel;
  meta: M;
}

/** Reads a model directory without blocking the event loop, each file capped (MODEL_FILE_CAPS). */
export async function loadModel<M>(dir: string): Promise<LoadedModel<M>> {
  const read = async (f: string, max: number) => {
    try {
      return await readCapped(join(dir, f), max);
    } catch (err) {
      throw new Error(`cannot read model file ${join(dir, f)}: ${(err as Error).message}`, { cause: err });
    }
  };
  const modelJson = await read('model.json', MODEL_FILE_CAPS.json);
  // A malformed model.json fails here, before weights.bin is read.
  const described = manifestWeightBytes(parseManifest(modelJson, join(dir, 'model.json')).weightsManifest);
  const weights = await read('weights.bin', Math.min(MODEL_FILE_CAPS.weights, described ?? Infinity));
  return parseModel<M>(modelJson, weights, await read('meta.json', MODEL_FILE_CAPS.json), (f) => join(dir, f));
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
