/**
 * The OOM rule: how far to raise a container's memory limit after an OOM kill, within a cap, from
 * the limit it was actually killed at, and the JSON patch operations that do it.
 */
import type { IntOrString, V1Container, V1LimitRange, V1PodSpec, V1ResourceQuota, V1ScopedResourceSelectorRequirement } from '@kubernetes/client-node';
import type { Workload } from './owners.js';
import type { JsonPatchOp } from './patches.js';
import { floorToMebibytes, formatMebibytes, MiB, parseMemoryQuantity, parseOptionalMemory, QuantityError } from './quantity.js';
import { HEAL_RULES, type HealRules } from './rules.js';

export interface MemoryState {
  /** Current memory limit of the container in the workload's template; null when it has none. */
  limitBytes: number | null;
  /** Current memory request; null when the template sets none. */
  requestBytes: number | null;
  /** The effective cap (see {@link effectiveMemoryCap}); null for none. */
  capBytes: number | null;
  /** A raise the cap cuts short must keep at least this share of the rule's step, else `max-reached` (default 0: any whole MiB). */
  minClampedShare?: number;
}

export type MemoryPlan =
  | {
      action: 'bump';
      limitBytes: number;
      /** The request to write when `requestChanged`, else the current one (null: none set). */
      requestBytes: number | null;
      requestChanged: boolean;
      /** True when the bump was cut down to the cap: the next OOM gives `max-reached`. */
      clamped: boolean;
    }
  /** The limit is at the cap already: no patch; report. */
  | { action: 'max-reached'; limitBytes: number; capBytes: number }
  /** No memory limit: nothing to raise (the container was killed by node pressure or a LimitRange default); report. */
  | { action: 'no-limit' };

/**
 * The unconstrained OOM rule (VPA's): `max(limit × oomFactor, limit + oomMinBumpBytes)`, rounded up
 * to a whole MiB. The factor path wins above `oomMinBumpBytes / (oomFactor - 1)` (500 MiB with
 * the defaults), the minimum-bump path below. A nano-byte tolerance keeps float noise in
 * `limit × 1.2` from adding a MiB when the product is exact (500Mi × 1.2 = 600Mi).
 */
export function oomBumpTarget(limitBytes: number, rules: HealRules = HEAL_RULES): number {
  const wanted = Math.max(limitBytes * rules.oomFactor, limitBytes + rules.oomMinBumpBytes);
  return Math.ceil(wanted / MiB - 1e-9) * MiB;
}

/**
 * Plans the memory bump for an OOM-killed container.
 *
 * Cap: the limit never exceeds the cap. When the rule's target would, and the current limit is
 * still below the cap, the limit is raised **to the cap once** (rounded down to a whole MiB, as
 * limits are written in Mi) and the plan says `clamped`; from then on (limit ≥ cap) the answer is
 * `max-reached` and nothing is patched. Refusing the last partial step instead would leave
 * headroom the operator explicitly allowed unused — unless the cut-down raise keeps less than
 * `minClampedShare` of the rule's step (a ResourceQuota's room, see {@link HealRules.quotaMinRaiseShare}).
 *
 * Request: left alone (no request set stays unset: the API server then defaults it to the new
 * limit), except when it is equal to (or, in inconsistent input, above) the current limit, where it
 * is raised with the limit. That keeps a Guaranteed-QoS container Guaranteed (request == limit),
 * rather than silently demoting it to Burstable (which would e.g. lose exclusive CPUs under the
 * static CPU manager); a request below the limit can never exceed the raised limit, so it stays.
 */
export function planMemoryBump(state: MemoryState, rules: HealRules = HEAL_RULES): MemoryPlan {
  const { limitBytes, requestBytes, capBytes } = state;
  if (limitBytes === null || limitBytes === undefined) return { action: 'no-limit' };
  let target = oomBumpTarget(limitBytes, rules);
  let clamped = false;
  if (capBytes !== null && capBytes !== undefined) {
    if (limitBytes >= capBytes) return { action: 'max-reached', limitBytes, capBytes };
    if (target > capBytes) {
      const step = target - limitBytes;
      target = floorToMebibytes(capBytes);
      clamped = true;
      if (target <= limitBytes || target - limitBytes < step * (state.minClampedShare ?? 0)) return { action: 'max-reached', limitBytes, capBytes };
    }
  }
  const requestChanged = requestBytes !== null && requestBytes !== undefined && requestBytes >= limitBytes;
  return {
    action: 'bump',
    limitBytes: target,
    requestBytes: requestChanged ? target : (requestBytes ?? null),
    requestChanged,
    clamped,
  };
}

