/**
 * Known-good revisions and rollback targets.
 *
 * A revision (a Deployment's ReplicaSet, a StatefulSet's ControllerRevision) becomes
 * **known-good** once all its pods have been Ready, continuously, for `knownGoodSeconds`:
 * `readinessMark` records `amadeus.io/ready-since` when it becomes fully ready, clears it when it
 * stops being ready before qualifying, and sets `amadeus.io/known-good: "true"` (and
 * `amadeus.io/known-good-at`) once it qualifies. The mark is sticky: old revisions are scaled to
 * zero, which is exactly when they are needed as rollback targets. A `known-good` value other than
 * `"true"` (an operator's `"false"`) is never overwritten and vetoes the revision as a target.
 *
 * A crash loop is answered by rolling back to the newest known-good revision older than the
 * current one, the way `kubectl rollout undo --to-revision` does it.
 */
import type {
  V1ControllerRevision,
  V1Deployment,
  V1ObjectMeta,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { ownerOf } from './detect.js';
import { HEAL_PREFIX, HEAL_RULES, KUBE_KEYS, type HealRules } from './rules.js';

/** An annotations patch: a value sets, `null` removes (JSON merge-patch semantics: send it as `{ metadata: { annotations } }`). */
export type AnnotationPatch = Record<string, string | null>;

/** Kubernetes defaults `spec.replicas` to 1. */
function desired(spec: { replicas?: number } | undefined): number {
  return spec?.replicas ?? 1;
}

/** The controller has seen the latest spec (when the object carries a generation at all). */
function observedCurrent(meta: V1ObjectMeta | undefined, observedGeneration: number | undefined): boolean {
  return meta?.generation === undefined || observedGeneration === meta.generation;
}

/**
 * A ReplicaSet is fully ready when it wants pods (`spec.replicas > 0`), all of them are Ready and
 * Available (`readyReplicas === availableReplicas === spec.replicas`), and its status is for the
 * current generation.
 */
export function isReplicaSetFullyReady(rs: V1ReplicaSet): boolean {
  const want = desired(rs.spec);
  const st = rs.status;
  if (!st || want <= 0) return false;
  return observedCurrent(rs.metadata, st.observedGeneration) && st.readyReplicas === want && st.availableReplicas === want;
}

/**
 * A StatefulSet revision is fully ready when it is the set's update revision, every replica runs it
 * (`updatedReplicas === spec.replicas > 0`), all are Ready and Available (`availableReplicas`,
 * when the cluster reports it), and the status is for the current generation. (Not requiring
 * `currentRevision === updateRevision` keeps `OnDelete` sets working.)
 */
export function isStatefulSetRevisionFullyReady(sts: V1StatefulSet, revision: V1ControllerRevision): boolean {
  const want = desired(sts.spec);
  const st = sts.status;
  const name = revision.metadata?.name;
  if (!st || want <= 0 || !name) return false;
  return (
    observedCurrent(sts.metadata, st.observedGeneration) &&
    st.updateRevision === name &&
    st.updatedReplicas === want &&
    st.readyReplicas === want &&
    (st.availableReplicas ?? st.readyReplicas) === want
  );
}

function parseTime(value: string | undefined): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/**
 * The readiness bookkeeping rule on one revision's annotations, given whether it is fully ready
 * now. Returns the annotations to change, or null when nothing changes.
 * - known-good mark present (any value) → nothing: the mark is sticky;
 * - not ready → remove `ready-since` if set (the clock restarts);
 * - ready, no (or an unreadable) `ready-since` → set it to `now`;
 * - ready for at least `knownGoodSeconds` → set `known-good: "true"` and `known-good-at: now`.
 */
export function readinessTransition(
  annotations: Record<string, string> | undefined,
  ready: boolean,
  now: Date,
  rules: HealRules = HEAL_RULES,
): AnnotationPatch | null {
  const A = rules.annotations;
  const current = annotations ?? {};
  if (current[A.knownGood] !== undefined) return null;
  if (!ready) return current[A.readySince] !== undefined ? { [A.readySince]: null } : null;
  const patch: AnnotationPatch = {};
  let since = parseTime(current[A.readySince]);
  if (since === null) {
    since = now.getTime();
    patch[A.readySince] = now.toISOString();
  }
  if (now.getTime() - since >= rules.knownGoodSeconds * 1000) {
    patch[A.knownGood] = 'true';
    patch[A.knownGoodAt] = now.toISOString();
  }
  return Object.keys(patch).length > 0 ? patch : null;
}

/** What {@link readinessMark} looks at: a ReplicaSet, or a StatefulSet with one of its revisions. */
export type ReadinessSubject =
  | { kind: 'ReplicaSet'; replicaSet: V1ReplicaSet }
  | { kind: 'ControllerRevision'; statefulSet: V1StatefulSet; revision: V1ControllerRevision };

/**
 * The annotation update for a ReplicaSet (patch the ReplicaSet) or a StatefulSet revision (patch
 * the ControllerRevision: its `data` is immutable, its metadata is not), or null.
 */
export function readinessMark(subject: ReadinessSubject, now: Date, rules: HealRules = HEAL_RULES): AnnotationPatch | null {
  if (subject.kind === 'ReplicaSet') {
    return readinessTransition(subject.replicaSet.metadata?.annotations, isReplicaSetFullyReady(subject.replicaSet), now, rules);
  }
  const ready = isStatefulSetRevisionFullyReady(subject.statefulSet, subject.revision);
  return readinessTransition(subject.revision.metadata?.annotations, ready, now, rules);
}

/** True when the revision carries `amadeus.io/known-good: "true"`. */
export function isKnownGood(meta: V1ObjectMeta | undefined, rules: HealRules = HEAL_RULES): boolean {
  return meta?.annotations?.[rules.annotations.knownGood] === 'true';
}

// ---------------------------------------------------------------------------------------------
// Template comparison

/**
 * Canonical JSON of a value, comparing the way `apiequality.Semantic.DeepEqual` does for our
 * purpose: object keys sorted; null/undefined members, empty maps and empty lists dropped (nil and
 * empty are equal); Dates as ISO strings (the typed client gives Dates, raw JSON gives strings).
 */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    const items = value.map(canonical).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical((value as Record<string, unknown>)[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value === null ? undefined : value;
}

function withoutHash(template: V1PodTemplateSpec | undefined): unknown {
  if (!template) return undefined;
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels[KUBE_KEYS.podTemplateHash];
  return canonical({ ...template, metadata: { ...template.metadata, labels } });
}

/** Pod templates equal, ignoring the `pod-template-hash` label (the Deployment controller's `EqualIgnoreHash`). */
export function templatesEqualIgnoringHash(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return JSON.stringify(withoutHash(a)) === JSON.stringify(withoutHash(b));
}

// ---------------------------------------------------------------------------------------------
// Deployments

export type NoRollbackCode = 'no-uid' | 'no-revisions' | 'no-older-revision' | 'no-known-good' | 'same-template';
export type RollbackPick<T> = { target: T; revision: number } | { none: string; code: NoRollbackCode };

/** The revision number of a ReplicaSet (`deployment.kubernetes.io/revision`), or null. */
export function replicaSetRevision(rs: V1ReplicaSet): number | null {
  const raw = rs.metadata?.annotations?.[KUBE_KEYS.deploymentRevision];
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw.trim());
}

interface Candidate<T> {
  obj: T;
  revision: number;
  meta: V1ObjectMeta | undefined;
  sameTemplate: boolean;
}

/**
 * The shared rule: among the owned revisions older than `current`, the newest that is known-good
 * and whose template differs from the workload's current one (restoring an identical template
 * would change nothing: the failure is elsewhere, e.g. a dependency or a ConfigMap).
 */
function pickOlderKnownGood<T>(candidates: Candidate<T>[], current: number, what: string, rules: HealRules): RollbackPick<T> {
  const older = candidates.filter((c) => c.revision < current).sort((a, b) => b.revision - a.revision);
  if (older.length === 0) return { none: `no ${what} older than the current revision ${current}`, code: 'no-older-revision' };
  const good = older.filter((c) => isKnownGood(c.meta, rules));
  if (good.length === 0) {
    return { none: `none of the older revisions (${older.map((c) => c.revision).join(', ')}) is marked known-good`, code: 'no-known-good' };
  }
  const usable = good.find((c) => !c.sameTemplate);
  if (!usable) {
    return {
      none: `the known-good revisions (${good.map((c) => c.revision).join(', ')}) have the current pod template: a rollback would change nothing`,
      code: 'same-template',
    };
  }
  return { target: usable.obj, revision: usable.revision };
}

/**
 * The ReplicaSet to roll a Deployment back to: among the ReplicaSets it controls (controller
 * ownerReference with the Deployment's uid; others are ignored), the current one is the highest
 * revision; the target is the newest lower revision marked known-good whose template is not the
 * Deployment's current template. `{ none, code }` says why there is none.
 */
export function pickRollbackTarget(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[], rules: HealRules = HEAL_RULES): RollbackPick<V1ReplicaSet> {
  const uid = deployment.metadata?.uid;
  if (!uid) return { none: 'the deployment has no uid: cannot tell which ReplicaSets it owns', code: 'no-uid' };
  const owned: Candidate<V1ReplicaSet>[] = [];
  for (const rs of replicaSets) {
    if (ownerOf(rs)?.uid !== uid) continue;
    const revision = replicaSetRevision(rs);
    if (revision === null) continue;
    owned.push({ obj: rs, revision, meta: rs.metadata, sameTemplate: templatesEqualIgnoringHash(rs.spec?.template, deployment.spec?.template) });
  }
  if (owned.length === 0) return { none: 'no ReplicaSet with a revision is owned by this deployment', code: 'no-revisions' };
  const current = Math.max(...owned.map((c) => c.revision));
  return pickOlderKnownGood(owned, current, 'ReplicaSet', rules);
}

/**
 * The pod template to restore, as `kubectl rollout undo` builds it: the ReplicaSet's
 * `spec.template`, verbatim (its own labels and annotations included), minus the
 * `pod-template-hash` label the Deployment controller added. A deep copy.
 */
export function rollbackTemplate(target: V1ReplicaSet): V1PodTemplateSpec {
  const template = structuredClone(target.spec?.template ?? {}) as V1PodTemplateSpec;
  if (template.metadata?.labels) delete template.metadata.labels[KUBE_KEYS.podTemplateHash];
  return template;
}

/** Annotations kubectl never copies between a Deployment and its ReplicaSets (`annotationsToSkip` in kubectl's rollback.go). */
const KUBECTL_SKIPPED = new Set<string>([
  KUBE_KEYS.lastAppliedConfiguration,
  KUBE_KEYS.deploymentRevision,
  KUBE_KEYS.deploymentRevisionHistory,
  KUBE_KEYS.desiredReplicas,
  KUBE_KEYS.maxReplicas,
  KUBE_KEYS.deprecatedRollbackTo,
]);

/**
 * The Deployment's annotations after the rollback, as kubectl computes them — the ReplicaSet's
 * annotations (e.g. `kubernetes.io/change-cause` of that revision) except kubectl's skip list,
 * whose values are kept from the Deployment — with one addition: `amadeus.io/*` annotations are
 * never taken from the ReplicaSet and always kept from the Deployment. The Deployment controller
 * copies Deployment annotations onto ReplicaSets, so an old ReplicaSet holds stale bookkeeping
 * (`last-rollback`, which would erase the cooldown) and its own marks (`known-good`, which would be
 * copied onto the next new ReplicaSet and falsely mark it). `extra` (e.g. the new `last-rollback`
 * mark) is applied last.
 */
export function rollbackAnnotations(deployment: V1Deployment, target: V1ReplicaSet, extra: Record<string, string> = {}): Record<string, string> {
  const own = deployment.metadata?.annotations ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(own)) if (KUBECTL_SKIPPED.has(k) || k.startsWith(HEAL_PREFIX)) out[k] = v;
  for (const [k, v] of Object.entries(target.metadata?.annotations ?? {})) {
    if (!KUBECTL_SKIPPED.has(k) && !k.startsWith(HEAL_PREFIX)) out[k] = v;
  }
  return { ...out, ...extra };
}

