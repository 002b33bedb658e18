/**
 * The exclusive right to run a fine-tuning round of one workload, across replicas: a Lease per
 * workload (`amadeus-finetune-<hash>`), taken by create or by an update carrying the
 * resourceVersion read, so two replicas racing for it get one success and one 409 Conflict, which
 * loses. Ownership by rendezvous hashing already gives each workload one replica; this lock is the
 * guard for the moments when two replicas' views of the live set differ (a replica joining or
 * leaving), so no workload is ever trained by two replicas at once.
 *
 * A held lock is renewed every third of `durationSeconds` while its round runs (waiting in the
 * fine-tuning queue included) and released (holder cleared) when the round ends. Whether another
 * replica's lock has expired follows client-go's leader election, as the replicas' own Leases do
 * (membership.ts): it expires once its record has not changed for `durationSeconds` on **this
 * replica's monotonic clock**, from when this replica first saw that version — the holder's clock
 * is never trusted to the second, and a step of this replica's wall clock (NTP) neither ends a live
 * holder's lock early nor keeps a dead one. A lock whose renewTime is older than the duration plus
 * SKEW_ALLOWANCE_MS on this replica's wall clock expires at once, but only when this replica has not
 * looked at it within a duration (a holder long dead, seen for the first time in a while): a record
 * seen to change since a recent look is a live holder's, however far behind its clock runs. A holder whose renewals stop
 * succeeding (taken over after a 409, or no renewal for a duration) has lost the lock: `holds` says
 * so, and the round must not publish what it trained.
 *
 * The Lease also keeps the workload's fine-tuning schedule across restarts and takeovers, in two
 * annotations (times of the history, as the rounds' origins are): when a replica first forecast the
 * workload (`amadeus.io/first-seen`, written once by its owner) and the origin of the last round
 * that ran to its end, accepted or not (`amadeus.io/last-round`, written with the release, so a
 * holder that dies mid-round leaves it unchanged and the round is run again). Without them a
 * process learned of past rounds only from the weights published by accepted ones: an owner
 * restarted more often than the interval, before any round was accepted, never fine-tuned, and a
 * takeover just after a rejected round ran it again.
 */
import { createHash } from 'node:crypto';
import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { monotonicMs, within } from '../deadline/deadline.js';
import { readAllPages } from '../paging/pages.js';

export const ROUND_LOCK_LABEL = 'amadeus.io/finetune-lock';

export interface RoundLockOptions {
  api: CoordinationV1Api;
  namespace: string;
  identity: string;
  /** How long a lock outlives a holder that never released it. Default 300 s (a round takes seconds). */
  durationSeconds?: number;
  /** The wall clock: the times written in the Lease, and the renewTime read from it, are on it. */
  clock?: () => number;
  /** What durations are measured on (a lock's age as seen, this replica's own renewal's): default `clock` when one is given (a test's), else monotonicMs. */
  elapsed?: () => number;
  /** Deadline of each request (default 10 s): a silent API server loses the lock, it does not hold the round. */
  requestTimeoutMs?: number;
}

const statusOf = (err: unknown): number | null => (err instanceof ApiException ? err.code : null);

/** A released lock of a workload no longer served is deleted once it has not been written for this long (wall clock: days, so skew does not matter). */
export const LOCK_GC_AFTER_MS = 7 * 86_400_000;
/** Locks listed per page, pages read at most, and locks deleted at most, by one clean-up. */
export const LOCK_GC_PAGE = 500;
export const LOCK_GC_MAX_PAGES = 20;
export const LOCK_GC_MAX_DELETES = 50;

/** How far the holders' clocks may run behind this one before a stale-looking renewTime is believed. */
export const SKEW_ALLOWANCE_MS = 10 * 60_000;

/** The schedule's annotations on a workload's lock (see the header). */
export const FIRST_SEEN_ANNOTATION = 'amadeus.io/first-seen';
export const LAST_ROUND_ANNOTATION = 'amadeus.io/last-round';
/** How long one listing of the locks answers `recall` (ms): a restart's workloads share one LIST, not a GET each. */
export const RECALL_LIST_MS = 5 * 60_000;

/** What a workload's lock recalls of its schedule (epoch ms of the history; null: not recorded, or unreadable). */
export interface RoundRecord {
  firstSeen: number | null;
  lastRound: number | null;
}

