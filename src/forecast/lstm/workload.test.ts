/** Fine-tuning scheduling of one workload, with a stand-in pool (no worker, no training). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../telemetry/logger.js';
import { sineSeries } from '../../test-support/series.js';
import { startBackend } from './backend.js';
import { BLEND_CANDIDATES } from './blend.js';
import type { FineTunePool } from './finetune-pool.js';
import { LstmForecaster } from './forecaster.js';
import { META_FORMAT, type LstmMeta } from './meta.js';
import { FEATURES } from './features.js';
import { getWeights, saveModel } from './io.js';
import { createModel, type ModelShape } from './model.js';
import { FINE_TUNE_EFFECT_MINUTES, WorkloadLstm, workloadDir, type LstmRuntime } from './workload.js';
import { fileWeightsStore, sharedKey, type WeightsStore } from '../../replicas/shared-dir.js';
import { VolumeGate } from '../volume-ops.js';
import { LINEAGE_PEEK_MINUTES } from '../../replicas/version-cursor.js';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { startFakeKube } from '../../test-support/fake-kube.js';
import { FIRST_SEEN_ANNOTATION, LAST_ROUND_ANNOTATION, lockName, RoundLock } from '../../replicas/round-lock.js';

const shape: ModelShape = { historyMinutes: 20, horizonMinutes: 5, quantiles: [0.5, 0.9], units: 2, stepMinutes: 5 };
const meta: LstmMeta = { format: META_FORMAT, shape, features: FEATURES, normalisation: '', createdAt: '', backend: '', training: {} as LstmMeta['training'] };
const history = { start: Date.UTC(2025, 0, 6), requests: sineSeries(1500) };

beforeAll(() => startBackend('wasm'));

const MIN = 60_000;
/** The same series, its last minute `minutes` later: what a refresh that much later reads. */
const at = (minutes: number) => ({ history: { ...history, start: history.start + minutes * MIN }, horizon: 5 });

function setup(pending: number, result: unknown = new Promise(() => {}), extra: Partial<LstmRuntime> = {}) {
  const jobs: unknown[] = [];
  const pool = { pending, run: (job: unknown) => (jobs.push(job), result) } as unknown as FineTunePool;
  const w = new WorkloadLstm({ shared: new LstmForecaster('lstm', createModel(shape, 1), meta), pool, weightsDir: null, fineTuneIntervalMs: 60 * MIN, fineTuneHistoryMinutes: 1500, log: silentLogger, maxPendingRounds: 2, ...extra }, 'ns/app');
  return { w, jobs, pool: pool as { pending: number } };
}

test('one round per interval of the history\'s own time, never two in flight, the first one interval after the workload appears', async () => {
  const { w, jobs } = setup(0);
  await w.forecast(at(0));
  await w.forecast(at(59));
  expect(jobs).toHaveLength(0);
  await w.forecast(at(60));
  expect(jobs).toHaveLength(1);
  await w.forecast(at(200)); // the first round is still running
  expect(jobs).toHaveLength(1);
});

test('each round gets the blend record the last one returned, accepted or not; the first none', async () => {
  const record = { next: 123, sums: [1, 2], count: 3 };
  const { w, jobs } = setup(0, Promise.resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1, record }), { fineTuneBlend: true });
  await w.forecast(at(0));
  await w.forecast(at(60));
  await new Promise((r) => setImmediate(r)); // the round's result is taken in
  await w.forecast(at(120));
  expect(jobs).toHaveLength(2);
  expect((jobs[0] as { record?: unknown }).record).toBeUndefined();
  expect((jobs[1] as { record?: unknown }).record).toEqual(record);
  // Each round learns from its span and is given the whole read, the days before it for days3's baseline.
  expect(w.historyMinutes(60)).toBe(5 * 1440 + 10 + 60 + 5);
  expect(jobs[1]).toMatchObject({ fitMinutes: 1500, series: { requests: history.requests } });
});

test('a round that would queue behind a busy worker is postponed to the next minute, keeping the backlog bounded', async () => {
  const { w, jobs, pool } = setup(2);
  await w.forecast(at(0));
  await w.forecast(at(60));
  await w.forecast(at(61));
  expect(jobs).toHaveLength(0);
  pool.pending = 1; // the worker caught up: the very next minute runs it, not an interval later
  await w.forecast(at(62));
  expect(jobs).toHaveLength(1);
});

test('only the owner runs rounds, and only while it holds the workload\'s lock; a replayed minute never starts one', async () => {
  let owner = false;
  const held = new Set<string>();
  const lock = { acquire: async (k: string) => (held.has(k) ? false : (held.add(k), true)), release: async (k: string) => void held.delete(k) };
  const { w, jobs } = setup(0, Promise.resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 }), { owns: () => owner, roundLock: lock });
  await w.forecast(at(0));
  await w.forecast(at(70));
  expect(jobs).toHaveLength(0); // another replica's
  owner = true;
  await w.forecast(at(65)); // a replay (an earlier minute): never a round
  expect(jobs).toHaveLength(0);
  held.add('ns/app'); // another replica still holds the lock (a handover in progress)
  await w.forecast(at(71));
  await w.settled();
  expect(jobs).toHaveLength(0);
  held.clear();
  await w.forecast(at(140)); // the next interval, lock free
  await w.settled();
  expect(jobs).toHaveLength(1);
  expect(held.size).toBe(0); // released after the round
});

