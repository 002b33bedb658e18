/**
 * How many host-name lookups may run at once across the process. Each getaddrinfo holds a libuv
 * pool thread (16 in the image) until the resolver gives up, tens of seconds for a name whose DNS
 * never answers; one lookup per name (lookup.ts) does not bound many names — ScaledObjects naming
 * 16 black-holed `serverAddress` hosts took every thread, and file reads and every other lookup
 * queued behind them. Here at most `max` run at once, half the pool, and at most `maxUnproven` of
 * them for names that have not answered lately: stuck unknown names cannot take the slots of the
 * names that work (a Prometheus, Slack, the API server). A lookup past a bound waits for a slot; its
 * askers still fail at their deadline, and one nobody waits for any more is dropped, not started.
 * Ground floor: no imports.
 */

export interface LookupSlotsOptions {
  /** Lookups running at once (default 8: half of the image's UV_THREADPOOL_SIZE, 16). */
  max?: number;
  /** Of which for names without a recent answer (default 4). */
  maxUnproven?: number;
  /** A name that answered within this is proven (default 1 hour). */
  provenMs?: number;
  now?: () => number;
}

export const SLOTS_DEFAULTS = { max: 8, maxUnproven: 4, provenMs: 3_600_000 } as const;
/** Names remembered as proven at most; the oldest answer is forgotten first. */
const MAX_PROVEN = 1024;

interface Pending {
  proven: boolean;
  /** False once every asker has given up: then it is dropped instead of started. */
  wanted(): boolean;
  start(release: () => void): void;
}

export class LookupSlots {
  private running = 0;
  private unprovenRunning = 0;
  private readonly pending: Pending[] = [];
  private readonly proven = new Map<string, number>();
  private readonly max: number;
  private readonly maxUnproven: number;
  private readonly provenMs: number;
  private readonly now: () => number;

  constructor(o: LookupSlotsOptions = {}) {
    this.max = o.max ?? SLOTS_DEFAULTS.max;
    this.maxUnproven = Math.min(this.max, o.maxUnproven ?? SLOTS_DEFAULTS.maxUnproven);
    this.provenMs = o.provenMs ?? SLOTS_DEFAULTS.provenMs;
    this.now = o.now ?? Date.now;
  }

  /** Lookups running now (tests, logs). */
  get inFlight(): number {
    return this.running;
  }

  /** `hostname` answered: for provenMs its lookups may take any slot. */
  answered(hostname: string): void {
    this.proven.delete(hostname);
    this.proven.set(hostname, this.now());
    if (this.proven.size > MAX_PROVEN) this.proven.delete(this.proven.keys().next().value!);
  }

  /** Starts a lookup of `hostname` once a slot is free for it (at once when one is); `start` must call `release` when the resolver answers. */
  request(hostname: string, wanted: () => boolean, start: (release: () => void) => void): void {
    const at = this.proven.get(hostname);
    // Lookups waiting only on names nobody awaits any more are dropped as they pile up.
    if (this.pending.length >= 64) this.dropUnwanted();
    this.pending.push({ proven: at !== undefined && this.now() - at < this.provenMs, wanted, start });
    this.pump();
  }

  private dropUnwanted(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) if (!this.pending[i]!.wanted()) this.pending.splice(i, 1);
  }

  private pump(): void {
    for (let i = 0; i < this.pending.length && this.running < this.max; ) {
      const p = this.pending[i]!;
      if (!p.wanted()) {
        this.pending.splice(i, 1);
        continue;
      }
      if (!p.proven && this.unprovenRunning >= this.maxUnproven) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      this.running++;
      if (!p.proven) this.unprovenRunning++;
      let released = false;
      p.start(() => {
        if (released) return;
        released = true;
        this.running--;
        if (!p.proven) this.unprovenRunning--;
        // Not from inside the resolver's callback: the next lookup starts on a clean stack.
        process.nextTick(() => this.pump());
      });
    }
  }
}

/** Every lookup of the process shares these (Prometheus's, Slack's and the Kubernetes API's agents). */
export const processSlots = new LookupSlots();
