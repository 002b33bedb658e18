/**
 * Replica discovery with Kubernetes Leases: each replica holds its own `coordination.k8s.io/v1`
 * Lease (`<prefix>-<identity>`, labelled `amadeus.io/replica-set=<set>`), renews it every
 * `renewMs`, and lists the Leases with that label to compute the live set.
 *
 * Liveness follows client-go's leader election: a Lease is live while its record was seen to
 * change within its `leaseDurationSeconds`, measured on **this replica's own monotonic clock** from when this
 * replica last observed the record change (resourceVersion). The holder's `renewTime` is never
 * compared with the local clock, so clock skew between nodes does not matter. A Lease seen for
 * the first time therefore counts as live for one full duration, exactly as a leader-election
 * candidate waits a full duration before taking over. A Lease released on stop (holder cleared,
 * or deleted) drops out at once.
 *
 * Renewals carry the resourceVersion read: a 409 Conflict (someone else wrote the record in
 * between) re-reads and retries. This replica counts itself live only while its own last
 * successful renewal is younger than the duration, so a replica cut off from the API server stops
 * claiming work at about the time the others stop counting it.
 *
 * Without a Kubernetes client the set is always just this replica.
 */
import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { monotonicMs, within } from '../deadline/deadline.js';
import { readAllPages } from '../paging/pages.js';

export const REPLICA_SET_LABEL = 'amadeus.io/replica-set';

export const MEMBERSHIP_DEFAULTS = { leaseDurationSeconds: 15, renewMs: 5_000, prefix: 'amadeus-replica', conflictRetries: 3 } as const;
/** Leases per page of the set's list, and most pages read (so at most 1,000 members). */
export const LEASE_PAGE = 100;
export const LEASE_MAX_PAGES = 10;
/**
 * A Lease this replica has seen unchanged for this many of its durations (and at least
 * LEASE_GC_MIN_MS) is a dead replica's — killed without releasing it (SIGKILL, node lost, spot
 * reclaimed) — and is deleted, at most LEASE_GC_PER_ROUND a round. Left alone they piled up until
 * the list passed its page limit, every round failed, and every replica's set froze.
 */
export const LEASE_GC_DURATIONS = 40;
export const LEASE_GC_MIN_MS = 10 * 60_000;
export const LEASE_GC_PER_ROUND = 5;

export interface MembershipLog {
  warn(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
}

export interface MembershipOptions {
  /** Null or absent: no Kubernetes credentials, a single replica owns everything. */
  api?: CoordinationV1Api | null;
  namespace?: string;
  /** The replica set's name (the label value): replicas of different sets ignore each other. */
  set?: string;
  /** This replica (the pod name in a cluster). */
  identity: string;
  prefix?: string;
  leaseDurationSeconds?: number;
  renewMs?: number;
  /** Re-reads after a 409 before giving up on this round. */
  conflictRetries?: number;
  /** Deadline of each request to the API server (default: the renew period, at most 10 s). */
  requestTimeoutMs?: number;
  /** The wall clock: the renewTime written in this replica's Lease. */
  clock?: () => number;
  /** What durations are measured on (a Lease's age as seen, this replica's own renewal's): default `clock` when one is given (a test's), else monotonicMs. */
  elapsed?: () => number;
  log?: MembershipLog;
  /** Called with the sorted live set whenever it changes. */
  onChange?: (members: string[]) => void;
}

const statusOf = (err: unknown): number | null => (err instanceof ApiException ? err.code : null);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const silent: MembershipLog = { warn: () => {} };

export class Membership {
  private readonly api: CoordinationV1Api | null;
  private readonly clock: () => number;
  private readonly elapsed: () => number;
  private readonly duration: number;
  private readonly renewMs: number;
  private readonly timeoutMs: number;
  private readonly leaseName: string;
  private readonly log: MembershipLog;
  /** Per Lease name: the last resourceVersion seen and when, on this replica's clock. */
  private readonly observed = new Map<string, { version: string; at: number; holder: string | null; duration: number }>();
  private renewedAt = -Infinity;
  private current: string[];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** The deletion of dead replicas' Leases in flight, if any (one at a time). */
  private collecting: Promise<void> | null = null;
  private stopped = true;
  /** stop() was called: late ticks neither log nor change the set. */
  private ended = false;