// A round whose lock another replica held (a 409 during a join or leave; a replica that died holding
// it, until the lock expires) or that the API did not answer (a timeout, a 5xx) was pushed back a
// whole interval (6 hours by default), not the minute or two until the lock is free.
test('a round whose lock is held elsewhere or not answered is tried again at the next minute, not an interval later', async () => {
  const answers: (boolean | Error)[] = [false, new Error('read the fine-tuning lock: deadline exceeded after 10s'), true];
  const released: string[] = [];
  const lock = {
    acquire: async () => {
      const a = answers.shift()!;
      if (a instanceof Error) throw a;
      return a;
    },
    release: async (k: string) => void released.push(k),
  };
  const logged: string[] = [];
  const log = { ...silentLogger, info: (msg: string) => void logged.push(`info ${msg}`), warn: (msg: string) => void logged.push(`warn ${msg}`), debug: (msg: string) => void logged.push(`debug ${msg}`) };
  const { w, jobs } = setup(0, Promise.resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 }), { owns: () => true, roundLock: lock, log });
  await w.forecast(at(0));
  for (const m of [60, 61]) {
    await w.forecast(at(m));
    await w.settled();
    expect(jobs).toHaveLength(0);
  }
  expect(released).toEqual([]); // never taken: nothing to release
  await w.forecast(at(62));
  await w.settled();
  expect(jobs).toHaveLength(1);
  expect(released).toEqual(['ns/app']);
  expect(w.nextRoundDue).toBe(at(62 + 60).history.start + history.requests.length * MIN); // the schedule runs from the round that ran
  // Said once, at info (held elsewhere); the miss after it at debug.
  expect(logged.filter((l) => /postponed/.test(l))).toEqual([
    'info fine-tuning round postponed to the next minute: another replica holds the workload\'s lock',
    'debug fine-tuning round postponed to the next minute: the workload\'s lock could not be taken',
  ]);
});

