/**
 * Replicas of one workload's forecaster (gate + calibration, as serve builds it) answer alike: a late
 * starter adopts the owner's published state, a replica that missed minutes replays them, and one
 * whose state diverged is brought back at the next snapshot. Real files (publish.ts) carry the state.
 */
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCalibratedForecaster } from './calibrate.js';
import { createGatedForecaster } from './gate.js';
import { createForecaster } from './registry.js';
import { createSyncedForecaster, publishPhase, SYNC_DEFAULTS, type SyncedForecaster } from './sync.js';
import { fileStateStore, sharedKey, type StateStore } from '../replicas/shared-dir.js';
import type { Forecast } from '../series/forecast.js';
import type { History } from '../series/history.js';
import { sineSeries } from '../test-support/series.js';
import { silentLogger } from '../telemetry/logger.js';
import { VolumeGate } from './volume-ops.js';
import { LINEAGE_PEEK_MINUTES } from '../replicas/version-cursor.js';

/**
 * The workload: its publishing phase (publishPhase) is 0 for 5- and 60-minute intervals, so its
 * snapshots come at whole multiples of the interval, as the tests below count minutes.
 */
const KEY = 'shop/web#037';
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0);
const series = sineSeries(3000, { period: 90, base: 100, amplitude: 40, noise: 12, seed: 11 });

/** The gate (mean10 primary against persistence and mean30) under the calibration, small windows. */
const stack = () =>
  createCalibratedForecaster(
    createGatedForecaster({ name: 'auto', primary: createForecaster('mean10'), baselines: [createForecaster('persistence'), createForecaster('mean30')], window: 60, minScored: 10 }),
    { window: 120, minScored: 10 },
  );

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'amadeus-sync-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function replica(store: StateStore | null, owns: boolean, counts?: Record<string, number>): SyncedForecaster {
  return createSyncedForecaster(stack(), { key: KEY, store, owns: () => owns, log: silentLogger, onSnapshot: (a) => counts && (counts[a] = (counts[a] ?? 0) + 1) });
}

/** The window the registry reads at minute index `m` (the history ends just before it). */
function windowAt(f: SyncedForecaster, m: number, edit?: (requests: (number | null)[]) => void): History {
  const n = f.historyMinutes(30);
  const requests: (number | null)[] = series.slice(m - n, m);
  edit?.(requests);
  return { start: T0 + (m - n) * MIN, requests };
}

const ask = (f: SyncedForecaster, m: number, edit?: (r: (number | null)[]) => void): Promise<Forecast> => f.forecast({ history: windowAt(f, m, edit), horizon: 10 });
const answer = (f: Forecast) => ({ values: f.values, q: f.maxQuantiles, gate: f.gate?.reason });

test('a replica that starts late answers like the owner from its first refresh, by adopting its state', async () => {
  const store = fileStateStore(dir);
  const counts: Record<string, number> = {};
  const owner = replica(store, true);
  const late = replica(store, false, counts);
  const alone = replica(null, false); // the same late start, with nothing to adopt: the control
  let differed = 0;
  for (let m = 200; m < 320; m++) {
    const a = await ask(owner, m);
    await owner.settled(); // published before anyone looks
    if (m < 247) continue;
    const b = await ask(late, m);
    expect(answer(b)).toEqual(answer(a));
    if (JSON.stringify(answer(await ask(alone, m))) !== JSON.stringify(answer(a))) differed++;
  }
  // Without the owner's state it would have answered otherwise: the test can fail.
  expect(differed).toBeGreaterThan(5);
  expect(counts.adopted).toBe(1); // once, on its first refresh
  expect(counts.matched).toBeGreaterThan(10); // every later snapshot equal to its own
});

test('a replica that missed minutes replays them from the window it reads, and answers as if it had not', async () => {
  const a = replica(null, true);
  const b = replica(null, true);
  for (let m = 200; m < 300; m++) {
    const x = await ask(a, m);
    if (m >= 240 && m < 252) continue; // b is stalled for 12 minutes
    expect(answer(await ask(b, m))).toEqual(answer(x));
  }
  expect(b.lastOrigin).toBe(T0 + 299 * MIN);
});

