/**
 * The healer's rules: every constant the decision functions use, in one place, plus the names of
 * the annotations Amadeus reads and writes. Like VPA's recommender, each rule elsewhere in
 * `src/healer` is a small named function that takes these values as a parameter, so a test (or a
 * cluster's configuration) can change them without touching the logic.
 */
import { GiB, MiB, parseMemoryQuantity, QuantityError } from './quantity.js';

/** Every annotation Amadeus owns starts with this prefix. */
export const HEAL_PREFIX = 'amadeus.io/';

/**
 * Annotation names, all under {@link HEAL_PREFIX}.
 *
 * On a Deployment / StatefulSet / DaemonSet (or, to be told why nothing is patched, a Job,
 * CronJob, Argo Rollouts Rollout or bare Pod):
 * - `heal`: opt-in; the healer touches a workload only when this is `"true"`.
 * - `maxMemory`: per-workload ceiling for memory limits (a quantity such as `"4Gi"`); the
 *   effective cap is the smaller of this and {@link HealRules.globalMemoryCapBytes}.
 * - `lastOomBump`, `lastRollback`: bookkeeping for cooldown and idempotency, JSON
 *   `{"at": "<ISO time>", "key": "<failure key>", "keys": [recent keys], "containers": {"<name>": "<ISO time>"}}`
 *   (keys are `Failure.key`s, see `detect.ts`; `containers`, for memory bumps, says when each
 *   container was last raised; read and written by `readMark`/`writeMark` in `guards.ts`).
 * - `rolledBackFrom`: JSON list of the template hashes (`templateHash`) of revisions the healer
 *   rolled the workload back from, newest last: never a rollback target again, whatever number
 *   the controller gives them later.
 * - `gitops`: `"none"` — the operator's word that no GitOps tool manages the workload, which
 *   overrides the one ambiguous sign (`app.kubernetes.io/instance`, see `guards.ts`).
 *
 * On a Namespace:
 * - `dryRun`: `"true"` makes the healer decide and report, but never patch, in that namespace.
 *
 * On a ReplicaSet / ControllerRevision (see `known-good.ts`):
 * - `knownGood`: `"true"` once this process observed its pods healthy for
 *   {@link HealRules.knownGoodSeconds}: a rollback target. `knownGoodAt` records when,
 *   `knownGoodFor` for which object (its uid): a mark copied onto another revision (kubectl
 *   rollout undo copies a ReplicaSet's annotations to the Deployment, which copies them to new
 *   ReplicaSets) does not count there. On a ReplicaSet, `knownGoodTemplate` holds the
 *   `templateHash` of the pod template it was observed healthy with, tagged by the client library's
 *   version (`templateMark`; another tag counts as none): a mark on a ReplicaSet whose
 *   template was edited in place since (`kubectl edit rs`) no longer counts (a mark without one,
 *   from an earlier version, counts as before and is rewritten with it at the next healthy window).
 *   Not written on a ControllerRevision: its `data` is immutable.
 * - `crashLoopedAt`: when its pods were last seen crash-looping while it was marked: a mark older
 *   than this does not make it a target.
 * - `readySince`: written by earlier versions; no longer trusted (time while Amadeus was not
 *   watching must not count) and removed when the revision is marked.
 * - `ranHealthyUnwatched`: the leader's record that the API server showed the revision ran healthy
 *   while Amadeus was not watching (`unwatched.ts`), written when that refused its rollback, so the
 *   refusal survives restarts and leader changes after the pods' own numbers stop proving it. JSON
 *   `{"at": "<ISO time>", "for": "<the revision's uid>", "evidence": "<what was shown>"}`: like a
 *   `knownGoodFor`-bound mark it counts only on the object whose uid it names. It only ever refuses
 *   a rollback of that revision, never makes it a target; never written in dry run.
 * - `templateSeen` (ReplicaSet only): the leader's record of the pod template it first saw an
 *   unmarked ReplicaSet with, for the leaders after it (a fail-over, a restart): JSON
 *   `{"for": "<uid>", "template": "<templateMark>"}`, or `{"for": "<uid>", "edited": true}` once a
 *   leader saw that template change in place (`kubectl edit rs`). A ReplicaSet whose template
 *   differs from the one recorded, or recorded edited, is marked only on pods made after that was
 *   seen. Counts only on the object whose uid it names; never written in dry run.
 */
