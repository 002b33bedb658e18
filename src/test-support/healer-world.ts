/**
 * The healer's scenario harness: real Healer instances (the real @kubernetes/client-node over
 * loopback HTTP) against the simulated cluster of `cluster/`, everything on the cluster's clock.
 *
 *   const w = await healerWorld();
 *   const a = await w.start();                 // a replica of Amadeus (its own clients and informer)
 *   w.kube.put(deployment(...));
 *   await w.advance(600);                      // 10 simulated minutes, step by step
 *   expect(w.reports()).toEqual(...);
 *   await w.close();
 *
 * `advance` moves the clock from one wake-up of the controllers to the next (never more than a
 * minute at a time while known-good marks are on, fifteen seconds while replicas elect a leader), and
 * at every step waits until the cluster is quiet: every live replica's pod informer holds exactly
 * the pods the server holds (resourceVersion for resourceVersion), every failure it saw has been
 * handled, and the controllers have reacted to what the healers wrote. So a healer sees each state
 * of the cluster at the simulated time it happens, and a scenario is deterministic.
 *
 * What a running Amadeus does on wall-clock timers is driven here on the simulated one: the
 * known-good marks (`markKnownGood`, once a simulated minute, as `markIntervalMs` does) and the
 * Lease rounds (`LeaderElector.tryOnce`, every fifteen simulated seconds; the elector's own timer is set
 * past any test's length). A replica can be stalled on one API call, cut off from the API server
 * after one, or made to stop renewing its Lease: a crash, a pause, a partition.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubernetesObject, type V1Container, type V1Deployment, type V1Node, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { detectFailures } from '../healer/detect.js';
import { Healer, type HealerOptions, type HealReport } from '../healer/healer.js';
import { makeClients, type KubeClients, type KubeRequestOptions } from '../healer/kube.js';
import type { LeaderElector } from '../healer/lease.js';
import { replicaSetRevisionKey, type RevisionStats, type RevisionTracker } from '../healer/revisions.js';
import { HEAL_RULES, type HealRules } from '../healer/rules.js';
import type { Notification } from '../notify/notifier.js';
import { createLogger } from '../telemetry/logger.js';
import { startCluster, type Cluster, type ClusterOptions } from './cluster/index.js';
import { configMap, deployment } from './cluster/objects.js';
import { parseLabelSelector, type FailMatch, type FakeKube, type RecordedRequest } from './fake-kube.js';
import { startWatchCuttingProxy, type WatchCuttingProxy } from './watch-cutting-proxy.js';

export const NS = 'shop';
/** The opt-in every healed workload carries. */
export const HEAL = Object.freeze({ 'amadeus.io/heal': 'true' });
/** The Lease the replicas of a scenario elect their leader on. */
export const LEASE = Object.freeze({ namespace: NS, name: 'amadeus-healer', durationSeconds: 60, retrySeconds: 59 });

export type LogLine = Record<string, unknown> & { msg: string; level: string };

/** One replica of Amadeus: a Healer with its own clients, logs and notifications. */
export interface Replica {
  readonly name: string;
  readonly healer: Healer;
  readonly notes: Notification[];
  readonly lines: LogLine[];
  /** The API calls it sent (the client method, e.g. `patchNamespacedReplicaSet`), in order: which replica wrote. */
  readonly calls: string[];
  /** Out of the game: stopped, crashed, or cut off (its API calls hang). */
  readonly gone: boolean;
  /** Renews (or contends for) the Lease at every election round; false once it stops (a crash, a pause). */
  electing: boolean;
  /** Holds the next call of `method` (e.g. `patchNamespacedDeployment`) until released; `reached` resolves when it is held. */
  stallNext(method: string): { reached: Promise<void>; release(): void };
  /** The next call of `method` is served, but its answer never arrives: the replica is cut off (every call hangs) from then on. */
  cutAfter(method: string): Promise<void>;
}

