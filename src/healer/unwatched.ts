/**
 * Health while Amadeus was not watching: evidence, from what the API server holds, that a failing
 * revision ran healthy before its crash loop — used ONLY to refuse rolling it back, never to make
 * a revision a rollback target (that takes this process's own observation: `revisions.ts`).
 *
 * A release that rolled out and served for hours while Amadeus was stopped, being upgraded or
 * between leaders carries no known-good mark. When it then crash-loops (a database gone, a disk
 * full, logs the classifier does not recognise), the rule for marked revisions applies to it just
 * the same: it ran healthy, so the crash loop points elsewhere, and a rollback would undo a
 * working release. Two pieces of evidence, both needed:
 *
 * 1. Its rollout completed, by the control plane: for a Deployment, the `Progressing` condition is
 *    `NewReplicaSetAvailable` for this very ReplicaSet (every replica was available then; the
 *    controller keeps the condition while no new rollout starts, crash loop or not); for a
 *    StatefulSet with rolling updates, the revision is `status.currentRevision`, which the
 *    controller advances only once every pod runs it Ready (`OnDelete` sets never advance it: no
 *    evidence for them).
 * 2. Every pod of the revision old enough to tell (created more than `knownGoodSeconds` and a
 *    clock margin ago) shows a container history no crash loop since its start can explain:
 *    each container ran at least `knownGoodSeconds` without a restart. From one node's clock
 *    alone (no skew): a container with R restarts, whose pod started at S (after its init
 *    containers) and whose latest run started or ended at E, spent at most (R + 1) waits of the
 *    kubelet's back-off cap (5 min) plus a start's slack between S and E outside its runs, so its
 *    longest run lasted at least ((E − S) − (R + 1)·(5 min + slack)) / (R + 1). Its last finished
 *    run and its current one (against this process's clock, less a margin) count as they are.
 *    Young pods (recreated recently) count neither way; a revision with none old enough has no
 *    evidence.
 *
 * A revision that crash-looped from its first minutes has neither (its rollout never completed,
 * and no run of its pods lasted), and is rolled back as before. The evidence wears down as a crash
 * loop goes on (each restart adds a back-off to explain), so once found it is recorded on the
 * revision itself (`amadeus.io/ran-healthy-unwatched`, by the leader, never in dry run), bound to
 * the revision's uid: a restarted or newly elected Amadeus late in the crash loop, whose pods no
 * longer prove the run, still refuses by the record ({@link unwatchedFinding}). A record copied onto
 * another revision (`kubectl rollout undo` copies a ReplicaSet's annotations onto the Deployment, its
 * controller copies those onto new ReplicaSets) names another uid and counts for nothing there.
 */
