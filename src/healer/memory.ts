/**
 * The OOM rule: how far to raise a container's memory limit after an OOM kill, within a cap, and
 * the strategic-merge patch that does it.
 */
import type { V1Container } from '@kubernetes/client-node';
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
  /** Which cap is the smaller one. */
  source: 'global' | 'workload';
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

/** A container's memory limit and request in bytes (null when unset). Throws a QuantityError on garbage. */
export function containerMemory(container: V1Container): { limitBytes: number | null; requestBytes: number | null } {
  return {
    limitBytes: parseOptionalMemory(container.resources?.limits?.memory),
    requestBytes: parseOptionalMemory(container.resources?.requests?.memory),
  };
}

export interface MemoryPatchContainer {
  name: string;
  resources: { limits: { memory: string }; requests?: { memory: string } };
}

export type MemoryPatch = {
  spec: { template: { spec: { containers?: MemoryPatchContainer[]; initContainers?: MemoryPatchContainer[] } } };
};

/**
 * The strategic-merge patch body (for a Deployment or StatefulSet) setting one container's memory
 * limit, and its request when `requestBytes` is given (pass it only when the plan changed it, so an
 * untouched request keeps its exact original spelling). Containers merge by `name` and the
 * `limits`/`requests` maps merge key by key, so CPU and other containers are untouched. Values are
 * written as whole MiB, rounded up.
 */
export function memoryPatch(container: string, limitBytes: number, requestBytes?: number | null, options: { init?: boolean } = {}): MemoryPatch {
  const entry: MemoryPatchContainer = { name: container, resources: { limits: { memory: formatMebibytes(limitBytes) } } };
  if (requestBytes !== undefined && requestBytes !== null) entry.resources.requests = { memory: formatMebibytes(requestBytes) };
  const list = options.init ? 'initContainers' : 'containers';
  return { spec: { template: { spec: { [list]: [entry] } } } };
}
