/**
 * The Kubernetes clients the healer uses, and how it treats API failures: conflicts (409, and a
 * 422 from a JSON patch whose precondition `test` failed), throttling and server errors are
 * retried a few times with back-off (the caller re-reads and re-plans, so a retry never applies a
 * stale decision); anything else is reported at once.
 *
 * Every request made through these clients has an overall deadline (KUBE_REQUEST_DEADLINE_MS,
 * from sending it to reading the whole answer): client-node 1.x sets none, so a silent API server
 * would hold a workload's queue, a Lease round or a shutdown forever. Pod watches go through
 * BoundedWatch instead: a deadline on connecting, a server-side timeoutSeconds with jitter, and a
 * client-side guard should the server not end the stream by then.
 */
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  ListWatch,
  Observable,
  ResponseContext,
  ServerConfiguration,
  Watch,
  type HttpLibrary,
  type Informer,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
  type RequestContext,
  type V1ListMeta,
} from '@kubernetes/client-node';
import { DeadlineError, deadlineSignal, untilAborted } from '../deadline/deadline.js';
import type { KubeCredentials } from './credentials.js';

/** The longest one API request may take, answer read in full; a watch's stream is not one request. */
export const KUBE_REQUEST_DEADLINE_MS = 30_000;

export interface KubeRequestOptions {
  /** Overall deadline of every request; default KUBE_REQUEST_DEADLINE_MS (tests pass a short one). */
  requestDeadlineMs?: number;
}

export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  /** Jobs and CronJobs: read only, to say why their pods' failures are not healed. */
  batch: BatchV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
  kc: KubeConfig;
}

export function makeClients(kc: KubeConfig, o: KubeRequestOptions = {}): KubeClients {
  return {
    kc,
    core: makeApiClient(kc, CoreV1Api, o),
    apps: makeApiClient(kc, AppsV1Api, o),
    batch: makeApiClient(kc, BatchV1Api, o),
    coordination: makeApiClient(kc, CoordinationV1Api, o),
    custom: makeApiClient(kc, CustomObjectsApi, o),
  };
}

type ApiConfiguration = ReturnType<typeof createConfiguration>;

/**
 * `kc.makeApiClient(type)`, but every request has an overall deadline. The deadline sits in the
 * HTTP library rather than in a middleware: a call passing its own middleware (with the default
 * "replace" strategy) would drop ours, while a call's own httpApi is unheard of.
 */
export function makeApiClient<T>(kc: KubeConfig, type: new (config: ApiConfiguration) => T, o: KubeRequestOptions = {}): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return new type(
    createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: kc },
      httpApi: new DeadlineHttpLibrary(o.requestDeadlineMs ?? KUBE_REQUEST_DEADLINE_MS),
    }),
  );
}

/**
 * client-node's fetch library with a deadline per request: its signal aborts the connection, and
 * the caller is released with a DeadlineError naming the request at the deadline, whether it
 * falls while waiting for the headers or while a trickling body is read.
 */
export class DeadlineHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();
  constructor(private readonly ms: number) {}

  send(request: RequestContext): Observable<ResponseContext> {
    const what = `Kubernetes API ${request.getHttpMethod()} ${pathOf(request.getUrl())}`;
    const deadline = deadlineSignal(this.ms, what);
    const own = request.getSignal();
    request.setSignal(own ? AbortSignal.any([own, deadline.signal]) : deadline.signal);
    const settle = <R>(work: Promise<R>) => untilAborted(work, deadline.signal).finally(deadline.clear);
    const answered = untilAborted(this.inner.send(request).toPromise(), deadline.signal).then(
      (res) => new ResponseContext(res.httpStatusCode, res.headers, { text: () => settle(res.body.text()), binary: () => settle(res.body.binary()) }),
      (err: unknown) => {
        deadline.clear();
        throw err;
      },
    );
    return new Observable(answered);
  }
}

const pathOf = (url: string): string => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

/** How long a pod watch lives: the API server ends it after a random time in [min, max) s (replicas do not re-list in step). */
export const KUBE_WATCH = { minTimeoutSeconds: 300, maxTimeoutSeconds: 600, graceMs: 30_000 } as const;

export interface WatchBounds {
  /** The response headers must come within this; default KUBE_REQUEST_DEADLINE_MS. */
  connectMs?: number;
  /** The server-side timeoutSeconds of the next watch; default random in KUBE_WATCH's range. */
  timeoutSeconds?: () => number;
  /** A stream the server has not ended this long after its timeoutSeconds is aborted here. */
  graceMs?: number;
}