test('a forecaster seeded from another of the same series (a new trigger after a metadata edit) answers as it does from its first call; a stepped one refuses a seed', async () => {
  const a = replica(null, true);
  for (let m = 200; m < 260; m++) await ask(a, m);
  const seed = a.exportSeed()!;
  expect(seed.origin).toBe(T0 + 259 * MIN);
  const b = replica(null, true);
  const control = replica(null, true);
  b.importSeed(seed);
  expect(b.lastOrigin).toBe(seed.origin);
  let differed = 0;
  for (let m = 260; m < 300; m++) {
    const x = await ask(a, m);
    if (m < 263) continue; // made three minutes after the seed was taken: it replays them
    expect(answer(await ask(b, m))).toEqual(answer(x));
    if (JSON.stringify(answer(await ask(control, m))) !== JSON.stringify(answer(x))) differed++;
  }
  expect(differed).toBeGreaterThan(5); // from nothing it would have answered otherwise
  expect(b.exportSeed()).toEqual(a.exportSeed());
  expect(() => b.importSeed(seed)).toThrow(/stepped already/);
  // A state that does not fit changes nothing.
  const c = replica(null, true);
  expect(() => c.importSeed({ origin: seed.origin, state: { kind: 'something else' } })).toThrow();
  expect(() => c.importSeed({ origin: seed.origin + 1, state: seed.state })).toThrow(/whole minute/);
  expect(c.lastOrigin).toBeNull();
});

test('replicas of which only some could seed (the sibling busy or gone on the others) answer alike from the minute after: the seeded owner publishes its first step, and an owner from nothing outweighs seeded followers', async () => {
  const sibling = replica(null, true);
  for (let m = 200; m < 260; m++) await ask(sibling, m);
  const seed = sibling.exportSeed()!;
  for (const ownerSeeded of [true, false]) {
    const store = fileStateStore(mkdtempSync(join(dir, 'mixed-')));
    const counts: Record<string, number> = {};
    // A long interval: minute 260 is not a publishing minute (the test can fail).
    const make = (owns: boolean) => createSyncedForecaster(stack(), { key: KEY, store, owns: () => owns, log: silentLogger, intervalMinutes: 60, onSnapshot: (a) => (counts[a] = (counts[a] ?? 0) + 1) });
    const owner = make(true);
    const follower = make(false);
    (ownerSeeded ? owner : follower).importSeed(seed);
    const differ: number[] = [];
    for (let m = 260; m < 300; m++) {
      const a = await ask(owner, m);
      await owner.settled();
      if (JSON.stringify(answer(await ask(follower, m))) !== JSON.stringify(answer(a))) differ.push(m);
    }
    // At 260 the owner's first snapshot is of that very minute: the follower takes it at 261.
    expect({ ownerSeeded, differ }).toEqual({ ownerSeeded, differ: [260] });
    expect(counts.adopted).toBe(1);
  }
});

test('a follower whose state diverged (a late sample it saw differently) is brought back at the next snapshot', async () => {
  const store = fileStateStore(dir);
  const counts: Record<string, number> = {};
  const owner = replica(store, true);
  const follower = replica(store, false, counts);
  const interval = SYNC_DEFAULTS.intervalMinutes;
  let diverged = false;
  for (let m = 200; m < 300; m++) {
    const a = await ask(owner, m);
    await owner.settled();
    // At minute 251 the follower reads the last minute 50% higher than it stays (a revised sample).
    const b = await ask(follower, m, m === 251 ? (r) => (r[r.length - 1] = (r[r.length - 1] as number) * 1.5) : undefined);
    const same = JSON.stringify(answer(a)) === JSON.stringify(answer(b));
    if (m > 251 && !same) diverged = true;
    // Equal again from the first refresh after the next snapshot (at the next multiple of the interval: KEY's phase is 0).
    const healedBy = Math.ceil(252 / interval) * interval + 1;
    if (m < 251 || m >= healedBy) expect(answer(b)).toEqual(answer(a));
  }
  expect(diverged).toBe(true);
  expect(counts.adopted).toBeGreaterThanOrEqual(1);
});