export const HEAL_ANNOTATIONS = Object.freeze({
  heal: 'amadeus.io/heal',
  maxMemory: 'amadeus.io/max-memory',
  lastOomBump: 'amadeus.io/last-oom-bump',
  lastRollback: 'amadeus.io/last-rollback',
  rolledBackFrom: 'amadeus.io/rolled-back-from',
  gitops: 'amadeus.io/gitops',
  dryRun: 'amadeus.io/heal-dry-run',
  readySince: 'amadeus.io/ready-since',
  knownGood: 'amadeus.io/known-good',
  knownGoodAt: 'amadeus.io/known-good-at',
  knownGoodFor: 'amadeus.io/known-good-for',
  knownGoodTemplate: 'amadeus.io/known-good-template',
  crashLoopedAt: 'amadeus.io/crash-looped-at',
  ranHealthyUnwatched: 'amadeus.io/ran-healthy-unwatched',
  templateSeen: 'amadeus.io/template-seen',
} as const);

export type HealAnnotations = typeof HEAL_ANNOTATIONS;

/** Labels and annotations that Kubernetes itself maintains and the healer reads. */
export const KUBE_KEYS = Object.freeze({
  /** Label the Deployment controller puts on a ReplicaSet's pod template (and its pods). */
  podTemplateHash: 'pod-template-hash',
  /** Revision number of a ReplicaSet (and of its Deployment: the current one). */
  deploymentRevision: 'deployment.kubernetes.io/revision',
  /** Earlier revision numbers a ReplicaSet had, when it was rolled back to. */
  deploymentRevisionHistory: 'deployment.kubernetes.io/revision-history',
  desiredReplicas: 'deployment.kubernetes.io/desired-replicas',
  maxReplicas: 'deployment.kubernetes.io/max-replicas',
  deprecatedRollbackTo: 'deprecated.deployment.rollback.to',
  lastAppliedConfiguration: 'kubectl.kubernetes.io/last-applied-configuration',
  /** Label on a StatefulSet's pods: the name of the ControllerRevision they run. */
  controllerRevisionHash: 'controller-revision-hash',
} as const);

/** The tunable numbers of the healer. All durations are in seconds, all sizes in bytes. */
export interface HealRules {
  /** OOM rule: the new memory limit is at least `limit × oomFactor`. (VPA: 1.2) */
  readonly oomFactor: number;
  /** OOM rule: ... and at least `limit + oomMinBumpBytes`, which matters for small limits. (VPA: 100 MiB) */
  readonly oomMinBumpBytes: number;
  /** A `CrashLoopBackOff` counts as a failure only from this many restarts on. */
  readonly crashLoopMinRestarts: number;
  /**
   * A rollback needs more than this share of the newest revision's pods crash-looping (all of
   * them when it has fewer than 3, or when this is 1). In (0, 1].
   */
  readonly crashLoopShare: number;
  /** A revision is known-good once all its pods have been Ready for this long. */
  readonly knownGoodSeconds: number;
  /** No second memory bump of the same workload within this time. */
  readonly oomCooldownSeconds: number;
  /** No second rollback of the same workload within this time. */
  readonly rollbackCooldownSeconds: number;
  /** Budget of healing actions (patches) in any sliding hour, counted in memory by the leader process (a new leader starts afresh). */
  readonly maxActionsPerHour: number;
  /** No memory limit is ever raised above this (a workload's `amadeus.io/max-memory` may lower it). */
  readonly globalMemoryCapBytes: number;
  /**
   * A raise a ResourceQuota cuts short is made only when it still gives at least this share of the
   * rule's step (0.25: 25 MiB of a 100 MiB step); less is refused (`max-reached`). Unlike the other
   * caps, set for this container on purpose, a quota's room is what the namespace has left: a few
   * MiB buys nothing the next OOM kill will not take, and costs a rollout. In [0, 1].
   */
  readonly quotaMinRaiseShare: number;
  /** Annotation names (fixed: not overridable). */
  readonly annotations: HealAnnotations;
}