export interface HealerWorld {
  readonly cluster: Cluster;
  readonly kube: FakeKube;
  readonly replicas: Replica[];
  /** Starts a replica; `elect` makes it one of several electing a leader on LEASE. */
  start(o?: Partial<Omit<HealerOptions, 'lease'>> & { name?: string; elect?: boolean; bounds?: KubeRequestOptions }): Promise<Replica>;
  /** A graceful stop (the Lease, if held, is released). */
  stop(r: Replica): Promise<void>;
  /** Waits until the healers have seen and handled everything and the controllers have reacted. */
  quiet(): Promise<void>;
  /**
   * Moves simulated time forward by `seconds`, step by step (see the header). With `until`, stops
   * at the first quiet step where it holds, right after the healers acted and before the
   * controllers react to it (with `auto: false`, the default here); returns whether it held.
   */
  advance(seconds: number, o?: { until?: () => boolean }): Promise<boolean>;
  /** Every report of every replica, in the order the replicas started. */
  reports(): HealReport[];
  notes(): Notification[];
  lines(): LogLine[];
  events(): CoreV1Event[];
  /** PATCH requests to a workload (`deployments/web`), in order. */
  patches(resource: string): RecordedRequest[];
  get<T = KubernetesObject>(apiVersion: string, kind: string, name: string): T;
  pods(labels?: Record<string, string>): V1Pod[];
  /** A write by a person or a deploy tool: the stored object, edited. */
  edit<T extends KubernetesObject>(apiVersion: string, kind: string, name: string, change: (obj: T) => void): T;
  close(): Promise<void>;
  /** Also released by close(), after the healers and the cluster (a proxy a scenario put between them). */
  closing(release: () => Promise<void>): void;
}

export interface WorldOptions extends ClusterOptions {
  /** Known-good marks once a simulated minute by the live replicas (default true). */
  marks?: boolean;
}

const MARK_EVERY_MS = 60_000;
const ELECT_EVERY_MS = 15_000;

type Mode = 'up' | 'cut' | 'dead';

class LiveReplica implements Replica {
  electing: boolean;
  healer!: Healer;
  readonly notes: Notification[] = [];
  readonly lines: LogLine[] = [];
  readonly calls: string[] = [];
  mode: Mode = 'up';
  stopped = false;
  /** Calls held by stallNext, per method. */
  private readonly stalls = new Map<string, { gate: Promise<void>; reached: () => void; fail: (err: Error) => void }>();
  private readonly cuts = new Map<string, () => void>();
  /** Hanging calls, failed when the world closes. */
  private readonly hung: ((err: Error) => void)[] = [];
  /** Calls held or hanging right now: the replica cannot be waited for. */
  held = 0;
  /** Which pods its informers hold (`--heal-pod-selector`): all when unset. */
  selects: (labels: Record<string, string>) => boolean = () => true;

  constructor(
    readonly name: string,
    readonly lease: boolean,
  ) {
    this.electing = lease;
  }

  get gone(): boolean {
    return this.stopped || this.mode !== 'up';
  }

  stallNext(method: string): { reached: Promise<void>; release(): void } {
    let release!: () => void;
    let fail!: (err: Error) => void;
    let reached!: () => void;
    const gate = new Promise<void>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
    const seen = new Promise<void>((r) => (reached = r));
    this.stalls.set(method, { gate, reached, fail });
    this.hung.push(fail);
    return { reached: seen, release };
  }

  cutAfter(method: string): Promise<void> {
    return new Promise<void>((r) => this.cuts.set(method, r));
  }

  /** Fails every hanging call (the world is closing) and every call from now on. */
  kill(): void {
    this.mode = 'dead';
    for (const fail of this.hung.splice(0)) fail(new Error(`replica ${this.name} is gone`));
  }

  private hang<T>(): Promise<T> {
    this.held++;
    return new Promise<T>((_, reject) => this.hung.push(reject));
  }

  async call<T>(method: string, run: () => Promise<T>): Promise<T> {
    if (this.mode === 'dead') throw new Error(`replica ${this.name} is gone`);
    if (this.mode === 'cut') return this.hang<T>();
    this.calls.push(method);
    const stall = this.stalls.get(method);
    if (stall) {
      this.stalls.delete(method);
      this.held++;
      stall.reached();
      try {
        await stall.gate;
      } finally {
        this.held--;
      }
    }
    const cut = this.cuts.get(method);
    if (cut) {
      this.cuts.delete(method);
      await run(); // served; the answer is lost
      this.mode = 'cut';
      cut();
      return this.hang<T>();
    }
    return run();
  }