// A replica restarted mid-day that comes to own the workload (rendezvous), whose first read of the
// published state fails (a volume busy with every workload's start-up loads, a read past its
// deadline): it stepped from nothing and, as owner, published that state at once and never looked
// again, so every follower adopted it and the workload's gate and calibration records were lost.
test('an owner whose first read of the published state failed reads it at the next minute and publishes nothing before: no replica loses the state', async () => {
  const store = fileStateStore(dir);
  let handedOver = false;
  const old = createSyncedForecaster(stack(), { key: KEY, store, owns: () => !handedOver, log: silentLogger });
  const control = replica(null, true); // a replica that never lost the state
  for (let m = 200; m < 251; m++) {
    await ask(old, m);
    await old.settled();
    await ask(control, m);
  }
  handedOver = true;
  let failing = true;
  const flaky: StateStore = {
    ...store,
    read: async (key) => {
      if (failing) throw new Error('reading the published state: deadline exceeded after 5s');
      return store.read(key);
    },
  };
  const restarted = replica(flaky, true);
  let differed = 0;
  for (let m = 251; m < 300; m++) {
    const want = answer(await ask(control, m));
    const r = answer(await ask(restarted, m));
    await restarted.settled();
    failing = false;
    const o = answer(await ask(old, m));
    // Its first minute, from nothing, is the only one it answers otherwise.
    if (m === 251) differed += JSON.stringify(r) === JSON.stringify(want) ? 0 : 1;
    else expect(r).toEqual(want);
    expect(o).toEqual(want);
  }
  expect(differed).toBe(1); // the control can tell a cold state: the test can fail
});

// The owner gone, a new owner started while the only snapshot was older than the catch-up (an
// outage of the source or of publishing longer than that, then a rollout): it stepped from nothing
// and, as owner, published that state, which every follower adopted over its own — all replicas'
// gate and calibration back to warm-up at once.
test('a new owner that finds only a snapshot older than the catch-up starts from it, not from nothing: the followers keep their calibration', async () => {
  const store = fileStateStore(dir);
  const old = replica(store, true);
  const follower = replica(store, false);
  for (let m = 200; m < 251; m++) {
    await ask(old, m);
    await old.settled();
    await ask(follower, m);
  }
  // The owner is gone at minute 251; its last snapshot (minute 250) is 50 minutes old when the new one starts.
  for (let m = 251; m < 300; m++) expect(answer(await ask(follower, m)).q).toBeDefined();
  const restarted = replica(store, true);
  const cold = replica(null, true); // the same start with nothing to take: the control
  for (let m = 300; m < 320; m++) {
    const r = answer(await ask(restarted, m));
    await restarted.settled();
    const f = answer(await ask(follower, m));
    expect(r.q).toBeDefined(); // calibrated from its first refresh, as a warm state is
    expect(f.q).toBeDefined();
    if (m > 300) expect(f).toEqual(r); // the follower takes the new owner's state: they answer alike
    if (m === 300) expect(answer(await ask(cold, m)).q).toBeUndefined(); // a state from nothing is not calibrated yet: the test can fail
  }
});

// The same through the real store: a `current` the volume fails to read (here a symlink loop: ELOOP;
// on NFS an ESTALE, an EIO) was read as "nothing published", so the restarted owner published its
// state from nothing over the workload's records.
test('an owner whose first read of current fails on the volume (not missing: failing) publishes nothing until it has read it', async () => {
  const store = fileStateStore(dir);
  let handedOver = false;
  const old = createSyncedForecaster(stack(), { key: KEY, store, owns: () => !handedOver, log: silentLogger });
  const control = replica(null, true);
  for (let m = 200; m < 251; m++) {
    await ask(old, m);
    await old.settled();
    await ask(control, m);
  }
  handedOver = true;
  const current = join(dir, sharedKey('state', KEY), 'current');
  renameSync(current, `${current}.aside`);
  symlinkSync(current, current); // every read of it fails with ELOOP
  const restarted = replica(store, true);
  for (let m = 251; m < 254; m++) {
    await ask(restarted, m);
    await restarted.settled();
  }
  rmSync(current);
  renameSync(`${current}.aside`, current);
  for (let m = 254; m < 300; m++) {
    const want = answer(await ask(control, m));
    expect(answer(await ask(restarted, m))).toEqual(want);
    await restarted.settled();
    expect(answer(await ask(old, m))).toEqual(want);
  }
});