import type { V1ContainerStatus, V1Deployment, V1ObjectMeta, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { epochMs, isoTime, ownerOf } from './detect.js';
import type { AnnotationPatch } from './known-good.js';
import { HEAL_RULES, KUBE_KEYS, type HealRules } from './rules.js';

/** The kubelet's cap on a crash loop's back-off (MaxContainerBackOff; KEP-4603 lets a node lower it, never raise it). */
export const MAX_BACKOFF_SECONDS = 300;
/** Per container start, on top of the back-off: creating it (an image pull, a sandbox). */
export const START_SLACK_SECONDS = 60;
/** Between the nodes' clocks (pod and container times), the API server's (creation times, conditions) and this process's. */
export const CLOCK_MARGIN_SECONDS = 120;

/**
 * When a Deployment's rollout of `replicaSet` completed, as its `Progressing` condition says
 * (`True`, `NewReplicaSetAvailable`, naming that ReplicaSet — the controller's message is
 * `ReplicaSet "<name>" has successfully progressed.`); null when it does not say so.
 */
export function deploymentRolloutCompleted(deployment: V1Deployment, replicaSet: string): string | null {
  const c = deployment.status?.conditions?.find((x) => x.type === 'Progressing');
  if (c?.status !== 'True' || c.reason !== 'NewReplicaSetAvailable' || !c.message?.includes(`"${replicaSet}"`)) return null;
  return `its rollout completed${c.lastUpdateTime ? ` at ${isoTime(c.lastUpdateTime)}` : ''} (the Deployment's Progressing condition: NewReplicaSetAvailable for ReplicaSet ${replicaSet})`;
}

/**
 * Whether a StatefulSet's rolling update to `revision` completed: it is both the update and the
 * current revision, for the current generation, under `RollingUpdate` (the controller makes the
 * update revision current once every replica runs it Ready). Null when not.
 */
export function statefulSetRolloutCompleted(sts: V1StatefulSet, revision: string): string | null {
  if ((sts.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return null;
  const st = sts.status;
  if (!st || st.currentRevision !== revision || st.updateRevision !== revision) return null;
  if (sts.metadata?.generation !== undefined && st.observedGeneration !== sts.metadata.generation) return null;
  return `it is the StatefulSet's current revision (a rolling update makes it current once every pod runs it Ready)`;
}

/** The pods of a revision: a Deployment's ReplicaSet (their controller, by uid), or a StatefulSet's ControllerRevision (the set, and their label). */
export function podsOfRevision(pods: readonly V1Pod[], kind: 'Deployment' | 'StatefulSet', workloadUid: string | undefined, revision: V1ObjectMeta | undefined): V1Pod[] {
  return pods.filter((p) => {
    const owner = ownerOf(p);
    if (p.metadata?.deletionTimestamp || !owner) return false;
    if (kind === 'Deployment') return owner.kind === 'ReplicaSet' && revision?.uid !== undefined && owner.uid === revision.uid;
    return owner.kind === 'StatefulSet' && workloadUid !== undefined && owner.uid === workloadUid && p.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] === revision?.name;
  });
}

/**
 * A lower bound, in seconds, on the longest run of one container without a restart, from its
 * status (see the header); `start` is when its pod started, after its init containers (node clock).
 */
export function longestRunAtLeast(status: V1ContainerStatus, start: number | null, now: number): number {
  const restarts = status.restartCount ?? 0;
  const last = status.lastState?.terminated;
  const ended = status.state?.terminated;
  const running = status.state?.running;
  const runs: number[] = [0];
  for (const t of [last, ended]) {
    const from = epochMs(t?.startedAt);
    const to = epochMs(t?.finishedAt);
    if (from !== null && to !== null) runs.push((to - from) / 1000);
  }
  const runningFrom = epochMs(running?.startedAt);
  if (runningFrom !== null) runs.push((now - runningFrom) / 1000 - CLOCK_MARGIN_SECONDS);
  // Everything between the pod's start and the latest start or end the status shows, less the
  // longest waits the kubelet could have made it spend restarting, was running time, shared by
  // at most restarts + 1 runs.
  const ends = [epochMs(last?.finishedAt), epochMs(ended?.finishedAt), runningFrom].filter((t): t is number => t !== null);
  if (start !== null && ends.length > 0) {
    const span = (Math.max(...ends) - start) / 1000;
    runs.push((span - (restarts + 1) * (MAX_BACKOFF_SECONDS + START_SLACK_SECONDS)) / (restarts + 1));
  }
  return Math.max(...runs);
}

/** When a pod's regular containers could first start: its `startTime`, or after its init containers finished (node clock). */
function containersStart(pod: V1Pod): number | null {
  const times = [epochMs(pod.status?.startTime), ...(pod.status?.initContainerStatuses ?? []).map((s) => epochMs(s.state?.terminated?.finishedAt))].filter((t): t is number => t !== null);
  return epochMs(pod.status?.startTime) === null ? null : Math.max(...times);
}

/**
 * One pod: null when too young to tell (or its creation is not known), else the least of its
 * containers' longest runs (seconds; 0 when a container has no status yet).
 */
export function podLongestRun(pod: V1Pod, now: number, rules: HealRules = HEAL_RULES): number | null {
  const created = epochMs(pod.metadata?.creationTimestamp);
  if (created === null || now - created < (rules.knownGoodSeconds + CLOCK_MARGIN_SECONDS) * 1000) return null;
  const start = containersStart(pod);
  const statuses = pod.status?.containerStatuses ?? [];
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  if (names.length === 0) return 0;
  return Math.min(...names.map((n) => statuses.find((s) => s.name === n)).map((s) => (s ? longestRunAtLeast(s, start, now) : 0)));
}

/**
 * The evidence that the failing revision ran healthy before its crash loop (a sentence for the
 * refusal, saying what was used), or null when there is none: `completed` is what
 * {@link deploymentRolloutCompleted} / {@link statefulSetRolloutCompleted} said of it, `pods` its
 * pods (as {@link podsOfRevision} gives them).
 */
export function ranHealthyUnwatched(completed: string | null, pods: readonly V1Pod[], now: number, rules: HealRules = HEAL_RULES): string | null {
  if (completed === null) return null;
  const old = pods.map((p) => podLongestRun(p, now, rules)).filter((r): r is number => r !== null);
  if (old.length === 0) return null;
  const least = Math.min(...old);
  if (least < rules.knownGoodSeconds) return null;
  const young = pods.length - old.length;
  const window = Math.ceil((rules.knownGoodSeconds + CLOCK_MARGIN_SECONDS) / 60);
  const each = old.length === 1 ? `its one pod older than ${window} min` : `each of its ${old.length} pods older than ${window} min`;
  return (
    `${completed}, and ${each}${young > 0 ? ` (${young} younger not counted)` : ''} ran every container at least ${Math.floor(least / 60)} min without a restart ` +
    `(by the pod's start, its restart counts and the kubelet's back-off of at most ${MAX_BACKOFF_SECONDS / 60} min per restart): longer than a crash loop since its start can explain`
  );
}

/** The finding as recorded on a revision (`amadeus.io/ran-healthy-unwatched`). */
export interface UnwatchedRecord {
  /** When it was found and recorded (ISO time). */
  readonly at: string;
  /** The uid of the revision it was found for. */
  readonly for: string;
  /** What the API server showed ({@link ranHealthyUnwatched}'s sentence). */
  readonly evidence: string;
}

/**
 * The finding recorded on this revision, or null: none, unreadable, or not made for it — a record
 * counts only on the object whose uid it names (`for`), so one copied onto another revision, or
 * on an object without a uid, counts for nothing.
 */
export function recordedUnwatched(meta: Pick<V1ObjectMeta, 'annotations' | 'uid'> | undefined, rules: HealRules = HEAL_RULES): UnwatchedRecord | null {
  const raw = meta?.annotations?.[rules.annotations.ranHealthyUnwatched];
  if (raw === undefined || meta?.uid === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  if (r.for !== meta.uid || typeof r.at !== 'string' || epochMs(r.at) === null) return null;
  return { at: r.at, for: r.for, evidence: typeof r.evidence === 'string' ? r.evidence : '' };
}

/**
 * The decision for a failing revision: the evidence to refuse its rollback with, and the record to
 * write on it (null: none to write), or null when there is no evidence. `found` is the evidence
 * this process found ({@link ranHealthyUnwatched}, now or earlier), null when none. The revision's
 * own record stands first (it is what survives the crash loop wearing the pods' numbers down);
 * else what was found is refused with and recorded, bound to the revision's uid (never without
 * one). Nothing here makes a revision a rollback target.
 */
export function unwatchedFinding(
  meta: Pick<V1ObjectMeta, 'annotations' | 'uid'> | undefined,
  found: string | null,
  now: Date,
  rules: HealRules = HEAL_RULES,
): { evidence: string; record: AnnotationPatch | null } | null {
  const recorded = recordedUnwatched(meta, rules);
  if (recorded) {
    const said = recorded.evidence ? `: ${recorded.evidence}` : '';
    return { evidence: `as recorded on the revision at ${recorded.at} (${rules.annotations.ranHealthyUnwatched})${said}`, record: null };
  }
  if (found === null) return null;
  const uid = meta?.uid;
  const record = uid ? { [rules.annotations.ranHealthyUnwatched]: JSON.stringify({ at: now.toISOString(), for: uid, evidence: found } satisfies UnwatchedRecord) } : null;
  return { evidence: found, record };
}
