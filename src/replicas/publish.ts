/**
 * Atomic publication of a model's files to a shared volume, and reading back the newest complete
 * version. Layout under `<root>/<key>/`:
 *
 *   v<N>/<files…>, v<N>/meta.json   one directory per version; meta.json = { version, checksum, files, lineage }
 *   current                         the published version number, as text
 *
 * Version numbers only grow within a lineage: an id a publisher continues from the newest version
 * present and draws anew when there is none (nothing published yet, or the directory was emptied —
 * an operator starting over). Readers never go back to a lower version of a lineage they have seen
 * (a stale `current`, a fallback past a corrupt version), but do take a lower or equal one of a
 * lineage new to them: the directory was emptied and published anew (`supersedes`; how a reader
 * follows: version-cursor.ts).
 *
 * A publisher writes every file into a fresh temp directory beside the target (same filesystem),
 * fsyncs each file, writes meta.json last, fsyncs it and the directory, renames the directory to
 * `v<N>`, fsyncs the parent, then switches `current` by writing a uniquely named temp file, fsync,
 * rename over `current`, fsync. A writer killed at any point leaves either the previous `current`
 * or the new one, never a partial one; a temp directory left behind is ignored and later pruned.
 * readCurrent() verifies the checksum and, when the pointed-to version is missing or corrupt,
 * falls back to the newest older version that verifies.
 *
 * Everything read was written by another process, so every read is capped: `current` and meta.json
 * at READ_CAPS, a version's files together at the reader's `maxBytes` (each file's size is checked
 * before it is read). A file over its cap is treated as corrupt: the reader falls back as above.
 *
 * The checksum is SHA-256 over the files other than meta.json in name order, each as
 * `name \0 byteLength \0 bytes`, so a renamed, truncated or swapped file fails it too.
 * This module imports only node: builtins (a test compiles it for a child process on its own).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { join } from 'node:path';

export const META = 'meta.json';
export const CURRENT = 'current';
const TMP_PREFIX = '.tmp-';
/** Temp directories older than this are a dead writer's leftovers. */
const STALE_TMP_MS = 10 * 60_000;

/** Caps on the small files; a version's own files have the reader's `maxBytes` (ReadLimits). */
export const READ_CAPS = { pointerBytes: 4 * 1024, metaBytes: 1024 * 1024 } as const;
/** A version's files together (meta.json aside), unless the reader says otherwise. */
export const DEFAULT_VERSION_MAX_BYTES = 64 * 1024 * 1024;

export interface ReadLimits {
  /** The files of one version together (meta.json aside) are at most this; more: corrupt. Default DEFAULT_VERSION_MAX_BYTES. */
  maxBytes?: number;
}

/** A file larger than its reader accepts. */
export class FileTooLarge extends Error {
  override name = 'FileTooLarge';
  constructor(readonly path: string, readonly size: number, readonly max: number) {
    super(`${path}: ${size} bytes, more than the ${max} accepted`);
  }
}

/**
 * The file's bytes, at most `max`: a regular file only (opened with O_NONBLOCK, so a FIFO or a
 * device left in the volume is refused instead of blocking a libuv thread for ever), its size
 * checked before reading, and a file growing while read cut off at `max + 1` and refused all the same.
 */
export async function readCapped(path: string, max: number): Promise<Buffer> {
  const fh = await fs.open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw new Error(`${path}: not a regular file`);
    const size = stat.size;
    if (size > max) throw new FileTooLarge(path, size, max);
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) {
        if (got > max) throw new FileTooLarge(path, got, max);
        break; // exactly size + 1 <= max bytes: it grew, but within the cap (published files never do)
      }
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

export interface Meta {
  version: number;
  checksum: string;
  files: string[];
  publishedAt?: string;
  /** Absent in versions older releases published (read as a lineage of unknown id). */
  lineage?: string;
}

/** A version as a reader has taken it. */
export interface Seen {
  version: number;
  lineage?: string;
}

const validLineage = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(x);

/** A new lineage id: random, so two publishers of an emptied directory never draw the same one. */
export const newLineage = (): string => randomBytes(9).toString('base64url');

/**
 * Whether a reader that has taken `seen`, and has seen the lineages in `lineages`, takes `got`: a
 * higher version, or any version of a lineage it has never seen. A lower or equal version of a
 * known lineage is a stale `current`, a fallback past a corrupt version or a publisher that lost a
 * race, and taking it would put this replica behind its peers; a lineage it never saw can only come
 * from a directory emptied and published anew, which every replica (a restarted one too) now loads.
 */
