/**
 * One workload's forecaster as a replica runs it (docs/adr/0003-replica-state.md): every replica
 * advances the same state by the same steps, so every replica answers alike.
 *
 * - One step per origin minute, each from the history window that ends at that minute (the same
 *   length for every step). A refresh that finds minutes it missed (an overrun, a source outage, a
 *   restart) first replays them, up to `catchUpMinutes` back, from the window it has just read:
 *   so the state after minute m is the same whether a replica saw every minute or not.
 * - The owner of the workload publishes the state every `intervalMinutes`, at the origins whose
 *   minute is the workload's phase of it (publishPhase: the same minutes on every replica, and the
 *   workloads' publishes spread over the interval, not all at once). Every replica keeps the digest
 *   of its own state at those minutes; on seeing a newer snapshot it compares: equal → nothing to
 *   do; different, or no state yet (a replica just started, or just saw the object) → it loads the
 *   snapshot and replays the minutes since. So a newcomer answers like the others from its first refresh, and a
 *   divergence (a late sample one replica saw and another did not) lasts at most one interval.
 *
 * Only serve wraps forecasters in this: the simulator already steps through every minute itself.
 */
import { createHash } from 'node:crypto';
import { DeadlineError } from '../deadline/deadline.js';
import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';
import type { Forecast } from '../series/forecast.js';
import type { StateSnapshot, StateStore } from '../replicas/shared-dir.js';
import { digestOf, SHARED_VOLUME_TIMEOUT_MS } from '../replicas/shared-dir.js';
import { VersionCursor } from '../replicas/version-cursor.js';
import { forecastOrigin } from './gate.js';
import { sharedVolume, VolumeBusyError, type VolumeGate } from './volume-ops.js';
import type { ForecastRequest, Forecaster, ForecasterSeed, SeedableForecaster, StatefulForecaster } from './types.js';

export const SYNC_DEFAULTS = {
  /** Minutes between two published snapshots of a workload's state. */
  intervalMinutes: 5,
  /** Missed minutes replayed at most: beyond that the state skips them (as it always did). */
  catchUpMinutes: 30,
  /**
   * How long a forecast waits on each read of the shared volume, and a publish on its write (ms): a
   * hung volume (an NFS server gone) must not hold the forecast, so past it the replica keeps its own
   * state for this minute.
   */
  readTimeoutMs: SHARED_VOLUME_TIMEOUT_MS,
} as const;

