/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods controlled by each ReplicaSet,
 * creating `<rs>-<random>` pods from its template and deleting the surplus (the least useful
 * first), and reports `status` (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
 * observedGeneration). A pod creation admission refuses (a ResourceQuota) ends the sync's creations,
 * as the real controller's slow-start batch does; they are tried again at every later sync, and the
 * condition ReplicaFailure (FailedCreate, with the first refusal's message) stays until a sync
 * creates all it needs.
 *
 * Not modelled: adoption of orphan pods and release of pods that stop matching (only pods with a
 * controller reference to the ReplicaSet count), burst limits and expectations (the fake's writes
 * are synchronous), pod-deletion-cost, the rate-limited back-off between failed syncs, FailedDelete.
 */
import type { V1Pod, V1ReplicaSet, V1ReplicaSetCondition } from '@kubernetes/client-node';
import type { Ctx } from './api.js';
import { isActive, isAvailable, isReady, omitZero, podFromTemplate, type Pod } from './pods.js';
import { controlledBy, controllerRef, randomSuffix, selectorMatches, semanticEqual, type Wire } from './util.js';

export type ReplicaSet = Wire<V1ReplicaSet>;

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * The order in which surplus pods go, like the controller's ActivePods ranking: unscheduled
 * before scheduled, Pending before Running, not ready before ready, ready for less time first,
 * more restarts first, newer first.
 */
function deletionOrder(a: Pod, b: Pod): number {
  const by = (f: (p: Pod) => number) => f(a) - f(b);
  const readySince = (p: Pod) => Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || 0;
  const restarts = (p: Pod) => Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
  return (
    by((p) => (p.spec?.nodeName ? 1 : 0)) ||
    by((p) => PHASE_RANK[p.status?.phase ?? 'Pending'] ?? 0) ||
    by((p) => (isReady(p) ? 1 : 0)) ||
    (isReady(a) && isReady(b) ? readySince(b) - readySince(a) : 0) ||
    by((p) => -restarts(p)) ||
    (Date.parse(b.metadata?.creationTimestamp ?? '') || 0) - (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) ||
    (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? '')
  );
}

export function reconcileReplicaSets(ctx: Ctx): void {
  const sets = ctx.api.list<V1ReplicaSet>('apps/v1', 'ReplicaSet');
  if (sets.length === 0) return;
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  for (const rs of sets) {
    const ns = rs.metadata?.namespace;
    syncReplicaSet(ctx, rs, pods.filter((p) => p.metadata?.namespace === ns && controlledBy(p, rs.metadata?.uid)), pods);
  }
}

function syncReplicaSet(ctx: Ctx, rs: ReplicaSet, owned: Pod[], allPods: Pod[]): void {
  const name = rs.metadata?.name ?? '';
  const namespace = rs.metadata?.namespace ?? '';
  const want = rs.spec?.replicas ?? 1;
  let active = owned.filter(isActive);
  let refused: string | undefined;

  if (active.length < want) {
    const taken = new Set(allPods.filter((p) => p.metadata?.namespace === namespace).map((p) => p.metadata?.name));
    for (let i = active.length; i < want && refused === undefined; i++) {
      let podName: string;
      do podName = `${name}-${randomSuffix(ctx.random)}`;
      while (taken.has(podName));
      taken.add(podName);
      const pod = podFromTemplate(rs.spec?.template, { name: podName, generateName: `${name}-`, namespace, owner: controllerRef(rs) });
      const created = ctx.api.create(pod, (message) => (refused = message));
      if (created) active = [...active, created];
    }
  } else if (active.length > want) {
    const doomed = [...active].sort(deletionOrder).slice(0, active.length - want);
    for (const p of doomed) ctx.api.delete(p);
    active = active.filter((p) => !doomed.includes(p));
  }

  // Status from the pods as they are after this sync (the fake's deletes are immediate), so the
  // Deployment controller never sees availability that is already gone.
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const status = omitZero(
    {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => selectorMatches({ matchLabels: rs.spec?.template?.metadata?.labels }, p.metadata?.labels)).length,
      readyReplicas: active.filter(isReady).length,
      availableReplicas: active.filter((p) => isAvailable(ctx, p, minReady)).length,
      observedGeneration: rs.metadata?.generation,
    },
    ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'],
  );
  const conditions = withReplicaFailure(rs.status?.conditions, refused, ctx.clock.iso());
  const next = { ...(conditions.length > 0 ? { conditions } : {}), ...status };
  if (!semanticEqual(next, rs.status)) ctx.api.updateStatus({ ...rs, status: next });
}

/** ReplicaFailure as the real controller keeps it: set (once) while creations are refused, dropped by a sync without a refusal. */
function withReplicaFailure(conditions: Wire<V1ReplicaSetCondition>[] | undefined, refused: string | undefined, now: string): Wire<V1ReplicaSetCondition>[] {
  const others = (conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
  if (refused === undefined) return others;
  const current = conditions?.find((c) => c.type === 'ReplicaFailure');
  return [...others, current ?? { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: refused, lastTransitionTime: now }];
}
