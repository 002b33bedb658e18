/**
 * The healer: watches pods, and for an OOM-killed container raises its memory limit on the owning
 * workload, for a crash loop rolls the workload back to its last known-good revision — each time
 * only after every guard rail agreed, and always saying so (a Kubernetes Event on the workload, a
 * log line, a metric, a notification). The decisions are the pure functions beside this file; this
 * module is the I/O around them: informers, reads, patches, the Lease, the audit trail.
 *
 * Order of checks for one failure (cheapest and most final first): leader? → protected namespace →
 * owning workload → opted in → already handled (idempotency key on the workload) → GitOps / VPA →
 * cooldown → hourly budget → the plan itself (cap, known-good target, dependency outage) → dry-run →
 * patch (re-read and re-planned on every retry, so a conflict never applies a stale decision).
 */
import { makeInformer, PatchStrategy, setHeaderOptions, type Informer, type KubernetesObject, type V1ObjectMeta, type V1Pod } from '@kubernetes/client-node';
import type { Notifier } from '../notify/notifier.js';
import type { Logger } from '../telemetry/logger.js';
import { detectFailures, type Failure } from './detect.js';
import { emitEvent, type WorkloadRef } from './events.js';
import { cooldownLeft, gitOpsManager, HourlyLimit, PROTECTED_NAMESPACES, readMark, writeMark } from './guards.js';
import { deploymentRollbackPatch, pickRollbackTarget, pickStatefulSetRevision, readinessMark, statefulSetPodsToRecreate, statefulSetRollbackPatch } from './known-good.js';
import { apiMessage, statusOf, withRetries, type KubeClients, type RetryOptions } from './kube.js';
import { LeaderElector } from './lease.js';
import { classifyLogs, excerpt, isDependencyOutage, type LogClassification } from './logs.js';
import { containerMemory, effectiveMemoryCap, memoryPatch, planMemoryBump } from './memory.js';
import { owningWorkload, refOf, type Workload } from './owners.js';
import { formatMebibytes } from './quantity.js';
import { isDryRun, isHealEnabled, type HealRules } from './rules.js';

export type HealAction = 'oom-bump' | 'rollback';
/**
 * `applied`: patched. `dry-run`: would have patched. `refused`: a guard rail or the plan said no
 * (`reason` says which). `failed`: the API refused the patch after retries: nothing was changed.
 */
export type HealResult = 'applied' | 'dry-run' | 'refused' | 'failed';

export interface HealReport {
  action: HealAction;
  result: HealResult;
  /** Machine-readable: `max-reached`, `cooldown`, `gitops`, `vpa`, `dependency-outage`, `no-known-good`… */
  reason: string;
  message: string;
  workload: WorkloadRef;
  failure: Failure;
  logs: LogClassification | null;
  excerpt: string | null;
  undo?: string;
}

/** What an action came to; `undo` is the command a person runs to reverse it. */
interface Outcome {
  result: HealResult;
  reason: string;
  message: string;
  undo?: string;
}

export interface HealerOptions {
  clients: KubeClients;
  /** Namespaces to watch; empty: all of them (kube-system is never touched either way). */
  namespaces: readonly string[];
  /** Only pods matching this label selector are watched. */
  podSelector?: string;
  rules: HealRules;
  /** Globally: decide and report, never patch. Namespaces can ask for it with an annotation too. */
  dryRun: boolean;
  identity: string;
  /** Where the leader-election Lease lives; null: this replica always acts (a single replica). */
  lease: { namespace: string; name: string; durationSeconds?: number; retrySeconds?: number } | null;
  notifier: Notifier;
  metrics?: { heal(action: string, result: string): void };
  log: Logger;
  clock?: () => number;
  /** How often the revisions of opted-in workloads are checked for the known-good mark. */
  markIntervalMs?: number;
  /** First delay before restarting a failed watch (doubles up to 30 s). */
  restartDelayMs?: number;
  retry?: RetryOptions;
  /** Lines of the failed container's previous logs read for classification. */
  logLines?: number;
}

