/**
 * Two small control-plane pieces the workload controllers rely on.
 *
 * The scheduler binds each unbound pod to a node that can take it, as kube-scheduler's filters
 * decide for what the fake models: the node is Ready and not cordoned (`spec.unschedulable`), its
 * labels match the pod's `nodeSelector`, the pod tolerates its NoSchedule and NoExecute taints, it has room for one more pod (`allocatable.pods`), and its
 * allocatable memory less the memory requests of the non-terminal pods bound to it (terminating
 * ones included: they hold their room until they are gone) fits the pod's request (NodeResourcesFit,
 * see {@link podMemoryRequest}). Among those it takes the node running the fewest pods (ties: node
 * order), by setting spec.nodeName with an update (the real one POSTs a pods/binding, which the
 * fake does not serve). A pod no node can take stays Pending with condition PodScheduled=False,
 * reason Unschedulable, and a message in kube-scheduler's words (`0/3 nodes are available: 3
 * Insufficient memory.`); it is tried again at every round. Not modelled: CPU and other resources,
 * affinity, the taints the node lifecycle controller adds (a not-Ready or cordoned node is simply
 * filtered, as its taint would for a pod that does not tolerate it), topology spread, preemption.
 *
 * The garbage collector deletes ReplicaSets, pods and ControllerRevisions whose owners are all
 * gone (an owner is gone when no object of its kind and name has its uid), as foreground-less
 * background deletion does. Owners of kinds the fake does not serve are assumed present.
 */
