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
  metadata?: { name?: string };
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

/** How a VPA sets `container`'s memory in the workload `kind`/`name`: its limit too, or only its request; null when none does. */
export function vpaMemoryControl(vpas: readonly Vpa[], kind: string, name: string, container: string): { vpa: Vpa; limit: boolean } | null {
  let requestsOnly: Vpa | null = null;
  for (const v of vpas) {
    if (v.spec?.targetRef?.kind !== kind || v.spec.targetRef.name !== name) continue;
    if (v.spec.updatePolicy?.updateMode === 'Off') continue;
    const policies = v.spec.resourcePolicy?.containerPolicies ?? [];
    // VPA's own lookup: the container's name, else `*`; a policy naming no container applies to none.
    const policy = policies.find((p) => p.containerName === container) ?? policies.find((p) => p.containerName === '*');
    if (policy?.mode === 'Off') continue;
    if (policy?.controlledResources && !policy.controlledResources.includes('memory')) continue;
    if (policy?.controlledValues !== 'RequestsOnly') return { vpa: v, limit: true };
    requestsOnly ??= v;
  }
  return requestsOnly ? { vpa: requestsOnly, limit: false } : null;
}

/** The VPA that sets `container`'s memory limit in the workload `kind`/`name`, or null. */
export function vpaSettingMemoryLimit(vpas: readonly Vpa[], kind: string, name: string, container: string): Vpa | null {
  const control = vpaMemoryControl(vpas, kind, name, container);
  return control?.limit ? control.vpa : null;
}