  /** Clients whose every API call goes through call(). The informer's watch (kc) is left as is. */
  clients(base: KubeClients): KubeClients {
    const wrap = <T extends object>(api: T): T =>
      new Proxy(api, {
        get: (target, prop, receiver) => {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => this.call(String(prop), () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        },
      });
    return { kc: base.kc, bounds: base.bounds, core: wrap(base.core), apps: wrap(base.apps), batch: wrap(base.batch), coordination: wrap(base.coordination), custom: wrap(base.custom) };
  }
}

/** The healer's private pieces a scenario drives on the simulated clock. */
const elector = (h: Healer) => (h as unknown as { elector: LeaderElector | null }).elector;
/** The replica's pod informers, one a watch scope (whichever collection the Healer keeps them in). */
const informers = (h: Healer) => [...(h as unknown as { informers: { values(): Iterable<{ list(): V1Pod[] }> } }).informers.values()];
/** What `idle()` waits for, looked at without waiting: a replica can get held on a call meanwhile. */
const pending = (h: Healer) => (h as unknown as { pending: Set<Promise<unknown>> }).pending;

const tick = () => new Promise((r) => setTimeout(r, 1));
/** When the replica's pod watch last proved live (healer clock), undefined when it is down. */
const watchLiveAt = (h: Healer) => (h as unknown as { watchLiveAt: Map<string, number> }).watchLiveAt.get(NS);

export async function healerWorld(o: WorldOptions = {}): Promise<HealerWorld> {
  const cluster = await startCluster({ auto: false, ...o });
  const kube = cluster.kube;
  const clock = cluster.clock;
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const replicas: LiveReplica[] = [];
  const marks = o.marks ?? true;
  let lastMark = -Infinity;
  const releases: (() => Promise<void>)[] = [];
  let lastElection = -Infinity;

  const live = () => replicas.filter((r) => !r.gone);
  const waitable = () => live().filter((r) => r.held === 0);

  /** The replica's pod informer holds exactly the server's pods (those its pod selector selects). */
  const caughtUp = (r: LiveReplica): boolean => {
    const want = new Map(kube.list<V1Pod>('v1', 'Pod', NS).filter((p) => r.selects(p.metadata!.labels ?? {})).map((p) => [p.metadata!.name!, p.metadata!.resourceVersion!]));
    for (const informer of informers(r.healer)) {
      const have = informer.list().filter((p) => p.metadata?.namespace === NS);
      if (have.length !== want.size || have.some((p) => want.get(p.metadata!.name!) !== p.metadata!.resourceVersion)) return false;
    }
    return true;
  };

  /** Every replica that can be waited for has seen every pod and handled every failure (one held on a call stops counting). */
  async function settled(): Promise<void> {
    const deadline = Date.now() + 10_000;
    const done = (r: LiveReplica) => caughtUp(r) && pending(r.healer).size === 0;
    while (!waitable().every(done)) {
      if (Date.now() > deadline) throw new Error(`healer world: the healers did not catch up with the cluster (${waitable().filter((r) => !done(r)).map((r) => r.name).join(', ')})`);
      await tick();
    }
  }

  async function quiet(until?: () => boolean): Promise<boolean> {
    for (let i = 0; ; i++) {
      if (i > 1000) throw new Error('healer world: no quiet after 1000 rounds (healer and controllers keep writing)');
      const before = kube.resourceVersion;
      await settled();
      if (until?.()) return true;
      await cluster.settle();
      if (kube.resourceVersion === before) return false;
    }
  }

  /** The Lease rounds and known-good marks a running replica does on its timers, when due. */
  async function housekeeping(until?: () => boolean): Promise<boolean> {
    const now = clock.now();
    let did = false;
    if (replicas.some((r) => r.lease) && now - lastElection >= ELECT_EVERY_MS) {
      lastElection = now;
      for (const r of live().filter((x) => x.electing)) await elector(r.healer)!.tryOnce();
      did = true;
    }
    if (marks && now - lastMark >= MARK_EVERY_MS) {
      lastMark = now;
      // The server's periodic bookmarks (about once a minute), received before the marks are
      // written; a stalled or broken watch gets none (given up on after a short real-time wait).
      kube.bookmarkWatches();
      const deadline = Date.now() + 50;
      while (waitable().some((r) => (watchLiveAt(r.healer) ?? -Infinity) < now) && Date.now() < deadline) await tick();
      for (const r of waitable()) await r.healer.markKnownGood();
      did = true;
    }
    return did ? quiet(until) : false;
  }

  const world: HealerWorld = {
    cluster,
    kube,
    replicas,

    async start(opts = {}) {
      const { name, elect, bounds, ...rest } = opts;
      const r = new LiveReplica(name ?? `amadeus-${replicas.length}`, elect ?? false);
      if (rest.podSelector) r.selects = parseLabelSelector(rest.podSelector);
      const log = createLogger({ level: 'debug', sink: (l) => r.lines.push(JSON.parse(l) as LogLine) });
      r.healer = new Healer({
        clients: r.clients(makeClients(kube.kubeConfig(), bounds)),
        namespaces: [NS],
        rules: HEAL_RULES,
        dryRun: false,
        identity: r.name,
        lease: r.lease ? { ...LEASE } : null,
        notifier: { name: 'test', notify: async (n) => void r.notes.push(n) },
        log,
        clock: clock.now,
        markIntervalMs: 86_400_000,
        restartDelayMs: 20,
        retry: { baseDelayMs: 1 },
        ...rest,
      });
      replicas.push(r);
      await r.healer.start();
      if (r.lease) {
        // The elector's first round, which start() began; then rounds on the simulated clock.
        await (elector(r.healer) as unknown as { running: Promise<unknown> | null }).running;
      }
      await quiet();
      return r;
    },

    async stop(r) {
      const x = r as LiveReplica;
      x.stopped = true;
      await x.healer.stop();
      await quiet();
    },

    quiet: async () => void (await quiet()),

    async advance(seconds, opts = {}) {
      const target = clock.now() + seconds * 1000;
      for (;;) {
        if (await quiet(opts.until)) return true;
        if (await housekeeping(opts.until)) return true;
        const now = clock.now();
        if (now >= target) return false;
        let next = Math.min(target, clock.nextWake() ?? Infinity);
        if (replicas.some((r) => r.lease && !r.gone)) next = Math.min(next, lastElection + ELECT_EVERY_MS);
        if (marks) next = Math.min(next, lastMark + MARK_EVERY_MS);
        await cluster.tick(Math.max(1, next - now) / 1000);
      }
    },

    reports: () => replicas.flatMap((r) => r.healer.reports),
    notes: () => replicas.flatMap((r) => r.notes),
    lines: () => replicas.flatMap((r) => r.lines),
    events: () => kube.list<CoreV1Event>('v1', 'Event', NS),
    patches: (resource) => kube.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith(`/namespaces/${NS}/${resource}`)),
    get<T>(apiVersion: string, kind: string, name: string): T {
      const obj = kube.get<T>(apiVersion, kind, NS, name);
      if (!obj) throw new Error(`healer world: no ${kind} ${name}`);
      return obj;
    },
    pods: (labels) => cluster.pods(NS, labels),
    edit<T extends KubernetesObject>(apiVersion: string, kind: string, name: string, change: (obj: T) => void): T {
      const obj = world.get<T>(apiVersion, kind, name);
      change(obj);
      return kube.put(obj);
    },

    async close() {
      for (const r of replicas) if (r.mode !== 'up' || r.held > 0) r.kill();
      await Promise.all(replicas.filter((r) => !r.stopped).map((r) => r.healer.stop().catch(() => undefined)));
      await cluster.close();
      for (const release of releases.splice(0)) await release();
    },

    closing: (release) => void releases.push(release),
  };
  return world;
}