test('a round another replica ran and published while this one found the lock held is not run again here: the schedule follows the published round', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  const tuned = createModel(shape, 7);
  try {
    const accepted = Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    let aHolds = false;
    const lock = { acquire: async () => !aHolds, release: async () => {} };
    // Both count themselves the owner (their views of the live set differ for a moment).
    const a = setup(0, accepted, { weightsDir: dir, owns: () => true });
    const b = setup(0, Promise.resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 }), { weightsDir: dir, owns: () => true, roundLock: lock });
    await a.w.forecast(at(0));
    await b.w.forecast(at(0));
    aHolds = true; // a's round takes the lock first
    await a.w.forecast(at(60));
    await b.w.forecast(at(60));
    await b.w.settled();
    await a.w.settled(); // published, then released
    aHolds = false;
    for (let m = 61; m < 120; m++) {
      await b.w.forecast(at(m));
      await b.w.settled();
    }
    expect(b.jobs).toHaveLength(0);
    expect(b.w.version).toBe(1);
    await b.w.forecast(at(120)); // an interval after a's round
    await b.w.settled();
    expect(b.jobs).toHaveLength(1);
  } finally {
    tuned.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a replica that does not own the workload loads the owner\'s published weights and switches at the same minute', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  try {
    const tuned = createModel(shape, 7);
    const accepted = Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    const a = setup(0, accepted, { weightsDir: dir, owns: () => true });
    const b = setup(0, accepted, { weightsDir: dir, owns: () => false });
    for (const m of [0, 60]) {
      await a.w.forecast(at(m));
      await b.w.forecast(at(m));
    }
    await a.w.settled();
    expect(a.jobs).toHaveLength(1);
    expect(b.jobs).toHaveLength(0);
    for (let m = 61; m <= 60 + FINE_TUNE_EFFECT_MINUTES + 1; m++) {
      const fa = await a.w.forecast(at(m));
      const fb = await b.w.forecast(at(m));
      await b.w.settled(); // its look at the volume, once a minute, in the background
      expect(fb.values).toEqual(fa.values);
      expect(b.w.version).toBe(a.w.version);
      expect(a.w.version).toBe(m >= 60 + FINE_TUNE_EFFECT_MINUTES ? 1 : 0);
    }
    expect(b.jobs).toHaveLength(0);
    tuned.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A replica restarted mid-day, or asked about the workload for the first time hours after its peers,
// loads the published weights in the background; its first forecasts came before that load had
// answered (on a restart, every workload's load queues behind two volume operations at a time) and
// were the pre-trained model's, while the peers answered with the fine-tuned weights.
test('a replica whose load of the published weights is slow answers its first forecast with them, as its peers do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  try {
    const tuned = createModel(shape, 7);
    const accepted = Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    const a = setup(0, accepted, { weightsDir: dir, owns: () => true });
    await a.w.forecast(at(0));
    await a.w.forecast(at(60));
    await a.w.settled();
    const m = 60 + FINE_TUNE_EFFECT_MINUTES + 5;
    const fa = await a.w.forecast(at(m));
    expect(a.w.version).toBe(1);
    // The restarted replica's volume answers its first read only after 50 ms.
    const files = fileWeightsStore(dir);
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const slow: WeightsStore = {
      ...files,
      read: async (key, version) => {
        await opened;
        return files.read(key, version);
      },
    };
    const c = setup(0, undefined, { weights: slow, owns: () => false });
    const fc = c.w.forecast(at(m));
    setTimeout(open, 50);
    expect((await fc).values).toEqual(fa.values);
    expect(c.w.version).toBe(1);
    tuned.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ... but not for long: a volume that does not answer (hung) must not hold a restarted replica's
// every trigger past the registry's forecast deadline (UNAVAILABLE, nothing scaled on).
test('a first load that never answers is waited for once, FIRST_LOAD_WAIT_MS at most: the pre-trained model answers meanwhile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  try {
    const files = fileWeightsStore(dir);
    const hung: WeightsStore = { ...files, read: () => new Promise(() => {}) };
    const c = setup(0, undefined, { weights: hung, owns: () => false });
    const plain = setup(0).w;
    const first = await c.w.forecast(at(100));
    expect(first.values).toEqual((await plain.forecast(at(100))).values);
    // Once waited for, never again: the next forecast is not held by the hung load (it would time
    // the test out were it waited for at each forecast, 60 s).
    const second = await c.w.forecast(at(101));
    expect(second.values).toEqual((await plain.forecast(at(101))).values);
    expect(c.w.version).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Numbers restart at v1 when the volume is emptied (an operator starting fine-tuning over, a PVC
// replaced): a follower that kept to "never below the highest seen" stayed on its old weights while
// the owner, and any replica restarted since, answered with the new v1.
test('after the volume is emptied every replica, the owner too, lets the published weights go; the owner\'s next round learns from the pre-trained model and publishes v1 of a new lineage, which every replica takes at its minute; a stale lower current is not taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  // Each round's weights differ from the last one's, so answers tell which version answers.
  const { pool, jobs, dispose } = newWeightsEachRound();
  try {
    const files = fileWeightsStore(dir);
    let reads = 0;
    const counted: WeightsStore = { ...files, read: (key, version) => (reads++, files.read(key, version)) };
    const a = setup(0, undefined, { pool, weightsDir: dir, owns: () => true });
    const b = setup(0, undefined, { pool, weights: counted, owns: () => false });
    const pretrained = setup(0).w; // a replica with nothing published to load
    let c: ReturnType<typeof setup> | null = null;
    const effect = FINE_TUNE_EFFECT_MINUTES;
    // Rounds at minutes 60 (v1), 120 (v2) and, after the volume is emptied at 150, 180 (v1 anew).
    const minutes = [0, ...Array.from({ length: 3 * 60 - 59 + effect + 2 }, (_, i) => 60 + i)];
    for (const m of minutes) {
      if (m === 125) writeFileSync(join(dir, sharedKey('weights', 'ns/app'), 'current'), '1\n'); // stale, a version b has passed
      const readsBefore = reads;
      if (m === 150) rmSync(dir, { recursive: true });
      const fa = await a.w.forecast(at(m));
      await a.w.settled(); // published before anyone looks
      const fb = await b.w.forecast(at(m));
      await b.w.settled(); // its look at the volume, once a minute, in the background
      expect(fb.values).toEqual(fa.values);
      expect(b.w.version).toBe(a.w.version);
      const want = m >= 180 + effect ? 1 : m >= 150 ? 0 : m >= 120 + effect ? 2 : m >= 60 + effect ? 1 : 0;
      expect(a.w.version).toBe(want);
      // The stale current is read once, and not taken.
      if (m === 125) expect(reads).toBe(readsBefore + 1);
      if (m > 125 && m < 130) expect(reads).toBe(readsBefore);
      // From the minute after the emptying, the pre-trained model's answers; the new v1's from its minute.
      const plain = (await pretrained.forecast(at(m))).values;
      if (m > 150) expect(fa.values.every((x, i) => x === plain[i])).toBe(m < 180 + effect);
      // A replica (re)started meanwhile answers alike throughout, and loads the new v1.
      if (m === 151) {
        c = setup(0, undefined, { weightsDir: dir, owns: () => false });
        await c.w.loaded;
      }
      if (c) {
        expect((await c.w.forecast(at(m))).values).toEqual(fa.values);
        await c.w.settled();
        expect(c.w.version).toBe(a.w.version);
      }
    }
    expect(jobs).toHaveLength(3);
    expect(jobs[1]!.pretrained).toBeDefined(); // the second round learned on top of v1
    expect(jobs[2]!.pretrained).toBeUndefined(); // the third from the pre-trained model: started over
  } finally {
    dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A pool whose every round returns new weights (answers tell which round's answer), and the jobs it was given. */
function newWeightsEachRound() {
  const tuned: ReturnType<typeof createModel>[] = [];
  const jobs: { pretrained?: unknown }[] = [];
  const pool = {
    pending: 0,
    run: async (job: { pretrained?: unknown }) => {
      jobs.push(job);
      tuned.push(createModel(shape, 7 + tuned.length));
      return { accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned[tuned.length - 1]!) };
    },
  } as unknown as FineTunePool;
  return { pool, jobs, dispose: () => tuned.forEach((t) => t.dispose()) };
}

/**
 * Owner a rounds every hour; follower b looks at the same volume through `store`. At `emptyAt` the
 * volume is emptied between b's look and a's (a lets its weights go then), so a's next round
 * publishes v1 of a new lineage before b looks again. A replica restarted after that (c) loads
 * only the new lineage. Returns the minutes b and c answered otherwise than a, live and replayed.
 */
async function emptiedBetweenLooks(o: { emptyAt: number; until: number; b: (files: WeightsStore) => WeightsStore }) {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  const { pool, jobs, dispose } = newWeightsEachRound();
  try {
    const a = setup(0, undefined, { pool, weightsDir: dir, owns: () => true });
    const b = setup(0, undefined, { pool, weights: o.b(fileWeightsStore(dir)), owns: () => false });
    let c: ReturnType<typeof setup> | null = null;
    const differ = { b: [] as number[], c: [] as number[], replayB: [] as number[], replayC: [] as number[] };
    const look = async (r: ReturnType<typeof setup>, m: number) => {
      const f = await r.w.forecast(at(m));
      await r.w.settled();
      return JSON.stringify(f.values);
    };
    for (const m of [0, ...Array.from({ length: o.until - 59 }, (_, i) => 60 + i)]) {
      let fb: string | null = null;
      if (m === o.emptyAt) {
        fb = await look(b, m);
        rmSync(dir, { recursive: true });
      }
      const fa = await look(a, m);
      fb ??= await look(b, m);
      if (fb !== fa) differ.b.push(m);
      if (m === o.emptyAt + 2) {
        c = setup(0, undefined, { weightsDir: dir, owns: () => false });
        await c.w.loaded;
      }
      if (c && (await look(c, m)) !== fa) differ.c.push(m);
    }
    // Replays of the minutes since the emptying (a refresh that finds minutes it missed).
    for (let m = o.emptyAt + 1; m < o.until; m++) {
      const fa = JSON.stringify((await a.w.forecast(at(m))).values);
      if (JSON.stringify((await b.w.forecast(at(m))).values) !== fa) differ.replayB.push(m);
      if (c && m > o.emptyAt + 2 && JSON.stringify((await c.w.forecast(at(m))).values) !== fa) differ.replayC.push(m);
    }
    expect(a.w.version).toBe(1);
    return { differ, jobs };
  } finally {
    dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

// b took v1, the owner's v1 anew came before b's next look: b skipped the equal `current` and kept
// its old v1 until v2 (an interval; 6 h by default), answering otherwise than the owner.
test('v1 published anew before a follower that took v1 looks again is noticed by its lineage within LINEAGE_PEEK_MINUTES; the follower then answers like the owner and a restarted replica', async () => {
  let peeks = 0;
  let reads = 0;
  const { differ } = await emptiedBetweenLooks({
    emptyAt: 119,
    until: 140,
    b: (files) => ({ ...files, lineage: (k, v) => (peeks++, files.lineage!(k, v)), read: (k, v) => (reads++, files.read(k, v)) }),
  });
  // From the owner's publish at minute 120 to b's next look at the lineage, then alike.
  expect(differ.b.every((m) => m >= 120 && m <= 120 + LINEAGE_PEEK_MINUTES)).toBe(true);
  expect(differ.c).toEqual([]);
  expect(differ.replayB).toEqual([]);
  expect(differ.replayC).toEqual([]);
  expect(reads).toBe(3); // at start (nothing), v1, v1 anew: an unchanged current is not read, only its meta.json every few minutes
  expect(peeks).toBeLessThanOrEqual(80 / LINEAGE_PEEK_MINUTES + 1);
});

// b took v2; after the emptying it took the owner's v1 anew (a lower current of a new lineage) but
// kept the old lineage's v1 and v2 loaded: they answered the minutes before v1's, live and replayed,
// where the owner and a restarted replica answer with the pre-trained model.
test('a follower that takes a version of a new lineage lets the old lineage\'s versions go: it answers like the owner and a restarted replica, live and in replays', async () => {
  const { differ, jobs } = await emptiedBetweenLooks({ emptyAt: 179, until: 200, b: (files) => files });
  expect(differ.b).toEqual([180]); // its look at that minute, in the background: the next minute's answer
  expect(differ.c).toEqual([]);
  expect(differ.replayB).toEqual([]);
  expect(differ.replayC).toEqual([]);
  expect(jobs[2]!.pretrained).toBeUndefined(); // the owner's round after the emptying started over
});

// NFS may show the new `current` before `v1/`: the one read that found nothing passed v1 over until
// `current` changed (the owner's next round).
test('a read of a new lineage\'s lower current that gives nothing does not pass it over: it is read again at the next look', async () => {
  // The first read after `current` went from 2 back to 1 finds nothing.
  let last: number | null = null;
  let fail = false;
  const { differ } = await emptiedBetweenLooks({
    emptyAt: 179,
    until: 200,
    b: (files) => ({
      ...files,
      latestVersion: async (k) => {
        const latest = await files.latestVersion(k);
        if (last === 2 && latest === 1) fail = true;
        last = latest;
        return latest;
      },
      read: async (k, v) => (fail ? ((fail = false), null) : files.read(k, v)),
    }),
  });
  expect(differ.b).toEqual([180, 181]);
  expect(differ.replayB).toEqual([]);
});

// The owner's round started on v2; the volume was emptied while it ran: it published weights learned
// from v2 as v1 of the new lineage, which a replica restarted (or one that never held v2) loads.
test('a round that learned from weights the volume no longer holds publishes nothing; it runs again at the next minute from the pre-trained model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  const { pool, jobs, dispose } = newWeightsEachRound();
  try {
    const run = (pool as unknown as { run: (j: unknown) => Promise<unknown> }).run;
    // The second round's training outlasts the emptying.
    (pool as unknown as { run: (j: unknown) => Promise<unknown> }).run = (job) => (jobs.length === 1 ? (rmSync(dir, { recursive: true }), run(job)) : run(job));
    const files = fileWeightsStore(dir);
    const a = setup(0, undefined, { pool, weightsDir: dir, owns: () => true });
    for (const m of [0, 60, ...Array.from({ length: 60 }, (_, i) => 61 + i)]) {
      await a.w.forecast(at(m));
      await a.w.settled();
    }
    expect(jobs).toHaveLength(2);
    expect(jobs[1]!.pretrained).toBeDefined(); // learned on top of v1
    expect(await files.latestVersion('ns/app')).toBeNull(); // not published
    await a.w.forecast(at(121));
    await a.w.settled();
    expect(jobs).toHaveLength(3);
    expect(jobs[2]!.pretrained).toBeUndefined();
    expect(await files.latestVersion('ns/app')).toBe(1);
    const c = setup(0, undefined, { weightsDir: dir, owns: () => false });
    await c.w.loaded;
    for (const m of [122, 131, 140]) expect((await c.w.forecast(at(m))).values).toEqual((await a.w.forecast(at(m))).values);
    expect(a.w.version).toBe(1);
  } finally {
    dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Replica a owns the workload and its round publishes weights with `record`; b loads them; then b
 * takes the workload over: the record b's first round is given.
 */
async function recordAfterHandover(record: unknown): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  const tuned = createModel(shape, 7);
  try {
    let aOwns = true;
    const a = setup(0, Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned), record }), { weightsDir: dir, owns: () => aOwns });
    const b = setup(0, new Promise(() => {}), { weightsDir: dir, owns: () => !aOwns });
    for (const m of [0, 60]) {
      await a.w.forecast(at(m));
      await b.w.forecast(at(m));
    }
    await a.w.settled();
    for (let m = 61; m <= 60 + FINE_TUNE_EFFECT_MINUTES; m++) {
      await b.w.forecast(at(m));
      await b.w.settled();
    }
    expect(b.w.version).toBe(1); // the published weights load, whatever the record
    aOwns = false; // a goes (an upgrade): b owns the workload
    await b.w.forecast(at(130));
    expect(b.jobs).toHaveLength(1);
    return (b.jobs[0] as { record?: unknown }).record;
  } finally {
    tuned.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the blend\'s record is published with accepted weights: a replica that takes the workload over continues it; a damaged one is not used, the weights still are', async () => {
  // a's round ran at origin minute 60 of the history's clock (1,500 minutes then): its record continues from the first window whose targets came after it.
  const fittedAt = history.start / MIN + 60 + history.requests.length;
  const record = { next: fittedAt - shape.horizonMinutes + 1, sums: BLEND_CANDIDATES.map((_, k) => k + 1), count: 3_000 };
  expect(await recordAfterHandover(record)).toEqual(record);
  // Another grid's, or a negative sum: the round starts a record of its own.
  expect(await recordAfterHandover({ ...record, sums: [-1] })).toBeUndefined();
  // One that would score the published weights on minutes they were fitted on: not used either.
  expect(await recordAfterHandover({ ...record, next: record.next - 1 })).toBeUndefined();
});

test('during a rolling upgrade, weights a newer version published with a meta this one cannot read are refused once, logged once, and the replica keeps answering with what it had', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  try {
    const tuned = createModel(shape, 7);
    // The newer replica's round: a blend toward a baseline this version does not know.
    const accepted = Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned), blend: { baseline: 'a-newer-baseline', weight: 0.5 } });
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg} ${String(f?.error)}`) };
    const newer = setup(0, accepted, { weightsDir: dir, owns: () => true });
    const older = setup(0, accepted, { weightsDir: dir, owns: () => false, log });
    for (const m of [0, 60]) {
      await newer.w.forecast(at(m));
      await older.w.forecast(at(m));
    }
    await newer.w.settled();
    const before = await older.w.forecast(at(61));
    for (let m = 62; m <= 60 + FINE_TUNE_EFFECT_MINUTES + 30; m++) {
      const f = await older.w.forecast(at(m));
      await older.w.settled();
      expect(f.values).toHaveLength(5);
      expect(older.w.version).toBe(0);
    }
    await newer.w.forecast(at(60 + FINE_TUNE_EFFECT_MINUTES));
    expect(newer.w.version).toBe(1); // it published and answers with its version
    // The pre-trained model's answer, unchanged: the refused version is not half-used.
    expect((await older.w.forecast(at(61))).values).toEqual(before.values);
    const refused = warnings.filter((x) => x.startsWith('cannot load fine-tuned weights'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/blend must be/);
    tuned.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('accepted weights answer from FINE_TUNE_EFFECT_MINUTES after the round\'s origin, however fast it trained', async () => {
  const tuned = createModel(shape, 7);
  const { w, jobs } = setup(0, Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) }));
  await w.forecast(at(0));
  await w.forecast(at(60));
  expect(jobs).toHaveLength(1);
  await w.settled(); // the round is over at once here…
  expect(w.fineTuned).toBe(false);
  await w.forecast(at(60 + FINE_TUNE_EFFECT_MINUTES - 1)); // …yet not used before its minute
  expect(w.fineTuned).toBe(false);
  const f = await w.forecast(at(60 + FINE_TUNE_EFFECT_MINUTES));
  expect(w.fineTuned).toBe(true);
  expect(f.note).toMatch(/fine-tuned/);
  tuned.dispose();
});

test('a round whose lock was lost while it ran (another replica took it) publishes nothing and keeps the weights in use', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  const tuned = createModel(shape, 7);
  try {
    let holds = true;
    const released: string[] = [];
    const lock = { acquire: async () => true, release: async (k: string) => void released.push(k), holds: () => holds };
    let finish!: (r: unknown) => void;
    const result = new Promise((r) => (finish = r));
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string) => void warnings.push(msg) };
    const { w, jobs } = setup(0, result, { weightsDir: dir, owns: () => true, roundLock: lock, log });
    await w.forecast(at(0));
    await w.forecast(at(60));
    await new Promise((r) => setImmediate(r)); // the lock is taken and the job handed to the pool
    expect(jobs).toHaveLength(1);
    holds = false; // renewals failed while the round ran
    finish({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    await w.settled();
    expect(warnings).toContain('fine-tuning round not published: the workload\'s lock was lost during the round');
    expect(released).toEqual(['ns/app']);
    await w.forecast(at(60 + FINE_TUNE_EFFECT_MINUTES));
    expect(w.fineTuned).toBe(false);
    expect(w.version).toBe(0);
  } finally {
    tuned.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('persisted weights trained on other input features are ignored with a warning, not used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  try {
    const key = 'ns/app';
    const old = createModel(shape, 2);
    await saveModel(old, workloadDir(dir, key), { ...meta, features: FEATURES.slice(0, 12), fineTuned: { workload: key, at: '', rounds: 1, lastHoldoutLoss: 0, baseHoldoutLoss: 1 } });
    old.dispose();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg} ${String(f?.error)}`) };
    const w = new WorkloadLstm({ shared: new LstmForecaster('lstm', createModel(shape, 1), meta), pool: null, weightsDir: dir, fineTuneIntervalMs: 1000, fineTuneHistoryMinutes: 1500, log }, key);
    await w.loaded;
    expect(w.fineTuned).toBe(false);
    const f = await w.forecast({ history, horizon: 5 });
    expect(f.values).toHaveLength(5);
    expect(warnings.join('\n')).toMatch(/cannot load fine-tuned weights.*input features.*retrain/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('workloads that all came due at once (a restart) are worked through minute by minute, not pushed back an interval each', async () => {
  // A worker that finishes two rounds a minute; the queue takes two.
  const inFlight: (() => void)[] = [];
  const trained = new Set<string>();
  const pool = {
    get pending() {
      return inFlight.length;
    },
    run: () => new Promise((resolve) => inFlight.push(() => resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 }))),
  } as unknown as FineTunePool;
  const shared = new LstmForecaster('lstm', createModel(shape, 1), meta);
  const ws = Array.from({ length: 30 }, (_, i) => {
    const log = { ...silentLogger, info: (msg: string, f?: Record<string, unknown>) => void (msg === 'fine-tuning round started' && trained.add(String(f?.workload))) };
    return new WorkloadLstm({ shared, pool, weightsDir: null, fineTuneIntervalMs: 60 * MIN, fineTuneHistoryMinutes: 1500, log, maxPendingRounds: 2 }, `ns/w${i}`);
  });
  for (let m = 0; m <= 60 + 20; m++) {
    for (const w of ws) await w.forecast(at(m));
    await new Promise((r) => setImmediate(r));
    inFlight.splice(0, 2).forEach((done) => done());
    await new Promise((r) => setImmediate(r));
  }
  // 30 rounds at two a minute: all within the 15–20 minutes after they came due (an interval each, before).
  expect(trained.size).toBe(30);
});

// With a round lock (any set of replicas), the bound was checked before `await lock.acquire`, when
// the pool did not count the round yet: every due workload passed it, and all of them queued.
test('rounds taking their lock count toward the backlog bound: no more than maxPendingRounds take it or wait for the worker at once', async () => {
  const inFlight: (() => void)[] = [];
  const pool = {
    get pending() {
      return inFlight.length;
    },
    run: () => new Promise((resolve) => inFlight.push(() => resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 }))),
  } as unknown as FineTunePool;
  const acquiring: ((taken: boolean) => void)[] = [];
  const lock = { acquire: () => new Promise<boolean>((resolve) => acquiring.push(resolve)), release: async () => {} };
  const shared = new LstmForecaster('lstm', createModel(shape, 1), meta);
  const ws = Array.from({ length: 5 }, (_, i) => new WorkloadLstm({ shared, pool, weightsDir: null, fineTuneIntervalMs: 60 * MIN, fineTuneHistoryMinutes: 1500, log: silentLogger, maxPendingRounds: 2, roundLock: lock }, `ns/w${i}`));
  for (const w of ws) await w.forecast(at(0));
  for (const w of ws) await w.forecast(at(60));
  expect(acquiring).toHaveLength(2); // all 5 before
  for (const take of acquiring.splice(0)) take(true);
  await new Promise((r) => setImmediate(r));
  expect(inFlight).toHaveLength(2);
  for (const w of ws) await w.forecast(at(61)); // the worker has not caught up: none more
  expect(acquiring).toHaveLength(0);
  // A lock not had frees its slot: another workload takes it at the next minute.
  inFlight.splice(0).forEach((done) => done());
  await new Promise((r) => setImmediate(r));
  for (const w of ws) await w.forecast(at(62));
  expect(acquiring).toHaveLength(2);
  acquiring.shift()!(false);
  acquiring.shift()!(true);
  await new Promise((r) => setImmediate(r));
  expect(inFlight).toHaveLength(1);
  for (const w of ws) await w.forecast(at(63));
  expect(acquiring).toHaveLength(1);
});

// Two triggers of one workload (one key, other planner metadata) each have a WorkloadLstm: both came
// due at the same minute and both ran the round, each taking the (then re-entrant) lock.
test('two triggers of one workload run one round between them, whatever the lock (or none) says', async () => {
  for (const roundLock of [null, { acquire: async () => true, release: async () => {} }]) {
    const jobs: unknown[] = [];
    const pool = { pending: 0, run: (job: unknown) => (jobs.push(job), Promise.resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 })) } as unknown as FineTunePool;
    const shared = new LstmForecaster('lstm', createModel(shape, 1), meta);
    const make = () => new WorkloadLstm({ shared, pool, weightsDir: null, fineTuneIntervalMs: 60 * MIN, fineTuneHistoryMinutes: 1500, log: silentLogger, roundLock }, 'ns/app');
    const [a, b] = [make(), make()];
    for (let m = 0; m <= 121; m++) {
      await a.forecast(at(m));
      await b.forecast(at(m));
      await a.settled();
      await b.settled();
    }
    expect(jobs).toHaveLength(2); // minutes 60 and 120, not two each
    // Each says the same next round (the lag metric): the one the other ran counts for both.
    expect(b.nextRoundDue).toBe(a.nextRoundDue);
    expect(a.nextRoundDue! - 60 * MIN).toBeGreaterThan(at(119).history.start);
    // Another trigger made later waits its own first interval, then keeps to the shared schedule.
    a.close();
    const c = make();
    for (let m = 122; m <= 200; m++) {
      await b.forecast(at(m));
      await c.forecast(at(m));
      await b.settled();
      await c.settled();
    }
    expect(jobs).toHaveLength(3); // minute 180 (b's), not c's too at 182
  }
});