  constructor(private readonly o: MembershipOptions) {
    this.api = o.api ?? null;
    this.clock = o.clock ?? Date.now;
    this.elapsed = o.elapsed ?? o.clock ?? monotonicMs;
    this.duration = o.leaseDurationSeconds ?? MEMBERSHIP_DEFAULTS.leaseDurationSeconds;
    this.renewMs = o.renewMs ?? MEMBERSHIP_DEFAULTS.renewMs;
    this.timeoutMs = o.requestTimeoutMs ?? Math.min(this.renewMs, 10_000);
    this.leaseName = leaseNameFor(o.prefix ?? MEMBERSHIP_DEFAULTS.prefix, o.identity);
    this.log = o.log ?? silent;
    if (this.api && !(this.renewMs > 0 && this.renewMs < this.duration * 1000)) {
      throw new RangeError(`the renew period must be shorter than the lease duration (${this.duration} s)`);
    }
    this.current = this.api ? [] : [o.identity];
  }

  get identity(): string {
    return this.o.identity;
  }

  /** The live set, sorted; always `[identity]` without Kubernetes. */
  get members(): string[] {
    return [...this.current];
  }

  /**
   * Renews at once, then every renew period — counted from each round's start, not its end, so a
   * slow API server does not stretch the time between renewals toward the Lease's duration (the
   * others would drop a replica that still counts itself live).
   */
  start(): void {
    if (!this.api || !this.stopped) return;
    this.stopped = false;
    this.ended = false;
    const loop = () => {
      const started = this.elapsed();
      this.running = this.tick().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(loop, Math.max(0, this.renewMs - (this.elapsed() - started)));
      });
    };
    loop();
  }

  /**
   * Stops renewing. With `release` (the default) deletes this replica's Lease so the others drop
   * it at once; without, it simply stops (as a SIGKILL would) and expires after the duration.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.collecting;
    if (!this.api || opts.release === false) return;
    try {
      await within(this.api.deleteNamespacedLease({ name: this.leaseName, namespace: this.namespace }), this.timeoutMs, 'delete the replica lease');
    } catch (err) {
      if (statusOf(err) !== 404) this.log.warn('could not delete the replica lease; it expires on its own', { lease: this.leaseName, error: messageOf(err) });
    }
    this.renewedAt = -Infinity;
    this.setMembers([]);
  }

  /** One round: renew this replica's Lease, then list the set's Leases. Returns the live set. */
  async tick(): Promise<string[]> {
    if (!this.api) return this.members;
    try {
      await this.renew();
    } catch (err) {
      // After stop() a tick still in flight ends quietly: the process is past its last line.
      if (!this.ended) this.log.warn('replica lease renewal failed', { lease: this.leaseName, error: messageOf(err) });
    }
    try {
      await this.refresh();
    } catch (err) {
      if (!this.ended) this.log.warn('listing replica leases failed; keeping the last live set', { error: messageOf(err) });
      // Still drop ourselves once our own renewal is too old to be trusted by the others.
      if (!this.selfLive(this.elapsed())) this.setMembers(this.current.filter((m) => m !== this.o.identity));
    }
    return this.members;
  }

  private get namespace(): string {
    return this.o.namespace ?? 'default';
  }

  private selfLive(now: number): boolean {
    return now - this.renewedAt < this.duration * 1000;
  }

  private async renew(): Promise<void> {
    const api = this.api!;
    const retries = this.o.conflictRetries ?? MEMBERSHIP_DEFAULTS.conflictRetries;
    for (let attempt = 0; ; attempt++) {
      const now = this.elapsed();
      const wall = this.clock();
      try {
        const lease = await this.read();
        if (!lease) {
          await within(api.createNamespacedLease({ namespace: this.namespace, body: this.fresh(wall) }), this.timeoutMs, 'create the replica lease');
        } else {
          const body: V1Lease = {
            ...lease,
            metadata: { ...lease.metadata, labels: { ...(lease.metadata?.labels ?? {}), [REPLICA_SET_LABEL]: this.setName } },
            spec: {
              ...lease.spec,
              holderIdentity: this.o.identity,
              leaseDurationSeconds: this.duration,
              renewTime: new V1MicroTime(wall),
            },
          };
          // The read resourceVersion stays in metadata: a concurrent writer makes this a 409.
          await within(api.replaceNamespacedLease({ name: this.leaseName, namespace: this.namespace, body }), this.timeoutMs, 'renew the replica lease');
        }
        this.renewedAt = now;
        return;
      } catch (err) {
        // 409: written (or created) in between; read the new record and try again.
        if (statusOf(err) !== 409 || attempt >= retries) throw err;
      }
    }
  }

  /**
   * The set's Leases, read in pages of LEASE_PAGE (each call with its own deadline): a set has a
   * handful, and a list past LEASE_MAX_PAGES pages — a label gone wrong, or a server handing out
   * continue tokens forever — fails the round rather than holding it.
   */
  private async listLeases(): Promise<V1Lease[]> {
    const list = (cont: string | undefined) =>
      within(
        this.api!.listNamespacedLease({ namespace: this.namespace, labelSelector: `${REPLICA_SET_LABEL}=${this.setName}`, limit: LEASE_PAGE, _continue: cont }),
        this.timeoutMs,
        'list the replica leases',
      );
    const tooMany = () => new Error(`replica leases: more than ${LEASE_PAGE * LEASE_MAX_PAGES} in set ${this.setName}, refused`);
    return (await readAllPages(list, LEASE_MAX_PAGES, tooMany)).items;
  }

  private async refresh(): Promise<void> {
    const now = this.elapsed();
    const leases = await this.listLeases();
    const seen = new Set<string>();
    const live = new Set<string>();
    for (const lease of leases) {
      const name = lease.metadata?.name;
      if (!name) continue;
      seen.add(name);
      const version = lease.metadata?.resourceVersion ?? JSON.stringify(lease.spec ?? {});
      const holder = lease.spec?.holderIdentity || null;
      const duration = lease.spec?.leaseDurationSeconds ?? this.duration;
      const prev = this.observed.get(name);
      const entry = prev?.version === version ? prev : { version, at: now, holder, duration };
      this.observed.set(name, entry);
      if (entry.holder && now - entry.at < entry.duration * 1000) live.add(entry.holder);
    }
    for (const name of this.observed.keys()) if (!seen.has(name)) this.observed.delete(name);
    // Ourselves: by our own last successful renewal, not by what the list says.
    if (this.selfLive(now)) live.add(this.o.identity);
    else live.delete(this.o.identity);
    this.setMembers([...live]);
    // Off the round: a slow delete must not push the next renewal toward the Lease's expiry.
    if (this.selfLive(now) && !this.collecting) this.collecting = this.collectDead(now).finally(() => (this.collecting = null));
  }

  /**
   * Deletes Leases long dead as this replica has watched them (see LEASE_GC_DURATIONS), each with
   * its resourceVersion as a precondition: one renewed meanwhile (a replica back from a long pause)
   * is a 409 and stays. A replica that just started has watched nothing for long, so deletes nothing.
   */
  private async collectDead(now: number): Promise<void> {
    let deleted = 0;
    for (const [name, seen] of this.observed) {
      if (deleted >= LEASE_GC_PER_ROUND || this.ended) return;
      if (name === this.leaseName || now - seen.at < Math.max(LEASE_GC_MIN_MS, LEASE_GC_DURATIONS * seen.duration * 1000)) continue;
      deleted++;
      try {
        await within(
          this.api!.deleteNamespacedLease({ name, namespace: this.namespace, body: { preconditions: { resourceVersion: seen.version } } }),
          this.timeoutMs,
          'delete a dead replica\'s lease',
        );
        this.observed.delete(name);
        this.log.info?.('deleted a dead replica\'s lease', { lease: name, holder: seen.holder, unchangedFor: `${Math.round((now - seen.at) / 1000)}s` });
      } catch (err) {
        // 404: another replica deleted it; 409: renewed since. Anything else: tried again next round.
        if (statusOf(err) !== 404 && statusOf(err) !== 409) this.log.warn('could not delete a dead replica\'s lease', { lease: name, error: messageOf(err) });
      }
    }
  }

  private get setName(): string {
    return this.o.set ?? 'amadeus';
  }

  private async read(): Promise<V1Lease | null> {
    try {
      return await within(this.api!.readNamespacedLease({ name: this.leaseName, namespace: this.namespace }), this.timeoutMs, 'read the replica lease');
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  private fresh(now: number): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.leaseName, namespace: this.namespace, labels: { [REPLICA_SET_LABEL]: this.setName } },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.duration,
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
      },
    };
  }

  private setMembers(members: string[]): void {
    if (this.ended && members.length > 0) return; // a tick that outlived stop()
    const sorted = [...new Set(members)].sort();
    if (sorted.length === this.current.length && sorted.every((m, i) => m === this.current[i])) return;
    this.current = sorted;
    this.log.info?.('replica set changed', { identity: this.o.identity, members: sorted });
    this.o.onChange?.(sorted);
  }
}

/** The Lease name for a replica: a lower-case DNS-1123 subdomain (at most 253 characters). */
export function leaseNameFor(prefix: string, identity: string): string {
  const clean = `${prefix}-${identity}`.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return clean.slice(0, 253);
}