export interface EffectiveCap {
  capBytes: number;
  /** Which cap is the smaller one (the namespace's: {@link limitRangeCap}, {@link resourceQuotaCap}; the pod's: {@link podLevelCap}). */
  source: 'global' | 'workload' | CapSource;
  /** With a namespace's cap: which LimitRange or ResourceQuota, and which of its rules. */
  detail?: string;
  /** Set when the workload's `amadeus.io/max-memory` is unparsable (then ignored): report it. */
  invalid?: string;
}

/** The effective cap: min(global cap, the workload's `amadeus.io/max-memory`). */
export function effectiveMemoryCap(workloadAnnotations: Record<string, string> | undefined | null, rules: HealRules = HEAL_RULES): EffectiveCap {
  const raw = workloadAnnotations?.[rules.annotations.maxMemory];
  if (raw === undefined) return { capBytes: rules.globalMemoryCapBytes, source: 'global' };
  try {
    const workloadCap = parseMemoryQuantity(raw);
    return workloadCap < rules.globalMemoryCapBytes ? { capBytes: workloadCap, source: 'workload' } : { capBytes: rules.globalMemoryCapBytes, source: 'global' };
  } catch (err) {
    if (!(err instanceof QuantityError)) throw err;
    return { capBytes: rules.globalMemoryCapBytes, source: 'global', invalid: `${rules.annotations.maxMemory}: ${err.message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// What the namespace admits: admission checks LimitRanges and ResourceQuotas when pods are
// created, not when a template is patched. A raise past them leaves the rollout unable to create
// its pods, while a RollingUpdate still takes old ones away by its maxUnavailable: the raise would
// remove capacity.

export type NamespaceCapSource = 'limit-range' | 'resource-quota';
/** A cap {@link withNamespaceCap} lowers another to: the namespace's, or the pod template's own pod-level resources. */
export type CapSource = NamespaceCapSource | 'pod-level-resources';

/** A namespace's cap on the container's limit, and the rule that sets it. */
export interface NamespaceCap {
  capBytes: number;
  detail: string;
}

/** A quantity in bytes; null when absent or unreadable (the API server would have refused the object). */
function readQuantity(q: unknown): number | null {
  try {
    return typeof q === 'string' || typeof q === 'number' ? parseMemoryQuantity(String(q)) : null;
  } catch {
    return null;
  }
}

/** Collects candidate caps; `best` is the lowest and its rule (null: none). */
function lowest(): { consider(bytes: number, detail: string): void; readonly best: NamespaceCap | null } {
  let best: NamespaceCap | null = null;
  return {
    consider(bytes, detail) {
      if (Number.isFinite(bytes) && (best === null || bytes < best.capBytes)) best = { capBytes: Math.max(0, bytes), detail };
    },
    get best() {
      return best;
    },
  };
}

/** A restartable init container (`restartPolicy: Always`): a "sidecar", running beside the pod's containers for its whole life. */
export const isSidecar = (c: Pick<V1Container, 'restartPolicy'> | undefined): boolean => c?.restartPolicy === 'Always';

/**
 * What the containers running beside one of a pod's containers add to the pod's total (`read`: a
 * limit or a request, null counting 0), as the API server sums a pod for its LimitRanges and
 * ResourceQuotas (resourcehelper.PodLimits / PodRequests): a container, or a sidecar, runs with
 * every other container and every sidecar; a regular init container runs alone with the sidecars
 * declared before it. `index` is in `initContainers` when `init`, else in `containers`.
 */
export function alongside(spec: Pick<V1PodSpec, 'containers' | 'initContainers'>, index: number, init: boolean, read: (c: V1Container) => number | null): number {
  const inits = spec.initContainers ?? [];
  const sum = (list: V1Container[]) => list.reduce((n, c) => n + (read(c) ?? 0), 0);
  if (init && !isSidecar(inits[index])) return sum(inits.slice(0, index).filter(isSidecar));
  const containers = spec.containers.filter((_, i) => init || i !== index);
  const sidecars = inits.filter((c, i) => isSidecar(c) && !(init && i === index));
  return sum(containers) + sum(sidecars);
}

/**
 * The pod spec the rollout's pods are admitted with, as far as the failed pod (`pod`, admitted
 * already) shows it: the template's containers — one without a memory limit given the pod's (a
 * LimitRange's `default`, which the LimitRanger plugin fills in; its request too when the template
 * sets neither) — and the containers admission added (a mesh's proxy, an injected agent: in the pod,
 * not in the template), its injected init containers first (webhooks put theirs before the
 * template's, and counted before each of them is the stricter). Admission charges the quota, and
 * checks a LimitRange's Pod max, with all of them.
 */
export function asAdmitted(
  template: Pick<V1PodSpec, 'containers' | 'initContainers'>,
  pod: Pick<V1PodSpec, 'containers' | 'initContainers'> | undefined,
  /** The failed pod's own revision's template, when known: a container it has was not injected but removed since (a release dropping a sidecar), and the rollout's pods will not have it. */
  podRevision?: Pick<V1PodSpec, 'containers' | 'initContainers'>,
): Pick<V1PodSpec, 'containers' | 'initContainers'> {
  const filled = (list: V1Container[] | undefined, admitted: V1Container[] | undefined): V1Container[] =>
    (list ?? []).map((c) => {
      const a = admitted?.find((x) => x.name === c.name)?.resources;
      const limit = c.resources?.limits?.memory ?? a?.limits?.memory;
      if (c.resources?.limits?.memory !== undefined || limit === undefined) return c;
      const request = c.resources?.requests?.memory ?? a?.requests?.memory;
      return { ...c, resources: { ...c.resources, limits: { ...c.resources?.limits, memory: limit }, ...(request !== undefined ? { requests: { ...c.resources?.requests, memory: request } } : {}) } };
    });
  const names = new Set([...template.containers, ...(template.initContainers ?? []), ...(podRevision?.containers ?? []), ...(podRevision?.initContainers ?? [])].map((c) => c.name));
  const added = (list: V1Container[] | undefined) => (list ?? []).filter((c) => !names.has(c.name));
  return {
    containers: [...filled(template.containers, pod?.containers), ...added(pod?.containers)],
    initContainers: [...added(pod?.initContainers), ...filled(template.initContainers, pod?.initContainers)],
  };
}

/** The container whose limit is raised, in its pod. */
export interface LimitRangeSubject {
  /** Its request now (null: none set). */
  requestBytes: number | null;
  /** Its request after the raise is the new limit: set equal to it (Guaranteed QoS kept), or unset (the API server defaults it to the limit). Such a request is bound by no ratio. */
  requestFollowsLimit: boolean;
  /** The limits of the containers that run beside it and count with it against a Pod item's max or a quota ({@link alongside}). */
  otherLimitsBytes: number;
  /** The requests of the containers that run beside it (a limit without a request: the limit; {@link alongside}). */
  otherRequestsBytes: number;
}

/**
 * The highest memory limit the namespace's LimitRanges admit for the container, and the rule that
 * sets it; null when none bounds it. Rules: a `Container` item's `max.memory`; its
 * `maxLimitRequestRatio.memory` times the request that stays; a `Pod` item's `max.memory` less the
 * other containers' limits, and its `maxLimitRequestRatio.memory` times the pod's requests (this
 * one's staying) less the other containers' limits. An unreadable quantity is skipped.
 */
export function limitRangeCap(ranges: readonly V1LimitRange[], c: LimitRangeSubject): NamespaceCap | null {
  const low = lowest();
  for (const range of ranges) {
    const name = `LimitRange ${range.metadata?.name ?? '?'}`;
    for (const item of range.spec?.limits ?? []) {
      const max = readQuantity(item.max?.memory);
      if (item.type === 'Container') {
        if (max !== null) low.consider(max, `${name}: max memory per container ${formatMebibytes(max)}`);
        const ratio = Number(item.maxLimitRequestRatio?.memory);
        if (c.requestBytes !== null && !c.requestFollowsLimit && Number.isFinite(ratio) && ratio > 0) {
          low.consider(c.requestBytes * ratio, `${name}: memory limit at most ${ratio}× the request (${formatMebibytes(c.requestBytes)})`);
        }
      } else if (item.type === 'Pod') {
        if (max !== null) low.consider(max - c.otherLimitsBytes, `${name}: max memory per pod ${formatMebibytes(max)}, ${formatMebibytes(c.otherLimitsBytes)} of it the other containers'`);
        // Admission bounds the pod's summed limits by its summed requests too: with this request kept,
        // others' limits + the new limit ≤ ratio × (others' requests + this request). A request raised
        // with the limit only makes the ratio easier to meet, so it caps nothing.
        const ratio = Number(item.maxLimitRequestRatio?.memory);
        if (c.requestBytes !== null && !c.requestFollowsLimit && Number.isFinite(ratio) && ratio > 0) {
          const requests = c.otherRequestsBytes + c.requestBytes;
          low.consider(
            requests * ratio - c.otherLimitsBytes,
            `${name}: pod memory limits at most ${ratio}× its requests (${formatMebibytes(requests)}), ${formatMebibytes(c.otherLimitsBytes)} of the limits the other containers'`,
          );
        }
      }
    }
  }
  return low.best;
}

