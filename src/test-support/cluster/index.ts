/**
 * A simulated cluster on the wire-level fake API server: the Deployment, ReplicaSet, StatefulSet,
 * DaemonSet and ResourceQuota controllers, a scheduler, a garbage collector and a kubelet stand-in, all on a
 * simulated clock, writing through FakeKube's own request handling (resourceVersions, 409s, the
 * status subresource, watch events) so a client such as the healer sees what it would see on a
 * real cluster, and its writes (a rollback patch, a raised memory limit) drive the controllers.
 *
 *   const cluster = await startCluster();
 *   cluster.behave('web:2', 'crash');                  // or { run: 'crash', log: 'panic: ...' }
 *   cluster.kube.put(deployment('web', { image: 'web:1', replicas: 3 }));
 *   await cluster.settle();                            // controllers run until nothing changes
 *   await cluster.tick(60);                            // 60 simulated seconds: back-offs, deadlines
 *   await cluster.until(() => ..., { maxSeconds: 600 });
 *   await cluster.close();
 *
 * Controllers run in rounds: every controller reconciles every object from fresh reads, and a
 * round that writes nothing is quiescent. Time moves only in tick()/until(), jumping from one
 * wake-up a controller asked for to the next, so scenarios are fast and deterministic (pod names
 * come from a seeded generator). With `auto` (default), any write from outside (a test's put(),
 * the healer's requests) schedules a settle, as live controllers would react; time still stands.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube, type FakeKubeOptions, type ResourceType } from '../fake-kube.js';
import { ClusterApi, type Ctx } from './api.js';
import { SimClock } from './clock.js';
import { reconcileDaemonSets } from './daemonset.js';
import { reconcileDeployments } from './deployment.js';
import { Kubelet, type BehaviourRule, type BehaviourSpec } from './kubelet.js';
import { reconcileResourceQuotas } from './quota.js';
import { reconcileReplicaSets } from './replicaset.js';
import { collectGarbage, schedule } from './scheduler.js';
import { reconcileStatefulSets } from './statefulset.js';
import { bytesOf, seededRandom, selectorMatches } from './util.js';

export type { Behaviour, BehaviourRule, BehaviourSpec, ContainerContext } from './kubelet.js';
export { BEHAVIOUR_ENV } from './kubelet.js';
export type { Pod } from './pods.js';
export { SimClock } from './clock.js';

/** 2024-05-14T09:00:00Z: the healer tests' NOW. */
export const DEFAULT_START = Date.UTC(2024, 4, 14, 9, 0);

export interface ClusterOptions {
  /** Node names; default node-1, node-2, node-3. */
  nodes?: string[];
  /** Simulated start time; default DEFAULT_START. */
  start?: number | Date;
  /** Settle after every write from outside the controllers; default true. */
  auto?: boolean;
  /** Behaviour of containers nothing else decides; default 'healthy'. */
  defaultBehaviour?: BehaviourSpec;
  /** Memory a container without a limit can use before it is OOMKilled; default 8Gi. */
  nodeMemory?: string;
  /** Seed of generated pod names; default 1. */
  seed?: number;
  /** For startFakeKube (its clock is the cluster's). */
  fake?: Omit<FakeKubeOptions, 'now'>;
}

/** The controllers a scenario can pause (`Cluster.pause`). */
export type ControllerName = 'deployment' | 'replicaset' | 'statefulset' | 'daemonset';

