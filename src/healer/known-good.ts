/**
 * Known-good revisions, and the rollback rule.
 *
 * A revision (a Deployment's ReplicaSet, a StatefulSet's ControllerRevision) becomes
 * **known-good** once this process has observed its pods healthy, without interruption, for
 * `knownGoodSeconds` (the clock is `revisions.ts`'s, fed by the pod informer) and every pod it
 * wants is Ready at that moment: `knownGoodMark` then sets `amadeus.io/known-good: "true"` and
 * `amadeus.io/known-good-at` (and, on a ReplicaSet, `amadeus.io/known-good-template`: the hash of
 * the pod template it was observed healthy with — a template edited in place since is not what was
 * observed, and the mark does not count for it). The mark is sticky — old revisions are scaled to zero, which is
 * exactly when they are needed as targets — but one whose pods were seen crash-looping after it
 * was marked (`amadeus.io/crash-looped-at`) is no target until marked again. A `known-good` value
 * other than `"true"` (an operator's `"false"`) is never overwritten and vetoes the revision.
 *
 * A crash loop is answered like a rollout controller would: only when the crash-looping pods run
 * the workload's newest revision, that revision was never marked known-good itself, and enough of
 * its pods fail (`revisions.ts`'s share rule); then to the newest known-good revision older than
 * it, never one the workload was rolled back from before (`amadeus.io/rolled-back-from` holds
 * their template hashes, which survive the controller's renumbering), the way
 * `kubectl rollout undo --to-revision` does it. (A revision that ran healthy while this process was
 * not watching carries no mark: what the API server shows of that refuses its rollback too, never
 * makes a target — `unwatched.ts`.)
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
// Not re-exported by the package's index: the generated serializer the typed API clients read with.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ownerOf } from './detect.js';
import { readMark } from './guards.js';
import { selectorMatches } from './owners.js';
import { annotationOps, preconditions, type JsonPatchOp } from './patches.js';
import { parseMemoryQuantity } from './quantity.js';
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
 * The mark rule on one revision's annotations, given since when this process has observed it
 * healthy (null: not healthy now, or not every desired pod Ready) and, for a ReplicaSet, the
 * {@link templateHash} of its template now (`hash`; undefined for a ControllerRevision, whose data
 * is immutable). Returns the annotations to change, or null:
 * - vetoed (`known-good` other than `"true"`) or marked for this template and not crash-looped
 *   since → nothing;
 * - observed healthy for at least `knownGoodSeconds` up to `observedUntil` (the pod watch's last
 *   proof of being live; a silent watch observes nothing), and since after any recorded crash loop →
 *   `known-good: "true"`, `known-good-at: now` (and an old `ready-since`, no longer trusted, removed).
 */
export function knownGoodMark(meta: MarkMeta | undefined, healthySince: number | null, now: Date, rules: HealRules = HEAL_RULES, observedUntil: number = now.getTime(), hash?: string): AnnotationPatch | null {
  const A = rules.annotations;
  const current = meta?.annotations ?? {};
  const mark = current[A.knownGood];
  if (mark !== undefined && mark !== 'true') return null;
  // A mark bound to this revision and its template stands; one copied from another revision, one
  // made for a template since edited in place, or one of an earlier version (unbound, or bound to
  // the uid alone) is replaced by this revision's own once it has earned it.
  if (isUsableKnownGood(meta, rules, hash) && current[A.knownGoodFor] === meta?.uid && (hash === undefined || current[A.knownGoodTemplate] === templateMark(hash))) return null;
  if (healthySince === null || Math.min(now.getTime(), observedUntil) - healthySince < rules.knownGoodSeconds * 1000) return null;
  const crashed = parseTime(current[A.crashLoopedAt]);
  if (crashed !== null && healthySince <= crashed) return null;
  const patch: AnnotationPatch = { [A.knownGood]: 'true', [A.knownGoodAt]: now.toISOString() };
  if (meta?.uid !== undefined) patch[A.knownGoodFor] = meta.uid;
  if (hash !== undefined) patch[A.knownGoodTemplate] = templateMark(hash);
  if (current[A.readySince] !== undefined) patch[A.readySince] = null;
  return patch;
}

/**
 * Annotations that belong on revisions only, found on a workload (null: none), as removals.
 * `kubectl rollout undo` copies them there from the ReplicaSet; the Deployment controller then
 * copies them onto every new ReplicaSet and keeps re-copying them over that ReplicaSet's own
 * (it syncs the new ReplicaSet's annotations to the Deployment's), so its own mark never sticks.
 */
export function revisionMarksOnWorkload(meta: V1ObjectMeta | undefined, rules: HealRules = HEAL_RULES): AnnotationPatch | null {
  const A = rules.annotations;
  const keys = [A.knownGood, A.knownGoodAt, A.knownGoodFor, A.knownGoodTemplate, A.crashLoopedAt, A.readySince, A.ranHealthyUnwatched].filter((k) => meta?.annotations?.[k] !== undefined);
  return keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, null])) : null;
}

/**
 * The crash-loop record for a revision whose pods crash-loop: `crash-looped-at: now`, unless it
 * already says so since its mark (any record of its own, when it has no mark of its own). On a marked revision
 * it withdraws the mark as a rollback target; on an unmarked one it keeps the revision from being
 * taken later as a memory raise of a known-good target (rule 5 of the pick) — a crash loop refused
 * there as too few pods is seen crash-looping all the same.
 */
