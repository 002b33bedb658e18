/**
 * Which workload a failing pod belongs to: Pod → ReplicaSet → Deployment, or Pod → StatefulSet, or
 * Pod → DaemonSet, following the controller ownerReference and checking the owner's uid (a workload
 * deleted and re-created under the same name is another workload). Pods of what the healer does
 * not patch — a Job (or its CronJob), an Argo Rollouts Rollout, a ReplicaSet no Deployment controls,
 * no controller at all — resolve to that owner, so the report can say why nothing was done. And label selectors, whole.
 */
import type { V1DaemonSet, V1Deployment, V1LabelSelector, V1ObjectMeta, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ownerOf } from './detect.js';
import type { WorkloadRef } from './events.js';
import { statusOf, type KubeClients } from './kube.js';

export type Workload =
  | { kind: 'Deployment'; object: V1Deployment }
  | { kind: 'StatefulSet'; object: V1StatefulSet }
  | { kind: 'DaemonSet'; object: V1DaemonSet };

export function refOf(w: Workload): WorkloadRef {
  const m = w.object.metadata!;
  return { apiVersion: 'apps/v1', kind: w.kind, namespace: m.namespace!, name: m.name!, uid: m.uid };
}

/** Why a pod's owner is not healed: the reason code of its report. */
export type UnhealableReason = 'bare-pod' | 'bare-replicaset' | 'job' | 'argo-rollouts';

/** A pod's owner that has no template the healer may change, with what opts it in to reports. */
export interface Unhealable {
  reason: UnhealableReason;
  /** The object reports are about (the CronJob of a Job that has one). */
  ref: WorkloadRef;
  /** Annotations that may carry `amadeus.io/heal` (a Job's and its CronJob's, merged). */
  annotations: Record<string, string>;
}

export type Owner = { kind: 'workload'; workload: Workload } | { kind: 'unhealable'; owner: Unhealable };

const ROLLOUT = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' } as const;