export interface Cluster {
  readonly kube: FakeKube;
  readonly clock: SimClock;
  /** Node names, in order. */
  readonly nodes: readonly string[];
  /** Controller writes that lost a race (409) or found their object gone (404), redone later. */
  readonly conflicts: number;
  /** Pod creations admission refused (403: a ResourceQuota), tried again later. */
  readonly refusals: number;
  /** Containers running `image` (exactly, or matching) behave so; newest first. */
  behave(image: string | RegExp, behaviour: BehaviourSpec): void;
  /** A rule that decides a container's behaviour (undefined: no opinion); rules go before images and FAKE_BEHAVIOUR. */
  behaviour(rule: BehaviourRule): void;
  /** Runs the controllers at the current simulated time until a round writes nothing. */
  settle(): Promise<void>;
  /** Advances the clock by `seconds`, settling at every wake-up on the way and at the end. */
  tick(seconds: number): Promise<void>;
  /** Settles, then advances from wake-up to wake-up until `cond` holds; throws past maxSeconds (default 3600) or when nothing is left to happen. */
  until(cond: () => boolean, opts?: { maxSeconds?: number; what?: string }): Promise<void>;
  /** Pods of a namespace (all when omitted) whose labels match; wire JSON as kube.list() gives (timestamps are strings). */
  pods(namespace?: string, matchLabels?: Record<string, string>): V1Pod[];
  /**
   * Stops a controller from reconciling until resume(): a controller that has not caught up yet
   * (a busy or restarting kube-controller-manager), so a scenario can act in that gap.
   */
  pause(controller: ControllerName): void;
  resume(controller: ControllerName): void;
  addNode(name: string): void;
  removeNode(name: string): void;
  close(): Promise<void>;
}

const NODE: ResourceType = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, statusSubresource: true };
const MAX_ROUNDS = 5000;

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const start = options.start instanceof Date ? options.start.getTime() : (options.start ?? DEFAULT_START);
  const clock = new SimClock(start);
  const resources = options.fake?.resources ?? [];
  const kube = await startFakeKube({ ...options.fake, resources: resources.some((r) => r.kind === 'Node') ? resources : [...resources, NODE], now: clock.now });
  return new SimCluster(kube, clock, options);
}

class SimCluster implements Cluster {
  readonly nodes: string[];
  private readonly api: ClusterApi;
  private readonly ctx: Ctx;
  private readonly kubelet: Kubelet;
  private readonly auto: boolean;
  private readonly nodeMemory: string;
  private queue: Promise<void> = Promise.resolve();
  private inRound = false;
  private scheduled = false;
  private closed = false;
  private failure: unknown;
  private readonly unsubscribe: () => void;
  private readonly paused = new Set<ControllerName>();

  constructor(
    readonly kube: FakeKube,
    readonly clock: SimClock,
    options: ClusterOptions,
  ) {
    this.nodes = [...(options.nodes ?? ['node-1', 'node-2', 'node-3'])];
    this.api = new ClusterApi(kube);
    this.ctx = { api: this.api, clock, random: seededRandom(options.seed ?? 1), nodes: () => this.nodes };
    this.nodeMemory = options.nodeMemory ?? '8Gi';
    const nodeMemoryBytes = bytesOf(this.nodeMemory);
    if (nodeMemoryBytes === undefined) throw new Error(`startCluster: nodeMemory ${this.nodeMemory} is not a quantity`);
    this.kubelet = new Kubelet({ defaultBehaviour: options.defaultBehaviour ?? 'healthy', nodeMemoryBytes, setLogs: kube.setLogs.bind(kube) });
    this.auto = options.auto ?? true;
    for (const n of this.nodes) this.putNode(n);
    this.unsubscribe = kube.onChange(() => this.poke());
  }

  get conflicts(): number {
    return this.api.conflicts;
  }

  get refusals(): number {
    return this.api.refusals;
  }

  behave(image: string | RegExp, behaviour: BehaviourSpec): void {
    this.kubelet.behave(image, behaviour);
  }

  behaviour(rule: BehaviourRule): void {
    this.kubelet.rule(rule);
  }

  settle(): Promise<void> {
    return this.exclusive(() => this.settleNow());
  }

  tick(seconds: number): Promise<void> {
    return this.exclusive(async () => {
      const target = this.clock.now() + seconds * 1000;
      await this.settleNow();
      for (let next = this.clock.nextWake(); next !== undefined && next <= target; next = this.clock.nextWake()) {
        this.clock.set(next);
        await this.settleNow();
      }
      this.clock.set(target);
      await this.settleNow();
    });
  }