export function supersedes(got: Seen, seen: Seen, lineages: ReadonlySet<string>): boolean {
  return got.version > seen.version || (got.lineage !== undefined && !lineages.has(got.lineage));
}

/** Lineages a reader remembers (a reset each): enough for any plausible run of resets. */
export const LINEAGES_KEPT = 8;

/** Adds `lineage` to `lineages`, forgetting the oldest beyond LINEAGES_KEPT. */
export function rememberLineage(lineages: Set<string>, lineage: string | undefined): void {
  if (lineage === undefined) return;
  lineages.delete(lineage);
  lineages.add(lineage);
  for (const old of lineages) {
    if (lineages.size <= LINEAGES_KEPT) break;
    lineages.delete(old);
  }
}

export interface PublishOptions {
  /** Versions kept (newest by number; the current one is never removed). Default 2. */
  keep?: number;
  /** The cap readers apply to a version's files (ReadLimits); a publish over it is refused. */
  maxBytes?: number;
  /** Written into meta.json (continuedLineage, newLineage); absent: none, as older releases wrote. */
  lineage?: string;
  /** Test hook: runs after each model file is written and synced (before meta.json). */
  afterFile?: (name: string) => Promise<void> | void;
  /** Test hook: runs after everything is written and synced, just before the directory rename. */
  beforeRename?: () => Promise<void> | void;
  /** Test hook: runs after the directory rename, just before `current` is switched. */
  beforeSwitch?: () => Promise<void> | void;
  clock?: () => number;
}

export interface Current {
  version: number;
  dir: string;
  meta: Meta;
  files: Record<string, Buffer>;
}

const validName = (name: string) => /^[A-Za-z0-9._-]+$/.test(name) && name !== META && name !== '.' && name !== '..';

