/**
 * ControllerRevisions, as the StatefulSet and DaemonSet controllers keep them (controller_history):
 * each distinct pod template is recorded once, as `<parent>-<hash>` holding the strategic-merge
 * patch `{"spec":{"template":{...,"$patch":"replace"}}}` with a `revision` number; going back to an
 * earlier template renumbers that revision to max+1 instead of recording a copy.
 */
import type { V1ControllerRevision, V1ObjectMeta, V1PodTemplateSpec } from '@kubernetes/client-node';
import { clone } from '../fake-kube-patch.js';
import type { Ctx } from './api.js';
import { controllerRef, semanticEqual, shortHash, type Wire } from './util.js';

export type Revision = Wire<V1ControllerRevision>;
type Template = Wire<V1PodTemplateSpec>;

interface Parent {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec?: { template?: Template };
}

export const revisionData = (template: Template | undefined) => ({ spec: { template: { ...clone(template ?? {}), $patch: 'replace' } } });

/** The pod template a revision records. */
export function revisionTemplate(rev: Revision): Template {
  const data = (typeof rev.data === 'string' ? JSON.parse(rev.data) : rev.data) as { spec?: { template?: Template & { $patch?: string } } } | undefined;
  const template = clone(data?.spec?.template ?? {});
  delete template.$patch;
  return template;
}

const order = (a: Revision, b: Revision) =>
  (a.revision ?? 0) - (b.revision ?? 0) ||
  (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

export type RevisionSync = { update: Revision } | { wrote: true; collision?: boolean };

/**
 * The update revision for the parent's current template: the newest revision if it records it;
 * an older one that does, renumbered to max+1; or a new one. `hashLabel` is the label that
 * carries the hash on the revision. A name taken by a different revision asks the caller to bump
 * status.collisionCount.
 */
export function syncRevision(ctx: Ctx, parent: Parent, owned: Revision[], hashLabel: string, collisionCount: number): RevisionSync {
  const sorted = [...owned].sort(order);
  const data = revisionData(parent.spec?.template);
  const equal = sorted.filter((r) => semanticEqual(r.data, data));
  const next = (sorted.at(-1)?.revision ?? 0) + 1;
  const latestEqual = equal.at(-1);
  if (latestEqual && latestEqual === sorted.at(-1)) return { update: latestEqual };
  if (latestEqual) {
    ctx.api.update({ ...latestEqual, revision: next });
    return { wrote: true };
  }
  const hash = shortHash(data, collisionCount);
  const name = `${parent.metadata?.name}-${hash}`;
  const namespace = parent.metadata?.namespace ?? '';
  if (ctx.api.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', namespace, name)) return { wrote: true, collision: true };
  const rev: Revision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace,
      labels: { ...(parent.spec?.template?.metadata?.labels ?? {}), [hashLabel]: hash },
      ...(parent.metadata?.annotations ? { annotations: { ...parent.metadata.annotations } } : {}),
      ownerReferences: [controllerRef(parent)],
    },
    data,
    revision: next,
  };
  ctx.api.create(rev);
  return { wrote: true };
}

/** Deletes the oldest revisions no pod runs, beyond `limit`; true when it wrote. */
export function truncateHistory(ctx: Ctx, owned: Revision[], live: Set<string | undefined>, limit: number): boolean {
  const dead = owned.filter((r) => !live.has(r.metadata?.name)).sort(order);
  const doomed = dead.slice(0, Math.max(0, dead.length - limit));
  doomed.forEach((r) => ctx.api.delete(r));
  return doomed.length > 0;
}
