import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './fake-kube-patch.js';

const errorOf = (fn: () => unknown): PatchError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError');
};

describe('JSON patch (RFC 6902)', () => {
  const doc = { a: { b: [1, 2, 3], 'x/y': 'slash', 't~': 'tilde' }, c: 'keep' };

  it('applies add, remove, replace, move, copy and test', () => {
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/c', value: 'keep' },
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'remove', path: '/a/b/1' },
      { op: 'replace', path: '/a/x~1y', value: 'replaced' },
      { op: 'move', from: '/a/t~0', path: '/moved' },
      { op: 'copy', from: '/c', path: '/copied' },
    ]);
    expect(out).toEqual({ a: { b: [0, 2, 3, 4], 'x/y': 'replaced' }, c: 'keep', moved: 'tilde', copied: 'keep' });
    expect(doc.a.b).toEqual([1, 2, 3]); // input untouched
  });

  it('is atomic: a failed test (or a missing path) applies nothing and answers 422', () => {
    const input = { spec: { replicas: 2 } };
    const err = errorOf(() =>
      applyJsonPatch(input, [
        { op: 'replace', path: '/spec/replicas', value: 9 },
        { op: 'test', path: '/spec/replicas', value: 2 },
      ]),
    );
    expect(err.status).toBe(422);
    expect(input.spec.replicas).toBe(2);
    expect(errorOf(() => applyJsonPatch(input, [{ op: 'remove', path: '/spec/missing' }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(input, [{ op: 'replace', path: '/nope/x', value: 1 }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(input, [{ op: 'add', path: '/spec/list/5', value: 1 }])).status).toBe(422);
  });

  it('tests against null as the API server does: passes on a missing member, fails on a present one', () => {
    const input = { metadata: { name: 'web' } as { name: string; annotations?: Record<string, string> } };
    const added = applyJsonPatch(input, [
      { op: 'test', path: '/metadata/annotations', value: null },
      { op: 'add', path: '/metadata/annotations', value: { a: '1' } },
    ]);
    expect(added.metadata.annotations).toEqual({ a: '1' });
    expect(errorOf(() => applyJsonPatch(added, [{ op: 'test', path: '/metadata/annotations', value: null }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(input, [{ op: 'test', path: '/missing/annotations', value: null }])).status).toBe(422);
  });

  it('rejects malformed patches with 400', () => {
    expect(errorOf(() => applyJsonPatch({}, { op: 'add' })).status).toBe(400);
    expect(errorOf(() => applyJsonPatch({}, [{ op: 'frobnicate', path: '/a' }])).status).toBe(400);
    expect(errorOf(() => applyJsonPatch({}, [{ op: 'add', path: '/a' }])).status).toBe(400);
  });
});

describe('merge patch (RFC 7386)', () => {
  it('merges objects, deletes on null and replaces lists', () => {
    const target = { a: 'b', c: { d: 'e', f: 'g' }, list: [{ name: 'x', v: 1 }, { name: 'y' }] };
    expect(applyMergePatch(target, { a: 'z', c: { f: null }, list: [{ name: 'x', v: 2 }] })).toEqual({
      a: 'z',
      c: { d: 'e' },
      list: [{ name: 'x', v: 2 }],
    });
    expect(target.c.f).toBe('g');
  });
});

describe('strategic merge patch', () => {
  const pod = {
    spec: {
      containers: [
        { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], resources: { limits: { cpu: '1', memory: '128Mi' } } },
        { name: 'sidecar', image: 'proxy:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      ],
      tolerations: [{ key: 'a', operator: 'Exists' }],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
    metadata: { finalizers: ['x'], labels: { app: 'web', old: 'yes' } },
  };

  it('merges keyed lists by their merge key and keeps the other elements', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {
        containers: [
          { name: 'app', env: [{ name: 'B', value: '3' }, { name: 'C', value: 'new' }], resources: { limits: { memory: '256Mi' } } },
          { name: 'debug', image: 'busybox' },
        ],
      },
    });
    expect(out.spec.containers).toEqual([
      {
        name: 'app',
        image: 'app:1',
        env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: 'new' }],
        resources: { limits: { cpu: '1', memory: '256Mi' } },
      },
      pod.spec.containers[1],
      { name: 'debug', image: 'busybox' },
    ]);
    expect(pod.spec.containers[0].resources?.limits.memory).toBe('128Mi'); // input untouched
  });

  it('replaces atomic lists, deletes on null, and merges finalizers as a set', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: { tolerations: [{ key: 'b', operator: 'Exists' }] },
      metadata: { finalizers: ['y', 'x'], labels: { old: null } },
    });
    expect(out.spec.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(out.metadata).toEqual({ finalizers: ['x', 'y'], labels: { app: 'web' } });
  });

  it('honours $patch delete/replace, $deleteFromPrimitiveList, and ignores $retainKeys and $setElementOrder', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {
        containers: [{ name: 'sidecar', $patch: 'delete' }],
        volumes: [{ name: 'cache', emptyDir: {} }, { $patch: 'replace' }],
        '$setElementOrder/containers': [{ name: 'app' }],
        $retainKeys: ['containers', 'volumes', 'tolerations'],
      },
      metadata: { '$deleteFromPrimitiveList/finalizers': ['x'], labels: { $patch: 'replace', fresh: 'yes' } },
    });
    expect(out.spec.containers.map((c) => c.name)).toEqual(['app']);
    expect(out.spec.volumes).toEqual([{ name: 'cache', emptyDir: {} }]);
    expect(out.metadata).toEqual({ finalizers: [], labels: { fresh: 'yes' } });
  });

  it('rejects a keyed list element without its merge key', () => {
    expect(errorOf(() => applyStrategicMergePatch(pod, { spec: { containers: [{ image: 'x' }] } })).status).toBe(422);
    expect(errorOf(() => applyStrategicMergePatch(pod, [])).status).toBe(400);
  });
});
