/**
 * ResourceQuota in the fake API server, for pods and memory: what a pod counts against a quota,
 * a namespace's usage (for the simulated quota controller, cluster/quota.ts), and the admission
 * check of a new pod, as kube-apiserver's ResourceQuota plugin makes it — against the quota's
 * `status.hard` and `status.used` (not its spec: the quota controller copies the spec's hard into
 * the status), refusing with its messages, and charging `status.used` when it admits.
 *
 * Tracked: `pods`, `count/pods`, `requests.memory` (and `memory`, its other name), `limits.memory`.
 * A pod's request is its request, or its limit when it sets none (the API server defaults it so).
 * A pod's usage is its effective request and limit (`resourcehelper.PodRequests` / `PodLimits`, which
 * the quota evaluator uses): its containers and its restartable init containers ("sidecars",
 * `restartPolicy: Always`) summed, as they all run together, or a regular init container with the
 * sidecars started before it when that is larger ("Quota and limits are applied based on the
 * effective Pod request and limit": kubernetes.io, Sidecar Containers, Resource sharing).
 * Not modelled: other resources (cpu, storage, object counts: ignored), scopes (a quota with
 * `scopes` or a `scopeSelector` is neither enforced nor counted), the "must specify limits.memory"
 * constraint on pods without limits, pod overhead, updates of pods (only creation is checked).
 */
import { parseMemoryQuantity } from '../healer/quantity.js';

const TRACKED = ['count/pods', 'limits.memory', 'memory', 'pods', 'requests.memory'] as const;
type Tracked = (typeof TRACKED)[number];
type Usage = Record<Tracked, number>;
const isTracked = (r: string): r is Tracked => (TRACKED as readonly string[]).includes(r);

interface Container {
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  restartPolicy?: string;
}
/** The parts of a pod (stored or wire JSON) that count. */
export interface QuotaPod {
  spec?: { containers?: Container[]; initContainers?: Container[] };
  status?: { phase?: string };
}
/** The parts of a ResourceQuota this reads and writes. */
export interface QuotaObject {
  metadata?: { name?: string };
  spec?: { hard?: Record<string, string>; scopes?: unknown[]; scopeSelector?: unknown };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/** A quantity's value (bytes, or a count); 0 when absent or unreadable (the API server validates quantities). */
function value(q: unknown): number {
  try {
    return typeof q === 'string' || typeof q === 'number' ? parseMemoryQuantity(q) : 0;
  } catch {
    return 0;
  }
}

/** As Quantity.String() writes a whole number of bytes: the largest binary suffix that divides it. */
export function quantityString(n: number): string {
  for (const [suffix, power] of [['Ei', 60], ['Pi', 50], ['Ti', 40], ['Gi', 30], ['Mi', 20], ['Ki', 10]] as const) {
    const unit = 2 ** power;
    if (n !== 0 && n % unit === 0) return `${n / unit}${suffix}`;
  }
  return String(n);
}

/**
 * What one pod counts, as resourcehelper.PodLimits / PodRequests sum it: containers and sidecars
 * (restartable init containers) summed; a regular init container, with the sidecars declared
 * before it, counted instead when that is larger (it runs with those only).
 */
export function podUsage(pod: QuotaPod): Usage {
  const memory = (c: Container, kind: 'limits' | 'requests') =>
    value(kind === 'limits' ? c.resources?.limits?.memory : (c.resources?.requests?.memory ?? c.resources?.limits?.memory));
  const total = (kind: 'limits' | 'requests') => {
    let running = (pod.spec?.containers ?? []).reduce((sum, c) => sum + memory(c, kind), 0);
    let sidecars = 0;
    let init = 0;
    for (const c of pod.spec?.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        running += memory(c, kind);
        sidecars += memory(c, kind);
        init = Math.max(init, sidecars);
      } else init = Math.max(init, memory(c, kind) + sidecars);
    }
    return Math.max(running, init);
  };
  const requests = total('requests');
  return { 'count/pods': 1, 'limits.memory': total('limits'), memory: requests, pods: 1, 'requests.memory': requests };
}

const scoped = (q: QuotaObject) => (q.spec?.scopes?.length ?? 0) > 0 || q.spec?.scopeSelector !== undefined;
const isTerminal = (p: QuotaPod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/**
 * The status the quota controller gives a quota: the spec's hard, and the usage of the namespace's
 * non-terminal `pods` for each tracked resource in it (an untracked one keeps what it had). A
 * scoped quota is left as it is.
 */
export function quotaStatus(q: QuotaObject, pods: readonly QuotaPod[]): QuotaObject['status'] {
  if (scoped(q)) return q.status;
  const hard = q.spec?.hard ?? {};
  const counted = pods.filter((p) => !isTerminal(p)).map(podUsage);
  const used: Record<string, string> = {};
  for (const r of Object.keys(hard)) {
    if (isTracked(r)) used[r] = quantityString(counted.reduce((sum, u) => sum + u[r], 0));
    else if (q.status?.used?.[r] !== undefined) used[r] = q.status.used[r];
  }
  return { hard: { ...hard }, used };
}

/** `resource=quantity,…` for those resources, sorted, as the admission plugin prints them. */
const pretty = (of: (r: Tracked) => number, resources: Tracked[]) => resources.map((r) => `${r}=${quantityString(of(r))}`).join(',');

/**
 * The admission check of a new pod against one quota: null when the quota bounds nothing it
 * tracks (or is scoped), `refused` with the plugin's message (the caller prefixes
 * `pods "NAME" is forbidden: `), or the quota's `used` with the pod charged.
 */
export function admitPod(q: QuotaObject, pod: QuotaPod): { used: Record<string, string> } | { refused: string } | null {
  if (scoped(q)) return null;
  const name = q.metadata?.name ?? '';
  const hard = q.status?.hard ?? {};
  const used = q.status?.used ?? {};
  const bounded = TRACKED.filter((r) => hard[r] !== undefined);
  if (bounded.length === 0) return null;
  if (bounded.some((r) => used[r] === undefined)) return { refused: `status unknown for quota: ${name}, resources: ${bounded.join(',')}` };
  const requested = podUsage(pod);
  const exceeded = bounded.filter((r) => value(used[r]) + requested[r] > value(hard[r]));
  if (exceeded.length > 0) {
    const of = (list: Record<string, string>) => (r: Tracked) => value(list[r]);
    return { refused: `exceeded quota: ${name}, requested: ${pretty((r) => requested[r], exceeded)}, used: ${pretty(of(used), exceeded)}, limited: ${pretty(of(hard), exceeded)}` };
  }
  const charged = { ...used };
  for (const r of bounded) charged[r] = quantityString(value(used[r]) + requested[r]);
  return { used: charged };
}
