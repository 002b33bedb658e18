/**
 * `amadeus serve`'s part in a set of replicas (docs/adr/0003-replica-state.md): Lease membership,
 * rendezvous ownership of workloads, the per-workload fine-tuning lock, and their metrics. Without
 * Kubernetes credentials (or with --replicas off) this replica is the whole set and owns everything.
 */
import { existsSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { UsageError } from '../config/options.js';
import { findCredentials, podIdentity, podNamespace, type KubeCredentials } from '../healer/credentials.js';
import type { WorkloadLstm } from '../forecast/lstm/workload.js';
import { ownerOf } from '../replicas/rendezvous.js';
import type { RoundLock } from '../replicas/round-lock.js';
import type { Logger } from '../telemetry/logger.js';
import type { ParsedOptions } from '../config/options.js';
import type { SERVE_OPTIONS } from './options/serve.js';

export interface Replicas {
  identity: string;
  /** The live replicas this one sees (a Membership with a cluster; itself alone without). */
  membership: { readonly members: readonly string[] };
  /** Whether this replica owns `key` among the live replicas now. */
  owns(key: string): boolean;
  roundLock: RoundLock | null;
  stop(): Promise<void>;
}

type Opts = Pick<ParsedOptions<typeof SERVE_OPTIONS>, 'replicas' | 'replicaSet' | 'replicaNamespace' | 'replicaLeaseDuration' | 'replicaRenew' | 'stateSyncInterval' | 'fineTuneLockDuration' | 'kubeconfig' | 'kubeMaxAnswerBytes' | 'healIdentity'>;

/** The credentials replica coordination runs with, or null (a single replica). */
export function replicaCredentials(o: Opts, env: NodeJS.ProcessEnv, exists: (p: string) => boolean): KubeCredentials | null {
  if (o.replicas === 'off') return null;
  const found = o.kubeconfig ? { kind: 'file' as const, path: o.kubeconfig } : findCredentials(env, exists);
  if (!found && o.replicas === 'on') throw new UsageError('--replicas on: no Kubernetes credentials (no in-cluster service account, KUBECONFIG or ~/.kube/config; or pass --kubeconfig)');
  return found;
}

export function checkReplicaOptions(o: Opts): void {
  if (!(o.replicaRenew < o.replicaLeaseDuration)) throw new UsageError(`--replica-renew (${o.replicaRenew} s) must be shorter than --replica-lease-duration (${o.replicaLeaseDuration} s)`);
  if (o.stateSyncInterval % 60 !== 0) throw new UsageError(`--state-sync-interval must be whole minutes (a multiple of 60 s), got ${o.stateSyncInterval}`);
}

export async function startReplicas(o: Opts, env: NodeJS.ProcessEnv, log: Logger): Promise<Replicas> {
  checkReplicaOptions(o);
  const identity = podIdentity(o.healIdentity, env);
  const creds = replicaCredentials(o, env, existsSync);
  if (!creds) {
    const membership = { members: [identity] };
    log.info('replicas: this one owns every workload', { identity, reason: o.replicas === 'off' ? '--replicas off' : 'no Kubernetes credentials' });
    return { identity, membership, owns: () => true, roundLock: null, stop: async () => {} };
  }
  // Loaded only with a cluster: the Kubernetes client takes most of a second and ~75 MiB to load.
  const { loadKubeConfig, makeApiClient } = await import('../healer/kube.js');
  const { CoordinationV1Api } = await import('@kubernetes/client-node');
  const { Membership } = await import('../replicas/membership.js');
  const { RoundLock } = await import('../replicas/round-lock.js');
  const kc = loadKubeConfig(creds);
  if (!kc) throw new UsageError('replicas: the kubeconfig names no current cluster');
  // Every request has an overall deadline and a size cap (kube.ts), besides Membership's and RoundLock's own deadlines.
  const api = makeApiClient(kc, CoordinationV1Api, { maxAnswerBytes: o.kubeMaxAnswerBytes });
  const namespace = podNamespace(o.replicaNamespace, env);
  const membership = new Membership({
    api,
    namespace,
    set: o.replicaSet,
    identity,
    leaseDurationSeconds: o.replicaLeaseDuration,
    renewMs: o.replicaRenew * 1000,
    log: log.child({ component: 'replicas' }),
  });
  membership.start();
  log.info('replicas: Lease membership on', { identity, namespace, set: o.replicaSet, leaseDurationSeconds: o.replicaLeaseDuration });
  return {
    identity,
    membership,
    owns: (key) => ownerOf(key, membership.members) === identity,
    roundLock: new RoundLock({ api, namespace, identity, durationSeconds: o.fineTuneLockDuration }),
    stop: () => membership.stop(),
  };
}

export interface ReplicaMetricsSources {
  replicas: Replicas;
  workloads: Set<WorkloadLstm> | null;
  /** Fine-tuning rounds waiting for or in the worker. */
  queue: () => number;
}

/** The replica model's gauges; `snapshots` counts published / matched / adopted state snapshots. */
export function replicaMetrics(registry: Registry, s: ReplicaMetricsSources): { snapshots: (action: string) => void } {
  const registers = [registry];
  const owned = () => [...(s.workloads ?? [])].filter((w) => s.replicas.owns(w.key));
  new Gauge({
    name: 'amadeus_replica_members',
    help: 'Live Amadeus replicas this one sees (itself included; 1 without Kubernetes).',
    registers,
    collect() {
      this.set(s.replicas.membership.members.length);
    },
  });
  new Gauge({
    name: 'amadeus_owned_workloads',
    help: 'Workloads this replica owns: it fine-tunes them and publishes their state.',
    registers,
    collect() {
      this.set(owned().length);
    },
  });
  new Gauge({
    name: 'amadeus_weights_version',
    help: 'Published fine-tuned weights version a workload answers with (0: the pre-trained model).',
    labelNames: ['namespace', 'name', 'series'],
    registers,
    collect() {
      this.reset();
      for (const w of s.workloads ?? []) {
        const [namespace, name, series] = splitKey(w.key);
        this.set({ namespace, name, series }, w.version);
      }
    },
  });
  new Gauge({
    name: 'amadeus_finetune_queue_length',
    help: 'Fine-tuning rounds waiting for or running in this replica\'s worker.',
    registers,
    collect() {
      this.set(s.queue());
    },
  });
  new Gauge({
    name: 'amadeus_finetune_lag_seconds',
    help: 'How far (history time) the most overdue workload this replica owns is past its fine-tuning interval.',
    registers,
    collect() {
      let lag = 0;
      for (const w of owned()) {
        const due = w.nextRoundDue;
        const at = w.latestOrigin;
        if (due !== null && at !== null) lag = Math.max(lag, (at - due) / 1000);
      }
      this.set(lag);
    },
  });
  const snapshots = new Counter({ name: 'amadeus_state_snapshots_total', help: 'Forecasting-state snapshots: published (owner), matched (already equal) or adopted (a follower loaded one).', labelNames: ['action'], registers });
  for (const action of ['published', 'matched', 'adopted']) snapshots.inc({ action }, 0);
  return { snapshots: (action) => snapshots.inc({ action }) };
}

/** "namespace/name[_metricName]~series" (scaler/registry.ts workloadKey) as its three labels. */
function splitKey(key: string): [string, string, string] {
  const i = key.indexOf('/');
  const [namespace, rest] = i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
  const j = rest.lastIndexOf('~');
  return j < 0 ? [namespace, rest, ''] : [namespace, rest.slice(0, j), rest.slice(j + 1)];
}
