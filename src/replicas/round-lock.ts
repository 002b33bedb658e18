/**
 * The exclusive right to run a fine-tuning round of one workload, across replicas: a Lease per
 * workload (`amadeus-finetune-<hash>`), taken by create or by an update carrying the
 * resourceVersion read, so two replicas racing for it get one success and one 409 Conflict, which
 * loses. Ownership by rendezvous hashing already gives each workload one replica; this lock is the
 * guard for the moments when two replicas' views of the live set differ (a replica joining or
 * leaving), so no workload is ever trained by two replicas at once.
 *
 * A held lock is released (holder cleared) when the round ends; one whose holder died expires after
 * `durationSeconds` (judged by its renewTime against this replica's clock: minutes, not seconds, so
 * clock skew between nodes does not matter).
 */
import { createHash } from 'node:crypto';
import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { within } from '../deadline/deadline.js';

export const ROUND_LOCK_LABEL = 'amadeus.io/finetune-lock';

export interface RoundLockOptions {
  api: CoordinationV1Api;
  namespace: string;
  identity: string;
  /** How long a lock outlives a holder that never released it. Default 300 s (a round takes seconds). */
  durationSeconds?: number;
  clock?: () => number;
  /** Deadline of each request (default 10 s): a silent API server loses the lock, it does not hold the round. */
  requestTimeoutMs?: number;
}

const statusOf = (err: unknown): number | null => (err instanceof ApiException ? err.code : null);

export function lockName(key: string): string {
  return `amadeus-finetune-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}

export class RoundLock {
  private readonly duration: number;
  private readonly clock: () => number;
  private readonly ms: number;

  constructor(private readonly o: RoundLockOptions) {
    this.duration = o.durationSeconds ?? 300;
    this.ms = o.requestTimeoutMs ?? 10_000;
    this.clock = o.clock ?? Date.now;
  }

  /** True when this replica now holds the lock of `key`; false when another live holder has it. */
  async acquire(key: string): Promise<boolean> {
    const name = lockName(key);
    const now = this.clock();
    let lease: V1Lease | null = null;
    try {
      lease = await within(this.o.api.readNamespacedLease({ name, namespace: this.o.namespace }), this.ms, 'read the fine-tuning lock');
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const spec = { holderIdentity: this.o.identity, leaseDurationSeconds: this.duration, acquireTime: new V1MicroTime(now), renewTime: new V1MicroTime(now) };
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
        return true;
      }
      const holder = lease.spec?.holderIdentity;
      const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string | Date).getTime() : 0;
      const expired = now - renewed > (lease.spec?.leaseDurationSeconds ?? this.duration) * 1000;
      if (holder && holder !== this.o.identity && !expired) return false;
      // The resourceVersion read stays in metadata: whoever wrote in between makes this a 409.
      await within(this.o.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body: { ...lease, spec: { ...lease.spec, ...spec } } }), this.ms, 'take the fine-tuning lock');
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false; // another replica took it first
      throw err;
    }
  }

  /** Clears the holder (only if still this replica), so the next round anywhere may take it at once. */
  async release(key: string): Promise<void> {
    const name = lockName(key);
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