export function crashLoopRecord(meta: V1ObjectMeta | undefined, now: Date, rules: HealRules = HEAL_RULES, hash?: string): AnnotationPatch | null {
  const A = rules.annotations;
  const markedAt = isKnownGood(meta, rules, hash) ? (parseTime(meta?.annotations?.[A.knownGoodAt]) ?? 0) : -Infinity;
  const crashed = ownCrashLoopRecord(meta, rules);
  if (crashed !== null && crashed >= markedAt) return null;
  return { [A.crashLoopedAt]: now.toISOString() };
}

/** A revision's creation time in ms (client-node parses it to a Date; a hand-made object may carry a string); null when unknown. */
function createdAtOf(meta: MarkMeta | undefined): number | null {
  const created = meta?.creationTimestamp;
  const at = created instanceof Date ? created.getTime() : parseTime(created as string | undefined);
  return at === null || Number.isNaN(at) ? null : at;
}

/** What the mark rule reads of a revision. */
export type MarkMeta = Pick<V1ObjectMeta, 'annotations' | 'uid' | 'creationTimestamp'>;

/**
 * Whether the revision's mark was made for it. `kubectl rollout undo` copies the target
 * ReplicaSet's annotations onto the Deployment, and the Deployment controller copies those onto
 * every new ReplicaSet: a mark alone would make later revisions "born known-good". So a mark
 * counts only on the object whose uid it names (`known-good-for`). A mark without one (written
 * by a version before marks were bound) counts only when it was made after the revision was
 * created — a copied mark predates the revision it was copied onto; the next healthy window
 * rewrites it bound.
 *
 * Nor does a mark count for a template other than the one it was made with: with `hash` (the
 * {@link templateHash} of the revision's template now), a mark naming another
 * (`known-good-template`) is not own — someone edited the ReplicaSet's template in place since
 * (`kubectl edit rs`), and what it would restore was never observed healthy. A mark naming none
 * (an earlier version's) counts as before; the next healthy window rewrites it with one.
 */
function markIsOwn(meta: MarkMeta | undefined, rules: HealRules, hash?: string): boolean {
  const A = rules.annotations;
  if (markedForAnotherTemplate(meta, hash, rules)) return false;
  const boundTo = meta?.annotations?.[A.knownGoodFor];
  if (boundTo !== undefined) return boundTo === meta?.uid;
  const createdAt = createdAtOf(meta);
  if (createdAt === null) return true; // not from an API server: nothing to compare
  const markedAt = parseTime(meta?.annotations?.[A.knownGoodAt]);
  return markedAt !== null && markedAt > createdAt;
}

/**
 * True when the revision's mark names a template (`known-good-template`) other than `hash`, its
 * template's {@link templateHash} now: its template was edited in place since it was marked. False
 * without `hash`, without a mark, or for a mark naming no template.
 */
export function markedForAnotherTemplate(meta: MarkMeta | undefined, hash: string | undefined, rules: HealRules = HEAL_RULES): boolean {
  const madeFor = meta?.annotations?.[rules.annotations.knownGoodTemplate];
  // A value tagged otherwise was computed by another build (templateMark): nothing to compare.
  if (hash === undefined || madeFor === undefined || !madeFor.startsWith(`${TEMPLATE_MARK_TAG}:`)) return false;
  return madeFor !== templateMark(hash) && meta?.annotations?.[rules.annotations.knownGood] === 'true';
}

/** The client library's version, read once; "unknown" if it cannot be read. */
function clientLibraryVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@kubernetes/client-node/package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The tag of a `known-good-template` value: the hash is of client-node's typed template, which
 * another client-node may fill differently (a field it now knows, defaulted by the API server), so
 * a value written by a build with another client-node names no template this one can compare. Such
 * a mark counts as one of an earlier version without a template (uid-bound), and the next healthy
 * window rewrites it — rather than every mark reading as "edited" after an upgrade, leaving no
 * rollback target until new rollouts earn new ones.
 */
export const TEMPLATE_MARK_TAG = `cn${clientLibraryVersion()}`;

/** The `known-good-template` value for a template of {@link templateHash} `hash`: tagged by the build that computed it. */
export function templateMark(hash: string): string {
  return `${TEMPLATE_MARK_TAG}:${hash}`;
}

/**
 * True when the revision carries `amadeus.io/known-good: "true"` made for it (it was observed
 * healthy once) — and, given `hash` (its template's {@link templateHash} now), for that template.
 */
export function isKnownGood(meta: MarkMeta | undefined, rules: HealRules = HEAL_RULES, hash?: string): boolean {
  return meta?.annotations?.[rules.annotations.knownGood] === 'true' && markIsOwn(meta, rules, hash);
}

/**
 * Since when a ReplicaSet whose mark names another template (edited in place, {@link
 * markedForAnotherTemplate}) counts as observed healthy with its template now: only pods made
 * after the edit run it, and the edit's time is not recorded anywhere — but it came before
 * `editSeenAt`, when this process first saw the template differ from the mark's. So every pod must
 * have been created after that (`oldestCreated`, API server clock, by `marginMs`), and the window
 * counts from the later of the revision's clock and that. Null: not proved.
 */
export function healthySinceTemplateEdit(healthySince: number | null, editSeenAt: number, oldestCreated: number | null, marginMs: number): number | null {
  if (healthySince === null || oldestCreated === null || oldestCreated <= editSeenAt + marginMs) return null;
  return Math.max(healthySince, oldestCreated + marginMs);
}

