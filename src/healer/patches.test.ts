/**
 * The healer's patch preconditions against the fake API server's JSON patch (which follows the API
 * server's json-patch library, `test` against null included).
 */
import type { V1Deployment, V1ObjectMeta } from '@kubernetes/client-node';
import { applyJsonPatch, PatchError } from '../test-support/fake-kube-patch.js';
import { annotationOps, preconditions, preconditionsHold } from './patches.js';

const planned: V1Deployment = { metadata: { name: 'web', generation: 4 }, spec: { selector: {}, template: {} } };

test('planned on an object without annotations: the patch adds the map only while there still is none', () => {
  const ops = [...preconditions(planned.metadata), ...annotationOps(planned.metadata, { 'amadeus.io/last-oom-bump': 'm' })];
  expect(ops.slice(0, 2)).toEqual([
    { op: 'test', path: '/metadata/generation', value: 4 },
    { op: 'test', path: '/metadata/annotations', value: null },
  ]);
  expect(applyJsonPatch(planned, ops).metadata!.annotations).toEqual({ 'amadeus.io/last-oom-bump': 'm' });
  // Another writer annotated it since the read: refused whole (422), its annotation not replaced.
  const since = structuredClone(planned);
  since.metadata!.annotations = { 'team.example/owner': 'payments' };
  let err: unknown;
  try {
    applyJsonPatch(since, ops);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PatchError);
  expect((err as PatchError).status).toBe(422);
});

test('planned on annotations: they are tested as they were', () => {
  const meta = { ...planned.metadata, annotations: { 'amadeus.io/heal': 'true' } };
  expect(preconditions(meta)).toEqual([
    { op: 'test', path: '/metadata/generation', value: 4 },
    { op: 'test', path: '/metadata/annotations', value: { 'amadeus.io/heal': 'true' } },
  ]);
});

test('planned on one object, a namesake made since (same name, generation and annotations, another uid) refuses the patch whole', () => {
  const meta: V1ObjectMeta = { ...planned.metadata, uid: 'uid-old', generation: 1, annotations: { 'amadeus.io/heal': 'true' } };
  const ops = [...preconditions(meta), ...annotationOps(meta, { 'amadeus.io/last-oom-bump': 'm' })];
  expect(ops[0]).toEqual({ op: 'test', path: '/metadata/uid', value: 'uid-old' });
  expect(applyJsonPatch({ ...planned, metadata: meta }, ops).metadata!.annotations!['amadeus.io/last-oom-bump']).toBe('m');
  const namesake: V1Deployment = { ...planned, metadata: { ...meta, uid: 'uid-new' } };
  expect(() => applyJsonPatch(namesake, ops)).toThrow(PatchError);
  expect(preconditionsHold(meta, namesake.metadata)).toBe(false);
  expect(preconditionsHold(meta, { ...meta })).toBe(true);
});
