import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { detectFailures, ownerOf } from './detect.js';
import { HEAL_RULES, resolveHealRules } from './rules.js';

const fixture = (name: string): V1Pod => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as V1Pod;

function webStatus(pod: V1Pod) {
  const s = pod.status!.containerStatuses!.find((c) => c.name === 'web');
  if (!s) throw new Error('fixture without a web container');
  return s;
}

test('an OOMKilled container (restarted, running again) is oom-killed', () => {
  const failures = detectFailures(fixture('oomkilled-pod.json'));
  expect(failures).toEqual([
    {
      kind: 'oom-killed',
      container: 'web',
      init: false,
      restartCount: 1,
      key: '5b3f0c2e-9a41-4d7e-b6f2-1c8e4a7d9f30/web/oom-killed/2f7c9a1e5b3d48c6a0e2f4b6d8c1a3e5f7b9d2c4e6a8f0b1d3c5e7a9f2b4d6c8',
      exitCode: 137,
      finishedAt: Date.parse('2024-05-14T09:47:41Z'),
      message: 'OOMKilled',
    },
  ]);
});

test('a crash-looping container is crash-loop, the other container is fine', () => {
  const failures = detectFailures(fixture('crashloop-pod.json'));
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ kind: 'crash-loop', container: 'web', restartCount: 5, exitCode: 1 });
  expect(failures[0].message).toMatch(/^back-off 2m40s restarting failed container=web/);
  expect(failures[0].key).toBe('8c4e2a6f-1d3b-4e5a-a7c9-0b2d4f6e8a1c/web/crash-loop/c3a5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5');
});

test('a crash loop caused by OOM kills is oom-killed, not crash-loop: memory is the fix', () => {
  const failures = detectFailures(fixture('oom-crashloop-pod.json'));
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ kind: 'oom-killed', container: 'web', restartCount: 4, exitCode: 137 });
});

test.each([
  [0, []],
  [1, []],
  [2, ['crash-loop']],
])('crash loop with %d restarts (threshold 2) → %j', (restarts, kinds) => {
  const pod = fixture('crashloop-pod.json');
  webStatus(pod).restartCount = restarts;
  expect(detectFailures(pod).map((f) => f.kind)).toEqual(kinds);
});

test('the threshold is a rule', () => {
  const pod = fixture('crashloop-pod.json');
  expect(detectFailures(pod, resolveHealRules({ crashLoopMinRestarts: 6 }))).toEqual([]);
  expect(detectFailures(pod, HEAL_RULES)).toHaveLength(1);
});

test('an OOM kill is reported whatever the restart count', () => {
  const pod = fixture('oom-crashloop-pod.json');
  webStatus(pod).restartCount = 1;
  expect(detectFailures(pod).map((f) => f.kind)).toEqual(['oom-killed']);
});

test('a healthy pod, or one without status, has no failures', () => {
  const pod = fixture('oomkilled-pod.json');
  webStatus(pod).lastState = {};
  expect(detectFailures(pod)).toEqual([]);
  expect(detectFailures({ metadata: { name: 'pending' } })).toEqual([]);
});

test('other waiting reasons are not crash loops', () => {
  const pod = fixture('crashloop-pod.json');
  webStatus(pod).state = { waiting: { reason: 'ContainerCreating' } };
  expect(detectFailures(pod)).toEqual([]);
});