export interface SyncLog {
  warn(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

export interface SyncOptions {
  /** The workload (what snapshots are published under). */
  key: string;
  /** Null: no shared volume; the state is this replica's alone (single replica). */
  store: StateStore | null;
  /** Whether this replica owns the workload now (it publishes; the others follow). */
  owns: () => boolean;
  intervalMinutes?: number;
  catchUpMinutes?: number;
  /** Deadline of each read of the store on the forecast path, and of each publish (ms); default SYNC_DEFAULTS.readTimeoutMs. */
  readTimeoutMs?: number;
  log: SyncLog;
  /**
   * The process-wide bound on shared-volume operations outstanding (volume-ops.ts); default the
   * process's one. A read or publish it refuses fails like any other (tried again later).
   */
  volume?: VolumeGate;
  /** Counts snapshots: published by the owner; matched (already equal) or adopted by a follower. */
  onSnapshot?: (action: 'published' | 'matched' | 'adopted') => void;
}

export type SyncedForecaster = Forecaster & SeedableForecaster & { settled(): Promise<void>; close(): void };

/** The last `minutes` minutes of `h` before `origin` (which must lie inside h or just after it). */
export function windowEndingAt(h: History, origin: number, minutes: number): History {
  const end = (origin - h.start) / MINUTE_MS;
  const start = Math.max(0, end - minutes);
  const out: History = { start: h.start + start * MINUTE_MS, requests: h.requests.slice(start, end) };
  if (h.cpu) out.cpu = h.cpu.slice(start, end);
  if (h.memory) out.memory = h.memory.slice(start, end);
  if (h.utcOffsetMinutes !== undefined) out.utcOffsetMinutes = h.utcOffsetMinutes;
  return out;
}

/**
 * The interval and catch-up `o` asks for, checked (RangeError). The catch-up defaults to the longer of
 * SYNC_DEFAULTS.catchUpMinutes and the interval: a follower replays from a snapshot up to an interval
 * old, so a shorter one would skip every snapshot of a long interval (serve's --state-sync-interval
 * goes to 60 minutes).
 */
export function syncMinutes(o: Pick<SyncOptions, 'intervalMinutes' | 'catchUpMinutes'>): { interval: number; catchUp: number } {
  const interval = o.intervalMinutes ?? SYNC_DEFAULTS.intervalMinutes;
  const catchUp = o.catchUpMinutes ?? Math.max(SYNC_DEFAULTS.catchUpMinutes, interval);
  if (!Number.isInteger(interval) || interval < 1) throw new RangeError(`the state sync interval must be a whole number of minutes >= 1, got ${interval}`);
  if (!Number.isInteger(catchUp) || catchUp < interval) throw new RangeError(`catch-up must be a whole number of minutes >= the interval (${interval}), got ${catchUp}`);
  return { interval, catchUp };
}

/**
 * The minute of each interval (0 … interval − 1) at which `key`'s state is published: from a hash of
 * the key, so every replica agrees, and the workloads' publishes (each a few fsyncs and a prune on
 * the shared volume) spread over the interval instead of all coming at its first minute, where the
 * volume's two slots and 5 s deadlines dropped many.
 */
export function publishPhase(key: string, intervalMinutes: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % intervalMinutes;
}

export function createSyncedForecaster(inner: Forecaster & StatefulForecaster, o: SyncOptions): SyncedForecaster {
  const { interval, catchUp } = syncMinutes(o);
  const phase = publishPhase(o.key, interval);
  const publishingMinute = (origin: number) => (((origin / MINUTE_MS) % interval) + interval) % interval === phase;
  let lastOrigin: number | null = null;
  /** The first origin of a state stepped from nothing (no snapshot taken); null once one is taken. */
  let bornAt: number | null = null;
  /** A seed was taken (importSeed) and no call has stepped since: the owner publishes that call's step. */
  let seeded = false;
  /**
   * Whether this replica has read the published state once (whatever it found: a snapshot, nothing,
   * nothing usable). Until then an owner follows too and publishes nothing: one that started while
   * its first read failed (a volume busy with every workload's start-up loads, or failing) would
   * otherwise publish its state from nothing, which every follower then adopts.
   */
  let looked = false;
  /** The last snapshot looked at (matched, adopted or skipped as not fitting), or published: what to read next (version-cursor.ts). */
  const cursor = new VersionCursor();
  /** This replica's own state digests at the publishing minutes (the last few). */
  const digests = new Map<number, string>();
  /** Settles once the latest publish has answered or passed its deadline (what settled() waits for). */
  let publishing: Promise<void> = Promise.resolve();
  /** A publish the store has not answered yet, past its deadline or not: none other starts until it ends. */
  let writing: Promise<void> | null = null;
  /**
   * The newest snapshot waiting for that publish to end; a newer one replaces it. A hung volume so
   * holds two snapshots at most (this one and the one being written), not one per publishing minute.
   */
  let queued: StateSnapshot | null = null;
  const readTimeoutMs = o.readTimeoutMs ?? SYNC_DEFAULTS.readTimeoutMs;
  /** A read of the store still running past its deadline: none other starts until it ends. */
  let reading: Promise<void> | null = null;

  const volume = o.volume ?? sharedVolume;
  /** `read`, within the deadline; it is remembered until it ends, however long that takes. */
  const bounded = <T>(read: () => Promise<T>, what: string): Promise<T> => {
    const { result, ended } = volume.run(what, read, readTimeoutMs);
    reading = ended;
    void ended.then(() => {
      if (reading === ended) reading = null;
    });
    return result;
  };

  const step = async (history: History, origin: number, minutes: number, horizon: number, requested: number | undefined, publish = false): Promise<Forecast> => {
    // An owner with nothing published or adopted yet (a new object) publishes its first step too,
    // so replicas that saw the object a minute later follow it within a minute, not an interval.
    // So does one just seeded (`publish`): a replica that could not seed (its sibling busy, or gone)
    // started from nothing and follows the owner's state from the next minute.
    const first = lastOrigin === null;
    if (first) bornAt = origin;
    try {
      return await inner.forecast({ history: windowEndingAt(history, origin, minutes), horizon, ...(requested === undefined ? {} : { requested }) });
    } finally {
      lastOrigin = origin;
      if (publishingMinute(origin) || first || publish) afterStep(origin, publishingMinute(origin));
    }
  };

  /** Keeps this replica's digest at a publishing minute; the owner publishes. */
  const afterStep = (origin: number, publishingMinute: boolean) => {
    const owner = !!o.store && o.owns() && looked;
    if (!publishingMinute && !owner) return;
    const state = inner.exportState();
    const digest = digestOf(state);
    digests.set(origin, digest);
    for (const k of digests.keys()) if (k < origin - (catchUp + interval) * MINUTE_MS) digests.delete(k);
    if (!owner || !o.store) return;
    const snapshot = { origin, digest, state };
    if (writing) {
      o.log.debug?.('the shared volume has not answered the last publish yet; the newest state waits for it', { workload: o.key });
      queued = snapshot;
      return;
    }
    startPublish(o.store, snapshot);
  };

  const startPublish = (store: StateStore, snapshot: StateSnapshot) => {
    // Refused or never started (the volume looks hung), it fails like a write that failed: the owner
    // publishes its newer state at the next publishing minute.
    const { result: write, ended } = volume.run('publishing the forecasting state', () => store.publish(o.key, snapshot), readTimeoutMs);
    writing = ended;
    // Once the store has answered (in time or long after), the snapshot that waited goes next.
    const next = () => {
      if (writing !== ended) return;
      writing = null;
      const waiting = queued;
      queued = null;
      // No longer the owner meanwhile: the new owner publishes; a stale snapshot would only compete.
      if (waiting && o.owns()) startPublish(store, waiting);
    };
    void ended.then(next);
    publishing = write.then(
      (written) => {
        // Its own, whatever the number (after a reset, v1 of a new lineage): followed from there if it stops owning.
        cursor.take(written);
        o.onSnapshot?.('published');
        next();
      },
      (err: unknown) => {
        o.log.warn('could not publish the forecasting state', { workload: o.key, error: messageOf(err) });
        // Past the deadline the write goes on: `ended` starts the next one when it does end.
        if (!(err instanceof DeadlineError)) next();
      },
    );
  };

  /** Looks at the newest snapshot; loads it when this replica's state differs. Returns the origin to replay from. */
  const follow = async (origin: number): Promise<void> => {
    const store = o.store;
    // The owner follows nobody, once it has looked at what was published (it just started or took over).
    if (!store || (looked && o.owns())) return;
    // A read that outlived its deadline is still holding a thread of the file system: not another one.
    if (reading) {
      o.log.debug?.('the shared volume has not answered an earlier read yet; keeping this replica\'s state', { workload: o.key });
      return;
    }
    try {
      const version = await bounded(() => store.latestVersion(o.key), 'reading the latest state version');
      const lineage = store.lineage?.bind(store);
      const got = await cursor.next(version, origin, {
        ...(lineage ? { lineage: (v: number) => bounded(() => lineage(o.key, v), 'reading the lineage of the latest state version') } : {}),
        read: () => bounded(() => store.read(o.key), 'reading the published state'),
      });
      // The volume answered (a read that failed throws, publish.ts): whatever it holds — nothing, nothing
      // newer, nothing usable (every version corrupt), a snapshot ahead — this replica has looked, and
      // an owner may publish over it. Only a failed or refused read leaves an owner silent.
      looked = true;
      if (!got) return;
      const s = got.snapshot;
      // A snapshot of this very minute or later: the owner is ahead; look again next minute.
      if (s.origin >= origin) return;
      cursor.take(got);
      if (digests.get(s.origin) === s.digest) return o.onSnapshot?.('matched');
      // Too old to replay up to now: a replica with a state of its own keeps it (a new snapshot
      // comes within an interval). One with none, or one stepped from nothing within the catch-up
      // (its first look failed), takes it all the same and replays the catch-up's minutes: the state
      // skips the minutes between, as a running replica's that missed them did. An owner would
      // otherwise publish a state from nothing, which every follower adopts over its own.
      const fresh = lastOrigin === null || (bornAt !== null && origin - bornAt <= catchUp * MINUTE_MS);
      if (origin - s.origin > catchUp * MINUTE_MS && !fresh) return;
      inner.importState(s.state);
      lastOrigin = s.origin;
      bornAt = null;
      digests.set(s.origin, s.digest);
      o.onSnapshot?.('adopted');
    } catch (err) {
      // Refused (the volume looks hung, every follower's read each minute): its reads that did time out said so already.
      const fields = { workload: o.key, error: messageOf(err) };
      if (err instanceof VolumeBusyError) o.log.debug?.('could not read the published forecasting state; keeping this replica\'s', fields);
      else o.log.warn('could not read or load the published forecasting state; keeping this replica\'s', fields);
    }
  };

  return {
    name: inner.name,
    get lastOrigin() {
      return lastOrigin;
    },
    historyMinutes: (requested) => Math.max(requested, inner.historyMinutes(requested)) + catchUp,

    exportSeed(): ForecasterSeed | null {
      return lastOrigin === null ? null : { origin: lastOrigin, state: inner.exportState() };
    },

    importSeed(seed: ForecasterSeed): void {
      if (lastOrigin !== null) throw new Error(`the forecasting state of ${o.key} has been stepped already: a seed would replace it`);
      if (!Number.isFinite(seed.origin) || seed.origin % MINUTE_MS !== 0) throw new Error(`a seed's origin must be a whole minute, got ${seed.origin}`);
      inner.importState(seed.state);
      // As a state adopted from a snapshot: stepped to its origin, the minutes since replayed (up to
      // the catch-up), so every replica that seeds from its own copy of the sibling arrives alike.
      lastOrigin = seed.origin;
      bornAt = null;
      seeded = true;
      digests.set(seed.origin, digestOf(seed.state));
    },

    async forecast(request: ForecastRequest): Promise<Forecast> {
      const h = request.history;
      const origin = forecastOrigin(h);
      // Each step's window: what the registry would hand the model without catching up.
      const minutes = h.requests.length - catchUp;
      if (minutes < 1) return inner.forecast(request);
      await follow(origin);
      if (lastOrigin !== null && lastOrigin < origin - MINUTE_MS) {
        for (let t = Math.max(lastOrigin + MINUTE_MS, origin - catchUp * MINUTE_MS); t < origin; t += MINUTE_MS) {
          // A failed step is a minute the state saw fail, as it would live.
          await step(h, t, minutes, request.horizon, request.requested).catch(() => undefined);
        }
      }
      const afterSeed = seeded;
      seeded = false;
      return step(h, origin, minutes, request.horizon, request.requested, afterSeed);
    },

    async settled(): Promise<void> {
      await inner.settled?.();
      // Until no publish waits on the store, or the one writing is past its deadline.
      for (let p = publishing; ; p = publishing) {
        await p;
        if (p === publishing) return;
      }
    },

    close(): void {
      inner.close?.();
    },
  };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
