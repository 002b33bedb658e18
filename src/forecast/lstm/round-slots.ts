/**
 * What the workloads fine-tuned through one pool share about their rounds (workload.ts):
 * - the rounds between the backlog check and the pool's queue (taking the round lock, a look at the
 *   volume), counted beside the pool's own pending. Otherwise, with a round lock (any set of
 *   replicas), every due workload passed the backlog bound before its acquire, and all of them queued;
 * - per workload key, whether a round is being tried and the origin of the last one run. Two
 *   triggers of one workload (one key: the same object, metric and series, other planner metadata)
 *   each have their own WorkloadLstm: they run one round between them, not one each.
 */
export interface Reservation {
  /** The round is in the pool's queue (the pool counts it from now). */
  queued(): void;
  /** The attempt is over; `ranAt`: the origin of the round it ran, or null (none ran, or it is to run again). */
  end(ranAt: number | null): void;
}

interface KeyRounds {
  trying: boolean;
  last: number | null;
  users: number;
}

export class RoundSlots {
  private reserved = 0;
  private readonly keys = new Map<string, KeyRounds>();

  /** Rounds reserved and not yet in the pool's queue. */
  get reserving(): number {
    return this.reserved;
  }

  /** A WorkloadLstm of `key` is made (each is let go with leave). */
  join(key: string): void {
    const k = this.keys.get(key);
    if (k) k.users++;
    else this.keys.set(key, { trying: false, last: null, users: 1 });
  }

  leave(key: string): void {
    const k = this.keys.get(key);
    if (k && --k.users <= 0) this.keys.delete(key);
  }

  /** The origin of the last round of `key` run through this pool (by any of its triggers), or null. */
  lastRound(key: string): number | null {
    return this.keys.get(key)?.last ?? null;
  }

  /** A slot for a round of `key`, or null: one of its triggers is trying already, or `pending` (the pool's) and the rounds reserved reach `max`. */
  reserve(key: string, pending: number, max: number): Reservation | null {
    const k = this.keys.get(key);
    if (!k || k.trying || pending + this.reserved >= max) return null;
    this.reserved++;
    k.trying = true;
    let counted = true;
    const uncount = () => {
      if (counted) this.reserved--;
      counted = false;
    };
    return {
      queued: uncount,
      end: (ranAt) => {
        uncount();
        k.trying = false;
        if (ranAt !== null && (k.last === null || ranAt > k.last)) k.last = ranAt;
      },
    };
  }
}

const byPool = new WeakMap<object, RoundSlots>();

/** The slots of the workloads fine-tuned through `pool`. */
export function roundSlots(pool: object): RoundSlots {
  let s = byPool.get(pool);
  if (!s) byPool.set(pool, (s = new RoundSlots()));
  return s;
}