/** Reads an object, or null when it is gone (404) or is another object than the reference names (uid). */
async function readOwned<T extends { metadata?: V1ObjectMeta }>(get: () => Promise<T>, uid: string): Promise<T | null> {
  try {
    const obj = await get();
    return obj.metadata?.uid === uid ? obj : null;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

const refTo = (apiVersion: string, kind: string, meta: V1ObjectMeta | undefined, namespace: string): WorkloadRef => ({
  apiVersion,
  kind,
  namespace,
  name: meta?.name ?? '',
  uid: meta?.uid,
});

/** The owner a failing pod is healed (or reported) through; null when there is none to speak of. */
export async function resolveOwner(api: KubeClients, namespace: string, pod: V1Pod): Promise<Owner | null> {
  const owner = ownerOf(pod);
  if (!owner) return { kind: 'unhealable', owner: { reason: 'bare-pod', ref: refTo('v1', 'Pod', pod.metadata, namespace), annotations: pod.metadata?.annotations ?? {} } };
  switch (owner.kind) {
    case 'ReplicaSet': {
      const rs = await readOwned(() => api.apps.readNamespacedReplicaSet({ namespace, name: owner.name }), owner.uid);
      if (!rs) return null;
      const top = ownerOf(rs);
      // A ReplicaSet no Deployment controls (made directly, or orphaned): its template changes only
      // the pods it creates afterwards, and it keeps no revisions — reported, like a bare pod.
      if (!top) return { kind: 'unhealable', owner: { reason: 'bare-replicaset', ref: refTo('apps/v1', 'ReplicaSet', rs.metadata, namespace), annotations: rs.metadata?.annotations ?? {} } };
      if (top.kind === 'Deployment' && top.apiVersion === 'apps/v1') {
        const object = await readOwned(() => api.apps.readNamespacedDeployment({ namespace, name: top.name }), top.uid);
        return object ? { kind: 'workload', workload: { kind: 'Deployment', object } } : null;
      }
      if (top.kind === 'Rollout' && top.apiVersion.startsWith(`${ROLLOUT.group}/`)) {
        const rollout = await readOwned(
          () => api.custom.getNamespacedCustomObject({ ...ROLLOUT, namespace, name: top.name }) as Promise<{ metadata?: V1ObjectMeta }>,
          top.uid,
        );
        if (!rollout) return null;
        return { kind: 'unhealable', owner: { reason: 'argo-rollouts', ref: refTo(top.apiVersion, 'Rollout', rollout.metadata, namespace), annotations: rollout.metadata?.annotations ?? {} } };
      }
      return null;
    }
    case 'StatefulSet': {
      const object = await readOwned(() => api.apps.readNamespacedStatefulSet({ namespace, name: owner.name }), owner.uid);
      return object ? { kind: 'workload', workload: { kind: 'StatefulSet', object } } : null;
    }
    case 'DaemonSet': {
      const object = await readOwned(() => api.apps.readNamespacedDaemonSet({ namespace, name: owner.name }), owner.uid);
      return object ? { kind: 'workload', workload: { kind: 'DaemonSet', object } } : null;
    }
    case 'Job': {
      const job = await readOwned(() => api.batch.readNamespacedJob({ namespace, name: owner.name }), owner.uid);
      if (!job) return null;
      const cronRef = ownerOf(job);
      const cron = cronRef?.kind === 'CronJob' ? await readOwned(() => api.batch.readNamespacedCronJob({ namespace, name: cronRef.name }), cronRef.uid) : null;
      const top = cron ? refTo('batch/v1', 'CronJob', cron.metadata, namespace) : refTo('batch/v1', 'Job', job.metadata, namespace);
      return { kind: 'unhealable', owner: { reason: 'job', ref: top, annotations: { ...(cron?.metadata?.annotations ?? {}), ...(job.metadata?.annotations ?? {}) } } };
    }
    default:
      return null;
  }
}

/** A Deployment's, StatefulSet's or DaemonSet's own reference, for a re-read. */
export async function readWorkload(api: KubeClients, w: Workload): Promise<Workload> {
  const { namespace, name } = w.object.metadata! as Required<Pick<V1ObjectMeta, 'namespace' | 'name'>>;
  switch (w.kind) {
    case 'Deployment':
      return { kind: w.kind, object: await api.apps.readNamespacedDeployment({ namespace, name }) };
    case 'StatefulSet':
      return { kind: w.kind, object: await api.apps.readNamespacedStatefulSet({ namespace, name }) };
    case 'DaemonSet':
      return { kind: w.kind, object: await api.apps.readNamespacedDaemonSet({ namespace, name }) };
  }
}

// ---------------------------------------------------------------------------------------------
// Selectors

/**
 * A label selector as the `labelSelector` query parameter spells it: matchLabels and
 * matchExpressions (`In`, `NotIn`, `Exists`, `DoesNotExist`), all ANDed. Undefined for no selector
 * (which lists everything: callers also filter by owner uid, never by labels alone).
 */
export function selectorString(selector: V1LabelSelector | undefined): string | undefined {
  if (!selector) return undefined;
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    switch (e.operator) {
      case 'In':
        terms.push(`${e.key} in (${values})`);
        break;
      case 'NotIn':
        terms.push(`${e.key} notin (${values})`);
        break;
      case 'Exists':
        terms.push(e.key);
        break;
      case 'DoesNotExist':
        terms.push(`!${e.key}`);
        break;
      default:
        // An operator this code does not know: no selector string could be right; match nothing.
        throw new Error(`unsupported label selector operator ${JSON.stringify(e.operator)}`);
    }
  }
  return terms.length > 0 ? terms.join(',') : undefined;
}

/** Labels satisfy the whole selector (matchLabels and matchExpressions). An empty selector matches nothing here: a workload always has one. */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  const exprs = selector.matchExpressions ?? [];
  if (Object.keys(selector.matchLabels ?? {}).length === 0 && exprs.length === 0) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of exprs) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key]!);
    const ok = e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? has : e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}
