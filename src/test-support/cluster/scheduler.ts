/**
 * Two small control-plane pieces the workload controllers rely on.
 *
 * The scheduler binds each unbound pod to the node running the fewest pods (ties: node order),
 * by setting spec.nodeName with an update (the real one POSTs a pods/binding, which the fake does
 * not serve). No resources, affinity, taints or topology spread.
 *
 * The garbage collector deletes ReplicaSets, pods and ControllerRevisions whose owners are all
 * gone (an owner is gone when no object of its kind and name has its uid), as foreground-less
 * background deletion does. Owners of kinds the fake does not serve are assumed present.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Ctx, Obj } from './api.js';
import { isTerminal } from './pods.js';

export function schedule(ctx: Ctx): void {
  const nodes = ctx.nodes();
  if (nodes.length === 0) return;
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  const load = new Map(nodes.map((n) => [n, 0]));
  for (const p of pods) if (p.spec?.nodeName && load.has(p.spec.nodeName) && !isTerminal(p)) load.set(p.spec.nodeName, load.get(p.spec.nodeName)! + 1);
  for (const p of pods) {
    if (p.spec?.nodeName || isTerminal(p) || p.metadata?.deletionTimestamp) continue;
    const node = nodes.reduce((best, n) => (load.get(n)! < load.get(best)! ? n : best), nodes[0]);
    if (ctx.api.update({ ...p, spec: { ...p.spec!, nodeName: node } })) load.set(node, load.get(node)! + 1);
  }
}

const DEPENDENTS: [string, string][] = [
  ['apps/v1', 'ReplicaSet'],
  ['apps/v1', 'ControllerRevision'],
  ['v1', 'Pod'],
];

export function collectGarbage(ctx: Ctx): void {
  for (const [apiVersion, kind] of DEPENDENTS) {
    for (const obj of ctx.api.list<Obj>(apiVersion, kind)) {
      const refs = obj.metadata?.ownerReferences ?? [];
      if (refs.length === 0) continue;
      const gone = refs.every((r) => {
        try {
          return ctx.api.get<Obj>(r.apiVersion, r.kind, obj.metadata?.namespace, r.name)?.metadata?.uid !== r.uid;
        } catch {
          return false; // a kind the fake does not serve
        }
      });
      if (gone) ctx.api.delete({ apiVersion, kind, metadata: obj.metadata });
    }
  }
}
