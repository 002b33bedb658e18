import type { V1ContainerStatus, V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { HEAL_RULES } from './rules.js';
import { deploymentRolloutCompleted, longestRunAtLeast, podLongestRun, podsOfRevision, ranHealthyUnwatched, recordedUnwatched, statefulSetRolloutCompleted, unwatchedFinding } from './unwatched.js';

const NOW = Date.UTC(2024, 4, 14, 12, 0);
const t = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();
const MIN = 60;
const COMPLETED = 'its rollout completed';

/** A pod created (and started) `age` minutes ago whose one container has this status. */
function pod(age: number, status: Partial<V1ContainerStatus>, o: { name?: string; initDoneAgo?: number } = {}): V1Pod {
  return {
    metadata: { name: o.name ?? 'web-1', uid: `uid-${o.name ?? 'web-1'}`, creationTimestamp: t(age) as unknown as Date, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-2', uid: 'rs-2', controller: true }] },
    spec: { containers: [{ name: 'app' }] },
    status: {
      startTime: t(age) as unknown as Date,
      containerStatuses: [{ name: 'app', image: 'web:2', imageID: '', ready: false, restartCount: 0, ...status }],
      ...(o.initDoneAgo !== undefined ? { initContainerStatuses: [{ name: 'migrate', image: 'm', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, finishedAt: t(o.initDoneAgo) as unknown as Date } } }] } : {}),
    },
  };
}
/** In CrashLoopBackOff after `restarts` restarts, the last run from `from` to `to` minutes ago. */
const looping = (restarts: number, from: number, to: number): Partial<V1ContainerStatus> => ({
  restartCount: restarts,
  state: { waiting: { reason: 'CrashLoopBackOff' } },
  lastState: { terminated: { exitCode: 1, startedAt: t(from) as unknown as Date, finishedAt: t(to) as unknown as Date } },
});

describe('longestRunAtLeast', () => {
  test('a container that served three hours, then crash-looped twice: the pigeonhole over its pod start', () => {
    const p = pod(3 * 60 + 2, looping(2, 0.6, 0.5));
    // ((182 − 0.5) min − 3 × 6 min) / 3 ≈ 54 min
    expect(Math.floor(longestRunAtLeast(p.status!.containerStatuses![0]!, Date.parse(t(182)), NOW) / MIN)).toBe(54);
  });

  test('crash-looping since its start for an hour (12 restarts at the 5 min cap): nothing to show', () => {
    const p = pod(60, looping(12, 0.6, 0.5));
    // Only its last run (6 s) is sure.
    expect(longestRunAtLeast(p.status!.containerStatuses![0]!, Date.parse(t(60)), NOW)).toBe(6);
  });

  test('the last run and the current one count as they are (the current one less the clock margin)', () => {
    expect(longestRunAtLeast({ name: 'app', image: '', imageID: '', ready: false, restartCount: 40, lastState: { terminated: { exitCode: 1, startedAt: new Date(NOW - 30 * 60_000), finishedAt: new Date(NOW - 60_000) } } }, null, NOW)).toBe(29 * MIN);
    expect(longestRunAtLeast({ name: 'app', image: '', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date(NOW - 20 * 60_000) } } }, null, NOW)).toBe(18 * MIN);
  });
});

describe('podLongestRun', () => {
  test('a young pod (recreated less than the window and a margin ago) counts neither way', () => {
    expect(podLongestRun(pod(11, { restartCount: 0, state: { running: { startedAt: t(11) as unknown as Date } } }), NOW)).toBeNull();
    expect(podLongestRun(pod(11, looping(3, 1, 0.9)), NOW)).toBeNull();
    expect(podLongestRun(pod(13, looping(3, 1, 0.9)), NOW)).not.toBeNull();
  });

  test('time spent in init containers (a long migration) is not a run', () => {
    const p = pod(3 * 60, looping(2, 0.6, 0.5), { initDoneAgo: 5 });
    expect(podLongestRun(p, NOW)).toBe(6);
    expect(podLongestRun(pod(3 * 60, looping(2, 0.6, 0.5)), NOW)!).toBeGreaterThan(50 * MIN);
  });

  test('a container without a status yet shows no run', () => {
    const p = pod(60, looping(2, 0.6, 0.5));
    p.spec!.containers.push({ name: 'sidecar' });
    expect(podLongestRun(p, NOW)).toBe(0);
  });
});