/** Versions kept in memory (1, 2, …; the newest current), published by `publish`: a shared volume for one process. */
function memoryWeightsStore(kept: Map<number, Record<string, Buffer>>, publish: (files: Record<string, Buffer>) => Promise<number>): WeightsStore {
  const newest = () => (kept.size ? kept.size : null);
  return {
    latestVersion: async () => newest(),
    read: async (_key, version) => {
      const v = version ?? newest();
      const f = v === null ? undefined : kept.get(v);
      return f && v !== null ? { version: v, files: f } : null;
    },
    versions: async () => [...kept.keys()],
    publish: (_key, f) => publish(f).then((version) => ({ version })),
  };
}

test('a publish of weights the volume does not answer ends the round at its deadline and releases the lock; rounds resume once it answers', async () => {
  const tuned = createModel(shape, 7);
  try {
    // A store in memory (a real volume's fsyncs could outlast the short deadline), whose publishes
    // hang until the volume "comes back".
    const kept = new Map<number, Record<string, Buffer>>();
    const hung: (() => void)[] = [];
    let answering = false;
    const published: number[] = [];
    const write = (f: Record<string, Buffer>) => {
      const v = kept.size + 1;
      kept.set(v, f);
      published.push(v);
      return v;
    };
    const store = memoryWeightsStore(kept, (f) => (answering ? Promise.resolve(write(f)) : new Promise((resolve) => hung.push(() => resolve(write(f))))));
    const taken: string[] = [];
    const released: string[] = [];
    const lock = { acquire: async (k: string) => (taken.push(k), true), release: async (k: string) => void released.push(k), holds: () => true };
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg}: ${String((f?.error as Error | undefined)?.message)}`) };
    const accepted = Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    const { w, jobs } = setup(0, accepted, { weights: store, owns: () => true, roundLock: lock, log, publishTimeoutMs: 20 });
    await w.forecast(at(0));
    await w.forecast(at(60));
    await w.settled(); // ends at the deadline, not when the volume answers
    expect(jobs).toHaveLength(1);
    expect(warnings).toEqual(['could not publish fine-tuned weights; keeping the current ones: publishing fine-tuned weights: deadline exceeded after 0.02s']);
    expect(released).toEqual(['ns/app']); // the lock is not renewed on for as long as the volume hangs
    // Due again, but the last write has not ended: no round trains what it could not publish.
    await w.forecast(at(120));
    await w.forecast(at(121));
    expect(jobs).toHaveLength(1);
    expect(w.version).toBe(0);
    // The volume answers: the late version is on it and loads; the next round runs and publishes.
    answering = true;
    for (const end of hung.splice(0)) end();
    await new Promise((r) => setImmediate(r));
    await w.forecast(at(122));
    await w.settled();
    expect(w.version).toBe(1);
    expect(jobs).toHaveLength(2);
    expect(warnings).toHaveLength(1); // the next round published in time
    expect(published).toEqual([1, 2]);
    expect(taken).toEqual(['ns/app', 'ns/app']);
    expect(released).toEqual(['ns/app', 'ns/app']);
    await w.forecast(at(122 + FINE_TUNE_EFFECT_MINUTES));
    expect(w.version).toBe(2);
  } finally {
    tuned.dispose();
  }
});

// The process-wide bound on shared-volume operations (volume-ops.ts): when the volume holds every slot
// unanswered, a round is not trained for nothing, and a publish it refuses fails like any other.
test('while the shared volume refuses every operation no round starts; a publish refused mid-round keeps the current weights; rounds resume once it answers', async () => {
  const tuned = createModel(shape, 7);
  try {
    const kept = new Map<number, Record<string, Buffer>>();
    const publishes: number[] = [];
    const store = memoryWeightsStore(kept, async (f) => {
      kept.set(kept.size + 1, f);
      publishes.push(kept.size);
      return kept.size;
    });
    // Two operations of other workloads the volume does not answer fill the bound (stuck at once here).
    const gate = new VolumeGate({ limit: 2, stuckMs: 0 });
    const holding: (() => void)[] = [];
    const hang = () => {
      for (let i = 0; i < 2; i++) void gate.run('another workload', () => new Promise<void>((resolve) => holding.push(resolve)), 10).result.catch(() => undefined);
    };
    const answer = async () => {
      for (const end of holding.splice(0)) end();
      await new Promise((r) => setImmediate(r));
    };
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg}: ${String((f?.error as Error | undefined)?.message)}`) };
    let finish: (r: unknown) => void = () => {};
    const result = new Promise((resolve) => (finish = resolve));
    const { w, jobs } = setup(0, result, { weights: store, owns: () => true, log, volume: gate });
    await w.forecast(at(0));
    await w.settled();
    // Due at minute 60, but nothing could be published: no round trains, minute after minute.
    hang();
    await w.forecast(at(60));
    await w.forecast(at(61));
    expect(jobs).toHaveLength(0);
    await answer();
    await w.forecast(at(62));
    expect(jobs).toHaveLength(1);
    // The volume hangs again while the round trains: its publish is refused, like a failed one.
    hang();
    finish({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    await w.settled();
    expect(warnings).toEqual([expect.stringMatching(/^could not publish fine-tuned weights; keeping the current ones: publishing fine-tuned weights: not started, the 2 shared-volume operations allowed at once/)]);
    expect(publishes).toEqual([]);
    await w.forecast(at(62 + FINE_TUNE_EFFECT_MINUTES));
    expect(w.version).toBe(0);
    expect(gate.outstanding).toBe(2); // its own operations all ended: only the other workloads' are held
    // Once it answers, the next round publishes and its weights answer.
    await answer();
    await w.forecast(at(122));
    await w.settled();
    expect(jobs).toHaveLength(2);
    expect(publishes).toEqual([1]);
    await w.forecast(at(122 + FINE_TUNE_EFFECT_MINUTES));
    expect(w.version).toBe(1);
    expect(gate.outstanding).toBe(0);
  } finally {
    tuned.dispose();
  }
});