/** Whether a pod's Ready condition is True. */
export const podReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The reports of the raise-then-release story on Deployment api (`raiseSeenCrashLooping`), as `reportSummary` prints them. */
export const API_STORY = Object.freeze({
  raised: 'Deployment/api oom-bump/applied/raised',
  tooFew: 'Deployment/api rollback/refused/too-few-failing',
  refused: 'Deployment/api rollback/refused/raise-crash-looped',
  rolledBack: 'Deployment/api rollback/applied/rolled-back',
});

/** What the healer reported, a line each: `Kind/name action/result/reason`. */
export const reportSummary = (w: HealerWorld): string[] => w.reports().map((r) => `${r.workload.kind}/${r.workload.name} ${r.action}/${r.result}/${r.reason}`);

/** The ReplicaSets of Deployment `owner` in NS. */
export const replicaSetsOf = (w: HealerWorld, owner: string): V1ReplicaSet[] =>
  w.kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS).filter((rs) => rs.metadata?.ownerReferences?.[0]?.name === owner);

/**
 * Deployment `web` (web:1, 3 replicas, healing on, `extra` deployment options) reading ConfigMap
 * `web-config` (`mode: fast`) at every container start, the ConfigMap put: a config naming `turbo`
 * crash-loops it, as an app refusing a config it cannot parse. Returned unput, for the caller to change first.
 */
