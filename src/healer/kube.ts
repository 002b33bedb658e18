/**
 * The Kubernetes clients the healer uses, and how it treats API failures: conflicts (409, and a
 * 422 from a JSON patch whose precondition `test` failed), throttling and server errors are
 * retried a few times with back-off (the caller re-reads and re-plans, so a retry never applies a
 * stale decision); anything else is reported at once.
 *
 * Every request made through these clients has an overall deadline (KUBE_REQUEST_DEADLINE_MS,
 * from sending it to reading the whole answer): client-node 1.x sets none, so a silent API server
 * would hold a workload's queue, a Lease round or a shutdown forever. Every answer has a size cap
 * too (KUBE_MAX_ANSWER_BYTES, --kube-max-answer-bytes): client-node buffers a whole answer before
 * parsing it, so a proxy or server sending something else, or a list of a huge cluster, would
 * exhaust the process's memory; a larger answer is cut off as it streams in and fails its call
 * (AnswerTooLarge), whose caller reports it and changes nothing. Lists that grow with the cluster
 * are read in pages of KUBE_LIST_PAGE objects (listPaged), each page one bounded answer.
 * Pod watches go through BoundedWatch instead: a deadline on connecting, a server-side
 * timeoutSeconds with jitter, a client-side guard should the server not end the stream by then,
 * and the same cap on each event (one line of the stream).
 */
import http, { STATUS_CODES, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import yaml from 'js-yaml';
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
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
  type User,
  type V1ListMeta,
} from '@kubernetes/client-node';
import { DeadlineError, deadlineSignal, untilAborted, within } from '../deadline/deadline.js';
import { capText } from '../config/fields.js';
import { ByteSink } from '../files/byte-sink.js';
import { boundedLookup, type Lookup } from '../dns/lookup.js';
import { readAllPages, type ItemBound } from '../paging/pages.js';
import type { KubeCredentials } from './credentials.js';
import { MAX_TLS_FILE_BYTES, readFailure, readSmallFile } from '../files/small-file.js';
import { KUBE_LIST_PAGE, KUBE_MAX_ANSWER_BYTES } from './kube-limits.js';

export { KUBE_LIST_PAGE, KUBE_MAX_ANSWER_BYTES, KUBE_MAX_ANSWER_BYTES_RANGE } from './kube-limits.js';

/** The longest one API request may take, answer read in full; a watch's stream is not one request. */
export const KUBE_REQUEST_DEADLINE_MS = 30_000;

export interface KubeRequestOptions {
  /** Overall deadline of every request; default KUBE_REQUEST_DEADLINE_MS (tests pass a short one). */
  requestDeadlineMs?: number;
  /** Deadline of applying the kubeconfig's credentials before a request (boundedAuth); default requestDeadlineMs. */
  authDeadlineMs?: number;
  /** The most bytes one answer may take; default KUBE_MAX_ANSWER_BYTES (--kube-max-answer-bytes). */
  maxAnswerBytes?: number;
  /** How the API server's name is looked up; default kubeLookup (tests count the lookups). */
  lookup?: Lookup;
}

/**
 * The API server's name, looked up once in flight and reused for a few seconds (src/dns): client-node
 * makes a new agent, so a new connection, for every request, and a kubeconfig naming its server by
 * host name (a managed cluster's endpoint) would otherwise look it up for each (in a pod, the
 * service account's server is an IP address, which is never looked up).
 */
export const kubeLookup: Lookup = boundedLookup();

export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  /** Jobs and CronJobs: read only, to say why their pods' failures are not healed. */
  batch: BatchV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
  kc: KubeConfig;
  /** The bounds the clients were made with; the healer's pod watches take the same size cap. */
  bounds?: KubeRequestOptions;
}

export function makeClients(kc: KubeConfig, o: KubeRequestOptions = {}): KubeClients {
  return {
    kc,
    bounds: o,
    core: makeApiClient(kc, CoreV1Api, o),
    apps: makeApiClient(kc, AppsV1Api, o),
    batch: makeApiClient(kc, BatchV1Api, o),
    coordination: makeApiClient(kc, CoordinationV1Api, o),
    custom: makeApiClient(kc, CustomObjectsApi, o),
  };
}

