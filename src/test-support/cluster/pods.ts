/** Pod predicates and construction shared by the workload controllers. */
import type { V1OwnerReference, V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Ctx } from './api.js';
import { clone } from '../fake-kube-patch.js';
import type { Wire } from './util.js';

export type Pod = Wire<V1Pod>;
export type PodTemplate = Wire<V1PodTemplateSpec>;

export const isTerminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** Counted by controllers: not finished, not being deleted. */
export const isActive = (p: Pod): boolean => !isTerminal(p) && !p.metadata?.deletionTimestamp;

/** Running with condition Ready=True. */
export function isReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * Ready for at least minReadySeconds (the controllers' "available"). When it will become
 * available later, asks the clock to wake the controllers then.
 */
export function isAvailable(ctx: Ctx, p: Pod, minReadySeconds = 0): boolean {
  if (!isReady(p)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return true;
  const at = since + minReadySeconds * 1000;
  if (at <= ctx.clock.now()) return true;
  ctx.clock.wakeAt(at);
  return false;
}

/** A new pod from a template, as the workload controllers build them. */
export function podFromTemplate(
  template: PodTemplate | undefined,
  o: { name: string; namespace: string; owner: Wire<V1OwnerReference>; labels?: Record<string, string>; generateName?: string; nodeName?: string },
): Pod {
  const t = clone(template ?? {});
  const spec = t.spec ?? { containers: [] };
  if (o.nodeName) spec.nodeName = o.nodeName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      ...(o.generateName ? { generateName: o.generateName } : {}),
      namespace: o.namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...(o.labels ?? {}) },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [o.owner],
    },
    spec,
  };
}

/** Drops zero counts, as the API's `omitempty` status fields do on the wire. */
export function omitZero<T extends object>(status: T, keys: (keyof T)[]): T {
  const out = { ...status };
  for (const k of keys) if (out[k] === 0 || out[k] === undefined) delete out[k];
  return out;
}