/**
 * When the revision was recorded crash-looping, if that record is its own: made after the revision
 * was created (a record `kubectl rollout undo` and the Deployment controller copied from another
 * revision predates it). Null: none of its own.
 */
export function ownCrashLoopRecord(meta: MarkMeta | undefined, rules: HealRules = HEAL_RULES): number | null {
  const crashed = parseTime(meta?.annotations?.[rules.annotations.crashLoopedAt]);
  if (crashed === null) return null;
  const createdAt = createdAtOf(meta);
  return createdAt === null || crashed >= createdAt ? crashed : null;
}

/**
 * Whether a ReplicaSet may be marked known-good as far as its own crash-loop record goes: always
 * without one; with one, only once it wants the Deployment's full size and its newest container
 * start (`lastStart`, over its pods) came after the record, by `marginMs` (node clocks differ from
 * this process's), and a whole window before `now`. Why: a rollout scales the old ReplicaSet down
 * unhealthy pods first, so the Ready pods left — and the same pods once an autoscaler shrinks the
 * Deployment to them — are the ones that ran beside the crash loop, no evidence that the revision
 * works. A pod come up since is: the revision starting again after the crash loop, at full size.
 */
export function provedSinceCrashLoop(meta: MarkMeta | undefined, want: number, deploymentReplicas: number, lastStart: number | null, now: Date, marginMs: number, rules: HealRules = HEAL_RULES): boolean {
  const crashed = ownCrashLoopRecord(meta, rules);
  if (crashed === null) return true;
  return want >= deploymentReplicas && lastStart !== null && lastStart > crashed + marginMs && now.getTime() - lastStart >= rules.knownGoodSeconds * 1000;
}

/** When a marked revision was seen crash-looping since its mark; null: not since. */
function crashedSinceMark(meta: MarkMeta | undefined, rules: HealRules): number | null {
  const crashed = parseTime(meta?.annotations?.[rules.annotations.crashLoopedAt]);
  const markedAt = parseTime(meta?.annotations?.[rules.annotations.knownGoodAt]) ?? 0;
  return crashed !== null && crashed >= markedAt ? crashed : null;
}

