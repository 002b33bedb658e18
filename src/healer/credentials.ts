/**
 * Whether there is a cluster to heal, decided before anything heavy is loaded: `serve` imports the
 * Kubernetes client (most of a second) only when this finds credentials.
 */
import { existsSync } from 'node:fs';
import { readSmallFile } from '../files/small-file.js';
import { hostname } from 'node:os';
import { UsageError } from '../config/options.js';
import type { Logger } from '../telemetry/logger.js';

export type KubeCredentials = { kind: 'in-cluster' } | { kind: 'file'; path: string };

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** This pod's namespace, for its Leases: the flag, else POD_NAMESPACE, else the service account's, else default. */
export function podNamespace(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  return explicit ?? env.POD_NAMESPACE ?? (existsSync(SA_NAMESPACE) ? readSmallFile(SA_NAMESPACE, 4096).toString('utf8').trim() : 'default');
}

/** This replica's name in its Leases (healer and replicas alike): the flag, else POD_NAME, else the host name. */
export function podIdentity(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  return explicit ?? env.POD_NAME ?? hostname();
}

/**
 * In a pod, its service account; elsewhere KUBECONFIG or ~/.kube/config. As kubectl: a set
 * KUBECONFIG is the whole answer (its missing files are skipped), with no fallback to ~/.kube/config.
 */
export function findCredentials(env: NodeJS.ProcessEnv, exists: (path: string) => boolean): KubeCredentials | null {
  if (env.KUBERNETES_SERVICE_HOST && exists(SA_TOKEN)) return { kind: 'in-cluster' };
  const listed = (env.KUBECONFIG ?? '').split(':').filter(Boolean);
  const home = env.HOME ? `${env.HOME}/.kube/config` : null;
  const file = listed.length > 0 ? listed.find(exists) : home && exists(home) ? home : undefined;
  return file ? { kind: 'file', path: file } : null;
}

/** The credentials the healer runs with, or null when it does not run (`--heal on` without any: an error). */
export function healerCredentials(
  c: { heal: 'auto' | 'on' | 'off'; kubeconfig?: string },
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean,
  log: Logger,
): KubeCredentials | null {
  if (c.heal === 'off') return null;
  const found = c.kubeconfig ? { kind: 'file' as const, path: c.kubeconfig } : findCredentials(env, exists);
  if (found) return found;
  if (c.heal === 'on') throw new UsageError('--heal on: no Kubernetes credentials (no in-cluster service account, KUBECONFIG or ~/.kube/config; or pass --kubeconfig)');
  log.info('healer off: no Kubernetes credentials found (in-cluster service account, KUBECONFIG, ~/.kube/config)');
  return null;
}