type ApiConfiguration = ReturnType<typeof createConfiguration>;

/**
 * `kc.makeApiClient(type)`, but every request has an overall deadline and every answer a size cap.
 * Both sit in the HTTP library rather than in a middleware: a call passing its own middleware (with
 * the default "replace" strategy) would drop ours, while a call's own httpApi is unheard of.
 */
export function makeApiClient<T>(kc: KubeConfig, type: new (config: ApiConfiguration) => T, o: KubeRequestOptions = {}): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return new type(
    createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: boundedAuth(kc, o.authDeadlineMs ?? o.requestDeadlineMs ?? KUBE_REQUEST_DEADLINE_MS) },
      httpApi: new BoundedHttpLibrary(o.requestDeadlineMs ?? KUBE_REQUEST_DEADLINE_MS, o.maxAnswerBytes ?? KUBE_MAX_ANSWER_BYTES, o.lookup),
    }),
  );
}

/**
 * Applying a kubeconfig's credentials can run a program or a network call before any request is
 * sent — an exec plugin (kubelogin waiting for a browser login), the legacy gcp provider, an OIDC
 * refresh — and client-node gives it no deadline, while a request's own deadline starts only after
 * it. So it gets one here; and while one is still running past its deadline (the plugin hung), new
 * ones fail at once rather than each starting another process that never exits. One gate per
 * KubeConfig, shared by its clients and watches.
 */
class CredentialGate {
  /** The runs not yet settled, by when each started. */
  private readonly running = new Map<object, number>();
  constructor(private readonly kc: KubeConfig) {}

  run<T>(apply: () => Promise<T>, ms: number): Promise<T> {
    const now = Date.now();
    for (const since of this.running.values()) {
      if (now - since >= ms) {
        return Promise.reject(new Error(`Kubernetes credentials: the kubeconfig user's credentials have not been applied for ${Math.round((now - since) / 1000)} s (a credential plugin not answering?); not tried again until that ends`));
      }
    }
    const token = {};
    this.running.set(token, now);
    let work: Promise<T>;
    try {
      work = apply();
    } catch (err) {
      work = Promise.reject(err);
    }
    const settled = () => void this.running.delete(token);
    work.then(settled, settled);
    return within(work, ms, `Kubernetes credentials of kubeconfig user ${this.kc.getCurrentUser()?.name ?? '(none)'}`);
  }
}

const credentialGates = new WeakMap<KubeConfig, CredentialGate>();
function credentialGate(kc: KubeConfig): CredentialGate {
  let gate = credentialGates.get(kc);
  if (!gate) credentialGates.set(kc, (gate = new CredentialGate(kc)));
  return gate;
}

/** `kc` as a client's authentication, its credentials applied within `ms` (CredentialGate). */
export function boundedAuth(kc: KubeConfig, ms: number): { getName(): string; applySecurityAuthentication(context: RequestContext): Promise<void> } {
  const gate = credentialGate(kc);
  return {
    getName: () => kc.getName(),
    applySecurityAuthentication: (context) => gate.run(() => kc.applySecurityAuthentication(context), ms),
  };
}

/** An answer (or a watch event) larger than the cap: cut off as it streamed in, never parsed. */
export class AnswerTooLarge extends Error {
  override name = 'AnswerTooLarge';
  readonly reason = 'too-large';
  constructor(
    readonly maxBytes: number,
    what: string,
    thing: 'answer' | 'event' = 'answer',
  ) {
    super(`${what}: ${thing} larger than ${maxBytes} bytes, refused (--kube-max-answer-bytes)`);
  }
}

/**
 * client-node's HTTP library (IsomorphicFetchHttpLibrary, node-fetch) has no hook for a size cap:
 * it buffers every answer whole. This one sends the same request (URL, method, headers, body, and
 * the agent carrying the kubeconfig's TLS settings or proxy) with node:http(s), reads the answer up
 * to `maxBytes` (a Content-Length above it is refused before reading; a body growing past it is cut
 * off and the connection closed), and fails the call with AnswerTooLarge beyond. The deadline's
 * signal aborts the connection, and the caller is released with a DeadlineError naming the request
 * at the deadline, whether it falls while waiting for the headers or while a trickling body is read.
 * No Accept-Encoding is sent: the answer comes uncompressed, so the cap is on what is parsed.
 */
