/**
 * What this process has observed of each revision's pods, continuously, from the pod informer's
 * events: how many there are, how many are Ready or crash-looping, and since when the revision
 * has been healthy without interruption. The known-good mark needs that clock to have run for the
 * whole window in this process (time while Amadeus was not watching never counts); the rollback
 * rule counts the failing revision's crash-looping pods here.
 *
 * A revision is a Deployment's ReplicaSet (pods' controller owner) or a StatefulSet's
 * ControllerRevision (the owner plus the pods' `controller-revision-hash` label).
 *
 * The clock stops (is reset) on evidence that the revision is not healthy: a container restart,
 * a pod that was Ready turning not Ready, a crash loop, or a pod first seen not Ready after
 * restarts. It starts when every pod of the revision is Ready. A pod that is still starting (not
 * yet Ready, no restart) does not stop a running clock — autoscaling adds pods all the time — but
 * the mark also needs every desired pod Ready at the moment it is written (`known-good.ts`).
 * A pod being deleted (scale-down, a rollout) leaves it; an evicted pod's replacement comes back
 * not Ready or restarted, which says enough. A failed pod watch stops the clocks it covers and a
 * re-list restarts them from what it lists (`unwatched`, `rewatched`, `relisted`).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { epochMs, isCrashLooping, isPodReady, ownerOf, podRestarts } from './detect.js';
import { HEAL_RULES, KUBE_KEYS, type HealRules } from './rules.js';

interface PodState {
  ready: boolean;
  restarts: number;
  /** Seen crash-looping and not Ready since: a container between two crashes is still crash-looping. */
  crashLooping: boolean;
  /** The latest start of a running container (node clock), null when none runs. */
  lastStart: number | null;
  /** The pod's creation (API server clock), null when unknown. */
  created: number | null;
  /** The node it is bound to (`spec.nodeName`), null while Pending. */
  node: string | null;
}

interface RevisionState {
  namespace: string;
  pods: Map<string, PodState>;
  /** Since when (this process's clock) the revision has been healthy without interruption; null: not now. */
  healthySince: number | null;
}

export interface RevisionStats {
  pods: number;
  ready: number;
  crashLooping: number;
  /** Restarts summed over the pods (what the tests and a status page look at). */
  restarts: number;
  healthySince: number | null;
  /** The latest start of a running container of any of its pods (node clock); null when none runs. */
  lastStart: number | null;
  /** The creation of its oldest pod (API server clock); null when it has none, or one's is unknown. */
  oldestCreated: number | null;
}

const EMPTY: RevisionStats = { pods: 0, ready: 0, crashLooping: 0, restarts: 0, healthySince: null, lastStart: null, oldestCreated: null };

/** The latest start of any running container of the pod, or null. */
function lastContainerStart(pod: V1Pod): number | null {
  let last: number | null = null;
  for (const c of pod.status?.containerStatuses ?? []) {
    const t = epochMs(c.state?.running?.startedAt);
    if (t !== null && (last === null || t > last)) last = t;
  }
  return last;
}

/** The key of a ReplicaSet's revision (its uid). */
export const replicaSetRevisionKey = (uid: string) => `rs/${uid}`;
/** The key of a StatefulSet's revision (the set's uid and the ControllerRevision's name). */
export const statefulSetRevisionKey = (uid: string, revision: string) => `sts/${uid}/${revision}`;

/** The revision a pod runs, or null for pods of anything else. */
export function revisionKeyOf(pod: V1Pod): string | null {
  const owner = ownerOf(pod);
  if (owner?.kind === 'ReplicaSet') return replicaSetRevisionKey(owner.uid);
  if (owner?.kind === 'StatefulSet') {
    const revision = pod.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash];
    return revision ? statefulSetRevisionKey(owner.uid, revision) : null;
  }
  return null;
}

export class RevisionTracker {
  private readonly revisions = new Map<string, RevisionState>();
  /** Pod uid → the revision it was last counted in (a pod's labels may move it). */
  private readonly podRevision = new Map<string, string>();
  /** namespace/name → the uid last seen under it: a namesake with a new uid replaces it. */
  private readonly podUid = new Map<string, string>();
  /**
   * Revision key → node → when (this process's clock) a pod of it, Ready to the last, was seen
   * deleted there (a rollout's or a scale-down's delete): the node ran the workload just before. Kept
   * {@link NODE_EVIDENCE_WINDOW_MS}.
   */
  private readonly leftReady = new Map<string, Map<string, number>>();

  constructor(
    private readonly clock: () => number,
    private readonly rules: HealRules = HEAL_RULES,
  ) {}

