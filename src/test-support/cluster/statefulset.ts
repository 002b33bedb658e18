/**
 * The StatefulSet controller, after kube-controller-manager's (pkg/controller/statefulset):
 *
 * - Revisions: ControllerRevisions `<sts>-<hash>` (label `controller.kubernetes.io/hash`), see
 *   history.ts; `status.currentRevision` / `updateRevision`.
 * - Pods `<sts>-<ordinal>` with labels `controller-revision-hash` (the revision's name),
 *   `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`, hostname and
 *   subdomain. A pod below the RollingUpdate partition is (re)created at the current revision,
 *   any other at the update revision.
 * - OrderedReady (default): one pod created at a time, lowest ordinal first, each waiting for its
 *   predecessors to be Running and Ready; surplus pods deleted highest first, one at a time. A pod
 *   that is not Ready blocks everything after it, including the rolling update, which is why a
 *   set stuck on a broken revision stays stuck after its template is reverted until the broken
 *   pod is deleted (kubernetes/kubernetes#67250). Parallel: no waiting to create or delete.
 * - RollingUpdate: the highest ordinal not at the update revision (and not below the partition)
 *   is deleted, one at a time, each only once every higher ordinal is healthy again. When all
 *   pods are updated and ready, currentRevision becomes updateRevision. OnDelete: pods are only
 *   replaced when deleted (and currentRevision never advances, as on a real cluster).
 * - status: observedGeneration, replicas, readyReplicas, availableReplicas (minReadySeconds),
 *   currentReplicas, updatedReplicas, currentRevision, updateRevision, collisionCount.
 * - Revisions no pod runs beyond revisionHistoryLimit (default 10) are deleted.
 *
 * Not modelled: volumeClaimTemplates (no PVCs), maxUnavailable, persistentVolumeClaimRetentionPolicy,
 * ordinals.start, adoption of orphan pods or revisions, graceful termination (deletes are immediate).
 */
import type { V1ControllerRevision, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Ctx } from './api.js';
import { revisionTemplate, syncRevision, truncateHistory, type Revision } from './history.js';
import { isActive, isAvailable, isReady, omitZero, podFromTemplate, type Pod } from './pods.js';
import { controlledBy, controllerRef, semanticEqual, type Wire } from './util.js';

export type StatefulSet = Wire<V1StatefulSet>;

export const REVISION_LABEL = 'controller-revision-hash';
const HASH_LABEL = 'controller.kubernetes.io/hash';

export function reconcileStatefulSets(ctx: Ctx): void {
  const sets = ctx.api.list<V1StatefulSet>('apps/v1', 'StatefulSet');
  if (sets.length === 0) return;
  const revisions = ctx.api.list<V1ControllerRevision>('apps/v1', 'ControllerRevision');
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  for (const set of sets) {
    const ns = set.metadata?.namespace;
    const mine = <T extends { metadata?: { namespace?: string } }>(objs: T[]) =>
      objs.filter((o) => o.metadata?.namespace === ns && controlledBy(o as Pod, set.metadata?.uid));
    syncStatefulSet(ctx, set, mine(revisions), mine(pods));
  }
}

const terminating = (p: Pod) => p.metadata?.deletionTimestamp !== undefined;
const healthy = (p: Pod) => isReady(p) && !terminating(p);