// What the volume answered with is no snapshot at all (every version kept fails its checksum): the
// owner has looked, and publishes over it — it used to wait for a snapshot forever, publishing nothing.
test('an owner whose volume answers but holds nothing usable (every version corrupt) publishes its own state', async () => {
  const files = fileStateStore(dir);
  const published: number[] = [];
  const store: StateStore = { ...files, publish: (key, snapshot) => (published.push((snapshot.origin - T0) / MIN), files.publish(key, snapshot)) };
  const first = replica(files, true);
  for (let m = 200; m < 206; m++) {
    await ask(first, m);
    await first.settled();
  }
  const key = join(dir, sharedKey('state', KEY));
  for (const v of ['v1', 'v2']) writeFileSync(join(key, v, 'state.json'), 'corrupted');
  const owner = replica(store, true);
  for (let m = 206; m < 216; m++) {
    await ask(owner, m);
    await owner.settled();
  }
  expect(published).toEqual([206, 210, 215]);
});

// Numbers restart at v1 when the volume is emptied (an operator starting over, a PVC replaced); a
// follower that kept to "never below the highest seen" stayed on its own state until the owner's
// numbers passed the old ones (here 55 minutes; at the default interval, 5 minutes a version).
test('after the volume is emptied the owner\'s snapshots (v1 on, a new lineage) still bring followers back; a stale lower current of their lineage is not taken', async () => {
  const files = fileStateStore(dir);
  let reads = 0;
  const store: StateStore = { ...files, read: (key) => (reads++, files.read(key)) };
  const counts: Record<string, number> = {};
  const owner = replica(files, true);
  const follower = replica(store, false, counts);
  const interval = SYNC_DEFAULTS.intervalMinutes;
  const key = sharedKey('state', KEY);
  let diverged = false;
  for (let m = 200; m < 300; m++) {
    // Emptied just before minute 250's snapshot: the owner publishes v1 anew (v11 was the last).
    if (m === 250) rmSync(dir, { recursive: true });
    const a = await ask(owner, m);
    await owner.settled();
    if (m === 250) expect(await files.latestVersion(KEY)).toBe(1);
    // A stale `current` (a slow client's cache, a publisher that lost a race) one below the follower's.
    if (m === 272) writeFileSync(join(dir, key, 'current'), `${(await files.latestVersion(KEY))! - 1}\n`);
    const before = { ...counts, reads };
    // At minute 251 the follower reads the last minute 50% higher than it stays: its state diverges.
    const b = await ask(follower, m, m === 251 ? (r) => (r[r.length - 1] = (r[r.length - 1] as number) * 1.5) : undefined);
    if (m > 251 && JSON.stringify(answer(a)) !== JSON.stringify(answer(b))) diverged = true;
    // Equal again from the refresh after the next snapshot (v2 of the new lineage, minute 255).
    if (m < 251 || m > Math.ceil(252 / interval) * interval) expect(answer(b)).toEqual(answer(a));
    // The stale current is read once and not taken (matched or adopted), however long it stays.
    if (m === 272) expect({ ...counts, reads }).toEqual({ ...before, reads: before.reads + 1 });
    if (m > 272 && m < 275) expect({ ...counts, reads }).toEqual(before);
  }
  expect(diverged).toBe(true);
  expect(counts.adopted).toBeGreaterThanOrEqual(1);
});