test('an image that cannot be pulled is image-pull (reported, never healed), once per pod and image', () => {
  const pod = fixture('crashloop-pod.json');
  webStatus(pod).state = { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "ghcr.io/acme/web:2.4.1"' } };
  const [f] = detectFailures(pod);
  expect(f).toMatchObject({ kind: 'image-pull', container: 'web', message: 'ImagePullBackOff: Back-off pulling image "ghcr.io/acme/web:2.4.1"' });
  expect(f!.key).toBe('8c4e2a6f-1d3b-4e5a-a7c9-0b2d4f6e8a1c/web/image-pull/ghcr.io/acme/web:2.4.1');
  webStatus(pod).state = { waiting: { reason: 'ErrImagePull' } };
  expect(detectFailures(pod)[0]!.key).toBe(f!.key);
});

describe('idempotency key', () => {
  test('stable across re-delivery of the same event and a re-read of the object', () => {
    const a = detectFailures(fixture('oomkilled-pod.json'))[0].key;
    const b = detectFailures(fixture('oomkilled-pod.json'))[0].key;
    expect(a).toBe(b);
    // an unrelated status change (readiness flip) of the same pod keeps the key
    const pod = fixture('oomkilled-pod.json');
    webStatus(pod).ready = false;
    pod.metadata!.resourceVersion = '48299999';
    expect(detectFailures(pod)[0].key).toBe(a);
  });

  test('the same termination: state.terminated now, lastState.terminated after the restart → one key', () => {
    const restarted = fixture('oomkilled-pod.json');
    const justKilled = fixture('oomkilled-pod.json');
    const s = webStatus(justKilled);
    s.state = { terminated: s.lastState!.terminated! };
    s.lastState = {};
    s.restartCount = 0;
    expect(detectFailures(justKilled)[0].key).toBe(detectFailures(restarted)[0].key);
  });

  test('the next termination has another key', () => {
    const first = detectFailures(fixture('oomkilled-pod.json'))[0];
    const pod = fixture('oomkilled-pod.json');
    const s = webStatus(pod);
    s.lastState = {
      terminated: { ...s.lastState!.terminated!, containerID: 'containerd://aa11bb22cc33', finishedAt: new Date('2024-05-14T11:02:00Z') },
    };
    s.restartCount = 2;
    expect(detectFailures(pod)[0].key).not.toBe(first.key);
  });

  test('without a container ID: finishedAt (Date or string alike), else the restart count', () => {
    const asString = fixture('crashloop-pod.json');
    delete webStatus(asString).lastState!.terminated!.containerID;
    const asDate = fixture('crashloop-pod.json');
    const t = webStatus(asDate).lastState!.terminated!;
    delete t.containerID;
    t.finishedAt = new Date(t.finishedAt as unknown as string);
    expect(detectFailures(asString)[0].key).toBe('8c4e2a6f-1d3b-4e5a-a7c9-0b2d4f6e8a1c/web/crash-loop/finished-2024-05-14T10:25:49.000Z');
    expect(detectFailures(asDate)[0].key).toBe(detectFailures(asString)[0].key);

    const bare = fixture('crashloop-pod.json');
    webStatus(bare).lastState = {};
    expect(detectFailures(bare)[0].key).toBe('8c4e2a6f-1d3b-4e5a-a7c9-0b2d4f6e8a1c/web/crash-loop/restart-5');
  });

  test('different pods, different keys', () => {
    const a = fixture('oomkilled-pod.json');
    const b = fixture('oomkilled-pod.json');
    b.metadata!.uid = '11111111-2222-3333-4444-555555555555';
    expect(detectFailures(a)[0].key).not.toBe(detectFailures(b)[0].key);
  });
});

test('init containers are detected too, flagged init', () => {
  const pod = fixture('oomkilled-pod.json');
  const web = webStatus(pod);
  pod.status!.initContainerStatuses = [{ ...web, name: 'migrate' }];
  web.lastState = {};
  expect(detectFailures(pod)).toEqual([expect.objectContaining({ kind: 'oom-killed', container: 'migrate', init: true })]);
});

describe('ownerOf', () => {
  test('the controller reference', () => {
    expect(ownerOf(fixture('oomkilled-pod.json'))).toEqual({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c6f5d', uid: '0f6a2d8e-3c1b-4f5a-9e27-6b8d4c2a1e90' });
  });

  test('non-controller references are not owners; no references, no owner', () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u1' };
    expect(ownerOf({ metadata: { ownerReferences: [ref, { ...ref, controller: false }] } })).toBeNull();
    expect(
      ownerOf({ metadata: { ownerReferences: [ref, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u2', controller: true }] } }),
    ).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u2' });
    expect(ownerOf({ metadata: {} })).toBeNull();
    expect(ownerOf(undefined)).toBeNull();
  });
});
