/**
 * What replicas share on the weights volume, per workload: its published fine-tuned weights and
 * snapshots of its forecasting state (the accuracy gate's scores and the calibration window), each
 * as atomically published versions (publish.ts). One directory per workload and kind:
 * `<root>/<kind>-<readable part>-<hash>/`, so any workload key, however long or odd, maps to a safe
 * and distinct name.
 */
import { createHash } from 'node:crypto';
import { continuedLineage, isEmpty, nextVersion, newLineage, publish, readCurrent, readMeta, readPointer, readVersion, listVersions, type Current, type ReadLimits, type Seen } from './publish.js';

export type SharedKind = 'weights' | 'state';

/**
 * Deadline of each read of the shared volume on the forecast path, and of each publish (ms): a hung
 * volume (an NFS server gone) must hold neither a forecast nor a fine-tuning round and its lock.
 */
export const SHARED_VOLUME_TIMEOUT_MS = 5_000;

/**
 * What a reader accepts of one version, per kind (publish.ts READ_CAPS covers `current` and
 * meta.json): more is taken for corrupt, and the reader falls back to an older version. A
 * workload's LSTM weights are tens of KiB, its state (score windows, pending forecasts) about as much.
 */
export const SHARED_CAPS: Record<SharedKind, number> = { weights: 64 * 1024 * 1024, state: 4 * 1024 * 1024 };

/** The directory name (a publish key) of one workload's `kind`. */
export function sharedKey(kind: SharedKind, workload: string): string {
  const readable = workload.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 80);
  const hash = createHash('sha256').update(workload).digest('hex').slice(0, 12);
  return `${kind}-${readable}-${hash}`;
}

/** A published snapshot of one workload's forecasting state, after the refresh of `origin`. */
export interface StateSnapshot {
  /** Epoch ms: the origin (first forecast minute) of the refresh the state is after. */
  origin: number;
  /** SHA-256 of `state` as JSON: replicas compare it with their own before adopting. */
  digest: string;
  state: unknown;
}

/** Reads and publishes state snapshots: the forecasting layer sees only this. */
export interface StateStore {
  /** The newest published version number, cheaply (one small file); null: none. */
  latestVersion(workload: string): Promise<number | null>;
  /** `lineage`: publish.ts's (absent: an older release published it). */
  read(workload: string): Promise<{ version: number; lineage?: string; snapshot: StateSnapshot } | null>;
  /** The lineage of `version` alone (its meta.json): undefined, none; null, cannot tell. Absent: never asked (version-cursor.ts). */
  lineage?(workload: string, version: number): Promise<string | undefined | null>;
  /** The version and lineage written. */
  publish(workload: string, snapshot: StateSnapshot): Promise<Seen>;
}

/** Files of one published model version (any names but meta.json). */
export type ModelFiles = Record<string, Buffer>;

export interface WeightsStore {
  latestVersion(workload: string): Promise<number | null>;
  /** The current version, verified; older ones that verify when asked for by number. */
  read(workload: string, version?: number): Promise<{ version: number; lineage?: string; files: ModelFiles } | null>;
  /** Version numbers present (complete or not), ascending. */
  versions(workload: string): Promise<number[]>;
  /** Whether nothing at all is published (emptied); false when that cannot be told. Absent: never said. */
  empty?(workload: string): Promise<boolean>;
  /** As StateStore's. */
  lineage?(workload: string, version: number): Promise<string | undefined | null>;
  /** The version and lineage written. With `continues`, only as the next version of that lineage (else LineageGone). */
  publish(workload: string, files: ModelFiles, o?: { continues?: { lineage?: string } }): Promise<Seen>;
}

/**
 * A publish refused: the versions present are not of the lineage it was to continue (the volume was
 * emptied, and maybe published anew, since what was published was learned from what it held).
 */
export class LineageGone extends Error {
  override name = 'LineageGone';
}

export function digestOf(state: unknown): string {
  return createHash('sha256').update(JSON.stringify(state)).digest('hex');
}

/**
 * Publishes with the next free version, in the lineage of the versions present; a new lineage when
 * there are none (a directory emptied starts over at v1, and readers take it for the reset it is,
 * not for a stale `current`). A racing publisher that took the version makes this retry once more.
 */
async function publishNext(root: string, key: string, files: Record<string, Buffer | string>, limits: ReadLimits, continues?: { lineage?: string }): Promise<Seen> {
  for (let attempt = 0; ; attempt++) {
    const version = await nextVersion(root, key);
    const continued = await continuedLineage(root, key);
    if (continues && (continued === null || continued.lineage !== continues.lineage)) throw new LineageGone(`${key}: the versions published are no longer of lineage ${continues.lineage ?? '(none)'}`);
    const lineage = (continued ?? { lineage: newLineage() }).lineage;
    try {
      await publish(root, key, version, files, { maxBytes: limits.maxBytes, lineage });
      return { version, lineage };
    } catch (err) {
      if (attempt >= 2 || !/already exists/.test((err as Error).message)) throw err;
    }
  }
}

/** The lineage in meta.json of `version` (undefined: none); null when it cannot be read. */
async function lineageOf(root: string, key: string, version: number): Promise<string | undefined | null> {
  const meta = await readMeta(root, key, version);
  return meta && meta.lineage;
}

const STATE_FILE = 'state.json';

export function fileStateStore(root: string, limits: ReadLimits = { maxBytes: SHARED_CAPS.state }): StateStore {
  return {
    latestVersion: (workload) => readPointer(root, sharedKey('state', workload)),
    async read(workload) {
      const got: Current | null = await readCurrent(root, sharedKey('state', workload), limits);
      const bytes = got?.files[STATE_FILE];
      if (!got || !bytes) return null;
      const snapshot = JSON.parse(bytes.toString('utf8')) as StateSnapshot;
      if (!Number.isFinite(snapshot?.origin) || typeof snapshot.digest !== 'string') return null;
      return { version: got.version, lineage: got.meta.lineage, snapshot };
    },
    lineage: (workload, version) => lineageOf(root, sharedKey('state', workload), version),
    publish: (workload, snapshot) => publishNext(root, sharedKey('state', workload), { [STATE_FILE]: JSON.stringify(snapshot) }, limits),
  };
}

export function fileWeightsStore(root: string, limits: ReadLimits = { maxBytes: SHARED_CAPS.weights }): WeightsStore {
  return {
    latestVersion: (workload) => readPointer(root, sharedKey('weights', workload)),
    async read(workload, version) {
      const key = sharedKey('weights', workload);
      const got = version === undefined ? await readCurrent(root, key, limits) : await readVersion(root, key, version, limits);
      return got && { version: got.version, lineage: got.meta.lineage, files: got.files };
    },
    versions: (workload) => listVersions(root, sharedKey('weights', workload)),
    empty: (workload) => isEmpty(root, sharedKey('weights', workload)),
    lineage: (workload, version) => lineageOf(root, sharedKey('weights', workload), version),
    publish: (workload, files, o) => publishNext(root, sharedKey('weights', workload), files, limits, o?.continues),
  };
}
