/**
 * The healer: watches pods, and for an OOM-killed container raises its memory limit on the owning
 * workload, for a crash loop rolls the workload back to its last known-good revision — each time
 * only after every guard rail agreed, and always saying so (a Kubernetes Event on the workload, a
 * log line, a metric, a notification). What it cannot heal (a Job's, a bare pod's or a bare
 * ReplicaSet's OOM or crash loop, an image that cannot be pulled, an Argo Rollouts Rollout) it
 * reports the same way, saying why. The decisions are the pure functions beside this file; this
 * module is the I/O around them: informers, reads, patches, the Lease, the audit trail.
 *
 * Every replica observes every pod (the known-good clock and the rollback share come from that,
 * `revisions.ts`); only the Lease holder acts. One failure at a time per workload (its uid): pods
 * of two ReplicaSets of one Deployment failing together are one problem.
 *
 * Order of checks for one failure (cheapest and most final first): leader? → protected namespace →
 * owning workload → opted in → the workload has no controller of its own → already handled
 * (idempotency keys; an OOM kill older than the container's last bump, or at a limit the template
 * has already raised) → GitOps / VPA / paused → for a rollback, is the crashing container in the
 * revision's template (not injected), is it the newest revision, never known-good, more than a
 * restart of the target, failing in more than the share of its pods (by the pod cache, then by the
 * API server's pods listed at the decision: a cache behind may show a crash loop that is over), not
 * shown by the API server to have run healthy while unwatched (`unwatched.ts`; the finding recorded
 * on the revision) →
 * cooldown → hourly budget (a refusal of theirs that would only be repeated at debug is given before
 * the API server's pods are listed, unless the revision ran healthy unwatched) → the plan itself (cap, known-good target, dependency
 * outage) → for a raise of the pods' memory request with --heal-node-fit, the nodes' room → dry-run → leader, again → patch (→ leader, again, before each stuck pod of a
 * StatefulSet is deleted). The whole sequence runs again on a fresh read of the workload after a
 * conflict (409, or 422 from a failed precondition), so a retry re-checks the cooldown, the budget
 * and the plan, never re-sends a stale decision.
 */
import { PatchStrategy, setHeaderOptions, type Informer, type KubernetesObject, type V1Container, type V1ControllerRevision, type V1DaemonSet, type V1Deployment, type V1ObjectMeta, type V1Pod, type V1PodSpec, type V1PodTemplateSpec, type V1LimitRange, type V1ReplicaSet, type V1ResourceQuota, type V1StatefulSet } from '@kubernetes/client-node';
import type { Notifier } from '../notify/notifier.js';
import type { Logger } from '../telemetry/logger.js';
import { detectFailures, epochMs, isCrashLooping, isPodReady, ownerOf, podRestarts, type Failure } from './detect.js';
import { emitEvent, type WorkloadRef } from './events.js';
import { type ActionMark, cooldownLeft, GITOPS_TOOL_NAMES, gitOpsManager, HourlyLimit, lastBumpOf, nextMark, PROTECTED_NAMESPACES, readMark, writeMark } from './guards.js';
import {
  answeredByRollback,
  crashLoopRecord,
  deploymentRollbackPatch,
  healthySinceTemplateEdit,
  isKnownGood,
  isReplicaSetFullyReady,
  isStatefulSetRevisionFullyReady,
  knownGoodMark,
  markedForAnotherTemplate,
  pickRollbackTarget,
  pickStatefulSetRevision,
  podOrdinal,
  recreatedFromTemplate,
  revisionData,
  revisionMarksOnWorkload,
  provedSinceCrashLoop,
  rolledBackFrom,
  statefulSetPodsToRecreate,
  statefulSetRollbackPatch,
  templateHash,
  templateMark,
  TEMPLATE_MARK_TAG,
  templatesEqualButMemory,
  templatesEqualIgnoringHash,
  typedPodTemplate,
  withRememberedMarks,
  withRolledBackFrom,
  type AnnotationPatch,
  type FailingRevision,
  type NoRollbackCode,
  type RollbackPick,
} from './known-good.js';
import { apiMessage, customList, isRetryable, listPaged, makeBoundedInformer, PreconditionFailed, statusOf, withRetries, writeMayHaveLanded, WriteOutcomeUnknown, type KubeClients, type RetryOptions } from './kube.js';
import { LeaderElector } from './lease.js';
import { vpaMemoryControl, vpaMemoryTarget, vpaSettingMemoryLimit, type Vpa } from './vpa.js';
import { classifyLogs, excerpt, isDependencyOutage, type LogClassification } from './logs.js';
import { alongside, asAdmitted, containerMemory, effectiveMemoryCap, type EffectiveCap, limitRangeCap, memoryJsonPatch, type MemoryBefore, memoryUndoJsonPatch, type MemoryPlan, planOomBump, podLevelCap, podLevelLimit, resourceQuotaCap, rolloutPods, withNamespaceCap } from './memory.js';
import { daemonSetFit, daemonSetSurges, nodeFit, noRoomMessage, podMemoryRequest, type NodeFitMode } from './node-fit.js';
import { NodeRoomReader } from './node-room.js';
import { readWorkload, refOf, resolveOwner, selectorString, type Unhealable, type Workload } from './owners.js';
import { annotationOps, preconditions, preconditionsHold, type JsonPatchOp } from './patches.js';
import { formatMebibytes, parseMemoryQuantity, parseOptionalMemory } from './quantity.js';
import { crashLoopNodeEvidence, crashLoopShareMet, replicaSetRevisionKey, RevisionTracker, statefulSetRevisionKey, type NodeEvidence } from './revisions.js';
import { isDryRun, isHealEnabled, KUBE_KEYS, type HealRules } from './rules.js';
import { CLOCK_MARGIN_SECONDS, deploymentRolloutCompleted, podsOfRevision, ranHealthyUnwatched, recordedUnwatched, statefulSetRolloutCompleted, unwatchedFinding } from './unwatched.js';
import { RestartBackoff, TooManyPods } from './watch.js';
import { HEAL_MAX_PODS, HEAL_MAX_WORKLOADS_LISTED } from './kube-limits.js';
import type { ItemBound } from '../paging/pages.js';

/** `report`: nothing could be done and nothing was tried (an image that cannot be pulled). */
export type HealAction = 'oom-bump' | 'rollback' | 'report';
/**
 * `applied`: patched. `dry-run`: would have patched. `refused`: a guard rail or the plan said no
 * (`reason` says which). `failed`: the API refused the patch after retries: nothing was changed.
 */
export type HealResult = 'applied' | 'dry-run' | 'refused' | 'failed';

export interface HealReport {
  action: HealAction;
  result: HealResult;
  /** Machine-readable: `max-reached`, `no-node-room`, `cooldown`, `gitops`, `vpa`, `dependency-outage`, `no-known-good`, `too-few-failing`… */
  reason: string;
  message: string;
  /** What the report is about: the workload, or the Job / CronJob / Rollout / Pod that is not healed. */
  workload: WorkloadRef;
  failure: Failure;
  logs: LogClassification | null;
  excerpt: string | null;
  undo?: string;
  /** An applied change that leaves something wrong (--heal-node-fit warn: no node has room): said as a warning. */
  warn?: boolean;
}

/** What an action came to; `undo` is the command a person runs to reverse it. */
interface Outcome {
  result: HealResult;
  reason: string;
  message: string;
  undo?: string;
  warn?: boolean;
}

type Logs = { classification: LogClassification; excerpt: string } | null;
/**
 * A log read that failed for a reason other than "there are none" (see readLogs): not `null`, which
 * is an answer; what refuses a rollback may be in logs that could not be read.
 */
type LogsUnavailable = { unavailable: string };
type LogRead = Logs | LogsUnavailable;
const isUnavailable = (l: LogRead): l is LogsUnavailable => l !== null && 'unavailable' in l;
/** The logs to show in a report: none when they could not be read. */
const shown = (l: LogRead): Logs => (isUnavailable(l) ? null : l);

/** A memory raise a StatefulSet's stuck pods are recreated for: the containers whose memory alone may differ. */
type Raise = { container: string; init: boolean }[];

/**
 * How recent an OOM kill must be to be raised (or within the cooldown, if longer): the kill decided
 * on (decideOom) and another container's raised in the same patch (alsoKilled). `lastState` keeps
 * a container's last termination for as long as it runs since: a kill older than this has been run
 * through, and is no reason to roll every pod now (at a start, a fail-over, an opt-in, dry run
 * switched off). A container killed again and again has a latest kill minutes old (the kubelet's
 * back-off is at most 5 minutes).
 */
const ALSO_KILLED_WINDOW_MS = 15 * 60_000;

/** One container's part of an OOM raise (see decideOom: one patch may raise several). */
interface OomRaise {
  failure: Failure;
  /** Its index in the template's containers (init containers for an init container's). */
  index: number;
  /** The container in the template, before the raise. */
  container: V1Container;
  fromBytes: number;
  killedAt: number | null;
  plan: Extract<MemoryPlan, { action: 'bump' }>;
  cap: EffectiveCap;
}

/** `spec` with `r`'s raise made: what the next container of the same patch is capped beside. */
function withRaise(spec: V1PodSpec, r: OomRaise): V1PodSpec {
  const raised = (c: V1Container): V1Container => ({
    ...c,
    resources: {
      ...c.resources,
      limits: { ...c.resources?.limits, memory: formatMebibytes(r.plan.limitBytes) },
      ...(r.plan.requestChanged ? { requests: { ...c.resources?.requests, memory: formatMebibytes(r.plan.requestBytes!) } } : {}),
    },
  });
  const list = (cs: V1Container[] | undefined, init: boolean) => (init === r.failure.init ? cs?.map((c, i) => (i === r.index ? raised(c) : c)) : cs);
  return { ...spec, containers: list(spec.containers, false)!, ...(spec.initContainers ? { initContainers: list(spec.initContainers, true) } : {}) };
}

/** A word for a POSIX shell, single-quoted (a `'` in it closed, escaped and reopened). */
const shellWord = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The command that undoes an applied OOM raise: `kubectl set resources` for one container; for
 * several, one JSON patch putting back them all — one rollout, not one per container.
 */
function oomUndo(w: Workload, raises: readonly OomRaise[]): string {
  const { namespace, name } = w.object.metadata!;
  const target = `${w.kind.toLowerCase()}/${name}`;
  const before: MemoryBefore[] = raises.map((r) => {
    const res = r.container.resources!;
    const request = r.plan.requestChanged && res.requests?.memory ? { request: res.requests.memory } : {};
    return { index: r.index, init: r.failure.init, name: r.failure.container, limit: res.limits!.memory!, ...request };
  });
  if (before.length > 1) return `kubectl -n ${namespace} patch ${target} --type=json -p ${shellWord(JSON.stringify(memoryUndoJsonPatch(before)))}`;
  const [one] = before;
  return `kubectl -n ${namespace} set resources ${target} -c ${one!.name} --limits=memory=${one!.limit}${one!.request ? ` --requests=memory=${one!.request}` : ''}`;
}

/** What every no-node-room refusal ends with: said once when several are joined. */
const NO_ROOM_TAIL = ": the rollout's new pods would stay Unschedulable and the workload a pod short; not raised (--heal-node-fit refuse: with a node autoscaler, use warn or off)";

/** A refusal and the other containers' of the same reason, as one message: their shared ending said once, at the end. */
function joinRefusals(own: Outcome, others: readonly Outcome[]): string {
  if (others.length === 0) return own.message;
  const tail = [own, ...others].every((o) => o.message.endsWith(NO_ROOM_TAIL)) ? NO_ROOM_TAIL : '';
  const head = (o: Outcome) => (tail ? o.message.slice(0, -tail.length) : o.message);
  return `${head(own)}${others.map((o) => `; and ${head(o)}`).join('')}${tail}`;
}

/** A namespace's LimitRanges and ResourceQuotas, listed once for every container a raise decision caps. */
type NamespaceLimits = { ranges: V1LimitRange[]; quotas: V1ResourceQuota[] };

/** A stuck pod not recreated, by name, and why: the name is what later notes leave out, `why` is said once. */
type LeftPod = { pod: string; why: string };
const leftText = (l: LeftPod): string => `${l.pod} (${l.why})`;

/** Stuck pods deleted (for the controller to recreate), and those left. */
type Recreated = { deleted: number; left: LeftPod[] };

/** A failure's reserved slot of the hourly budget, if it holds one. */
interface Held {
  slot: { release(): void } | null;
}

/** What the healer counts: its actions, and whether each pod watch is live. */
export interface HealerMetrics {
  heal(action: string, result: string): void;
  healerWatch?(scope: string, up: boolean): void;
}

export interface HealerOptions {
  clients: KubeClients;
  /** Namespaces to watch; empty: all of them (kube-system is never touched either way). */
  namespaces: readonly string[];
  /** Only pods matching this label selector are watched. */
  podSelector?: string;
  /** The most pods the watches may cache, all together (HEAL_MAX_PODS by default; --heal-max-pods). */
  maxPods?: number;
  /** The most Deployments, or StatefulSets, the known-good round lists in one scope (HEAL_MAX_WORKLOADS_LISTED by default). */
  maxWorkloadsListed?: number;
  rules: HealRules;
  /** Globally: decide and report, never patch. Namespaces can ask for it with an annotation too. */
  dryRun: boolean;
  identity: string;
  /** Where the leader-election Lease lives; null: this replica always acts (a single replica). */
  lease: { namespace: string; name: string; durationSeconds?: number; retrySeconds?: number } | null;
  notifier: Notifier;
  metrics?: HealerMetrics;
  log: Logger;
  clock?: () => number;
  /** How often the known-good marks are written (the clock behind them runs on pod events). */
  markIntervalMs?: number;
  /** First delay before restarting a failed watch (doubles up to 30 s, with jitter). */
  restartDelayMs?: number;
  /** First delay before listing again a namespace over --heal-max-pods (default OVER_BOUND_RETRY.initialMs; doubling to ten times it). */
  overBoundRetryMs?: number;
  retry?: RetryOptions;
  /** Lines of the failed container's previous logs read for classification. */
  logLines?: number;
  /** --heal-node-fit: whether a raise of the pods' memory request is checked against the nodes' room (default off). */
  nodeFit?: NodeFitMode;
}

/** How long a namespace over --heal-max-pods waits before it is listed again: doubling from initialMs to capMs. */
export const OVER_BOUND_RETRY = { initialMs: 30_000, capMs: 5 * 60_000 } as const;

/** Previous logs read for classification at most (on top of the line count). */
const LOG_LIMIT_BYTES = 64 * 1024;

/** The same refusal or dry run (workload, action, reason) is reported once per this period; repeats are logged at debug. */
const REFUSAL_QUIET_MS = 15 * 60_000;
/** Refusals for want of a rollback target, said only once the crash loop is confirmed. */
const NO_TARGET_CODES = new Set<NoRollbackCode>(['no-older-revision', 'no-known-good', 'same-template', 'known-good-crash-looped']);
/** Refusals remembered for that: bounded, oldest forgotten first. */
const REFUSALS_KEPT = 2000;
/** ReplicaSets whose first-seen template is remembered (every revision kept of every Deployment): bounded, oldest first. */
const TEMPLATES_KEPT = 50_000;

const VPA = { group: 'autoscaling.k8s.io', version: 'v1', plural: 'verticalpodautoscalers' } as const;

export class Healer {
  /** Pod watch scope (namespace, `*` for all) → its informer. */
  private readonly informers = new Map<string, Informer<V1Pod>>();
  /** Pod watch scope (namespace, `*` for all) → when (this.clock) it last proved live: an event, a bookmark, a list, a clean end. */
  private readonly watchLiveAt = new Map<string, number>();
  /** Pod watch scope → pods its informer caches (its add and delete events): bounded by maxPods, all together. */
  private readonly cachedPods = new Map<string, number>();
  /** Pod watch scope → drops its informer and cache (--heal-max-pods passed). */
  private readonly droppers = new Map<string, (err: TooManyPods) => void>();
  private readonly elector: LeaderElector | null;
  private readonly budget: HourlyLimit;
  private readonly clock: () => number;
  private readonly revisions: RevisionTracker;
  /** Failures already handled by this process (the workload annotation covers restarts). */
  private readonly seen = new Set<string>();
  /** `LimitRanges/<namespace>`, `ResourceQuotas/<namespace>`: what this service account may not list there (warned once). */
  private readonly listDenied = new Set<string>();
  /** The nodes' room (--heal-node-fit), read when a checked raise is about to be made. */
  private readonly nodeRoom: NodeRoomReader;
  /** The nodes' room could not be read the last time: warned once until it can again. */
  private nodeRoomFailing = false;
  /** One failure at a time per workload uid. */
  private readonly queues = new Map<string, Promise<void>>();
  private markTimer: NodeJS.Timeout | null = null;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();
  /** Reports, newest last (for tests and a future status endpoint); bounded. */
  readonly reports: HealReport[] = [];
  /** When each (workload, action, reason) refusal or dry run was last reported: a crash loop in cooldown restarts every few minutes. */
  private readonly refusals = new Map<string, number>();
  /**
   * Dry run writes nothing: the marks and crash-loop records it would have written on revisions
   * (by uid), applied over what it reads, so its decisions are those a live healer would make.
   */
  private readonly dryMarks = new Map<string, AnnotationPatch>();
  /** Revisions (by uid) found to have run healthy while unwatched: the evidence, once found (`unwatched.ts`). */
  private readonly healthyUnwatched = new Map<string, string>();
  /** Revisions (by uid) dry run said it would record that finding on: said once each at info. */
  private readonly dryRecorded = new Set<string>();
  /**
   * When this process first saw a ReplicaSet's template differ from the one its mark names
   * (`<uid>/<template hash now>`): the template was edited in place before then, so only pods made
   * since run it (`healthySinceTemplateEdit`). A restart forgets it: the edit is then seen anew, later.
   */
  private readonly templateEdits = new Map<string, number>();
  /**
   * Deployment uid → the generation the leader's own removal of copied marks (`dropRevisionMarks`)
   * left (`after`), and the one its controller had observed before it (`before`): the API server
   * bumps a Deployment's generation for an annotation change too, though the spec is unchanged.
   */
  private readonly ownMarkRemovals = new Map<string, { before: number; after: number }>();
  /**
   * The template hash this process first saw each ReplicaSet (uid) with; null once it has seen it
   * with another. One seen since with another template was edited in place while watched — before
   * any mark, too: its pods may all predate the edit, and their health says nothing of the template
   * a mark would name.
   *
   * Only the leader's mark rounds fill it, so it is also recorded on the ReplicaSet (`template-seen`,
   * `recordTemplateSeen`) and read back by the leaders after this one — a fail-over, a rolling
   * update or restart of Amadeus would otherwise start from the edited template as first seen, and
   * mark it on pods that run the one before. Rejected instead: followers tracking templates too (a
   * ReplicaSet list per replica per round, and a replica started after the edit, or all of them
   * restarted together, still knows nothing); comparing pods' containers with the template (admission
   * changes pods — injected sidecars, defaults, a VPA's resources — so a pod never equals its
   * template, and the `pod-template-hash` label an edit leaves as it was tells nothing). An edit made
   * before any leader first saw the ReplicaSet (in the minute before its first mark round, or while
   * none led) stays undetectable: that template is taken as the first seen. A leader that finds an
   * edit only by the record counts it from its own first look (when it was made is not known).
   */
  private readonly templatesFirstSeen = new Map<string, string | null>();
  /**
   * ReplicaSet uid → its Deployment's uid, as listed (a decision's list, the known-good rounds'):
   * the node rule's scope keeps a ReplicaSet deleted since (a namesake put in its place, a history
   * limit of 0) — a pod of it that ran Ready on a node still shows the node ran the workload.
   */
  private readonly replicaSetOwners = new Map<string, string>();

