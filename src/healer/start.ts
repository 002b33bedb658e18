/**
 * Starting the healer from `amadeus serve`'s options, once credentials were found (credentials.ts):
 * resolve the rules, the Lease and this replica's identity.
 */
import { UsageError } from '../config/options.js';
import type { Notifier } from '../notify/notifier.js';
import type { Logger } from '../telemetry/logger.js';
import { Healer, type HealerMetrics } from './healer.js';
import { podIdentity, podNamespace, type KubeCredentials } from './credentials.js';
import { loadKubeConfig, makeClients } from './kube.js';
import type { NodeFitMode } from './node-fit.js';
import { resolveHealRules } from './rules.js';

export interface HealerConfig {
  heal: 'auto' | 'on' | 'off';
  kubeconfig?: string;
  /** The size cap of every Kubernetes API answer and watch event (kube.ts). */
  kubeMaxAnswerBytes: number;
  healNamespaces: string;
  healPodSelector?: string;
  healMaxPods: number;
  healDryRun: boolean;
  healMemoryCap: string;
  healOomFactor: number;
  healOomMinBump: string;
  healCrashLoopRestarts: number;
  healCrashLoopShare: number;
  healOomCooldown: number;
  healRollbackCooldown: number;
  healMaxActionsPerHour: number;
  healKnownGood: number;
  /** --heal-node-fit: off, warn or refuse a memory raise no node has room for. */
  healNodeFit: NodeFitMode;
  healLeaseNamespace?: string;
  healLeaseName: string;
  healIdentity?: string;
}


/**
 * Validates the configuration and starts the healer in the background: `started` resolves once its
 * pod watches have started, which a silent Kubernetes API may hold off indefinitely — the scaler
 * must not wait for it.
 */
export async function startHealer(
  c: HealerConfig,
  creds: KubeCredentials,
  deps: { log: Logger; notifier: Notifier; metrics?: HealerMetrics; env: NodeJS.ProcessEnv },
): Promise<{ healer: Healer; started: Promise<void> } | null> {
  const kc = loadKubeConfig(creds);
  if (!kc) {
    if (c.heal === 'on') throw new UsageError(`--heal on: the kubeconfig ${creds.kind === 'file' ? creds.path : ''} names no current cluster`);
    deps.log.info('healer off: the kubeconfig names no current cluster', { kubeconfig: creds.kind === 'file' ? creds.path : 'in-cluster' });
    return null;
  }
  let rules;
  try {
    rules = resolveHealRules({
      globalMemoryCapBytes: c.healMemoryCap,
      oomFactor: c.healOomFactor,
      oomMinBumpBytes: c.healOomMinBump,
      crashLoopMinRestarts: c.healCrashLoopRestarts,
      crashLoopShare: c.healCrashLoopShare,
      oomCooldownSeconds: c.healOomCooldown,
      rollbackCooldownSeconds: c.healRollbackCooldown,
      maxActionsPerHour: c.healMaxActionsPerHour,
      knownGoodSeconds: c.healKnownGood,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const leaseNamespace = podNamespace(c.healLeaseNamespace, deps.env);
  const identity = podIdentity(c.healIdentity, deps.env);
  const namespaces = c.healNamespaces.split(',').filter(Boolean);
  const healer = new Healer({
    clients: makeClients(kc, { maxAnswerBytes: c.kubeMaxAnswerBytes }),
    namespaces,
    podSelector: c.healPodSelector,
    maxPods: c.healMaxPods,
    rules,
    dryRun: c.healDryRun,
    nodeFit: c.healNodeFit,
    identity,
    lease: { namespace: leaseNamespace, name: c.healLeaseName },
    notifier: deps.notifier,
    metrics: deps.metrics,
    log: deps.log.child({ component: 'healer' }),
  });
  const started = healer.start().then(() => {
    deps.log.info('healer started', { cluster: kc.getCurrentCluster()?.server, namespaces: namespaces.length ? namespaces : 'all', dryRun: c.healDryRun, lease: `${leaseNamespace}/${c.healLeaseName}`, identity });
  });
  return { healer, started };
}