// The volume emptied and published anew up to the number a follower had taken, between two of its
// looks: the follower skipped the equal `current` and stayed on its own state until the next
// snapshot (an interval: here an hour; the default 5 minutes).
test('a snapshot published anew under the number a follower took (the volume emptied between two of its looks) is noticed by its lineage within LINEAGE_PEEK_MINUTES', async () => {
  const files = fileStateStore(dir);
  let peeks = 0;
  const store: StateStore = { ...files, lineage: (key, v) => (peeks++, files.lineage!(key, v)) };
  const make = (st: StateStore, owns: boolean, counts?: Record<string, number>) =>
    createSyncedForecaster(stack(), { key: KEY, store: st, owns: () => owns, intervalMinutes: 60, catchUpMinutes: 60, log: silentLogger, onSnapshot: (a) => counts && (counts[a] = (counts[a] ?? 0) + 1) });
  const counts: Record<string, number> = {};
  const owner = make(files, true);
  const follower = make(store, false, counts);
  let diverged = false;
  for (let m = 200; m < 260; m++) {
    // The owner's first step is v1 (minute 200), its next at minute 240: v1 anew after the emptying.
    if (m === 240) rmSync(dir, { recursive: true });
    const a = await ask(owner, m);
    await owner.settled();
    // At minute 230 the follower reads the last minute 50% higher than it stays: its state diverges.
    const b = await ask(follower, m, m === 230 ? (r) => (r[r.length - 1] = (r[r.length - 1] as number) * 1.5) : undefined);
    const same = JSON.stringify(answer(a)) === JSON.stringify(answer(b));
    if (m > 230 && !same) diverged = true;
    if (m < 230 || m >= 240 + LINEAGE_PEEK_MINUTES) expect(answer(b)).toEqual(answer(a));
  }
  expect(await files.latestVersion(KEY)).toBe(1);
  expect(diverged).toBe(true);
  expect(counts.adopted).toBe(2); // v1 at its first look, v1 anew
  expect(peeks).toBeLessThanOrEqual(60 / LINEAGE_PEEK_MINUTES + 1); // a small read every few minutes, not every minute
});

test('a snapshot that does not fit is refused whole: the replica keeps its own state and says why', async () => {
  const store = fileStateStore(dir);
  const warnings: string[] = [];
  const follower = createSyncedForecaster(stack(), { key: KEY, store, owns: () => false, log: { ...silentLogger, warn: (m: string) => void warnings.push(m) } });
  const twin = replica(null, false);
  for (let m = 200; m < 230; m++) {
    expect(answer(await ask(follower, m))).toEqual(answer(await ask(twin, m)));
    if (m === 214) await store.publish(KEY, { origin: T0 + 210 * MIN, digest: 'x', state: { kind: 'calibration', scores: { next: 0, size: 0, values: [] }, pending: [], inner: { kind: 'gate', names: ['other'] } } });
  }
  expect(warnings.join('\n')).toMatch(/could not read or load the published forecasting state/);
});

test('gate and calibration state round-trips exactly: a copy answers like the original from then on', async () => {
  const a = stack();
  const b = stack();
  const at = (m: number) => ({ history: { start: T0 + (m - 100) * MIN, requests: series.slice(m - 100, m) }, horizon: 10 });
  for (let m = 200; m < 300; m++) await a.forecast(at(m));
  b.importState(JSON.parse(JSON.stringify(a.exportState())));
  for (let m = 300; m < 400; m++) expect(answer(await b.forecast(at(m)))).toEqual(answer(await a.forecast(at(m))));
  expect(() => b.importState({ kind: 'calibration' })).toThrow(/not a calibration state/);
});

