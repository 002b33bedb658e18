/**
 * The DaemonSet controller, simplified: one pod per node of the fake cluster (`<ds>-<random>`,
 * bound to its node directly), labels `controller-revision-hash` (the revision's hash, not its
 * name, unlike a StatefulSet's) and `pod-template-generation`. Revisions as in history.ts.
 * RollingUpdate (default maxUnavailable 1, an int or a percentage of the nodes): old pods that
 * are not available go first, then available ones while fewer than maxUnavailable nodes lack an
 * available pod; OnDelete: only deleted pods are replaced. status: desiredNumberScheduled,
 * currentNumberScheduled, numberReady, numberAvailable, updatedNumberScheduled,
 * numberUnavailable, numberMisscheduled (always 0), observedGeneration.
 *
 * Not modelled: node selectors, affinity, taints and tolerations (every node runs every
 * DaemonSet), maxSurge, adoption.
 */
import type { V1ControllerRevision, V1DaemonSet, V1Pod } from '@kubernetes/client-node';
import type { Ctx } from './api.js';
import { revisionTemplate, syncRevision, truncateHistory, type Revision } from './history.js';
import { isActive, isAvailable, isReady, omitZero, podFromTemplate, type Pod } from './pods.js';
import { controlledBy, controllerRef, intOrPercent, randomSuffix, semanticEqual, type Wire } from './util.js';

export type DaemonSet = Wire<V1DaemonSet>;
const HASH_LABEL = 'controller-revision-hash';

export function reconcileDaemonSets(ctx: Ctx): void {
  const sets = ctx.api.list<V1DaemonSet>('apps/v1', 'DaemonSet');
  if (sets.length === 0) return;
  const revisions = ctx.api.list<V1ControllerRevision>('apps/v1', 'ControllerRevision');
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  for (const ds of sets) {
    const ns = ds.metadata?.namespace;
    const uid = ds.metadata?.uid;
    syncDaemonSet(
      ctx,
      ds,
      revisions.filter((r) => r.metadata?.namespace === ns && controlledBy(r, uid)),
      pods.filter((p) => p.metadata?.namespace === ns && controlledBy(p, uid)),
      pods,
    );
  }
}

function syncDaemonSet(ctx: Ctx, ds: DaemonSet, revisions: Revision[], owned: Pod[], allPods: Pod[]): void {
  const name = ds.metadata?.name ?? '';
  const namespace = ds.metadata?.namespace ?? '';
  const collisionCount = ds.status?.collisionCount ?? 0;
  const synced = syncRevision(ctx, ds, revisions, HASH_LABEL, collisionCount);
  if ('wrote' in synced) {
    if (synced.collision) ctx.api.updateStatus({ ...ds, status: { ...ds.status!, collisionCount: collisionCount + 1 } });
    return;
  }
  const hash = synced.update.metadata?.labels?.[HASH_LABEL] ?? '';
  const nodes = ctx.nodes();
  const minReady = ds.spec?.minReadySeconds ?? 0;
  let pods = owned.filter(isActive);
  const taken = new Set(allPods.filter((p) => p.metadata?.namespace === namespace).map((p) => p.metadata?.name));

  // One pod per node (an updated one if any); pods on nodes that are gone, and duplicates, go.
  const kept: Pod[] = [];
  for (const node of nodes) {
    const onNode = pods.filter((p) => p.spec?.nodeName === node);
    const keep = onNode.find((p) => p.metadata?.labels?.[HASH_LABEL] === hash) ?? onNode[0];
    if (keep) kept.push(keep);
  }
  for (const p of pods) if (!kept.includes(p)) ctx.api.delete(p);
  pods = kept;

  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const maxUnavailable = Math.max(1, intOrPercent(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, 1, nodes.length, true));
    const old = pods.filter((p) => p.metadata?.labels?.[HASH_LABEL] !== hash);
    let unavailable = nodes.filter((n) => !pods.some((p) => p.spec?.nodeName === n && isAvailable(ctx, p, minReady))).length;
    for (const p of old) {
      const available = isAvailable(ctx, p, minReady);
      if (available && unavailable >= maxUnavailable) continue;
      ctx.api.delete(p);
      pods = pods.filter((q) => q !== p);
      if (available) unavailable++;
    }
  }

  for (const node of nodes) {
    if (pods.some((p) => p.spec?.nodeName === node)) continue;
    let podName: string;
    do podName = `${name}-${randomSuffix(ctx.random)}`;
    while (taken.has(podName));
    taken.add(podName);
    const pod = podFromTemplate(revisionTemplate(synced.update), {
      name: podName,
      generateName: `${name}-`,
      namespace,
      owner: controllerRef(ds),
      nodeName: node,
      labels: { [HASH_LABEL]: hash, 'pod-template-generation': String(ds.metadata?.generation ?? 1) },
    });
    const created = ctx.api.create(pod);
    if (created) pods.push(created);
  }

  const available = pods.filter((p) => isAvailable(ctx, p, minReady)).length;
  const status = omitZero(
    {
      desiredNumberScheduled: nodes.length,
      currentNumberScheduled: pods.length,
      numberMisscheduled: 0,
      numberReady: pods.filter(isReady).length,
      numberAvailable: available,
      updatedNumberScheduled: pods.filter((p) => p.metadata?.labels?.[HASH_LABEL] === hash).length,
      numberUnavailable: Math.max(0, nodes.length - available),
      observedGeneration: ds.metadata?.generation,
      ...(ds.status?.collisionCount !== undefined ? { collisionCount: ds.status.collisionCount } : {}),
    },
    ['numberAvailable', 'updatedNumberScheduled', 'numberUnavailable', 'observedGeneration'],
  );
  if (!semanticEqual(status, ds.status)) ctx.api.updateStatus({ ...ds, status });

  const live = new Set([synced.update.metadata?.name, ...pods.map((p) => `${name}-${p.metadata?.labels?.[HASH_LABEL]}`)]);
  truncateHistory(ctx, revisions, live, ds.spec?.revisionHistoryLimit ?? 10);
}
