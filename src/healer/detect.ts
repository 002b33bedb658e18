/**
 * Failure detection on a Pod: which containers were OOMKilled, are crash-looping or cannot pull
 * their image, each failure with an idempotency key so the same termination is never acted on
 * twice; and the pod-level facts the known-good clock and the rollback share are counted from.
 */
import type { V1ContainerStatus, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { HEAL_RULES, type HealRules } from './rules.js';

/** `image-pull`: only ever reported (a rollback is not done for it, a memory bump would not help). */
export type FailureKind = 'oom-killed' | 'crash-loop' | 'image-pull';

export interface Failure {
  kind: FailureKind;
  /** Container name. */
  container: string;
  /**
   * True for an init container (`spec.initContainers`, including restartable "sidecar" ones).
   * The fixes are the same (raise its limit, or roll back), but the memory patch goes to
   * `initContainers`: see `memoryJsonPatch`.
   */
  init: boolean;
  restartCount: number;
  /**
   * Identifies this very termination: `<pod uid>/<container>/<kind>/<termination>`, where
   * termination is the terminated container's ID (stable: the same in `state.terminated` and,
   * after the restart, in `lastState.terminated`), else its `finishedAt`, else the restart count.
   * A re-delivered watch event, a resync or a restarted Amadeus sees the same key; the next
   * termination gets a new one.
   */
  key: string;
  /** The termination's exit code (137 for an OOM kill), when known. */
  exitCode: number | null;
  /**
   * When the terminated container finished (ms since the epoch), when known: an OOM kill that
   * ended before the workload's last bump of that container was already answered by it.
   */
  finishedAt: number | null;
  /** A short human explanation: the kubelet's message, or the termination reason. */
  message: string | null;
}

/** A `metav1.Time` field: a Date from the typed client, an ISO string from raw JSON. */
export type Time = Date | string | undefined | null;

/** A Time as ISO-8601 (null when unset; as given when unreadable). */
export function isoTime(t: Time): string | null {
  if (t === undefined || t === null || t === '') return null;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

/** A Time in ms since the epoch; null when unset or unreadable. */
export function epochMs(t: Time): number | null {
  if (t === undefined || t === null || t === '') return null;
  const ms = (t instanceof Date ? t : new Date(t)).getTime();
  return Number.isNaN(ms) ? null : ms;
}

/** Waiting reasons of a container whose image cannot be pulled (the kubelet's `images` package). */
const IMAGE_PULL_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);

function terminationId(terminated: { containerID?: string; finishedAt?: Time } | undefined, restartCount: number): string {
  const id = terminated?.containerID;
  if (id) return id.replace(/^[a-z0-9+.-]+:\/\//i, ''); // "containerd://abc..." -> "abc..."
  const finished = isoTime(terminated?.finishedAt);
  return finished ? `finished-${finished}` : `restart-${restartCount}`;
}

function podIdentity(pod: V1Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? ''}.${pod.metadata?.name ?? ''}`;
}

/**
 * The rule for one container status:
 * - OOMKilled, either just now (`state.terminated`, e.g. before the kubelet restarts it) or the
 *   previous run (`lastState.terminated`) → `oom-killed`. This wins over a crash loop: a container
 *   crash-looping *because* it is killed for memory needs memory, and a rollback would not help.
 * - `state.waiting.reason === 'CrashLoopBackOff'` with at least `crashLoopMinRestarts` restarts →
 *   `crash-loop`.
 */
export function detectContainerFailure(pod: V1Pod, status: V1ContainerStatus, init: boolean, rules: HealRules = HEAL_RULES): Failure | null {
  const restartCount = status.restartCount ?? 0;
  const uid = podIdentity(pod);
  const current = status.state?.terminated;
  const previous = status.lastState?.terminated;
  const oom = current?.reason === 'OOMKilled' ? current : previous?.reason === 'OOMKilled' ? previous : undefined;
  if (oom) {
    return {
      kind: 'oom-killed',
      container: status.name,
      init,
      restartCount,
      key: `${uid}/${status.name}/oom-killed/${terminationId(oom, restartCount)}`,
      exitCode: oom.exitCode ?? null,
      finishedAt: epochMs(oom.finishedAt),
      message: oom.message || 'OOMKilled',
    };
  }
  const waiting = status.state?.waiting;
  if (waiting?.reason === 'CrashLoopBackOff' && restartCount >= rules.crashLoopMinRestarts) {
    return {
      kind: 'crash-loop',
      container: status.name,
      init,
      restartCount,
      key: `${uid}/${status.name}/crash-loop/${terminationId(previous, restartCount)}`,
      exitCode: previous?.exitCode ?? null,
      finishedAt: epochMs(previous?.finishedAt),
      message: waiting.message || previous?.reason || 'CrashLoopBackOff',
    };
  }
  if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
    const image = imageOf(pod, status.name, init) ?? status.image ?? '';
    return {
      kind: 'image-pull',
      container: status.name,
      init,
      restartCount,
      // Once per pod, container and image: a fixed image is a new failure.
      key: `${uid}/${status.name}/image-pull/${image}`,
      exitCode: null,
      finishedAt: null,
      message: `${waiting.reason}: ${waiting.message || image}`,
    };
  }
  return null;
}

function imageOf(pod: V1Pod, container: string, init: boolean): string | undefined {
  return (init ? pod.spec?.initContainers : pod.spec?.containers)?.find((c) => c.name === container)?.image;
}

/**
 * All failures of a pod, one at most per container: regular containers first, then init
 * containers (ephemeral debug containers are ignored: they are not part of the workload).
 */
export function detectFailures(pod: V1Pod, rules: HealRules = HEAL_RULES): Failure[] {
  const failures: Failure[] = [];
  for (const status of pod.status?.containerStatuses ?? []) {
    const f = detectContainerFailure(pod, status, false, rules);
    if (f) failures.push(f);
  }
  for (const status of pod.status?.initContainerStatuses ?? []) {
    const f = detectContainerFailure(pod, status, true, rules);
    if (f) failures.push(f);
  }
  return failures;
}

/** The pod's Ready condition is True. */
export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Restarts of all the pod's containers (init containers included). */
export function podRestarts(pod: V1Pod): number {
  const sum = (list: V1ContainerStatus[] | undefined) => (list ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0);
  return sum(pod.status?.containerStatuses) + sum(pod.status?.initContainerStatuses);
}

/** A container of the pod crash-loops (a crash loop, not an OOM kill: those get memory, not a rollback). */
export function isCrashLooping(pod: V1Pod, rules: HealRules = HEAL_RULES): boolean {
  return detectFailures(pod, rules).some((f) => f.kind === 'crash-loop');
}

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** The controlling owner (`ownerReferences[].controller === true`) of an object, or null. */
export function ownerOf(obj: { metadata?: V1ObjectMeta } | null | undefined): OwnerRef | null {
  const ref = obj?.metadata?.ownerReferences?.find((r) => r.controller === true);
  return ref ? { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid } : null;
}