export function checksumOf(files: Record<string, Buffer | string>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    const bytes = Buffer.from(files[name]);
    h.update(`${name}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return h.digest('hex');
}

async function writeSynced(path: string, data: Buffer | string): Promise<void> {
  const fh = await fs.open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const fh = await fs.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const tmpName = () => `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;

/** Whether `err` says the file or directory is not there (as opposed to a read that failed). */
const absent = (err: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
/**
 * Whether `err` is a read that failed (EIO, ESTALE, EACCES …): what is there is unknown. Not one: the
 * file is missing, or is what it must not be (over its cap, not a regular file) — known bad.
 */
const readFailed = (err: unknown): boolean => typeof (err as NodeJS.ErrnoException).code === 'string' && !absent(err);

/**
 * The published version number in `current`, or null when absent or not a number. A read that fails
 * otherwise (EIO, ESTALE, EACCES, a size over the cap) throws: taken for "nothing published", it
 * would let a restarted owner publish its state from nothing over what is there (sync.ts).
 */
export async function readPointer(root: string, key: string): Promise<number | null> {
  let text: string;
  try {
    text = (await readCapped(join(root, key, CURRENT), READ_CAPS.pointerBytes)).toString('utf8').trim();
  } catch (err) {
    if (readFailed(err)) throw err;
    return null;
  }
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** Version numbers present as `v<N>` directories, ascending (complete or not). */
export async function listVersions(root: string, key: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(join(root, key));
  } catch (err) {
    if (readFailed(err)) throw err; // a listing that failed is not an empty one (see readPointer)
    return [];
  }
  return names.filter((n) => /^v\d+$/.test(n)).map((n) => Number(n.slice(1))).sort((a, b) => a - b);
}

/**
 * The meta.json of `version` alone (one read, capped at READ_CAPS.metaBytes): null when missing,
 * unreadable, or not that version's. A lineage this reader cannot compare is read as none (an older
 * release's version). Cheap enough to look at a version's lineage without reading its files.
 */
export async function readMeta(root: string, key: string, version: number): Promise<Meta | null> {
  return readMetaOrThrow(root, key, version).catch(() => null);
}

/** readMeta, but a read that failed (not missing, not malformed) throws: "unknown" is not "none". */
async function readMetaOrThrow(root: string, key: string, version: number): Promise<Meta | null> {
  let bytes: Buffer;
  try {
    bytes = await readCapped(join(root, key, `v${version}`, META), READ_CAPS.metaBytes);
  } catch (err) {
    if (readFailed(err)) throw err;
    return null;
  }
  let meta: Meta;
  try {
    meta = JSON.parse(bytes.toString('utf8')) as Meta;
  } catch {
    return null;
  }
  if (meta?.version !== version || !Array.isArray(meta.files) || typeof meta.checksum !== 'string') return null;
  if (!validLineage(meta.lineage)) delete meta.lineage;
  return meta;
}

/**
 * Reads and verifies one version; null when missing, partial, corrupt or over its caps. A read that
 * failed otherwise (EIO, ESTALE, EACCES) throws: the version may be fine (see readPointer).
 */
export async function readVersion(root: string, key: string, version: number, limits: ReadLimits = {}): Promise<Current | null> {
  const dir = join(root, key, `v${version}`);
  const meta = await readMetaOrThrow(root, key, version);
  if (!meta) return null;
  const files: Record<string, Buffer> = {};
  let left = limits.maxBytes ?? DEFAULT_VERSION_MAX_BYTES;
  for (const name of meta.files) {
    if (!validName(name)) return null;
    try {
      files[name] = await readCapped(join(dir, name), left);
    } catch (err) {
      if (readFailed(err)) throw err;
      return null;
    }
    left -= files[name].length;
  }
  if (checksumOf(files) !== meta.checksum) return null;
  return { version, dir, meta, files };
}

/**
 * The current version, verified; when `current` points at a missing or corrupt version (or is
 * missing), the newest older version that verifies. Null when there is none.
 */
export async function readCurrent(root: string, key: string, limits: ReadLimits = {}): Promise<Current | null> {
  // Publishers prune as they go: every version listed may be gone by the time it is read (several
  // publishes between this reader's listing and its reads). Then the listing is stale, not empty:
  // list again, a few times, before saying there is nothing.
  let failed: unknown;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const pointer = await readPointer(root, key);
    const versions = await listVersions(root, key);
    if (pointer === null && versions.length === 0) return null;
    // The pointed-to version first, then older ones newest first; a newer complete directory (renamed
    // but not yet switched to) only when nothing else verifies (e.g. a racing publisher pruned it).
    const older = versions.filter((v) => pointer === null || v <= pointer).reverse();
    const newer = pointer === null ? [] : versions.filter((v) => v > pointer).reverse();
    for (const v of [...older, ...newer]) {
      try {
        const got = await readVersion(root, key, v, limits);
        if (got) return got;
      } catch (err) {
        failed ??= err;
      }
    }
  }
  // Nothing verified, and some read failed: not "nothing published" (the volume may be failing).
  if (failed !== undefined) throw failed;
  return null;
}

/** Listings readCurrent tries before it reports no readable version. */
const READ_ATTEMPTS = 5;

/**
 * Whether `key` holds nothing: its directory gone, or no version, pointer or write in progress in it
 * (emptied by an operator). False when that cannot be told (any other error).
 */
export async function isEmpty(root: string, key: string): Promise<boolean> {
  try {
    return !(await fs.readdir(join(root, key))).some((n) => /^v\d+$/.test(n) || n === CURRENT || n.includes(TMP_PREFIX));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** One more than the highest version present or pointed at. */
export async function nextVersion(root: string, key: string): Promise<number> {
  const versions = await listVersions(root, key);
  return Math.max(0, (await readPointer(root, key)) ?? 0, ...versions) + 1;
}

/**
 * The lineage the next version of `key` continues: that of the newest version whose meta.json reads
 * ({} when it has none: an older release's, continued as such). Null when no version's does (none
 * there, or all missing or malformed): a new lineage begins (newLineage). A read that failed throws:
 * a volume that did not answer is no evidence of an emptied one (a LineageGone, a new lineage).
 */
export async function continuedLineage(root: string, key: string): Promise<{ lineage?: string } | null> {
  const pointer = await readPointer(root, key);
  const versions = [...new Set([...(await listVersions(root, key)), ...(pointer === null ? [] : [pointer])])].sort((a, b) => b - a);
  for (const v of versions) {
    // Missing or malformed: an older one decides.
    const meta = await readMetaOrThrow(root, key, v);
    if (meta) return meta.lineage === undefined ? {} : { lineage: meta.lineage };
  }
  return null;
}

/**
 * Publishes `files` (flat names, no meta.json) as `version` of `key`. Returns the checksum.
 * `current` moves forward only: a publisher finishing after a newer one leaves the pointer alone
 * (best effort: two publishers of one key racing between the pointer read and the rename can move
 * it back one version, never to an incomplete one; ownership leaves one publisher per key anyway).
 * Each pointer write goes through its own uniquely named temp file, so concurrent switches never
 * interleave into a torn `current`.
 * Throws when `version` already exists with different contents (or lineage).
 */
export async function publish(root: string, key: string, version: number, files: Record<string, Buffer | string>, o: PublishOptions = {}): Promise<string> {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`version must be a positive integer, got ${version}`);
  if (!validName(key)) throw new RangeError(`invalid key ${JSON.stringify(key)}`);
  for (const name of Object.keys(files)) if (!validName(name)) throw new RangeError(`invalid file name ${JSON.stringify(name)}`);
  if (o.lineage !== undefined && !validLineage(o.lineage)) throw new RangeError(`invalid lineage ${JSON.stringify(o.lineage)}`);
  const limits: ReadLimits = { maxBytes: o.maxBytes };
  const total = Object.values(files).reduce((n, f) => n + Buffer.byteLength(f), 0);
  const max = o.maxBytes ?? DEFAULT_VERSION_MAX_BYTES;
  // Every reader would take it for corrupt.
  if (total > max) throw new RangeError(`${key} v${version}: ${total} bytes, more than the ${max} readers accept`);
  const clock = o.clock ?? Date.now;
  const keyDir = join(root, key);
  await fs.mkdir(keyDir, { recursive: true });
  const checksum = checksumOf(files);
  const tmp = join(keyDir, tmpName());
  await fs.mkdir(tmp);
  try {
    for (const name of Object.keys(files).sort()) {
      await writeSynced(join(tmp, name), files[name]);
      await o.afterFile?.(name);
    }
    const meta: Meta = { version, checksum, files: Object.keys(files).sort(), publishedAt: new Date(clock()).toISOString(), ...(o.lineage === undefined ? {} : { lineage: o.lineage }) };
    await writeSynced(join(tmp, META), JSON.stringify(meta, null, 2) + '\n');
    await syncDir(tmp);
    await o.beforeRename?.();
    const target = join(keyDir, `v${version}`);
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Already there: the same contents is an idempotent retry; anything else is a version clash
      // (another lineage too: two publishers of an emptied directory, each with its own).
      const existing = await readVersion(root, key, version, limits);
      if (existing?.meta.checksum !== checksum || existing.meta.lineage !== o.lineage) throw new Error(`version ${version} of ${key} already exists with different contents`, { cause: err });
      await fs.rm(tmp, { recursive: true, force: true });
    }
    await syncDir(keyDir);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  await o.beforeSwitch?.();
  const pointer = await readPointer(root, key);
  if (pointer === null || pointer < version || !(await readVersion(root, key, pointer, limits))) {
    const tmpPointer = join(keyDir, `${CURRENT}${tmpName()}`);
    await writeSynced(tmpPointer, `${version}\n`);
    await fs.rename(tmpPointer, join(keyDir, CURRENT));
    await syncDir(keyDir);
  }
  // Housekeeping after the switch: a prune that fails (the volume failing meanwhile) does not undo
  // the publish; the next one prunes again.
  await prune(root, key, o.keep ?? 2, clock(), limits).catch(() => undefined);
  return checksum;
}

/**
 * Removes versions older than the newest `keep` that verify (never the current one, and nothing
 * while fewer than `keep` verify, so a corrupt newer version never costs the last good one), and
 * temp entries a dead writer left behind.
 */
export async function prune(root: string, key: string, keep = 2, now = Date.now(), limits: ReadLimits = {}): Promise<void> {
  const keyDir = join(root, key);
  const pointer = await readPointer(root, key);
  const versions = await listVersions(root, key);
  const good: number[] = [];
  for (const v of [...versions].reverse()) {
    if (good.length >= keep) break;
    if (await readVersion(root, key, v, limits)) good.push(v);
  }
  const cutoff = good.length >= keep ? good[keep - 1] : -Infinity;
  const drop = versions.filter((v) => v < cutoff && v !== pointer);
  for (const v of drop) await fs.rm(join(keyDir, `v${v}`), { recursive: true, force: true });
  for (const name of await fs.readdir(keyDir).catch(() => [] as string[])) {
    if (!name.includes(TMP_PREFIX)) continue;
    const st = await fs.stat(join(keyDir, name)).catch(() => null);
    if (st && now - st.mtimeMs > STALE_TMP_MS) await fs.rm(join(keyDir, name), { recursive: true, force: true });
  }
}
