/**
 * TensorFlow.js backend selection at run time. `@tensorflow/tfjs-node` (native libtensorflow) is an
 * optional dependency: its install downloads a binary, which works in the Docker image and fails
 * on machines without internet, so it is tried first and skipped when absent. Then the WebAssembly
 * backend (its .wasm files ship inside the npm package: nothing is downloaded), then plain JS.
 * An explicit choice is a preference, not a demand: the docs promise only that the choice is logged.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Logger } from '../../telemetry/logger.js';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

let selected: Promise<string> | undefined;

async function tryNode(): Promise<boolean> {
  try {
    // A string the bundler/type-checker does not resolve: the package may legitimately be absent.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    // Point the backend at the .wasm binaries inside node_modules instead of a CDN.
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** Every backend in the order `auto` tries them. */
const AUTO_ORDER = ['tensorflow', 'wasm', 'cpu'] as const;

/**
 * Initialises a backend: `auto` tries tensorflow → wasm → cpu; a named choice that cannot start
 * falls back as `auto` would from there (tensorflow → wasm, not straight to the slow cpu), so
 * replicas that lack tfjs-node still all run the same backend (ADR 0003). Returns the backend's
 * name and the ones that could not start.
 */
export async function startBackend(choice: BackendChoice): Promise<{ backend: string; unavailable: string[] }> {
  const order = choice === 'auto' ? AUTO_ORDER : AUTO_ORDER.slice(AUTO_ORDER.indexOf(choice));
  const unavailable: string[] = [];
  for (const b of order) {
    const ok = b === 'tensorflow' ? await tryNode() : b === 'wasm' ? await tryWasm() : await tf.setBackend('cpu');
    if (ok) {
      await tf.ready();
      return { backend: tf.getBackend(), unavailable };
    }
    unavailable.push(b);
  }
  throw new Error(`no TensorFlow.js backend could start (tried ${unavailable.join(', ')})`);
}

/**
 * startBackend once per process (later calls return the first result), logging the choice; a
 * named choice that could not start is a warning naming `flag`, the option that asked for it.
 */
export function selectBackend(choice: BackendChoice = 'auto', log?: Logger, flag = '--tf-backend'): Promise<string> {
  selected ??= startBackend(choice).then(({ backend, unavailable }) => {
    if (choice !== 'auto' && backend !== choice) log?.warn(`${flag} ${choice} could not start: using ${backend} instead`, { requested: choice, backend, unavailable });
    log?.info('tensorflow backend', { backend, requested: choice, unavailable });
    return backend;
  });
  return selected;
}