/** An annotation's time: an ISO time within the years a history can hold, else null (a damaged or hand-made value is not believed). */
function annotationTime(lease: V1Lease | null | undefined, annotation: string): number | null {
  const v = lease?.metadata?.annotations?.[annotation];
  if (typeof v !== 'string' || v.length > 64) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms > 0 && ms < 8.64e15 ? ms : null;
}

function recordOf(lease: V1Lease | null | undefined): RoundRecord {
  return { firstSeen: annotationTime(lease, FIRST_SEEN_ANNOTATION), lastRound: annotationTime(lease, LAST_ROUND_ANNOTATION) };
}

export function lockName(key: string): string {
  return `amadeus-finetune-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}

interface Held {
  timer: NodeJS.Timeout;
  /** When this replica last wrote the lock (`elapsed`: taken before the write was sent). */
  renewedAt: number;
  lost: boolean;
}

export class RoundLock {
  private readonly duration: number;
  private readonly clock: () => number;
  private readonly elapsed: () => number;
  private readonly ms: number;
  /** Locks this replica holds, by Lease name. */
  private readonly held = new Map<string, Held>();
  /** Locks an acquire of this process is taking (from its read to its write). */
  private readonly taking = new Set<string>();
  /** Other holders' locks: the version last seen and when it was first seen (`elapsed`). */
  private readonly seen = new Map<string, { version: string; at: number }>();
  /** The last listing of the locks for `recall`, and when it was asked (`elapsed`). */
  private listing: { at: number; records: Promise<Map<string, RoundRecord>> } | null = null;

  constructor(private readonly o: RoundLockOptions) {
    this.duration = o.durationSeconds ?? 300;
    this.ms = o.requestTimeoutMs ?? 10_000;
    this.clock = o.clock ?? Date.now;
    this.elapsed = o.elapsed ?? o.clock ?? monotonicMs;
  }

  /**
   * Whether this replica still holds `key`'s lock: taken and neither released nor lost since, and
   * written within the duration. A holder stalled past it (a long GC pause, a frozen cgroup) may have
   * been taken over before its renew timer runs again to find out: it must not count on the lock.
   */
  holds(key: string): boolean {
    const h = this.held.get(lockName(key));
    return h !== undefined && !h.lost && this.elapsed() - h.renewedAt < this.duration * 1000;
  }

  /** Renews every lock held (the timer does this every third of the duration). */
  async renewHeld(): Promise<void> {
    await Promise.all([...this.held.keys()].map((name) => this.renew(name)));
  }

  private async renew(name: string): Promise<void> {
    const h = this.held.get(name);
    if (!h || h.lost) return;
    try {
      const lease = await within(this.o.api.readNamespacedLease({ name, namespace: this.o.namespace }), this.ms, 'read the fine-tuning lock');
      if (lease.spec?.holderIdentity !== this.o.identity) {
        h.lost = true;
        return;
      }
      const now = this.elapsed();
      await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime(this.clock()) } } }), this.ms, 'renew the fine-tuning lock');
      h.renewedAt = now;
    } catch (err) {
      // 409: another replica wrote it, so it took it. Anything else: tried again at the next tick,
      // and lost once the others may have seen it unchanged for a duration.
      if (statusOf(err) === 409 || statusOf(err) === 404 || this.elapsed() - h.renewedAt >= this.duration * 1000) h.lost = true;
    }
  }

  private hold(name: string, now: number): void {
    this.drop(name);
    const every = Math.max(1000, (this.duration * 1000) / 3);
    const timer = setInterval(() => void this.renew(name), every);
    timer.unref();
    this.held.set(name, { timer, renewedAt: now, lost: false });
  }

  private drop(name: string): void {
    const h = this.held.get(name);
    if (h) clearInterval(h.timer);
    this.held.delete(name);
  }

  /** Whether another holder's lock has expired, as this replica has watched it (see the header): `now` on `elapsed`, `wall` on `clock`. */
  private expired(name: string, lease: V1Lease, now: number, wall: number): boolean {
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.duration) * 1000;
    const version = lease.metadata?.resourceVersion ?? '';
    const prev = this.seen.get(name);
    if (prev?.version === version) return now - prev.at > durationMs;
    this.seen.set(name, { version, at: now });
    // Changed within a duration of this replica's last look: written by a live holder, whatever its
    // clock says. A look older than that says nothing of when: as at first sight.
    if (prev && now - prev.at <= durationMs) return false;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string | Date).getTime() : 0;
    return wall - renewed > durationMs + SKEW_ALLOWANCE_MS;
  }

  /**
   * True when this replica now holds the lock of `key`; false when another live holder has it, or this
   * process does for another round (not re-entrant: two rounds of one key in one process, e.g. two
   * triggers of one workload, would otherwise both hold it, and the first release would end both).
   */
  async acquire(key: string): Promise<boolean> {
    return (await this.acquireRound(key)).taken;
  }

  /**
   * `acquire` for a round at `round.origin`: not taken either when the lock recalls a round that ran
   * to its end less than `round.intervalMs` before it (another replica's, or this one's before a
   * restart) — `lastRound` says when, so the caller's schedule follows it.
   */
  async acquireRound(key: string, round?: { origin: number; intervalMs: number }): Promise<{ taken: boolean; lastRound: number | null }> {
    const name = lockName(key);
    if (this.held.has(name) || this.taking.has(name)) return { taken: false, lastRound: null };
    this.taking.add(name);
    try {
      return await this.take(name, round);
    } finally {
      this.taking.delete(name);
    }
  }

  private async take(name: string, round?: { origin: number; intervalMs: number }): Promise<{ taken: boolean; lastRound: number | null }> {
    const now = this.elapsed();
    const wall = this.clock();
    let lease: V1Lease | null = null;
    try {
      lease = await within(this.o.api.readNamespacedLease({ name, namespace: this.o.namespace }), this.ms, 'read the fine-tuning lock');
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const spec = { holderIdentity: this.o.identity, leaseDurationSeconds: this.duration, acquireTime: new V1MicroTime(wall), renewTime: new V1MicroTime(wall) };
    try {
      if (!lease) {
        await within(
          this.o.api.createNamespacedLease({
          namespace: this.o.namespace,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: this.o.namespace, labels: { [ROUND_LOCK_LABEL]: 'true' } }, spec },
        }),
          this.ms,
          'create the fine-tuning lock',
        );
        this.hold(name, now);
        return { taken: true, lastRound: null };
      }
      const holder = lease.spec?.holderIdentity;
      if (holder && holder !== this.o.identity && !this.expired(name, lease, now, wall)) return { taken: false, lastRound: null };
      // Ran to its end since the caller last knew (a round it could not see: rejected, or before its
      // restart): not run again. A recorded round later than the origin asked is not believed.
      const recorded = recordOf(lease).lastRound;
      const lastRound = round && recorded !== null && recorded > round.origin ? null : recorded;
      if (round && lastRound !== null && round.origin - lastRound < round.intervalMs) return { taken: false, lastRound };
      // The resourceVersion read stays in metadata: whoever wrote in between makes this a 409.
      await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body: { ...lease, spec: { ...lease.spec, ...spec } } }), this.ms, 'take the fine-tuning lock');
      this.seen.delete(name);
      this.hold(name, now);
      return { taken: true, lastRound };
    } catch (err) {
      if (statusOf(err) === 409) return { taken: false, lastRound: null }; // another replica took it first
      throw err;
    }
  }

  /**
   * What `key`'s lock recalls of its schedule. Every workload of a restarted replica asks at once:
   * they share one paged listing of the locks (RECALL_LIST_MS); a lock created since reads as not
   * recorded (a workload that new has no schedule to recall).
   */
  async recall(key: string): Promise<RoundRecord> {
    const now = this.elapsed();
    if (!this.listing || now - this.listing.at > RECALL_LIST_MS) {
      const list = (cont: string | undefined) =>
        within(this.o.api.listNamespacedLease({ namespace: this.o.namespace, labelSelector: ROUND_LOCK_LABEL, limit: LOCK_GC_PAGE, _continue: cont }), this.ms, 'list the fine-tuning locks');
      const records = readAllPages(list, LOCK_GC_MAX_PAGES, () => new Error(`fine-tuning locks: more than ${LOCK_GC_PAGE * LOCK_GC_MAX_PAGES}, listed no further`)).then(
        ({ items }) => new Map(items.flatMap((l) => (l.metadata?.name ? [[l.metadata.name, recordOf(l)] as const] : []))),
      );
      this.listing = { at: now, records };
      // A failed listing is not kept: the next workload to ask lists again.
      records.catch(() => {
        if (this.listing?.records === records) this.listing = null;
      });
    }
    return (await this.listing.records).get(lockName(key)) ?? { firstSeen: null, lastRound: null };
  }

  /**
   * Records when `key` was first seen, unless its lock already says (the first to write it wins: a
   * 409 leaves the other's). Creates the lock, released, when there is none yet.
   */
  async noteFirstSeen(key: string, at: number): Promise<void> {
    const name = lockName(key);
    let lease: V1Lease | null = null;
    try {
      lease = await within(this.o.api.readNamespacedLease({ name, namespace: this.o.namespace }), this.ms, 'read the fine-tuning lock');
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (recordOf(lease).firstSeen !== null) return;
    const annotation = { [FIRST_SEEN_ANNOTATION]: new Date(at).toISOString() };
    try {
      if (!lease) {
        // renewTime: when it was written, for the clean-up of locks no workload uses (collect).
        const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: this.o.namespace, labels: { [ROUND_LOCK_LABEL]: 'true' }, annotations: annotation }, spec: { renewTime: new V1MicroTime(this.clock()) } };
        await within(this.o.api.createNamespacedLease({ namespace: this.o.namespace, body }), this.ms, 'create the fine-tuning lock');
      } else {
        const body = { ...lease, metadata: { ...lease.metadata, annotations: { ...lease.metadata?.annotations, ...annotation } } };
        await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body }), this.ms, 'record when the workload was first seen');
      }
    } catch (err) {
      if (statusOf(err) !== 409) throw err; // written by another replica meanwhile: its record stands
    }
  }

  /**
   * Deletes the locks no round will take again: released (no holder), of no workload in `inUse`
   * (the keys this replica serves now), and not written for LOCK_GC_AFTER_MS — each with its
   * resourceVersion as a precondition, so one taken meanwhile stays. Also forgets the versions it
   * has not looked at for as long. Returns the names deleted. Without it every workload ever
   * fine-tuned (and every query change, a new key) left its Lease in etcd for good.
   */
  async collect(inUse: Iterable<string>, olderThanMs = LOCK_GC_AFTER_MS): Promise<string[]> {
    const now = this.elapsed();
    for (const [name, s] of this.seen) if (now - s.at > olderThanMs) this.seen.delete(name);
    const keep = new Set([...inUse].map(lockName));
    const list = (cont: string | undefined) =>
      within(this.o.api.listNamespacedLease({ namespace: this.o.namespace, labelSelector: ROUND_LOCK_LABEL, limit: LOCK_GC_PAGE, _continue: cont }), this.ms, 'list the fine-tuning locks');
    const { items } = await readAllPages(list, LOCK_GC_MAX_PAGES, () => new Error(`fine-tuning locks: more than ${LOCK_GC_PAGE * LOCK_GC_MAX_PAGES}, listed no further`));
    const wall = this.clock();
    const deleted: string[] = [];
    for (const lease of items) {
      if (deleted.length >= LOCK_GC_MAX_DELETES) break;
      const name = lease.metadata?.name;
      const version = lease.metadata?.resourceVersion;
      if (!name || !version || keep.has(name) || this.held.has(name) || this.taking.has(name) || lease.spec?.holderIdentity) continue;
      const written = Math.max(timeOf(lease.spec?.renewTime), timeOf(lease.spec?.acquireTime));
      if (!(wall - written > olderThanMs)) continue;
      try {
        await within(this.o.api.deleteNamespacedLease({ name, namespace: this.o.namespace, body: { preconditions: { resourceVersion: version } } }), this.ms, 'delete a fine-tuning lock');
        deleted.push(name);
      } catch (err) {
        if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err; // 404: gone already; 409: taken since
      }
    }
    return deleted;
  }

  /**
   * Clears the holder (only if still this replica), so the next round anywhere may take it at once;
   * with `ranAt`, records it as the origin of the last round run (see the header).
   */
  async release(key: string, ranAt?: number | null): Promise<void> {
    const name = lockName(key);
    this.drop(name);
    let lease: V1Lease;
    try {
      lease = await within(this.o.api.readNamespacedLease({ name, namespace: this.o.namespace }), this.ms, 'read the fine-tuning lock');
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
    if (lease.spec?.holderIdentity !== this.o.identity) return;
    try {
      const metadata = ranAt === undefined || ranAt === null ? lease.metadata : { ...lease.metadata, annotations: { ...lease.metadata?.annotations, [LAST_ROUND_ANNOTATION]: new Date(ranAt).toISOString() } };
      await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body: { ...lease, metadata, spec: { ...lease.spec, holderIdentity: undefined } } }), this.ms, 'release the fine-tuning lock');
    } catch (err) {
      if (statusOf(err) !== 409) throw err; // taken over meanwhile: not ours to clear
    }
  }
}

/** Epoch ms of a Lease's time field (a V1MicroTime, a Date or its string); -Infinity without one. */
function timeOf(t: unknown): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : -Infinity;
}