// The schedule lived only in the process: it learned of past rounds from the weights accepted ones
// published. An owner restarted more often than the interval, before any round was accepted, never
// fine-tuned (each restart waited an interval from its first forecast), and a replica taking over
// just after the owner's rejected round ran that round again. With the lock's record (round-lock.ts,
// the real client against the fake API server) neither happens.
describe('the fine-tuning schedule across restarts and takeovers', () => {
  const rejected = () => Promise.resolve({ accepted: false, reason: 'worse', baseLoss: 1, candidateLoss: 2, trainWindows: 1, holdoutWindows: 1 });
  const withKube = async (body: (lockOf: (identity: string) => RoundLock, annotations: () => Record<string, string>) => Promise<void>) => {
    const kube = await startFakeKube();
    try {
      const lockOf = (identity: string) => new RoundLock({ api: kube.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'amadeus', identity });
      await body(lockOf, () => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName('ns/app'))?.metadata?.annotations ?? {});
    } finally {
      await kube.close();
    }
  };
  const run = async (w: WorkloadLstm, m: number) => {
    await w.forecast(at(m));
    await w.settled();
  };

  test('an owner restarted every 50 minutes (interval 60) still runs its first round at minute 60 of the workload, not never', () =>
    withKube(async (lockOf, annotations) => {
      let first = setup(0, rejected(), { owns: () => true, roundLock: lockOf('amadeus-0') });
      await run(first.w, 0);
      expect(annotations()[FIRST_SEEN_ANNOTATION]).toBe(new Date(at(0).history.start + history.requests.length * MIN).toISOString());
      for (const restartAt of [50, 100]) {
        first.w.close();
        first = setup(0, rejected(), { owns: () => true, roundLock: lockOf('amadeus-0') });
        await run(first.w, restartAt - 1 + 1); // the restarted process's first forecast
        if (restartAt === 50) {
          for (let m = 51; m < 60; m++) await run(first.w, m);
          expect(first.jobs).toHaveLength(0);
          await run(first.w, 60);
          expect(first.jobs).toHaveLength(1); // an interval after the workload was first seen
        } else {
          // The rejected round at 60 is recalled: the next one at 120, not at 100 + 60.
          for (let m = 101; m < 120; m++) await run(first.w, m);
          expect(first.jobs).toHaveLength(0);
          await run(first.w, 120);
          expect(first.jobs).toHaveLength(1);
        }
      }
      expect(annotations()[LAST_ROUND_ANNOTATION]).toBe(new Date(at(120).history.start + history.requests.length * MIN).toISOString());
      first.w.close();
    }));

  test('a replica taking over just after the owner\'s rejected round does not run it again; it runs the next one an interval after it', () =>
    withKube(async (lockOf) => {
      let aOwns = true;
      const a = setup(0, rejected(), { owns: () => aOwns, roundLock: lockOf('amadeus-0') });
      const b = setup(0, rejected(), { owns: () => !aOwns, roundLock: lockOf('amadeus-1') });
      for (const m of [0, 60]) {
        await run(a.w, m);
        await run(b.w, m);
      }
      expect(a.jobs).toHaveLength(1); // rejected: nothing published for b to see
      aOwns = false; // a leaves the set
      for (let m = 61; m < 120; m++) await run(b.w, m);
      expect(b.jobs).toHaveLength(0);
      expect(b.w.nextRoundDue).toBe(at(120).history.start + history.requests.length * MIN);
      await run(b.w, 120);
      expect(b.jobs).toHaveLength(1);
      a.w.close();
      b.w.close();
    }));

  test('a lock the API server does not answer leaves the schedule as without one: the first round an interval after this process\'s first forecast', () =>
    withKube(async () => {
      const down = { acquire: async () => true, release: async () => {}, recall: async () => Promise.reject(new Error('list the fine-tuning locks: deadline exceeded after 10s')) };
      const { w, jobs } = setup(0, rejected(), { owns: () => true, roundLock: down });
      for (let m = 0; m < 60; m++) await run(w, m);
      expect(jobs).toHaveLength(0);
      await run(w, 60);
      expect(jobs).toHaveLength(1);
      w.close();
    }));
});

test('a restart with published weights runs the next round an interval after the round that published them, not an interval after the restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-ft-'));
  const tuned = createModel(shape, 7);
  try {
    const accepted = () => Promise.resolve({ accepted: true, reason: 'better', baseLoss: 2, candidateLoss: 1, trainWindows: 1, holdoutWindows: 1, weights: getWeights(tuned) });
    const a = setup(0, accepted(), { weightsDir: dir });
    await a.w.forecast(at(0));
    await a.w.forecast(at(60));
    await a.w.settled();
    expect(a.w.version).toBe(0); // published, answering from 70
    a.w.close();
    const b = setup(0, accepted(), { weightsDir: dir }); // restarted at 100
    await b.w.loaded;
    for (let m = 100; m < 120; m++) {
      await b.w.forecast(at(m));
      await b.w.settled();
    }
    expect(b.jobs).toHaveLength(0);
    await b.w.forecast(at(120));
    expect(b.jobs).toHaveLength(1);
    b.w.close();
  } finally {
    tuned.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
