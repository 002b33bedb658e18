/**
 * A kubelet stand-in for every node of the fake cluster: it "runs" the containers of the pods
 * bound to its nodes according to a per-test behaviour, and reports them as the kubelet does
 * (phase, conditions, containerStatuses, startTime, pod logs), through the status subresource.
 *
 * Behaviours (a string, or `{ run, log?, exitCode? }` to set what the container prints):
 * - `healthy`, `healthy:<s>`: runs; Ready at once, or after s seconds.
 * - `not-ready`: runs, never Ready.
 * - `crash`, `crash:<s>`: exits 1 (or exitCode) at once, or after s seconds.
 * - `healthy-then-crash:<s>`: runs, Ready at once, and exits 1 (or exitCode) after s seconds: a
 *   process that served until something under it went away (a database, a disk).
 * - `oom-at:<quantity>`: allocates that much at start: OOMKilled (exit 137) when the container's
 *   memory limit is below it, healthy otherwise, so raising the limit fixes it.
 * - `leak`, `leak:<quantity>`: Ready, but grows by 1Mi (or the quantity) a second until it hits
 *   its memory limit (the node's memory without one) and is OOMKilled: under any limit, slowly.
 * A container's memory limit is its own, or the pod-level one (`spec.resources.limits.memory`)
 * when that is lower or the container has none: the pod's cgroup kills it there.
 *
 * Which behaviour a container gets, first match wins: rules added with `rule()` (newest first,
 * given the container's resolved environment and referenced ConfigMaps), the container's
 * FAKE_BEHAVIOUR environment variable (a literal, or from a ConfigMap through configMapKeyRef or
 * envFrom), `behave(image)` (newest first), the default. It is decided at every (re)start, as the
 * kubelet resolves a container's environment at every start: a ConfigMap fixed under a crash loop
 * fixes it at the next restart. A missing ConfigMap (or key) the environment needs is a
 * CreateContainerConfigError; a missing ConfigMap volume keeps the pod ContainerCreating.
 *
 * Restarts follow restartPolicy (default Always): the first restart is immediate, then the
 * CrashLoopBackOff back-off is 10 s doubling to 300 s, measured from the exit, reset once a
 * container ran for 10 minutes, all on the simulated clock. Each run gets a new containerID.
 * Logs: each run's output is the pod's current log; after it exits it is also the previous log.
 *
 * Not modelled: init and ephemeral containers (ignored), probes (readiness is the behaviour's),
 * image pulls, in-place changes of a running pod's spec, resource usage and metrics, graceful
 * termination, node pressure and eviction, secrets (secretKeyRef values are not resolved).
 */
