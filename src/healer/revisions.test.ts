/**
 * The continuous observation behind known-good marks and the rollback share (issue 19, defects 2
 * and 8): pod events, not samples, stop and start a revision's clock.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { crashLoopShareMet, replicaSetRevisionKey, RevisionTracker, revisionKeyOf, statefulSetRevisionKey } from './revisions.js';

let now = 0;
const tracker = () => new RevisionTracker(() => now);
const RS = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-uid', controller: true };

function pod(name: string, o: { ready?: boolean; restarts?: number; crash?: boolean; owner?: typeof RS; labels?: Record<string, string>; deleting?: boolean; started?: string } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'shop', uid: `${name}-uid`, labels: o.labels, ownerReferences: [o.owner ?? RS], ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false || o.crash ? 'False' : 'True' }],
      containerStatuses: [
        {
          name: 'web',
          image: 'web',
          imageID: '',
          ready: !(o.ready === false || o.crash),
          restartCount: o.restarts ?? (o.crash ? 4 : 0),
          state: o.crash ? { waiting: { reason: 'CrashLoopBackOff' } } : { running: o.started ? { startedAt: new Date(o.started) } : {} },
        },
      ],
    },
  };
}

const KEY = replicaSetRevisionKey('rs-uid');

beforeEach(() => (now = 1_000_000));

test('the clock starts when every pod is Ready, and only then (first sight counts from now)', () => {
  const t = tracker();
  t.observe(pod('a'));
  expect(t.stats(KEY)).toMatchObject({ pods: 1, ready: 1, healthySince: 1_000_000 });
  now += 1000;
  t.observe(pod('b', { ready: false })); // starting: no restart, never Ready yet
  expect(t.stats(KEY).healthySince).toBe(1_000_000); // a starting pod does not stop a running clock
  const fresh = tracker();
  fresh.observe(pod('b', { ready: false }));
  expect(fresh.stats(KEY).healthySince).toBeNull();
});

test('a restart, a Ready pod turning not Ready, a crash loop: each restarts the clock', () => {
  const t = tracker();
  t.observe(pod('a'));
  now += 10_000;
  t.observe(pod('a', { restarts: 1 })); // restarted and Ready again between two events
  expect(t.stats(KEY).healthySince).toBe(now);
  now += 10_000;
  t.observe(pod('a', { restarts: 1, ready: false }));
  expect(t.stats(KEY).healthySince).toBeNull();
  now += 10_000;
  t.observe(pod('a', { restarts: 1 }));
  expect(t.stats(KEY).healthySince).toBe(now);
  now += 10_000;
  t.observe(pod('a', { crash: true }));
  expect(t.stats(KEY)).toMatchObject({ crashLooping: 1, healthySince: null });
});

test('a crash-looping pod stays counted as crash-looping between crashes, until Ready', () => {
  const t = tracker();
  t.observe(pod('a', { crash: true }));
  t.observe(pod('a', { ready: false, restarts: 5 })); // running again, not Ready yet
  expect(t.stats(KEY).crashLooping).toBe(1);
  t.observe(pod('a', { restarts: 5 }));
  expect(t.stats(KEY).crashLooping).toBe(0);
});

test('a pod seen first not Ready after restarts is not healthy; deleted pods leave the count', () => {
  const t = tracker();
  t.observe(pod('a', { ready: false, restarts: 3 }));
  expect(t.stats(KEY).healthySince).toBeNull();
  t.observe(pod('a', { deleting: true }));
  expect(t.stats(KEY).pods).toBe(0);
  t.observe(pod('b'));
  t.forget(pod('b'));
  expect(t.stats(KEY).pods).toBe(0);
});

test('StatefulSet pods are counted per revision (controller-revision-hash)', () => {
  const sts = { ...RS, kind: 'StatefulSet', name: 'db', uid: 'sts-uid' };
  expect(revisionKeyOf(pod('db-0', { owner: sts, labels: { 'controller-revision-hash': 'db-2' } }))).toBe(statefulSetRevisionKey('sts-uid', 'db-2'));
  expect(revisionKeyOf(pod('db-0', { owner: sts }))).toBeNull();
  expect(revisionKeyOf(pod('job-x', { owner: { ...RS, kind: 'Job' } }))).toBeNull();
});

test.each([
  // crashing, pods, share, met
  [1, 1, 0.5, true],
  [1, 2, 0.5, false], // fewer than 3: all of them
  [2, 2, 0.5, true],
  [1, 3, 0.5, false],
  [2, 3, 0.5, true], // more than half
  [2, 4, 0.5, false], // half is not more than half
  [3, 4, 0.5, true],
  [2, 5, 0.25, true],
  [1, 4, 0.25, false],
  [4, 5, 1, false], // 1: all of them
  [5, 5, 1, true],
  [0, 3, 0.5, false],
])('%i crash-looping of %i pods, share %d: %s', (crashing, pods, share, met) => {
  expect(crashLoopShareMet(crashing, pods, share)).toBe(met);
});

// The safety audit: after a re-list (410 Gone) a StatefulSet pod deleted and recreated in the gap
// arrives as an update with a new uid, and no delete ever comes for the old one.
test('a namesake with a new uid replaces the old pod (no delete seen for it)', () => {
  const t = tracker();
  const STS = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid', controller: true };
  const key = statefulSetRevisionKey('sts-uid', 'db-1');
  const dbPod = (uid: string, o: { crash?: boolean } = {}) => {
    const p = pod('db-0', { owner: STS, labels: { 'controller-revision-hash': 'db-1' }, ...o });
    p.metadata!.uid = uid;
    return p;
  };
  t.observe(dbPod('old', { crash: true }));
  t.observe(pod('db-1', { owner: STS, labels: { 'controller-revision-hash': 'db-1' } }));
  t.observe(dbPod('new'));
  expect(t.stats(key)).toMatchObject({ pods: 2, ready: 2, crashLooping: 0 });
  t.forget(dbPod('old')); // a late delete of the old uid takes nothing else
  expect(t.stats(key)).toMatchObject({ pods: 2 });
  t.forget(dbPod('new'));
  expect(t.stats(key)).toMatchObject({ pods: 1 });
});

// A pod that moves to another revision (orphaned from its ReplicaSet and adopted by a namesake
// ReplicaSet with a new uid) is still known by its name: a re-list that no longer has it (deleted
// in a watch gap) takes it out of the revision it moved to, and a namesake pod replaces it.
test('a pod moved to another revision is still forgotten by a re-list without it, or replaced by a namesake', () => {
  const t = tracker();
  const RS2 = { ...RS, uid: 'rs2-uid' };
  const key2 = replicaSetRevisionKey('rs2-uid');
  t.observe(pod('a', { crash: true }));
  t.observe(pod('a', { crash: true, owner: RS2 }));
  expect(t.stats(KEY)).toMatchObject({ pods: 0 });
  expect(t.stats(key2)).toMatchObject({ pods: 1, crashLooping: 1 });
  t.relisted('shop', [pod('b', { owner: RS2 })]); // a deleted in the gap: its delete never came
  expect(t.stats(key2)).toMatchObject({ pods: 1, ready: 1, crashLooping: 0 });

  const u = tracker();
  u.observe(pod('a', { crash: true }));
  u.observe(pod('a', { crash: true, owner: RS2 }));
  const namesake = pod('a', { owner: RS2 });
  namesake.metadata!.uid = 'a-new-uid';
  u.observe(namesake);
  expect(u.stats(key2)).toMatchObject({ pods: 1, ready: 1, crashLooping: 0 });
});

test('the newest running container start over a revision\'s pods (what a crash-looped revision is proved by); none running: null', () => {
  const t = tracker();
  expect(t.stats(KEY).lastStart).toBeNull();
  t.observe(pod('a', { started: '2026-01-01T10:00:00Z' }));
  t.observe(pod('b', { crash: true }));
  expect(t.stats(KEY).lastStart).toBe(Date.parse('2026-01-01T10:00:00Z'));
  t.observe(pod('b', { started: '2026-01-01T11:00:00Z', restarts: 5 })); // its container restarted and runs
  expect(t.stats(KEY).lastStart).toBe(Date.parse('2026-01-01T11:00:00Z'));
  t.forget(pod('b'));
  expect(t.stats(KEY).lastStart).toBe(Date.parse('2026-01-01T10:00:00Z'));
});

test('a failed watch stops the clocks of its scope; back, or re-listed, they count from then (pods missing from the list are gone)', () => {
  const t = tracker();
  t.observe(pod('a'));
  t.observe(pod('b'));
  now += 300_000;
  t.unwatched('other'); // another namespace's watch
  expect(t.stats(KEY).healthySince).toBe(1_000_000);
  t.unwatched('shop');
  expect(t.stats(KEY).healthySince).toBeNull();
  now += 60_000;
  t.rewatched('shop');
  expect(t.stats(KEY).healthySince).toBe(1_360_000);
  now += 60_000;
  t.relisted(null, [pod('a')]); // b deleted in a gap: its delete never came
  expect(t.stats(KEY)).toMatchObject({ pods: 1, ready: 1, healthySince: 1_420_000 });
  t.unwatched(null);
  t.observe(pod('b', { ready: false })); // a pod still starting does not start a clock
  t.rewatched(null);
  expect(t.stats(KEY).healthySince).toBeNull();
});

test('oldestCreated: the creation of the oldest pod the revision has (null when it has none, or one of unknown age)', () => {
  const t = tracker();
  const made = (p: V1Pod, at: string) => ({ ...p, metadata: { ...p.metadata, creationTimestamp: new Date(at) } });
  expect(t.stats(KEY).oldestCreated).toBeNull();
  t.observe(made(pod('a'), '2024-05-14T12:00:00Z'));
  t.observe(made(pod('b'), '2024-05-14T12:05:00Z'));
  expect(t.stats(KEY).oldestCreated).toBe(Date.parse('2024-05-14T12:00:00Z'));
  t.forget(pod('a'));
  expect(t.stats(KEY).oldestCreated).toBe(Date.parse('2024-05-14T12:05:00Z'));
  t.observe(pod('c')); // no creationTimestamp: its age cannot be told
  expect(t.stats(KEY).oldestCreated).toBeNull();
});