/** The same refusal (workload, action, reason) is reported once per this period; repeats are logged at debug. */
const REFUSAL_QUIET_MS = 15 * 60_000;

const VPA = { group: 'autoscaling.k8s.io', version: 'v1', plural: 'verticalpodautoscalers' } as const;

export class Healer {
  private readonly informers: Informer<V1Pod>[] = [];
  private readonly elector: LeaderElector | null;
  private readonly budget: HourlyLimit;
  private readonly clock: () => number;
  /** Failures already handled by this process (the workload annotation covers restarts). */
  private readonly seen = new Set<string>();
  /** One failure at a time per workload: two pods of one Deployment failing at once are one problem. */
  private readonly queues = new Map<string, Promise<void>>();
  private markTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();
  /** Reports, newest last (for tests and a future status endpoint); bounded. */
  readonly reports: HealReport[] = [];
  /** When each (workload, action, reason) refusal was last reported: a crash loop in cooldown restarts every few minutes. */
  private readonly refusals = new Map<string, number>();

  constructor(private readonly o: HealerOptions) {
    this.clock = o.clock ?? Date.now;
    this.budget = new HourlyLimit(o.rules.maxActionsPerHour);
    this.elector = o.lease
      ? new LeaderElector({
          api: o.clients.coordination,
          namespace: o.lease.namespace,
          name: o.lease.name,
          identity: o.identity,
          leaseDurationSeconds: o.lease.durationSeconds,
          retryPeriodSeconds: o.lease.retrySeconds,
          log: o.log,
          clock: this.clock,
          // A new leader looks again at every pod: failures seen while following were not acted on.
          onChange: (leading) => leading && this.resync(),
        })
      : null;
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  async start(): Promise<void> {
    this.elector?.start();
    const namespaces = this.o.namespaces.length > 0 ? this.o.namespaces : [null];
    await Promise.all(namespaces.map((ns) => this.watch(ns)));
    const every = this.o.markIntervalMs ?? 60_000;
    const mark = () => {
      this.track(this.markKnownGood()).finally(() => {
        if (!this.stopped) this.markTimer = setTimeout(mark, every);
      });
    };
    mark();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.markTimer) clearTimeout(this.markTimer);
    await Promise.all(this.informers.map((i) => i.stop().catch(() => undefined)));
    await Promise.allSettled([...this.pending]);
    await this.elector?.stop();
  }

  /** Resolves when every failure handled so far has been reported (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  // ---------------------------------------------------------------------------------------------
  // Watching

  private async watch(namespace: string | null): Promise<void> {
    const { core, kc } = this.o.clients;
    const path = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
    const list = () =>
      namespace ? core.listNamespacedPod({ namespace, labelSelector: this.o.podSelector }) : core.listPodForAllNamespaces({ labelSelector: this.o.podSelector });
    const informer = makeInformer<V1Pod>(kc, path, list, this.o.podSelector);
    const onPod = (pod: V1Pod) => this.onPod(pod);
    informer.on('add', onPod);
    informer.on('update', onPod);
    // client-node's informer stops on a stream error (a dropped connection); it resumes from its
    // resourceVersion when started again, and re-lists by itself on 410 Gone.
    let delay = this.o.restartDelayMs ?? 1000;
    informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.o.log.warn('pod watch failed; restarting', { namespace: namespace ?? '*', error: apiMessage(err), retryInMs: delay });
      setTimeout(() => {
        if (this.stopped) return;
        informer.start().then(
          () => (delay = this.o.restartDelayMs ?? 1000),
          () => undefined, // reported through 'error' again
        );
      }, delay).unref();
      delay = Math.min(delay * 2, 30_000);
    });
    this.informers.push(informer);
    await informer.start();
  }

  /** Everything the informers hold, again: after becoming leader. */
  private resync(): void {
    for (const informer of this.informers) for (const pod of (informer as unknown as { list(): V1Pod[] }).list()) this.onPod(pod);
  }

