/**
 * Whether a memory raise that raises the pod's scheduling request still fits a node (opt-in:
 * --heal-node-fit). Pure: the room of each node, folded from the nodes and the pods bound to them
 * (node-room.ts lists them), and the verdict for one raise. Every doubt errs toward allowing — a
 * refusal must only come when no node can take the pod:
 * - affinity, topology spread, the pods-per-node bound, CPU and other resources are not checked;
 * - on each node, one pod of the workload is credited back (a rolling replacement frees it first);
 * - pods of a lower priority than the new ones' hold no room (the scheduler preempts them);
 * - a node without a readable allocatable memory has room for anything.
 * A node autoscaler (Karpenter, cluster-autoscaler from zero, Fargate) makes room the nodes that
 * exist do not show: that is why the check is off by default.
 */
import type { V1Container, V1DaemonSet, V1Node, V1Pod, V1PodSpec, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { isSidecar } from './memory.js';
import { floorToMebibytes, formatMebibytes, parseOptionalMemory } from './quantity.js';

/** `off`: no check; `warn`: raise and say so; `refuse`: no raise no node can hold (fixed node sets only). */
export const NODE_FIT_MODES = ['off', 'warn', 'refuse'] as const;
export type NodeFitMode = (typeof NODE_FIT_MODES)[number];

/** A quantity in bytes; null when unset or unreadable. */
function bytes(q: unknown): number | null {
  try {
    return typeof q === 'string' || typeof q === 'number' ? parseOptionalMemory(String(q)) : null;
  } catch {
    return null;
  }
}

/** A container's memory request; its limit when unset (the API server defaults it so); 0 for neither. */
const requestOf = (c: V1Container): number => bytes(c.resources?.requests?.memory) ?? bytes(c.resources?.limits?.memory) ?? 0;

/** Whether some container states its memory (a request, or a limit the request defaults to). */
const containersSayMemory = (spec: Pick<V1PodSpec, 'containers' | 'initContainers'> | undefined): boolean =>
  [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((c) => c.resources?.requests?.memory !== undefined || c.resources?.limits?.memory !== undefined);

/**
 * The memory a pod asks of a node, as kube-scheduler's NodeResourcesFit sums it (PodRequests of
 * k8s.io/component-helpers): the pod-level request when set (KEP-2837); a pod-level limit alone is
 * the request only when no container states its memory (else the API server defaults the pod's
 * request to the containers' sum); else the containers' and sidecars' requests, or — when larger —
 * the largest regular init container's plus the sidecars declared before it; then `overhead`
 * (RuntimeClass) on top.
 */
export function podMemoryRequest(spec: Pick<V1PodSpec, 'containers' | 'initContainers' | 'overhead' | 'resources'> | undefined): number {
  const podLimit = bytes(spec?.resources?.limits?.memory);
  const podLevel = bytes(spec?.resources?.requests?.memory) ?? (podLimit !== null && !containersSayMemory(spec) ? podLimit : null);
  let request = podLevel ?? 0;
  if (podLevel === null) {
    let running = (spec?.containers ?? []).reduce((n, c) => n + requestOf(c), 0);
    let sidecars = 0;
    let initPeak = 0;
    for (const c of spec?.initContainers ?? []) {
      if (isSidecar(c)) {
        sidecars += requestOf(c);
        running += requestOf(c);
      } else initPeak = Math.max(initPeak, sidecars + requestOf(c));
    }
    request = Math.max(running, initPeak);
  }
  return request + (bytes(spec?.overhead?.memory) ?? 0);
}

/** Whether `t` tolerates `taint`, as kube's ToleratesTaint: empty key with Exists tolerates every taint, an empty effect every effect. */
export function tolerates(t: V1Toleration, taint: Pick<V1Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/** What the scheduler is told about the new pods: their request and where they may go. */
export interface FitSubject {
  requestBytes: number;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  /** The workload's pods' controllers (a Deployment's ReplicaSets, a set's own uid): one of its pods on a node is credited back. */
  owners: ReadonlySet<string>;
  /**
   * The new pods' priority when they may preempt (`spec.priority`; not `preemptionPolicy: Never`):
   * the scheduler evicts lower-priority pods to make room, so only pods of this priority or higher
   * hold theirs. Undefined: every pod holds its room.
   */
  priority?: number;
}

/** One node as the check sees it. */
export interface NodeRoom {
  name: string;
  /** Ready (a pod is placed on no other node). */
  ready: boolean;
  /** Cordoned: only pods tolerating `node.kubernetes.io/unschedulable` go there. */
  cordoned: boolean;
  labels: Record<string, string>;
  /** Its NoSchedule and NoExecute taints (PreferNoSchedule only steers). */
  taints: V1Taint[];
  /** Null: unknown, room for anything. */
  allocatableBytes: number | null;
  /** The requests of the non-terminal pods bound to it (DaemonSets' included). */
  requestedBytes: number;
  /** The same by the pods' priority (`spec.priority`, 0 when unset): what preemption can and cannot take. */
  byPriority: Map<number, number>;
  /** Controller uid → the largest request of its pods here. */
  byOwner: Map<string, number>;
}

/** The nodes' room, pods folded in page by page (`addPods`): what one listing gives, for every raise in the next seconds. */
export type ClusterRoom = Map<string, NodeRoom>;

/** The nodes of a listing, none of their pods counted yet. */
export function roomOf(nodes: readonly V1Node[], into: ClusterRoom = new Map()): ClusterRoom {
  for (const n of nodes) {
    const name = n.metadata?.name;
    if (!name) continue;
    const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    into.set(name, {
      name,
      ready,
      cordoned: n.spec?.unschedulable === true,
      labels: n.metadata?.labels ?? {},
      taints: (n.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
      allocatableBytes: bytes(n.status?.allocatable?.memory),
      requestedBytes: 0,
      byPriority: new Map(),
      byOwner: new Map(),
    });
  }
  return into;
}

/** Counts a page of pods into the room of the nodes they are bound to (Succeeded and Failed pods hold none). */
export function addPods(room: ClusterRoom, pods: readonly V1Pod[]): void {
  for (const p of pods) {
    const node = p.spec?.nodeName ? room.get(p.spec.nodeName) : undefined;
    if (!node || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const request = podMemoryRequest(p.spec);
    node.requestedBytes += request;
    const priority = p.spec?.priority ?? 0;
    node.byPriority.set(priority, (node.byPriority.get(priority) ?? 0) + request);
    const owner = p.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
    if (owner) node.byOwner.set(owner, Math.max(node.byOwner.get(owner) ?? 0, request));
  }
}

const UNSCHEDULABLE = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' } as const;

/** Why `node` cannot take the subject's pods at all; null when it can. */
function excluded(node: NodeRoom, s: FitSubject): string | null {
  if (!node.ready) return 'not Ready';
  // kube-scheduler's NodeUnschedulable: a cordoned node takes the pods that tolerate its taint.
  if (node.cordoned && !(s.tolerations ?? []).some((t) => tolerates(t, UNSCHEDULABLE))) return 'cordoned';
  if (Object.entries(s.nodeSelector ?? {}).some(([k, v]) => node.labels[k] !== v)) return 'not matching its nodeSelector';
  if (node.taints.some((taint) => !(s.tolerations ?? []).some((t) => tolerates(t, taint)))) return 'tainted, not tolerated';
  return null;
}

export type NodeFit =
  /** `preempts`: only by preempting lower-priority pods there (none eligible fits without). */
  | { fits: true; node: string; preempts?: boolean }
  /** `best`: the eligible node with the most room (its own pod credited), null when none is eligible. */
  | { fits: false; requestBytes: number; nodes: number; excluded: Record<string, number>; best: { node: string; roomBytes: number } | null }
  /** A DaemonSet's: the nodes running one of its pods whose room (that pod credited) is short of the new request. */
  | { fits: false; requestBytes: number; pinned: { node: string; roomBytes: number }[]; of: number };

/** The room `node` has for the subject's pods: allocatable less what pods it cannot preempt hold, `credit` given back. */
function roomOn(node: NodeRoom, s: Pick<FitSubject, 'priority'>, credit: number): number {
  let held = node.requestedBytes;
  if (s.priority !== undefined) {
    held = 0;
    for (const [priority, bytes] of node.byPriority) if (priority >= s.priority) held += bytes;
  }
  return node.allocatableBytes! - held + credit;
}

/** Whether some node the new pods may go to has room for their request, one pod of the workload credited back on each. */
export function nodeFit(room: ClusterRoom, s: FitSubject): NodeFit {
  const out: Record<string, number> = {};
  let best: { node: string; roomBytes: number } | null = null;
  let preempting: string | undefined;
  for (const node of room.values()) {
    const why = excluded(node, s);
    if (why) {
      out[why] = (out[why] ?? 0) + 1;
      continue;
    }
    if (node.allocatableBytes === null) return { fits: true, node: node.name };
    let credit = 0;
    for (const owner of s.owners) credit = Math.max(credit, node.byOwner.get(owner) ?? 0);
    const roomBytes = roomOn(node, s, credit);
    if (roomBytes >= s.requestBytes) {
      if (s.priority === undefined || roomOn(node, {}, credit) >= s.requestBytes) return { fits: true, node: node.name };
      preempting ??= node.name;
      continue;
    }
    if (!best || roomBytes > best.roomBytes) best = { node: node.name, roomBytes };
  }
  if (preempting) return { fits: true, node: preempting, preempts: true };
  return { fits: false, requestBytes: s.requestBytes, nodes: room.size, excluded: out, best };
}

/** Whether a DaemonSet's rolling update starts the new pod beside the old one (`maxSurge` above 0) rather than after deleting it. */
export function daemonSetSurges(ds: V1DaemonSet): boolean {
  const u = ds.spec?.updateStrategy;
  const surge = u?.type === 'OnDelete' ? 0 : u?.rollingUpdate?.maxSurge;
  return typeof surge === 'number' ? surge > 0 : typeof surge === 'string' ? parseFloat(surge) > 0 : false;
}

/**
 * A DaemonSet's pods cannot go elsewhere: each replacement runs on its node. So every node running
 * one of its pods must have room for the new request — its old pod credited where the rolling
 * update deletes it first (`maxSurge` 0, the default), not where it surges (both run a while);
 * cordons, taints and selectors do not matter there (it runs there already, and tolerates the
 * node's conditions by default). No such node: nothing to check.
 */
export function daemonSetFit(room: ClusterRoom, s: Pick<FitSubject, 'requestBytes' | 'owners' | 'priority'> & { surge: boolean }): NodeFit {
  const pinned: { node: string; roomBytes: number }[] = [];
  let of = 0;
  let preempts = false;
  for (const node of room.values()) {
    const here = [...s.owners].filter((o) => node.byOwner.has(o));
    if (here.length === 0) continue;
    of++;
    if (node.allocatableBytes === null) continue;
    const credit = s.surge ? 0 : Math.max(...here.map((o) => node.byOwner.get(o)!));
    const roomBytes = roomOn(node, s, credit);
    if (roomBytes < s.requestBytes) pinned.push({ node: node.name, roomBytes });
    else if (s.priority !== undefined && roomOn(node, {}, credit) < s.requestBytes) preempts = true;
  }
  if (pinned.length > 0) return { fits: false, requestBytes: s.requestBytes, pinned, of };
  return preempts ? { fits: true, node: '*', preempts } : { fits: true, node: '*' };
}

/** The plain words for a raise no node can hold. */
export function noRoomMessage(f: Extract<NodeFit, { fits: false }>): string {
  if ('pinned' in f) {
    const short = f.pinned.slice(0, 5).map((p) => `${p.node} has ${formatMebibytes(floorToMebibytes(Math.max(0, p.roomBytes)))}`);
    const more = f.pinned.length > 5 ? ` and ${f.pinned.length - 5} more` : '';
    return `the DaemonSet's new pods' memory request of ${formatMebibytes(f.requestBytes)} does not fit on ${f.pinned.length} of the ${f.of} node(s) its pods run on, where each must run (${short.join(', ')}${more})`;
  }
  const left = Object.entries(f.excluded).map(([why, n]) => `${n} ${why}`);
  const most = f.best
    ? `the most room a node it may go to has is ${formatMebibytes(floorToMebibytes(Math.max(0, f.best.roomBytes)))} (${f.best.node}; one of the workload's own pods there counted as freed)`
    : 'none is left that its pods may go to';
  return `no node has room for the new pods' memory request of ${formatMebibytes(f.requestBytes)}: of ${f.nodes} node(s)${left.length > 0 ? ` (${left.join(', ')})` : ''}, ${most}`;
}