  until(cond: () => boolean, opts: { maxSeconds?: number; what?: string } = {}): Promise<void> {
    return this.exclusive(async () => {
      const maxSeconds = opts.maxSeconds ?? 3600;
      const deadline = this.clock.now() + maxSeconds * 1000;
      await this.settleNow();
      while (!cond()) {
        const next = this.clock.nextWake();
        if (next === undefined || next > deadline) {
          const why = next === undefined ? 'and nothing is left to happen' : `within ${maxSeconds} simulated seconds`;
          throw new Error(`fake cluster: ${opts.what ?? 'the condition'} not reached ${why}`);
        }
        this.clock.set(next);
        await this.settleNow();
      }
    });
  }

  pods(namespace?: string, matchLabels?: Record<string, string>): V1Pod[] {
    return this.kube.list<V1Pod>('v1', 'Pod', namespace).filter((p) => selectorMatches({ matchLabels }, p.metadata?.labels));
  }

  pause(controller: ControllerName): void {
    this.paused.add(controller);
  }

  resume(controller: ControllerName): void {
    this.paused.delete(controller);
    this.poke();
  }

  addNode(name: string): void {
    if (!this.nodes.includes(name)) this.nodes.push(name);
    this.putNode(name);
  }

  removeNode(name: string): void {
    const i = this.nodes.indexOf(name);
    if (i >= 0) this.nodes.splice(i, 1);
    this.kube.remove('v1', 'Node', undefined, name);
    // A node that is gone takes its pods with it (the node lifecycle controller and pod GC, at once).
    for (const p of this.kube.list<V1Pod>('v1', 'Pod')) if (p.spec?.nodeName === name) this.kube.remove('v1', 'Pod', p.metadata?.namespace, p.metadata!.name!);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await this.queue;
    await this.kube.close();
    this.rethrow();
  }

  // ---------------------------------------------------------------------------------------------

  private putNode(name: string): void {
    const node: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      status: {
        capacity: { memory: this.nodeMemory, cpu: '4', pods: '110' },
        allocatable: { memory: this.nodeMemory, cpu: '4', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        addresses: [{ type: 'InternalIP', address: `10.0.${this.nodes.indexOf(name) + 1}.10` }, { type: 'Hostname', address: name }],
      },
    };
    this.kube.put(node);
  }

  /** A write from outside the controllers: react as live controllers would. */
  private poke(): void {
    if (this.inRound || !this.auto || this.closed || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.closed) this.settle().catch((err: unknown) => (this.failure ??= err));
    });
  }

  /** Runs one operation at a time; a failure of a background settle surfaces in the next one. */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      this.rethrow();
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private rethrow(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
  }

  private async settleNow(): Promise<void> {
    for (let i = 0; this.round() > 0; i++) {
      if (i >= MAX_ROUNDS) throw new Error(`fake cluster: no quiescence after ${MAX_ROUNDS} rounds: a controller keeps writing`);
      // Lets the server answer requests (the healer's) between rounds, as they would interleave.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Every controller once, from fresh reads; returns the number of writes. */
  private round(): number {
    this.inRound = true;
    this.clock.resetWakes();
    this.api.writes = 0;
    try {
      collectGarbage(this.ctx);
      // Usage first: the controllers' creations below are admitted against what is there now.
      reconcileResourceQuotas(this.ctx);
      if (!this.paused.has('deployment')) reconcileDeployments(this.ctx);
      if (!this.paused.has('replicaset')) reconcileReplicaSets(this.ctx);
      if (!this.paused.has('statefulset')) reconcileStatefulSets(this.ctx);
      if (!this.paused.has('daemonset')) reconcileDaemonSets(this.ctx);
      schedule(this.ctx);
      this.kubelet.sync(this.ctx);
    } finally {
      this.inRound = false;
    }
    return this.api.writes;
  }
}
