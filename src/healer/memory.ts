/**
 * The OOM rule: how far to raise a container's memory limit after an OOM kill, within a cap, from
 * the limit it was actually killed at, and the JSON patch operations that do it.
 */
import type { V1Container, V1LimitRange } from '@kubernetes/client-node';
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
 * headroom the operator explicitly allowed unused.
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
      target = floorToMebibytes(capBytes);
      clamped = true;
      if (target <= limitBytes) return { action: 'max-reached', limitBytes, capBytes };
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
  /** Which cap is the smaller one (`limit-range`: the namespace's, see {@link limitRangeCap}). */
  source: 'global' | 'workload' | 'limit-range';
  /** With `limit-range`: which LimitRange, and which of its rules. */
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

/** The container whose limit is raised, as the namespace's LimitRanges judge it. */
export interface LimitRangeSubject {
  /** Its request after the raise (null: none set); a request raised with the limit is bound by no ratio. */
  requestBytes: number | null;
  requestFollowsLimit: boolean;
  /** The limits of the pod's other containers that count with it against a Pod item's max (0 for an init container). */
  otherLimitsBytes: number;
}

/**
 * The highest memory limit the namespace's LimitRanges admit for the container, and the rule that
 * sets it; null when none bounds it. Admission checks LimitRanges when pods are created, not when a
 * template is patched: a raise past one would leave the rollout unable to create a single pod, while
 * a RollingUpdate still takes old pods away by its maxUnavailable. Rules: a `Container` item's
 * `max.memory`; its `maxLimitRequestRatio.memory` times the request that stays; a `Pod` item's
 * `max.memory` less the other containers' limits. An unreadable quantity is skipped (admission
 * would have refused the LimitRange itself).
 */
export function limitRangeCap(ranges: readonly V1LimitRange[], c: LimitRangeSubject): { capBytes: number; detail: string } | null {
  let best: { capBytes: number; detail: string } | null = null;
  const consider = (bytes: number, detail: string) => {
    if (Number.isFinite(bytes) && (best === null || bytes < best.capBytes)) best = { capBytes: Math.max(0, bytes), detail };
  };
  const quantity = (q: unknown): number | null => {
    try {
      return typeof q === 'string' || typeof q === 'number' ? parseMemoryQuantity(String(q)) : null;
    } catch {
      return null;
    }
  };
  for (const range of ranges) {
    const name = `LimitRange ${range.metadata?.name ?? '?'}`;
    for (const item of range.spec?.limits ?? []) {
      const max = quantity(item.max?.memory);
      if (item.type === 'Container') {
        if (max !== null) consider(max, `${name}: max memory per container ${formatMebibytes(max)}`);
        const ratio = Number(item.maxLimitRequestRatio?.memory);
        if (c.requestBytes !== null && !c.requestFollowsLimit && Number.isFinite(ratio) && ratio > 0) {
          consider(c.requestBytes * ratio, `${name}: memory limit at most ${ratio}× the request (${formatMebibytes(c.requestBytes)})`);
        }
      } else if (item.type === 'Pod' && max !== null) {
        consider(max - c.otherLimitsBytes, `${name}: max memory per pod ${formatMebibytes(max)}, ${formatMebibytes(c.otherLimitsBytes)} of it the other containers'`);
      }
    }
  }
  return best;
}

/** `cap`, or the LimitRanges' when lower (rounded down to a whole MiB, as limits are written). */
export function withLimitRange(cap: EffectiveCap, range: { capBytes: number; detail: string } | null): EffectiveCap {
  if (range === null) return cap;
  const bytes = floorToMebibytes(range.capBytes);
  return bytes < cap.capBytes ? { capBytes: bytes, source: 'limit-range', detail: range.detail, ...(cap.invalid ? { invalid: cap.invalid } : {}) } : cap;
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
}

export type OomPlan =
  | MemoryPlan
  /** The template's limit is above what the container was killed at: raised since that pod was made; its replacement has more. */
  | { action: 'already-raised'; killedAtBytes: number; templateLimitBytes: number };

/**
 * The OOM rule on the facts: the new limit is the rule's target from the limit the container was
 * actually killed at — not from the template's, which may have been raised (or changed) since the
 * pod was created — and never below the template's:
 * - no template limit → `no-limit` (nothing to raise; a limit is not invented);
 * - killed below the template's limit → `already-raised` (a pod of an older revision dying at its
 *   old limit says nothing about the current one);
 * - otherwise {@link planMemoryBump} from the killed-at limit (cap, clamping, max-reached), with the
 *   request raised too when the template's request equals its limit (Guaranteed QoS kept).
 */
export function planOomBump(f: OomFacts, rules: HealRules = HEAL_RULES): OomPlan {
  if (f.templateLimitBytes === null) return { action: 'no-limit' };
  const killedAt = f.killedAtBytes ?? f.templateLimitBytes;
  if (killedAt < f.templateLimitBytes) return { action: 'already-raised', killedAtBytes: killedAt, templateLimitBytes: f.templateLimitBytes };
  const plan = planMemoryBump({ limitBytes: killedAt, requestBytes: f.templateRequestBytes, capBytes: f.capBytes }, rules);
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
  const base = `/spec/template/spec/${options.init ? 'initContainers' : 'containers'}/${index}/resources`;
  const ops: JsonPatchOp[] = [{ op: 'replace', path: `${base}/limits/memory`, value: formatMebibytes(limitBytes) }];
  if (requestBytes !== undefined && requestBytes !== null) ops.push({ op: 'replace', path: `${base}/requests/memory`, value: formatMebibytes(requestBytes) });
  return ops;
}