export type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown };

/**
 * The JSON patch (`application/json-patch+json`) of the Deployment, as `kubectl rollout undo`
 * sends it: replace `/spec/template` and `/metadata/annotations`. Two differences: a leading
 * `test` of `/metadata/resourceVersion` (when known) makes it fail, rather than clobber, when the
 * Deployment changed since it was read; annotations use `add` (sets or replaces), which also works
 * on an object without annotations.
 */
export function deploymentRollbackPatch(deployment: V1Deployment, target: V1ReplicaSet, extraAnnotations: Record<string, string> = {}): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const rv = deployment.metadata?.resourceVersion;
  if (rv) ops.push({ op: 'test', path: '/metadata/resourceVersion', value: rv });
  ops.push({ op: 'replace', path: '/spec/template', value: rollbackTemplate(target) });
  ops.push({ op: 'add', path: '/metadata/annotations', value: rollbackAnnotations(deployment, target, extraAnnotations) });
  return ops;
}

// ---------------------------------------------------------------------------------------------
// StatefulSets

/**
 * A ControllerRevision's `data`: for a StatefulSet, the strategic-merge patch
 * `{"spec":{"template":{...,"$patch":"replace"}}}` the controller recorded. The typed client gives
 * it parsed; raw JSON text is accepted too. Null when it is not of that shape.
 */