/** The pods a workload's rollout runs, for its namespace's ResourceQuotas. */
export interface RolloutPods {
  /** Pods once rolled out. */
  replicas: number;
  /** Pods the rollout may create on top of them (a RollingUpdate's maxSurge, resolved as the controller does). */
  surge: number;
  /** Its pods that exist now (its status's count): the quotas' `used` holds them already. */
  current: number;
}

/** maxSurge against `total`: an int, or a percentage rounded up (as the Deployment and DaemonSet controllers resolve surge); unreadable: `fallback`'s. */
function resolveSurge(value: IntOrString | undefined, fallback: IntOrString, total: number): number {
  const resolve = (v: IntOrString): number | null => {
    if (typeof v === 'number') return Math.max(0, v);
    const percent = /^(\d+)%$/.exec(v.trim());
    return percent ? Math.ceil((Number(percent[1]) * total) / 100) : null;
  };
  return (value === undefined ? null : resolve(value)) ?? resolve(fallback) ?? 0;
}

/**
 * The pods a rollout of the workload runs. A Deployment's RollingUpdate may add maxSurge pods
 * (default 25%); Recreate adds none. A StatefulSet deletes a pod before it creates its
 * replacement, so it adds none (kubernetes' controller, and the fake's). A DaemonSet adds its
 * RollingUpdate's maxSurge (default 0) against the nodes it should run on (the fake models no
 * surge: its DaemonSets replace pods one at a time).
 */
