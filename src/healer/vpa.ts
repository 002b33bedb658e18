/**
 * Which containers' memory limits a VerticalPodAutoscaler sets, so the healer leaves those to it
 * (a raise would be overwritten at the next pod's admission, or fought over) and raises the rest.
 * Pure: the caller lists the VPAs. Read as VPA's admission controller applies them:
 * - `updatePolicy.updateMode` `Off` only recommends; every other mode (Auto, Recreate, Initial,
 *   InPlaceOrRecreate; Auto when unset) writes the pods it admits.
 * - A container's policy is the `containerPolicies` entry of its name, else the `*` entry (one
 *   naming no container applies to none, as in VPA's own lookup).
 * - Its `mode: Off` leaves the container alone; `controlledResources` (default cpu and memory)
 *   without `memory` leaves its memory alone; `controlledValues: RequestsOnly` sets requests only,
 *   so the limit the healer raises stands (and the request is the VPA's, whatever the template says).
 */

/** What the healer reads of a VerticalPodAutoscaler. */
export interface Vpa {
  metadata?: { name?: string; creationTimestamp?: Date | string };
  status?: { recommendation?: { containerRecommendations?: { containerName?: string; target?: Record<string, string> }[] } };
  spec?: {
    targetRef?: { kind?: string; name?: string };
    updatePolicy?: { updateMode?: string };
    resourcePolicy?: { containerPolicies?: ContainerPolicy[] };
  };
}

interface ContainerPolicy {
  containerName?: string;
  mode?: string;
  controlledResources?: string[];
  controlledValues?: string;
}

/** Older first, then by name: VPA's admission applies the oldest of several matching a pod (its `Stronger`). */
const oldestFirst = (a: Vpa, b: Vpa): number => {
  const t = (v: Vpa) => new Date(v.metadata?.creationTimestamp ?? 0).getTime() || 0;
  return t(a) - t(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
};

/**
 * How a VPA sets `container`'s memory in the workload `kind`/`name`: its limit too, or only its
 * request; null when none does. Of several VPAs on the workload (a misconfiguration VPA warns
 * about) the oldest not `Off` decides, as VPA's admission picks it.
 */
export function vpaMemoryControl(vpas: readonly Vpa[], kind: string, name: string, container: string): { vpa: Vpa; limit: boolean } | null {
  const v = vpas.filter((v) => v.spec?.targetRef?.kind === kind && v.spec.targetRef.name === name && v.spec.updatePolicy?.updateMode !== 'Off').sort(oldestFirst)[0];
  if (!v) return null;
  const policies = v.spec?.resourcePolicy?.containerPolicies ?? [];
  // VPA's own lookup: the container's name, else the last `*`; a policy naming no container applies to none.
  const policy = policies.find((p) => p.containerName === container) ?? policies.findLast((p) => p.containerName === '*');
  if (policy?.mode === 'Off') return null;
  if (policy?.controlledResources && !policy.controlledResources.includes('memory')) return null;
  return { vpa: v, limit: policy?.controlledValues !== 'RequestsOnly' };
}

/** The memory the VPA recommends for `container` (its `target`), in bytes as parsed by `parse`; null when it has none. */
export function vpaMemoryTarget(v: Vpa, container: string, parse: (q: string) => number): number | null {
  const target = v.status?.recommendation?.containerRecommendations?.find((r) => r.containerName === container)?.target?.memory;
  if (target === undefined) return null;
  try {
    return parse(target);
  } catch {
    return null;
  }
}

/** The VPA that sets `container`'s memory limit in the workload `kind`/`name`, or null. */
export function vpaSettingMemoryLimit(vpas: readonly Vpa[], kind: string, name: string, container: string): Vpa | null {
  const control = vpaMemoryControl(vpas, kind, name, container);
  return control?.limit ? control.vpa : null;
}
