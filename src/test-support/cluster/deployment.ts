/**
 * The Deployment controller, after kube-controller-manager's (pkg/controller/deployment):
 *
 * - The new ReplicaSet is the oldest owned one whose template equals the Deployment's, ignoring
 *   the `pod-template-hash` label. If there is none (and the Deployment is not paused) it is
 *   created as `<deploy>-<hash>` with that label on its template, selector and metadata, a
 *   controller ownerReference, the Deployment's annotations, and revision max(old)+1. An existing
 *   one whose revision is not the highest is renumbered to max(old)+1, its former number appended
 *   to `deployment.kubernetes.io/revision-history` (a rollback: `kubectl rollout undo`, or the
 *   healer's template patch). The Deployment's own `deployment.kubernetes.io/revision` follows.
 * - RollingUpdate scales the new ReplicaSet up within maxSurge and old ones down within
 *   maxUnavailable (defaults 25%: surge rounds up, unavailability down), unhealthy old replicas
 *   first; Recreate scales old ones to zero and waits for their pods to be gone.
 * - Paused: no new ReplicaSet and no rollout, only scaling; condition Progressing=Unknown
 *   (DeploymentPaused, then DeploymentResumed). A replicas change mid-rollout scales all active
 *   ReplicaSets proportionally.
 * - status: observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas,
 *   unavailableReplicas, collisionCount; conditions Available (MinimumReplicas[Un]Available) and
 *   Progressing (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated on progress,
 *   NewReplicaSetAvailable when complete, ProgressDeadlineExceeded once progressDeadlineSeconds of
 *   simulated time pass without progress).
 * - Old ReplicaSets scaled to zero beyond revisionHistoryLimit (default 10) are deleted, oldest
 *   revision first, once a rollout is complete.
 *
 * The API server defaults nothing here, so the defaults (replicas 1, RollingUpdate 25%/25%,
 * revisionHistoryLimit 10, progressDeadlineSeconds 600) are applied when reading, never written.
 * The revision annotation is written through the status subresource, as the real controller does
 * (UpdateStatus: the Deployment status strategy keeps annotation changes), so it does not bump the
 * generation as an annotation change through the main resource does.
 *
 * Not modelled: adoption/orphaning of ReplicaSets by selector, the deprecated rollbackTo,
 * ReplicaFailure conditions, terminatingReplicas, exact proportional-scaling annotations arithmetic.
 */
import type { V1Deployment, V1DeploymentCondition, V1DeploymentStatus, V1Pod, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { clone } from '../fake-kube-patch.js';
import type { Ctx } from './api.js';
import type { Pod } from './pods.js';
import { isTerminal, omitZero } from './pods.js';
import type { ReplicaSet } from './replicaset.js';
import { controlledBy, controllerRef, intOrPercent, semanticEqual, shortHash, without, type Wire } from './util.js';

export type Deployment = Wire<V1Deployment>;
type Condition = Wire<V1DeploymentCondition>;
type Status = Wire<V1DeploymentStatus>;

export const HASH_LABEL = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations never copied onto its ReplicaSets. */
const NOT_COPIED = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, 'deprecated.deployment.rollback.to']);

const replicasOf = (d: Deployment) => d.spec?.replicas ?? 1;
const isRolling = (d: Deployment) => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
const deadlineSeconds = (d: Deployment) => d.spec?.progressDeadlineSeconds ?? 600;
const hasDeadline = (d: Deployment) => deadlineSeconds(d) !== 2147483647;
const revisionOf = (rs: ReplicaSet): number => {
  const v = Number(rs.metadata?.annotations?.[REVISION]);
  return Number.isInteger(v) ? v : 0;
};
const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec?.replicas ?? 0;
const sum = (rss: ReplicaSet[], f: (rs: ReplicaSet) => number) => rss.reduce((n, rs) => n + f(rs), 0);
const byCreation = (a: ReplicaSet, b: ReplicaSet) =>
  (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

/** maxSurge and maxUnavailable resolved against replicas; both zero would deadlock, so unavailability becomes 1. */
function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  if (!isRolling(d)) return { surge: 0, unavailable: 0 };
  const ru = d.spec?.strategy?.rollingUpdate;
  const n = replicasOf(d);
  const surge = intOrPercent(ru?.maxSurge, '25%', n, true);
  const unavailable = intOrPercent(ru?.maxUnavailable, '25%', n, false);
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}
const maxUnavailable = (d: Deployment) => (!isRolling(d) || replicasOf(d) === 0 ? 0 : Math.min(fenceposts(d).unavailable, replicasOf(d)));