export function revisionData(revision: V1ControllerRevision): { spec: { template: Record<string, unknown> } } | null {
  let data: unknown = revision.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return null;
    }
  }
  const template = (data as { spec?: { template?: unknown } } | null | undefined)?.spec?.template;
  if (template === null || typeof template !== 'object' || Array.isArray(template)) return null;
  return data as { spec: { template: Record<string, unknown> } };
}

function revisionTemplate(revision: V1ControllerRevision): V1PodTemplateSpec | undefined {
  const data = revisionData(revision);
  if (!data) return undefined;
  const template = { ...data.spec.template };
  delete template.$patch;
  return template as V1PodTemplateSpec;
}

/**
 * The ControllerRevision to roll a StatefulSet back to: among the revisions it controls, the
 * current one is `status.updateRevision` (else the highest `revision`); the target is the newest
 * lower revision marked known-good, holding a readable template that differs from the set's
 * current `spec.template`.
 */
export function pickStatefulSetRevision(
  sts: V1StatefulSet,
  revisions: readonly V1ControllerRevision[],
  rules: HealRules = HEAL_RULES,
): RollbackPick<V1ControllerRevision> {
  const uid = sts.metadata?.uid;
  if (!uid) return { none: 'the statefulset has no uid: cannot tell which ControllerRevisions it owns', code: 'no-uid' };
  const owned = revisions.filter((rev) => ownerOf(rev)?.uid === uid && Number.isInteger(rev.revision));
  if (owned.length === 0) return { none: 'no ControllerRevision is owned by this statefulset', code: 'no-revisions' };
  const updateRevision = owned.find((rev) => rev.metadata?.name === sts.status?.updateRevision);
  const current = updateRevision ? updateRevision.revision : Math.max(...owned.map((rev) => rev.revision));
  const candidates: Candidate<V1ControllerRevision>[] = [];
  for (const rev of owned) {
    const template = revisionTemplate(rev);
    if (template === undefined) continue; // not a StatefulSet revision we can restore
    candidates.push({ obj: rev, revision: rev.revision, meta: rev.metadata, sameTemplate: templatesEqualIgnoringHash(template, sts.spec?.template) });
  }
  return pickOlderKnownGood(candidates, current, 'restorable ControllerRevision', rules);
}