  constructor(private readonly o: HealerOptions) {
    this.clock = o.clock ?? Date.now;
    this.budget = new HourlyLimit(o.rules.maxActionsPerHour);
    this.revisions = new RevisionTracker(this.clock, o.rules);
    this.nodeRoom = new NodeRoomReader(o.clients.core, this.clock);
    this.elector = o.lease
      ? new LeaderElector({
          api: o.clients.coordination,
          namespace: o.lease.namespace,
          name: o.lease.name,
          identity: o.identity,
          leaseDurationSeconds: o.lease.durationSeconds,
          retryPeriodSeconds: o.lease.retrySeconds,
          log: o.log,
          // The test's clock when given; else the wall clock for the times written and a monotonic
          // one for durations (lease.ts), so a stepped wall clock cannot end or stretch a Lease.
          clock: this.o.clock,
          // A new leader looks again at every pod: failures seen while following were not acted on.
          onChange: (leading) => leading && this.resync(),
        })
      : null;
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  /** What this process observes of a namespace's pods (revisions of Deployments and StatefulSets). */
  observed(namespace: string): { pods: number; ready: number; crashLooping: number; restarts: number } {
    return this.revisions.summary(namespace);
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
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    await Promise.all([...this.informers.values()].map((i) => i.stop().catch(() => undefined)));
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
    const { core, kc, bounds } = this.o.clients;
    const path = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
    // Paged (each page one request under the client's deadline and size cap); the watch is bounded
    // (kube.ts): a connect deadline, a jittered server-side timeoutSeconds, a guard should the
    // server not end it, and the clients' size cap on each event.
    const page = (p: { limit: number; _continue?: string }) =>
      namespace ? core.listNamespacedPod({ namespace, labelSelector: this.o.podSelector, ...p }) : core.listPodForAllNamespaces({ labelSelector: this.o.podSelector, ...p });
    const scope = namespace ?? '*';
    const alive = () => void this.watchLiveAt.set(scope, this.clock());
    // What the informers cache is bounded, all scopes together: a list may bring what the others
    // leave room for (its own cache is replaced by it), and fails on the page that passes it.
    const maxPods = this.o.maxPods ?? HEAL_MAX_PODS;
    const cachedElsewhere = () => this.cachedPodsTotal() - this.cachedPods.get(scope)!;
    const tooMany = (count: number) => new TooManyPods(maxPods, scope, count, cachedElsewhere());
    // Every (re-)list — the first, a 410's — restarts the revision clocks from what it lists.
    const list = async () => {
      const room = maxPods - cachedElsewhere();
      const pods = await listPaged(page, { count: room, error: tooMany });
      this.revisions.relisted(namespace, pods.items);
      alive();
      return pods;
    };
    const count = (delta: number) => this.cachedPods.set(scope, this.cachedPods.get(scope)! + delta);
    // Past the bound, a scope's informer is dropped with its cache: its pods no longer count
    // against the others' room nor are resynced, and the next start lists afresh (within the
    // bound) into a new informer rather than resuming on top of what it held.
    let dropped = false;
    const drop = (err: TooManyPods) => {
      if (dropped || this.stopped) return;
      dropped = true;
      failed(err);
      this.informers.delete(scope);
      this.cachedPods.set(scope, 0);
      void informer.stop();
    };
    this.droppers.set(scope, drop);
    const open = () => {
      const current = () => this.informers.get(scope) === informer;
      // Stopped (the healer, or this informer dropped) while a list was in flight or its watch
      // connecting: no watch after it.
      const wanted = () => !this.stopped && !dropped && current();
      // A dropped informer's late events (the rest of a chunk, of a list) are neither seen nor proof of life.
      const onAlive = () => void (current() && alive());
      const onPod = (pod: V1Pod) => void (current() && this.onPod(pod));
      const informer = makeBoundedInformer<V1Pod>(kc, path, list, this.o.podSelector, { maxEventBytes: bounds?.maxAnswerBytes, onAlive, lookup: bounds?.lookup, wanted });
      informer.on('add', () => {
        if (!current()) return;
        count(+1);
        // Grown past the bound through a watch: the largest scope is dropped (this one, or the
        // namespace that holds the most), so as many namespaces as fit stay watched.
        if (this.cachedPodsTotal() > maxPods && !this.stopped) this.dropLargest(maxPods);
      });
      informer.on('add', onPod);
      informer.on('update', onPod);
      informer.on('delete', (pod: V1Pod) => {
        if (current()) count(-1);
        this.revisions.forget(pod);
      });
      // A list refused for the bound lets its old cache go too (client-node keeps it on a failed re-list).
      informer.on('error', (err: unknown) => void (current() && (err instanceof TooManyPods ? drop(err) : failed(err))));
      this.informers.set(scope, informer);
      this.cachedPods.set(scope, 0);
      return informer;
    };
    // client-node's informer stops on a failed list or watch (reporting it through 'error') and
    // its start() resolves all the same: a start is healthy only if no error came during it. It
    // resumes from its resourceVersion when started again, and re-lists by itself on 410 Gone.
    const backoff = new RestartBackoff({ initialMs: this.o.restartDelayMs ?? 1000 });
    // Over the bound, each try lists up to it before failing: tried again from 30 s, doubling to 5
    // minutes, so a passing surge (a rollout's) is over soon and one that stays costs little.
    const overBoundMs = this.o.overBoundRetryMs ?? OVER_BOUND_RETRY.initialMs;
    const overBound = new RestartBackoff({ initialMs: overBoundMs, capMs: overBoundMs * (OVER_BOUND_RETRY.capMs / OVER_BOUND_RETRY.initialMs) });
    let errored = false;
    let scheduled: NodeJS.Timeout | null = null;
    let informer = open();
    const run = async () => {
      errored = false;
      if (dropped) {
        dropped = false;
        informer = open();
      }
      await informer.start().catch(() => undefined); // reported through 'error'
      if (errored) return;
      backoff.healthy(Date.now());
      overBound.healthy(Date.now());
      this.revisions.rewatched(namespace);
      alive();
      this.o.metrics?.healerWatch?.(scope, true);
    };
    const failed = (err: unknown) => {
      errored = true;
      // Until the watch is back nothing is seen: the clocks it feeds stop (ADR 0001).
      this.revisions.unwatched(namespace);
      this.watchLiveAt.delete(scope);
      this.o.metrics?.healerWatch?.(scope, false);
      if (this.stopped || scheduled) return;
      const delay = err instanceof TooManyPods ? overBound.next(Date.now()) : backoff.next(Date.now());
      this.o.log.warn('pod watch failed; restarting', { namespace: namespace ?? '*', error: apiMessage(err), retryInMs: delay });
      scheduled = setTimeout(() => {
        this.restartTimers.delete(scheduled!);
        scheduled = null;
        if (!this.stopped) void run();
      }, delay);
      scheduled.unref();
      this.restartTimers.add(scheduled);
    };
    await run();
  }

  /** Drops the informer of the scope caching the most pods (dropLargest: the bound is passed). */
  private dropLargest(maxPods: number): void {
    let largest: string | null = null;
    for (const [scope, n] of this.cachedPods) if (largest === null || n > this.cachedPods.get(largest)!) largest = scope;
    if (largest === null) return;
    const n = this.cachedPods.get(largest)!;
    this.droppers.get(largest)?.(new TooManyPods(maxPods, largest, n, this.cachedPodsTotal() - n));
  }

  private cachedPodsTotal(): number {
    let total = 0;
    for (const n of this.cachedPods.values()) total += n;
    return total;
  }

  /**
   * Everything the informers hold, again: after becoming leader, for the failures seen while
   * following. Not observed again: the revision clocks saw each of these pods already, and a second
   * look would start a clock stopped by a crash loop whose pods have gone since (an old ReplicaSet
   * scaled down, unhealthy pods first) — a mark the leader it replaces would never have written.
   */
  private resync(): void {
    for (const informer of this.informers.values()) for (const pod of (informer as unknown as { list(): V1Pod[] }).list()) this.onFailures(pod);
  }

  private onPod(pod: V1Pod): void {
    if (this.stopped) return;
    // Every replica observes: a follower that becomes leader has its own, uninterrupted clock.
    this.revisions.observe(pod);
    this.onFailures(pod);
  }

  /** The leader's part of a pod event: each failure of the pod not handled yet is routed to its owner. */
  private onFailures(pod: V1Pod): void {
    if (this.stopped || !this.isLeader) return;
    const namespace = pod.metadata?.namespace;
    if (!namespace || PROTECTED_NAMESPACES.has(namespace) || pod.metadata?.deletionTimestamp) return;
    for (const failure of detectFailures(pod, this.o.rules)) {
      if (this.seen.has(failure.key)) continue;
      this.seen.add(failure.key);
      if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value!);
      this.track(this.route(pod, failure));
    }
  }