const templatesEqual = (rs: ReplicaSet, d: Deployment) => {
  const strip = (t: Wire<V1PodTemplateSpec> | undefined) => (t ? { ...t, metadata: { ...t.metadata, labels: without(t.metadata?.labels, HASH_LABEL) } } : t);
  return semanticEqual(strip(rs.spec?.template), strip(d.spec?.template));
};

export function reconcileDeployments(ctx: Ctx): void {
  const deployments = ctx.api.list<V1Deployment>('apps/v1', 'Deployment');
  if (deployments.length === 0) return;
  const sets = ctx.api.list<V1ReplicaSet>('apps/v1', 'ReplicaSet');
  const pods = ctx.api.list<V1Pod>('v1', 'Pod');
  for (const d of deployments) {
    const ns = d.metadata?.namespace;
    const owned = sets.filter((rs) => rs.metadata?.namespace === ns && controlledBy(rs, d.metadata?.uid));
    new DeploymentSync(ctx, d, owned, pods).run();
  }
}

/**
 * One sync of one Deployment. Creating or re-annotating a ReplicaSet ends it (the next round starts
 * from fresh reads); a scaling step is followed by the status write, as in the real controller.
 */
class DeploymentSync {
  constructor(
    private readonly ctx: Ctx,
    private d: Deployment,
    private readonly rsList: ReplicaSet[],
    private readonly pods: Pod[],
  ) {}

  run(): void {
    if (this.checkPausedConditions()) return;
    // Revisions and annotations are synced first, whatever happens next.
    const { newRS, old, wrote } = this.newReplicaSet(false);
    if (wrote) return;
    if (this.d.spec?.paused || this.isScalingEvent(newRS, old)) return this.sync(newRS, old);
    return isRolling(this.d) ? this.rolloutRolling() : this.rolloutRecreate();
  }

  // --- the new ReplicaSet and revisions -------------------------------------------------------