export class BoundedHttpLibrary implements HttpLibrary {
  constructor(
    private readonly ms: number,
    private readonly maxBytes: number = KUBE_MAX_ANSWER_BYTES,
    private readonly lookup: Lookup = kubeLookup,
  ) {}

  send(request: RequestContext): Observable<ResponseContext> {
    const what = `Kubernetes API ${request.getHttpMethod()} ${pathOf(request.getUrl())}`;
    const deadline = deadlineSignal(this.ms, what);
    const own = request.getSignal();
    const signal = own ? AbortSignal.any([own, deadline.signal]) : deadline.signal;
    return new Observable(untilAborted(exchange(request, signal, this.maxBytes, this.lookup, what), deadline.signal).finally(deadline.clear));
  }
}

function exchange(request: RequestContext, signal: AbortSignal, maxBytes: number, lookup: Lookup, what: string): Promise<ResponseContext> {
  return new Promise((resolve, reject) => {
    const url = new URL(request.getUrl());
    const body = requestBody(request.getBody());
    const headers: Record<string, string> = { ...request.getHeaders() };
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const send = url.protocol === 'https:' ? https.request : http.request;
    // The lookup rides on the request: client-node's agent sets none, so it reaches the connection
    // (a kubeconfig's proxy-url agent connects to its proxy itself, with the system resolver).
    const req = send(url, { method: request.getHttpMethod(), headers, agent: request.getAgent(), signal, lookup });
    req.on('error', reject);
    req.on('response', (res) => {
      readCapped(res, maxBytes, what).then((buf) => resolve(new ResponseContext(res.statusCode ?? 0, headersOf(res), { text: async () => buf.toString('utf8'), binary: async () => buf })), reject);
    });
    req.end(body);
  });
}

function requestBody(body: ReturnType<RequestContext['getBody']>): Buffer | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  throw new Error('a multipart request body is not supported'); // no Kubernetes API call sends one
}

/** The whole body, or AnswerTooLarge as soon as it passes `maxBytes` (the connection is closed then). */
function readCapped(res: IncomingMessage, maxBytes: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const refuse = () => {
      res.destroy();
      reject(new AnswerTooLarge(maxBytes, what));
    };
    if (Number(res.headers['content-length']) > maxBytes) return refuse();
    // One growing buffer, not a list of chunks: a server trickling a byte per packet would make the
    // list cost a hundred times the bytes the cap counts (byte-sink.ts).
    const sink = new ByteSink(maxBytes);
    res.on('data', (chunk: Buffer) => {
      if (!sink.append(chunk)) refuse();
    });
    res.on('end', () => resolve(sink.bytes()));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error(`${what}: answer broken off`));
    });
  });
}

const headersOf = (res: IncomingMessage): Record<string, string> =>
  Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));

const pathOf = (url: string): string => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

/** A watch stream that ends sooner than this with no event is reported as an error (BoundedWatch). */
export const VERY_SHORT_WATCH_MS = 1000;

/** How long a pod watch lives: the API server ends it after a random time in [min, max) s (replicas do not re-list in step). */
export const KUBE_WATCH = { minTimeoutSeconds: 300, maxTimeoutSeconds: 600, graceMs: 30_000 } as const;

export interface WatchBounds {
  /** The response headers must come within this; default KUBE_REQUEST_DEADLINE_MS. */
  connectMs?: number;
  /** The server-side timeoutSeconds of the next watch; default random in KUBE_WATCH's range. */
  timeoutSeconds?: () => number;
  /** A stream the server has not ended this long after its timeoutSeconds is aborted here. */
  graceMs?: number;
  /** The most bytes one event (one line of the stream) may take; default KUBE_MAX_ANSWER_BYTES. */
  maxEventBytes?: number;
  /** Called on every event (bookmarks included) and on a clean end: the stream was live then. */
  onAlive?: () => void;
  /** How the API server's name is looked up; default kubeLookup. */
  lookup?: Lookup;
  /**
   * Whether a watch is still wanted when one is asked for (default: always). client-node's informer
   * opens its watch after a list returns even when it was stopped during the list; false here ends
   * that watch before it is opened (done with no error: a stopped informer does not restart).
   */
  wanted?: () => boolean;
}