export function configReadingWeb(w: HealerWorld, extra: Omit<Parameters<typeof deployment>[1], 'namespace' | 'image' | 'replicas' | 'annotations'> = {}): V1Deployment {
  w.kube.put(configMap('web-config', { 'app.yaml': 'mode: fast\n' }, NS));
  // The kubelet reads the ConfigMap at every container start.
  w.cluster.behaviour((c) => (c.configMaps['web-config']?.['app.yaml']?.includes('turbo') ? { run: 'crash', log: 'starting web:1\nerror: invalid config: unknown mode "turbo"\n' } : undefined));
  const d = deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL, ...extra });
  d.spec!.template.spec!.volumes = [{ name: 'config', configMap: { name: 'web-config' } }];
  d.spec!.template.spec!.containers[0]!.volumeMounts = [{ name: 'config', mountPath: '/etc/web' }];
  return d;
}

/** Deployment `owner`'s ReplicaSet whose first container runs `image`. */
export const replicaSetRunning = (w: HealerWorld, owner: string, image: string): V1ReplicaSet | undefined =>
  replicaSetsOf(w, owner).find((rs) => rs.spec?.template?.spec?.containers[0]?.image === image);

/**
 * What an HPA does to Deployment `name`: `spec.replicas` set through the API server (a request like
 * any other, so it shows among the writes). The real HPA writes the `scale` subresource, which the
 * fake API server does not serve; for the Deployment it is the same change.
 */