import type { V1ConfigMap, V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import type { FakeKube } from '../fake-kube.js';
import type { Ctx } from './api.js';
import { iso } from './clock.js';
import type { Pod } from './pods.js';
import { bytesOf, goDuration, semanticEqual, sha256, type Wire } from './util.js';

export interface Behaviour {
  /** healthy[:s] | not-ready | crash[:s] | healthy-then-crash:<s> | oom-at:<quantity> | leak[:<quantity per second>] */
  run: string;
  /** What each run of the container prints (its log). */
  log?: string;
  /** For crash and healthy-then-crash: the exit code (default 1; 0 is a Completed exit, restarted all the same under restartPolicy Always). */
  exitCode?: number;
}
export type BehaviourSpec = string | Behaviour;

type Container = Wire<V1Container>;

export interface ContainerContext {
  pod: Pod;
  container: Container;
  /** The environment as the kubelet resolves it: literal values, ConfigMap keys, envFrom. */
  env: Record<string, string>;
  /** Data of the ConfigMaps the container references (env, envFrom, the pod's configMap volumes), by name. */
  configMaps: Record<string, Record<string, string>>;
}
export type BehaviourRule = (c: ContainerContext) => BehaviourSpec | undefined;

export const BEHAVIOUR_ENV = 'FAKE_BEHAVIOUR';
const MiB = 2 ** 20;
const MAX_BACKOFF = 300;

/** What one run of a container does, decided at its start. */
interface Plan {
  ready: boolean;
  readyAfter: number;
  exitAfter?: number;
  exitCode: number;
  reason: string;
  log: string;
}

/** Parses and checks a behaviour; throws on a bad one (a test's mistake). */
export function parseBehaviour(spec: BehaviourSpec): Behaviour {
  const b = typeof spec === 'string' ? { run: spec } : spec;
  const [kind, arg] = b.run.split(/:(.*)/s, 2).map((s) => s?.trim());
  const seconds = (v: string | undefined) => v === undefined || v === '' || (Number.isFinite(Number(v)) && Number(v) >= 0);
  const ok =
    (kind === 'healthy' && seconds(arg)) ||
    (kind === 'not-ready' && arg === undefined) ||
    (kind === 'crash' && seconds(arg)) ||
    (kind === 'healthy-then-crash' && arg !== undefined && arg !== '' && seconds(arg)) ||
    (kind === 'oom-at' && bytesOf(arg) !== undefined) ||
    (kind === 'leak' && (arg === undefined || (bytesOf(arg) ?? 0) > 0));
  if (!ok) throw new Error(`fake kubelet: unknown behaviour "${b.run}" (healthy[:s], not-ready, crash[:s], healthy-then-crash:<s>, oom-at:<quantity>, leak[:<quantity>/s])`);
  return b;
}

function plan(b: Behaviour, image: string, limitBytes: number): Plan {
  const [kind, arg] = b.run.split(/:(.*)/s, 2).map((s) => s?.trim());
  const starting = `starting ${image}\n`;
  const healthy = (readyAfter: number): Plan => ({ ready: true, readyAfter, exitCode: 0, reason: '', log: b.log ?? `${starting}ready\n` });
  const oom = (after: number): Plan => ({ ready: kind === 'leak', readyAfter: 0, exitAfter: after, exitCode: 137, reason: 'OOMKilled', log: b.log ?? starting });
  switch (kind) {
    case 'healthy':
      return healthy(Number(arg ?? 0) || 0);
    case 'not-ready':
      return { ready: false, readyAfter: 0, exitCode: 0, reason: '', log: b.log ?? starting };
    case 'crash': {
      const code = b.exitCode ?? 1;
      return { ready: false, readyAfter: 0, exitAfter: Number(arg ?? 0) || 0, exitCode: code, reason: code === 0 ? 'Completed' : 'Error', log: b.log ?? `${starting}fatal: exiting with status ${code}\n` };
    }
    case 'healthy-then-crash': {
      const code = b.exitCode ?? 1;
      return { ready: true, readyAfter: 0, exitAfter: Number(arg), exitCode: code, reason: code === 0 ? 'Completed' : 'Error', log: b.log ?? `${starting}ready\nfatal: exiting with status ${code}\n` };
    }
    case 'oom-at':
      return limitBytes < bytesOf(arg)! ? oom(0) : healthy(0);
    default: {
      const rate = arg ? bytesOf(arg)! : MiB;
      return oom(Math.max(1, Math.ceil(limitBytes / rate)));
    }
  }
}

interface Run {
  id: string;
  startedAt: number;
  plan: Plan;
}
interface Terminated {
  exitCode: number;
  reason: string;
  startedAt: number;
  finishedAt: number;
  containerID: string;
}
interface ContainerRecord {
  /** Runs started; restartCount is one less. */
  starts: number;
  running?: Run;
  last?: Terminated;
  waiting?: { reason: string; message?: string };
  backoff?: { seconds: number; updatedAt: number };
}
interface PodRecord {
  startTime: number;
  ip: string;
  containers: Map<string, ContainerRecord>;
}

export interface KubeletOptions {
  defaultBehaviour: BehaviourSpec;
  /** What a container without a memory limit can use before it is OOMKilled. */
  nodeMemoryBytes: number;
  setLogs: FakeKube['setLogs'];
}

export class Kubelet {
  private readonly rules: BehaviourRule[] = [];
  private readonly images: { match: string | RegExp; behaviour: BehaviourSpec }[] = [];
  private readonly records = new Map<string, PodRecord>();
  private ips = 0;

  constructor(private readonly opts: KubeletOptions) {
    parseBehaviour(opts.defaultBehaviour);
  }

  /** Containers running `image` (exactly, or matching the pattern) behave so. Newest first. */
  behave(image: string | RegExp, behaviour: BehaviourSpec): void {
    parseBehaviour(behaviour);
    this.images.unshift({ match: image, behaviour });
  }

  /** A rule that decides a container's behaviour (undefined: no opinion). Newest first. */
  rule(rule: BehaviourRule): void {
    this.rules.unshift(rule);
  }

  sync(ctx: Ctx): void {
    const nodes = ctx.nodes();
    const seen = new Set<string>();
    const configMaps = new Map<string, Record<string, string> | null>();
    const configMap = (ns: string, name: string) => {
      const key = `${ns}/${name}`;
      if (!configMaps.has(key)) {
        const cm = ctx.api.get<V1ConfigMap>('v1', 'ConfigMap', ns, name);
        configMaps.set(key, cm ? (cm.data ?? {}) : null);
      }
      return configMaps.get(key) ?? undefined;
    };
    for (const pod of ctx.api.list<V1Pod>('v1', 'Pod')) {
      const node = pod.spec?.nodeName;
      const uid = pod.metadata?.uid;
      // Pods bound to nodes that are not this cluster's are left as they are (e.g. a test's fixtures).
      if (!node || !nodes.includes(node) || !uid || pod.metadata?.deletionTimestamp) continue;
      seen.add(uid);
      let rec = this.records.get(uid);
      if (!rec) {
        const n = this.ips++;
        rec = { startTime: ctx.clock.now(), ip: `10.244.${nodes.indexOf(node)}.${(n % 250) + 2}`, containers: new Map() };
        this.records.set(uid, rec);
      }
      for (const c of pod.spec?.containers ?? []) {
        let cr = rec.containers.get(c.name);
        if (!cr) rec.containers.set(c.name, (cr = { starts: 0 }));
        this.step(ctx, pod, c, cr, (name) => configMap(pod.metadata?.namespace ?? '', name));
      }
      const status = this.status(ctx, pod, rec, nodes.indexOf(node));
      if (!semanticEqual(status, pod.status)) ctx.api.updateStatus({ ...pod, status });
    }
    for (const uid of [...this.records.keys()]) if (!seen.has(uid)) this.records.delete(uid);
  }

  /** Advances one container to the present: exits, back-off, (re)starts. */
  private step(ctx: Ctx, pod: Pod, c: Container, cr: ContainerRecord, configMap: (name: string) => Record<string, string> | undefined): void {
    const now = ctx.clock.now();
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const podName = pod.metadata?.name ?? '';
    const ns = pod.metadata?.namespace ?? '';
    for (let guard = 0; guard < 100; guard++) {
      const run = cr.running;
      if (run) {
        const exitAt = run.plan.exitAfter === undefined ? undefined : run.startedAt + run.plan.exitAfter * 1000;
        if (exitAt === undefined || exitAt > now) {
          if (exitAt !== undefined) ctx.clock.wakeAt(exitAt);
          if (run.plan.ready) ctx.clock.wakeAt(run.startedAt + run.plan.readyAfter * 1000);
          return;
        }
        cr.last = { exitCode: run.plan.exitCode, reason: run.plan.reason, startedAt: run.startedAt, finishedAt: exitAt, containerID: run.id };
        cr.running = undefined;
        this.opts.setLogs(ns, podName, c.name, run.plan.log, { previous: true });
        continue;
      }
      const expired = cr.backoff !== undefined && cr.last !== undefined && cr.last.finishedAt - cr.backoff.updatedAt > 2 * MAX_BACKOFF * 1000;
      if (cr.last) {
        const restart = policy === 'Always' || (policy === 'OnFailure' && cr.last.exitCode !== 0);
        if (!restart) return;
        if (cr.backoff && !expired && now - cr.last.finishedAt < cr.backoff.seconds * 1000) {
          const message = `back-off ${goDuration(cr.backoff.seconds)} restarting failed container=${c.name} pod=${podName}_${ns}(${pod.metadata?.uid})`;
          cr.waiting = { reason: 'CrashLoopBackOff', message };
          ctx.clock.wakeAt(cr.last.finishedAt + cr.backoff.seconds * 1000);
          return;
        }
      }
      const decided = this.decide(pod, c, configMap);
      if ('waiting' in decided) {
        cr.waiting = decided.waiting;
        return;
      }
      if (cr.last) cr.backoff = !cr.backoff || expired ? { seconds: 10, updatedAt: now } : { seconds: Math.min(cr.backoff.seconds * 2, MAX_BACKOFF), updatedAt: now };
      // The container's own limit, or the pod's (pod-level resources: the pod's cgroup bounds each
      // container, alone — what the others use beside it is not modelled), or the node's memory.
      const limits = [bytesOf(c.resources?.limits?.memory), bytesOf(pod.spec?.resources?.limits?.memory)].filter((b): b is number => b !== undefined);
      const limit = limits.length > 0 ? Math.min(...limits) : this.opts.nodeMemoryBytes;
      cr.starts++;
      cr.waiting = undefined;
      cr.running = { id: sha256(`${pod.metadata?.uid}/${c.name}/${cr.starts}`), startedAt: now, plan: plan(decided.behaviour, c.image ?? '', limit) };
      this.opts.setLogs(ns, podName, c.name, cr.running.plan.log);
    }
  }

  /** The container's behaviour for this start, or why it cannot start. */
  private decide(pod: Pod, c: Container, configMap: (name: string) => Record<string, string> | undefined): { behaviour: Behaviour } | { waiting: { reason: string; message: string } } {
    const ns = pod.metadata?.namespace ?? '';
    const env: Record<string, string> = {};
    const used: Record<string, Record<string, string>> = {};
    const configError = (message: string) => ({ waiting: { reason: 'CreateContainerConfigError', message } });
    for (const v of pod.spec?.volumes ?? []) {
      if (!v.configMap?.name) continue;
      const data = configMap(v.configMap.name);
      if (data) used[v.configMap.name] = data;
      else if (!v.configMap.optional) return { waiting: { reason: 'ContainerCreating', message: `configmap "${v.configMap.name}" not found` } };
    }
    for (const from of c.envFrom ?? []) {
      const ref = from.configMapRef;
      if (!ref?.name) continue;
      const data = configMap(ref.name);
      if (!data) {
        if (!ref.optional) return configError(`configmap "${ref.name}" not found`);
        continue;
      }
      used[ref.name] = data;
      for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = v;
    }
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.configMapKeyRef;
      const field = e.valueFrom?.fieldRef?.fieldPath;
      if (e.value !== undefined) env[e.name] = e.value;
      else if (ref?.name) {
        const data = configMap(ref.name);
        if (!data || !(ref.key in data)) {
          if (ref.optional) continue;
          return configError(data ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}` : `configmap "${ref.name}" not found`);
        }
        used[ref.name] = data;
        env[e.name] = data[ref.key];
      } else if (field) {
        const value = { 'metadata.name': pod.metadata?.name, 'metadata.namespace': ns, 'metadata.uid': pod.metadata?.uid, 'spec.nodeName': pod.spec?.nodeName }[field];
        if (value !== undefined) env[e.name] = value;
      }
    }
    const image = c.image ?? '';
    const chosen =
      this.rules.map((r) => r({ pod, container: c, env, configMaps: used })).find((b) => b !== undefined) ??
      env[BEHAVIOUR_ENV] ??
      this.images.find(({ match }) => (typeof match === 'string' ? match === image : match.test(image)))?.behaviour ??
      this.opts.defaultBehaviour;
    return { behaviour: parseBehaviour(chosen) };
  }

  private status(ctx: Ctx, pod: Pod, rec: PodRecord, nodeIndex: number): Wire<V1PodStatus> {
    const now = ctx.clock.now();
    const containers = [...(pod.spec?.containers ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const statuses: Wire<V1ContainerStatus>[] = containers.map((c) => {
      const cr = rec.containers.get(c.name)!;
      const run = cr.running;
      const ready = run !== undefined && run.plan.ready && run.startedAt + run.plan.readyAfter * 1000 <= now;
      const terminated = (t: Terminated) => ({
        exitCode: t.exitCode,
        reason: t.reason,
        startedAt: iso(t.startedAt),
        finishedAt: iso(t.finishedAt),
        containerID: `containerd://${t.containerID}`,
      });
      const done = !run && !cr.waiting && cr.last !== undefined;
      const state = run ? { running: { startedAt: iso(run.startedAt) } } : done ? { terminated: terminated(cr.last!) } : { waiting: cr.waiting ?? { reason: 'ContainerCreating' } };
      const id = run?.id ?? cr.last?.containerID;
      const repo = (c.image ?? '').replace(/[:@][^/]*$/, '');
      return {
        name: c.name,
        image: c.image ?? '',
        imageID: cr.starts > 0 ? `${repo}@sha256:${sha256(c.image ?? '')}` : '',
        ...(id ? { containerID: `containerd://${id}` } : {}),
        ready,
        started: run !== undefined,
        restartCount: Math.max(0, cr.starts - 1),
        state,
        lastState: cr.last && !done ? { terminated: terminated(cr.last) } : {},
      };
    });
    const finished = containers.length > 0 && statuses.every((s) => s.state?.terminated);
    const phase = finished && policy !== 'Always'
      ? statuses.every((s) => s.state?.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed'
      : [...rec.containers.values()].some((cr) => cr.starts > 0) ? 'Running' : 'Pending';
    const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
    const previous = (type: string) => pod.status?.conditions?.find((c) => c.type === type);
    const condition = (type: string, ok: boolean, reason?: string, message?: string): Wire<V1PodCondition> => {
      const status = ok ? 'True' : 'False';
      const before = previous(type);
      return {
        type,
        status,
        lastTransitionTime: before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : iso(now),
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
      };
    };
    const notReady = phase === 'Succeeded' || phase === 'Failed' ? ['PodCompleted', undefined] : ['ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`];
    const allReady = unready.length === 0 && phase === 'Running';
    const hostIP = `10.0.${nodeIndex + 1}.10`;
    return {
      phase,
      conditions: [
        condition('PodReadyToStartContainers', phase !== 'Succeeded' && phase !== 'Failed'),
        condition('Initialized', true),
        allReady ? condition('Ready', true) : condition('Ready', false, notReady[0], notReady[1]),
        allReady ? condition('ContainersReady', true) : condition('ContainersReady', false, notReady[0], notReady[1]),
        // Scheduled when bound (a PodScheduled=False the scheduler left while it was Pending is over).
        { ...condition('PodScheduled', true), lastTransitionTime: (previous('PodScheduled')?.status === 'True' ? previous('PodScheduled')?.lastTransitionTime : undefined) ?? iso(rec.startTime) },
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: rec.ip,
      podIPs: [{ ip: rec.ip }],
      startTime: iso(rec.startTime),
      qosClass: qosClass(containers),
      containerStatuses: statuses,
    };
  }
}

/** Guaranteed when every container's limits equal its requests for cpu and memory, BestEffort when none sets any. */
function qosClass(containers: Container[]): string {
  const resources = containers.map((c) => c.resources ?? {});
  if (resources.every((r) => Object.keys(r.limits ?? {}).length === 0 && Object.keys(r.requests ?? {}).length === 0)) return 'BestEffort';
  const guaranteed = resources.every((r) =>
    ['cpu', 'memory'].every((k) => r.limits?.[k] !== undefined && (r.requests?.[k] === undefined || String(r.requests[k]) === String(r.limits[k]))),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
