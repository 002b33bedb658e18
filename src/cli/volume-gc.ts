/**
 * `serve`'s clean-up of what workloads leave behind: the shared volume's directories
 * (replicas/volume-gc.ts) and the fine-tuning locks' Leases (RoundLock.collect). Once an hour, on
 * the one replica that owns the key `volume-gc` among the live set, and only after the first hour of
 * the process — by then KEDA has asked it about every trigger (every replica serves them all), so a
 * workload it does not know is one no replica serves.
 */
import { performance } from 'node:perf_hooks';
import { sharedVolume } from '../forecast/volume-ops.js';
import { SHARED_VOLUME_TIMEOUT_MS, sharedKey } from '../replicas/shared-dir.js';
import { collectVolume } from '../replicas/volume-gc.js';
import type { RoundLock } from '../replicas/round-lock.js';
import type { Logger } from '../telemetry/logger.js';

export const VOLUME_GC_EVERY_MS = 3_600_000;

export interface VolumeGcWiring {
  weightsDir: string;
  owns(key: string): boolean;
  /** The LSTM workloads served now; null without the LSTM (its weights are then left alone). */
  workloads: () => Iterable<{ key: string }> | null;
  /** The fine-tuning locks (null: no replica set, no locks). */
  roundLock?: RoundLock | null;
  log: Logger;
}

/** Starts the hourly clean-up; returns its stop. */
export function startVolumeGc(w: VolumeGcWiring, everyMs = VOLUME_GC_EVERY_MS): () => void {
  /** When this replica last ran one (at first: its start, so the first waits a period). */
  let lastRun = performance.now();
  let running = false;
  /** Where the next run starts reading ages in the listing: each run goes on from the last. */
  let next = 0;
  // Looked at four times a period: a timer of exactly the period, firing a hair early, put the first
  // run at two periods, and a replica that became the owner waited up to a period more.
  const timer = setInterval(() => {
    if (running || performance.now() - lastRun < everyMs || !w.owns('volume-gc')) return;
    lastRun = performance.now();
    running = true;
    const served = w.workloads();
    const keys = served === null ? null : [...served].map((x) => x.key);
    const weightsInUse = keys === null ? null : new Set(keys.map((k) => sharedKey('weights', k)));
    const volume = collectVolume({ root: w.weightsDir, weightsInUse, start: next, run: (what, op) => sharedVolume.run(what, op, SHARED_VOLUME_TIMEOUT_MS).result })
      .then((r) => {
        next += r.checked - r.removed.length;
        if (r.removed.length > 0) w.log.info('removed from the shared volume what no replica reads any more', { removed: r.removed, scanned: r.scanned });
      })
      .catch((err: unknown) => w.log.warn('could not clean the shared volume; trying again in an hour', { error: err }));
    // Locks only where this replica can tell which workloads are served (the LSTM's).
    const locks =
      w.roundLock && keys !== null
        ? w.roundLock
            .collect(keys)
            .then((deleted) => {
              if (deleted.length > 0) w.log.info('deleted the fine-tuning locks of workloads no longer served', { deleted });
            })
            .catch((err: unknown) => w.log.warn('could not clean the fine-tuning locks; trying again in an hour', { error: err }))
        : Promise.resolve();
    void Promise.all([volume, locks]).finally(() => (running = false));
  }, everyMs / 4);
  timer.unref();
  return () => clearInterval(timer);
}