describe('ranHealthyUnwatched', () => {
  const served = (name: string) => pod(3 * 60 + 2, looping(2, 0.6, 0.5), { name });

  test('rollout completed, every old pod ran for long → the evidence, saying what it used', () => {
    const e = ranHealthyUnwatched(COMPLETED, [served('a'), served('b'), served('c')], NOW, HEAL_RULES);
    expect(e).toBe(
      'its rollout completed, and each of its 3 pods older than 12 min ran every container at least 54 min without a restart (by the pod\'s start, its restart counts and the kubelet\'s back-off of at most 5 min per restart): longer than a crash loop since its start can explain',
    );
  });

  test('a young replacement pod is not counted; only young pods → no evidence', () => {
    const young = pod(2, looping(3, 0.2, 0.1), { name: 'young' });
    expect(ranHealthyUnwatched(COMPLETED, [served('a'), young], NOW)).toMatch(/its one pod older than 12 min \(1 younger not counted\) ran every container/);
    expect(ranHealthyUnwatched(COMPLETED, [young], NOW)).toBeNull();
    expect(ranHealthyUnwatched(COMPLETED, [], NOW)).toBeNull();
  });

  test('one old pod that crash-looped since its start → no evidence', () => {
    expect(ranHealthyUnwatched(COMPLETED, [served('a'), pod(60, looping(12, 0.6, 0.5), { name: 'b' })], NOW)).toBeNull();
  });

  test('without a completed rollout, long runs are not enough (never Ready, say)', () => {
    expect(ranHealthyUnwatched(null, [served('a')], NOW)).toBeNull();
  });

  test('the window is the rules’ knownGoodSeconds', () => {
    expect(ranHealthyUnwatched(COMPLETED, [served('a')], NOW, { ...HEAL_RULES, knownGoodSeconds: 60 * 60 })).toBeNull();
  });
});

