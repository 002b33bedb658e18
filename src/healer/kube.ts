/**
 * The Kubernetes clients the healer uses, and how it treats API failures: conflicts (409, and a
 * 422 from a JSON patch whose precondition `test` failed), throttling and server errors are
 * retried a few times with back-off (the caller re-reads and re-plans, so a retry never applies a
 * stale decision); anything else is reported at once.
 */
import { ApiException, AppsV1Api, BatchV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { KubeCredentials } from './credentials.js';

export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  /** Jobs and CronJobs: read only, to say why their pods' failures are not healed. */
  batch: BatchV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
  kc: KubeConfig;
}

export function makeClients(kc: KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

/** The client configuration for found credentials; null when a kubeconfig names no current cluster. */
export function loadKubeConfig(creds: KubeCredentials): KubeConfig | null {
  const kc = new KubeConfig();
  if (creds.kind === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromFile(creds.path);
  return kc.getCurrentCluster() ? kc : null;
}

export const statusOf = (err: unknown): number | null => (err instanceof ApiException ? err.code : null);

/**
 * A JSON patch's precondition `test` failed: the object changed since it was read. The API server
 * answers it with a bare 422 ("the server rejected our request due to an error in our request"),
 * which a client cannot tell from an invalid patch by its message; the caller establishes it by
 * reading the object again and finding what it tested changed, and throws this.
 */
export class PreconditionFailed extends Error {
  constructor(readonly original: unknown) {
    super(`the object changed since it was read (${apiMessage(original)})`);
    this.name = 'PreconditionFailed';
  }
}

/** Worth another try after re-reading: a conflicting writer, throttling, or a server-side failure. */
export const isRetryable = (err: unknown): boolean => {
  if (err instanceof PreconditionFailed) return true;
  const code = statusOf(err);
  return code === 409 || code === 429 || (code !== null && code >= 500);
};

/** The API server's own message when there is one (a Status body), else the error's. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: string } | string | undefined;
    const detail = typeof body === 'string' ? tryMessage(body) : body?.message;
    return `HTTP ${err.code}${detail ? `: ${detail}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function tryMessage(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs `attempt` (which must re-read what it acts on) until it succeeds or fails for good. */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 4;
  const sleep = o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= attempts || !isRetryable(err)) throw err;
      await sleep((o.baseDelayMs ?? 200) * 2 ** (n - 1));
    }
  }
}