  /** An added or updated pod. A pod being deleted is forgotten. */
  observe(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (pod.metadata?.deletionTimestamp) return this.forget(pod);
    // After a re-list (410 Gone), a StatefulSet pod deleted and recreated in the gap arrives as an
    // update with a new uid, and its delete never comes: the old one is gone.
    const name = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    const previous = this.podUid.get(name);
    if (previous !== undefined && previous !== uid) this.forgetUid(previous);
    this.podUid.set(name, uid);
    const key = revisionKeyOf(pod);
    const before = this.podRevision.get(uid);
    // Moved to another revision (adopted by another owner): out of the old one, but still known by
    // its name (forget() would drop that too, and a re-list or a namesake could then not remove it).
    if (before !== undefined && before !== key) this.forgetUid(uid);
    if (key === null) return;
    const now = this.clock();
    let rev = this.revisions.get(key);
    if (!rev) this.revisions.set(key, (rev = { namespace: pod.metadata?.namespace ?? '', pods: new Map(), healthySince: null }));
    const prev = rev.pods.get(uid);
    const ready = isPodReady(pod);
    const restarts = podRestarts(pod);
    const crashLooping = isCrashLooping(pod, this.rules) || (prev?.crashLooping === true && !ready);
    const failed =
      crashLooping ||
      (prev !== undefined && restarts > prev.restarts) ||
      (prev?.ready === true && !ready) ||
      (prev === undefined && !ready && restarts > 0);
    rev.pods.set(uid, { ready, restarts, crashLooping, lastStart: lastContainerStart(pod), created: epochMs(pod.metadata?.creationTimestamp), node: pod.spec?.nodeName || null });
    this.podRevision.set(uid, key);
    if (failed) rev.healthySince = null;
    // (Re)started when every pod is Ready: after a restart already over, from now.
    if (rev.healthySince === null && [...rev.pods.values()].every((p) => p.ready)) rev.healthySince = now;
  }

  /**
   * The pod watch covering `namespace` (null: all) failed: what happens until it is back goes
   * unseen, so its revisions' clocks stop (time not watched never counts).
   */
  unwatched(namespace: string | null): void {
    for (const rev of this.revisions.values()) if (namespace === null || rev.namespace === namespace) rev.healthySince = null;
  }

  /** The watch is back (resumed from where it stopped): revisions of its scope with every pod Ready count from now. */
  rewatched(namespace: string | null): void {
    const now = this.clock();
    for (const rev of this.revisions.values()) {
      if ((namespace === null || rev.namespace === namespace) && rev.healthySince === null && [...rev.pods.values()].every((p) => p.ready)) rev.healthySince = now;
    }
  }

  /**
   * A (re-)list of the pods `namespace` (null: all) holds: the clocks of its revisions start again
   * from this observation, and pods missing from it are gone (their deletes were not seen).
   */
  relisted(namespace: string | null, pods: V1Pod[]): void {
    this.unwatched(namespace);
    const listed = new Set(pods.map((p) => p.metadata?.uid));
    for (const [name, uid] of [...this.podUid]) {
      if ((namespace === null || name.startsWith(`${namespace}/`)) && !listed.has(uid)) {
        this.podUid.delete(name);
        this.forgetUid(uid);
      }
    }
    for (const pod of pods) this.observe(pod);
  }

  /** A deleted pod (or one being deleted). */
  forget(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const name = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    if (this.podUid.get(name) === uid) this.podUid.delete(name);
    const key = this.podRevision.get(uid);
    const last = key === undefined ? undefined : this.revisions.get(key)?.pods.get(uid);
    if (key !== undefined && last?.ready && last.node !== null) this.rememberLeftReady(key, last.node);
    this.forgetUid(uid);
  }

  private rememberLeftReady(key: string, node: string): void {
    const now = this.clock();
    for (const [k, nodes] of this.leftReady) {
      for (const [n, at] of nodes) if (now - at > NODE_EVIDENCE_WINDOW_MS) nodes.delete(n);
      if (nodes.size === 0) this.leftReady.delete(k);
    }
    let nodes = this.leftReady.get(key);
    if (!nodes) this.leftReady.set(key, (nodes = new Map()));
    nodes.set(node, now);
  }

  /**
   * Per node, the latest time a pod of the revisions `inWorkload` selects ran Ready there: now for
   * one Ready now (pods being deleted are not here), else when one Ready to the last was deleted
   * there (within {@link NODE_EVIDENCE_WINDOW_MS}). `current: false`: the deleted ones alone.
   */
  ranReadyOn(inWorkload: (key: string) => boolean, current = true): Map<string, number> {
    const now = this.clock();
    const out = new Map<string, number>();
    const note = (node: string, at: number) => out.set(node, Math.max(at, out.get(node) ?? -Infinity));
    for (const [key, nodes] of this.leftReady) if (inWorkload(key)) for (const [node, at] of nodes) if (now - at <= NODE_EVIDENCE_WINDOW_MS) note(node, at);
    if (current) for (const [key, rev] of this.revisions) if (inWorkload(key)) for (const p of rev.pods.values()) if (p.ready && p.node !== null) note(p.node, now);
    return out;
  }

