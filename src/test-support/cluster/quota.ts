/**
 * The ResourceQuota controller, for what fake-quota.ts models: a quota's status is its spec's hard
 * and the usage of its namespace's non-terminal pods (pods, memory requests and limits). The real
 * controller gets there within seconds (on a pod's deletion or termination, and at every resync);
 * here at every round, from fresh reads, so a pod gone frees its share for the next creation. The
 * admission plugin (fake-kube.ts) charges each pod it admits in between, as the real one does.
 */
import type { V1Pod, V1ResourceQuota } from '@kubernetes/client-node';
import { quotaStatus, type QuotaObject } from '../fake-quota.js';
import type { Ctx } from './api.js';
import { semanticEqual } from './util.js';

export function reconcileResourceQuotas(ctx: Ctx): void {
  const quotas = ctx.api.list<V1ResourceQuota>('v1', 'ResourceQuota');
  if (quotas.length === 0) return;
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  for (const q of quotas) {
    const status = quotaStatus(q as QuotaObject, pods.filter((p) => p.metadata?.namespace === q.metadata?.namespace));
    if (!semanticEqual(status, q.status)) ctx.api.updateStatus({ ...q, status });
  }
}