/**
 * A Watch that cannot hang nor exhaust memory: connecting has a deadline (until the response
 * headers); every watch asks the server to end it after timeoutSeconds (the informer then resumes
 * from its resourceVersion); a stream still open `graceMs` later — a silent or half-open
 * connection — is aborted and reported as a DeadlineError, which the informer's owner restarts;
 * and an event line longer than `maxEventBytes` ends the watch with AnswerTooLarge as soon as it
 * passes the cap (client-node's Watch splits the stream with readline, which buffers a line of any
 * length). Otherwise client-node's Watch, over node:http(s): the same URL, query, headers and agent
 * (kc.applyToFetchOptions), events parsed and handed on alike (a line that is not JSON is skipped),
 * a non-200 answer an error carrying its statusCode (410 makes the informer list again).
 */
export class BoundedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly bounds: WatchBounds = {},
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const unwanted = () => this.bounds.wanted !== undefined && !this.bounds.wanted();
    if (unwanted()) {
      const controller = new AbortController();
      controller.abort();
      queueMicrotask(() => done(null));
      return controller;
    }
    const timeoutSeconds = this.bounds.timeoutSeconds?.() ?? watchTimeoutSeconds();
    const overallMs = timeoutSeconds * 1000 + (this.bounds.graceMs ?? KUBE_WATCH.graceMs);
    const connectMs = this.bounds.connectMs ?? KUBE_REQUEST_DEADLINE_MS;
    const maxEventBytes = this.bounds.maxEventBytes ?? KUBE_MAX_ANSWER_BYTES;
    const what = `Kubernetes API watch ${path}`;
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    // Bookmarks: the server's periodic proof that an idle stream is still live (onAlive).
    for (const [key, value] of Object.entries({ ...queryParams, allowWatchBookmarks: true, timeoutSeconds })) if (value !== undefined) url.searchParams.set(key, String(value));
    const controller = new AbortController();
    let init: Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;
    try {
      init = await credentialGate(this.config).run(() => this.config.applyToFetchOptions({}), connectMs);
    } catch (err) {
      // Through done, as a failed connection is: the informer's owner hears it and restarts it.
      done(err);
      return controller;
    }
    if (unwanted()) {
      done(null);
      return controller;
    }

    let ended = false;
    // The connect deadline until the headers come, then the guard on the stream.
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      controller.abort(); // closes the connection, if still open
      done(err);
    };

    const res = await new Promise<IncomingMessage | null>((resolve) => {
      const send = url.protocol === 'https:' ? https.request : http.request;
      const req = send(url, { method: 'GET', headers: plainHeaders(init.headers), agent: init.agent as http.Agent | undefined, signal: controller.signal, lookup: this.bounds.lookup ?? kubeLookup });
      timer = setTimeout(() => finish(new DeadlineError(connectMs, `${what} (connecting)`)), connectMs);
      timer.unref();
      req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
      req.on('error', (err) => {
        finish(err);
        resolve(null);
      });
      req.on('response', (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      req.end();
    });
    if (!res || ended) {
      res?.destroy();
      return controller;
    }
    // Stopped while connecting (the credentials, the lookup, the headers take time): client-node has
    // no request to abort yet, so the stream is ended here rather than kept for its timeoutSeconds.
    if (unwanted()) {
      res.destroy();
      finish(null);
      return controller;
    }
    if (res.statusCode !== 200) {
      res.resume();
      const status = res.statusCode ?? 500;
      finish(Object.assign(new Error(res.statusMessage || STATUS_CODES[status] || 'Internal Server Error'), { statusCode: status }));
      return controller;
    }

    let events = 0;
    const emit = (line: Buffer) => {
      try {
        const data = JSON.parse(line.toString('utf8')) as { type: string; object: unknown };
        withoutManagedFields(data.object);
        events++;
        callback(data.type, data.object, data);
      } catch {
        // as client-node: a line that is not an event is skipped
        return;
      }
      this.bounds.onAlive?.();
    };
    // A stream that ends at once with nothing in it (a proxy closing it, a server in trouble) would
    // be watched again at once, and again: an error instead, so the informer's owner restarts it
    // with back-off (client-go's reflector calls such a watch "very short" likewise).
    const connectedAt = Date.now();
    const endClean = () => {
      const lasted = Date.now() - connectedAt;
      if (events === 0 && lasted < VERY_SHORT_WATCH_MS) finish(new Error(`${what}: ended after ${lasted} ms with no event (very short watch)`));
      else finish(null);
    };
    // The line not yet ended, in one growing buffer: as a list of the chunks' tails, an API server
    // (or a proxy) trickling a byte per packet made 2.7 MB of a line cost about 500 MiB (byte-sink.ts).
    const pending = new ByteSink(maxEventBytes);
    const tooLarge = () => finish(new AnswerTooLarge(maxEventBytes, what, 'event'));
    res.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1 && !ended; nl = chunk.indexOf(10, start)) {
        const part = chunk.subarray(start, nl);
        let line = part;
        if (pending.size > 0) {
          if (!pending.append(part)) return tooLarge();
          line = pending.bytes();
          pending.clear();
        } else if (part.length > maxEventBytes) return tooLarge();
        start = nl + 1;
        emit(line);
      }
      if (ended) return;
      if (!pending.append(chunk.subarray(start))) return tooLarge();
    });
    res.on('end', () => {
      if (pending.size > 0 && !ended) emit(pending.bytes());
      if (!ended) this.bounds.onAlive?.();
      endClean();
    });
    res.on('error', finish);
    res.on('close', endClean);
    timer = setTimeout(() => finish(new DeadlineError(overallMs, what)), overallMs);
    timer.unref();
    return controller;
  }
}

