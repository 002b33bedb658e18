/**
 * What the workloads fine-tuned through one pool share about their rounds (workload.ts): the rounds
 * between the backlog check and the pool's queue (taking the round lock, a look at the volume),
 * counted beside the pool's own pending. Otherwise, with a round lock (any set of replicas), every
 * due workload passed the backlog bound before its acquire, and all of them queued.
 */
export interface Reservation {
  /** The round is in the pool's queue (the pool counts it from now). */
  queued(): void;
  /** The attempt is over, queued or not. */
  end(): void;
}

export class RoundSlots {
  private reserved = 0;

  /** Rounds reserved and not yet in the pool's queue. */
  get reserving(): number {
    return this.reserved;
  }

  /** A slot for a round, or null when `pending` (the pool's) and the rounds reserved reach `max`. */
  reserve(pending: number, max: number): Reservation | null {
    if (pending + this.reserved >= max) return null;
    this.reserved++;
    let counted = true;
    const uncount = () => {
      if (counted) this.reserved--;
      counted = false;
    };
    return { queued: uncount, end: uncount };
  }
}

const byPool = new WeakMap<object, RoundSlots>();

/** The slots of the workloads fine-tuned through `pool`. */
export function roundSlots(pool: object): RoundSlots {
  let s = byPool.get(pool);
  if (!s) byPool.set(pool, (s = new RoundSlots()));
  return s;
}
