/**
 * Which workload a failing pod belongs to: Pod → ReplicaSet → Deployment, or Pod → StatefulSet, or
 * Pod → DaemonSet, following the controller ownerReference and checking the owner's uid (a workload
 * deleted and re-created under the same name is another workload). Anything else (a bare pod, a Job)
 * has no template the healer may change.
 */
import type { V1DaemonSet, V1Deployment, V1ObjectMeta, V1StatefulSet } from '@kubernetes/client-node';
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

/** Null when the owner is gone (404), is another object than the reference names, or is not a workload. */
export async function owningWorkload(api: KubeClients, namespace: string, podMeta: V1ObjectMeta): Promise<Workload | null> {
  const owner = ownerOf({ metadata: podMeta });
  if (!owner) return null;
  const read = async <T extends { metadata?: V1ObjectMeta }>(get: () => Promise<T>, uid: string): Promise<T | null> => {
    try {
      const obj = await get();
      return obj.metadata?.uid === uid ? obj : null;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  };
  switch (owner.kind) {
    case 'ReplicaSet': {
      const rs = await read(() => api.apps.readNamespacedReplicaSet({ namespace, name: owner.name }), owner.uid);
      const dep = ownerOf(rs);
      if (!rs || dep?.kind !== 'Deployment') return null;
      const object = await read(() => api.apps.readNamespacedDeployment({ namespace, name: dep.name }), dep.uid);
      return object ? { kind: 'Deployment', object } : null;
    }
    case 'StatefulSet': {
      const object = await read(() => api.apps.readNamespacedStatefulSet({ namespace, name: owner.name }), owner.uid);
      return object ? { kind: 'StatefulSet', object } : null;
    }
    case 'DaemonSet': {
      const object = await read(() => api.apps.readNamespacedDaemonSet({ namespace, name: owner.name }), owner.uid);
      return object ? { kind: 'DaemonSet', object } : null;
    }
    default:
      return null;
  }
}
