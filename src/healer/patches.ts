/**
 * The JSON patches (`application/json-patch+json`) the healer writes workloads with, and their
 * preconditions. A patch starts with `test` operations on what its plan was made on — the
 * workload's `metadata.uid`, its `metadata.generation` (which changes with every spec change, and a Deployment's with
 * every annotation change too, and with nothing else)
 * and its `metadata.annotations` (where the healer's bookkeeping lives) — so a concurrent spec or
 * bookkeeping change makes the API server refuse it whole (422), while the status writes a
 * rollout makes every few seconds do not: unlike a resourceVersion precondition, they cannot turn
 * a healing action into a spurious failure.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';

export type JsonPatchOp = { op: 'test' | 'replace' | 'add' | 'remove'; path: string; value?: unknown };

/** A JSON pointer token: `~` and `/` escaped (RFC 6901). */
export const pointerToken = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The `test` operations a patch planned on `meta` starts with: its uid, generation and annotations
 * (their absence when there are none); the resourceVersion only when the object carries no
 * generation (not the case for apps/v1 objects).
 */
export function preconditions(meta: V1ObjectMeta | undefined): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  // A namesake made since the read (deleted and created again, as a deploy tool may) starts again
  // at generation 1 and may carry the same annotations: only its uid tells it from the one planned on.
  if (meta?.uid) ops.push({ op: 'test', path: '/metadata/uid', value: meta.uid });
  if (meta?.generation !== undefined) ops.push({ op: 'test', path: '/metadata/generation', value: meta.generation });
  else if (meta?.resourceVersion) ops.push({ op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion });
  // Without annotations, a patch that sets some adds the whole map: testing against null (which the
  // API server's json-patch passes only while the member is absent) keeps it from replacing a map
  // another writer added since the read.
  ops.push({ op: 'test', path: '/metadata/annotations', value: meta?.annotations ?? null });
  return ops;
}

/** What the preconditions test is still what `meta` says (after a 422: was it the test that failed?). */
export function preconditionsHold(planned: V1ObjectMeta | undefined, now: V1ObjectMeta | undefined): boolean {
  if (planned?.uid && planned.uid !== now?.uid) return false;
  if (planned?.generation !== undefined ? planned.generation !== now?.generation : planned?.resourceVersion !== now?.resourceVersion) return false;
  return JSON.stringify(sorted(planned?.annotations)) === JSON.stringify(sorted(now?.annotations));
}

const sorted = (m: Record<string, string> | undefined) => (m ? Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : m);

/** Sets annotations one by one (`add` sets or replaces a member); the whole map when there is none yet. */
export function annotationOps(meta: V1ObjectMeta | undefined, set: Record<string, string>): JsonPatchOp[] {
  if (meta?.annotations === undefined) return [{ op: 'add', path: '/metadata/annotations', value: { ...set } }];
  return Object.entries(set).map(([k, v]) => ({ op: 'add' as const, path: `/metadata/annotations/${pointerToken(k)}`, value: v }));
}