export async function autoscale(w: HealerWorld, name: string, replicas: number): Promise<void> {
  const apps = w.kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.patchNamespacedDeployment({ namespace: NS, name, body: { spec: { replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

/**
 * Every write the API server received from request `from` on, but for Events, the leader's records
 * of the templates first seen (`isTemplateSeenRecord`, all of them, unless `templateSeen`: a scenario
 * that leaves them out checks them with `strayTemplateSeenRecords`) and, with `lease: false`, the
 * Lease's: `METHOD resource status`.
 */
export const apiWrites = (w: HealerWorld, from = 0, o: { lease?: boolean; templateSeen?: boolean } = {}): string[] =>
  w.kube.requests
    .slice(from)
    .filter((q) => q.method !== 'GET' && !q.path.endsWith('/events') && (o.lease !== false || !q.path.includes('/leases')) && (o.templateSeen === true || !isTemplateSeenRecord(q)))
    .map((q) => `${q.method} ${q.path.replace(`/apis/apps/v1/namespaces/${NS}/`, '').replace(`/api/v1/namespaces/${NS}/`, '')} ${q.status}`);

/**
 * The leader's record on a ReplicaSet of the template it first saw it with (`amadeus.io/template-seen`,
 * healer.ts `recordTemplateSeen`), alone in its PATCH: bookkeeping on a revision, like a known-good
 * mark — a scenario that asserts nothing else was written leaves these out.
 */
export const isTemplateSeenRecord = (q: RecordedRequest): boolean =>
  q.method === 'PATCH' && q.path.includes('/replicasets/') && Object.keys((q.body as { metadata?: { annotations?: object } } | undefined)?.metadata?.annotations ?? {}).join() === 'amadeus.io/template-seen';

/** The template-seen records (`isTemplateSeenRecord`) from request `from` on, in order: `<ReplicaSet> <status>`. */
export const templateSeenRecords = (w: HealerWorld, from = 0): string[] =>
  w.kube.requests
    .slice(from)
    .filter(isTemplateSeenRecord)
    .map((q) => `${q.path.split('/').at(-1)} ${q.status}`);

/**
 * The template-seen records (`isTemplateSeenRecord`) from request `from` on that no scenario expects:
 * each on a ReplicaSet not of Deployment `owners`, or a second on one ReplicaSet (a leader records
 * the template it first saw once; a stale leader, or one writing another workload's, is a bug a
 * filtered `apiWrites` would hide). A record refused (a 409, tried again at the next round) counts
 * for its ReplicaSet's owner only. As `apiWrites` words them; empty when all is as it should be.
 */
export function strayTemplateSeenRecords(w: HealerWorld, from: number, ...owners: string[]): string[] {
  const seen = new Set<string>();
  const stray: string[] = [];
  for (const q of w.kube.requests.slice(from).filter(isTemplateSeenRecord)) {
    const name = q.path.split('/').at(-1)!;
    // Its owner as listed, or (a ReplicaSet since deleted) as the Deployment controller names it: `<owner>-<hash>`.
    const rs = w.kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS).find((x) => x.metadata?.name === name);
    const owner = rs?.metadata?.ownerReferences?.[0]?.name ?? name.slice(0, name.lastIndexOf('-'));
    const landed = (q.status ?? 200) < 300; // one not answered yet counts as landed
    if (!owners.includes(owner) || (landed && seen.has(name))) stray.push(`${q.method} replicasets/${name} ${q.status}`);
    if (landed) seen.add(name);
  }
  return stray;
}

/** Like `kube.beforeNext`, but for the next request matching whose body passes `body` (the others pass through). */
export function beforeNextBody(w: HealerWorld, match: FailMatch, body: (b: unknown) => boolean, fn: () => void): void {
  w.kube.beforeNext(match, () => (body(w.kube.requests.at(-1)!.body) ? fn() : beforeNextBody(w, match, body, fn)));
}

/** What a replica's own revision clock (from its own pod informer) holds for ReplicaSet `name`. */
export const revisionSeen = (w: HealerWorld, r: Replica, name: string): RevisionStats =>
  (r.healer as unknown as { revisions: RevisionTracker }).revisions.stats(replicaSetRevisionKey(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name).metadata!.uid!));

/** The pods a replica's informers hold: what its resync looks at. */
export const cachedPods = (r: Replica): V1Pod[] => [...(r.healer as unknown as { informers: Map<string, { list(): V1Pod[] }> }).informers.values()].flatMap((i) => i.list());

/** What a replica's informers hold of `app`'s pods, sorted: `<image> <failures detected, else ready or not-ready>`. */
export const cachedView = (r: Replica, app = 'web'): string[] =>
  cachedPods(r)
    .filter((p) => p.metadata!.labels?.app === app)
    .map((p) => `${p.spec!.containers[0]!.image} ${detectFailures(p).map((f) => f.kind).join(',') || (podReady(p) ? 'ready' : 'not-ready')}`)
    .sort();

/**
 * The world waits, at every step, until each replica's pod cache holds exactly the server's pods;
 * one whose watch is cut cannot. A replica held on a call is not waited for (`Replica.stallNext`);
 * one with its own clients (a proxy's), not the world's wrapper, has its held count raised here
 * directly, as a held call raises it. The world then neither waits for its cache nor for its
 * failures to be handled, nor runs its known-good marks (the test does: `idle`, `markKnownGood`);
 * it still runs its Lease rounds. Returns the release.
 */
export function notWaitedFor(r: Replica): () => void {
  const x = r as unknown as { held: number };
  x.held++;
  return () => void x.held--;
}

/**
 * The start of the raise-then-release refusal story: Deployment `api` (3 replicas, 256Mi) runs
 * api:1 healthy and is marked known-good; usage grows past the limit, a lost pod comes back
 * OOM-killed and the healer raises the limit to 356Mi. The second pod made at the raised memory
 * crash-loops (a bad node, a dependency): a share of the raise's pods too small for a rollback,
 * recorded on its ReplicaSet all the same. api:2 crash-loops when it is released. `start` starts
 * the replica(s) once the Deployment is put, `beforeRaise` runs once api:1 is marked; returns what
 * `start` returned and the raise's ReplicaSet.
 */
export async function raiseSeenCrashLooping<T>(w: HealerWorld, start: () => Promise<T>, beforeRaise: () => void = () => {}): Promise<{ started: T; raised: V1ReplicaSet }> {
  const memory = (c: V1Container | undefined) => c?.resources?.limits?.memory;
  w.cluster.behave('api:1', 'healthy');
  w.cluster.behave('api:2', 'crash');
  const raisedPods: string[] = [];
  w.cluster.behaviour((c) => {
    if (c.container.image !== 'api:1' || memory(c.container) !== '356Mi') return undefined;
    const name = c.pod.metadata!.name!;
    if (!raisedPods.includes(name)) raisedPods.push(name);
    return name === raisedPods[1] ? 'crash' : undefined;
  });
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  const started = await start();
  await w.advance(11 * 60);
  beforeRaise();
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.kube.remove('v1', 'Pod', NS, w.pods()[0]!.metadata!.name!);
  await w.advance(5 * 60);
  return { started, raised: replicaSetsOf(w, 'api').find((rs) => memory(rs.spec!.template!.spec!.containers[0]) === '356Mi')! };
}

/**
 * `raiseSeenCrashLooping` beside a neighbour, Deployment `web` (2 replicas, healthy, opted in: marked
 * known-good in its first window), with the replica(s) `start` starts; then the release api:2
 * (crash-looping on every pod) and three minutes, in which it is refused and its rollout stuck with
 * one pod of the raise left. Returns what `start` returned, the raise's and the release's
 * ReplicaSet names, web's ReplicaSet and its pods' uids.
 */
export async function releaseBesideNeighbour<T>(w: HealerWorld, start: () => Promise<T>): Promise<{ started: T; raise: string; release: string; web: string; webPods: string[] }> {
  const { started, raised } = await raiseSeenCrashLooping(w, async () => {
    w.cluster.behave('web:1', 'healthy');
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, memory: '128Mi', annotations: HEAL }));
    return start();
  });
  const web = replicaSetRunning(w, 'web', 'web:1')!.metadata!.name!;
  const webPods = w.pods({ app: 'web' }).map((p) => p.metadata!.uid!);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'api:2'));
  await w.advance(3 * 60);
  return { started, raise: raised.metadata!.name!, release: replicaSetRunning(w, 'api', 'api:2')!.metadata!.name!, web, webPods };
}