/**
 * The strategic-merge patch (`application/strategic-merge-patch+json`) restoring a StatefulSet to
 * a revision: the revision's `data` itself, exactly what `kubectl rollout undo statefulset` sends;
 * its `"$patch": "replace"` directive makes the API server replace the whole pod template rather
 * than merge into it (added if a writer left it out). `annotations` (e.g. the `last-rollback` mark)
 * ride along in the same patch. The StatefulSet controller then records (or reuses) a revision
 * for the restored template. Throws when the revision holds no template.
 *
 * Caveat for the caller: with `podManagementPolicy: OrderedReady` and a rolling update, a pod
 * stuck broken at the bad revision blocks the rollout forever (kubernetes/kubernetes#67250); once
 * the template is restored, delete the pods {@link statefulSetPodsToRecreate} lists.
 */
export function statefulSetRollbackPatch(target: V1ControllerRevision, annotations: Record<string, string> = {}): Record<string, unknown> {
  const data = revisionData(target);
  if (!data) throw new Error(`ControllerRevision ${target.metadata?.name ?? '?'} holds no pod template (data.spec.template)`);
  const copy = structuredClone(data) as { spec: { template: Record<string, unknown> } } & Record<string, unknown>;
  copy.spec.template.$patch = 'replace';
  return Object.keys(annotations).length > 0 ? { ...copy, metadata: { annotations: { ...annotations } } } : copy;
}

/** The pods not at `targetRevisionName` (`controller-revision-hash` label) and not Ready: to delete after a StatefulSet rollback. */
export function statefulSetPodsToRecreate(pods: readonly V1Pod[], targetRevisionName: string): V1Pod[] {
  return pods.filter((pod) => {
    if (pod.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] === targetRevisionName) return false;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status !== 'True';
  });
}