import type { V1Node, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import type { Ctx, Obj } from './api.js';
import { isTerminal } from './pods.js';
import { bytesOf, type Wire } from './util.js';

type Resources = { requests?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined;
type Container = { resources?: Resources; restartPolicy?: string };
type PodSpecLike = { containers?: Container[]; initContainers?: Container[]; resources?: Resources; overhead?: Record<string, unknown> };

const memoryOf = (q: unknown): number | undefined => (typeof q === 'string' || typeof q === 'number' ? bytesOf(q) : undefined);
/** A container's memory request; its limit when unset (kube-apiserver defaults the request so); 0 when neither. */
const requestOf = (c: Container): number => memoryOf(c.resources?.requests?.memory) ?? memoryOf(c.resources?.limits?.memory) ?? 0;

/**
 * The memory a pod requests of a node, as kube-scheduler's NodeResourcesFit computes it
 * (`computePodResourceRequest` in pkg/scheduler/framework/plugins/noderesources/fit.go, which calls
 * `PodRequests` of k8s.io/component-helpers/resource/helpers.go): pod-level requests when the pod
 * sets them (KEP-2837; an unset pod-level request is its limit when no container states its
 * memory, else the containers' sum, as the API server defaults it);
 * otherwise the containers' requests summed, restartable init containers (sidecars) included, or
 * — when larger — the largest of the regular init containers' requests, each plus the sidecars
 * declared before it (they run beside it); then the pod's `overhead` added.
 */
export function podMemoryRequest(spec: PodSpecLike | undefined): number {
  // A pod-level limit alone is the pod's request only when no container states its memory; else the
  // API server defaults the pod's request to the containers' sum (KEP-2837's defaulting).
  const stated = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((c) => c.resources?.requests?.memory !== undefined || c.resources?.limits?.memory !== undefined);
  const podLevel = memoryOf(spec?.resources?.requests?.memory) ?? (stated ? undefined : memoryOf(spec?.resources?.limits?.memory));
  let request: number;
  if (podLevel !== undefined) request = podLevel;
  else {
    let sum = (spec?.containers ?? []).reduce((n, c) => n + requestOf(c), 0);
    let sidecars = 0;
    let init = 0;
    for (const c of spec?.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        sum += requestOf(c);
        sidecars += requestOf(c);
        init = Math.max(init, sidecars);
      } else init = Math.max(init, requestOf(c) + sidecars);
    }
    request = Math.max(sum, init);
  }
  return request + (memoryOf(spec?.overhead?.memory) ?? 0);
}

type Node = Wire<V1Node>;
type Taint = { key?: string; value?: string; effect?: string };
type Toleration = Taint & { operator?: string };
/** kube's ToleratesTaint: an empty key with Exists tolerates every taint, an empty effect every effect. */
const tolerated = (taint: Taint, tolerations: Toleration[]) =>
  tolerations.some((t) => (!t.effect || t.effect === taint.effect) && (t.key ? t.key === taint.key && (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')) : t.operator === 'Exists'));
/** The first NoSchedule or NoExecute taint of the node the pod does not tolerate. */
const untolerated = (n: Node, p: { spec?: { tolerations?: unknown[] } }): Taint | undefined =>
  ((n.spec?.taints ?? []) as Taint[]).find((taint) => (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerated(taint, (p.spec?.tolerations ?? []) as Toleration[]));
const isReadyNode = (n: Node) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export function schedule(ctx: Ctx): void {
  const names = ctx.nodes();
  if (names.length === 0) return;
  const stored = new Map(ctx.api.list<V1Node>('v1', 'Node').map((n) => [n.metadata?.name ?? '', n]));
  const nodes = names.map((name) => stored.get(name)).filter((n): n is Node => n !== undefined);
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  const load = new Map(nodes.map((n) => [n.metadata!.name!, { pods: 0, memory: 0 }]));
  for (const p of pods) {
    const l = p.spec?.nodeName ? load.get(p.spec.nodeName) : undefined;
    if (!l || isTerminal(p)) continue;
    l.pods++;
    l.memory += podMemoryRequest(p.spec as PodSpecLike);
  }
  for (const p of pods) {
    if (p.spec?.nodeName || isTerminal(p) || p.metadata?.deletionTimestamp) continue;
    const request = podMemoryRequest(p.spec as PodSpecLike);
    const why = new Map<string, number>();
    const no = (reason: string) => void why.set(reason, (why.get(reason) ?? 0) + 1);
    let best: Node | undefined;
    for (const n of nodes) {
      const l = load.get(n.metadata!.name!)!;
      const allocatable = memoryOf(n.status?.allocatable?.memory);
      const maxPods = Number(n.status?.allocatable?.pods ?? Infinity);
      const taint = untolerated(n, p);
      if (!isReadyNode(n)) no("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
      else if (n.spec?.unschedulable) no("node(s) were unschedulable");
      else if (Object.entries(p.spec?.nodeSelector ?? {}).some(([k, v]) => n.metadata?.labels?.[k] !== v)) no("node(s) didn't match Pod's node affinity/selector");
      else if (taint) no(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
      else if (l.pods + 1 > maxPods) no('Too many pods');
      else if (allocatable !== undefined && l.memory + request > allocatable) no('Insufficient memory');
      else if (!best || l.pods < load.get(best.metadata!.name!)!.pods) best = n;
    }
    if (best) {
      if (ctx.api.update({ ...p, spec: { ...p.spec!, nodeName: best.metadata!.name! } })) {
        const l = load.get(best.metadata!.name!)!;
        l.pods++;
        l.memory += request;
      }
      continue;
    }
    // kube-scheduler's FitError: each reason with its count of nodes, sorted as strings.
    const reasons = [...why.entries()].map(([reason, count]) => `${count} ${reason}`).sort();
    const message = `0/${nodes.length} nodes are available: ${reasons.join(', ')}.`;
    const before = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (before?.status === 'False' && before.reason === 'Unschedulable' && before.message === message && p.status?.phase === 'Pending') continue;
    const condition: Wire<V1PodCondition> = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastTransitionTime: before?.status === 'False' && before.lastTransitionTime ? String(before.lastTransitionTime) : new Date(ctx.clock.now()).toISOString(),
    };
    const others = (p.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    ctx.api.updateStatus({ ...p, status: { ...p.status, phase: 'Pending', conditions: [...others, condition] } });
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