/**
 * A Watch that cannot hang: connecting has a deadline (node-fetch's own `timeout`, which covers
 * the request until its headers: client-node 1.4's watch builds a timeout signal, then drops it);
 * every watch asks the server to end it after timeoutSeconds (the informer then resumes from its
 * resourceVersion); and a stream still open `graceMs` later — a silent or half-open connection —
 * is aborted and reported as a DeadlineError, which the informer's owner restarts.
 */
export class BoundedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly bounds: WatchBounds = {},
  ) {
    super(withConnectTimeout(kc, bounds.connectMs ?? KUBE_REQUEST_DEADLINE_MS));
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const timeoutSeconds = this.bounds.timeoutSeconds?.() ?? watchTimeoutSeconds();
    const overallMs = timeoutSeconds * 1000 + (this.bounds.graceMs ?? KUBE_WATCH.graceMs);
    let ended = false;
    let expired = false;
    let guard: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      ended = true;
      clearTimeout(guard);
      done(expired ? new DeadlineError(overallMs, `Kubernetes API watch ${path}`) : err);
    };
    const controller = await super.watch(path, { ...queryParams, timeoutSeconds }, callback, finish);
    if (!ended) {
      guard = setTimeout(() => {
        expired = true;
        controller.abort();
      }, overallMs);
      guard.unref();
    }
    return controller;
  }
}

/** A server-side watch timeout, uniformly in KUBE_WATCH's range. */
export function watchTimeoutSeconds(random: () => number = Math.random): number {
  const { minTimeoutSeconds: lo, maxTimeoutSeconds: hi } = KUBE_WATCH;
  return Math.floor(lo + (hi - lo) * random());
}

/** The same configuration, whose fetch options carry node-fetch's `timeout` (until the response headers). */
function withConnectTimeout(kc: KubeConfig, ms: number): KubeConfig {
  const bounded = Object.create(kc) as KubeConfig;
  bounded.applyToFetchOptions = async (opts) => ({ ...(await kc.applyToFetchOptions(opts)), timeout: ms });
  return bounded;
}

/** client-node's makeInformer, on a BoundedWatch. */
export function makeBoundedInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: ListPromise<T>,
  labelSelector?: string,
  bounds?: WatchBounds,
): Informer<T> & ObjectCache<T> {
  return new ListWatch<T>(path, new BoundedWatch(kc, bounds), list, false, labelSelector);
}

/** Items per page of a paginated list: each page is one request under the deadline. */
export const KUBE_LIST_PAGE = 500;

/**
 * Every page of a list (limit/continue), as one list: the pages are one consistent snapshot, and
 * the answer's resourceVersion is the snapshot's, for a watch to resume from. `page` gets the
 * continue token (undefined first) and should pass `limit: KUBE_LIST_PAGE, _continue`.
 */
export async function listAllPages<L extends { items: unknown[]; metadata?: V1ListMeta }>(page: (cont: string | undefined) => Promise<L>): Promise<L> {
  const first = await page(undefined);
  const items = [...first.items];
  let cont = first.metadata?._continue;
  let last = first;
  while (cont) {
    last = await page(cont);
    items.push(...last.items);
    cont = last.metadata?._continue;
  }
  return { ...first, items, metadata: { ...last.metadata, _continue: undefined, remainingItemCount: undefined } };
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

/**
 * A write with no answer to tell whether it was applied: the connection failed or a deadline passed
 * after it was sent, or a 5xx came back (a gateway or an API server may answer one after the write
 * was committed). The caller re-reads to find out; it never reports "nothing was changed" on it.
 */
export class WriteOutcomeUnknown extends Error {
  constructor(readonly original: unknown) {
    super(`no answer to the write (${apiMessage(original)}): it may have been applied`);
    this.name = 'WriteOutcomeUnknown';
  }
}

/** Whether a failed write may have been applied all the same (see WriteOutcomeUnknown). */
export const writeMayHaveLanded = (err: unknown): boolean => {
  const code = statusOf(err);
  return code === null ? !(err instanceof PreconditionFailed) : code >= 500;
};

/** Worth another try after re-reading: a conflicting writer, throttling, a server-side failure, a write with no answer. */
export const isRetryable = (err: unknown): boolean => {
  if (err instanceof PreconditionFailed || err instanceof WriteOutcomeUnknown) return true;
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