/** The defaults. */
export const HEAL_RULES: HealRules = Object.freeze({
  oomFactor: 1.2,
  oomMinBumpBytes: 100 * MiB,
  crashLoopMinRestarts: 2,
  crashLoopShare: 0.5,
  knownGoodSeconds: 600,
  oomCooldownSeconds: 3600,
  rollbackCooldownSeconds: 14_400,
  maxActionsPerHour: 10,
  globalMemoryCapBytes: 8 * GiB,
  quotaMinRaiseShare: 0.25,
  annotations: HEAL_ANNOTATIONS,
});

type NumericRule = Exclude<keyof HealRules, 'annotations'>;
type ByteRule = 'oomMinBumpBytes' | 'globalMemoryCapBytes';

/** Overrides for {@link resolveHealRules}; the byte sizes may also be given as quantities (`"16Gi"`). */
export type HealRulesOverrides = { [K in Exclude<NumericRule, ByteRule>]?: number } & { [K in ByteRule]?: number | string };

const CHECKS: Record<NumericRule, { ok: (v: number) => boolean; want: string }> = {
  oomFactor: { ok: (v) => v > 1 && v <= 10, want: 'a number in (1, 10]' },
  oomMinBumpBytes: { ok: (v) => Number.isInteger(v) && v >= 0, want: 'a whole number of bytes >= 0' },
  crashLoopMinRestarts: { ok: (v) => Number.isInteger(v) && v >= 1, want: 'an integer >= 1' },
  crashLoopShare: { ok: (v) => v > 0 && v <= 1, want: 'a number in (0, 1]' },
  knownGoodSeconds: { ok: (v) => v >= 0, want: 'a number of seconds >= 0' },
  oomCooldownSeconds: { ok: (v) => v >= 0, want: 'a number of seconds >= 0' },
  rollbackCooldownSeconds: { ok: (v) => v >= 0, want: 'a number of seconds >= 0' },
  maxActionsPerHour: { ok: (v) => Number.isInteger(v) && v >= 1, want: 'an integer >= 1' },
  globalMemoryCapBytes: { ok: (v) => Number.isInteger(v) && v >= MiB, want: 'a whole number of bytes >= 1Mi' },
  quotaMinRaiseShare: { ok: (v) => v >= 0 && v <= 1, want: 'a number in [0, 1]' },
};

/**
 * Merges overrides over `base` (the defaults), validating each given field. `undefined` fields are
 * ignored; an unknown field, or a value out of range, throws a RangeError naming the field.
 */
export function resolveHealRules(overrides: HealRulesOverrides = {}, base: HealRules = HEAL_RULES): HealRules {
  const merged: Record<string, unknown> = { ...base };
  for (const [field, raw] of Object.entries(overrides)) {
    if (raw === undefined) continue;
    if (!Object.hasOwn(CHECKS, field)) throw new RangeError(`heal rules: unknown field "${field}"`);
    const check = CHECKS[field as NumericRule];
    let value: unknown = raw;
    if (typeof raw === 'string' && (field === 'oomMinBumpBytes' || field === 'globalMemoryCapBytes')) {
      try {
        value = parseMemoryQuantity(raw);
      } catch (err) {
        if (err instanceof QuantityError) throw new RangeError(`heal rules: ${field} must be ${check.want}, got ${JSON.stringify(raw)} (${err.message})`, { cause: err });
        throw err;
      }
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || !check.ok(value)) {
      throw new RangeError(`heal rules: ${field} must be ${check.want}, got ${JSON.stringify(raw)}`);
    }
    merged[field] = value;
  }
  return Object.freeze(merged) as unknown as HealRules;
}

type Annotations = Record<string, string> | undefined | null;

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'true';
}

/** The workload opted in to healing (`amadeus.io/heal: "true"`). */
export function isHealEnabled(workloadAnnotations: Annotations, rules: HealRules = HEAL_RULES): boolean {
  return isTrue(workloadAnnotations?.[rules.annotations.heal]);
}

/** The namespace asks for dry-run (`amadeus.io/heal-dry-run: "true"`): decide and report, never patch. */
export function isDryRun(namespaceAnnotations: Annotations, rules: HealRules = HEAL_RULES): boolean {
  return isTrue(namespaceAnnotations?.[rules.annotations.dryRun]);
}