/** The headers of kc.applyToFetchOptions (a fetch Headers) as node:http takes them. */
function plainHeaders(headers: unknown): Record<string, string> {
  // Duck-typed: under jest's VM modules, client-node's Headers need not be this realm's.
  const fetchHeaders = headers as { forEach?: (fn: (value: string, name: string) => void) => void } | undefined;
  if (typeof fetchHeaders?.forEach !== 'function') return { ...(headers as Record<string, string> | undefined) };
  const out: Record<string, string> = {};
  fetchHeaders.forEach((value, name) => (out[name] = value));
  return out;
}

/** A server-side watch timeout, uniformly in KUBE_WATCH's range. */
export function watchTimeoutSeconds(random: () => number = Math.random): number {
  const { minTimeoutSeconds: lo, maxTimeoutSeconds: hi } = KUBE_WATCH;
  return Math.floor(lo + (hi - lo) * random());
}

/**
 * Drops `metadata.managedFields` (server-side apply's bookkeeping: often half of a pod's JSON) from
 * an object about to be cached: the healer never reads it, and an informer keeps every pod of the
 * namespaces it watches (every replica does, leaders and followers), twice over during a re-list.
 */
export function withoutManagedFields<T>(obj: T): T {
  const meta = typeof obj === 'object' && obj !== null ? (obj as { metadata?: { managedFields?: unknown } }).metadata : undefined;
  if (meta && 'managedFields' in meta) delete meta.managedFields;
  return obj;
}

/**
 * client-node's makeInformer, on a BoundedWatch; what it caches, listed or watched, without
 * managedFields (withoutManagedFields).
 */
export function makeBoundedInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: ListPromise<T>,
  labelSelector?: string,
  bounds?: WatchBounds,
): Informer<T> & ObjectCache<T> {
  const lean: ListPromise<T> = async () => {
    const l = await list();
    for (const item of l.items) withoutManagedFields(item);
    return l;
  };
  return new ListWatch<T>(path, new BoundedWatch(kc, bounds), lean, false, labelSelector);
}

/** Most pages one list may take (KUBE_LIST_PAGE each): a server handing out continue tokens forever must not hold its caller forever. */
export const KUBE_LIST_MAX_PAGES = 1000;

/**
 * The longest one list may take, all its pages (each also within KUBE_REQUEST_DEADLINE_MS): a next
 * page is not asked for past it. A thousand pages at 30 s each would otherwise hold a re-list — and
 * the healer waiting on it — for eight hours.
 */