function syncStatefulSet(ctx: Ctx, set: StatefulSet, revisions: Revision[], owned: Pod[]): void {
  const name = set.metadata?.name ?? '';
  const namespace = set.metadata?.namespace ?? '';
  const collisionCount = set.status?.collisionCount ?? 0;
  const synced = syncRevision(ctx, set, revisions, HASH_LABEL, collisionCount);
  if ('wrote' in synced) {
    if (synced.collision) ctx.api.updateStatus({ ...set, status: { ...set.status, collisionCount: collisionCount + 1 } });
    return;
  }
  const update = synced.update;
  const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;

  const replicas = set.spec?.replicas ?? 1;
  const monotonic = (set.spec?.podManagementPolicy ?? 'OrderedReady') !== 'Parallel';
  const strategy = set.spec?.updateStrategy;
  const rolling = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const partition = rolling ? (strategy?.rollingUpdate?.partition ?? 0) : 0;
  const minReady = set.spec?.minReadySeconds ?? 0;

  // Pods by ordinal; ones whose name is not <set>-<n> are not this set's identities.
  const byOrdinal = new Map<number, Pod>();
  const pattern = new RegExp(`^${name.replace(/[.]/g, '\\.')}-(0|[1-9]\\d*)$`);
  for (const p of owned.filter(isActive)) {
    const m = pattern.exec(p.metadata?.name ?? '');
    if (m) byOrdinal.set(Number(m[1]), p);
  }

  const newPod = (ordinal: number): Pod => {
    const rev = ordinal < partition ? current : update;
    const podName = `${name}-${ordinal}`;
    const pod = podFromTemplate(revisionTemplate(rev), {
      name: podName,
      namespace,
      owner: controllerRef(set),
      labels: { [REVISION_LABEL]: rev.metadata?.name ?? '', 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(ordinal) },
    });
    pod.spec = { ...pod.spec!, hostname: podName, ...(set.spec?.serviceName ? { subdomain: set.spec.serviceName } : {}) };
    return pod;
  };
  const create = (ordinal: number) => {
    const created = ctx.api.create(newPod(ordinal));
    if (created) byOrdinal.set(ordinal, created);
  };
  const remove = (ordinal: number) => {
    ctx.api.delete(byOrdinal.get(ordinal)!);
    byOrdinal.delete(ordinal);
  };

  step: {
    const ordinals = [...byOrdinal.keys()].sort((a, b) => a - b);
    const firstUnhealthy = ordinals.find((o) => !healthy(byOrdinal.get(o)!));
    for (let ord = 0; ord < replicas; ord++) {
      const pod = byOrdinal.get(ord);
      if (pod?.status?.phase === 'Failed') remove(ord); // failed pods are replaced at once
      if (!byOrdinal.has(ord)) {
        create(ord);
        if (monotonic) break step;
        continue;
      }
      const p = byOrdinal.get(ord)!;
      if (monotonic && (terminating(p) || !isReady(p) || !isAvailable(ctx, p, minReady))) break step;
    }
    // Scale down, highest ordinal first.
    for (const ord of ordinals.filter((o) => o >= replicas).reverse()) {
      const p = byOrdinal.get(ord)!;
      if (terminating(p)) {
        if (monotonic) break step;
        continue;
      }
      if (monotonic && !healthy(p) && ord !== firstUnhealthy) break step;
      remove(ord);
      if (monotonic) break step;
    }
    if (!rolling) break step;
    for (let target = replicas - 1; target >= partition; target--) {
      const p = byOrdinal.get(target);
      if (!p) break;
      if (p.metadata?.labels?.[REVISION_LABEL] !== update.metadata?.name && !terminating(p)) {
        remove(target);
        break;
      }
      if (!healthy(p)) break;
    }
  }

  // Status, from the pods as they are after this sync.
  const pods = [...byOrdinal.values()];
  const at = (rev: Revision) => pods.filter((p) => !terminating(p) && p.metadata?.labels?.[REVISION_LABEL] === rev.metadata?.name).length;
  const status = {
    observedGeneration: set.metadata?.generation,
    replicas: pods.length,
    readyReplicas: pods.filter(isReady).length,
    availableReplicas: pods.filter((p) => isAvailable(ctx, p, minReady)).length,
    currentReplicas: at(current),
    updatedReplicas: at(update),
    currentRevision: current.metadata?.name,
    updateRevision: update.metadata?.name,
    ...(set.status?.collisionCount !== undefined ? { collisionCount: set.status.collisionCount } : {}),
    ...(set.status?.conditions ? { conditions: set.status.conditions } : {}),
  };
  if (rolling && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
  const next = omitZero(status, ['observedGeneration', 'readyReplicas', 'currentReplicas', 'updatedReplicas']);
  if (!semanticEqual(next, set.status)) ctx.api.updateStatus({ ...set, status: next });

  const live = new Set([next.currentRevision, next.updateRevision, ...pods.map((p) => p.metadata?.labels?.[REVISION_LABEL])]);
  truncateHistory(ctx, revisions, live, set.spec?.revisionHistoryLimit ?? 10);
}