export function rolloutPods(w: Workload): RolloutPods {
  switch (w.kind) {
    case 'Deployment': {
      const spec = w.object.spec;
      const replicas = spec?.replicas ?? 1;
      const rolling = (spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
      return { replicas, surge: rolling ? resolveSurge(spec?.strategy?.rollingUpdate?.maxSurge, '25%', replicas) : 0, current: w.object.status?.replicas ?? 0 };
    }
    case 'StatefulSet':
      return { replicas: w.object.spec?.replicas ?? 1, surge: 0, current: w.object.status?.replicas ?? 0 };
    case 'DaemonSet': {
      const status = w.object.status;
      const strategy = w.object.spec?.updateStrategy;
      // One pod a node it should run on; before the controller said how many, at least the failed pod's.
      const replicas = Math.max(1, status?.desiredNumberScheduled ?? 0, status?.currentNumberScheduled ?? 0);
      const rolling = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
      return { replicas, surge: rolling ? resolveSurge(strategy?.rollingUpdate?.maxSurge, 0, replicas) : 0, current: status?.currentNumberScheduled ?? 0 };
    }
  }
}

/** The container's raise as the namespace's ResourceQuotas judge it. */
export interface QuotaSubject extends LimitRangeSubject {
  /** Its memory limit now (the template's). */
  limitBytes: number;
  rollout: RolloutPods;
  /** What a quota's scopes look at, from the pod template. */
  pod: { activeDeadlineSeconds?: number | null; priorityClassName?: string | null };
  /**
   * How much the limits and requests of the containers beside it go up in the same patch (several
   * containers raised at once): the new pods carry those too, while the pods running now (counted
   * in `used`) do not — `otherLimitsBytes` and `otherRequestsBytes` stay today's.
   */
  othersRaisedBytes?: { limits: number; requests: number };
}

/**
 * Whether a scope takes in the workload's pods, as the quota admission's pod evaluator decides
 * (an expression's operator only matters for PriorityClass); 'assumed' where the template cannot
 * tell: a pod without a priorityClassName may be given the cluster's default one at admission, and
 * scopes not judged here (CrossNamespacePodAffinity, newer ones) are taken to apply.
 */
function scopeMatches(t: Pick<V1ScopedResourceSelectorRequirement, 'scopeName' | 'operator' | 'values'>, pod: QuotaSubject['pod']): boolean | 'assumed' {
  const terminating = pod.activeDeadlineSeconds !== null && pod.activeDeadlineSeconds !== undefined && pod.activeDeadlineSeconds >= 0;
  switch (t.scopeName) {
    case 'Terminating':
      return terminating;
    case 'NotTerminating':
      return !terminating;
    // The container has a memory limit: its pod is never BestEffort.
    case 'BestEffort':
      return false;
    case 'NotBestEffort':
      return true;
    case 'PriorityClass': {
      const name = pod.priorityClassName;
      if (!name) return 'assumed';
      const listed = (t.values ?? []).includes(name);
      return t.operator === 'Exists' ? true : t.operator === 'In' ? listed : t.operator === 'NotIn' ? !listed : 'assumed';
    }
    default:
      return 'assumed';
  }
}

/** A quota applies when all its scopes (and scope selector expressions) take in the pods; 'assumed' when one may. */
function quotaApplies(q: V1ResourceQuota, pod: QuotaSubject['pod']): boolean | 'assumed' {
  const terms = [...(q.spec?.scopes ?? []).map((scopeName) => ({ scopeName, operator: 'Exists' })), ...(q.spec?.scopeSelector?.matchExpressions ?? [])];
  let verdict: boolean | 'assumed' = true;
  for (const t of terms) {
    const v = scopeMatches(t, pod);
    if (v === false) return false;
    if (v === 'assumed') verdict = 'assumed';
  }
  return verdict;
}

/** The memory resources a quota may bound that the container's pods count against. */
const QUOTA_MEMORY = ['limits.memory', 'requests.memory', 'memory'] as const;

/**
 * The highest memory limit the namespace's ResourceQuotas admit for the whole rollout of the
 * raise, and the quota and resource that set it; null when none bounds it. The rollout's peak —
 * its replicas plus its surge, every pod at the new limit — must fit in what the quota has left
 * (`hard − used`) plus what the workload's current pods use of it now (counted at the template's
 * limit, at most that peak of them), so no pod creation of the rollout is refused. Per quota, the
 * tightest of:
 * - `limits.memory`: the pod's limits (the container's and the other containers');
 * - `requests.memory` and `memory` (the same thing), only when the request follows the limit: a
 *   request the raise leaves alone adds nothing to the quota.
 * `hard` is the lower of the spec's and the status's (admission enforces the status's, which the
 * quota controller brings to the spec's). A quota whose `used` is missing for such a resource (a
 * new or changed quota the controller has not counted yet, within seconds) leaves the room unknown:
 * it admits no more than the current limit, which the pods running now show to fit. Scopes: a quota
 * that cannot take in the pods is skipped; one that may (see {@link scopeMatches}) counts, and says so.
 */
export function resourceQuotaCap(quotas: readonly V1ResourceQuota[], c: QuotaSubject): NamespaceCap | null {
  const { replicas, surge } = c.rollout;
  if (replicas <= 0) return null; // no pods: nothing to fit
  const peak = replicas + surge;
  const counted = Math.min(Math.max(0, c.rollout.current), peak);
  const pods = surge > 0 ? `${peak} pods (${replicas} + ${surge} surge)` : `${replicas} pods`;
  const low = lowest();
  for (const q of quotas) {
    const applies = quotaApplies(q, c.pod);
    if (applies === false) continue;
    const name = `ResourceQuota ${q.metadata?.name ?? '?'}${applies === 'assumed' ? ' (scoped, assumed to apply)' : ''}`;
    for (const resource of QUOTA_MEMORY) {
      const limits = resource === 'limits.memory';
      if (!limits && !c.requestFollowsLimit) continue;
      const bounds = [q.spec?.hard?.[resource], q.status?.hard?.[resource]].map(readQuantity).filter((b): b is number => b !== null);
      if (bounds.length === 0) continue;
      const hard = Math.min(...bounds);
      const used = readQuantity(q.status?.used?.[resource]);
      if (used === null) {
        low.consider(c.limitBytes, `${name}: its ${resource} usage is not computed yet`);
        continue;
      }
      const others = limits ? c.otherLimitsBytes : c.otherRequestsBytes;
      const own = limits ? c.limitBytes : (c.requestBytes ?? c.limitBytes);
      const perPod = (hard - used + counted * (others + own)) / peak;
      const raised = limits ? (c.othersRaisedBytes?.limits ?? 0) : (c.othersRaisedBytes?.requests ?? 0);
      const share = others + raised > 0 ? `, ${formatMebibytes(others + raised)} of it the other containers'${raised > 0 ? ` (raised by ${formatMebibytes(raised)} in the same patch)` : ''}` : '';
      low.consider(perPod - others - raised, `${name}: ${resource} ${formatMebibytes(hard)}, ${formatMebibytes(used)} used: the rollout's ${pods} fit ${formatMebibytes(floorToMebibytes(Math.max(0, perPod)))} each${share}`);
    }
  }
  return low.best;
}

/**
 * The highest memory limit the pod template's pod-level resources (KEP-2837: `spec.resources`, beta
 * and on by default since Kubernetes 1.34) admit for the container, and the rule that sets it; null
 * when it sets none. kube-apiserver validates every pod and pod template so
 * (`validatePodResourceConsistency`): a container's limit at most the pod-level limit, and the
 * containers' requests summed at most the pod-level request — the latter binds the raise only when
 * the request follows the limit; a pod-level request left unset is the pod-level limit (as the API
 * server defaults the pods' so). A raise past either is a patch the API server refuses (422), or
 * pods it refuses. The limit rule is applied to init containers too (the API server checks only
 * the others, but the pod's cgroup bounds every container by it: more would buy nothing).
 * `otherRequestsBytes` are the containers' beside it, as {@link alongside} sums them (which is how
 * the aggregate counts them). An unreadable quantity is skipped.
 */
export function podLevelCap(pod: Pick<V1PodSpec, 'resources'> | undefined, c: Pick<LimitRangeSubject, 'requestFollowsLimit' | 'otherRequestsBytes'>): NamespaceCap | null {
  const low = lowest();
  const limit = readQuantity(pod?.resources?.limits?.memory);
  const setRequest = readQuantity(pod?.resources?.requests?.memory);
  if (limit !== null) low.consider(limit, `pod-level resources: the pod's memory limit ${formatMebibytes(limit)}, which no container's may exceed`);
  const request = setRequest ?? limit;
  if (request !== null && c.requestFollowsLimit) {
    const unset = setRequest === null ? ' (its limit: no request set)' : '';
    const share = c.otherRequestsBytes > 0 ? `, ${formatMebibytes(c.otherRequestsBytes)} of it the other containers'` : '';
    low.consider(request - c.otherRequestsBytes, `pod-level resources: the pod's memory request ${formatMebibytes(request)}${unset}, which the containers' requests may not exceed together${share}`);
  }
  return low.best;
}

/** The pod-level memory limit of a pod spec in bytes; null when unset or unreadable. */
export function podLevelLimit(pod: Pick<V1PodSpec, 'resources'> | undefined): number | null {
  return readQuantity(pod?.resources?.limits?.memory);
}

/** `cap`, or a namespace's (or the pod's) when lower (rounded down to a whole MiB, as limits are written). */
export function withNamespaceCap(cap: EffectiveCap, source: CapSource, found: NamespaceCap | null): EffectiveCap {
  if (found === null) return cap;
  const bytes = floorToMebibytes(found.capBytes);
  return bytes < cap.capBytes ? { capBytes: bytes, source, detail: found.detail, ...(cap.invalid ? { invalid: cap.invalid } : {}) } : cap;
}

/** A container's memory limit and request in bytes (null when unset). Throws a QuantityError on garbage. */
export function containerMemory(container: V1Container): { limitBytes: number | null; requestBytes: number | null } {
  return {
    limitBytes: parseOptionalMemory(container.resources?.limits?.memory),
    requestBytes: parseOptionalMemory(container.resources?.requests?.memory),
  };
}

// ---------------------------------------------------------------------------------------------
// From the facts of one OOM kill

/** What is known when a container was OOM-killed. */
export interface OomFacts {
  /** The limit the container was killed at: its pod's spec (null: the pod has none, or it is unreadable). */
  killedAtBytes: number | null;
  /** The workload template's limit and request for that container now (null: unset). */
  templateLimitBytes: number | null;
  templateRequestBytes: number | null;
  /** The effective cap (see {@link effectiveMemoryCap}); null for none. */
  capBytes: number | null;
  /** See {@link MemoryState.minClampedShare}. */
  minClampedShare?: number;
  /**
   * The pod sets no memory limit for the container (its revision had none; `killedAtBytes` is then
   * null): the node killed it, or a pod-level limit did — no limit of the container's was too low.
   */
  killedWithoutLimit?: boolean;
}

export type OomPlan =
  | MemoryPlan
  /** The template's limit is above what the container was killed at: raised since that pod was made; its replacement has more. */
  | { action: 'already-raised'; killedAtBytes: number; templateLimitBytes: number }
  /** Killed in a pod that sets no limit for it, while the template now does: a fact about no limit, not the template's. */
  | { action: 'killed-without-limit'; templateLimitBytes: number };

/**
 * The OOM rule on the facts: the new limit is the rule's target from the limit the container was
 * actually killed at — not from the template's, which may have been raised (or changed) since the
 * pod was created — and never below the template's:
 * - no template limit → `no-limit` (nothing to raise; a limit is not invented);
 * - killed in a pod without a limit for it (a revision before the template's limit was set) →
 *   `killed-without-limit`: the template's limit, which that container never had, is not raised for it;
 * - killed below the template's limit → `already-raised` (a pod of an older revision dying at its
 *   old limit says nothing about the current one);
 * - otherwise {@link planMemoryBump} from the killed-at limit (cap, clamping, max-reached), with the
 *   request raised too when the template's request equals its limit (Guaranteed QoS kept).
 */
export function planOomBump(f: OomFacts, rules: HealRules = HEAL_RULES): OomPlan {
  if (f.templateLimitBytes === null) return { action: 'no-limit' };
  if (f.killedWithoutLimit) return { action: 'killed-without-limit', templateLimitBytes: f.templateLimitBytes };
  const killedAt = f.killedAtBytes ?? f.templateLimitBytes;
  if (killedAt < f.templateLimitBytes) return { action: 'already-raised', killedAtBytes: killedAt, templateLimitBytes: f.templateLimitBytes };
  const plan = planMemoryBump({ limitBytes: killedAt, requestBytes: f.templateRequestBytes, capBytes: f.capBytes, minClampedShare: f.minClampedShare }, rules);
  if (plan.action !== 'bump') return plan;
  const guaranteed = f.templateRequestBytes !== null && f.templateRequestBytes >= f.templateLimitBytes;
  return { ...plan, requestChanged: guaranteed, requestBytes: guaranteed ? plan.limitBytes : f.templateRequestBytes };
}

/**
 * The JSON patch operations setting container `index`'s memory limit in the pod template (and its
 * request, when given: it exists, as the plan only changes a request that is set). The caller
 * puts the preconditions first: the template (generation) must be the one the index was found in.
 */
export function memoryJsonPatch(index: number, limitBytes: number, requestBytes: number | null | undefined, options: { init?: boolean } = {}): JsonPatchOp[] {
  const base = `${templateContainerPath(index, options.init)}/resources`;
  const ops: JsonPatchOp[] = [{ op: 'replace', path: `${base}/limits/memory`, value: formatMebibytes(limitBytes) }];
  if (requestBytes !== undefined && requestBytes !== null) ops.push({ op: 'replace', path: `${base}/requests/memory`, value: formatMebibytes(requestBytes) });
  return ops;
}

/** Container `index` of the pod template (of its init containers, with `init`), as a JSON pointer. */
const templateContainerPath = (index: number, init = false): string => `/spec/template/spec/${init ? 'initContainers' : 'containers'}/${index}`;

/** A container's memory as the template had it before a raise: where it is, its name, its limit and (when the raise changed it) its request. */
export interface MemoryBefore {
  index: number;
  init: boolean;
  name: string;
  limit: string;
  request?: string;
}

/**
 * The JSON patch putting back the memory of every container a raise changed, in one write: one
 * rollout. Each container's name is tested at its index first, so a template whose containers
 * were reordered or renamed since is refused whole (422), not changed in another container.
 */
export function memoryUndoJsonPatch(before: readonly MemoryBefore[]): JsonPatchOp[] {
  return before.flatMap((b): JsonPatchOp[] => {
    const at = templateContainerPath(b.index, b.init);
    const ops: JsonPatchOp[] = [
      { op: 'test', path: `${at}/name`, value: b.name },
      { op: 'replace', path: `${at}/resources/limits/memory`, value: b.limit },
    ];
    if (b.request !== undefined) ops.push({ op: 'replace', path: `${at}/resources/requests/memory`, value: b.request });
    return ops;
  });
}