test('a shared volume that does not answer holds no forecast: each read has a deadline, and a hung read is not joined by more', async () => {
  let reads = 0;
  const hung: (() => void)[] = [];
  const warnings: string[] = [];
  const store: StateStore = {
    latestVersion: () => {
      reads++;
      return new Promise((resolve) => hung.push(() => resolve(null)));
    },
    read: () => Promise.resolve(null),
    publish: () => Promise.resolve({ version: 1 }),
  };
  const f = createSyncedForecaster(stack(), { key: KEY, store, owns: () => false, readTimeoutMs: 20, log: { warn: (msg, fields) => warnings.push(`${msg}: ${String(fields?.error)}`) } });
  const control = replica(null, false);
  expect(answer(await ask(f, 200))).toEqual(answer(await ask(control, 200)));
  expect(warnings).toEqual([expect.stringMatching(/keeping this replica's: reading the latest state version: deadline exceeded after 0.02s$/)]);
  // Still hung: the next forecasts read nothing (so wait on nothing) and answer alike.
  for (let m = 201; m < 204; m++) expect(answer(await ask(f, m))).toEqual(answer(await ask(control, m)));
  expect(reads).toBe(1);
  // Once it has ended, the volume is read again.
  for (const end of hung.splice(0)) end();
  await new Promise((r) => setImmediate(r));
  await ask(f, 204);
  expect(reads).toBe(2);
});

test('a shared volume that does not answer a publish holds neither the owner nor its memory: a deadline, and only the newest state waits', async () => {
  const published: number[] = [];
  const hung: (() => void)[] = [];
  let answering = false;
  const warnings: string[] = [];
  const store: StateStore = {
    latestVersion: () => Promise.resolve(null),
    read: () => Promise.resolve(null),
    publish: (_key, snapshot) => {
      published.push((snapshot.origin - T0) / MIN);
      const version = published.length;
      return answering ? Promise.resolve({ version }) : new Promise((resolve) => hung.push(() => resolve({ version })));
    },
  };
  const counts: Record<string, number> = {};
  const owner = createSyncedForecaster(stack(), {
    key: KEY,
    store,
    owns: () => true,
    readTimeoutMs: 20,
    log: { warn: (msg, fields) => warnings.push(`${msg}: ${String(fields?.error)}`) },
    onSnapshot: (a) => (counts[a] = (counts[a] ?? 0) + 1),
  });
  const control = replica(null, true);
  for (let m = 200; m < 230; m++) {
    expect(answer(await ask(owner, m))).toEqual(answer(await ask(control, m)));
    await owner.settled(); // ends at the deadline, not when the volume answers
  }
  // Six publishing minutes (200, 205, … 225): one write started, the newest state waiting, no more.
  expect(published).toEqual([200]);
  expect(warnings).toEqual(['could not publish the forecasting state: publishing the forecasting state: deadline exceeded after 0.02s']);
  // The volume answers: the snapshot that waited (minute 225's) is published, then each as usual.
  answering = true;
  for (const end of hung.splice(0)) end();
  await owner.settled();
  expect(published).toEqual([200, 225]);
  for (let m = 230; m < 236; m++) await ask(owner, m);
  await owner.settled();
  expect(published).toEqual([200, 225, 230, 235]);
  expect(counts.published).toBe(3); // the first answered after its deadline: not counted as published in time
});

// A hung volume must not take more of libuv's thread pool than the process-wide bound (volume-ops.ts),
// however many workloads look at it: the rest are skipped like a failed read and tried again later.
test('many workloads on a hung volume hold at most the bound\'s reads: the others never start, answer with their own state, and read again once it answers', async () => {
  const gate = new VolumeGate({ limit: 2, stuckMs: 10 });
  const started: string[] = [];
  const hung: (() => void)[] = [];
  let answering = false;
  const store: StateStore = {
    latestVersion: (key) => {
      started.push(key);
      return answering ? Promise.resolve(null) : new Promise((resolve) => hung.push(() => resolve(null)));
    },
    read: () => Promise.resolve(null),
    publish: () => Promise.resolve({ version: 1 }),
  };
  const warnings: string[] = [];
  const skipped: string[] = [];
  const log = { warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg}: ${String(f?.error)}`), debug: (msg: string, f?: Record<string, unknown>) => void skipped.push(`${msg}: ${String(f?.error)}`) };
  const keys = Array.from({ length: 6 }, (_, i) => `shop/web-${i}#abc`);
  const followers = keys.map((key) => createSyncedForecaster(stack(), { key, store, owns: () => false, readTimeoutMs: 20, log, volume: gate }));
  const control = replica(null, false);
  // All at once (refreshes run side by side): two reads start; the others wait for a slot until their deadline, and never start.
  const answers = await Promise.all(followers.map((f) => ask(f, 200)));
  const expected = answer(await ask(control, 200));
  for (const a of answers) expect(answer(a)).toEqual(expected);
  expect(started).toEqual(keys.slice(0, 2));
  expect(gate.outstanding).toBe(2);
  expect(warnings).toEqual(keys.map(() => expect.stringMatching(/deadline exceeded after 0.02s$/)));
  // The next minutes: the two hung reads are not joined, and the others are refused at once (the volume looks hung).
  for (let m = 201; m < 204; m++) {
    const want = answer(await ask(control, m));
    for (const f of followers) expect(answer(await ask(f, m))).toEqual(want);
  }
  expect(started).toHaveLength(2);
  expect(skipped.filter((l) => /: reading the latest state version: not started, the 2 shared-volume operations allowed at once have all gone unanswered/.test(l))).toHaveLength(4 * 3);
  expect(warnings).toHaveLength(6); // refusals each minute are not warned about again
  // The volume answers: the slots free, and every workload reads it again.
  answering = true;
  for (const end of hung.splice(0)) end();
  await new Promise((r) => setImmediate(r));
  expect(gate.outstanding).toBe(0);
  started.length = 0;
  const want = answer(await ask(control, 204));
  for (const f of followers) expect(answer(await ask(f, 204))).toEqual(want);
  expect(started).toEqual(keys);
});

test('a publish the bound refuses fails like any failed publish: nothing is written, and the owner\'s state is published at the next publishing minute for followers to adopt', async () => {
  const gate = new VolumeGate({ limit: 2, stuckMs: 0 });
  const files = fileStateStore(dir);
  const published: number[] = [];
  const store: StateStore = { ...files, publish: (key, snapshot) => (published.push((snapshot.origin - T0) / MIN), files.publish(key, snapshot)) };
  const warnings: string[] = [];
  const log = { warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg}: ${String(f?.error)}`) };
  const owner = createSyncedForecaster(stack(), { key: KEY, store, owns: () => true, readTimeoutMs: 5_000, log, volume: gate });
  // Its first refresh looks at the volume (an owner publishes nothing before it has): nothing there yet.
  await ask(owner, 199);
  await owner.settled();
  published.length = 0;
  // Then two operations of other workloads the volume has not answered.
  const holding: (() => void)[] = [];
  for (let i = 0; i < 2; i++) void gate.run('another workload', () => new Promise<void>((resolve) => holding.push(resolve)), 10).result.catch(() => undefined);
  for (let m = 200; m < 205; m++) {
    await ask(owner, m);
    await owner.settled();
  }
  expect(published).toEqual([]);
  expect(warnings).toEqual([expect.stringMatching(/^could not publish the forecasting state: publishing the forecasting state: not started, the 2 shared-volume operations/)]);
  // The volume answers them: the next publishing minute publishes the owner's state then.
  for (const end of holding.splice(0)) end();
  await new Promise((r) => setImmediate(r));
  const counts: Record<string, number> = {};
  const late = replica(store, false, counts);
  for (let m = 205; m < 215; m++) {
    const a = await ask(owner, m);
    await owner.settled();
    if (m > 205) expect(answer(await ask(late, m))).toEqual(answer(a));
  }
  expect(published).toEqual([205, 210]);
  expect(counts.adopted).toBe(1);
  expect(warnings).toHaveLength(1);
});

// Every workload published at the minutes that are multiples of the interval: on every owner, all of
// them at once, each a few fsyncs and a prune through the volume's two slots with 5 s deadlines.
test('each workload publishes at its own minute of the interval (a hash of its key, the same on every replica): publishes spread over the interval', async () => {
  expect([publishPhase(KEY, 5), publishPhase(KEY, 60)]).toEqual([0, 0]);
  const phases = Array.from({ length: 1000 }, (_, i) => publishPhase(`shop/web-${i}#abc`, 5));
  for (let p = 0; p < 5; p++) expect(phases.filter((x) => x === p).length).toBeGreaterThan(150); // about 200 each, not 1,000 at 0
  expect(publishPhase('shop/web-1#abc', 5)).toBe(publishPhase('shop/web-1#abc', 5));
  // An owner of a workload whose phase is 2 publishes its first step, then at minutes ≡ 2 (mod 5).
  const key = 'shop/web-1#abc';
  expect(publishPhase(key, 5)).toBe(2);
  const files = fileStateStore(dir);
  const published: number[] = [];
  const store: StateStore = { ...files, publish: (k, snapshot) => (published.push((snapshot.origin - T0) / MIN), files.publish(k, snapshot)) };
  const owner = createSyncedForecaster(stack(), { key, store, owns: () => true, log: silentLogger });
  const counts: Record<string, number> = {};
  const follower = createSyncedForecaster(stack(), { key, store: files, owns: () => false, log: silentLogger, onSnapshot: (a) => (counts[a] = (counts[a] ?? 0) + 1) });
  for (let m = 200; m < 220; m++) {
    const a = await ask(owner, m);
    await owner.settled();
    expect(answer(await ask(follower, m))).toEqual(answer(a));
  }
  expect(published).toEqual([200, 202, 207, 212, 217]);
  expect(counts.matched).toBe(4); // the follower's own digests at the same minutes: equal each time
});
