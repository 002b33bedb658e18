/**
 * How a replica follows the versions another publishes (publish.ts): which `current` to read, and
 * which version read to take. State snapshots (forecast/sync.ts) and weights (forecast/lstm/workload.ts)
 * follow alike.
 *
 * - A higher `current` is read; the version read is taken when it supersedes the one taken
 *   (publish.ts `supersedes`: higher, or of a lineage never seen — the volume emptied and published anew).
 * - A lower `current` (a stale read, a fallback, or v1 of an emptied volume) is read once: when the
 *   version it points at is read and does not supersede, it is passed over while it stays. A read
 *   that gives nothing, or another version (the pointed one not visible yet: NFS showing `current`
 *   before `v1/`), passes nothing over: the next look reads again.
 * - An equal `current` is the version taken, unless the volume was emptied and published anew up to
 *   that number between two looks: every LINEAGE_PEEK_MINUTES the lineage in its meta.json (one
 *   small read, not the version's files) is compared, and a lineage never seen is read. So is a
 *   `current` passed over (the same emptying can bring it back); a peek that could not read the
 *   lineage is tried again at the next look.
 */
import { rememberLineage, supersedes, type Seen } from './publish.js';

/**
 * Minutes between two looks at the lineage of a `current` equal to the version taken: a fifth of
 * the looks cost one more small read. Shorter than FINE_TUNE_EFFECT_MINUTES (lstm/workload.ts), so
 * weights published anew are still loaded before the minute they answer from.
 */
export const LINEAGE_PEEK_MINUTES = 5;

export interface CursorReads<T extends Seen> {
  /** The lineage in `version`'s meta.json (undefined: none); null when it cannot be read. Absent: never looked at. */
  lineage?: (version: number) => Promise<string | undefined | null>;
  /** The current version, verified (publish.ts readCurrent, falling back to older ones). */
  read: () => Promise<T | null>;
}

export class VersionCursor {
  private taken: Seen = { version: 0 };
  private readonly lineages = new Set<string>();
  /** A lower `current` whose version was read and did not supersede: not read again while it stays. */
  private passedOver: number | null = null;
  /** Epoch ms (the caller's minute) of the last look at the lineage of a `current` equal to `taken`. */
  private peekedAt = -Infinity;

  constructor(private readonly peekEveryMs = LINEAGE_PEEK_MINUTES * 60_000) {}

  /** The newest version taken (loaded, refused as unusable, or published by this replica). */
  get seen(): Seen {
    return this.taken;
  }

  /** Takes `v`: never gone back from within its lineage. */
  take(v: Seen): void {
    this.taken = { version: v.version, lineage: v.lineage };
    rememberLineage(this.lineages, v.lineage);
  }

  /** Nothing taken (the volume was emptied): the next `current`, whatever its number, is read. Lineages seen are kept. */
  reset(): void {
    this.taken = { version: 0 };
    this.passedOver = null;
    this.peekedAt = -Infinity;
  }

  /**
   * One look, at minute `at` (epoch ms, the caller's clock), given `latest` (the `current` just read):
   * the version read when it is to be taken (the caller then calls take), else null.
   */
  async next<T extends Seen>(latest: number | null, at: number, reads: CursorReads<T>): Promise<T | null> {
    if (latest !== this.passedOver) this.passedOver = null;
    if (latest === null) return null;
    if (latest === this.taken.version || latest === this.passedOver) {
      // Read before, and not to be taken: only a lineage never seen (the volume emptied and published
      // anew up to that number between two looks) makes it worth reading again.
      if (!reads.lineage || at - this.peekedAt < this.peekEveryMs) return null;
      const lineage = await reads.lineage(latest);
      if (lineage === null) return null; // not read: looked at again at the next look
      this.peekedAt = at;
      if (!supersedes({ version: latest, lineage }, this.taken, this.lineages)) return null;
    }
    const got = await reads.read();
    if (!got) return null;
    if (supersedes(got, this.taken, this.lineages)) return got;
    if (got.version === latest && latest < this.taken.version) this.passedOver = latest;
    return null;
  }
}