/** Known-good (for the template `hash` names, when given), and not seen crash-looping since it was marked: a rollback target. */
export function isUsableKnownGood(meta: MarkMeta | undefined, rules: HealRules = HEAL_RULES, hash?: string): boolean {
  return isKnownGood(meta, rules, hash) && crashedSinceMark(meta, rules) === null;
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

/**
 * Pod-template annotations that only restart the pods: `kubectl rollout restart`'s, and Stakater
 * Reloader's with its `annotations` reload strategy.
 */
const RESTART_ANNOTATIONS = ['kubectl.kubernetes.io/restartedAt', 'reloader.stakater.com/last-reloaded-from'];
/** The variable Stakater Reloader's `env-vars` strategy sets on containers: `STAKATER_<RESOURCE>_<TYPE>`, its value a hash of the data. */
const RELOADER_ENV = /^STAKATER_[A-Z0-9_]+_(CONFIGMAP|SECRET|SECRETPROVIDERCLASS)$/;

/** A copy of a pod template without restart markers (and a ControllerRevision's `$patch`). */
function withoutRestartMarkers(t: V1PodTemplateSpec | Record<string, unknown> | undefined): V1PodTemplateSpec {
  const copy = structuredClone(t ?? {}) as V1PodTemplateSpec & { $patch?: unknown };
  delete copy.$patch;
  for (const k of RESTART_ANNOTATIONS) delete copy.metadata?.annotations?.[k];
  for (const c of [...(copy.spec?.containers ?? []), ...(copy.spec?.initContainers ?? [])]) {
    if (c.env) c.env = c.env.filter((e) => !RELOADER_ENV.test(e.name));
  }
  return copy;
}

/**
 * Pod templates equal once restart markers are ignored (and `pod-template-hash`): a release made by
 * `kubectl rollout restart` (`kubectl.kubernetes.io/restartedAt`) or by Stakater Reloader (the
 * `reloader.stakater.com/last-reloaded-from` annotation, or `STAKATER_*_CONFIGMAP` / `_SECRET` /
 * `_SECRETPROVIDERCLASS` variables). Its pods run what the earlier ones ran; only what they read at
 * start (a ConfigMap, a Secret, a dependency) can differ.
 */
export function templatesEqualButRestart(a: V1PodTemplateSpec | Record<string, unknown> | undefined, b: V1PodTemplateSpec | Record<string, unknown> | undefined): boolean {
  return templatesEqualIgnoringHash(withoutRestartMarkers(a), withoutRestartMarkers(b));
}

/**
 * A hash of a pod template, ignoring `pod-template-hash` (and the `$patch` directive a
 * ControllerRevision stores): equal templates hash equal whatever revision number or object
 * carries them, which is what the memory of rolled-away-from revisions needs.
 */
export function templateHash(template: V1PodTemplateSpec | Record<string, unknown> | undefined): string {
  const copy = { ...(template ?? {}) } as Record<string, unknown>;
  delete copy.$patch;
  return createHash('sha256')
    .update(JSON.stringify(withoutHash(copy as V1PodTemplateSpec)) ?? '')
    .digest('hex')
    .slice(0, 16);
}

/** The template hashes a workload was rolled back from (`amadeus.io/rolled-back-from`), oldest first. */
export function rolledBackFrom(meta: V1ObjectMeta | undefined, rules: HealRules = HEAL_RULES): string[] {
  const raw = meta?.annotations?.[rules.annotations.rolledBackFrom];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * A Deployment's metadata with the healer's own marks (`lastOomBump`, `lastRollback`,
 * `rolledBackFrom`) as its ReplicaSets remember them too. The Deployment controller copies the
 * Deployment's annotations onto the ReplicaSet it makes current, and `kubectl rollout undo`
 * replaces the Deployment's annotations with an older ReplicaSet's: the marks written since that
 * ReplicaSet was made vanish from the Deployment (a cooldown forgotten, a revision rolled back from
 * no longer known) but survive on the ReplicaSet that was current when they were written. So each
 * action mark is the newest found (by its time), and the hashes rolled back from are all of them.
 * Only ReplicaSets the Deployment controls count.
 */
export function withRememberedMarks(meta: V1ObjectMeta, replicaSets: readonly { metadata?: V1ObjectMeta }[], rules: HealRules = HEAL_RULES): V1ObjectMeta {
  const A = rules.annotations;
  const sources = [meta, ...replicaSets.map((rs) => rs.metadata).filter((m): m is V1ObjectMeta => m?.ownerReferences?.some((o) => o.controller && o.uid === meta.uid) === true)];
  if (sources.length === 1) return meta;
  const annotations = { ...(meta.annotations ?? {}) };
  for (const key of [A.lastOomBump, A.lastRollback]) {
    let best: { at: number; raw: string } | null = null;
    for (const m of sources) {
      const mark = readMark(m, key);
      if (mark && (best === null || mark.at > best.at)) best = { at: mark.at, raw: m.annotations![key]! };
    }
    if (best) annotations[key] = best.raw;
  }
  const hashes = [...new Set(sources.flatMap((m) => rolledBackFrom(m, rules)))];
  if (hashes.length > 0) annotations[A.rolledBackFrom] = JSON.stringify(hashes.slice(-ROLLED_BACK_FROM_KEPT));
  return { ...meta, annotations };
}

/** Hashes remembered: a workload rolled back more often than this has bigger problems than oscillation. */
const ROLLED_BACK_FROM_KEPT = 10;

/** The annotation value after rolling back from `hash`. */
export function withRolledBackFrom(meta: V1ObjectMeta | undefined, hash: string, rules: HealRules = HEAL_RULES): string {
  return JSON.stringify([...rolledBackFrom(meta, rules).filter((h) => h !== hash), hash].slice(-ROLLED_BACK_FROM_KEPT));
}

/**
 * A failure in a pod of a revision the workload was rolled back from (`revisionHash`, its
 * {@link templateHash}; null: not known), while the workload's template is no longer that revision's
 * (`isCurrent` false; compare with {@link typedPodTemplate} for a ControllerRevision's raw data):
 * the rollback answered it already. Its evidence — a crash loop, an OOM kill at that revision's
 * limit — is about a release the workload no longer runs: acting on it would change the
 * (known-good) template rolled back to, or roll back again. A template that is that revision's
 * again (someone re-applied it since) is a new rollout, whose failures count.
 */
export function answeredByRollback(revisionHash: string | null, rolledBackFromHashes: readonly string[], isCurrent: boolean): boolean {
  return revisionHash !== null && rolledBackFromHashes.includes(revisionHash) && !isCurrent;
}

// ---------------------------------------------------------------------------------------------
// Deployments

export type NoRollbackCode =
  | 'no-uid'
  | 'no-revisions'
  | 'unknown-revision'
  | 'not-newest-revision'
  | 'revision-known-good'
  | 'no-older-revision'
  | 'no-known-good'
  | 'same-template'
  | 'rollout-not-observed'
  | 'revision-not-wanted'
  | 'known-good-crash-looped'
  | 'raise-crash-looped'
  | 'restart-only';

/** The revision whose pods crash-loop, as found among the workload's revisions. */
export interface FailingRevision<T> {
  obj: T;
  name: string;
  revision: number;
  /** {@link templateHash} of its template. */
  hash: string;
  /** Its pod template (a ControllerRevision's without `$patch`). */
  template: V1PodTemplateSpec | undefined;
  /** Its template is the workload's current one (compared as the typed model reads both). */
  current: boolean;
}

export type RollbackPick<T> =
  /** `raiseOf`: the target is that known-good revision's template with more memory (a raise since), not itself marked. */
  | { target: T; revision: number; failing: FailingRevision<T>; raiseOf?: number }
  | { none: string; code: NoRollbackCode; failing?: FailingRevision<T> };

/** The revision number of a ReplicaSet (`deployment.kubernetes.io/revision`), or null. */
export function replicaSetRevision(rs: V1ReplicaSet): number | null {
  const raw = rs.metadata?.annotations?.[KUBE_KEYS.deploymentRevision];
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw.trim());
}

interface Candidate<T> {
  obj: T;
  name: string;
  revision: number;
  meta: V1ObjectMeta | undefined;
  hash: string;
  sameTemplate: boolean;
  template: V1PodTemplateSpec | undefined;
}

export interface PickOptions {
  /**
   * The name of the revision whose pods crash-loop (ReplicaSet, or ControllerRevision); default:
   * the newest. It must be the newest, and never marked known-good itself.
   */
  failing?: string;
  /** Template hashes the workload was rolled back from: never targets. */
  rolledBackFrom?: readonly string[];
}

/**
 * Why the workload's controller may not have caught up with its spec (null: it has): its
 * `status.observedGeneration` is not its `metadata.generation`. Until it has, the revisions listed
 * may not include the one the spec now asks for (an operator's fix, a `kubectl rollout undo`), and
 * "the newest revision" is not what the workload wants.
 */
function notObserved(kind: string, meta: V1ObjectMeta | undefined, observedGeneration: number | undefined): string | null {
  if (meta?.generation !== undefined && observedGeneration === meta.generation) return null;
  return `the ${kind}'s controller has not observed its latest spec yet (generation ${meta?.generation ?? '?'}, observed ${observedGeneration ?? 'none'}): rollout not observed yet, the spec may hold a newer change than the revisions do`;
}

/**
 * The shared rule, over a workload's own revisions (`newest`: the one the controller is rolling
 * out, default the highest number):
 * 1. the failing revision must be the newest — pods of an older one are being replaced by a
 *    rollout already, and rolling back from the newest because an old one fails would be wrong;
 * 2. the workload must still want it: its controller has observed the latest spec (`lag` null:
 *    observedGeneration, and for a StatefulSet its update revision) and the failing revision's
 *    template is the workload's current one — otherwise a newer change (an operator's fix, a
 *    `kubectl rollout undo`) is not rolled out yet and a rollback would overwrite it;
 * 3. it must never have been marked known-good — a revision that ran healthy for the window and
 *    then crash-loops points at something else than the release (the cluster, a dependency,
 *    data), and rolling it back would undo a working release;
 * 4. the target is the newest revision *older* than the failing one (never a newer one) that is
 *    known-good — for the template it has now, not one edited in place since — and not seen
 *    crash-looping since, and was never rolled back from (by template
 *    hash: the controller renumbers a revision it reuses, so numbers alone cannot tell); when a
 *    known-good revision has the current template, nothing is done (`same-template`) rather than
 *    going further back; nor when the newest known-good revision crash-looped since its mark
 *    (`known-good-crash-looped`): the one under it would undo two releases;
 * 5. but a newer revision (still older than the failing one, never rolled back from, vetoed or seen
 *    crash-looping) that is that target's template with more memory — a memory raise, the healer's
 *    own or a person's, not marked yet because the release came within the known-good window — is
 *    taken instead: rolling back past it would undo the raise and bring back the OOM kills it
 *    answered. More memory alone does not make a container crash. When the only such raise was
 *    seen crash-looping, nothing is done (`raise-crash-looped`): either target could fail;
 * 6. nothing is done either when the failing template is the target's but for restart markers
 *    (`restart-only`, {@link templatesEqualButRestart}): `kubectl rollout restart`, or Stakater
 *    Reloader after a ConfigMap or Secret changed, made the release, and what crashes is what the
 *    pods read again at start, which a rollback reads again too.
 */
function pick<T>(candidates: Candidate<T>[], o: PickOptions, newestName: string | undefined, what: string, rules: HealRules, lag: string | null): RollbackPick<T> {
  const byNumber = [...candidates].sort((a, b) => b.revision - a.revision);
  const newest = candidates.find((c) => c.name === newestName) ?? byNumber[0]!;
  const failingCandidate = o.failing === undefined ? newest : candidates.find((c) => c.name === o.failing);
  if (!failingCandidate) return { none: `the crash-looping pods run ${o.failing}, which is not one of this workload's ${what}s`, code: 'unknown-revision' };
  const failing: FailingRevision<T> = { obj: failingCandidate.obj, name: failingCandidate.name, revision: failingCandidate.revision, hash: failingCandidate.hash, template: failingCandidate.template, current: failingCandidate.sameTemplate };
  if (failingCandidate !== newest) {
    return {
      none: `the crash-looping pods run revision ${failing.revision}, but revision ${newest.revision} is the newest: its rollout replaces them`,
      code: 'not-newest-revision',
      failing,
    };
  }
  // The workload must still want the failing revision: a rollback planned on a spec the controller
  // has not rolled out, or on a template that is no longer the failing one, would overwrite a
  // newer change (an operator's fix) or undo a rollback already asked for.
  if (lag !== null) return { none: lag, code: 'rollout-not-observed', failing };
  if (!failingCandidate.sameTemplate) {
    const asked = byNumber.find((c) => c.sameTemplate && c.revision < failing.revision && isKnownGood(c.meta, rules, c.hash));
    if (asked) {
      return {
        none: `the workload's template is already that of known-good revision ${asked.revision} (a rollback not rolled out yet): rolling back further would undo it`,
        code: 'same-template',
        failing,
      };
    }
    return {
      none: `the workload no longer wants the failing revision ${failing.revision}: its template has changed since (a newer change not rolled out yet), and a rollback would overwrite it`,
      code: 'revision-not-wanted',
      failing,
    };
  }
  if (isKnownGood(failingCandidate.meta, rules, failingCandidate.hash)) {
    const at = failingCandidate.meta?.annotations?.[rules.annotations.knownGoodAt];
    return {
      none: `revision ${failing.revision} was marked known-good${at ? ` at ${at}` : ''}: it ran healthy, so the crash loop points elsewhere (a dependency, the cluster, data) and rolling it back would undo a working release`,
      code: 'revision-known-good',
      failing,
    };
  }
  const older = byNumber.filter((c) => c.revision < failing.revision);
  if (older.length === 0) return { none: `no ${what} older than the failing revision ${failing.revision}`, code: 'no-older-revision', failing };
  const away = new Set(o.rolledBackFrom ?? []);
  const good = older.filter((c) => isUsableKnownGood(c.meta, rules, c.hash) && !away.has(c.hash));
  if (good.length === 0) {
    const notes = older.map(
      (c) =>
        `${c.revision}${away.has(c.hash) ? ' (rolled back from before)' : markedForAnotherTemplate(c.meta, c.hash, rules) ? ' (template edited since marked)' : isKnownGood(c.meta, rules, c.hash) ? ' (crash-looped since marked)' : ''}`,
    );
    return { none: `none of the older revisions (${notes.join(', ')}) is a known-good target`, code: 'no-known-good', failing };
  }
  // Never past the newest known-good revision when it was seen crash-looping since its mark (a
  // minority of its pods is enough for the record: a bad node): it is no target, and the one
  // under it would undo two releases — the last that ran healthy too. People decide.
  const newestMarked = older.find((c) => !away.has(c.hash) && isKnownGood(c.meta, rules, c.hash));
  if (newestMarked && newestMarked !== good[0]) {
    const at = crashedSinceMark(newestMarked.meta, rules);
    return {
      none: `known-good revision ${newestMarked.revision}, the newest, was seen crash-looping${at === null ? '' : ` at ${new Date(at).toISOString()}`} since its mark and is no target; rolling back past it to revision ${good[0]!.revision} would undo two releases: choose by hand`,
      code: 'known-good-crash-looped',
      failing,
    };
  }
  // A known-good revision with the current template: the workload already runs (or asks for) a
  // known-good template, so going further back would undo it rather than fix anything.
  const same = good.filter((c) => c.sameTemplate);
  if (same.length > 0) {
    return {
      none: `the known-good revision${same.length > 1 ? 's' : ''} ${same.map((c) => c.revision).join(', ')} ${same.length > 1 ? 'have' : 'has'} the current pod template: a rollback would change nothing`,
      code: 'same-template',
      failing,
    };
  }
  const usable = good[0]!;
  // Never one an operator vetoed (`known-good: "false"`, or any value but "true") or seen crash-looping.
  const crashedAt = (c: Candidate<T>) => ownCrashLoopRecord(c.meta, rules);
  const clean = (c: Candidate<T>) => {
    const mark = c.meta?.annotations?.[rules.annotations.knownGood];
    return (mark === undefined || mark === 'true') && crashedAt(c) === null;
  };
  // Rule 6: a release that only restarted the target's template re-read what the pods read at
  // start (a ConfigMap, a Secret): rolling the restart back restarts them into the same.
  const restartOnly = (target: Candidate<T>): RollbackPick<T> | null =>
    templatesEqualButRestart(failingCandidate.template, target.template)
      ? {
          none: `revision ${failing.revision} differs from revision ${target.revision} only in restart markers (kubectl rollout restart, Stakater Reloader): the crash loop comes from what the restarted pods read again — a ConfigMap, a Secret, a dependency — and a rollback would restart them into the same; fix that`,
          code: 'restart-only',
          failing,
        }
      : null;
  const raises = byNumber.filter((c) => c.revision > usable.revision && c.revision < failing.revision && !away.has(c.hash) && memoryRaiseOf(usable.template, c.template));
  const raised = raises.find(clean);
  if (raised) return restartOnly(raised) ?? { target: raised.obj, revision: raised.revision, failing, raiseOf: usable.revision };
  // A raise seen crash-looping (a share of its pods too small for a rollback, a dependency): neither
  // it nor the target under it is safe to roll out — one may crash-loop again, the other brings the
  // OOM kills back. People decide.
  const crashed = raises.find((c) => crashedAt(c) !== null);
  if (crashed) {
    const at = new Date(crashedAt(crashed)!).toISOString();
    return {
      none: `revision ${crashed.revision} raised the memory of known-good revision ${usable.revision} since, and its pods were seen crash-looping at ${at}: rolling back to it could bring that crash loop back, and rolling back to revision ${usable.revision} would undo the raise and bring back the OOM kills it answered`,
      code: 'raise-crash-looped',
      failing,
    };
  }
  return restartOnly(usable) ?? { target: usable.obj, revision: usable.revision, failing };
}

/**
 * The ReplicaSet to roll a Deployment back to, by the rule above, among the ReplicaSets it
 * controls (controller ownerReference with the Deployment's uid; others are ignored); the newest
 * is the highest revision. `{ none, code }` says why there is none.
 */
export function pickRollbackTarget(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[], rules: HealRules = HEAL_RULES, o: PickOptions = {}): RollbackPick<V1ReplicaSet> {
  const uid = deployment.metadata?.uid;
  if (!uid) return { none: 'the deployment has no uid: cannot tell which ReplicaSets it owns', code: 'no-uid' };
  const owned: Candidate<V1ReplicaSet>[] = [];
  for (const rs of replicaSets) {
    if (ownerOf(rs)?.uid !== uid) continue;
    const revision = replicaSetRevision(rs);
    if (revision === null) continue;
    owned.push({
      obj: rs,
      name: rs.metadata?.name ?? '',
      revision,
      meta: rs.metadata,
      hash: templateHash(rs.spec?.template),
      sameTemplate: templatesEqualIgnoringHash(rs.spec?.template, deployment.spec?.template),
      template: rs.spec?.template,
    });
  }
  if (owned.length === 0) return { none: 'no ReplicaSet with a revision is owned by this deployment', code: 'no-revisions' };
  return pick(owned, o, undefined, 'ReplicaSet', rules, notObserved('Deployment', deployment.metadata, deployment.status?.observedGeneration));
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

/**
 * The JSON patch (`application/json-patch+json`) of the Deployment, as `kubectl rollout undo`
 * sends it: replace `/spec/template` and `/metadata/annotations`. Two differences: leading `test`s
 * of what the plan was made on (`patches.ts`: generation and annotations) make it fail, rather
 * than clobber, when the Deployment's spec or bookkeeping changed since it was read — but not
 * for a status write; annotations use `add` (sets or replaces), which also works on an object
 * without annotations.
 */
export function deploymentRollbackPatch(deployment: V1Deployment, target: V1ReplicaSet, extraAnnotations: Record<string, string> = {}): JsonPatchOp[] {
  return [
    ...preconditions(deployment.metadata),
    { op: 'replace', path: '/spec/template', value: rollbackTemplate(target) },
    { op: 'add', path: '/metadata/annotations', value: rollbackAnnotations(deployment, target, extraAnnotations) },
  ];
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

/**
 * A raw pod template (a ControllerRevision's data) as client-node's typed model reads it: fields
 * the model does not know dropped, times as Dates — comparable with a typed workload's template.
 */
export function typedPodTemplate(template: V1PodTemplateSpec): V1PodTemplateSpec {
  return ObjectSerializer.deserialize(template, 'V1PodTemplateSpec', '') as V1PodTemplateSpec;
}

function revisionTemplate(revision: V1ControllerRevision): V1PodTemplateSpec | undefined {
  const data = revisionData(revision);
  if (!data) return undefined;
  const template = { ...data.spec.template };
  delete template.$patch;
  return template as V1PodTemplateSpec;
}

/**
 * The ControllerRevision to roll a StatefulSet back to, by the rule above, among the revisions it
 * controls holding a readable template; the newest is `status.updateRevision` (else the highest
 * `revision`).
 */
export function pickStatefulSetRevision(
  sts: V1StatefulSet,
  revisions: readonly V1ControllerRevision[],
  rules: HealRules = HEAL_RULES,
  o: PickOptions = {},
): RollbackPick<V1ControllerRevision> {
  const uid = sts.metadata?.uid;
  if (!uid) return { none: 'the statefulset has no uid: cannot tell which ControllerRevisions it owns', code: 'no-uid' };
  const owned = revisions.filter((rev) => ownerOf(rev)?.uid === uid && Number.isInteger(rev.revision));
  if (owned.length === 0) return { none: 'no ControllerRevision is owned by this statefulset', code: 'no-revisions' };
  const candidates: Candidate<V1ControllerRevision>[] = [];
  for (const rev of owned) {
    const template = revisionTemplate(rev);
    if (template === undefined) continue; // not a StatefulSet revision we can restore
    candidates.push({
      obj: rev,
      name: rev.metadata?.name ?? '',
      revision: rev.revision,
      meta: rev.metadata,
      hash: templateHash(template),
      // Compared as the set is read: the revision's data is raw JSON, the set's template typed,
      // and client-node's model drops fields it does not know (a newer Kubernetes' pod field) —
      // compared raw, such a field made every revision look unwanted, and no rollback happened.
      sameTemplate: templatesEqualIgnoringHash(typedPodTemplate(template), sts.spec?.template),
      template,
    });
  }
  if (candidates.length === 0) return { none: 'no ControllerRevision of this statefulset holds a pod template', code: 'no-revisions' };
  const update = sts.status?.updateRevision;
  let lag = notObserved('StatefulSet', sts.metadata, sts.status?.observedGeneration);
  const failingName = o.failing ?? update;
  if (lag === null && (update === undefined || update !== failingName)) {
    lag = `the StatefulSet's update revision is ${update ?? 'not reported'}, not the failing ${failingName ?? '?'}: rollout not observed yet`;
  }
  return pick(candidates, o, update, 'restorable ControllerRevision', rules, lag);
}

/**
 * The JSON patch restoring a StatefulSet to a revision: its preconditions (`patches.ts`), then
 * `/spec/template` replaced by the template the revision recorded — what `kubectl rollout undo
 * statefulset` achieves with the revision's strategic-merge `data` and its `"$patch": "replace"`
 * — and `annotations` (e.g. the `last-rollback` mark) set in the same patch. The StatefulSet
 * controller then records (or reuses) a revision for the restored template. Throws when the
 * revision holds no template.
 *
 * Caveat for the caller: with `podManagementPolicy: OrderedReady` and a rolling update, a pod
 * stuck broken at the bad revision blocks the rollout forever (kubernetes/kubernetes#67250); once
 * the template is restored, delete the pods {@link statefulSetPodsToRecreate} lists.
 */
export function statefulSetRollbackPatch(sts: V1StatefulSet, target: V1ControllerRevision, annotations: Record<string, string> = {}): JsonPatchOp[] {
  const template = revisionTemplate(target);
  if (!template) throw new Error(`ControllerRevision ${target.metadata?.name ?? '?'} holds no pod template (data.spec.template)`);
  const ops: JsonPatchOp[] = [...preconditions(sts.metadata), { op: 'replace', path: '/spec/template', value: structuredClone(template) }];
  if (Object.keys(annotations).length > 0) ops.push(...annotationOps(sts.metadata, annotations));
  return ops;
}

/** A StatefulSet pod's ordinal: its `apps.kubernetes.io/pod-index` label, else the `<set>-<n>` of its name; null when neither says. */
export function podOrdinal(sts: V1StatefulSet, pod: V1Pod): number | null {
  const label = pod.metadata?.labels?.['apps.kubernetes.io/pod-index'];
  if (label !== undefined && /^(0|[1-9]\d*)$/.test(label)) return Number(label);
  const prefix = `${sts.metadata?.name ?? ''}-`;
  const name = pod.metadata?.name ?? '';
  const rest = name.startsWith(prefix) ? name.slice(prefix.length) : '';
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : null;
}

/**
 * Whether the StatefulSet controller recreates a deleted pod from the set's template (its update
 * revision): with `OnDelete`, always; with `RollingUpdate`, only at or above the partition — a pod
 * below it comes back at the current revision, which is what a partition is for (the controller's
 * newVersionedStatefulSetPod). A pod whose ordinal cannot be told, under a partition: no.
 */
export function recreatedFromTemplate(sts: V1StatefulSet, pod: V1Pod): boolean {
  const strategy = sts.spec?.updateStrategy;
  if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return true;
  const partition = strategy?.rollingUpdate?.partition ?? 0;
  if (partition <= 0) return true;
  const ordinal = podOrdinal(sts, pod);
  return ordinal !== null && ordinal >= partition;
}

type MemoryOf = { limit: number | null; request: number | null };

/**
 * A copy of a pod template without the memory limits and requests of the containers `which` picks
 * (and without a ControllerRevision's `$patch`), and those it removed, in bytes by container
 * (`init:` before an init container's name; NaN where a quantity cannot be read).
 */
function withoutMemory(t: V1PodTemplateSpec | Record<string, unknown> | undefined, which: (name: string, init: boolean) => boolean): { stripped: V1PodTemplateSpec; memory: Map<string, MemoryOf> } {
  const copy = structuredClone(t ?? {}) as V1PodTemplateSpec & { $patch?: unknown };
  delete copy.$patch;
  const memory = new Map<string, MemoryOf>();
  for (const [list, init] of [[copy.spec?.containers, false], [copy.spec?.initContainers, true]] as const) {
    for (const c of list ?? []) {
      if (!which(c.name, init)) continue;
      const limit = c.resources?.limits?.memory;
      const request = c.resources?.requests?.memory;
      memory.set((init ? 'init:' : '') + c.name, { limit: limit === undefined ? null : bytesOrNaN(limit), request: request === undefined ? null : bytesOrNaN(request) });
      if (c.resources?.limits) delete c.resources.limits.memory;
      if (c.resources?.requests) delete c.resources.requests.memory;
    }
  }
  return { stripped: copy, memory };
}

const bytesOrNaN = (q: string): number => {
  try {
    return parseMemoryQuantity(q);
  } catch {
    return NaN;
  }
};

/**
 * Pod templates equal but for the memory limits and requests of the given containers (one raise
 * may change several; ignoring, too, the `pod-template-hash` label and a ControllerRevision's
 * `$patch`): a pod made from `a`, recreated from `b`, gets their memory and nothing else.
 */
export function templatesEqualButMemory(
  a: V1PodTemplateSpec | Record<string, unknown> | undefined,
  b: V1PodTemplateSpec | Record<string, unknown> | undefined,
  container: string | readonly { container: string; init: boolean }[],
  init = false,
): boolean {
  const containers = typeof container === 'string' ? [{ container, init }] : container;
  const only = (name: string, isInit: boolean) => containers.some((c) => name === c.container && isInit === c.init);
  return templatesEqualIgnoringHash(withoutMemory(a, only).stripped, withoutMemory(b, only).stripped);
}

/**
 * Whether `raised` is `base` with more memory: the templates equal but for the memory limits and
 * requests of their containers (init containers too; the `pod-template-hash` label and a
 * ControllerRevision's `$patch` ignored), each of `raised`'s at least `base`'s — never a limit or
 * request dropped, nor one added where `base` had none — and at least one higher.
 */
export function memoryRaiseOf(base: V1PodTemplateSpec | undefined, raised: V1PodTemplateSpec | undefined): boolean {
  if (!base || !raised) return false;
  const a = withoutMemory(base, () => true);
  const b = withoutMemory(raised, () => true);
  if (!templatesEqualIgnoringHash(a.stripped, b.stripped)) return false;
  let higher = false;
  for (const [name, m] of a.memory) {
    const n = b.memory.get(name);
    if (!n) return false;
    for (const k of ['limit', 'request'] as const) {
      const was = m[k];
      const now = n[k];
      if (Number.isNaN(was) || Number.isNaN(now)) return false; // unreadable: not comparable
      if (was === null && now === null) continue;
      if (was === null || now === null || now < was) return false; // added where there was none (a new cap), or dropped, or lowered
      if (now > was) higher = true;
    }
  }
  return higher;
}

/**
 * The pods to delete after a StatefulSet rollback: the set's own — controlled by it (owner uid)
 * and matched by its whole selector, never by labels alone — not at `targetRevisionName`
 * (`controller-revision-hash` label) and not Ready.
 */
export function statefulSetPodsToRecreate(sts: V1StatefulSet, pods: readonly V1Pod[], targetRevisionName: string): V1Pod[] {
  const uid = sts.metadata?.uid;
  if (!uid) return [];
  return pods.filter((pod) => {
    if (ownerOf(pod)?.uid !== uid || ownerOf(pod)?.kind !== 'StatefulSet') return false;
    if (!selectorMatches(sts.spec?.selector, pod.metadata?.labels)) return false;
    if (pod.metadata?.deletionTimestamp) return false;
    if (pod.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] === targetRevisionName) return false;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status !== 'True';
  });
}
