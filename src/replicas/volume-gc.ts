/**
 * Removes from the shared volume what no replica will read again: state snapshots of triggers long
 * gone, and the weights of workloads no longer served. Without it every trigger ever seen — and
 * every metadata edit, which makes a new trigger — left a directory behind for good.
 *
 * - `state-*`: a live trigger's owner publishes a snapshot every `--state-sync-interval` (at most an
 *   hour). A directory whose `current` pointer has not changed for `stateAfterMs` (7 days) belongs
 *   to a trigger no replica has served for a week (a replica without state of its own would adopt
 *   that week-old snapshot, no better than starting afresh): removed.
 * - `weights-*`: weights stay useful however old (a workload whose rounds are all rejected keeps
 *   its last accepted ones), so only the weights of workloads this replica does not serve, and
 *   unchanged for `weightsAfterMs` (30 days). Every replica serves every trigger KEDA asks about, so
 *   the caller runs this only once it has been up long enough to have seen them all.
 *
 * Each file system call goes through the caller's gate (the process's bounded volume operations),
 * at most `maxRemovals` directories a run, and a run reads at most `maxEntries` names.
 */
import { opendir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CURRENT } from './publish.js';

export const VOLUME_GC_DEFAULTS = {
  stateAfterMs: 7 * 86_400_000,
  weightsAfterMs: 30 * 86_400_000,
  maxRemovals: 20,
  maxEntries: 10_000,
  maxChecks: 500,
} as const;

export interface VolumeGcOptions {
  root: string;
  /** The `weights-*` directory names of the workloads this replica serves now, never removed; null: weights are left alone (this replica cannot tell). */
  weightsInUse: ReadonlySet<string> | null;
  /** Runs one file system operation within the process's bound on volume operations. */
  run: <T>(what: string, op: () => Promise<T>) => Promise<T>;
  now?: number;
  stateAfterMs?: number;
  weightsAfterMs?: number;
  maxRemovals?: number;
  maxEntries?: number;
  /** Directories whose age a run reads at most (each a volume operation), from `start` on, around the listing. */
  maxChecks?: number;
  start?: number;
}

export interface VolumeGcResult {
  scanned: number;
  /** Directories whose age was read. */
  checked: number;
  removed: string[];
}

/** When a published directory last changed: its pointer's mtime (renamed into place at every publish), else the directory's. */
async function lastChanged(dir: string): Promise<number> {
  try {
    return (await stat(join(dir, CURRENT))).mtimeMs;
  } catch {
    return (await stat(dir)).mtimeMs;
  }
}

export async function collectVolume(o: VolumeGcOptions): Promise<VolumeGcResult> {
  const now = o.now ?? Date.now();
  const stateAfter = o.stateAfterMs ?? VOLUME_GC_DEFAULTS.stateAfterMs;
  const weightsAfter = o.weightsAfterMs ?? VOLUME_GC_DEFAULTS.weightsAfterMs;
  const maxRemovals = o.maxRemovals ?? VOLUME_GC_DEFAULTS.maxRemovals;
  const maxEntries = o.maxEntries ?? VOLUME_GC_DEFAULTS.maxEntries;
  // The names first (bounded), then one gated call per candidate: the listing holds no slot while removing.
  const names = await o.run('list the shared volume', async () => {
    const out: string[] = [];
    const dir = await opendir(o.root);
    try {
      for await (const e of dir) {
        if (e.isDirectory() && (e.name.startsWith('state-') || e.name.startsWith('weights-'))) out.push(e.name);
        if (out.length >= maxEntries) break;
      }
    } finally {
      await dir.close().catch(() => {});
    }
    return out;
  });
  const removed: string[] = [];
  const maxChecks = Math.min(names.length, o.maxChecks ?? VOLUME_GC_DEFAULTS.maxChecks);
  // A run reads the ages of at most maxChecks directories (on a slow NFS each holds one of the two
  // volume slots a while), starting where the caller says: successive runs go around the listing.
  const first = names.length > 0 ? (o.start ?? 0) % names.length : 0;
  let checked = 0;
  for (; checked < maxChecks; checked++) {
    const name = names[(first + checked) % names.length]!;
    if (removed.length >= maxRemovals) break;
    const isState = name.startsWith('state-');
    if (!isState && (o.weightsInUse === null || o.weightsInUse.has(name))) continue;
    const path = join(o.root, name);
    const changed = await o.run(`read the age of ${name}`, () => lastChanged(path)).catch(() => null);
    if (changed === null || now - changed < (isState ? stateAfter : weightsAfter)) continue;
    await o.run(`remove ${name}`, () => rm(path, { recursive: true, force: true }));
    removed.push(name);
  }
  return { scanned: names.length, checked, removed };
}
