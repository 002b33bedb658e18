/**
 * Starting the healer from `amadeus serve`'s options: find the cluster's credentials, resolve the
 * rules, the Lease and this replica's identity. With `--heal auto` and no credentials there is no
 * healer (the no-cluster demo); with `--heal on` that is an error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../config/options.js';
import type { Notifier } from '../notify/notifier.js';
import type { Logger } from '../telemetry/logger.js';
import { Healer } from './healer.js';
import { findKubeConfig, makeClients } from './kube.js';
import { resolveHealRules } from './rules.js';

export interface HealerConfig {
  heal: 'auto' | 'on' | 'off';
  kubeconfig?: string;
  healNamespaces: string;
  healPodSelector?: string;
  healDryRun: boolean;
  healMemoryCap: string;
  healOomFactor: number;
  healOomMinBump: string;
  healCrashLoopRestarts: number;
  healOomCooldown: number;
  healRollbackCooldown: number;
  healMaxActionsPerHour: number;
  healKnownGood: number;
  healLeaseNamespace?: string;
  healLeaseName: string;
  healIdentity?: string;
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export async function startHealerFromConfig(
  c: HealerConfig,
  deps: { log: Logger; notifier: Notifier; metrics?: { heal(action: string, result: string): void }; env: NodeJS.ProcessEnv },
): Promise<Healer | null> {
  if (c.heal === 'off') return null;
  let kc: KubeConfig | null;
  if (c.kubeconfig) {
    kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfig);
  } else {
    kc = findKubeConfig(deps.env, existsSync);
  }
  if (!kc) {
    if (c.heal === 'on') throw new UsageError('--heal on: no Kubernetes credentials (no in-cluster service account, KUBECONFIG or ~/.kube/config; or pass --kubeconfig)');
    deps.log.info('healer off: no Kubernetes credentials found (in-cluster service account, KUBECONFIG, ~/.kube/config)');
    return null;
  }
  let rules;
  try {
    rules = resolveHealRules({
      globalMemoryCapBytes: c.healMemoryCap,
      oomFactor: c.healOomFactor,
      oomMinBumpBytes: c.healOomMinBump,
      crashLoopMinRestarts: c.healCrashLoopRestarts,
      oomCooldownSeconds: c.healOomCooldown,
      rollbackCooldownSeconds: c.healRollbackCooldown,
      maxActionsPerHour: c.healMaxActionsPerHour,
      knownGoodSeconds: c.healKnownGood,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const leaseNamespace = c.healLeaseNamespace ?? deps.env.POD_NAMESPACE ?? (existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : 'default');
  const identity = c.healIdentity ?? deps.env.POD_NAME ?? hostname();
  const namespaces = c.healNamespaces.split(',').filter(Boolean);
  const healer = new Healer({
    clients: makeClients(kc),
    namespaces,
    podSelector: c.healPodSelector,
    rules,
    dryRun: c.healDryRun,
    identity,
    lease: { namespace: leaseNamespace, name: c.healLeaseName },
    notifier: deps.notifier,
    metrics: deps.metrics,
    log: deps.log.child({ component: 'healer' }),
  });
  await healer.start();
  deps.log.info('healer started', { cluster: kc.getCurrentCluster()?.server, namespaces: namespaces.length ? namespaces : 'all', dryRun: c.healDryRun, lease: `${leaseNamespace}/${c.healLeaseName}`, identity });
  return healer;
}