describe('rollout completion', () => {
  const d = (cond: Record<string, unknown> | null): V1Deployment => ({ status: { conditions: cond ? [{ type: 'Progressing', status: 'True', lastUpdateTime: new Date(t(180)), ...cond } as never] : [] } });

  test('Deployment: NewReplicaSetAvailable naming this ReplicaSet', () => {
    expect(deploymentRolloutCompleted(d({ reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-2" has successfully progressed.' }), 'web-2')).toBe(
      `its rollout completed at ${t(180)} (the Deployment's Progressing condition: NewReplicaSetAvailable for ReplicaSet web-2)`,
    );
    expect(deploymentRolloutCompleted(d({ reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-1" has successfully progressed.' }), 'web-2')).toBeNull();
    expect(deploymentRolloutCompleted(d({ reason: 'ReplicaSetUpdated', message: 'ReplicaSet "web-2" is progressing.' }), 'web-2')).toBeNull();
    expect(deploymentRolloutCompleted(d({ status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-2" has timed out progressing.' }), 'web-2')).toBeNull();
    expect(deploymentRolloutCompleted(d(null), 'web-2')).toBeNull();
  });

  test('StatefulSet: the current revision under RollingUpdate, for the current generation', () => {
    const s = (o: Partial<V1StatefulSet['status']>, strategy?: string): V1StatefulSet => ({
      metadata: { generation: 2 },
      spec: { selector: {}, serviceName: '', template: {}, ...(strategy ? { updateStrategy: { type: strategy } } : {}) },
      status: { replicas: 3, observedGeneration: 2, currentRevision: 'db-2', updateRevision: 'db-2', ...o },
    });
    expect(statefulSetRolloutCompleted(s({}), 'db-2')).toMatch(/current revision/);
    expect(statefulSetRolloutCompleted(s({ currentRevision: 'db-1' }), 'db-2')).toBeNull();
    expect(statefulSetRolloutCompleted(s({ observedGeneration: 1 }), 'db-2')).toBeNull();
    expect(statefulSetRolloutCompleted(s({}, 'OnDelete'), 'db-2')).toBeNull();
  });
});

test('podsOfRevision: a ReplicaSet’s by controller uid; a StatefulSet revision’s by the set and the label; none being deleted', () => {
  const a = pod(60, {}, { name: 'a' });
  const gone = { ...pod(60, {}, { name: 'gone' }), metadata: { ...pod(60, {}, { name: 'gone' }).metadata, deletionTimestamp: new Date(NOW) } };
  expect(podsOfRevision([a, gone], 'Deployment', 'd-uid', { uid: 'rs-2' }).map((p) => p.metadata!.name)).toEqual(['a']);
  expect(podsOfRevision([a], 'Deployment', 'd-uid', { uid: 'rs-1' })).toEqual([]);
  const db = (name: string, rev: string): V1Pod => ({ metadata: { name, labels: { 'controller-revision-hash': rev }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts', controller: true }] } });
  expect(podsOfRevision([db('db-0', 'db-1'), db('db-2', 'db-2')], 'StatefulSet', 'sts', { name: 'db-2' }).map((p) => p.metadata!.name)).toEqual(['db-2']);
  expect(podsOfRevision([db('db-2', 'db-2')], 'StatefulSet', 'other', { name: 'db-2' })).toEqual([]);
});

describe('the finding recorded on the revision (amadeus.io/ran-healthy-unwatched)', () => {
  const KEY = 'amadeus.io/ran-healthy-unwatched';
  const EVIDENCE = 'its rollout completed at …, and each of its 3 pods older than 12 min ran every container at least 54 min without a restart';
  const now = new Date(NOW);
  const record = (o: Record<string, unknown>) => ({ [KEY]: JSON.stringify({ at: now.toISOString(), for: 'rs-2', evidence: EVIDENCE, ...o }) });

  test('found and not recorded yet: refused with what was found, recorded bound to the revision’s uid', () => {
    const finding = unwatchedFinding({ uid: 'rs-2', annotations: { 'amadeus.io/heal': 'true' } }, EVIDENCE, now);
    expect(finding).toEqual({ evidence: EVIDENCE, record: record({}) });
    expect(JSON.parse(finding!.record![KEY]!)).toEqual({ at: '2024-05-14T12:00:00.000Z', for: 'rs-2', evidence: EVIDENCE });
  });

  test('recorded on this revision: refused by the record, nothing to write — whatever the pods show now', () => {
    const meta = { uid: 'rs-2', annotations: record({ at: t(90) }) };
    expect(recordedUnwatched(meta)).toEqual({ at: t(90), for: 'rs-2', evidence: EVIDENCE });
    const finding = unwatchedFinding(meta, null, now);
    expect(finding).toEqual({ evidence: `as recorded on the revision at ${t(90)} (${KEY}): ${EVIDENCE}`, record: null });
    expect(unwatchedFinding(meta, 'found again', now)).toEqual(finding);
  });

  test('nothing found, nothing recorded: no finding (a revision that crash-looped from its start is rolled back as ever)', () => {
    expect(unwatchedFinding({ uid: 'rs-2', annotations: {} }, null, now)).toBeNull();
    expect(unwatchedFinding(undefined, null, now)).toBeNull();
  });

  // kubectl rollout undo copies a ReplicaSet's annotations onto the Deployment, whose controller
  // copies them onto every new ReplicaSet: a record names the revision it was made for.
  test('a record copied onto another revision counts for nothing there; what that revision shows itself is recorded over it', () => {
    const copied = { uid: 'rs-3', annotations: record({}) };
    expect(recordedUnwatched(copied)).toBeNull();
    expect(unwatchedFinding(copied, null, now)).toBeNull();
    expect(unwatchedFinding(copied, EVIDENCE, now)).toEqual({ evidence: EVIDENCE, record: record({ for: 'rs-3' }) });
  });

  test('no uid, an unreadable or incomplete record: counts for nothing; nothing is recorded without a uid to bind it to', () => {
    expect(recordedUnwatched({ annotations: record({}) })).toBeNull();
    expect(unwatchedFinding({ annotations: {} }, EVIDENCE, now)).toEqual({ evidence: EVIDENCE, record: null });
    for (const raw of ['true', '', '{', '[]', 'null', JSON.stringify({ at: t(0) }), JSON.stringify({ for: 'rs-2' }), JSON.stringify({ at: 'yesterday', for: 'rs-2' })]) {
      expect(recordedUnwatched({ uid: 'rs-2', annotations: { [KEY]: raw } })).toBeNull();
    }
    // The evidence is what it says, not what makes it count.
    expect(recordedUnwatched({ uid: 'rs-2', annotations: { [KEY]: JSON.stringify({ at: t(0), for: 'rs-2' }) } })).toEqual({ at: t(0), for: 'rs-2', evidence: '' });
    expect(unwatchedFinding({ uid: 'rs-2', annotations: { [KEY]: JSON.stringify({ at: t(0), for: 'rs-2' }) } }, null, now)!.evidence).toBe(`as recorded on the revision at ${t(0)} (${KEY})`);
  });
});
