/**
 * `serve`'s clean-up of the shared volume (replicas/volume-gc.ts): once an hour, on the one replica
 * that owns the key `volume-gc` among the live set, and only after the first hour of the process —
 * by then KEDA has asked it about every trigger (every replica serves them all), so a workload it
 * does not know is one no replica serves.
 */
import { performance } from 'node:perf_hooks';
import { sharedVolume } from '../forecast/volume-ops.js';
import { SHARED_VOLUME_TIMEOUT_MS, sharedKey } from '../replicas/shared-dir.js';
import { collectVolume } from '../replicas/volume-gc.js';
import type { Logger } from '../telemetry/logger.js';

export const VOLUME_GC_EVERY_MS = 3_600_000;

export interface VolumeGcWiring {
  weightsDir: string;
  owns(key: string): boolean;
  /** The LSTM workloads served now; null without the LSTM (its weights are then left alone). */
  workloads: () => Iterable<{ key: string }> | null;
  log: Logger;
}

/** Starts the hourly clean-up; returns its stop. */
export function startVolumeGc(w: VolumeGcWiring, everyMs = VOLUME_GC_EVERY_MS): () => void {
  const started = performance.now();
  let running = false;
  const timer = setInterval(() => {
    if (running || performance.now() - started < everyMs || !w.owns('volume-gc')) return;
    running = true;
    const served = w.workloads();
    const weightsInUse = served === null ? null : new Set([...served].map((x) => sharedKey('weights', x.key)));
    collectVolume({ root: w.weightsDir, weightsInUse, run: (what, op) => sharedVolume.run(what, op, SHARED_VOLUME_TIMEOUT_MS).result })
      .then((r) => {
        if (r.removed.length > 0) w.log.info('removed from the shared volume what no replica reads any more', { removed: r.removed, scanned: r.scanned });
      })
      .catch((err: unknown) => w.log.warn('could not clean the shared volume; trying again in an hour', { error: err }))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
