/**
 * Validation of pod specs in the fake API server, where a test's behaviour depends on it: the
 * consistency of pod-level resources (KEP-2837, `spec.resources` of a PodSpec; beta and on by
 * default since Kubernetes 1.34) with the containers', as kube-apiserver's
 * `validatePodResourceConsistency` (pkg/apis/core/validation/validation.go, called from
 * `validatePodResources` in `ValidatePodSpec`) checks every pod and every pod template of a
 * workload, on create and on update:
 * - each regular container's limit ≤ the pod-level limit of that resource, when one is set
 *   (`spec.resources.containers[i][memory].limits: Invalid value: "600Mi": must be less than or
 *   equal to pod limits of 512Mi`; init containers are not checked by this rule);
 * - the containers' aggregate request (resourcehelper.AggregateContainerRequests: the containers
 *   and sidecars summed, a regular init container with the sidecars before it counted instead when
 *   larger) ≤ the pod-level request (`spec.resources.requests[memory]: Invalid value: "512Mi": must
 *   be greater than or equal to aggregate container requests of 600Mi`).
 * The answer is 422 Invalid, `<Kind>.<group> "<name>" is invalid: <error>` (several errors in
 * brackets, comma-separated), with the errors as `details.causes`, as kube-apiserver words it.
 *
 * Memory only (the resource the healer changes), quantities printed in binary units. Defaulting is
 * not modelled but where it decides the answer: a container's request left unset counts as its
 * limit, and a pod-level request left unset as the pod-level limit — as kube-apiserver's defaulting
 * of pods (`SetDefaults_Pod`, `defaultPodRequests`) sets them before validation, on the pods the
 * workloads' controllers create from the template. Nothing else of a pod spec is validated.
 */
import { quantityString } from './fake-quota.js';
import { parseMemoryQuantity } from '../healer/quantity.js';

interface Container {
  name?: string;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  restartPolicy?: string;
}
interface Spec {
  containers?: Container[];
  initContainers?: Container[];
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

/** One field error, as field.Error prints it and as a metav1.StatusCause carries it. */
export interface FieldError {
  field: string;
  value: string;
  detail: string;
}

export const fieldErrorText = (e: FieldError): string => `${e.field}: Invalid value: "${e.value}": ${e.detail}`;

/** Bytes of a quantity; null when absent or unreadable (not validated here). */
function bytes(q: unknown): number | null {
  if (typeof q !== 'string' && typeof q !== 'number') return null;
  try {
    return parseMemoryQuantity(String(q));
  } catch {
    return null;
  }
}

const shown = (q: unknown, n: number): string => (typeof q === 'string' ? q : quantityString(n));

/** A container's memory request, its limit when unset (pods are defaulted so); 0 when neither. */
const request = (c: Container): number => bytes(c.resources?.requests?.memory) ?? bytes(c.resources?.limits?.memory) ?? 0;

/** resourcehelper.AggregateContainerRequests for memory. */
function aggregateRequests(spec: Spec): number {
  let running = (spec.containers ?? []).reduce((sum, c) => sum + request(c), 0);
  let sidecars = 0;
  let init = 0;
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      running += request(c);
      sidecars += request(c);
      init = Math.max(init, sidecars);
    } else init = Math.max(init, request(c) + sidecars);
  }
  return Math.max(running, init);
}

/** The pod-level resource errors of a pod spec at `path` (e.g. `spec.template.spec`); none without pod-level memory. */
export function podSpecErrors(spec: unknown, path: string): FieldError[] {
  if (typeof spec !== 'object' || spec === null) return [];
  const s = spec as Spec;
  const podLimitRaw = s.resources?.limits?.memory;
  const podLimit = bytes(podLimitRaw);
  const podRequestRaw = s.resources?.requests?.memory ?? podLimitRaw;
  const podRequest = bytes(podRequestRaw);
  const base = `${path}.resources`;
  const errors: FieldError[] = [];
  if (podRequest !== null) {
    const aggregate = aggregateRequests(s);
    if (aggregate > podRequest) {
      errors.push({ field: `${base}.requests[memory]`, value: shown(podRequestRaw, podRequest), detail: `must be greater than or equal to aggregate container requests of ${quantityString(aggregate)}` });
    }
  }
  if (podLimit !== null) {
    (s.containers ?? []).forEach((c, i) => {
      const limit = bytes(c.resources?.limits?.memory);
      if (limit !== null && limit > podLimit) {
        errors.push({ field: `${base}.containers[${i}][memory].limits`, value: shown(c.resources?.limits?.memory, limit), detail: `must be less than or equal to pod limits of ${shown(podLimitRaw, podLimit)}` });
      }
    });
  }
  return errors;
}

/** The pod spec of an object the fake validates, and its field path: a Pod's, or a workload's template's. */
export function podSpecOf(kind: string, obj: object): { spec: unknown; path: string } | null {
  const spec = (obj as { spec?: unknown }).spec as { template?: { spec?: unknown } } | undefined;
  if (kind === 'Pod') return { spec, path: 'spec' };
  if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(kind)) return { spec: spec?.template?.spec, path: 'spec.template.spec' };
  return null;
}