  /** Finds (and renumbers, annotates) or creates the new ReplicaSet; `wrote` ends the sync. */
  private newReplicaSet(create: boolean): { newRS?: ReplicaSet; old: ReplicaSet[]; wrote: boolean } {
    const existing = [...this.rsList].sort(byCreation).find((rs) => templatesEqual(rs, this.d));
    const old = this.rsList.filter((rs) => rs !== existing);
    const newRevision = Math.max(0, ...old.map(revisionOf)) + 1;

    if (existing) {
      const copy = clone(existing);
      const changed = this.setReplicaSetAnnotations(copy, newRevision, true);
      const minReady = this.d.spec?.minReadySeconds;
      if (changed || copy.spec?.minReadySeconds !== minReady) {
        copy.spec = { ...copy.spec!, minReadySeconds: minReady };
        if (minReady === undefined) delete copy.spec.minReadySeconds;
        this.ctx.api.update(copy);
        return { old, wrote: true };
      }
      if (this.setDeploymentRevision(existing.metadata?.annotations?.[REVISION])) return { old, wrote: true };
      // A Deployment that never reported progress starts its progress clock now.
      if (hasDeadline(this.d) && !condition(this.d.status, 'Progressing')) {
        const status = withCondition(this.d.status, this.cond('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${existing.metadata?.name}"`));
        this.ctx.api.updateStatus({ ...this.d, status });
        return { old, wrote: true };
      }
      return { newRS: existing, old, wrote: false };
    }
    if (!create) return { old, wrote: false };

    const template = clone(this.d.spec?.template ?? {});
    const collisionCount = this.d.status?.collisionCount ?? 0;
    const hash = shortHash({ ...template, metadata: { ...template.metadata, labels: without(template.metadata?.labels, HASH_LABEL) } }, collisionCount);
    template.metadata = { ...template.metadata, labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
    const name = `${this.d.metadata?.name}-${hash}`;
    const namespace = this.d.metadata?.namespace ?? '';
    const clash = this.ctx.api.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', namespace, name);
    if (clash) {
      // Someone else's object, or one of ours with another template: the next hash gets another name.
      this.ctx.api.updateStatus({ ...this.d, status: { ...this.d.status, collisionCount: collisionCount + 1 } });
      return { old, wrote: true };
    }
    const selector = this.d.spec?.selector ?? {};
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace, labels: template.metadata.labels, annotations: {}, ownerReferences: [controllerRef(this.d)] },
      spec: {
        replicas: 0,
        ...(this.d.spec?.minReadySeconds !== undefined ? { minReadySeconds: this.d.spec.minReadySeconds } : {}),
        selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash } },
        template,
      },
    };
    this.setReplicaSetAnnotations(rs, newRevision, false);
    rs.spec!.replicas = this.newReplicaSetReplicas(undefined);
    const created = this.ctx.api.create(rs);
    if (!created) return { old, wrote: true };
    this.setDeploymentRevision(String(newRevision), hasDeadline(this.d) ? this.cond('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${name}"`) : undefined);
    return { old, wrote: true };
  }

  /** Copies the Deployment's annotations and sets the revision (recording a renumbering); true when rs changed. */
  private setReplicaSetAnnotations(rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
    const ann = (rs.metadata!.annotations ??= {});
    let changed = false;
    for (const [k, v] of Object.entries(this.d.metadata?.annotations ?? {})) {
      if (NOT_COPIED.has(k) || ann[k] === v) continue;
      ann[k] = v;
      changed = true;
    }
    const oldRaw = ann[REVISION];
    const oldRevision = oldRaw === undefined ? 0 : Number(oldRaw) || 0;
    if (oldRevision < newRevision) {
      ann[REVISION] = String(newRevision);
      changed = true;
      if (oldRaw !== undefined) ann[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${oldRaw}` : oldRaw;
    }
    if (!exists) changed = this.setReplicasAnnotations(rs) || changed;
    return changed;
  }

  /** desired-replicas and max-replicas, which tell a scaling event from a rollout. */
  private setReplicasAnnotations(rs: ReplicaSet): boolean {
    const ann = (rs.metadata!.annotations ??= {});
    const desired = String(replicasOf(this.d));
    const max = String(replicasOf(this.d) + fenceposts(this.d).surge);
    if (ann[DESIRED_REPLICAS] === desired && ann[MAX_REPLICAS] === max) return false;
    ann[DESIRED_REPLICAS] = desired;
    ann[MAX_REPLICAS] = max;
    return true;
  }

  /** Sets the Deployment's revision annotation (and optionally a condition) in one status write; true when it wrote. */
  private setDeploymentRevision(revision: string | undefined, cond?: Condition): boolean {
    const d = this.d;
    const annotate = revision !== undefined && d.metadata?.annotations?.[REVISION] !== revision;
    const status = cond ? withCondition(d.status, cond) : d.status;
    if (!annotate && semanticEqual(status, d.status)) return false;
    const metadata = annotate ? { ...d.metadata, annotations: { ...(d.metadata?.annotations ?? {}), [REVISION]: revision } } : d.metadata;
    this.ctx.api.updateStatus({ ...d, metadata, status });
    return true;
  }

  // --- scaling ---------------------------------------------------------------------------------

  private scaleReplicaSet(rs: ReplicaSet, replicas: number): boolean {
    const copy = clone(rs);
    const annotationsChanged = this.setReplicasAnnotations(copy);
    if (specReplicas(rs) === replicas && !annotationsChanged) return false;
    copy.spec = { ...copy.spec!, replicas };
    this.ctx.api.update(copy);
    return true;
  }

  /** How many replicas the new ReplicaSet may have now (NewRSNewReplicas). */
  private newReplicaSetReplicas(newRS: ReplicaSet | undefined): number {
    const want = replicasOf(this.d);
    if (!isRolling(this.d)) return want;
    const current = sum(this.rsList, specReplicas);
    const maxTotal = want + fenceposts(this.d).surge;
    if (current >= maxTotal) return specReplicas(newRS);
    return specReplicas(newRS) + Math.min(maxTotal - current, want - specReplicas(newRS));
  }

  /** Active ReplicaSets whose desired-replicas annotation disagrees with spec.replicas. */
  private isScalingEvent(newRS: ReplicaSet | undefined, old: ReplicaSet[]): boolean {
    const want = String(replicasOf(this.d));
    return [...old, ...(newRS ? [newRS] : [])].some((rs) => specReplicas(rs) > 0 && rs.metadata?.annotations?.[DESIRED_REPLICAS] !== undefined && rs.metadata.annotations[DESIRED_REPLICAS] !== want);
  }

  /** Scaling without a rollout: paused Deployments and replicas changes. */
  private sync(newRS: ReplicaSet | undefined, old: ReplicaSet[]): void {
    const scaled = this.scale(newRS, old);
    if (!scaled && this.d.spec?.paused && this.cleanup(old)) return;
    this.writeStatus(this.calculateStatus(newRS, old));
  }

  private scale(newRS: ReplicaSet | undefined, old: ReplicaSet[]): boolean {
    const want = replicasOf(this.d);
    const all = [...(newRS ? [newRS] : []), ...old];
    const active = all.filter((rs) => specReplicas(rs) > 0);
    const activeOrLatest = active.length === 1 ? active[0] : active.length === 0 ? (newRS ?? [...old].sort(byCreation).at(-1)) : undefined;
    if (activeOrLatest) return this.scaleReplicaSet(activeOrLatest, want);
    // A saturated new ReplicaSet: the old ones just go.
    if (newRS && specReplicas(newRS) === want && (newRS.status?.availableReplicas ?? 0) === want) {
      return old.filter((rs) => specReplicas(rs) > 0).map((rs) => this.scaleReplicaSet(rs, 0)).some(Boolean);
    }
    if (!isRolling(this.d)) return false;
    // Proportional scaling: the difference is shared by size, leftovers to the largest.
    const allowed = want > 0 ? want + fenceposts(this.d).surge : 0;
    const total = sum(active, specReplicas);
    const toAdd = allowed - total;
    if (toAdd === 0) return false;
    const ordered = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? -byCreation(a, b) : byCreation(a, b)));
    const sizes = ordered.map((rs) => specReplicas(rs) + Math.trunc((specReplicas(rs) * toAdd) / total));
    const added = sizes.reduce((a, b) => a + b, 0) - total;
    sizes[0] = Math.max(0, sizes[0] + toAdd - added);
    return ordered.map((rs, i) => this.scaleReplicaSet(rs, sizes[i])).some(Boolean);
  }

  private rolloutRolling(): void {
    const { newRS, old, wrote } = this.newReplicaSet(true);
    if (wrote || !newRS) return;
    const want = replicasOf(this.d);
    // Scale up within maxSurge, else down within maxUnavailable; either way the status follows
    // in the same sync (from the ReplicaSets' statuses as read), as progress is judged step by step.
    const scaled =
      (specReplicas(newRS) > want && this.scaleReplicaSet(newRS, want)) ||
      (specReplicas(newRS) < want && this.scaleReplicaSet(newRS, this.newReplicaSetReplicas(newRS))) ||
      this.reconcileOldReplicaSets(newRS, old);
    const status = this.calculateStatus(newRS, old);
    if (!scaled && complete(this.d, status) && this.cleanup(old)) return;
    this.syncRolloutStatus(newRS, status);
  }

  private reconcileOldReplicaSets(newRS: ReplicaSet, old: ReplicaSet[]): boolean {
    if (sum(old, specReplicas) === 0) return false;
    const all = [newRS, ...old];
    const minAvailable = replicasOf(this.d) - maxUnavailable(this.d);
    const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = sum(all, specReplicas) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const oldest = [...old].sort(byCreation);
    // Unhealthy old replicas first: removing them costs no availability.
    for (const rs of oldest) {
      const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
      return this.scaleReplicaSet(rs, specReplicas(rs) - Math.min(maxScaledDown, unhealthy));
    }
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    if (available <= minAvailable) return false;
    let budget = available - minAvailable;
    let wrote = false;
    for (const rs of oldest) {
      if (budget <= 0) break;
      if (specReplicas(rs) === 0) continue;
      const down = Math.min(specReplicas(rs), budget);
      budget -= down;
      wrote = this.scaleReplicaSet(rs, specReplicas(rs) - down) || wrote;
    }
    return wrote;
  }

  private rolloutRecreate(): void {
    let { newRS, old, wrote } = this.newReplicaSet(false);
    if (wrote) return;
    const active = old.filter((rs) => specReplicas(rs) > 0);
    if (active.length > 0) {
      active.forEach((rs) => this.scaleReplicaSet(rs, 0));
      return this.syncRolloutStatus(newRS, this.calculateStatus(newRS, old));
    }
    const oldUids = new Set(old.map((rs) => rs.metadata?.uid));
    const oldPodsRunning =
      sum(old, (rs) => rs.status?.replicas ?? 0) > 0 ||
      this.pods.some((p) => !isTerminal(p) && (p.metadata?.ownerReferences ?? []).some((r) => r.controller && oldUids.has(r.uid)));
    if (oldPodsRunning) return this.syncRolloutStatus(newRS, this.calculateStatus(newRS, old));
    if (!newRS) {
      ({ newRS, old, wrote } = this.newReplicaSet(true));
      if (wrote || !newRS) return;
    }
    const scaled = this.scaleReplicaSet(newRS, replicasOf(this.d));
    const status = this.calculateStatus(newRS, old);
    if (!scaled && complete(this.d, status) && this.cleanup(old)) return;
    this.syncRolloutStatus(newRS, status);
  }

  /** Deletes old ReplicaSets scaled to zero beyond revisionHistoryLimit, oldest revision first. */
  private cleanup(old: ReplicaSet[]): boolean {
    const limit = this.d.spec?.revisionHistoryLimit ?? 10;
    const cleanable = old
      .filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && (rs.metadata?.generation ?? 0) <= (rs.status?.observedGeneration ?? 0) && !rs.metadata?.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    const doomed = cleanable.slice(0, Math.max(0, cleanable.length - limit));
    doomed.forEach((rs) => this.ctx.api.delete(rs));
    return doomed.length > 0;
  }

  // --- status ----------------------------------------------------------------------------------

  private cond(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string): Condition {
    const now = this.ctx.clock.iso();
    return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now };
  }

  private calculateStatus(newRS: ReplicaSet | undefined, old: ReplicaSet[]): Status {
    const all = [...(newRS ? [newRS] : []), ...old];
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    const want = replicasOf(this.d);
    let status: Status = omitZero(
      {
        observedGeneration: this.d.metadata?.generation,
        replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
        updatedReplicas: newRS?.status?.replicas ?? 0,
        readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
        availableReplicas: available,
        unavailableReplicas: Math.max(want - available, 0),
        ...(this.d.status?.conditions ? { conditions: clone(this.d.status.conditions) } : {}),
        ...(this.d.status?.collisionCount !== undefined ? { collisionCount: this.d.status.collisionCount } : {}),
      },
      ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
    );
    status =
      available >= want - maxUnavailable(this.d)
        ? withCondition(status, this.cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'))
        : withCondition(status, this.cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'));
    return status;
  }

  /** Progress estimation (syncRolloutStatus), then the status write. */
  private syncRolloutStatus(newRS: ReplicaSet | undefined, computed: Status): void {
    let status = computed;
    const current = condition(this.d.status, 'Progressing');
    const completeBefore = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    const what = newRS ? `ReplicaSet "${newRS.metadata?.name}"` : `Deployment "${this.d.metadata?.name}"`;
    if (!hasDeadline(this.d)) {
      status = { ...status, conditions: (status.conditions ?? []).filter((c) => c.type !== 'Progressing') };
    } else if (!completeBefore) {
      if (complete(this.d, status)) {
        status = withCondition(status, this.cond('Progressing', 'True', 'NewReplicaSetAvailable', `${what} has successfully progressed.`));
      } else if (progressing(this.d.status, status)) {
        // Same reason, new lastUpdateTime: this is what restarts the progress deadline.
        const cond = this.cond('Progressing', 'True', 'ReplicaSetUpdated', `${what} is progressing.`);
        if (current?.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        status = { ...status, conditions: [...(status.conditions ?? []).filter((c) => c.type !== 'Progressing'), cond] };
      } else {
        const cond = condition(status, 'Progressing');
        if (cond && cond.reason !== 'NewReplicaSetAvailable' && cond.reason !== 'ProgressDeadlineExceeded') {
          const deadline = Date.parse(cond.lastUpdateTime ?? '') + deadlineSeconds(this.d) * 1000;
          if (deadline < this.ctx.clock.now()) {
            status = withCondition(status, this.cond('Progressing', 'False', 'ProgressDeadlineExceeded', `${what} has timed out progressing.`));
          } else {
            this.ctx.clock.wakeAt(deadline + 1000);
          }
        }
      }
    }
    this.writeStatus(status);
  }

  private writeStatus(status: Status): void {
    if (!semanticEqual(status, this.d.status)) this.ctx.api.updateStatus({ ...this.d, status });
  }

  /** Progressing=Unknown DeploymentPaused / DeploymentResumed; true when it wrote. */
  private checkPausedConditions(): boolean {
    if (!hasDeadline(this.d)) return false;
    const cond = condition(this.d.status, 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return false;
    const pausedCond = cond?.reason === 'DeploymentPaused';
    let next: Condition | undefined;
    if (this.d.spec?.paused && !pausedCond) next = this.cond('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (!this.d.spec?.paused && pausedCond) next = this.cond('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    if (!next) return false;
    this.ctx.api.updateStatus({ ...this.d, status: withCondition(this.d.status, next) });
    return true;
  }
}

function condition(status: Status | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** SetDeploymentCondition: same status and reason → unchanged; same status → keeps lastTransitionTime. */
function withCondition(status: Status | undefined, cond: Condition): Status {
  const current = condition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return { ...status };
  const next = { ...cond };
  if (current && current.status === cond.status) next.lastTransitionTime = current.lastTransitionTime;
  return { ...status, conditions: [...(status?.conditions ?? []).filter((c) => c.type !== cond.type), next] };
}

/** DeploymentComplete: every replica updated and available, no old ones left, status current. */
function complete(d: Deployment, s: Status): boolean {
  const want = replicasOf(d);
  return (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** DeploymentProgressing: more updated, ready or available replicas, or fewer old ones, than last reported. */
function progressing(before: Status | undefined, now: Status): boolean {
  const b = before ?? {};
  const oldBefore = (b.replicas ?? 0) - (b.updatedReplicas ?? 0);
  const oldNow = (now.replicas ?? 0) - (now.updatedReplicas ?? 0);
  return (
    (now.updatedReplicas ?? 0) > (b.updatedReplicas ?? 0) ||
    oldNow < oldBefore ||
    (now.readyReplicas ?? 0) > (b.readyReplicas ?? 0) ||
    (now.availableReplicas ?? 0) > (b.availableReplicas ?? 0)
  );
}