  /** Finds what the failing pod belongs to, then queues the failure behind that owner's others. */
  private async route(pod: V1Pod, failure: Failure): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    try {
      const owner = await resolveOwner(this.o.clients, namespace, pod);
      if (!owner) {
        this.o.log.debug('failure of a pod without a healable owner', { pod: pod.metadata?.name, namespace, failure: failure.kind });
        return;
      }
      if (owner.kind === 'workload') {
        const uid = owner.workload.object.metadata?.uid ?? `${namespace}/${owner.workload.kind}/${owner.workload.object.metadata?.name}`;
        await this.enqueue(uid, () => this.handle(pod, failure, owner.workload));
      } else {
        await this.enqueue(owner.owner.ref.uid ?? `${namespace}/${owner.owner.ref.kind}/${owner.owner.ref.name}`, () => this.notice(pod, failure, owner.owner));
      }
    } catch (err) {
      // A passing fault (no answer, a deadline, 5xx, 429): forgotten, so the pod's next event or a
      // resync tries again. A 4xx (403: no RBAC rule) would only say the same again.
      if (statusOf(err) === null || isRetryable(err)) this.seen.delete(failure.key);
      // 403: this replica may not read that owner (a Job, a CronJob, a Rollout without the RBAC rule).
      const level = statusOf(err) === 403 ? 'warn' : 'error';
      this.o.log[level]('could not find what the failing pod belongs to', { pod: pod.metadata?.name, namespace, failure: failure.kind, error: apiMessage(err) });
    }
  }

  private enqueue(key: string, run: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(run).catch((err: unknown) => {
      this.o.log.error('healing failed unexpectedly', { owner: key, error: apiMessage(err) });
    });
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // One failure of a workload

  private async handle(pod: V1Pod, failure: Failure, initial: Workload): Promise<void> {
    const action: HealAction = failure.kind === 'oom-killed' ? 'oom-bump' : failure.kind === 'crash-loop' ? 'rollback' : 'report';
    let logs: LogRead | undefined;
    const readLogs = async (): Promise<LogRead> => (logs === undefined ? (logs = await this.readLogs(pod, failure)) : logs);
    let workload = initial;
    let outcome: Outcome | null;
    // The budget slot this failure holds (taken at the budget check, kept only if applied).
    const held: Held = { slot: null };
    const release = () => {
      held.slot?.release();
      held.slot = null;
    };
    // A patch of ours that got no answer: the next read tells whether it landed (its mark is there).
    let unanswered: WriteOutcomeUnknown | null = null;
    try {
      outcome = await withRetries(async () => {
        release(); // a retry decides again from scratch, budget included
        // Always a fresh read: failures queued behind another of the same workload see its patch.
        try {
          workload = await readWorkload(this.o.clients, initial);
        } catch (err) {
          if (statusOf(err) === 404) return null; // deleted meanwhile: nothing to heal
          throw err;
        }
        if (workload.object.metadata?.uid !== initial.object.metadata?.uid) return null; // re-created: another workload
        try {
          return await this.decide(workload, pod, failure, action, readLogs, held);
        } catch (err) {
          if (err instanceof WriteOutcomeUnknown) unanswered = err;
          throw err;
        }
      }, this.o.retry);
      // Nothing left to do because our unanswered patch did land: that is what happened, and said so.
      if (outcome === null && unanswered && this.answered(workload, action, failure)) outcome = this.landedUnanswered(action, unanswered);
    } catch (err) {
      const what = action === 'oom-bump' ? 'patch' : 'rollback';
      // After a write with no answer, "nothing was changed" is said only once the workload, read back, shows it.
      const now = err instanceof WriteOutcomeUnknown ? await readWorkload(this.o.clients, initial).catch(() => null) : null;
      const cause = apiMessage(err instanceof WriteOutcomeUnknown ? err.original : err);
      if (err instanceof WriteOutcomeUnknown && now === null) {
        outcome = { result: 'failed', reason: 'outcome-unknown', message: `${what} unanswered: ${cause}; whether it was applied is not known (the workload could not be read back to tell)` };
      } else if (err instanceof WriteOutcomeUnknown && this.answered(now!, action, failure)) {
        outcome = this.landedUnanswered(action, err);
      } else {
        outcome = { result: 'failed', reason: 'api-error', message: `${what} refused: ${cause}; nothing was changed` };
      }
    }
    if (outcome?.result === 'applied') {
      // Finishing a StatefulSet change takes no slot at the check, and still counts.
      if (!held.slot) this.budget.record(this.clock());
      held.slot = null;
    } else release();
    if (!outcome) return;
    // A refusal only repeated at debug shows no logs: none read for it (a crash loop in a cooldown comes back at every restart).
    const quiet = (outcome.result === 'refused' || outcome.result === 'dry-run') && this.repeatsRefusal(refOf(workload), action, outcome.reason);
    const l = failure.kind === 'image-pull' || quiet ? null : shown(await readLogs());
    // A refusal (or a dry run's "would") is the leader's to say, as a patch is its to write: a
    // replica that lost the Lease since it decided leaves it to the new leader, which decides again
    // and says it — else the cluster hears it twice. Forgotten, as a patch given up is (leadingFor).
    if ((outcome.result === 'refused' || outcome.result === 'dry-run') && !this.leadingFor(workload, action, failure)) return;
    await this.report({ action, ...outcome, workload: refOf(workload), failure, logs: l?.classification ?? null, excerpt: l?.excerpt ?? null });
  }

  /** Whether the workload carries this failure's mark (the patch answering it landed). */
  private answered(w: Workload, action: HealAction, failure: Failure): boolean {
    if (action === 'report') return false;
    const A = this.o.rules.annotations;
    return readMark(w.object.metadata!, action === 'oom-bump' ? A.lastOomBump : A.lastRollback)?.keys.includes(failure.key) === true;
  }

  private landedUnanswered(action: HealAction, err: WriteOutcomeUnknown): Outcome {
    const what = action === 'oom-bump' ? 'the memory limit raise' : 'the rollback';
    return { result: 'applied', reason: action === 'oom-bump' ? 'raised' : 'rolled-back', message: `${what} was applied: its answer was lost (${apiMessage(err.original)}), and reading the workload back found its mark` };
  }

  /** One attempt: the checks and the plan on what was just read, then the patch. Null: nothing to do or to say. */
  private async decide(w: Workload, pod: V1Pod, failure: Failure, action: HealAction, readLogs: () => Promise<LogRead>, held: Held): Promise<Outcome | null> {
    if (!isHealEnabled(w.object.metadata?.annotations, this.o.rules)) return null;
    if (action === 'report') {
      return { result: 'refused', reason: 'image-pull', message: `${failure.message ?? 'the image cannot be pulled'}: fix the image reference or its pull secret; nothing is patched for it` };
    }
    const owned = ownedRefusal(w);
    if (owned) return owned;
    return action === 'oom-bump' ? this.decideOom(w, pod, failure, held) : this.decideRollback(w, pod, failure, readLogs, held);
  }

  private refused(reason: string, message: string): Outcome {
    return { result: 'refused', reason, message };
  }

  /** The checks every action shares, after its own "nothing to do" checks. */
  private sharedGuards(action: 'oom-bump' | 'rollback', last: ReturnType<typeof readMark>, held: Held): Outcome | null {
    const refusal = this.guardRefusal(action, last);
    if (refusal) return refusal;
    const slot = this.budget.reserve(this.clock());
    if (!slot) return this.budgetSpent();
    held.slot = slot;
    return null;
  }

  /** What `sharedGuards` would refuse now, looked at without taking a slot of the budget (null: nothing). */
  private guardRefusal(action: 'oom-bump' | 'rollback', last: ReturnType<typeof readMark>): Outcome | null {
    const cooldown = action === 'oom-bump' ? this.o.rules.oomCooldownSeconds : this.o.rules.rollbackCooldownSeconds;
    const left = cooldownLeft(last, cooldown, this.clock());
    if (left > 0) return this.refused('cooldown', `the last ${action} was at ${new Date(last!.at).toISOString()}; cooldown ends in ${left} s`);
    return this.budget.allows(this.clock()) ? null : this.budgetSpent();
  }

  private budgetSpent(): Outcome {
    return this.refused('rate-limit', `the healer's budget of ${this.o.rules.maxActionsPerHour} actions per hour is spent`);
  }

  /** Whether this refusal (or dry run) of the workload would only be repeated at debug: `report` said it within REFUSAL_QUIET_MS. */
  private repeatsRefusal(w: WorkloadRef, action: HealAction, reason: string): boolean {
    const last = this.refusals.get(refusalKey(w, action, reason));
    return last !== undefined && this.clock() - last < REFUSAL_QUIET_MS;
  }

  private gitOpsRefusal(meta: V1ObjectMeta | undefined): Outcome | null {
    const gitops = gitOpsManager(meta, this.o.rules);
    if (!gitops) return null;
    const tool = GITOPS_TOOL_NAMES[gitops.tool];
    return this.refused(
      'gitops',
      gitops.certain
        ? `managed by ${tool} (${gitops.evidence}): fix it in Git rather than fight the controller`
        : `possibly managed by ${tool} (${gitops.evidence}, ${gitops.doubt}): not patched; fix it in Git, or set ${this.o.rules.annotations.gitops}: "none" on the workload if nothing syncs it`,
    );
  }

  /** Right before a patch: still the leader? (A patch after losing the Lease could race the new leader's.) */
  private stillLeading(w: Workload, action: HealAction): boolean {
    if (this.isLeader && !this.stopped) return true;
    this.o.log.info(`this replica no longer leads: ${action} of ${w.kind}/${w.object.metadata?.name} left to the leader`, { namespace: w.object.metadata?.namespace });
    return false;
  }

  /**
   * `stillLeading`, on a failure's behalf: a replica that no longer leads forgets the failure, so
   * its resync looks at it again once it leads again (the Lease back after a failed round) — else
   * the failure stays among those handled, and is never acted on or reported.
   */
  private leadingFor(w: Workload, action: HealAction, failure: Failure): boolean {
    if (this.stillLeading(w, action)) return true;
    this.seen.delete(failure.key);
    return false;
  }

  private async dryRun(namespace: string): Promise<boolean> {
    return this.o.dryRun || (await this.namespaceDryRun(namespace));
  }

  // --- memory ---------------------------------------------------------------------------------

  /**
   * The workload's metadata with the healer's marks as a Deployment's ReplicaSets also remember
   * them (`kubectl rollout undo` replaces the Deployment's annotations: see withRememberedMarks).
   * For reading the marks only: patches are still checked against the workload's own annotations.
   * A Deployment's ReplicaSets come back too, listed once for whoever needs them next.
   */
  private async markedMeta(w: Workload): Promise<{ meta: V1ObjectMeta; replicaSets: V1ReplicaSet[] }> {
    const meta = w.object.metadata!;
    if (w.kind !== 'Deployment') return { meta, replicaSets: [] };
    const rss = (await listPaged((p) => this.o.clients.apps.listNamespacedReplicaSet({ namespace: meta.namespace!, labelSelector: selectorString(w.object.spec?.selector), ...p }))).items;
    this.noteOwners(rss);
    return { meta: withRememberedMarks(meta, rss, this.o.rules), replicaSets: rss };
  }

  /** Remembers which Deployment each listed ReplicaSet belongs to (`replicaSetOwners`). */
  private noteOwners(rss: readonly V1ReplicaSet[]): void {
    for (const rs of rss) {
      const uid = rs.metadata?.uid;
      const owner = ownerOf(rs);
      if (!uid || owner?.kind !== 'Deployment') continue;
      this.replicaSetOwners.delete(uid);
      this.replicaSetOwners.set(uid, owner.uid);
      if (this.replicaSetOwners.size > TEMPLATES_KEPT) this.replicaSetOwners.delete(this.replicaSetOwners.keys().next().value!);
    }
  }

  private async decideOom(w: Workload, pod: V1Pod, failure: Failure, held: Held): Promise<Outcome | null> {
    const meta = w.object.metadata!;
    const A = this.o.rules.annotations;
    const { meta: marked, replicaSets } = await this.markedMeta(w);
    const last = readMark(marked, A.lastOomBump);
    // Already answered: this very termination (any pod, any ReplicaSet, any earlier process), or a
    // kill that ended before this container's last bump (its pod was made with the old limit).
    if (last?.keys.includes(failure.key)) return null;
    // ... or a kill in a revision this workload was rolled back from, still being replaced: it says
    // what that release needed, not what the template rolled back to needs.
    const away = rolledBackFrom(marked, this.o.rules);
    const revision = away.length > 0 ? await this.podRevision(w, pod, replicaSets) : null;
    if (revision && answeredByRollback(revision.hash, away, templatesEqualIgnoringHash(revision.template, w.object.spec?.template))) {
      if (w.kind === 'StatefulSet') {
        const finished = await this.finishRollback(w, marked, failure, revision.name);
        if (finished) return finished;
      }
      this.o.log.info('OOM kill in a revision this workload was rolled back from: answered by the rollback, no memory raise', {
        workload: `${w.kind}/${meta.name}`,
        namespace: meta.namespace,
        pod: pod.metadata?.name,
        container: failure.container,
        revision: revision.name,
      });
      return null;
    }
    const bumpedAt = lastBumpOf(last, failure.container);
    if (bumpedAt !== null && failure.finishedAt !== null && failure.finishedAt <= bumpedAt) {
      this.o.log.debug('OOM kill from before the last bump of this container: already answered', { workload: `${w.kind}/${meta.name}`, container: failure.container, key: failure.key });
      return null;
    }
    const spec = w.object.spec!.template.spec!;
    const containers = (failure.init ? spec.initContainers : spec.containers) ?? [];
    const index = containers.findIndex((c) => c.name === failure.container);
    if (index < 0) return this.notInTemplate(w, pod, failure, replicaSets);
    const container = containers[index]!;
    let template: ReturnType<typeof containerMemory>;
    try {
      template = containerMemory(container);
    } catch (err) {
      return this.refused('invalid-limit', `container ${failure.container}'s memory in the template cannot be read: ${(err as Error).message}`);
    }
    const killedAt = this.killedAtLimit(pod, failure);
    // Killed above the template's limit in a pod of a revision whose own template set it there: the
    // template has lowered it since (a release right-sizing it, a rollback by hand) and its replacement
    // runs at that — a fact about the revision being replaced, not about the template's limit (whose
    // own kills are raised from it). A pod admitted above its revision's limit (a webhook) is raised from it.
    if (killedAt !== null && template.limitBytes !== null && killedAt > template.limitBytes) {
      const revision = await this.podRevision(w, pod, replicaSets);
      const own = revision?.template && ((failure.init ? revision.template.spec?.initContainers : revision.template.spec?.containers) ?? []).find((c) => c.name === failure.container);
      if (own && limitOf(own) === killedAt) {
        // A StatefulSet's controller replaces no pod that is not Ready (OrderedReady,
        // kubernetes#67250): its rollout may wait on this pod for good — said, not only logged.
        if (w.kind === 'StatefulSet') {
          return this.refused(
            'limit-lowered-since',
            `pod ${pod.metadata?.name ?? '?'} (revision ${revision.name}) was OOM-killed at ${formatMebibytes(killedAt)}, which the template has lowered since to ${formatMebibytes(template.limitBytes)}: not raised for it. A StatefulSet replaces no pod that is not Ready: if its rollout waits on this one, delete it (kubectl -n ${meta.namespace} delete pod ${pod.metadata?.name ?? '?'}) to have it made at the template's limit`,
          );
        }
        this.o.log.info(`OOM kill at ${formatMebibytes(killedAt)} in a pod of a revision whose limit the template has changed since (to ${formatMebibytes(template.limitBytes)}): not raised for it, its replacement runs at that`, {
          workload: `${w.kind}/${meta.name}`,
          namespace: meta.namespace,
          pod: pod.metadata?.name,
          container: failure.container,
          revision: revision.name,
        });
        return null;
      }
    }
    // One snapshot of what the namespace admits, for this container and every other the patch raises.
    const limits = await this.namespaceLimits(meta.namespace!);
    // The pods' own revisions, read once each for every cap and node-fit check of this decision.
    const revisions = new Map<string, Promise<V1PodSpec | undefined>>();
    const revisionSpec = (p: V1Pod): Promise<V1PodSpec | undefined> => {
      const key = p.metadata?.uid ?? p.metadata?.name ?? '';
      if (!revisions.has(key)) revisions.set(key, this.removedSince(w, spec, p, replicaSets));
      return revisions.get(key)!;
    };
    const cap = await this.memoryCap(w, spec, pod, failure, template, revisionSpec, limits);
    // A quota's room is the namespace's to share: a raise it cuts to a sliver is not worth a rollout.
    const minClampedShare = cap.source === 'resource-quota' ? this.o.rules.quotaMinRaiseShare : 0;
    // The container in its pod, without a memory limit: its revision had none (the template's is newer).
    const inPod = podContainer(pod, failure);
    const killedWithoutLimit = inPod !== undefined && inPod.resources?.limits?.memory === undefined;
    const plan = planOomBump({ killedAtBytes: killedAt, templateLimitBytes: template.limitBytes, templateRequestBytes: template.requestBytes, capBytes: cap.capBytes, minClampedShare, killedWithoutLimit }, this.o.rules);
    if (plan.action === 'killed-without-limit') {
      this.o.log.info(`OOM kill in a pod without a memory limit for the container (its revision had none): nothing about the template's ${formatMebibytes(plan.templateLimitBytes)}, not raised`, {
        workload: `${w.kind}/${meta.name}`,
        namespace: meta.namespace,
        pod: pod.metadata?.name,
        container: failure.container,
      });
      return null;
    }
    if (plan.action === 'already-raised') {
      // A StatefulSet's pod still OOM-killed at the old limit may be what blocks the raise's rollout.
      if (w.kind === 'StatefulSet' && bumpedAt !== null) {
        // Stuck: killed at a limit below the template's, as its own status shows (not a peer not Ready for another reason).
        const stuck = (p: V1Pod) => (podMemoryLimit(p, failure) ?? Infinity) < plan.templateLimitBytes && oomKilledIn(p, failure);
        // Every container the same patch raised: the pod's revision differs from the template in all
        // their memory, and a delete is what gives the pod each of them.
        const together = Object.entries(last?.containers ?? {}).filter(([, at]) => at === bumpedAt).map(([name]) => name);
        const raised: Raise = [{ container: failure.container, init: failure.init }];
        for (const name of together) {
          if (name === failure.container) continue;
          const init = !(spec.containers ?? []).some((c) => c.name === name) && (spec.initContainers ?? []).some((c) => c.name === name);
          raised.push({ container: name, init });
        }
        const finished = await this.finishStatefulSet(w, failure, 'oom-bump', stuck, `still at a memory limit below the template's ${formatMebibytes(plan.templateLimitBytes)}`, raised);
        if (finished) return finished;
      }
      this.o.log.info(`OOM kill at ${formatMebibytes(plan.killedAtBytes)}, below the template's ${formatMebibytes(plan.templateLimitBytes)}: already raised, its replacement has more`, {
        workload: `${w.kind}/${meta.name}`,
        namespace: meta.namespace,
        pod: pod.metadata?.name,
        container: failure.container,
      });
      return null;
    }
    // A kill inside the cooldown of the container's last raise, looked at once that is over (a
    // restarted or newly elected Amadeus looks at every pod again): the cooldown's to refuse, as it
    // was refused (or would have been) while it ran. A kill after it is a new fact, raised; so is a
    // kill of a container that raise did not raise (the cooldown is each container's: see below).
    const cooldownMs = this.o.rules.oomCooldownSeconds * 1000;
    if (bumpedAt !== null && failure.finishedAt !== null && failure.finishedAt > bumpedAt && failure.finishedAt < bumpedAt + cooldownMs && this.clock() >= bumpedAt + cooldownMs) {
      this.o.log.debug('OOM kill inside the cooldown of the last raise, looked at after it: left to the cooldown', { workload: `${w.kind}/${meta.name}`, container: failure.container, key: failure.key });
      return null;
    }
    // A kill long past, run through since (lastState keeps it): looked at only now — Amadeus
    // started, a new leader, the workload opted in, dry run switched off — it is no reason to roll
    // every pod. Its time unknown: acted on, as before.
    const windowMs = Math.max(cooldownMs, ALSO_KILLED_WINDOW_MS);
    if (failure.finishedAt !== null && failure.finishedAt < this.clock() - windowMs) {
      this.o.log.info(`OOM kill too old to act on: ${new Date(failure.finishedAt).toISOString()}, more than ${Math.round(windowMs / 60_000)} minutes ago, the container not killed since: not raised for it`, {
        workload: `${w.kind}/${meta.name}`,
        namespace: meta.namespace,
        pod: pod.metadata?.name,
        container: failure.container,
        key: failure.key,
      });
      return null;
    }
    const gitops = this.gitOpsRefusal(meta);
    if (gitops) return gitops;
    // A VPA setting a container's memory limit has it: those containers are left to it, the others raised.
    const vpas = await this.vpas(w);
    const vpaRefusal = (container: string): Outcome | null => {
      const v = vpaSettingMemoryLimit(vpas, w.kind, meta.name!, container);
      return v ? this.refused('vpa', `${container}: a VerticalPodAutoscaler (${v.metadata?.name ?? '?'}) sets its memory limit`) : null;
    };
    const now = this.clock();
    // The cooldown is each container's, from its own last raise: a raise holds back the next raise
    // of what it raised (until its rollout shows whether that was enough), not of another container,
    // whose kill at its template's limit says nothing about that raise. A mark of an older build
    // (no per-container times) holds every container.
    // --heal-node-fit, one more guard of each raise once planned, beside those made before it in the
    // patch (so one no node can hold neither blocks nor shrinks the others); read before a budget
    // slot is held (the read may take a while). Its notes and warning go with the report.
    // One note of each kind (unchecked; the fit: a warning or a preemption): the latest, which counts every raise before it.
    const fitSaid = { notes: new Map<string, string>(), warn: false };
    const fits = async (accepted: readonly OomRaise[], r: OomRaise): Promise<Outcome | null> => {
      const v = await this.nodeFitCheck(w, spec, pod, accepted, r, vpas, () => revisionSpec(pod), replicaSets);
      if (v.note) fitSaid.notes.set(v.note.kind, v.note.text);
      fitSaid.warn ||= v.warn;
      return v.refusal;
    };
    let own: Outcome | null = vpaRefusal(failure.container) ?? this.containerCooldown(failure.container, bumpedAt, now) ?? (plan.action === 'bump' ? null : this.oomPlanRefusal(failure.container, plan, cap, minClampedShare, pod, spec));
    const raises: OomRaise[] = [];
    if (own === null && plan.action === 'bump') {
      const first: OomRaise = { failure, index, container, fromBytes: template.limitBytes!, killedAt, plan, cap };
      own = await fits([], first);
      if (own === null) raises.push(first);
    }
    // Every other container whose kill is current now is raised in the same patch, whether or not
    // this one is: two containers killed together get one raise and one cooldown, not two an hour apart.
    const notRaised: Outcome[] = [];
    await this.alsoKilled(w, pod, failure, last, spec, limits, vpaRefusal, fits, revisionSpec, now, raises, notRaised);
    if (raises.length === 0) {
      // Nothing to raise: refused as before — the VPA, the cooldown, the nodes' room, the budget, then the plan.
      // A VPA's or the nodes' refusal names the other containers killed with it and why they were not raised either.
      // (Only those refused for the same reason: another reason's decision is reported on its own, not silenced as a repeat of this one.)
      if (own!.reason === 'vpa' || own!.reason === 'no-node-room') return { ...own!, message: joinRefusals(own!, notRaised.filter((o) => o.reason === own!.reason)) };
      if (own!.reason === 'cooldown') return own;
      return this.budget.allows(now) ? own : this.budgetSpent();
    }
    const slot = this.budget.reserve(now);
    if (!slot) return this.budgetSpent();
    held.slot = slot;
    if (own) notRaised.unshift(own);
    const part = (r: OomRaise) => {
      const killedNote = r.killedAt !== null && r.killedAt !== r.fromBytes ? ` (killed at ${formatMebibytes(r.killedAt)})` : '';
      const request = r.plan.requestChanged ? ` (request → ${formatMebibytes(r.plan.requestBytes!)})` : '';
      const clamped = r.plan.clamped ? ` (clamped to the cap${r.cap.detail ? `: ${r.cap.detail}` : ''})` : '';
      return `${r.failure.container}: ${formatMebibytes(r.fromBytes)}${killedNote} → ${formatMebibytes(r.plan.limitBytes)}${request}${clamped}`;
    };
    const parts = raises.map(part);
    const what = `memory limit of ${parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', of ')}, and of ${parts.at(-1)}`}${notRaised.map((o) => `; not raised: ${o.message}`).join('')}${[...fitSaid.notes.values()].join('')}`;
    const warn = fitSaid.warn ? { warn: true } : {};
    if (await this.dryRun(meta.namespace!)) return { result: 'dry-run', reason: 'dry-run', message: `would raise the ${what}`, ...warn };
    if (!this.leadingFor(w, 'oom-bump', failure)) return null;
    // The mark records each raised container's time (its cooldown) and kill; this failure's key last.
    let mark = last;
    for (const r of [...raises].reverse()) mark = nextMark(mark, now, r.failure.key, r.failure.container);
    // One patch: the preconditions it was planned on, every container's change, the bookkeeping.
    const ops: JsonPatchOp[] = [
      ...preconditions(meta),
      ...raises.flatMap((r) => memoryJsonPatch(r.index, r.plan.limitBytes, r.plan.requestChanged ? r.plan.requestBytes : undefined, { init: r.failure.init })),
      ...annotationOps(meta, { [A.lastOomBump]: writeMark(mark!) }),
    ];
    await this.patchChecked(w, ops);
    if (raises.length > 1) {
      this.o.log.info('OOM kills of several containers answered by one raise', { workload: `${w.kind}/${meta.name}`, namespace: meta.namespace, containers: raises.map((r) => r.failure.container), keys: raises.map((r) => r.failure.key) });
    }
    const atOldLimit = (p: V1Pod) => raises.some((r) => (podMemoryLimit(p, r.failure) ?? Infinity) < r.plan.limitBytes);
    // Stuck — deleted for the controller to recreate — only with its own evidence that it cannot
    // come up at the old limit: a raised container OOM-killed there, just now or as its last run (a
    // crash loop of OOM kills). A peer not Ready for another reason (restarted once, waiting for a
    // quorum) is not the raise's to delete: the controller rolls it once it is Ready again.
    const stuck = (p: V1Pod) => raises.some((r) => (podMemoryLimit(p, r.failure) ?? Infinity) < r.plan.limitBytes && oomKilledIn(p, r.failure));
    const { deleted: recreated, left } =
      w.kind === 'StatefulSet' ? await this.recreateStuckPods(w, 'oom-bump', stuck, raises.map((r) => ({ container: r.failure.container, init: r.failure.init }))) : { deleted: 0, left: [] };
    const undo = oomUndo(w, raises);
    const leftNote = left.length > 0 ? `; not recreated, still at the old limit: ${left.map(leftText).join(', ')}` : '';
    const pending = await this.rolloutPending(w, atOldLimit, 'the old limit', { raise: raises.map((r) => ({ container: r.failure.container, init: r.failure.init })), told: left.map((l) => l.pod) });
    return { result: 'applied', reason: raises.some((r) => r.plan.clamped) ? 'clamped' : 'raised', message: `raised the ${what}${recreated ? `; recreated ${recreated} stuck pod(s)` : ''}${leftNote}${pending}`, undo, ...warn };
  }

  /**
   * What an applied change leaves to a person, for the report: a paused Deployment rolls nothing
   * out until it is resumed, and an OnDelete StatefulSet or DaemonSet replaces only the pods
   * deleted (a StatefulSet's stuck ones the healer deleted itself). The template is changed —
   * `applied` — while the pods run on as they were (`old`: still at what the change replaces);
   * said with the pods and the command that finishes it. For a raise (`memory`), a pod whose
   * revision differs from the template in more than the raised memory is named apart (a delete
   * would roll that out too), and those the report told of already (`told`) are left out. '' when
   * the controller rolls it out.
   */
  private async rolloutPending(w: Workload, old: (pod: V1Pod) => boolean, what: string, memory?: { raise: Raise; told: string[] }): Promise<string> {
    const { namespace, name, uid } = w.object.metadata!;
    if (w.kind === 'Deployment') return w.object.spec?.paused ? `; the Deployment is paused: its pods keep ${what} until it is resumed (kubectl -n ${namespace} rollout resume deployment/${name})` : '';
    if (w.object.spec?.updateStrategy?.type !== 'OnDelete') return '';
    const onDelete = `the ${w.kind}'s update strategy is OnDelete`;
    const only: string[] = [];
    const more: string[] = [];
    try {
      const listed = (await listPaged((p) => this.o.clients.core.listNamespacedPod({ namespace: namespace!, labelSelector: selectorString(w.object.spec?.selector), ...p }))).items;
      const pods = listed.filter((p) => ownerOf(p)?.uid === uid && !p.metadata?.deletionTimestamp && old(p) && !memory?.told.includes(p.metadata!.name!));
      const templates = new Map<string, Record<string, unknown> | null>();
      for (const p of pods.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))) {
        // A delete makes the pod from the template as it is now: for a raise, that must be the pod's
        // revision but for the memory raised, else the delete rolls out what an operator has not.
        let gives = true;
        if (memory) {
          const hash = p.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] ?? '';
          const revision = w.kind === 'DaemonSet' ? `${name}-${hash}` : hash;
          if (!templates.has(revision)) templates.set(revision, hash ? await this.setRevisionTemplate(w, revision) : null);
          const template = templates.get(revision);
          gives = template !== null && template !== undefined && templatesEqualButMemory(typedPodTemplate(template as V1PodTemplateSpec), w.object.spec?.template, memory.raise);
        }
        (gives ? only : more).push(p.metadata!.name!);
      }
    } catch (err) {
      this.o.log.warn('could not list the pods an OnDelete change leaves as they were', { namespace, workload: `${w.kind}/${name}`, error: apiMessage(err) });
      return `; ${onDelete}: its pods keep ${what} until deleted (kubectl -n ${namespace} delete pod <pod>, one at a time)`;
    }
    const notes: string[] = [];
    if (only.length > 0) notes.push(`${only.length} pod(s) keep ${what} until deleted (${only.join(', ')}): delete them one at a time for their replacements to get it (kubectl -n ${namespace} delete pod ${only[0]})`);
    if (more.length > 0) notes.push(`${more.length} pod(s) keep ${what} at a revision that differs from the template in more than this memory (${more.join(', ')}): a delete would roll that change out too`);
    return notes.length > 0 ? `; ${onDelete}: ${notes.join('; ')}` : '';
  }

  /** The refusal of a container's raise inside its own cooldown (see decideOom); null when none runs. */
  private containerCooldown(container: string, bumpedAt: number | null, now: number): Outcome | null {
    const left = bumpedAt === null ? 0 : cooldownLeft({ at: bumpedAt, key: '' }, this.o.rules.oomCooldownSeconds, now);
    return left > 0 ? this.refused('cooldown', `the last oom-bump of ${container} was at ${new Date(bumpedAt!).toISOString()}; cooldown ends in ${left} s`) : null;
  }

  /** Why a container's OOM plan raises nothing: no limit of its own, or its cap. */
  private oomPlanRefusal(container: string, plan: Exclude<MemoryPlan, { action: 'bump' }>, cap: EffectiveCap, minClampedShare: number, pod: V1Pod, spec: V1PodSpec): Outcome {
    if (plan.action === 'no-limit') {
      // Under a pod-level limit, a container without one of its own is killed at the pod's: that is
      // what binds, and it is the pod's to raise (every container shares it), not this container's.
      const pods = podLevelLimit(pod.spec) ?? podLevelLimit(spec);
      if (pods !== null) {
        return this.refused(
          'pod-level-limit',
          `container ${container} has no memory limit of its own: it was killed at the pod's (spec.resources.limits.memory ${formatMebibytes(pods)}), which Amadeus does not raise: raise it in the pod template, or give the container a limit of its own`,
        );
      }
      return this.refused('no-limit', `container ${container} has no memory limit to raise`);
    }
    const at = `(${formatMebibytes(plan.capBytes)}, ${cap.detail ?? cap.source})${cap.invalid ? `; ${cap.invalid}` : ''}`;
    // Below the cap only when what is left of the step is too little to be worth a rollout.
    const said =
      plan.limitBytes < plan.capBytes
        ? `memory limit of ${container} is near the cap ${at}: a raise from ${formatMebibytes(plan.limitBytes)} would be less than ${Math.round(minClampedShare * 100)}% of the rule's step, not worth a rollout`
        : `memory limit of ${container} is at the cap ${at}`;
    return this.refused('max-reached', said);
  }

  /**
   * The workload's other containers whose OOM kill is current as a raise is planned, each raised in
   * the same patch (pushed to `raises`) or said not to be and why (`notRaised`: a VPA setting its limit, its own cooldown, its
   * cap). Looked for in the pods the cache holds of the failed pod's own revision (its ReplicaSet, or
   * its set's controller-revision-hash): the revision the checks above found the kill answerable in.
   * A kill is current as the single-container path judges one: not answered yet (its key, its
   * container's last raise), of a container in the template (not injected, not removed), killed at
   * exactly the template's limit (not in a pod without one). Anything else is left to its own
   * decision, which says what it has to. Each container's cap is planned with the raises before it
   * (a Pod max, a quota, pod-level resources count the containers together), against the same
   * `limits` as the first container's.
   */
  private async alsoKilled(
    w: Workload,
    pod: V1Pod,
    failure: Failure,
    last: ActionMark | null,
    spec: V1PodSpec,
    limits: NamespaceLimits,
    vpaRefusal: (container: string) => Outcome | null,
    fits: (accepted: readonly OomRaise[], r: OomRaise) => Promise<Outcome | null>,
    revisionSpec: (pod: V1Pod) => Promise<V1PodSpec | undefined>,
    now: number,
    raises: OomRaise[],
    notRaised: Outcome[],
  ): Promise<void> {
    const namespace = w.object.metadata!.namespace;
    const owner = ownerOf(pod)?.uid;
    if (owner === undefined) return;
    const revision = pod.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash];
    const sameRevision = (p: V1Pod) =>
      p.metadata?.namespace === namespace && !p.metadata?.deletionTimestamp && ownerOf(p)?.uid === owner && (w.kind === 'Deployment' || p.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] === revision);
    const pods = new Map<string, V1Pod>([[pod.metadata?.uid ?? '', pod]]);
    for (const informer of this.informers.values()) {
      // The workload's namespace only (the cache's index): not a copy of every cached pod per decision.
      for (const p of (informer as unknown as { list(namespace?: string): readonly V1Pod[] }).list(namespace)) if (!pods.has(p.metadata?.uid ?? '') && sameRevision(p)) pods.set(p.metadata!.uid!, p);
    }
    const id = (f: Pick<Failure, 'container' | 'init'>) => `${f.init ? 'init/' : ''}${f.container}`;
    const decided = new Set([id(failure)]);
    const cooldownMs = this.o.rules.oomCooldownSeconds * 1000;
    for (const p of pods.values()) {
      for (const f of detectFailures(p, this.o.rules)) {
        if (f.kind !== 'oom-killed' || decided.has(id(f)) || last?.keys.includes(f.key)) continue;
        // Only a recent kill (within the cooldown, at least ALSO_KILLED_WINDOW_MS): an old one the
        // container has run through since (a raise refused long ago; lastState keeps it) is no reason
        // to raise it now, beside another.
        if (f.finishedAt === null || f.finishedAt < now - Math.max(cooldownMs, ALSO_KILLED_WINDOW_MS)) continue;
        const bumpedAt = lastBumpOf(last, f.container);
        if (bumpedAt !== null && f.finishedAt !== null && (f.finishedAt <= bumpedAt || (f.finishedAt < bumpedAt + cooldownMs && now >= bumpedAt + cooldownMs))) continue;
        const index = ((f.init ? spec.initContainers : spec.containers) ?? []).findIndex((c) => c.name === f.container);
        if (index < 0) continue;
        const container = ((f.init ? spec.initContainers : spec.containers) ?? [])[index]!;
        let template: ReturnType<typeof containerMemory>;
        try {
          template = containerMemory(container);
        } catch {
          continue;
        }
        const killedAt = podMemoryLimit(p, f);
        if (killedAt === null || template.limitBytes === null || killedAt !== template.limitBytes) continue;
        decided.add(id(f));
        const cooling = vpaRefusal(f.container) ?? this.containerCooldown(f.container, bumpedAt, now);
        if (cooling) {
          notRaised.push(cooling);
          continue;
        }
        const cap = await this.memoryCap(w, spec, p, f, template, revisionSpec, limits, raises.reduce(withRaise, spec));
        const minClampedShare = cap.source === 'resource-quota' ? this.o.rules.quotaMinRaiseShare : 0;
        const plan = planOomBump({ killedAtBytes: killedAt, templateLimitBytes: template.limitBytes, templateRequestBytes: template.requestBytes, capBytes: cap.capBytes, minClampedShare }, this.o.rules);
        if (plan.action === 'bump') {
          const raise: OomRaise = { failure: f, index, container, fromBytes: template.limitBytes, killedAt, plan, cap };
          const noRoom = await fits(raises, raise);
          if (noRoom) notRaised.push(noRoom);
          else raises.push(raise);
        } else if (plan.action === 'max-reached') notRaised.push(this.oomPlanRefusal(f.container, plan, cap, minClampedShare, p, spec));
      }
    }
  }

  /**
   * An OOM-killed container the template does not have: removed (or renamed) since its pod was
   * made, when the pod's own revision has it; else added when the pod was created — a mesh's proxy,
   * an injected agent — whose memory is set where it is injected, not in the template.
   */
  private async notInTemplate(w: Workload, pod: V1Pod, failure: Failure, replicaSets: readonly V1ReplicaSet[]): Promise<Outcome> {
    const revision = await this.podRevision(w, pod, replicaSets);
    if (revision?.template && hasContainer(revision.template, failure)) return this.refused('container-gone', `container ${failure.container} is no longer in the template`);
    const what = failure.init ? 'init container' : 'container';
    const since = revision?.template ? '' : ' (or removed from the template since the pod was made)';
    return this.refused(
      'container-not-in-template',
      `the OOM-killed ${what} ${failure.container} is not in the pod template; it was added when the pod was created (a service mesh's proxy, an injected agent)${since}: raise its memory where it is injected`,
    );
  }

  /**
   * The revision a workload's pod runs — its ReplicaSet (among `replicaSets`, by uid), or its
   * StatefulSet's ControllerRevision (by its label, read and checked to be the set's) — with the
   * {@link templateHash} of its template; a DaemonSet's ControllerRevision likewise (`<set>-<hash>`); null when unknown.
   */
  private async podRevision(w: Workload, pod: V1Pod, replicaSets: readonly V1ReplicaSet[]): Promise<{ name: string; hash: string; template: V1PodTemplateSpec | undefined } | null> {
    const uid = w.object.metadata?.uid;
    if (w.kind === 'Deployment') {
      const owner = ownerOf(pod);
      const rs = replicaSets.find((r) => r.metadata?.uid === owner?.uid && ownerOf(r)?.uid === uid);
      return rs ? { name: rs.metadata!.name!, hash: templateHash(rs.spec?.template), template: rs.spec?.template } : null;
    }
    // A StatefulSet's pods carry their ControllerRevision's name; a DaemonSet's only its hash (the revision is `<set>-<hash>`).
    const hash = pod.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash];
    if (!hash) return null;
    const name = w.kind === 'DaemonSet' ? `${w.object.metadata?.name}-${hash}` : hash;
    const template = await this.setRevisionTemplate(w, name);
    return template ? { name, hash: templateHash(template), template: typedPodTemplate(template as V1PodTemplateSpec) } : null;
  }

  /** The pod template of a StatefulSet's or DaemonSet's own ControllerRevision `name` (read; owner uid checked); null when it is not there or not the set's. */
  private async setRevisionTemplate(w: Workload, name: string): Promise<Record<string, unknown> | null> {
    const cr = await this.o.clients.apps.readNamespacedControllerRevision({ namespace: w.object.metadata!.namespace!, name }).catch((err: unknown) => {
      if (statusOf(err) === 404) return null;
      throw err;
    });
    return cr && ownerOf(cr)?.uid === w.object.metadata?.uid ? (revisionData(cr)?.spec.template ?? null) : null;
  }

  /** The memory limit the container had in its own pod when it was killed; null when unset or unreadable. */
  private killedAtLimit(pod: V1Pod, failure: Failure): number | null {
    return podMemoryLimit(pod, failure);
  }

  // --- rollback -------------------------------------------------------------------------------

  private async decideRollback(w: Workload, pod: V1Pod, failure: Failure, readLogs: () => Promise<LogRead>, held: Held): Promise<Outcome | null> {
    if (w.kind === 'DaemonSet') return this.refused('unsupported', 'DaemonSet rollbacks are left to people');
    const meta = w.object.metadata!;
    const namespace = meta.namespace!;
    const A = this.o.rules.annotations;
    const { meta: marked, replicaSets } = await this.markedMeta(w);
    const last = readMark(marked, A.lastRollback);
    if (last?.keys.includes(failure.key)) return null;
    const gitops = this.gitOpsRefusal(meta);
    if (gitops) return gitops;
    if (w.kind === 'Deployment' && w.object.spec?.paused) return this.refused('paused', 'the Deployment is paused: a rollback would not roll out (kubectl refuses it too); resume it or roll back by hand');

    const apps = this.o.clients.apps;
    const labelSelector = selectorString(w.object.spec?.selector);
    const away = rolledBackFrom(marked, this.o.rules);
    let pick: RollbackPick<KubernetesObject>;
    let revisionKey: string;
    let revisionWhat: string;
    if (w.kind === 'Deployment') {
      const owner = ownerOf(pod);
      const rss = replicaSets.map((x) => this.withDryMarks(x));
      pick = pickRollbackTarget(this.observedDespiteOwnWrite(w.object), rss, this.o.rules, { failing: owner?.name, rolledBackFrom: away });
      revisionKey = replicaSetRevisionKey(owner?.uid ?? '');
      revisionWhat = 'revision';
    } else {
      const failing = pod.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash];
      const revs = (await listPaged((p) => apps.listNamespacedControllerRevision({ namespace, labelSelector, ...p }))).items.map((x) => this.withDryMarks(x));
      pick = pickStatefulSetRevision(w.object, revs, this.o.rules, { failing, rolledBackFrom: away });
      revisionKey = statefulSetRevisionKey(meta.uid ?? '', failing ?? '');
      revisionWhat = 'ControllerRevision';
    }
    const failing = pick.failing;
    // A marked revision seen crash-looping is no target any more (bookkeeping, like the marks).
    // The revision as recorded (its resourceVersion is what a later write of it is checked against).
    const failingNow = failing && { ...failing, obj: await this.recordCrashLoop(w, failing.obj) };
    // Pods of a revision this workload was rolled back from, still being replaced: done already.
    if (failing && answeredByRollback(failing.hash, away, failing.current)) {
      // A StatefulSet rolled back by a replica that stopped (or whose delete failed) before it
      // recreated the pods stuck at this revision: they block the rollback's rollout until deleted.
      if (w.kind === 'StatefulSet') {
        const finished = await this.finishRollback(w, marked, failure, failing.name);
        if (finished) return finished;
      }
      this.o.log.debug('crash loop of a revision already rolled back from', { workload: `${w.kind}/${meta.name}`, namespace, revision: failing.name });
      return null;
    }
    // A container the revision's template does not have was added at admission (a mesh's proxy, an
    // agent): a rollback changes the template, not what injects it.
    if (failing?.template && !hasContainer(failing.template, failure)) {
      const what = w.kind === 'Deployment' ? `revision ${failing.revision}` : `ControllerRevision ${failing.name}`;
      return this.refused(
        'container-not-in-template',
        `no rollback: the crash-looping ${failure.init ? 'init container' : 'container'} ${failure.container} is not in the pod template of ${what}; it was added when the pod was created (a service mesh's proxy, an injected agent), and a rollback would not change it: fix it where it is injected`,
      );
    }
    // "No target" codes wait for the checks below: the crash loop must be confirmed (its share, the
    // API server's pods, the logs) before a refusal about where to go says anything.
    if ('none' in pick && !NO_TARGET_CODES.has(pick.code)) {
      return this.refused(pick.code, `no rollback: ${pick.none}`);
    }
    const stats = this.revisions.stats(revisionKey);
    if (!crashLoopShareMet(stats.crashLooping, stats.pods, this.o.rules.crashLoopShare)) {
      const share = this.o.rules.crashLoopShare;
      const need = share >= 1 ? 'all of them' : `more than ${Math.round(share * 100)}% of them (all when fewer than 3)`;
      return this.refused('too-few-failing', `${stats.crashLooping} of ${stats.pods} pods of ${revisionWhat} ${failing?.revision ?? '?'} crash-loop; a rollback needs ${need}`);
    }
    // The node rule: crash-looping pods all on one node that has not run this workload Ready are
    // explained by the node as well as by the revision (a surge pod alone on a broken node).
    const scope = workloadScope(w, replicaSets, this.replicaSetOwners);
    const onNodes = crashLoopNodeEvidence(this.revisions.crashLoopingPods(revisionKey), this.revisions.ranReadyOn(scope.revision), this.clock());
    if (!onNodes.met) return this.oneNodeRefusal(w, `${revisionWhat} ${failing?.revision ?? '?'}`, onNodes, pick);
    // The cooldown and the budget are local, and a crash loop comes back at every restart of each
    // of its pods: a refusal of theirs that `report` would only repeat at debug is given at once,
    // without the pod list below (one per restart, all the cooldown long). One that is said (an
    // Event, a notice) still waits for the API server's word, so a crash loop the server shows over
    // is never said refused; nor does this pass over a revision that ran healthy unwatched, whose
    // refusal comes before the guards'.
    const early = this.guardRefusal('rollback', last);
    if (early && this.repeatsRefusal(refOf(w), 'rollback', early.reason) && !(failingNow && this.unwatchedFindingFor(w, failingNow, false))) return early;
    // The share above is the pod cache's, which may be behind (a half-open or cut watch, a leader
    // that followed with a stale cache): its crash loop may be over, the same pods Ready again.
    // The API server must show it still on too, or nothing is done from the stale view.
    if (failing && !(await this.stillFailingOnServer(w, failing, scope))) {
      this.seen.delete(failure.key); // looked at again when the cache catches up, if it still fails
      this.o.log.info('crash loop not confirmed by the API server (the pod cache is behind): no rollback', { workload: `${w.kind}/${meta.name}`, namespace, revision: failing.name });
      return null;
    }
    const unwatched = failingNow ? await this.ranHealthyUnwatched(w, failingNow, pick) : null;
    if (unwatched) return unwatched;
    const guard = this.sharedGuards('rollback', last, held);
    if (guard) return guard;
    const logs = await readLogs();
    // Logs that could not be read may be the ones blaming a dependency: doubt never takes that
    // refusal away. Decided again at the container's next restart, as every refusal is.
    if (isUnavailable(logs)) {
      return this.refused(
        'logs-unavailable',
        `no rollback: the crashed container's previous logs could not be read (${logs.unavailable}), and they may point at a dependency rather than the revision; decided again at its next restart`,
      );
    }
    if (logs && isDependencyOutage(logs.classification)) {
      return this.refused('dependency-outage', `the logs point at a dependency, not the revision (${logs.classification.evidence}): a rollback would not help`);
    }
    if ('none' in pick) return this.refused(pick.code, `no rollback: ${pick.none}`);

    const now = this.clock();
    // What was restored is recorded with the mark: a later leader finishing the rollback of an
    // OnDelete StatefulSet checks the set is still at it (`finishRollback`). A StatefulSet's is its
    // ControllerRevision's name, which the controller reports as `updateRevision` while the template
    // equals that revision's data: a hash of the typed set never matches one of the raw data when
    // the template holds a field client-node's model drops.
    // (Nothing reads it for a Deployment, whose controller rolls the template onto every pod itself.)
    const to = w.kind === 'StatefulSet' ? `${REVISION_TO}${pick.target.metadata?.name}` : undefined;
    const marks = { [A.lastRollback]: writeMark({ ...nextMark(last, now, failure.key), to }), [A.rolledBackFrom]: withRolledBackFrom(marked, pick.failing.hash, this.o.rules) };
    const targetName = pick.target.metadata?.name;
    if (w.kind === 'Deployment') {
      const target = pick.target as Parameters<typeof deploymentRollbackPatch>[1];
      const what = `from revision ${pick.failing.revision} to revision ${pick.revision} (ReplicaSet ${targetName}${raiseNote(pick.raiseOf, 'revision')})`;
      if (await this.dryRun(namespace)) return { result: 'dry-run', reason: 'dry-run', message: `would roll back ${what}` };
      const template = await this.rawTemplate(namespace, target);
      if (!this.leadingFor(w, 'rollback', failure)) return null;
      await this.patchChecked(w, deploymentRollbackPatch(w.object, { ...target, spec: { ...target.spec!, template } }, marks));
      return { result: 'applied', reason: 'rolled-back', message: `rolled back ${what}`, undo: `kubectl -n ${namespace} rollout undo deployment/${meta.name}` };
    }
    const what = `from ${pick.failing.name} to revision ${pick.revision} (ControllerRevision ${targetName}${raiseNote(pick.raiseOf, 'revision')})`;
    if (await this.dryRun(namespace)) return { result: 'dry-run', reason: 'dry-run', message: `would roll back ${what}` };
    // The target as the API server holds it now, as a Deployment's (`rawTemplate`): one vetoed,
    // replaced or changed since the list is a conflict, re-read and re-planned.
    const target = await this.rawRevision(namespace, pick.target as Parameters<typeof statefulSetRollbackPatch>[1]);
    if (!this.leadingFor(w, 'rollback', failure)) return null;
    await this.patchChecked(w, statefulSetRollbackPatch(w.object, target, marks));
    const { deleted: recreated } = await this.recreateStuckPods(w, 'rollback', replacedByRollback(w, pick.failing.name));
    const pending = await this.rolloutPending(w, (p) => p.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] === pick.failing.name, `revision ${pick.failing.name}`);
    return { result: 'applied', reason: 'rolled-back', message: `rolled back ${what}${recreated ? `; recreated ${recreated} stuck pod(s)` : ''}${pending}`, undo: `kubectl -n ${namespace} rollout undo statefulset/${meta.name}` };
  }

  /**
   * Whether the API server, read now, shows the crash-loop share on the failing revision's pods: a
   * pod counts when it is not Ready and crash-loops or has restarted at least `crashLoopMinRestarts`
   * times (between two crashes it runs, not Ready). A Ready pod does not count, whatever the cache says.
   */
  private async stillFailingOnServer(w: Workload & { kind: 'Deployment' | 'StatefulSet' }, failing: FailingRevision<KubernetesObject>, scope: WorkloadScope): Promise<boolean> {
    const meta = w.object.metadata!;
    const labelSelector = [selectorString(w.object.spec?.selector), this.o.podSelector].filter((x) => x).join(',') || undefined;
    const listed = (await listPaged((p) => this.o.clients.core.listNamespacedPod({ namespace: meta.namespace!, labelSelector, ...p }))).items;
    const pods = podsOfRevision(listed, w.kind, meta.uid, failing.obj.metadata);
    const rules = this.o.rules;
    const failingNow = pods.filter((p) => !isPodReady(p) && (isCrashLooping(p, rules) || podRestarts(p) >= rules.crashLoopMinRestarts));
    if (!crashLoopShareMet(failingNow.length, pods.length, rules.crashLoopShare)) return false;
    // The node rule on the server's pods too (a node bound since, a pod Ready again): what runs
    // Ready now is the server's; what ran Ready until deleted, this process's memory.
    const now = this.clock();
    const ranReady = this.revisions.ranReadyOn(scope.revision, false);
    for (const p of listed) {
      const node = p.spec?.nodeName;
      if (node && !p.metadata?.deletionTimestamp && isPodReady(p) && scope.pod(p)) ranReady.set(node, now);
    }
    const crashing = failingNow.map((p) => ({ node: p.spec?.nodeName || null, created: epochMs(p.metadata?.creationTimestamp) }));
    return crashLoopNodeEvidence(crashing, ranReady, now).met;
  }

  /** The node rule's refusal (`crashLoopNodeEvidence`): `what` is the failing revision, as said. */
  private oneNodeRefusal(w: Workload & { kind: 'Deployment' | 'StatefulSet' }, what: string, evidence: NodeEvidence & { met: false }, pick: RollbackPick<KubernetesObject>): Outcome {
    const meta = w.object.metadata!;
    const to = 'target' in pick ? ` --to-revision=${pick.revision}` : '';
    const node = evidence.nodes[0];
    return this.refused(
      'one-node',
      `no rollback: ${what} crash-loops, but ${evidence.why}: the node${node ? ` ${node}` : ''} may be to blame (a broken disk, runtime or driver), not the revision. ` +
        `Decided again as its pods run on other nodes (or on one that runs this workload Ready). ` +
        `To roll back anyway: kubectl -n ${meta.namespace} rollout undo ${w.kind.toLowerCase()}/${meta.name}${to}`,
    );
  }

  /**
   * The rollback target's pod template as the API server holds it, raw JSON: client-node's typed
   * model drops fields it does not know (a newer Kubernetes' pod field), and a template rebuilt
   * from it would lose them — the rollback would not restore the known-good template, and the
   * controller would make a new ReplicaSet for the stripped one. Read through the custom-objects
   * client (same deadline and size cap). The hashes and comparisons that chose the target stay on
   * the typed model, where both sides of each comparison are read alike. Gone, replaced or changed
   * since the list (another resourceVersion: its template, or the marks that made it the target —
   * a known-good mark withdrawn, a crash loop recorded): a conflict, re-read and re-planned.
   */
  private async rawTemplate(namespace: string, target: V1ReplicaSet): Promise<V1PodTemplateSpec> {
    const raw = await this.rereadUnchanged(namespace, 'replicasets', 'ReplicaSet', target, (r: V1ReplicaSet) => !!r.spec?.template);
    return raw.spec!.template!;
  }

  /**
   * `target` read again raw (custom-objects client: no field dropped), or PreconditionFailed when it
   * is gone, replaced or changed since it was listed (another uid or resourceVersion), or `whole`
   * finds no template in it: the caller re-reads and re-plans.
   */
  private async rereadUnchanged<T extends V1ReplicaSet | V1ControllerRevision>(namespace: string, plural: string, kind: string, target: T, whole: (raw: T) => boolean): Promise<T> {
    const name = target.metadata!.name!;
    let raw: T;
    try {
      raw = (await this.o.clients.custom.getNamespacedCustomObject({ group: 'apps', version: 'v1', namespace, plural, name })) as T;
    } catch (err) {
      if (statusOf(err) === 404) throw new PreconditionFailed(err);
      throw err;
    }
    if (raw.metadata?.uid !== target.metadata?.uid || raw.metadata?.resourceVersion !== target.metadata?.resourceVersion || !whole(raw)) {
      throw new PreconditionFailed(new Error(`${kind} ${name} was replaced, changed or emptied since it was listed`));
    }
    return raw;
  }

  /**
   * A StatefulSet rollback's target ControllerRevision read again right before the patch, raw JSON
   * (as `rawTemplate` reads a Deployment's): the patch restores the template read here. Gone,
   * replaced or changed since the list (another uid or resourceVersion: an operator's veto,
   * `amadeus.io/known-good: "false"`, a mark withdrawn, a crash loop recorded) or holding no
   * template: a conflict, re-read and re-planned — the veto is refused as the Deployment's is.
   */
  private rawRevision(namespace: string, target: V1ControllerRevision): Promise<V1ControllerRevision> {
    return this.rereadUnchanged(namespace, 'controllerrevisions', 'ControllerRevision', target, (r: V1ControllerRevision) => !!revisionData(r)?.spec.template);
  }

  /**
   * A refusal when the API server shows that the failing revision ran healthy while this process
   * was not watching (`unwatched.ts`): never a reason to roll back, only not to. Once found for a
   * revision it is remembered (the crash loop's restarts wear the evidence down), by its uid, and
   * recorded on the revision (leader only, never in dry run), where a restarted or newly elected
   * process finds it; the revision's own record refuses as the evidence did.
   */
  private async ranHealthyUnwatched(w: Workload & { kind: 'Deployment' | 'StatefulSet' }, failing: FailingRevision<KubernetesObject>, pick: RollbackPick<KubernetesObject>): Promise<Outcome | null> {
    const meta = w.object.metadata!;
    const finding = this.unwatchedFindingFor(w, failing, true);
    if (!finding) return null;
    if (finding.record) await this.recordUnwatched(w, failing.obj, finding.record);
    const evidence = finding.evidence;
    const what = w.kind === 'Deployment' ? `revision ${failing.revision}` : `ControllerRevision ${failing.name}`;
    const to = 'target' in pick ? ` --to-revision=${pick.revision}` : '';
    return this.refused(
      'ran-healthy-unwatched',
      `no rollback: ${what} ran healthy before this crash loop, while Amadeus was not watching it (so it carries no known-good mark): ${evidence}. ` +
        `The crash loop points elsewhere (a dependency, the cluster, data), and rolling it back would undo a working release. ` +
        `To roll back anyway: kubectl -n ${meta.namespace} rollout undo ${w.kind.toLowerCase()}/${meta.name}${to}`,
    );
  }

  /** `unwatchedFinding` for the failing revision, from its record or this process's pods; `remember`: what is found is kept (by the revision's uid). */
  private unwatchedFindingFor(w: Workload & { kind: 'Deployment' | 'StatefulSet' }, failing: FailingRevision<KubernetesObject>, remember: boolean): ReturnType<typeof unwatchedFinding> {
    const meta = w.object.metadata!;
    const key = failing.obj.metadata?.uid ?? `${meta.uid}/${failing.name}`;
    let found = this.healthyUnwatched.get(key) ?? null;
    if (found === null && !recordedUnwatched(failing.obj.metadata, this.o.rules)) {
      const completed = w.kind === 'Deployment' ? deploymentRolloutCompleted(w.object, failing.name) : statefulSetRolloutCompleted(w.object, failing.name);
      const cached = [...this.informers.values()].flatMap((i) => (i as unknown as { list(): V1Pod[] }).list());
      found = completed && ranHealthyUnwatched(completed, podsOfRevision(cached, w.kind, meta.uid, failing.obj.metadata), this.clock(), this.o.rules);
      if (found && remember) {
        this.healthyUnwatched.set(key, found);
        if (this.healthyUnwatched.size > REFUSALS_KEPT) this.healthyUnwatched.delete(this.healthyUnwatched.keys().next().value!);
      }
    }
    return unwatchedFinding(failing.obj.metadata, found || null, new Date(this.clock()), this.o.rules);
  }

  /**
   * With OrderedReady pod management a StatefulSet replaces no pod that is not Ready
   * (kubernetes/kubernetes#67250): a pod left broken at what the healer changed — a revision it
   * rolled back from, a memory limit it raised since — blocks the change's rollout forever. Deletes
   * the set's own pods (its whole selector, its uid as their controller) that are not Ready and
   * `stuck`; the controller recreates them from the template. Returns how many were deleted.
   *
   * The deletes finish a change already patched: leadership is checked again before each (a
   * replica that lost the Lease since its patch leaves them to the new leader, which finishes
   * them), a conflict (409: a namesake replaced the pod since the list) lists the pods again and
   * re-decides, and no error here turns the applied change into a failure — a pod left stuck is
   * recreated when it fails again (`finishStatefulSet`).
   */
  private async recreateStuckPods(w: Workload & { kind: 'StatefulSet' }, action: 'oom-bump' | 'rollback', stuck: (pod: V1Pod) => boolean, raise?: Raise, recheck?: () => Promise<boolean>): Promise<Recreated> {
    const namespace = w.object.metadata!.namespace!;
    let deleted = 0;
    let left: LeftPod[] = [];
    try {
      await withRetries(async () => {
        if (!this.stillLeading(w, action)) return;
        const pods = (await listPaged((p) => this.o.clients.core.listNamespacedPod({ namespace, labelSelector: selectorString(w.object.spec?.selector), ...p }))).items;
        // No revision is spared by name: `stuck` says which pods are the change's to replace.
        let candidates = statefulSetPodsToRecreate(w.object, pods, '').filter(stuck);
        if (raise) ({ recreate: candidates, left } = await this.recreatedWithRaise(w, candidates, raise));
        if (raise) {
          const ordered = oneAtATime(w.object, pods, candidates);
          candidates = ordered.recreate;
          left = [...left, ...ordered.left];
        }
        if (candidates.length > 0 && recheck && !(await recheck())) return;
        for (const p of candidates) {
          if (!this.stillLeading(w, action)) return;
          try {
            await this.o.clients.core.deleteNamespacedPod({ namespace, name: p.metadata!.name!, body: { preconditions: { uid: p.metadata!.uid } } });
            deleted++;
          } catch (err) {
            if (isRetryable(err)) throw err; // list again: the pod may be another one by now
            if (statusOf(err) !== 404) this.o.log.warn('could not recreate a stuck pod', { namespace, pod: p.metadata?.name, error: apiMessage(err) });
          }
        }
      }, this.o.retry);
    } catch (err) {
      this.o.log.warn('could not recreate the stuck pods; they are recreated when they fail again', { namespace, workload: `${w.kind}/${w.object.metadata?.name}`, error: apiMessage(err) });
    }
    return { deleted, left };
  }

  /**
   * Of a StatefulSet's pods stuck at a memory limit below its template's, those a delete gives
   * the raised limit and nothing else: the controller recreates them from the template (not below
   * a RollingUpdate partition: those come back at the current revision, at the old limit, to be
   * killed and deleted again and again), and their revision's template is the set's but for that
   * container's memory (not, say, an image an `OnDelete` set's operator has not rolled out yet:
   * the delete would roll it out). The others are left, each with why.
   */
  private async recreatedWithRaise(w: Workload & { kind: 'StatefulSet' }, pods: V1Pod[], raise: Raise): Promise<{ recreate: V1Pod[]; left: LeftPod[] }> {
    const templates = new Map<string, Record<string, unknown> | null>();
    const recreate: V1Pod[] = [];
    const left: LeftPod[] = [];
    for (const p of pods) {
      const name = p.metadata?.name ?? '?';
      if (!recreatedFromTemplate(w.object, p)) {
        left.push({ pod: name, why: 'below the partition: it would come back at the current revision' });
        continue;
      }
      const revision = p.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] ?? '';
      if (!templates.has(revision)) templates.set(revision, revision ? await this.setRevisionTemplate(w, revision) : null);
      const template = templates.get(revision);
      if (template && templatesEqualButMemory(typedPodTemplate(template as V1PodTemplateSpec), w.object.spec?.template, raise)) recreate.push(p);
      else left.push({ pod: name, why: `its revision ${revision || '?'} differs from the template in more than this memory: a delete would roll that change out too` });
    }
    return { recreate, left };
  }

  /**
   * A change the healer made to a StatefulSet (its mark says so) whose stuck pods were never
   * recreated — the replica that made it stopped first, or the delete failed — is finished by
   * whoever sees one of them fail again: the leader, unless in dry-run; no cooldown applies, as
   * it is not a new action. Null when there was nothing to recreate.
   */
  private async finishStatefulSet(w: Workload & { kind: 'StatefulSet' }, failure: Failure, action: 'oom-bump' | 'rollback', stuck: (pod: V1Pod) => boolean, what: string, raise?: Raise, recheck?: () => Promise<boolean>): Promise<Outcome | null> {
    if (!this.leadingFor(w, action, failure) || (await this.dryRun(w.object.metadata!.namespace!))) return null;
    const { deleted, left } = await this.recreateStuckPods(w, action, stuck, raise, recheck);
    // Leadership lost before any delete: looked at again once leading again, as before a patch.
    if (deleted === 0 && !this.isLeader) this.seen.delete(failure.key);
    if (left.length > 0) this.o.log.debug('stuck pods left as they are', { namespace: w.object.metadata!.namespace, workload: `${w.kind}/${w.object.metadata!.name}`, left: left.map(leftText) });
    return deleted > 0 ? { result: 'applied', reason: 'recreated-stuck-pods', message: `recreated ${deleted} stuck pod(s) ${what}` } : null;
  }

  /**
   * `finishStatefulSet` for a rollback from `revision`. An OnDelete set's controller replaces no pod
   * and a delete recreates it from the template as it is now: once that is no longer the template
   * the rollback restored (`restoredTemplateKept`; a mark without `to` proves nothing) — an operator's next
   * release, applied to be rolled out pod by pod — a delete would roll that release out where
   * nobody has. Those pods are left to the operator. (Under RollingUpdate the controller rolls the
   * template onto them anyway; the delete only unblocks it.)
   */
  private async finishRollback(w: Workload & { kind: 'StatefulSet' }, marked: V1ObjectMeta, failure: Failure, revision: string): Promise<Outcome | null> {
    const what = `at ${revision}, which this StatefulSet was rolled back from`;
    if (w.object.spec?.updateStrategy?.type !== 'OnDelete') return this.finishStatefulSet(w, failure, 'rollback', replacedByRollback(w, revision), what);
    const to = readMark(marked, this.o.rules.annotations.lastRollback)?.to;
    const kept = restoredTemplateKept(w.object, to);
    if (kept === 'unobserved') {
      // The controller has not reported on the template of now yet: looked at again at the next event or resync.
      this.seen.delete(failure.key);
      this.o.log.debug('pods stuck at a revision rolled back from: waiting for the StatefulSet controller to observe the template', { workload: `${w.kind}/${w.object.metadata?.name}`, namespace: w.object.metadata?.namespace, revision });
      return null;
    }
    if (kept === 'changed') {
      // Said (once a quarter of an hour, like any refusal): the pods keep crash-looping until
      // someone deletes them, and that someone is the operator rolling the new template out.
      const why = to === undefined ? 'the rollback was recorded by an earlier Amadeus, which did not name the template it restored, so it cannot tell whether the template has changed since' : 'its template has changed since the rollback';
      return this.refused(
        'template-changed-since-rollback',
        `pods stuck at ${revision}, which this OnDelete StatefulSet was rolled back from, are left as they are: ${why}, and a deleted pod comes back at the template of now. Delete them when you roll the current template out: kubectl -n ${w.object.metadata?.namespace} delete pod <pod>`,
      );
    }
    // Checked again on the set as the API server holds it right before the deletes: an operator's
    // release applied since the event would otherwise be rolled onto the deleted pods.
    const recheck = async (): Promise<boolean> => {
      const now = await this.o.clients.apps.readNamespacedStatefulSet({ namespace: w.object.metadata!.namespace!, name: w.object.metadata!.name! });
      const still = now.metadata?.uid === w.object.metadata?.uid && restoredTemplateKept(now, to) === 'kept';
      if (!still) this.o.log.info('stuck pods left as they are: the StatefulSet changed since, it may no longer be at the template its rollback restored', { workload: `${w.kind}/${w.object.metadata?.name}`, namespace: w.object.metadata?.namespace, revision });
      return still;
    };
    return this.finishStatefulSet(w, failure, 'rollback', replacedByRollback(w, revision), what, undefined, recheck);
  }

  /**
   * Records `crash-looped-at` on a revision whose pods crash-loop (once per mark, or once when unmarked). A
   * conflict re-reads the revision and decides again (it may have been vetoed or recorded since).
   */
  private async recordCrashLoop(w: Workload, revision: KubernetesObject): Promise<KubernetesObject> {
    const namespace = w.object.metadata!.namespace!;
    const name = revision.metadata!.name!;
    const kind = w.kind === 'Deployment' ? 'ReplicaSet' : 'ControllerRevision';
    try {
      return await withRetries(async (n) => {
        const current = n === 1 ? revision : this.withDryMarks(await this.readRevision(kind, namespace, name));
        const hash = kind === 'ReplicaSet' ? templateHash((current as V1ReplicaSet).spec?.template) : undefined;
        const patch = crashLoopRecord(current.metadata, new Date(this.clock()), this.o.rules, hash);
        return (patch && (await this.patchRevision(kind, current, patch))) || current;
      }, this.o.retry);
    } catch (err) {
      this.o.log.warn('could not record the crash loop on the revision', { namespace, revision: name, error: apiMessage(err) });
      return revision;
    }
  }

  /**
   * Records on the failing revision that it ran healthy while unwatched (`unwatched.ts`): the
   * leader's alone, nothing in dry run (where the finding is only remembered by this process, not
   * taken for a record). A failed write is said and tried again at the next decision.
   */
  private async recordUnwatched(w: Workload, revision: KubernetesObject, record: AnnotationPatch): Promise<void> {
    const namespace = w.object.metadata!.namespace!;
    const kind = w.kind === 'Deployment' ? 'ReplicaSet' : 'ControllerRevision';
    const name = `${kind}/${revision.metadata?.name}`;
    if (!this.isLeader || this.stopped) return;
    if (await this.dryRun(namespace)) {
      const uid = revision.metadata?.uid ?? name;
      const level = this.dryRecorded.has(uid) ? 'debug' : 'info';
      this.dryRecorded.add(uid);
      if (this.dryRecorded.size > REFUSALS_KEPT) this.dryRecorded.delete(this.dryRecorded.values().next().value!);
      this.o.log[level]('dry run: would record on the revision that it ran healthy while unwatched', { namespace, revision: name, annotations: Object.keys(record) });
      return;
    }
    try {
      // The crash-loop record may have just changed the revision (its resourceVersion): a conflict
      // reads it again and records on what is there, unless it is another object or recorded since.
      const done = await withRetries(async (n): Promise<'written' | 'replaced' | 'recorded' | 'not-leading'> => {
        const current = n === 1 ? revision : await this.readRevision(kind, namespace, revision.metadata!.name!);
        if (current.metadata?.uid !== revision.metadata?.uid) return 'replaced';
        if (n > 1 && recordedUnwatched(current.metadata, this.o.rules)) return 'recorded';
        return (await this.patchRevision(kind, current, record)) ? 'written' : 'not-leading';
      }, this.o.retry);
      // Said as it happened: only a write of this process is "recorded".
      if (done === 'written') this.o.log.info('recorded on the revision that it ran healthy while unwatched: its rollback stays refused after a restart', { namespace, revision: name });
      else if (done === 'recorded') this.o.log.debug('the revision was found recorded (ran healthy while unwatched) by another writer meanwhile: not written again', { namespace, revision: name });
      else if (done === 'replaced') this.o.log.debug('the revision was replaced since it was read: nothing recorded on it', { namespace, revision: name });
      else this.o.log.debug('no longer the leader: the finding not recorded (left to the leader)', { namespace, revision: name });
    } catch (err) {
      this.o.log.warn('could not record on the revision that it ran healthy while unwatched; tried again at its next crash', { namespace, revision: name, error: apiMessage(err) });
    }
  }

  /** A ReplicaSet or ControllerRevision, read. */
  private async readRevision(kind: 'ReplicaSet' | 'ControllerRevision', namespace: string, name: string): Promise<KubernetesObject> {
    const apps = this.o.clients.apps;
    return kind === 'ReplicaSet' ? apps.readNamespacedReplicaSet({ namespace, name }) : apps.readNamespacedControllerRevision({ namespace, name });
  }

  /** Bookkeeping on a revision (marks, crash-loop records): the leader's alone, checked right before; in dry run, only remembered. */
  private async patchRevision(kind: 'ReplicaSet' | 'ControllerRevision', revision: KubernetesObject, annotations: AnnotationPatch): Promise<KubernetesObject | null> {
    if (!this.isLeader || this.stopped) return null;
    const { namespace, name, uid } = revision.metadata! as Required<Pick<V1ObjectMeta, 'namespace' | 'name'>> & V1ObjectMeta;
    if (await this.dryRun(namespace)) {
      if (uid) {
        this.dryMarks.delete(uid); // re-inserted last: oldest forgotten first
        this.dryMarks.set(uid, { ...this.dryMarks.get(uid), ...annotations });
        if (this.dryMarks.size > REFUSALS_KEPT) this.dryMarks.delete(this.dryMarks.keys().next().value!);
      }
      this.o.log.info('dry run: would annotate a revision', { namespace, revision: `${kind}/${name}`, annotations });
      return null;
    }
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    // Decided on `revision` as read: its resourceVersion makes the API server refuse (409) the
    // patch if anything changed since — an operator's veto (`known-good: "false"`) put meanwhile
    // would otherwise be overwritten by a mark. Callers re-read on a conflict, or try next round.
    const body = { metadata: { annotations, ...(revision.metadata?.resourceVersion ? { resourceVersion: revision.metadata.resourceVersion } : {}) } };
    if (kind === 'ReplicaSet') return this.o.clients.apps.patchNamespacedReplicaSet({ namespace, name, body }, options);
    return this.o.clients.apps.patchNamespacedControllerRevision({ namespace, name, body }, options);
  }

  /** The object with the annotations dry run would have written on it (itself outside dry run). */
  private withDryMarks<T extends KubernetesObject>(obj: T): T {
    const marks = obj.metadata?.uid ? this.dryMarks.get(obj.metadata.uid) : undefined;
    if (!marks) return obj;
    const annotations: Record<string, string> = { ...obj.metadata!.annotations };
    for (const [k, v] of Object.entries(marks)) {
      if (v === null) delete annotations[k];
      else annotations[k] = v;
    }
    return { ...obj, metadata: { ...obj.metadata, annotations } };
  }

  // --- I/O helpers ----------------------------------------------------------------------------

  /**
   * The failed container's previous logs (`kubectl logs --previous`). Null only on an answer that
   * there are none: a 400 (the API server relays the kubelet's `previous terminated container … not
   * found`, or a container waiting to start) or a 404 (the pod is gone). Any other failure is not
   * "no logs": a passing one — a 5xx (the kubelet or the API server's proxy to it), a 429, no answer
   * (a refused or reset connection, the client's request deadline) — is tried once more, each try
   * under that deadline; then, as for any other (a 403: no `pods/log` rule), the read is
   * unavailable, which refuses a rollback (decideRollback) and shows no logs in a report.
   */
  private async readLogs(pod: V1Pod, failure: Failure): Promise<LogRead> {
    const where = { pod: pod.metadata?.name, namespace: pod.metadata?.namespace, container: failure.container };
    for (let attempt = 1; ; attempt++) {
      let text: string;
      try {
        text = await this.o.clients.core.readNamespacedPodLog({
          namespace: pod.metadata!.namespace!,
          name: pod.metadata!.name!,
          container: failure.container,
          previous: true,
          tailLines: this.o.logLines ?? 200,
          // Lines can be arbitrarily long: the answer is capped too (the API server cuts the tail off).
          limitBytes: LOG_LIMIT_BYTES,
        });
      } catch (err) {
        const code = statusOf(err);
        if (code === 400 || code === 404) {
          // No previous logs (already rotated, the container never ran before, the pod gone): decide without them.
          this.o.log.debug('no previous logs', { ...where, error: apiMessage(err) });
          return null;
        }
        if (attempt === 1 && (code === null || code === 429 || code >= 500)) {
          this.o.log.debug('could not read the previous logs; trying once more', { ...where, error: apiMessage(err) });
          await (this.o.retry?.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(this.o.retry?.baseDelayMs ?? 200);
          continue;
        }
        this.o.log.warn('could not read the previous logs', { ...where, error: apiMessage(err), tries: attempt });
        return { unavailable: apiMessage(err) };
      }
      if (await this.replacedByNamesake(pod)) {
        this.o.log.debug('the pod was replaced by a namesake since: its logs are not this failure\'s', { pod: pod.metadata?.name, container: failure.container });
        return null;
      }
      return { classification: classifyLogs(text), excerpt: excerpt(text, { lines: 10, chars: 800 }) };
    }
  }

  /**
   * Logs are read by name: a StatefulSet's pod deleted and made again under its name since the
   * decision's view would have given its own. Only a pod of that name shown with another uid
   * discards them: a list that fails or finds none (the pod deleted, not replaced) keeps them, as
   * before the check — the logs may be what refuses a rollback (a dependency outage), and doubt
   * must not take a refusal away. Other pods' names are generated, never reused: not looked up.
   */
  private async replacedByNamesake(pod: V1Pod): Promise<boolean> {
    if (ownerOf(pod)?.kind !== 'StatefulSet') return false;
    const { namespace, name, uid } = pod.metadata!;
    try {
      const named = await listPaged((p) => this.o.clients.core.listNamespacedPod({ namespace: namespace!, fieldSelector: `metadata.name=${name}`, ...p }));
      const now = named.items[0]?.metadata?.uid;
      return now !== undefined && now !== uid;
    } catch (err) {
      this.o.log.debug('could not look the pod up after reading its logs: they count', { pod: name, error: apiMessage(err) });
      return false;
    }
  }

  /** The VerticalPodAutoscalers of the workload's namespace (none when the VPA CRD is not installed). */
  private async vpas(w: Workload): Promise<Vpa[]> {
    const m = w.object.metadata!;
    try {
      return (await listPaged((p) => this.o.clients.custom.listNamespacedCustomObject({ ...VPA, namespace: m.namespace!, ...p }).then(customList<Vpa>))).items;
    } catch (err) {
      if (statusOf(err) === 404) return []; // the VPA CRD is not installed
      throw err;
    }
  }

  /**
   * The cap on the container's limit: the global one, the workload's, and what the namespace admits
   * — its LimitRanges and ResourceQuotas (`limits`), which admission checks when the rollout creates pods.
   */
  private async memoryCap(
    w: Workload,
    spec: V1PodSpec,
    pod: V1Pod,
    failure: Failure,
    template: ReturnType<typeof containerMemory>,
    /** removedSince for a pod of the decision, read once per pod. */
    revisionSpec: (pod: V1Pod) => Promise<V1PodSpec | undefined>,
    { ranges, quotas }: NamespaceLimits,
    /** The template with the raises planned before this one in the same patch (another container's): the pods it makes carry them. */
    planned: V1PodSpec = spec,
  ): Promise<EffectiveCap> {
    // What the containers running beside it add against a Pod max or a quota: the other containers
    // and the sidecars (restartable init containers), or for a regular init container the sidecars
    // started before it — as admission makes the pods: with what it injects, and the limits it fills in.
    // A container in the pod but not in the template was injected — unless the pod's own revision
    // has it (removed since: the rollout's pods will not carry it).
    const own = await revisionSpec(pod);
    const admitted = asAdmitted(spec, pod.spec, own);
    const after = planned === spec ? admitted : asAdmitted(planned, pod.spec, own);
    const init = failure.init;
    const index = ((init ? admitted.initContainers : admitted.containers) ?? []).findIndex((c) => c.name === failure.container);
    const others = (read: (c: V1Container) => number | null) => alongside(admitted, index, init, read);
    const othersAfter = (read: (c: V1Container) => number | null) => alongside(after, index, init, read);
    // A request unset is the limit (the API server defaults it so); one equal to it is raised with it.
    const follows = template.limitBytes !== null && (template.requestBytes === null || template.requestBytes >= template.limitBytes);
    // What the new pods are admitted with: the other containers as the same patch leaves them.
    const subject = { requestBytes: template.requestBytes, requestFollowsLimit: follows, otherLimitsBytes: othersAfter(limitOf), otherRequestsBytes: othersAfter(requestOf) };
    const quota =
      template.limitBytes === null
        ? null
        : resourceQuotaCap(quotas, {
            ...subject,
            // The quota's `used` counts the pods running now: today's limits, and what the patch adds.
            otherLimitsBytes: others(limitOf),
            otherRequestsBytes: others(requestOf),
            othersRaisedBytes: { limits: subject.otherLimitsBytes - others(limitOf), requests: subject.otherRequestsBytes - others(requestOf) },
            limitBytes: template.limitBytes,
            rollout: rolloutPods(w),
            pod: { activeDeadlineSeconds: spec.activeDeadlineSeconds, priorityClassName: spec.priorityClassName },
          });
    const limited = withNamespaceCap(effectiveMemoryCap(w.object.metadata!.annotations, this.o.rules), 'limit-range', limitRangeCap(ranges, subject));
    // The template's own pod-level resources: the API server refuses a template (or pod) past them.
    const cap = withNamespaceCap(limited, 'pod-level-resources', podLevelCap(spec, subject));
    return withNamespaceCap(cap, 'resource-quota', quota);
  }

  /** The namespace's LimitRanges and ResourceQuotas, as a raise decision caps its containers against them. */
  private async namespaceLimits(namespace: string): Promise<NamespaceLimits> {
    const core = this.o.clients.core;
    const [ranges, quotas] = await Promise.all([
      this.namespaceList(namespace, 'LimitRanges', () => listPaged((p) => core.listNamespacedLimitRange({ namespace, ...p }))),
      this.namespaceList(namespace, 'ResourceQuotas', () => listPaged((p) => core.listNamespacedResourceQuota({ namespace, ...p }))),
    ]);
    return { ranges, quotas };
  }

  /**
   * For `asAdmitted`: the failed pod's own revision's spec, when the pod has a container the
   * template lacks — injected, or removed from the template since (then the rollout's pods will not
   * have it). Undefined when it has none (nothing read).
   */
  private async removedSince(w: Workload, spec: V1PodSpec, pod: V1Pod, replicaSets: readonly V1ReplicaSet[]): Promise<V1PodSpec | undefined> {
    const names = new Set([...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.name));
    const extra = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => !names.has(c.name));
    return extra ? (await this.podRevision(w, pod, replicaSets))?.template?.spec : undefined;
  }

  /**
   * --heal-node-fit, for `r` beside the raises `accepted` before it in the patch: whether the nodes
   * can take the raised pods when `r` raises their memory request — a request raised with the limit,
   * or unset so that it follows it; or one a `RequestsOnly` VPA sets, which it caps at the limit
   * (its target, at most the new limit). The pod's request as the scheduler sums it, on the pod as
   * admission made it (its injected containers, tolerations, nodeSelector and priority). A raise
   * that leaves the request where it was is not checked. `refuse` refuses `r` (`no-node-room`);
   * `warn` lets it be made and says so (`note`, `warn`). A failure to read the nodes' room leaves it
   * unchecked, said in the report (`note`) and warned in the log once until it can be read again:
   * the check never holds healing back.
   */
  private async nodeFitCheck(
    w: Workload,
    spec: V1PodSpec,
    pod: V1Pod,
    accepted: readonly OomRaise[],
    r: OomRaise,
    vpas: readonly Vpa[],
    /** removedSince's answer, read once per decision. */
    revisionSpec: () => Promise<V1PodSpec | undefined>,
    replicaSets: readonly V1ReplicaSet[],
  ): Promise<{ refusal: Outcome | null; note: { kind: 'unchecked' | 'fit'; text: string } | null; warn: boolean }> {
    const none = { refusal: null, note: null, warn: false };
    const mode = this.o.nodeFit ?? 'off';
    if (mode === 'off') return none;
    const meta = w.object.metadata!;
    let fit: ReturnType<typeof nodeFit>;
    try {
      const own = await revisionSpec();
      // The requests a VPA gives the containers it sets: its target — capped at the limit when it sets
      // requests only (RequestsOnly), as is (the limit scaled with it) when it sets both.
      const vpaRequests = (s: V1PodSpec): V1PodSpec => ({
        ...s,
        containers: s.containers.map((c) => {
          const control = vpaMemoryControl(vpas, w.kind, meta.name!, c.name);
          const target = control ? vpaMemoryTarget(control.vpa, c.name, parseMemoryQuantity) : null;
          const limit = control?.limit ? null : parseOptionalMemory(c.resources?.limits?.memory);
          if (target === null) return c;
          const request = limit === null ? target : Math.min(target, limit);
          return { ...c, resources: { ...c.resources, requests: { ...c.resources?.requests, memory: `${request}` } } };
        }),
      });
      // What the scheduler is asked for: overhead is the pod's (RuntimeClass admission sets it), pod-level resources the template's.
      const request = (s: V1PodSpec) => podMemoryRequest({ ...asAdmitted(vpaRequests(s), pod.spec, own), overhead: pod.spec?.overhead, resources: s.resources });
      const before = accepted.reduce(withRaise, spec);
      const planned = withRaise(before, r);
      const requestBytes = request(planned);
      if (requestBytes <= request(before)) return none; // its request stays (below its limit, a pod-level request, a VPA's target)
      const room = await this.nodeRoom.read();
      if (this.nodeRoomFailing) this.o.log.info("the nodes' room can be read again: memory raises are checked against it (--heal-node-fit)");
      this.nodeRoomFailing = false;
      const uid = meta.uid;
      // The workload's pods' controllers: a Deployment's ReplicaSets, or the set itself.
      const owners = new Set(w.kind === 'Deployment' ? replicaSets.filter((rs) => ownerOf(rs)?.uid === uid).map((rs) => rs.metadata?.uid ?? '') : [uid ?? '']);
      // As admission made the pods: a RuntimeClass's, a namespace's or a webhook's tolerations beside the
      // template's (an old revision's kept too: that errs toward raising). The nodeSelector is the
      // template's alone: the failed pod's is its own revision's, which a release may have moved since.
      const tolerations = [...(planned.tolerations ?? []), ...(pod.spec?.tolerations ?? [])];
      const nodeSelector = planned.nodeSelector;
      // The pods' priority as the failed pod has it — unless the template names another class, whose
      // value is not read: then any pod may be preempted for all the check knows (errs toward raising).
      const samePriority = (planned.priorityClassName ?? '') === (pod.spec?.priorityClassName ?? '');
      const preemption = (samePriority ? pod.spec?.preemptionPolicy : planned.preemptionPolicy) !== 'Never';
      const priority = !preemption ? undefined : samePriority ? (pod.spec?.priority ?? 0) : Number.MAX_SAFE_INTEGER;
      fit =
        w.kind === 'DaemonSet'
          ? daemonSetFit(room, { requestBytes, owners, priority, surge: daemonSetSurges(w.object as V1DaemonSet) })
          : nodeFit(room, { requestBytes, nodeSelector, tolerations, owners, priority });
    } catch (err) {
      const cause = apiMessage(err);
      if (!this.nodeRoomFailing) {
        this.nodeRoomFailing = true;
        const grant = statusOf(err) === 403 ? ' (grant "list" on nodes, and on pods in all namespaces)' : '';
        this.o.log.warn(`could not read the nodes' room: memory raises are made without checking it until it can be read${grant} (--heal-node-fit)`, { workload: `${w.kind}/${meta.name}`, namespace: meta.namespace, error: cause });
      }
      return { ...none, note: { kind: 'unchecked', text: `; the nodes' room could not be checked (${cause}): raised without it` } };
    }
    if (fit.fits) return fit.preempts ? { ...none, note: { kind: 'fit', text: `; the new pods fit only by preempting lower-priority pods (on ${fit.node}${fit.node === '*' ? '' : ', say'})` } } : none;
    const said = noRoomMessage(fit);
    if (mode === 'refuse') {
      return { ...none, refusal: this.refused('no-node-room', `memory limit of ${r.failure.container}: ${said}${NO_ROOM_TAIL}`) };
    }
    return { ...none, note: { kind: 'fit', text: `; warning: ${said}: the rollout's new pods stay Unschedulable and the workload a pod short unless a node is added (--heal-node-fit warn)` }, warn: true };
  }

  /** A namespace's LimitRanges or ResourceQuotas; none when this service account may not list them (said once per namespace and kind). */
  private async namespaceList<T>(namespace: string, kind: 'LimitRanges' | 'ResourceQuotas', list: () => Promise<{ items: T[] }>): Promise<T[]> {
    try {
      return (await list()).items ?? [];
    } catch (err) {
      if (statusOf(err) !== 403) throw err;
      const key = `${kind}/${namespace}`;
      if (!this.listDenied.has(key)) {
        this.listDenied.add(key);
        this.o.log.warn(`may not list ${kind}: memory raises are not checked against them (grant "list" on ${kind.toLowerCase()})`, { namespace, error: apiMessage(err) });
      }
      return [];
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

  /**
   * The JSON patch, with its preconditions. A 422 is what the API server answers a failed `test`
   * with — and an invalid patch too, in the same words: read the workload again, and if what the
   * preconditions tested has changed it was the test (a concurrent writer), retried with a new
   * read and plan; otherwise the patch itself is wrong and the error stands.
   */
  private async patchChecked(w: Workload, ops: JsonPatchOp[]): Promise<void> {
    try {
      await this.patch(w, ops);
    } catch (err) {
      if (writeMayHaveLanded(err)) throw new WriteOutcomeUnknown(err);
      if (statusOf(err) === 422) {
        const now = await readWorkload(this.o.clients, w).catch(() => null);
        if (now && !preconditionsHold(w.object.metadata, now.object.metadata)) throw new PreconditionFailed(err);
      }
      throw err;
    }
  }

  private async patch(w: Workload, body: JsonPatchOp[]): Promise<void> {
    const { namespace, name } = w.object.metadata! as Required<Pick<V1ObjectMeta, 'namespace' | 'name'>>;
    const options = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
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
  // What is not healed

  /** A failure of a pod whose owner the healer does not patch: said once (per 15 minutes), when that owner opted in. */
  private async notice(pod: V1Pod, failure: Failure, u: Unhealable): Promise<void> {
    if (!isHealEnabled(u.annotations, this.o.rules)) return;
    const action: HealAction = failure.kind === 'oom-killed' ? 'oom-bump' : failure.kind === 'crash-loop' ? 'rollback' : 'report';
    let reason: string = u.reason;
    let message: string;
    if (failure.kind === 'image-pull') {
      reason = 'image-pull';
      message = `${failure.message ?? 'the image cannot be pulled'}: fix the image reference or its pull secret; nothing is patched for it`;
    } else if (u.reason === 'argo-rollouts') {
      message =
        action === 'rollback'
          ? 'Argo Rollouts owns this Rollout\'s updates and rollbacks (abort or undo it there, or let its analysis do it): Amadeus does not patch it'
          : 'Argo Rollouts owns this Rollout: raise the memory limit in its template; Amadeus does not patch it';
    } else if (failure.kind === 'crash-loop') {
      // Nothing to roll back to: a Job's template is fixed once it runs, a bare pod has none, a bare ReplicaSet keeps no revisions.
      message =
        u.reason === 'bare-replicaset'
          ? 'a ReplicaSet without a Deployment has no revisions to roll back to: fix the image or configuration in its template and delete its pods for it to recreate them (or run it under a Deployment)'
          : u.reason === 'job'
          ? u.ref.kind === 'CronJob'
            ? "a Job has no revisions to roll back to: fix the image or configuration in the CronJob's jobTemplate; the next run gets it"
            : "a Job has no revisions to roll back to: fix the image or configuration in the Job's spec and run it again"
          : 'a bare pod has no controller and no revisions to roll back to: fix it where it is created';
    } else if (u.reason === 'bare-replicaset') {
      // Patching its template would change no running pod: the raise reaches only pods it creates later.
      message =
        'a ReplicaSet without a Deployment does not roll a changed template out to its pods: raise the memory limit in its template and delete its pods for it to recreate them (or run it under a Deployment); Amadeus does not patch it';
    } else if (u.reason === 'job') {
      message =
        u.ref.kind === 'CronJob'
          ? "a Job's pod template cannot change once it runs: raise the memory limit in the CronJob's jobTemplate; the next run gets it"
          : "a Job's pod template cannot change once it runs: raise the memory limit in the Job's spec and run it again";
    } else {
      message = 'a bare pod has no controller and no template to change: raise its memory limit where it is created';
    }
    const logs = failure.kind === 'image-pull' ? null : shown(await this.readLogs(pod, failure));
    await this.report({ action, result: 'refused', reason, message, workload: u.ref, failure, logs: logs?.classification ?? null, excerpt: logs?.excerpt ?? null });
  }

  // ---------------------------------------------------------------------------------------------
  // Audit

  private async report(r: HealReport): Promise<void> {
    // A refusal, or a dry run's "would", is the same story for every pod of the workload.
    if (r.result === 'refused' || r.result === 'dry-run') {
      const key = refusalKey(r.workload, r.action, r.reason);
      const now = this.clock();
      const last = this.refusals.get(key);
      if (last !== undefined && now - last < REFUSAL_QUIET_MS) {
        this.o.log.debug(`heal ${r.action} ${r.result} again: ${r.message}`, { workload: `${r.workload.kind}/${r.workload.name}`, namespace: r.workload.namespace, reason: r.reason });
        return;
      }
      this.refusals.delete(key); // re-inserted last: the map stays in report order
      this.refusals.set(key, now);
      if (this.refusals.size > REFUSALS_KEPT) this.refusals.delete(this.refusals.keys().next().value!);
    }
    this.reports.push(r);
    if (this.reports.length > 1000) this.reports.shift();
    const w = r.workload;
    const object = `${w.kind}/${w.name}`;
    const fields = { namespace: w.namespace, workload: object, action: r.action, result: r.result, reason: r.reason, container: r.failure.container, failure: r.failure.kind, restarts: r.failure.restartCount, logs: r.logs?.category, evidence: r.logs?.evidence ?? undefined };
    (r.result === 'failed' ? this.o.log.error : r.result === 'refused' || r.warn ? this.o.log.warn : this.o.log.info).call(this.o.log, `heal ${r.action} ${r.result}: ${r.message}`, fields);
    this.o.metrics?.heal(r.action, r.result);
    const reason = r.result === 'applied' ? (r.action === 'oom-bump' ? 'MemoryLimitRaised' : 'RolledBack') : r.result === 'dry-run' ? 'HealDryRun' : r.result === 'failed' ? 'HealFailed' : 'HealRefused';
    const cause =
      r.failure.kind === 'oom-killed'
        ? `container ${r.failure.container} was OOMKilled`
        : r.failure.kind === 'crash-loop'
          ? `container ${r.failure.container} is in CrashLoopBackOff (${r.failure.restartCount} restarts)`
          : `container ${r.failure.container} cannot pull its image`;
    const logsNote = r.logs && r.logs.category !== 'unknown' ? `; logs: ${r.logs.category}${r.logs.evidence ? ` (${r.logs.evidence})` : ''}` : '';
    await Promise.all([
      emitEvent(this.o.clients.core, { workload: w, reason, action: r.action, message: `${cause}: ${r.message}${logsNote}`, warning: (r.result !== 'applied' && r.result !== 'dry-run') || r.warn === true }, this.o.identity, this.o.log, this.clock()),
      this.o.notifier.notify({
        source: 'heal',
        action: r.action,
        result: r.result,
        severity: r.result === 'failed' ? 'critical' : r.result === 'refused' || r.warn ? 'warning' : 'info',
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

  /**
   * Writes the known-good marks (leader only): a revision observed healthy by this process for the
   * whole window (`revisions.ts`), every desired pod Ready now — by the revision's status and by
   * what this process saw — is marked on its ReplicaSet / ControllerRevision. A StatefulSet's
   * revision is its `updateRevision` (what `OnDelete` sets' pods run too; their `currentRevision`
   * never moves). With `--heal-pod-selector`, a workload none of whose cached pods the selector
   * selects is passed over whole: no mark, no template-seen record, no copied marks removed.
   */
  async markKnownGood(): Promise<void> {
    if (!this.isLeader || this.stopped) return;
    const apps = this.o.clients.apps;
    const now = new Date(this.clock());
    const namespaces = this.o.namespaces.length > 0 ? this.o.namespaces : [null];
    // The ReplicaSets this round looks at: after a whole round, the first-seen templates of the others
    // (deleted, or no longer eligible) are let go.
    const visited = new Set<string>();
    let whole = true;
    const selected = this.selectedOwners();
    for (const namespace of namespaces) {
      // Only time up to the pod watch's last proof of life counts: a silent, half-open watch observes nothing.
      const observedUntil = this.watchLiveAt.get(namespace ?? '*') ?? -Infinity;
      try {
        const deployments = await listPaged((p) => (namespace ? apps.listNamespacedDeployment({ namespace, ...p }) : apps.listDeploymentForAllNamespaces(p)), workloadBound('Deployments', namespace, this.o.maxWorkloadsListed ?? HEAL_MAX_WORKLOADS_LISTED));
        for (const d of deployments.items.filter((x) => eligible(x, this.o.rules))) {
          const ns = d.metadata!.namespace!;
          const rss = (await listPaged((p) => apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: selectorString(d.spec?.selector), ...p }))).items.map((x) => this.withDryMarks(x));
          this.noteOwners(rss);
          const owned = rss.filter((r) => ownerOf(r)?.uid === d.metadata?.uid);
          // --heal-pod-selector scopes every write: a Deployment none of whose pods it selects is
          // out of view, its revisions and itself written nothing (no mark, no record, no removal).
          if (selected && !owned.some((r) => selected.has(r.metadata?.uid ?? ''))) continue;
          await this.dropRevisionMarks(d);
          for (const rs of owned) {
            const want = rs.spec?.replicas ?? 1;
            const seen = this.revisions.stats(replicaSetRevisionKey(rs.metadata?.uid ?? ''));
            // A revision with its own crash-loop record proves itself again only at the Deployment's
            // size, on pods run since the crash loop (provedSinceCrashLoop).
            const proved = provedSinceCrashLoop(rs.metadata, want, d.spec?.replicas ?? 1, seen.lastStart, now, CLOCK_MARGIN_SECONDS * 1000, this.o.rules);
            const full = want > 0 && proved && isReplicaSetFullyReady(rs) && seen.pods === want && seen.ready === want;
            // The mark names the template it was observed healthy with; one edited in place since
            // proves itself again on pods made from the template it has now.
            const hash = templateHash(rs.spec?.template);
            let since = full ? seen.healthySince : null;
            // So does one edited while this process watched it, before any mark: its pods may all predate the edit.
            const uid = rs.metadata?.uid ?? '';
            visited.add(uid);
            const recorded = templateSeenOn(rs.metadata, this.o.rules);
            const editedSinceSeen = this.templateChangedSinceFirstSeen(uid, hash, recorded);
            if (markedForAnotherTemplate(rs.metadata, hash, this.o.rules) || editedSinceSeen) since = healthySinceTemplateEdit(since, this.templateEditSeen(uid, hash, now.getTime()), seen.oldestCreated, CLOCK_MARGIN_SECONDS * 1000);
            const patch = knownGoodMark(rs.metadata, since, now, this.o.rules, observedUntil, hash);
            // Unmarked (or a mark copied from another revision), not vetoed: what it would be marked on is recorded.
            const mark = rs.metadata?.annotations?.[this.o.rules.annotations.knownGood];
            if (patch) await this.markRevision('ReplicaSet', rs, patch);
            else if (want > 0 && (mark === undefined || (mark === 'true' && !isKnownGood(rs.metadata, this.o.rules)))) await this.recordTemplateSeen(d, rs, recorded);
          }
        }
        const sets = await listPaged((p) => (namespace ? apps.listNamespacedStatefulSet({ namespace, ...p }) : apps.listStatefulSetForAllNamespaces(p)), workloadBound('StatefulSets', namespace, this.o.maxWorkloadsListed ?? HEAL_MAX_WORKLOADS_LISTED));
        for (const s of sets.items.filter((x) => eligible(x, this.o.rules))) {
          const ns = s.metadata!.namespace!;
          const revision = s.status?.updateRevision;
          if (!revision || (selected && !selected.has(s.metadata?.uid ?? ''))) continue;
          const read = await apps.readNamespacedControllerRevision({ namespace: ns, name: revision }).catch(() => null);
          const cr = read && this.withDryMarks(read);
          if (!cr || ownerOf(cr)?.uid !== s.metadata?.uid) continue;
          const want = s.spec?.replicas ?? 1;
          const seen = this.revisions.stats(statefulSetRevisionKey(s.metadata?.uid ?? '', revision));
          const full = want > 0 && isStatefulSetRevisionFullyReady(s, cr) && seen.pods === want && seen.ready === want;
          const patch = knownGoodMark(cr.metadata, full ? seen.healthySince : null, now, this.o.rules, observedUntil);
          if (patch) await this.markRevision('ControllerRevision', cr, patch);
        }
      } catch (err) {
        whole = false;
        this.o.log.warn('could not update known-good marks', { namespace: namespace ?? '*', error: apiMessage(err) });
      }
    }
    // Without this, every ReplicaSet ever seen stays until TEMPLATES_KEPT is passed, and then the
    // oldest entries go first — the long-lived ReplicaSets, an edit seen on them forgotten with them.
    if (whole && this.isLeader && !this.stopped) for (const uid of this.templatesFirstSeen.keys()) if (!visited.has(uid)) this.templatesFirstSeen.delete(uid);
  }

  /**
   * With `--heal-pod-selector`, the uids of the owners (ReplicaSets, StatefulSets) of the pods the
   * pod cache holds — the pods the selector selects: a workload owning none of them is out of the
   * healer's view, for its bookkeeping as for its healing. Null without a selector (all in view).
   */
  private selectedOwners(): Set<string> | null {
    if (!this.o.podSelector) return null;
    const owners = new Set<string>();
    for (const informer of this.informers.values()) {
      for (const p of (informer as unknown as { list(): readonly V1Pod[] }).list()) {
        const uid = ownerOf(p)?.uid;
        if (uid) owners.add(uid);
      }
    }
    return owners;
  }

  /**
   * Whether ReplicaSet `uid`'s template, now `hash`, differs or ever differed from the one first
   * seen (the first time: remembered, false) — by this process or, as `recorded` on the ReplicaSet
   * (`templateSeenOn`), by a leader before it. Two first-seen templates that differ are an edit too.
   */
  private templateChangedSinceFirstSeen(uid: string, hash: string, recorded?: string | null): boolean {
    const known = this.templatesFirstSeen.get(uid);
    if (recorded !== undefined && known !== null && known !== recorded) {
      this.rememberFirstSeen(uid, known === undefined ? recorded : null);
    }
    const first = this.templatesFirstSeen.get(uid);
    if (first === null) return true;
    if (first !== undefined) {
      // Changed once, changed for good: an edit undone is an edit too — the pods made while it
      // stood run it, not the template the ReplicaSet is back to (first seen again, it would pass).
      if (first !== hash) this.templatesFirstSeen.set(uid, null);
      return first !== hash;
    }
    this.rememberFirstSeen(uid, hash);
    return false;
  }

  private rememberFirstSeen(uid: string, first: string | null): void {
    this.templatesFirstSeen.set(uid, first);
    if (this.templatesFirstSeen.size > TEMPLATES_KEPT) this.templatesFirstSeen.delete(this.templatesFirstSeen.keys().next().value!);
  }

  /**
   * Records on an unmarked ReplicaSet of Deployment `d` what `templatesFirstSeen` holds of it, when
   * that differs from what it carries (`recorded`): the next leader reads it back. Only with pods to
   * earn a mark (`want` > 0: no write per old ReplicaSet kept at zero). Leader only; in dry run only
   * remembered, as the marks are (`patchRevision`). Decided on the ReplicaSet as listed (its
   * resourceVersion is sent): a conflict is tried again at the next round, from a fresh list. Not while the Deployment itself carries one
   * (`kubectl rollout undo` copied it there): the controller would copy it back over the new
   * ReplicaSet's; `dropRevisionMarks` removes it first — never on a GitOps-managed Deployment, whose
   * ReplicaSets then rely on this process's memory alone, as before.
   */
  private async recordTemplateSeen(d: KubernetesObject, rs: V1ReplicaSet, recorded: string | null | undefined): Promise<void> {
    const uid = rs.metadata?.uid;
    const first = uid ? this.templatesFirstSeen.get(uid) : undefined;
    const key = this.o.rules.annotations.templateSeen;
    if (!uid || first === undefined || first === recorded || d.metadata?.annotations?.[key] !== undefined) return;
    try {
      await this.patchRevision('ReplicaSet', rs, { [key]: templateSeenValue(uid, first) });
    } catch (err) {
      const level = statusOf(err) === 409 ? 'debug' : 'warn';
      this.o.log[level]('could not record the template first seen on the ReplicaSet; tried again at the next round', { namespace: rs.metadata?.namespace, revision: `ReplicaSet/${rs.metadata?.name}`, error: apiMessage(err) });
    }
  }

  /** When this process first saw ReplicaSet `uid`'s template be `hash`, other than its mark's (now, the first time). */
  private templateEditSeen(uid: string, hash: string, now: number): number {
    const key = `${uid}/${hash}`;
    const seen = this.templateEdits.get(key);
    if (seen !== undefined) return seen;
    this.templateEdits.set(key, now);
    if (this.templateEdits.size > REFUSALS_KEPT) this.templateEdits.delete(this.templateEdits.keys().next().value!);
    return now;
  }

  /**
   * One known-good mark. A refused write (a conflict) skips only this revision: the next round
   * lists everything again and decides its mark afresh, so nothing is re-sent on a stale read.
   */
  private async markRevision(kind: 'ReplicaSet' | 'ControllerRevision', revision: KubernetesObject, patch: AnnotationPatch): Promise<void> {
    try {
      await this.patchRevision(kind, revision, patch);
    } catch (err) {
      this.o.log.warn('could not write a known-good mark; tried again at the next round', { namespace: revision.metadata?.namespace, revision: `${kind}/${revision.metadata?.name}`, error: apiMessage(err) });
    }
  }

  /**
   * The Deployment as far as its controller has observed its spec: a generation left by the
   * leader's own removal of copied marks (annotations only) counts as observed while the one before
   * it was, so the controller catching up on that write is no "rollout not observed" refusal.
   */
  private observedDespiteOwnWrite(d: V1Deployment): V1Deployment {
    const own = this.ownMarkRemovals.get(d.metadata?.uid ?? '');
    if (!own || d.metadata?.generation !== own.after || d.status?.observedGeneration !== own.before) return d;
    return { ...d, status: { ...d.status, observedGeneration: own.after } };
  }

  /**
   * Removes revision marks from a Deployment (`kubectl rollout undo` copies them there): the
   * controller would otherwise keep copying them over each new ReplicaSet's own mark. Only those
   * annotations, by merge patch: no spec change, no rollout. Leader only; nothing in dry run, nor
   * on a GitOps-managed workload.
   */
  private async dropRevisionMarks(d: KubernetesObject): Promise<void> {
    const annotations = revisionMarksOnDeployment(d.metadata, this.o.rules);
    const { namespace, name } = d.metadata! as Required<Pick<V1ObjectMeta, 'namespace' | 'name'>>;
    if (!annotations || !this.isLeader || this.stopped) return;
    // A GitOps-managed workload is never written (its copied marks still count for nothing: they name another revision).
    if (gitOpsManager(d.metadata, this.o.rules)) return;
    if (await this.dryRun(namespace)) {
      this.o.log.info('dry run: would remove revision marks copied onto the Deployment', { namespace, workload: `Deployment/${name}`, annotations: Object.keys(annotations) });
      return;
    }
    try {
      const removed = await withRetries(async (n): Promise<AnnotationPatch | null> => {
        // Decided on the Deployment as read (opted in, no GitOps): its resourceVersion makes the API
        // server refuse the write (409) if it changed since — opted out meanwhile, it is not touched.
        // A conflict reads it again and decides again: the list is as old as every Deployment handled
        // before this one, and a busy Deployment's status changes all the time, so a conflict left to
        // the next round could come back every round, the copies never removed.
        const current = n === 1 ? d : await this.o.clients.apps.readNamespacedDeployment({ namespace, name });
        if (current.metadata?.uid !== d.metadata?.uid || !eligible(current, this.o.rules) || gitOpsManager(current.metadata, this.o.rules) || !this.isLeader || this.stopped) return null;
        const marks = revisionMarksOnDeployment(current.metadata, this.o.rules);
        if (!marks) return null;
        const resourceVersion = current.metadata?.resourceVersion;
        const observed = this.observedDespiteOwnWrite(current).status?.observedGeneration;
        const written = await this.o.clients.apps.patchNamespacedDeployment({ namespace, name, body: { metadata: { annotations: marks, ...(resourceVersion ? { resourceVersion } : {}) } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        // Remembered only when the controller had observed the spec as it stands (the write changes none of it).
        const uid = current.metadata?.uid;
        const [before, after] = [current.metadata?.generation, written.metadata?.generation];
        if (uid && before !== undefined && after !== undefined && observed === before) {
          const prior = this.ownMarkRemovals.get(uid);
          const chained = prior?.after === before && prior.before === (current as V1Deployment).status?.observedGeneration;
          this.ownMarkRemovals.delete(uid);
          this.ownMarkRemovals.set(uid, { before: chained ? prior.before : before, after });
          if (this.ownMarkRemovals.size > REFUSALS_KEPT) this.ownMarkRemovals.delete(this.ownMarkRemovals.keys().next().value!);
        }
        return marks;
      }, this.o.retry);
      if (removed) this.o.log.info('removed revision marks copied onto the Deployment (kubectl rollout undo copies them)', { namespace, workload: `Deployment/${name}`, annotations: Object.keys(removed) });
    } catch (err) {
      this.o.log.warn('could not remove revision marks from the Deployment; tried again at the next round', { namespace, workload: `Deployment/${name}`, error: apiMessage(err) });
    }
  }
}

/** What a refusal (or dry run) is said once per REFUSAL_QUIET_MS by: the workload, the action, the reason. */
function refusalKey(w: WorkloadRef, action: HealAction, reason: string): string {
  return `${w.uid ?? `${w.namespace}/${w.kind}/${w.name}`}/${action}/${reason}`;
}

/** `revisionMarksOnWorkload`, and the record of the template first seen (`templateSeen`), which a ReplicaSet's annotations bring along too. */
function revisionMarksOnDeployment(meta: V1ObjectMeta | undefined, rules: HealRules): AnnotationPatch | null {
  const marks = revisionMarksOnWorkload(meta, rules);
  if (meta?.annotations?.[rules.annotations.templateSeen] === undefined) return marks;
  return { ...marks, [rules.annotations.templateSeen]: null };
}

/**
 * What a leader recorded on a ReplicaSet of the template it first saw it with (`templateSeen`): its
 * `templateHash`, or null once a leader saw that template change in place. Undefined: no record
 * for this object — none, one copied from another ReplicaSet (it names another uid), one that does
 * not parse, or one another build computed (another `templateMark` tag: nothing to compare, as for
 * `known-good-template`).
 */
export function templateSeenOn(meta: Pick<V1ObjectMeta, 'annotations' | 'uid'> | undefined, rules: HealRules): string | null | undefined {
  const raw = meta?.annotations?.[rules.annotations.templateSeen];
  if (raw === undefined || meta?.uid === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as { for?: unknown; template?: unknown; edited?: unknown } | null;
    if (v === null || typeof v !== 'object' || v.for !== meta.uid) return undefined;
    if (v.edited === true) return null;
    const tag = `${TEMPLATE_MARK_TAG}:`;
    return typeof v.template === 'string' && v.template.startsWith(tag) ? v.template.slice(tag.length) : undefined;
  } catch {
    return undefined;
  }
}

/** The `templateSeen` value recording, on ReplicaSet `uid`, the template first seen (`first`, its hash), or that it was seen edited (null). */
export function templateSeenValue(uid: string, first: string | null): string {
  return JSON.stringify(first === null ? { for: uid, edited: true } : { for: uid, template: templateMark(first) });
}

/** `: known-good revision N with its memory raised since` when the rollback's target is a raise of a known-good revision. */
const raiseNote = (raiseOf: number | undefined, what: string): string => (raiseOf === undefined ? '' : `: known-good ${what} ${raiseOf} with its memory raised since`);

/** A container's memory limit in bytes; null when unset or unreadable. */
function limitOf(c: V1Container): number | null {
  try {
    return parseOptionalMemory(c.resources?.limits?.memory);
  } catch {
    return null;
  }
}

/** A container's memory request in bytes, its limit when unset (as the API server defaults it); null when neither is set or readable. */
function requestOf(c: V1Container): number | null {
  try {
    return parseOptionalMemory(c.resources?.requests?.memory) ?? limitOf(c);
  } catch {
    return null;
  }
}

/** How a StatefulSet rollback's mark names the ControllerRevision restored (`to`; a bare template hash is an older build's). */
const REVISION_TO = 'ControllerRevision/';

/**
 * Whether an `OnDelete` StatefulSet is still at the template its last rollback restored (`to`, its
 * mark's). A revision name (`REVISION_TO`): the controller's `updateRevision`, once it has observed
 * the set's generation — it reuses the target's ControllerRevision while the template equals its
 * data, whatever the typed model keeps of either. A template hash (04cafb3's marks): against the set's
 * typed template, as that build compared. No `to` (before it): cannot tell, 'changed'.
 */
function restoredTemplateKept(set: V1StatefulSet, to: string | undefined): 'kept' | 'changed' | 'unobserved' {
  if (to === undefined) return 'changed';
  if (!to.startsWith(REVISION_TO)) return to === templateHash(set.spec?.template) ? 'kept' : 'changed';
  if (set.metadata?.generation === undefined || set.status?.observedGeneration !== set.metadata.generation) return 'unobserved';
  return set.status?.updateRevision === to.slice(REVISION_TO.length) ? 'kept' : 'changed';
}

/** Whether `pod`'s own status shows the failed container OOM-killed: just now, or as its last run (OOM-killed, then waiting to restart or crash-looping on it). */
function oomKilledIn(pod: V1Pod, failure: Pick<Failure, 'container' | 'init'>): boolean {
  const s = (failure.init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.find((x) => x.name === failure.container);
  return s?.state?.terminated?.reason === 'OOMKilled' || s?.lastState?.terminated?.reason === 'OOMKilled';
}

/**
 * Of a raise's stuck pods of an `OrderedReady` StatefulSet, the one to delete now: at most one at
 * a time, as the controller itself replaces pods — the lowest ordinal, which it recreates first,
 * and only when every pod below it is there and Ready and none of the set's pods is being deleted
 * (else the controller would not recreate it yet: the delete would take a pod away and give
 * nothing back). The others are left, each with why; a pod still stuck at the old limit is
 * recreated when it is OOM-killed again (`finishStatefulSet`). A `Parallel` set's: all of them.
 */
function oneAtATime(set: V1StatefulSet, pods: readonly V1Pod[], candidates: V1Pod[]): { recreate: V1Pod[]; left: LeftPod[] } {
  if (set.spec?.podManagementPolicy === 'Parallel' || candidates.length === 0) return { recreate: candidates, left: [] };
  const own = pods.filter((p) => ownerOf(p)?.uid === set.metadata?.uid);
  const ordinal = (p: V1Pod) => podOrdinal(set, p) ?? Infinity;
  const [first, ...rest] = [...candidates].sort((a, b) => ordinal(a) - ordinal(b));
  const name = (p: V1Pod) => p.metadata?.name ?? '?';
  let blocked: string | null = null;
  const deleting = own.find((p) => p.metadata?.deletionTimestamp);
  if (deleting) blocked = `${name(deleting)} is being deleted`;
  else if (ordinal(first!) === Infinity) blocked = 'its ordinal cannot be told';
  else {
    for (let i = 0; i < ordinal(first!) && !blocked; i++) {
      const below = own.find((p) => podOrdinal(set, p) === i);
      if (!below) blocked = `${set.metadata?.name}-${i} is not there`;
      else if (!isPodReady(below)) blocked = `${name(below)} is not Ready`;
    }
  }
  const later = `OrderedReady: one pod at a time, ${blocked ? 'and none now' : `${name(first!)} first`}; recreated when it is OOM-killed again`;
  if (blocked) {
    return { recreate: [], left: [{ pod: name(first!), why: `OrderedReady: ${blocked}, and the controller would not recreate it until then; recreated when it is OOM-killed again` }, ...rest.map((p) => ({ pod: name(p), why: later }))] };
  }
  return { recreate: [first!], left: rest.map((p) => ({ pod: name(p), why: later })) };
}

/**
 * A StatefulSet's pods a delete moves off `revision` (the one rolled back from) onto the restored
 * template: that revision's, at or above a RollingUpdate partition. Others — another revision's, or
 * one below the partition, which the controller recreates at the current revision — are not the
 * rollback's to replace. No evidence of its own is asked of the pod, unlike a raise's (`oomKilledIn`):
 * every pod at the revision rolled back from is the rollback's to replace, and one not Ready there
 * (starting, waiting for a quorum) blocks the controller from replacing it or any pod after it.
 */
function replacedByRollback(w: Workload & { kind: 'StatefulSet' }, revision: string): (pod: V1Pod) => boolean {
  return (p) => p.metadata?.labels?.[KUBE_KEYS.controllerRevisionHash] === revision && recreatedFromTemplate(w.object, p);
}

/** Whether a pod template has the failed container (among its init containers for an init container's failure). */
function hasContainer(template: V1PodTemplateSpec, failure: Failure): boolean {
  return ((failure.init ? template.spec?.initContainers : template.spec?.containers) ?? []).some((c) => c.name === failure.container);
}

/** The failed container in `pod`'s spec. */
function podContainer(pod: V1Pod, failure: Failure): V1Container | undefined {
  return (failure.init ? pod.spec?.initContainers : pod.spec?.containers)?.find((x) => x.name === failure.container);
}

/** The memory limit the failed container has in `pod`; null when unset or unreadable. */
function podMemoryLimit(pod: V1Pod, failure: Failure): number | null {
  const c = podContainer(pod, failure);
  return c ? limitOf(c) : null;
}

/** Marks only where a rollback could follow: opted in, not protected, no controller of its own (`ownedRefusal`). */
function eligible(obj: KubernetesObject, rules: HealRules): boolean {
  return !PROTECTED_NAMESPACES.has(obj.metadata?.namespace ?? '') && isHealEnabled(obj.metadata?.annotations, rules) && ownerOf(obj) === null;
}

/**
 * A workload with a controller of its own (a Knative Revision's Deployment, Flagger's `-primary`,
 * an operator's StatefulSet): that controller writes its template and would revert a patch, or
 * fight it. Refused, naming the owner; null when the workload has none.
 */
function ownedRefusal(w: Workload): Outcome | null {
  const owner = ownerOf(w.object);
  if (!owner) return null;
  return {
    result: 'refused',
    reason: 'owned',
    message: `controlled by ${owner.kind}/${owner.name} (${owner.apiVersion}), which writes this ${w.kind}'s template and would undo or fight a patch: fix it there; Amadeus does not patch it`,
  };
}

/** What belongs to one workload, for the node rule: its revisions (tracker keys) and its pods. */
interface WorkloadScope {
  revision: (key: string) => boolean;
  pod: (pod: V1Pod) => boolean;
}

/**
 * A Deployment's ReplicaSets (among `replicaSets`, by owner uid, and those `remembered` as its since
 * they were listed) and their pods; a StatefulSet's revisions and pods (by its uid).
 */
function workloadScope(w: Workload & { kind: 'Deployment' | 'StatefulSet' }, replicaSets: readonly V1ReplicaSet[], remembered: ReadonlyMap<string, string>): WorkloadScope {
  const uid = w.object.metadata?.uid ?? '';
  if (w.kind === 'Deployment') {
    const owned = new Set(replicaSets.filter((r) => ownerOf(r)?.uid === uid).map((r) => r.metadata?.uid ?? ''));
    for (const [rs, owner] of remembered) if (owner === uid) owned.add(rs);
    const keys = new Set([...owned].map(replicaSetRevisionKey));
    return { revision: (key) => keys.has(key), pod: (p) => ownerOf(p)?.kind === 'ReplicaSet' && owned.has(ownerOf(p)!.uid) };
  }
  const prefix = statefulSetRevisionKey(uid, '');
  return { revision: (key) => key.startsWith(prefix), pod: (p) => ownerOf(p)?.kind === 'StatefulSet' && ownerOf(p)!.uid === uid };
}

/** The known-good round's bound on one list of workloads (HEAL_MAX_WORKLOADS_LISTED). */
function workloadBound(kind: string, namespace: string | null, count: number): ItemBound {
  return {
    count,
    error: (read) => new Error(`more than ${count} ${kind} in ${namespace ?? 'all namespaces'} (${read} read): not marked this round; watch fewer namespaces (--heal-namespaces)`),
  };
}