export const KUBE_LIST_DEADLINE_MS = 5 * 60_000;

/**
 * Every page of a list (limit/continue), as one list: the pages are one consistent snapshot, and
 * the answer's resourceVersion is the snapshot's, for a watch to resume from. `page` gets the
 * continue token (undefined first) and should pass `limit: KUBE_LIST_PAGE, _continue`. At most
 * KUBE_LIST_MAX_PAGES pages, no page asked for past `deadlineMs` (KUBE_LIST_DEADLINE_MS), and
 * when `maxItems` is given no more items than it allows (failing on the page that passes it).
 */
export async function listAllPages<L extends { items: unknown[]; metadata?: V1ListMeta }>(page: (cont: string | undefined) => Promise<L>, deadlineMs = KUBE_LIST_DEADLINE_MS, maxItems?: ItemBound): Promise<L> {
  const started = Date.now();
  const bounded = (cont: string | undefined) => {
    if (cont !== undefined && Date.now() - started > deadlineMs) return Promise.reject(new DeadlineError(deadlineMs, 'Kubernetes API list (all its pages)'));
    return page(cont);
  };
  const { first, last, items } = await readAllPages(bounded, KUBE_LIST_MAX_PAGES, () => new Error(`Kubernetes API list: more than ${KUBE_LIST_MAX_PAGES} pages, refused`), maxItems);
  return { ...first, items, metadata: { ...last.metadata, _continue: undefined, remainingItemCount: undefined } };
}

/**
 * A custom objects list (CustomObjectsApi answers raw JSON, typed any) as listAllPages reads a typed
 * one: its `metadata.continue` is `_continue`. An answer without an `items` array is no list: it
 * fails, rather than reading as "none" (no VPA, say) and being acted on.
 */
export function customList<T>(raw: unknown): { items: T[]; metadata?: V1ListMeta } {
  const list = (typeof raw === 'object' && raw !== null ? raw : {}) as { items?: unknown; metadata?: V1ListMeta & { continue?: string } };
  if (!Array.isArray(list.items)) throw new Error('Kubernetes API list: the answer has no items array');
  const { continue: cont, ...metadata } = list.metadata ?? {};
  return { items: list.items as T[], metadata: { ...metadata, _continue: cont ?? metadata._continue } };
}

/**
 * A list read in pages of KUBE_LIST_PAGE (listAllPages): `list` is one page, given the paging
 * parameters to pass on, e.g. `listPaged((p) => apps.listNamespacedReplicaSet({ namespace, labelSelector, ...p }))`.
 */
export function listPaged<L extends { items: unknown[]; metadata?: V1ListMeta }>(list: (page: { limit: number; _continue?: string }) => Promise<L>, maxItems?: ItemBound): Promise<L> {
  return listAllPages((cont) => list({ limit: KUBE_LIST_PAGE, _continue: cont }), KUBE_LIST_DEADLINE_MS, maxItems);
}

/** A kubeconfig of many clusters with their certificates embedded stays far below this. */
export const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

/** The client configuration for found credentials; null when a kubeconfig names no current cluster. */
export function loadKubeConfig(creds: KubeCredentials): KubeConfig | null {
  const kc = new KubeConfig();
  if (creds.kind === 'in-cluster') kc.loadFromCluster();
  else {
    // client-node reads the file whole, whatever it is: checked first (a regular file, not larger
    // than MAX_KUBECONFIG_BYTES), so a FIFO or a wrong path to a huge file fails with its reason.
    let text: string;
    try {
      text = readSmallFile(creds.path, MAX_KUBECONFIG_BYTES).toString('utf8');
    } catch (err) {
      throw new Error(`kubeconfig ${creds.path}: cannot read: ${readFailure(err)}`, { cause: err });
    }
    // What was checked is what is loaded (loadFromFile would read the path again), with paths in it
    // taken relative to its directory, as loadFromFile does.
    checkTokenFiles(text, `kubeconfig ${creds.path}`);
    kc.loadFromString(text);
    kc.makePathsAbsolute(dirname(creds.path));
    // client-node refreshes these legacy providers' tokens with execSync: the whole process — KEDA's
    // calls included — would stop for as long as gcloud or az takes, with no deadline possible.
    const provider = kc.getCurrentUser()?.authProvider as { name?: string } | undefined;
    if (provider?.name === 'gcp' || provider?.name === 'azure') {
      throw new Error(
        `kubeconfig ${creds.path}: user ${kc.getCurrentUser()!.name} uses the legacy "${provider.name}" auth-provider, which blocks the process while it refreshes its token; ` +
          `use its exec credential plugin (${provider.name === 'gcp' ? 'gke-gcloud-auth-plugin' : 'kubelogin'}) instead, or run without the cluster (--heal off --replicas off)`,
      );
    }
  }
  if (kc.getCurrentCluster()) checkCredentialFiles(kc, creds.kind === 'file' ? `kubeconfig ${creds.path}` : 'in-cluster service account');
  return kc.getCurrentCluster() ? kc : null;
}