/**
 * An operator moving `pod` off its node: the node cordoned (`spec.unschedulable`, as `kubectl
 * cordon` sets it) and the pod evicted (deleted; its controller makes a replacement, which the
 * scheduler places on another node). The other pods on the node are left where they are. Returns the node's name.
 */
export function cordonAndEvict(w: HealerWorld, pod: V1Pod): string {
  const name = pod.spec!.nodeName!;
  const node = w.kube.get<V1Node>('v1', 'Node', undefined, name)!;
  w.kube.put({ ...node, spec: { ...node.spec, unschedulable: true } });
  w.kube.remove('v1', 'Pod', NS, pod.metadata!.name!);
  return name;
}

/** `kubectl rollout undo --to-revision`: the ReplicaSet's template (without pod-template-hash) and its annotations, except kubectl's skip list, replace the Deployment's. */
export function kubectlUndo(w: HealerWorld, name: string, to: V1ReplicaSet): void {
  const skip = ['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision', 'deployment.kubernetes.io/revision-history', 'deployment.kubernetes.io/desired-replicas', 'deployment.kubernetes.io/max-replicas', 'deprecated.deployment.rollback.to'];
  w.edit<V1Deployment>('apps/v1', 'Deployment', name, (d) => {
    const template = structuredClone(to.spec!.template!);
    delete template.metadata!.labels!['pod-template-hash'];
    d.spec!.template = template;
    const annotations: Record<string, string> = {};
    for (const k of skip) if (d.metadata!.annotations?.[k] !== undefined) annotations[k] = d.metadata!.annotations[k];
    for (const [k, v] of Object.entries(to.metadata!.annotations ?? {})) if (!skip.includes(k)) annotations[k] = v;
    d.metadata!.annotations = annotations;
  });
}

/**
 * Two replicas electing a leader on LEASE with `rules`: A talks to the API server directly, B
 * through a watch-cutting proxy (closed with the world), so a scenario can blind B alone.
 */
export async function replicasBesideCutProxy(w: HealerWorld, rules: HealRules): Promise<{ a: Replica; b: Replica; proxy: WatchCuttingProxy }> {
  const proxy = await startWatchCuttingProxy(w.kube);
  w.closing(() => proxy.close());
  const a = await w.start({ name: 'a', elect: true, rules });
  const b = await w.start({ name: 'b', elect: true, rules, clients: makeClients(proxy.kubeConfig()) });
  return { a, b, proxy };
}

/**
 * Leadership handed from `from` to `to`: `from` stops, `to` takes the Lease within a simulated
 * minute, then looks again at what its cache shows, and a minute of the world passes with it.
 */
export async function handOver(w: HealerWorld, from: Replica, to: Replica): Promise<void> {
  await w.stop(from);
  if (!(await w.advance(60, { until: () => to.healer.isLeader }))) throw new Error(`${to.name} did not take the Lease within a minute of ${from.name} stopping`);
  await to.healer.idle();
  await w.advance(60);
  await to.healer.idle();
}