  /** The crash-looping pods of revision `key`: their nodes (null: Pending) and creation times. */
  crashLoopingPods(key: string): CrashLoopingPod[] {
    const rev = this.revisions.get(key);
    return rev ? [...rev.pods.values()].filter((p) => p.crashLooping).map((p) => ({ node: p.node, created: p.created })) : [];
  }

  private forgetUid(uid: string): void {
    const key = this.podRevision.get(uid);
    if (key === undefined) return;
    this.podRevision.delete(uid);
    const rev = this.revisions.get(key);
    if (!rev) return;
    rev.pods.delete(uid);
    if (rev.pods.size === 0) this.revisions.delete(key);
  }

  stats(key: string): RevisionStats {
    const rev = this.revisions.get(key);
    if (!rev) return EMPTY;
    const pods = [...rev.pods.values()];
    return {
      pods: pods.length,
      ready: pods.filter((p) => p.ready).length,
      crashLooping: pods.filter((p) => p.crashLooping).length,
      restarts: pods.reduce((n, p) => n + p.restarts, 0),
      healthySince: rev.healthySince,
      lastStart: pods.reduce<number | null>((t, p) => (p.lastStart !== null && (t === null || p.lastStart > t) ? p.lastStart : t), null),
      oldestCreated: pods.some((p) => p.created === null) ? null : pods.reduce<number | null>((t, p) => (t === null || p.created! < t ? p.created : t), null),
    };
  }

  /** Totals over a namespace's revisions. */
  summary(namespace: string): Omit<RevisionStats, 'healthySince' | 'lastStart' | 'oldestCreated'> {
    const out = { pods: 0, ready: 0, crashLooping: 0, restarts: 0 };
    for (const [key, rev] of this.revisions) {
      if (rev.namespace !== namespace) continue;
      const s = this.stats(key);
      out.pods += s.pods;
      out.ready += s.ready;
      out.crashLooping += s.crashLooping;
      out.restarts += s.restarts;
    }
    return out;
  }
}

/**
 * The share rule: a rollback needs more than `share` of the revision's pods crash-looping, and
 * all of them when it has fewer than 3 pods (one pod of two is no majority worth a rollback) or
 * when `share` is 1.
 */
export function crashLoopShareMet(crashLooping: number, pods: number, share: number): boolean {
  if (pods <= 0 || crashLooping <= 0) return false;
  if (crashLooping >= pods) return true;
  if (pods < 3 || share >= 1) return false;
  return crashLooping > share * pods;
}

/**
 * How long a node that ran a pod of the workload Ready, until that pod was deleted, counts as able
 * to run it (the node rule below): a StatefulSet's rollout deletes a pod and makes its successor,
 * often on the same node (the only one free of its peers, under anti-affinity); a Deployment's
 * rollout with maxUnavailable > 0 frees a node the same way.
 */
export const NODE_EVIDENCE_WINDOW_MS = 10 * 60_000;

/** A crash-looping pod as the node rule reads it: its node (null: Pending) and creation (API server clock). */
export interface CrashLoopingPod {
  node: string | null;
  created: number | null;
}

export type NodeEvidence = { met: true; why: string } | { met: false; nodes: string[]; why: string };

/**
 * The node rule: a crash loop is the revision's — not a node's — when its crash-looping pods run on
 * at least two nodes, or one of them runs on a node that ran a pod of the same workload (any
 * revision) Ready: Ready now (`ranReady` gives `now`), or until that pod was deleted, no more than
 * {@link NODE_EVIDENCE_WINDOW_MS} before the crash-looping pod was made. Otherwise one bad node (a
 * broken disk, runtime or driver) is enough to explain it, and a rollback would undo a release that
 * may be healthy everywhere else. Pending pods (no node) count for neither side.
 */
export function crashLoopNodeEvidence(crashing: readonly CrashLoopingPod[], ranReady: ReadonlyMap<string, number>, now: number): NodeEvidence {
  const nodes = [...new Set(crashing.map((p) => p.node).filter((n): n is string => n !== null))].sort();
  if (nodes.length >= 2) return { met: true, why: `crash-looping on ${nodes.length} nodes (${nodes.join(', ')})` };
  for (const p of crashing) {
    if (p.node === null) continue;
    const at = ranReady.get(p.node);
    if (at === undefined) continue;
    if (at >= now) return { met: true, why: `a pod of the workload runs Ready on ${p.node}, where one crash-loops` };
    if (at >= (p.created ?? now) - NODE_EVIDENCE_WINDOW_MS) return { met: true, why: `a pod of the workload ran Ready on ${p.node} until it was deleted, just before the crash-looping one was made there` };
  }
  return {
    met: false,
    nodes,
    why: nodes.length === 0 ? 'none of its crash-looping pods is on a node yet' : `its crash-looping pods all run on node ${nodes[0]}, where no pod of the workload runs Ready (nor ran Ready just before)`,
  };
}