/**
 * client-node reads every user's `token-file` while parsing the kubeconfig, whole and synchronously
 * (the path as written, from the working directory): each is checked first, as the files below are.
 * A kubeconfig that is not YAML is left to client-node to report.
 */
function checkTokenFiles(text: string, source: string): void {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch {
    return;
  }
  const users = typeof doc === 'object' && doc !== null ? (doc as { users?: unknown }).users : undefined;
  if (!Array.isArray(users)) return;
  for (const entry of users as { name?: unknown; user?: { token?: unknown; 'token-file'?: unknown } }[]) {
    // As client-node's findToken: the file is read only when there is no token, whatever it holds.
    const file = entry?.user?.token ? undefined : entry?.user?.['token-file'];
    if (!file) continue;
    if (typeof file !== 'string') throw new Error(`${source}: user ${String(entry.name)}: token-file must be a path, got ${JSON.stringify(file)}`);
    try {
      readSmallFile(file, MAX_TLS_FILE_BYTES);
    } catch (err) {
      throw new Error(`${source}: user ${String(entry.name)}: token-file ${file}: cannot read: ${readFailure(err)}`, { cause: err });
    }
  }
}

/**
 * client-node reads the files a kubeconfig names — the cluster's CA, the user's certificate and key
 * — with readFileSync on every request, and the service account's token once a minute: a FIFO there
 * would stop the whole process at the first request, a device fill its memory. Each is checked once
 * at start-up as the kubeconfig was (a regular file, at most MAX_TLS_FILE_BYTES), failing with its
 * name and reason; they are still read where they are, so rotated files are taken up as before.
 */
function checkCredentialFiles(kc: KubeConfig, source: string): void {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser() as (User & { authProvider?: { config?: { tokenFile?: string } } }) | null;
  const files: [string, string | undefined][] = [
    ['certificate-authority', cluster?.caFile],
    ['client-certificate', user?.certFile],
    ['client-key', user?.keyFile],
    ['token-file', user?.authProvider?.config?.tokenFile],
  ];
  for (const [what, path] of files) {
    if (!path) continue;
    try {
      readSmallFile(path, MAX_TLS_FILE_BYTES);
    } catch (err) {
      throw new Error(`${source}: ${what} ${path}: cannot read: ${readFailure(err)}`, { cause: err });
    }
  }
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
/**
 * An API error as a short line: the server's message is its own text, of any length (an 8 MiB
 * Status was logged whole, kept in the reports and sent to Slack), so it is cut.
 */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: unknown } | string | undefined;
    const message = typeof body === 'string' ? tryMessage(body) : body?.message;
    const detail = typeof message === 'string' ? capText(message, API_MESSAGE_CHARS) : undefined;
    return `HTTP ${err.code}${detail ? `: ${detail}` : ''}`;
  }
  return capText(err instanceof Error ? err.message : String(err), API_MESSAGE_CHARS);
}

/** The most characters of an API server's message kept (a quota's or a webhook's fits well). */
const API_MESSAGE_CHARS = 1_000;

function tryMessage(text: string): unknown {
  try {
    return (JSON.parse(text) as { message?: unknown }).message ?? text.slice(0, 200);
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