  private onPod(pod: V1Pod): void {
    if (this.stopped || !this.isLeader) return;
    const namespace = pod.metadata?.namespace;
    if (!namespace || PROTECTED_NAMESPACES.has(namespace)) return;
    for (const failure of detectFailures(pod, this.o.rules)) {
      if (this.seen.has(failure.key)) continue;
      this.seen.add(failure.key);
      if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value!);
      // Serialised per owner: a Deployment whose pods fail together is patched once.
      const owner = pod.metadata?.ownerReferences?.find((r) => r.controller)?.uid ?? pod.metadata?.uid ?? '';
      const previous = this.queues.get(owner) ?? Promise.resolve();
      const next = previous.then(() => this.handle(pod, failure)).catch((err: unknown) => {
        this.o.log.error('healing failed unexpectedly', { pod: pod.metadata?.name, namespace, failure: failure.kind, error: apiMessage(err) });
      });
      this.queues.set(owner, next);
      this.track(next).finally(() => {
        if (this.queues.get(owner) === next) this.queues.delete(owner);
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // One failure

  private async handle(pod: V1Pod, failure: Failure): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    const workload = await owningWorkload(this.o.clients, namespace, pod.metadata!);
    if (!workload) {
      this.o.log.debug('failure of a pod without a healable owner', { pod: pod.metadata?.name, namespace, failure: failure.kind });
      return;
    }
    const meta = workload.object.metadata;
    if (!isHealEnabled(meta?.annotations, this.o.rules)) return;
    const action: HealAction = failure.kind === 'oom-killed' ? 'oom-bump' : 'rollback';
    const markKey = action === 'oom-bump' ? this.o.rules.annotations.lastOomBump : this.o.rules.annotations.lastRollback;
    const last = readMark(meta, markKey);
    // Idempotent across restarts: this very termination was acted on already.
    if (last?.key === failure.key) return;

    const logs = await this.readLogs(pod, failure);
    const report = (result: HealResult, reason: string, message: string, undo?: string) =>
      this.report({ action, result, reason, message, workload: refOf(workload), failure, logs: logs?.classification ?? null, excerpt: logs?.excerpt ?? null, ...(undo ? { undo } : {}) });

    const manager = gitOpsManager(meta);
    if (manager) return report('refused', 'gitops', `managed by ${manager === 'argocd' ? 'Argo CD' : 'Flux'}: fix it in Git rather than fight the controller`);
    if (action === 'oom-bump' && (await this.hasVpa(workload))) return report('refused', 'vpa', 'a VerticalPodAutoscaler manages this workload\'s resources');
    const cooldown = action === 'oom-bump' ? this.o.rules.oomCooldownSeconds : this.o.rules.rollbackCooldownSeconds;
    const left = cooldownLeft(last, cooldown, this.clock());
    if (left > 0) return report('refused', 'cooldown', `the last ${action} was at ${new Date(last!.at).toISOString()}; cooldown ends in ${left} s`);
    if (!this.budget.allows(this.clock())) return report('refused', 'rate-limit', `the healer's budget of ${this.o.rules.maxActionsPerHour} actions per hour is spent`);

    if (action === 'rollback' && logs && isDependencyOutage(logs.classification)) {
      return report('refused', 'dependency-outage', `the logs point at a dependency, not the revision (${logs.classification.evidence}): a rollback would not help`);
    }
    const dryRun = this.o.dryRun || (await this.namespaceDryRun(namespace));
    const outcome = action === 'oom-bump' ? await this.bumpMemory(workload, failure, dryRun) : await this.rollBack(workload, failure, dryRun);
    if (outcome.result === 'applied') this.budget.record(this.clock());
    return report(outcome.result, outcome.reason, outcome.message, outcome.undo);
  }

  private async readLogs(pod: V1Pod, failure: Failure): Promise<{ classification: LogClassification; excerpt: string } | null> {
    try {
      const text = await this.o.clients.core.readNamespacedPodLog({
        namespace: pod.metadata!.namespace!,
        name: pod.metadata!.name!,
        container: failure.container,
        previous: true,
        tailLines: this.o.logLines ?? 200,
      });
      return { classification: classifyLogs(text), excerpt: excerpt(text, { lines: 10, chars: 800 }) };
    } catch (err) {
      // No previous logs (already rotated, or the container never started): decide without them.
      this.o.log.debug('no previous logs', { pod: pod.metadata?.name, container: failure.container, error: apiMessage(err) });
      return null;
    }
  }

  private async hasVpa(w: Workload): Promise<boolean> {
    const m = w.object.metadata!;
    try {
      const list = (await this.o.clients.custom.listNamespacedCustomObject({ ...VPA, namespace: m.namespace! })) as { items?: { spec?: { targetRef?: { kind?: string; name?: string }; updatePolicy?: { updateMode?: string } } }[] };
      // A VPA in "Off" mode only recommends: it does not fight a patched limit.
      return (list.items ?? []).some((v) => v.spec?.targetRef?.kind === w.kind && v.spec.targetRef.name === m.name && v.spec.updatePolicy?.updateMode !== 'Off');
    } catch (err) {
      if (statusOf(err) === 404) return false; // the VPA CRD is not installed
      throw err;
    }
  }

  private async namespaceDryRun(namespace: string): Promise<boolean> {
    try {
      const ns = await this.o.clients.core.readNamespace({ name: namespace });
      return isDryRun(ns.metadata?.annotations, this.o.rules);
    } catch (err) {
      // Unknown is not "no": without the namespace's word, act only in global mode's terms.
      this.o.log.warn('cannot read the namespace for its dry-run annotation; assuming dry-run', { namespace, error: apiMessage(err) });
      return true;
    }
  }

  /** Reads the workload again (each retry): decisions are made on what the API server has now. */
  private async reread(w: Workload): Promise<Workload> {
    const { namespace, name } = w.object.metadata! as Required<Pick<V1ObjectMeta, 'namespace' | 'name'>>;
    const apps = this.o.clients.apps;
    switch (w.kind) {
      case 'Deployment':
        return { kind: w.kind, object: await apps.readNamespacedDeployment({ namespace, name }) };
      case 'StatefulSet':
        return { kind: w.kind, object: await apps.readNamespacedStatefulSet({ namespace, name }) };
      case 'DaemonSet':
        return { kind: w.kind, object: await apps.readNamespacedDaemonSet({ namespace, name }) };
    }
  }

  private async bumpMemory(initial: Workload, failure: Failure, dryRun: boolean): Promise<Outcome> {
    try {
      return await withRetries(async (attempt) => {
        const w = attempt === 1 ? initial : await this.reread(initial);
        const meta = w.object.metadata!;
        if (readMark(meta, this.o.rules.annotations.lastOomBump)?.key === failure.key) {
          return { result: 'applied' as const, reason: 'already-applied', message: 'another writer applied this bump already' };
        }
        const spec = w.object.spec!.template.spec!;
        const container = (failure.init ? spec.initContainers : spec.containers)?.find((c) => c.name === failure.container);
        if (!container) return { result: 'refused' as const, reason: 'container-gone', message: `container ${failure.container} is no longer in the template` };
        const cap = effectiveMemoryCap(meta.annotations, this.o.rules);
        const { limitBytes, requestBytes } = containerMemory(container);
        const plan = planMemoryBump({ limitBytes, requestBytes, capBytes: cap.capBytes }, this.o.rules);
        if (plan.action === 'no-limit') return { result: 'refused' as const, reason: 'no-limit', message: `container ${failure.container} has no memory limit to raise` };
        if (plan.action === 'max-reached') {
          return { result: 'refused' as const, reason: 'max-reached', message: `memory limit of ${failure.container} is at the cap (${formatMebibytes(plan.capBytes)}, ${cap.source})${cap.invalid ? `; ${cap.invalid}` : ''}` };
        }
        const what = `memory limit of ${failure.container}: ${formatMebibytes(limitBytes!)} → ${formatMebibytes(plan.limitBytes)}${plan.requestChanged ? ` (request → ${formatMebibytes(plan.requestBytes!)})` : ''}${plan.clamped ? ' (clamped to the cap)' : ''}`;
        if (dryRun) return { result: 'dry-run' as const, reason: 'dry-run', message: `would raise the ${what}` };
        // One patch: the template change, the bookkeeping annotation, and the resourceVersion it was
        // planned on (the API server answers 409 if the workload changed since: re-read, re-plan).
        const body = {
          ...memoryPatch(failure.container, plan.limitBytes, plan.requestChanged ? plan.requestBytes : undefined, { init: failure.init }),
          metadata: { resourceVersion: meta.resourceVersion, annotations: { [this.o.rules.annotations.lastOomBump]: writeMark({ at: this.clock(), key: failure.key }) } },
        };
        await this.patch(w, body, PatchStrategy.StrategicMergePatch);
        const previous = `--limits=memory=${container.resources!.limits!.memory}${plan.requestChanged && container.resources?.requests?.memory ? ` --requests=memory=${container.resources.requests.memory}` : ''}`;
        const undo = `kubectl -n ${meta.namespace} set resources ${w.kind.toLowerCase()}/${meta.name} -c ${failure.container} ${previous}`;
        return { result: 'applied' as const, reason: plan.clamped ? 'clamped' : 'raised', message: `raised the ${what}`, undo };
      }, this.o.retry);
    } catch (err) {
      return { result: 'failed', reason: 'api-error', message: `patch refused: ${apiMessage(err)}; nothing was changed` };
    }
  }

  private async rollBack(initial: Workload, failure: Failure, dryRun: boolean): Promise<Outcome> {
    if (initial.kind === 'DaemonSet') return { result: 'refused', reason: 'unsupported', message: 'DaemonSet rollbacks are left to people' };
    try {
      return await withRetries(async (attempt) => {
        const w = attempt === 1 ? initial : await this.reread(initial);
        const meta = w.object.metadata!;
        if (readMark(meta, this.o.rules.annotations.lastRollback)?.key === failure.key) {
          return { result: 'applied' as const, reason: 'already-applied', message: 'another writer applied this rollback already' };
        }
        const mark = { [this.o.rules.annotations.lastRollback]: writeMark({ at: this.clock(), key: failure.key }) };
        const apps = this.o.clients.apps;
        const namespace = meta.namespace!;
        if (w.kind === 'Deployment') {
          const selector = labelSelector(w.object.spec?.selector?.matchLabels);
          const rss = (await apps.listNamespacedReplicaSet({ namespace, labelSelector: selector })).items;
          const pick = pickRollbackTarget(w.object, rss, this.o.rules);
          if ('none' in pick) return { result: 'refused' as const, reason: 'no-known-good', message: `no rollback: ${pick.none}` };
          const from = meta.annotations?.['deployment.kubernetes.io/revision'];
          const what = `roll back${from ? ` from revision ${from}` : ''} to revision ${pick.revision} (ReplicaSet ${pick.target.metadata?.name})`;
          if (dryRun) return { result: 'dry-run' as const, reason: 'dry-run', message: `would ${what}` };
          await this.patch(w, deploymentRollbackPatch(w.object, pick.target, mark), PatchStrategy.JsonPatch);
          const undo = `kubectl -n ${namespace} rollout undo deployment/${meta.name}`;
          return { result: 'applied' as const, reason: 'rolled-back', message: `rolled back${from ? ` from revision ${from}` : ''} to revision ${pick.revision} (ReplicaSet ${pick.target.metadata?.name})`, undo };
        }
        if (w.kind !== 'StatefulSet') throw new Error('unreachable');
        const revisions = (await apps.listNamespacedControllerRevision({ namespace, labelSelector: labelSelector(w.object.spec?.selector?.matchLabels) })).items;
        const pick = pickStatefulSetRevision(w.object, revisions, this.o.rules);
        if ('none' in pick) return { result: 'refused' as const, reason: 'no-known-good', message: `no rollback: ${pick.none}` };
        const from = w.object.status?.updateRevision;
        const what = `roll back${from ? ` from ${from}` : ''} to revision ${pick.revision} (ControllerRevision ${pick.target.metadata?.name})`;
        if (dryRun) return { result: 'dry-run' as const, reason: 'dry-run', message: `would ${what}` };
        const body = statefulSetRollbackPatch(pick.target, mark) as { metadata?: Record<string, unknown> };
        body.metadata = { ...body.metadata, resourceVersion: meta.resourceVersion };
        await this.patch(w, body, PatchStrategy.StrategicMergePatch);
        // With OrderedReady updates a pod stuck broken at the bad revision blocks the rollout
        // (kubernetes/kubernetes#67250): delete those, the controller recreates them restored.
        const pods = (await this.o.clients.core.listNamespacedPod({ namespace, labelSelector: labelSelector(w.object.spec?.selector?.matchLabels) })).items;
        const stuck = statefulSetPodsToRecreate(pods, pick.target.metadata!.name!);
        for (const p of stuck) await this.o.clients.core.deleteNamespacedPod({ namespace, name: p.metadata!.name! }).catch(() => undefined);
        const undo = `kubectl -n ${namespace} rollout undo statefulset/${meta.name}`;
        return { result: 'applied' as const, reason: 'rolled-back', message: `rolled back${from ? ` from ${from}` : ''} to revision ${pick.revision} (ControllerRevision ${pick.target.metadata?.name})${stuck.length ? `; recreated ${stuck.length} stuck pod(s)` : ''}`, undo };
      }, this.o.retry);
    } catch (err) {
      return { result: 'failed', reason: 'api-error', message: `rollback refused: ${apiMessage(err)}; nothing was changed` };
    }
  }

  private async patch(w: Workload, body: object, strategy: PatchStrategy): Promise<void> {
    const { namespace, name } = w.object.metadata! as Required<Pick<V1ObjectMeta, 'namespace' | 'name'>>;
    const options = setHeaderOptions('Content-Type', strategy);
    const apps = this.o.clients.apps;
    switch (w.kind) {
      case 'Deployment':
        await apps.patchNamespacedDeployment({ namespace, name, body }, options);
        return;
      case 'StatefulSet':
        await apps.patchNamespacedStatefulSet({ namespace, name, body }, options);
        return;
      case 'DaemonSet':
        await apps.patchNamespacedDaemonSet({ namespace, name, body }, options);
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Audit

  private async report(r: HealReport): Promise<void> {
    if (r.result === 'refused') {
      const key = `${r.workload.uid ?? r.workload.name}/${r.action}/${r.reason}`;
      const last = this.refusals.get(key);
      if (last !== undefined && this.clock() - last < REFUSAL_QUIET_MS) {
        this.o.log.debug(`heal ${r.action} refused again: ${r.message}`, { workload: `${r.workload.kind}/${r.workload.name}`, namespace: r.workload.namespace, reason: r.reason });
        return;
      }
      this.refusals.set(key, this.clock());
    }
    this.reports.push(r);
    if (this.reports.length > 1000) this.reports.shift();
    const w = r.workload;
    const object = `${w.kind}/${w.name}`;
    const fields = { namespace: w.namespace, workload: object, action: r.action, result: r.result, reason: r.reason, container: r.failure.container, failure: r.failure.kind, restarts: r.failure.restartCount, logs: r.logs?.category, evidence: r.logs?.evidence ?? undefined };
    (r.result === 'failed' ? this.o.log.error : r.result === 'refused' ? this.o.log.warn : this.o.log.info).call(this.o.log, `heal ${r.action} ${r.result}: ${r.message}`, fields);
    this.o.metrics?.heal(r.action, r.result);
    const reason = r.result === 'applied' ? (r.action === 'oom-bump' ? 'MemoryLimitRaised' : 'RolledBack') : r.result === 'dry-run' ? 'HealDryRun' : r.result === 'failed' ? 'HealFailed' : 'HealRefused';
    const cause = r.failure.kind === 'oom-killed' ? `container ${r.failure.container} was OOMKilled` : `container ${r.failure.container} is in CrashLoopBackOff (${r.failure.restartCount} restarts)`;
    const logsNote = r.logs && r.logs.category !== 'unknown' ? `; logs: ${r.logs.category}${r.logs.evidence ? ` (${r.logs.evidence})` : ''}` : '';
    await Promise.all([
      emitEvent(this.o.clients.core, { workload: w, reason, action: r.action, message: `${cause}: ${r.message}${logsNote}`, warning: r.result !== 'applied' && r.result !== 'dry-run' }, this.o.identity, this.o.log, this.clock()),
      this.o.notifier.notify({
        source: 'heal',
        action: r.action,
        result: r.result,
        severity: r.result === 'failed' ? 'critical' : r.result === 'refused' ? 'warning' : 'info',
        namespace: w.namespace,
        object,
        title: `Amadeus: ${cause} — ${r.message}`,
        fields: { reason: r.reason, ...(r.logs ? { logs: r.logs.category } : {}), ...(r.undo ? { undo: r.undo } : {}) },
        ...(r.excerpt ? { excerpt: r.excerpt } : {}),
      }),
    ]);
  }

  // ---------------------------------------------------------------------------------------------
  // Known-good marks

  /** Marks the revisions of opted-in workloads that have been fully ready long enough (leader only). */
  async markKnownGood(): Promise<void> {
    if (!this.isLeader || this.stopped) return;
    const apps = this.o.clients.apps;
    const now = new Date(this.clock());
    const namespaces = this.o.namespaces.length > 0 ? this.o.namespaces : [null];
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (const namespace of namespaces) {
      try {
        const deployments = namespace ? await apps.listNamespacedDeployment({ namespace }) : await apps.listDeploymentForAllNamespaces({});
        for (const d of deployments.items.filter((x) => eligible(x, this.o.rules))) {
          const ns = d.metadata!.namespace!;
          const rss = (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: labelSelector(d.spec?.selector?.matchLabels) })).items;
          for (const rs of rss.filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid))) {
            const patch = readinessMark({ kind: 'ReplicaSet', replicaSet: rs }, now, this.o.rules);
            if (patch) await apps.patchNamespacedReplicaSet({ namespace: ns, name: rs.metadata!.name!, body: { metadata: { annotations: patch } } }, options);
          }
        }
        const sets = namespace ? await apps.listNamespacedStatefulSet({ namespace }) : await apps.listStatefulSetForAllNamespaces({});
        for (const s of sets.items.filter((x) => eligible(x, this.o.rules))) {
          const ns = s.metadata!.namespace!;
          const revision = s.status?.currentRevision;
          if (!revision) continue;
          const cr = await apps.readNamespacedControllerRevision({ namespace: ns, name: revision }).catch(() => null);
          if (!cr) continue;
          const patch = readinessMark({ kind: 'ControllerRevision', statefulSet: s, revision: cr }, now, this.o.rules);
          if (patch) await apps.patchNamespacedControllerRevision({ namespace: ns, name: revision, body: { metadata: { annotations: patch } } }, options);
        }
      } catch (err) {
        this.o.log.warn('could not update known-good marks', { namespace: namespace ?? '*', error: apiMessage(err) });
      }
    }
  }
}

function eligible(obj: KubernetesObject, rules: HealRules): boolean {
  return !PROTECTED_NAMESPACES.has(obj.metadata?.namespace ?? '') && isHealEnabled(obj.metadata?.annotations, rules);
}

function labelSelector(labels: Record<string, string> | undefined): string | undefined {
  if (!labels) return undefined;
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
