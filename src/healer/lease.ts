/**
 * Leader election on a `coordination.k8s.io/v1` Lease, the way client-go's leaderelection does it:
 * the holder renews `renewTime` every few seconds; a candidate takes the Lease over only once the
 * record has not changed for `leaseDurationSeconds` **as this replica observed it** — measured
 * from when it last saw the record change, on its own monotonic clock, never by comparing the holder's
 * `renewTime` with the local clock (the two clocks may disagree by minutes). A fresh candidate
 * therefore waits a full Lease duration after its first look. Every write carries the
 * resourceVersion it read, so two replicas racing for an expired Lease cannot both win: the API
 * server answers the second with 409 Conflict. Only the leader heals; the scaler serves on every
 * replica.
 */
import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { monotonicMs, within } from '../deadline/deadline.js';
import type { Logger } from '../telemetry/logger.js';

export interface LeaseOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  /** This replica (the pod name in a cluster). */
  identity: string;
  leaseDurationSeconds?: number;
  /** How often the holder renews and a candidate retries. */
  retryPeriodSeconds?: number;
  log: Logger;
  /**
   * Each Lease request (read, create, replace) settles within this, so a silent API server fails
   * the round instead of holding it and every later one: default the retry period, at most 10 s.
   */
  requestTimeoutMs?: number;
  /** The wall clock: the times written in the Lease (renewTime, acquireTime). */
  clock?: () => number;
  /**
   * What durations are measured on: the Lease's expiry as this replica watched it, and its own
   * renewal's age. Default: `clock` when one is given (a test's simulated clock), else monotonicMs.
   */
  elapsed?: () => number;
  onChange?: (leading: boolean) => void;
}

export const LEASE_DEFAULTS = { leaseDurationSeconds: 15, retryPeriodSeconds: 5 } as const;

const isStatus = (err: unknown, code: number) => err instanceof ApiException && err.code === code;

export class LeaderElector {
  private leading = false;
  /** When this replica last wrote the Lease successfully (`elapsed`: taken before the write was sent). */
  private renewedAt = -Infinity;
  /** The record as last seen (its resourceVersion: every write changes it) and when, on this replica's `elapsed` clock. */
  private observed: { version: string; at: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<unknown> | null = null;
  private readonly clock: () => number;
  private readonly elapsed: () => number;
  private readonly duration: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly o: LeaseOptions) {
    this.clock = o.clock ?? Date.now;
    this.elapsed = o.elapsed ?? o.clock ?? monotonicMs;
    this.duration = o.leaseDurationSeconds ?? LEASE_DEFAULTS.leaseDurationSeconds;
    this.retryMs = (o.retryPeriodSeconds ?? LEASE_DEFAULTS.retryPeriodSeconds) * 1000;
    if (!(this.retryMs > 0 && this.retryMs < this.duration * 1000)) {
      throw new RangeError(`the retry period must be shorter than the lease duration (${this.duration} s)`);
    }
    this.timeoutMs = o.requestTimeoutMs ?? Math.min(this.retryMs, 10_000);
  }

  /** Leading, and the last renewal is recent enough that no other replica can have taken over. */
  get isLeader(): boolean {
    return this.leading && this.elapsed() - this.renewedAt < this.duration * 1000;
  }

  /** Tries at once, then every retry period. */
  start(): void {
    this.stopped = false;
    const loop = () => {
      this.running = this.tryOnce().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(loop, this.retryMs);
      });
    };
    loop();
  }

  /** Stops trying and, when leading, releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.o.identity) return;
      // An expired renewTime hands the Lease over without waiting for the duration.
      lease.spec.renewTime = new V1MicroTime(0);
      lease.spec.holderIdentity = undefined;
      await within(this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease }), this.timeoutMs, 'release the healer lease');
    } catch (err) {
      this.o.log.warn('could not release the healer lease; it expires on its own', { lease: this.o.name, error: messageOf(err) });
    }
  }

  /** One round of the election; returns whether this replica leads afterwards. */
  async tryOnce(): Promise<boolean> {
    try {
      const lease = await this.read();
      const now = this.elapsed();
      const wall = this.clock();
      if (!lease) {
        const created = await within(this.o.api.createNamespacedLease({ namespace: this.o.namespace, body: this.fresh(wall, 0) }), this.timeoutMs, 'create the healer lease');
        this.observe(created, now);
        this.renewedAt = now;
        this.setLeading(true);
        return true;
      }
      const spec = lease.spec ?? {};
      const mine = spec.holderIdentity === this.o.identity;
      this.observe(lease, now);
      const expired = !spec.holderIdentity || this.observed!.at + (spec.leaseDurationSeconds ?? this.duration) * 1000 <= now;
      if (!mine && !expired) {
        this.setLeading(false);
        return false;
      }
      const body: V1Lease = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: this.o.identity,
          leaseDurationSeconds: this.duration,
          renewTime: new V1MicroTime(wall),
          ...(mine ? {} : { acquireTime: new V1MicroTime(wall), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
        },
      };
      // The read resourceVersion stays in metadata: a concurrent writer makes this a 409.
      const written = await within(this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body }), this.timeoutMs, mine ? 'renew the healer lease' : 'take the healer lease');
      this.observe(written, now);
      // Leading, but the last renewal had grown too old to act on (slow rounds): no change of
      // `leading`, yet the healer stood still meanwhile, and is told it leads again.
      const lapsed = this.leading && !this.isLeader;
      this.renewedAt = now;
      this.setLeading(true);
      if (lapsed) {
        this.o.log.info('healer lease renewed after a lapse: this replica heals again', { lease: this.o.name, identity: this.o.identity });
        this.o.onChange?.(true);
      }
      return true;
    } catch (err) {
      // 409: another replica wrote first (it created or took the Lease). Anything else: we cannot
      // prove we still hold it, so we stop acting until a renewal succeeds.
      // A round that ends after stop() (a shutdown gave up waiting for it) is not worth a warning.
      if (!isStatus(err, 409)) this.o.log[this.stopped ? 'debug' : 'warn']('healer lease round failed', { lease: this.o.name, error: messageOf(err) });
      this.setLeading(false);
      return false;
    }
  }

  /** Remembers when the record last changed, as this replica saw it (client-go's observedTime). */
  private observe(lease: V1Lease, now: number): void {
    const version = lease.metadata?.resourceVersion ?? JSON.stringify(lease.spec ?? {});
    if (this.observed?.version !== version) this.observed = { version, at: now };
  }

  private async read(): Promise<V1Lease | null> {
    try {
      return await within(this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace }), this.timeoutMs, 'read the healer lease');
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  private fresh(now: number, transitions: number): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.o.name, namespace: this.o.namespace },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.duration,
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: transitions,
      },
    };
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.log.info(leading ? 'healer lease acquired: this replica heals' : 'healer lease lost: another replica heals', { lease: this.o.name, identity: this.o.identity });
    this.o.onChange?.(leading);
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
