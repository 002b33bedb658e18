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
    const name = lockName(key);
    if (this.held.has(name) || this.taking.has(name)) return false;
    this.taking.add(name);
    try {
      return await this.take(name);
    } finally {
      this.taking.delete(name);
    }
  }

  private async take(name: string): Promise<boolean> {
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
        return true;
      }
      const holder = lease.spec?.holderIdentity;
      if (holder && holder !== this.o.identity && !this.expired(name, lease, now, wall)) return false;
      // The resourceVersion read stays in metadata: whoever wrote in between makes this a 409.
      await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body: { ...lease, spec: { ...lease.spec, ...spec } } }), this.ms, 'take the fine-tuning lock');
      this.seen.delete(name);
      this.hold(name, now);
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false; // another replica took it first
      throw err;
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

  /** Clears the holder (only if still this replica), so the next round anywhere may take it at once. */
  async release(key: string): Promise<void> {
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
      await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined } } }), this.ms, 'release the fine-tuning lock');
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
