/**
 * A wire-level fake Kubernetes API server for tests: plain HTTP on 127.0.0.1 that answers the
 * real @kubernetes/client-node (typed APIs, Watch, makeInformer) the way kube-apiserver does —
 * resourceVersions, watch streams replayed from an in-memory history, 410 Expired after
 * compaction, optimistic concurrency (409 Conflict), the three patch formats, metav1.Status
 * errors, and pod logs. Tests play the cluster's controllers through put()/remove(), and inject
 * faults with failNext(), dropWatches() and compact().
 *
 * Admission: ResourceQuota's, for pods and memory (fake-quota.ts): a pod created through the API
 * that a quota of its namespace does not admit is refused with 403, as kube-apiserver refuses it,
 * and an admitted one is charged to the quota's status.used. put() is not admitted (it plays the
 * controllers, and the tests' own writes).
 *
 * Validation: names, and the consistency of pod-level resources with the containers' (a pod's, or a
 * workload's pod template's, on create and update: fake-pod-validation.ts), refused with 422
 * Invalid as kube-apiserver refuses them.
 *
 * Not modelled: other admission (LimitRanges are served, not enforced), defaulting and validation
 * beyond those, finalizers and graceful deletion (deletes are immediate), garbage collection of owned objects, namespace lifecycle
 * (objects may live in namespaces that do not exist), server-side apply, dryRun, protobuf.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { fieldErrorText, podSpecErrors, podSpecOf } from './fake-pod-validation.js';
import { admitPod as quotaAdmits, type QuotaObject, type QuotaPod } from './fake-quota.js';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  clone,
  deepEqual,
  isObject,
  PatchError,
} from './fake-kube-patch.js';

// ---------------------------------------------------------------------------------------------
// Resource types
// ---------------------------------------------------------------------------------------------

export interface ResourceType {
  /** API group, '' for the core group (served under /api). */
  group: string;
  version: string;
  kind: string;
  /** The URL segment, e.g. "deployments". */
  plural: string;
  namespaced: boolean;
  /**
   * Has a /status subresource: writes to the main resource keep the stored status (as the real
   * server does), and /status writes change nothing but status.
   */
  statusSubresource?: boolean;
  /** metadata.generation starts at 1 and is bumped whenever spec changes. */
  generation?: boolean;
  /**
   * A write of the main resource that changes metadata.annotations bumps the generation too, and
   * a /status write may change the annotations (without bumping it): apps/v1 Deployments, after
   * the apiserver's deployment strategy ("annotations are copied from deployments to their
   * replica sets"; its status strategy resets only spec and labels).
   */
  annotationsGeneration?: boolean;
  /** DELETE answers with the deleted object (pods) rather than a Success Status. */
  returnsDeletedObject?: boolean;
  /** The status an object created through the API starts with (statusSubresource types). */
  initialStatus?: Record<string, unknown>;
}

const workload = (plural: string, kind: string): ResourceType => ({
  group: 'apps',
  version: 'v1',
  plural,
  kind,
  namespaced: true,
  statusSubresource: true,
  generation: true,
});

export const DEFAULT_RESOURCES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    namespaced: true,
    statusSubresource: true,
    returnsDeletedObject: true,
    initialStatus: { phase: 'Pending' },
  },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  // Served, not enforced: admission (a LimitRange refusing a pod) is not modelled.
  { group: '', version: 'v1', plural: 'limitranges', kind: 'LimitRange', namespaced: true },
  // Enforced when pods are created (admitPod); its status is the quota controller's (cluster/quota.ts).
  { group: '', version: 'v1', plural: 'resourcequotas', kind: 'ResourceQuota', namespaced: true, statusSubresource: true },
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    statusSubresource: true,
    initialStatus: { phase: 'Active' },
  },
  { ...workload('deployments', 'Deployment'), annotationsGeneration: true },
  workload('replicasets', 'ReplicaSet'),
  workload('statefulsets', 'StatefulSet'),
  workload('daemonsets', 'DaemonSet'),
  { group: 'apps', version: 'v1', plural: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  // A separate store from core/v1 events (the real server serves one store through both APIs).
  { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
];

const groupVersion = (rt: ResourceType): string => (rt.group ? `${rt.group}/${rt.version}` : rt.version);
/** "deployments.apps", as the real server names resources in error messages. */
const qualified = (rt: ResourceType): string => (rt.group ? `${rt.plural}.${rt.group}` : rt.plural);

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  /** The URL path, percent-decoded. */
  path: string;
  /** Query parameters (the last value of a repeated one). */
  query: Record<string, string>;
  /** The content-type header, as sent. */
  contentType: string | undefined;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON when it is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
  /** The HTTP status answered (200 for a watch stream, even one that then sends an ERROR event). */
  status?: number;
}

export interface FakeKubeOptions {
  /** Resource types served in addition to DEFAULT_RESOURCES (e.g. a custom resource). */
  resources?: ResourceType[];
  /** The bearer token requests must carry (kubeConfig() uses it). Default "fake-token". */
  token?: string;
  /** The clock creationTimestamps are stamped from (ms since the epoch); default Date.now. Simulated clusters pass theirs. */
  now?: () => number;
}

/** One committed change, as a watch would deliver it. */
export interface FakeKubeChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  apiVersion: string;
  kind: string;
  object: KubernetesObject;
}

/**
 * The API verbs served in-process, through the same code as HTTP requests (resourceVersion
 * preconditions and 409 Conflict, generation, the status subresource, the three patch formats,
 * watch events), but neither recorded in `requests` nor subject to failNext(). For simulated
 * controllers (see cluster/). Failures throw ApiError (`code`, `reason`).
 */
export interface FakeKubeVerbs {
  create<T extends KubernetesObject>(obj: T): T;
  /** PUT: `obj.metadata.resourceVersion`, when set, must be the stored one (else 409). `status` writes the status subresource. */
  update<T extends KubernetesObject>(obj: T, opts?: { status?: boolean }): T;
  patch<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    contentType: string,
    body: unknown,
    opts?: { status?: boolean },
  ): T;
  /** DELETE with optional uid/resourceVersion preconditions. */
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string, preconditions?: { uid?: string; resourceVersion?: string }): void;
}

export interface FailMatch {
  /** HTTP method, case-insensitive; any when omitted. */
  method?: string;
  /** The exact URL path or a pattern tested against it; any when omitted. */
  path?: string | RegExp;
}

export interface FakeKube {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The bearer token the server expects (401 otherwise). */
  readonly token: string;
  /** The current global resourceVersion (the one a list would report). */
  readonly resourceVersion: string;
  /** A client-node KubeConfig for url: insecure http, a bearer-token user, current context "fake" (namespace default). */
  kubeConfig(): KubeConfig;
  /**
   * Create or replace an object the way the cluster's controllers would (no concurrency check):
   * assigns uid and creationTimestamp when absent, a new resourceVersion, sets or bumps
   * metadata.generation when spec changes, or a Deployment's annotations, as a write of the main
   * resource does (an explicit, different generation is kept), and
   * emits ADDED/MODIFIED. Always writes, even when nothing changed. Status is taken as given.
   * Returns the stored copy (wire JSON: timestamps are strings).
   */
  put<T extends KubernetesObject>(obj: T): T;
  get<T = KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): T | undefined;
  /** Stored objects, sorted by namespace and name; all namespaces when namespace is omitted. */
  list<T = KubernetesObject>(apiVersion: string, kind: string, namespace?: string): T[];
  /** Deletes an object (emitting DELETED); false when there was none. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean;
  /** Container logs served by GET .../pods/NAME/log?container=C&previous=true|false&tailLines=N&limitBytes=N. */
  setLogs(namespace: string, pod: string, container: string, text: string, opts?: { previous?: boolean }): void;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** The next `times` requests matching answer `status` with a metav1 Status body instead of being served. */
  failNext(match: FailMatch, status: number, times?: number): void;
  /**
   * Runs `fn` just before the next `times` requests matching are served (after they were
   * received), or answered with a failNext() status: a test plays a controller or a person writing
   * between a client's read and its write, at exactly that moment.
   */
  beforeNext(match: FailMatch, fn: () => void, times?: number): void;
  /**
   * The next `times` requests matching are served — a write is applied — but their answer is lost:
   * the connection is reset (`reset`), or a 504 is answered as a gateway that gave up does
   * (`timeout`). The client cannot tell whether its write landed.
   */
  loseAnswerNext(match: FailMatch, how: 'reset' | 'timeout', times?: number): void;
  /**
   * Close every open watch stream. By default abruptly (the socket is destroyed mid-stream, as a
   * dropped connection or a crashed apiserver does); `graceful` ends the chunked response
   * cleanly, as the server does when a watch's timeout expires.
   */
  dropWatches(opts?: { graceful?: boolean }): void;
  /** A BOOKMARK event to every open watch that asked for them (as the real server sends about once a minute). */
  bookmarkWatches(): void;
  /** Every open watch stream stays open but sends nothing more (a half-open connection); later ones are served. */
  stallWatches(): void;
  /** Open watch streams. */
  activeWatches(): number;
  /**
   * Forget the change history (like etcd compaction): a watch from any resourceVersion older
   * than the current one gets an ERROR event carrying a 410 Expired Status, then the stream ends.
   */
  compact(): void;
  /**
   * A mutating admission webhook: `mutate` changes each object of that kind created from now on
   * (through HTTP or the in-process verbs; not put()) before it is admitted and stored — a service
   * mesh injecting its proxy into pods. Returns the function that removes it.
   */
  mutateOnCreate(apiVersion: string, kind: string, mutate: (obj: KubernetesObject) => void): () => void;
  /** In-process API verbs for simulated controllers (see FakeKubeVerbs). */
  readonly api: FakeKubeVerbs;
  /** Calls `listener` synchronously on every committed change; returns the unsubscribe function. */
  onChange(listener: (change: FakeKubeChange) => void): () => void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors: metav1.Status
// ---------------------------------------------------------------------------------------------

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string = REASONS[code] ?? 'Unknown',
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  status(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

const details = (rt: ResourceType, name: string): Record<string, unknown> => ({
  name,
  ...(rt.group ? { group: rt.group } : {}),
  kind: rt.plural,
});
const notFound = (rt: ResourceType, name: string) =>
  new ApiError(404, `${qualified(rt)} "${name}" not found`, 'NotFound', details(rt, name));
const alreadyExists = (rt: ResourceType, name: string) =>
  new ApiError(409, `${qualified(rt)} "${name}" already exists`, 'AlreadyExists', details(rt, name));
const conflict = (
  rt: ResourceType,
  name: string,
  why = 'the object has been modified; please apply your changes to the latest version and try again',
) => new ApiError(409, `Operation cannot be fulfilled on ${qualified(rt)} "${name}": ${why}`, 'Conflict', details(rt, name));
const invalid = (rt: ResourceType, name: string, why: string) =>
  new ApiError(422, `${rt.kind}${rt.group ? '.' + rt.group : ''} "${name}" is invalid: ${why}`, 'Invalid', details(rt, name));
const badRequest = (message: string) => new ApiError(400, message);

/**
 * Validation of the pod spec an object carries (fake-pod-validation.ts): a 422 as kube-apiserver
 * answers a field.ErrorList (ToAggregate: one error as is, several in brackets), causes included.
 */
function validatePodSpec(rt: ResourceType, obj: Obj): void {
  const target = podSpecOf(rt.kind, obj);
  if (!target) return;
  const errors = podSpecErrors(target.spec, target.path);
  if (errors.length === 0) return;
  const texts = errors.map(fieldErrorText);
  const why = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  const causes = errors.map((e, i) => ({ reason: 'FieldValueInvalid', message: texts[i]!.slice(e.field.length + 2), field: e.field }));
  throw new ApiError(422, `${rt.kind}${rt.group ? '.' + rt.group : ''} "${obj.metadata.name}" is invalid: ${why}`, 'Invalid', { ...details(rt, obj.metadata.name), causes });
}

// ---------------------------------------------------------------------------------------------
// Object store with a change history
// ---------------------------------------------------------------------------------------------

interface Meta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  [key: string]: unknown;
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [key: string]: unknown;
}
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface Change {
  rv: number;
  type: EventType;
  rt: ResourceType;
  object: Obj;
  /** The version replaced (MODIFIED), so selector-filtered watches can turn it into ADDED/DELETED. */
  previous?: Obj;
}

const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

class Store {
  /** The global resourceVersion: every write increments it. Never "0", which means "any" to a watch. */
  rv = 1;
  /** Changes up to here are forgotten; watching from an older version gets 410. */
  compactedRv = 0;
  history: Change[] = [];
  readonly listeners = new Set<(c: Change) => void>();
  private readonly objects = new Map<ResourceType, Map<string, Obj>>();

  private bucket(rt: ResourceType): Map<string, Obj> {
    let m = this.objects.get(rt);
    if (!m) this.objects.set(rt, (m = new Map()));
    return m;
  }

  /** The stored object itself: callers must not mutate it. */
  peek(rt: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    return this.bucket(rt).get(objectKey(namespace, name));
  }

  /** Stored objects (not copies) in key order, as etcd lists them. */
  scan(rt: ResourceType, namespace?: string): Obj[] {
    return [...this.bucket(rt).entries()]
      .filter(([, o]) => namespace === undefined || o.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o);
  }

  /** Commits one write: stamps the next resourceVersion, records it and tells the watchers. */
  commit(rt: ResourceType, type: EventType, obj: Obj): Obj {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const previous = this.bucket(rt).get(key);
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    if (type === 'DELETED') this.bucket(rt).delete(key);
    else this.bucket(rt).set(key, stored);
    const change: Change = { rv: this.rv, type, rt, object: stored, ...(previous ? { previous } : {}) };
    this.history.push(change);
    for (const listener of this.listeners) listener(change);
    return clone(stored);
  }

  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const nowTimestamp = (now: () => number = Date.now) => new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---------------------------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------------------------

type Predicate = (obj: Obj) => boolean;

/** Splits on commas outside parentheses ("a in (x,y),b" → two terms). */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
const VALUE = '[-A-Za-z0-9_.]*';

/** Label selectors: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b). */
export function parseLabelSelector(selector: string): (labels: Record<string, string>) => boolean {
  const reqs = splitTerms(selector).map((term): ((l: Record<string, string>) => boolean) => {
    let m: RegExpMatchArray | null;
    if ((m = term.match(new RegExp(`^!\\s*(${KEY})$`)))) {
      const k = m[1];
      return (l) => !(k in l);
    }
    if ((m = term.match(new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`)))) {
      const [, k, op, list] = m;
      const values = list.split(',').map((v) => v.trim());
      return op === 'in' ? (l) => k in l && values.includes(l[k]) : (l) => !(k in l) || !values.includes(l[k]);
    }
    if ((m = term.match(new RegExp(`^(${KEY})\\s*(==|!=|=)\\s*(${VALUE})$`)))) {
      const [, k, op, v] = m;
      return op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v;
    }
    if ((m = term.match(new RegExp(`^(${KEY})$`)))) {
      const k = m[1];
      return (l) => k in l;
    }
    throw badRequest(`unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`);
  });
  return (labels) => reqs.every((r) => r(labels));
}

/** Field selectors: path=v, path==v, path!=v on any dotted path (metadata.name, status.phase, ...). */
function parseFieldSelector(selector: string): Predicate {
  const reqs = splitTerms(selector).map((term): Predicate => {
    const m = term.match(/^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid field selector: '${term}'`);
    const [, path, op, value] = m;
    return (obj) => {
      let v: unknown = obj;
      for (const p of path.split('.')) v = isObject(v) ? v[p] : undefined;
      const actual = v === undefined || v === null ? '' : String(v);
      return op === '!=' ? actual !== value : actual === value;
    };
  });
  return (obj) => reqs.every((r) => r(obj));
}

function selectorFor(namespace: string | undefined, query: URLSearchParams): Predicate {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  return (obj) =>
    (namespace === undefined || obj.metadata.namespace === namespace) && labels(obj.metadata.labels ?? {}) && fields(obj);
}

// ---------------------------------------------------------------------------------------------
// Object preparation, shared by the HTTP verbs and put()
// ---------------------------------------------------------------------------------------------

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** The body as an object of this resource type: checks apiVersion/kind, fills them in when absent. */
function asObject(rt: ResourceType, body: unknown): Obj {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  const obj = clone(body) as unknown as Obj;
  if (obj.apiVersion !== undefined && obj.apiVersion !== groupVersion(rt)) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${groupVersion(rt)})`);
  }
  if (obj.kind !== undefined && obj.kind !== rt.kind) {
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${rt.kind})`);
  }
  obj.apiVersion = groupVersion(rt);
  obj.kind = rt.kind;
  if (!isObject(obj.metadata)) obj.metadata = {} as Meta;
  return obj;
}

/** The generation an update leaves: bumped when spec changed (or, for a Deployment, its annotations). */
function nextGeneration(rt: ResourceType, stored: Obj, next: Obj): number | undefined {
  if (!rt.generation) return stored.metadata.generation;
  const gen = stored.metadata.generation ?? 1;
  // Semantic.DeepEqual: no annotations and an empty map are equal.
  const annotationsChanged = rt.annotationsGeneration && !deepEqual(stored.metadata.annotations ?? {}, next.metadata.annotations ?? {});
  return deepEqual(stored.spec, next.spec) && !annotationsChanged ? gen : gen + 1;
}

/** Equal but for resourceVersion: the real server turns such an update into a no-op. */
function sameContent(a: Obj, b: Obj): boolean {
  return deepEqual({ ...a, metadata: { ...a.metadata, resourceVersion: '' } }, { ...b, metadata: { ...b.metadata, resourceVersion: '' } });
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

interface Watcher {
  /** Unregisters the watch, then ends the response cleanly, destroys its socket, or (closed already) neither. */
  stop(how?: 'end' | 'destroy'): void;
  /** A BOOKMARK at the current resourceVersion, if the watch asked for them (allowWatchBookmarks). */
  bookmark(): void;
  /** Sends nothing more, yet stays open: a half-open connection. */
  stall(): void;
}

interface Route {
  rt: ResourceType;
  /** Undefined for cluster-scoped resources and all-namespaces collections. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const token = options.token ?? 'fake-token';
  const resources = [...DEFAULT_RESOURCES, ...(options.resources ?? [])];
  const store = new Store();
  const requests: RecordedRequest[] = [];
  const failures: { match: FailMatch; status: number; remaining: number }[] = [];
  const hooks: { match: FailMatch; fn: () => void; remaining: number }[] = [];
  const mutators: { rt: ResourceType; mutate: (obj: KubernetesObject) => void }[] = [];
  const lost: { match: FailMatch; how: 'reset' | 'timeout'; remaining: number }[] = [];
  const watchers = new Set<Watcher>();
  /** namespace/pod/container/current|previous → log text */
  const logs = new Map<string, string>();
  const logKey = (ns: string, pod: string, container: string, previous: boolean) =>
    `${ns}/${pod}/${container}/${previous ? 'previous' : 'current'}`;

  const typeFor = (apiVersion: string, kind: string): ResourceType => {
    const rt = resources.find((r) => groupVersion(r) === apiVersion && r.kind === kind);
    if (!rt) throw new Error(`fake-kube: no resource type ${apiVersion} ${kind}`);
    return rt;
  };

  // --- routing --------------------------------------------------------------------------------

  /** A resource route, or undefined when the path names no known resource. */
  function parseRoute(segments: string[]): Route | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api') [group, version, rest] = ['', segments[1], segments.slice(2)];
    else if (segments[0] === 'apis') [group, version, rest] = [segments[1], segments[2], segments.slice(3)];
    else return undefined;
    const lookup = (plural: string | undefined) =>
      resources.find((r) => r.group === group && r.version === version && r.plural === plural);
    // namespaces/NS/PLURAL[/NAME[/SUB]]; but namespaces/NAME[/SUB] is the Namespace itself.
    const inNamespace = rest[0] === 'namespaces' && rest.length >= 3 ? lookup(rest[2]) : undefined;
    if (inNamespace?.namespaced) {
      if (rest.length > 5) return undefined;
      return { rt: inNamespace, namespace: rest[1], name: rest[3], subresource: rest[4] };
    }
    const rt = lookup(rest[0]);
    if (!rt) return undefined;
    if (rt.namespaced) return rest.length === 1 ? { rt } : undefined; // the all-namespaces collection
    if (rest.length > 3) return undefined;
    return { rt, name: rest[1], subresource: rest[2] };
  }

  function discovery(segments: string[]): unknown {
    const path = segments.join('/');
    if (path === 'api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    const groups = [...new Set(resources.filter((r) => r.group).map(groupVersion))];
    if (path === 'apis') {
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((gv) => {
          const [name, version] = gv.split('/');
          const v = { groupVersion: gv, version };
          return { name, versions: [v], preferredVersion: v };
        }),
      };
    }
    const gv = segments[0] === 'api' && segments.length === 2 ? segments[1] : segments[0] === 'apis' && segments.length === 3 ? `${segments[1]}/${segments[2]}` : undefined;
    const served = resources.filter((r) => groupVersion(r) === gv);
    if (gv === undefined || served.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: gv,
      resources: served.flatMap((r) => {
        const sub = (name: string, verbs: string[]) => ({ name: `${r.plural}/${name}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs });
        return [
          {
            name: r.plural,
            singularName: r.kind.toLowerCase(),
            namespaced: r.namespaced,
            kind: r.kind,
            verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          },
          ...(r.statusSubresource ? [sub('status', ['get', 'patch', 'update'])] : []),
          ...(r.kind === 'Pod' && r.group === '' ? [sub('log', ['get'])] : []),
        ];
      }),
    };
  }

  function handle(method: string, url: URL, contentType: string | undefined, body: unknown, res: ServerResponse): void {
    const segments = url.pathname.split('/').filter((s) => s !== '').map(safeDecode);
    if (segments.length === 1 && ['healthz', 'livez', 'readyz'].includes(segments[0])) {
      return sendText(res, 200, 'ok');
    }
    if (segments.length === 1 && segments[0] === 'version') {
      return sendJson(res, 200, { major: '1', minor: '34', gitVersion: 'v1.34.0-fake', platform: 'linux/amd64' });
    }
    const route = parseRoute(segments);
    if (!route) {
      const doc = method === 'GET' ? discovery(segments) : undefined;
      if (doc) return sendJson(res, 200, doc);
      throw new ApiError(404, 'the server could not find the requested resource', 'NotFound', {});
    }
    const { rt, namespace, name, subresource } = route;
    const query = url.searchParams;
    if (name === undefined) {
      if (method === 'GET') {
        const watch = query.get('watch');
        return watch === 'true' || watch === '1' ? serveWatch(res, rt, namespace, query) : sendJson(res, 200, listBody(rt, namespace, query));
      }
      if (method === 'POST' && (namespace !== undefined || !rt.namespaced)) return sendJson(res, 201, create(rt, namespace, body));
      if (method === 'DELETE') return sendJson(res, 200, deleteCollection(rt, namespace, query));
      throw new ApiError(405, `the server does not allow this method on the requested resource`);
    }
    if (subresource === undefined) {
      switch (method) {
        case 'GET':
          return sendJson(res, 200, read(rt, namespace, name));
        case 'PUT':
          return sendJson(res, 200, update(rt, namespace, name, asObject(rt, body), false));
        case 'PATCH':
          return sendJson(res, 200, patch(rt, namespace, name, contentType, body, false));
        case 'DELETE':
          return sendJson(res, 200, remove(rt, namespace, name, body));
      }
    } else if (subresource === 'status' && rt.statusSubresource) {
      switch (method) {
        case 'GET':
          return sendJson(res, 200, read(rt, namespace, name));
        case 'PUT':
          return sendJson(res, 200, update(rt, namespace, name, asObject(rt, body), true));
        case 'PATCH':
          return sendJson(res, 200, patch(rt, namespace, name, contentType, body, true));
      }
    } else if (subresource === 'log' && rt.kind === 'Pod' && rt.group === '' && namespace !== undefined) {
      if (method === 'GET') return sendText(res, 200, podLog(namespace, name, query));
    } else {
      throw new ApiError(404, 'the server could not find the requested resource', 'NotFound', {});
    }
    throw new ApiError(405, `the server does not allow this method on the requested resource`);
  }

  // --- verbs ------------------------------------------------------------------------------------

  function read(rt: ResourceType, namespace: string | undefined, name: string): Obj {
    const stored = store.peek(rt, namespace, name);
    if (!stored) throw notFound(rt, name);
    return stored;
  }

  function listBody(rt: ResourceType, namespace: string | undefined, query: URLSearchParams): unknown {
    const matches = selectorFor(namespace, query);
    let items = store.scan(rt, namespace).filter(matches);
    // Pagination: the continue token is the key of the last item served.
    const after = query.get('continue');
    if (after) {
      const last = Buffer.from(after, 'base64url').toString();
      items = items.filter((o) => objectKey(o.metadata.namespace, o.metadata.name) > last);
    }
    const limit = Number(query.get('limit') ?? 0);
    const more = limit > 0 && items.length > limit ? items.length - limit : 0;
    if (more) items = items.slice(0, limit);
    const lastItem = items[items.length - 1];
    return {
      kind: `${rt.kind}List`,
      apiVersion: groupVersion(rt),
      metadata: {
        resourceVersion: String(store.rv),
        ...(more
          ? {
              continue: Buffer.from(objectKey(lastItem.metadata.namespace, lastItem.metadata.name)).toString('base64url'),
              remainingItemCount: more,
            }
          : {}),
      },
      // Items of a typed list carry no apiVersion/kind on the wire.
      items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }

  function create(rt: ResourceType, namespace: string | undefined, body: unknown): Obj {
    const obj = asObject(rt, body);
    const meta = obj.metadata;
    if (rt.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) {
      do {
        meta.name = meta.generateName + Array.from({ length: 5 }, () => GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)]).join('');
      } while (store.peek(rt, meta.namespace, meta.name));
    }
    if (!meta.name) throw invalid(rt, '', 'metadata.name: Required value: name or generateName is required');
    if (!NAME_RE.test(meta.name) || meta.name.length > 253) {
      throw invalid(rt, meta.name, `metadata.name: Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    }
    if (meta.resourceVersion) {
      throw new ApiError(500, 'resourceVersion should not be set on objects to be created');
    }
    if (store.peek(rt, meta.namespace, meta.name)) throw alreadyExists(rt, meta.name);
    // Mutating admission runs before validating admission (a quota sees the injected containers).
    for (const m of mutators) if (m.rt === rt) m.mutate(obj as unknown as KubernetesObject);
    validatePodSpec(rt, obj);
    if (rt.kind === 'Pod' && rt.group === '') admitPod(rt, obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp(options.now);
    delete meta.deletionTimestamp;
    if (rt.generation) meta.generation = 1;
    else delete meta.generation;
    if (rt.statusSubresource) obj.status = clone(rt.initialStatus ?? {});
    return store.commit(rt, 'ADDED', obj);
  }

  /**
   * The ResourceQuota admission plugin: a pod every quota of its namespace admits is charged to
   * them (their status.used); one that a quota refuses is refused with 403 Forbidden, nothing written.
   */
  function admitPod(podType: ResourceType, pod: Obj): void {
    const quotaType = typeFor('v1', 'ResourceQuota');
    const charged: Obj[] = [];
    for (const q of store.scan(quotaType, pod.metadata.namespace)) {
      const verdict = quotaAdmits(q as QuotaObject, pod as QuotaPod);
      if (verdict === null) continue;
      if ('refused' in verdict) throw new ApiError(403, `pods "${pod.metadata.name}" is forbidden: ${verdict.refused}`, 'Forbidden', details(podType, pod.metadata.name));
      charged.push({ ...q, status: { ...(isObject(q.status) ? q.status : {}), used: verdict.used } });
    }
    for (const q of charged) store.commit(quotaType, 'MODIFIED', q);
  }

  /**
   * PUT, and the tail of PATCH: checks identity and the optimistic-concurrency resourceVersion,
   * keeps what the server owns (uid, creationTimestamp, generation, status or everything but
   * status), and writes unless nothing changed.
   */
  function update(rt: ResourceType, namespace: string | undefined, name: string, obj: Obj, statusOnly: boolean): Obj {
    const stored = read(rt, namespace, name);
    const meta = obj.metadata;
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (rt.namespaced && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (meta.resourceVersion && meta.resourceVersion !== stored.metadata.resourceVersion) throw conflict(rt, name);
    if (meta.uid && meta.uid !== stored.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${stored.metadata.uid}, UID in object meta: ${meta.uid}`);
    }
    let next: Obj;
    if (statusOnly) {
      next = clone(stored);
      if (obj.status === undefined) delete next.status;
      else next.status = clone(obj.status);
      if (rt.annotationsGeneration) {
        if (meta.annotations === undefined) delete next.metadata.annotations;
        else next.metadata.annotations = clone(meta.annotations);
      }
    } else {
      next = obj;
      next.metadata = {
        ...meta,
        name,
        ...(rt.namespaced ? { namespace } : {}),
        uid: stored.metadata.uid,
        creationTimestamp: stored.metadata.creationTimestamp,
      };
      if (!rt.namespaced) delete next.metadata.namespace;
      const generation = nextGeneration(rt, stored, next);
      if (generation === undefined) delete next.metadata.generation;
      else next.metadata.generation = generation;
      if (rt.statusSubresource) {
        if (stored.status === undefined) delete next.status;
        else next.status = clone(stored.status);
      }
    }
    next.metadata.resourceVersion = stored.metadata.resourceVersion;
    if (sameContent(next, stored)) return stored;
    if (!statusOnly) validatePodSpec(rt, next);
    return store.commit(rt, 'MODIFIED', next);
  }

  function patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string | undefined,
    body: unknown,
    statusOnly: boolean,
  ): Obj {
    const stored = read(rt, namespace, name);
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
    let patched: unknown;
    try {
      if (type === 'application/json-patch+json') patched = applyJsonPatch(stored, body);
      else if (type === 'application/merge-patch+json') patched = applyMergePatch(stored, body);
      else if (type === 'application/strategic-merge-patch+json') patched = applyStrategicMergePatch(stored, body);
      else throw new ApiError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      if (err.status !== 422) throw badRequest(err.message);
      // A JSON patch that does not apply (a failed `test` among them) is answered as the real
      // server answers it (NewGenericServerResponse in the apiserver's patch handler): 422
      // Invalid with a generic message; the json-patch library's own text is not sent.
      if (type === 'application/json-patch+json') throw new ApiError(422, 'the server rejected our request due to an error in our request', 'Invalid', {});
      throw new ApiError(422, err.message);
    }
    if (!isObject(patched) || !isObject(patched.metadata)) throw invalid(rt, name, 'metadata: Required value');
    // A patch that leaves metadata.resourceVersion alone carries the stored one: unconditional.
    return update(rt, namespace, name, asObject(rt, { ...patched, apiVersion: groupVersion(rt), kind: rt.kind }), statusOnly);
  }

  function remove(rt: ResourceType, namespace: string | undefined, name: string, body: unknown): unknown {
    const stored = read(rt, namespace, name);
    const pre = isObject(body) && isObject(body.preconditions) ? body.preconditions : {};
    if (typeof pre.uid === 'string' && pre.uid !== stored.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${stored.metadata.uid}`);
    }
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== stored.metadata.resourceVersion) {
      throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion}`);
    }
    const deleted = store.commit(rt, 'DELETED', stored);
    if (rt.returnsDeletedObject) return deleted;
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...details(rt, name), uid: stored.metadata.uid } };
  }

  function deleteCollection(rt: ResourceType, namespace: string | undefined, query: URLSearchParams): unknown {
    const matches = selectorFor(namespace, query);
    const deleted = store.scan(rt, namespace).filter(matches).map((o) => store.commit(rt, 'DELETED', o));
    return { kind: `${rt.kind}List`, apiVersion: groupVersion(rt), metadata: { resourceVersion: String(store.rv) }, items: deleted };
  }

  function podLog(namespace: string, name: string, query: URLSearchParams): string {
    const pod = read(typeFor('v1', 'Pod'), namespace, name);
    const spec = isObject(pod.spec) ? pod.spec : {};
    const names = (['containers', 'initContainers', 'ephemeralContainers'] as const).flatMap((f) =>
      Array.isArray(spec[f]) ? (spec[f] as { name: string }[]).map((c) => c.name) : [],
    );
    // A pod put without containers: the containers are the ones with logs.
    if (names.length === 0) {
      const prefix = `${namespace}/${name}/`;
      for (const k of logs.keys()) if (k.startsWith(prefix)) names.push(k.slice(prefix.length).replace(/\/(current|previous)$/, ''));
    }
    const specContainers = Array.isArray(spec.containers) ? spec.containers.length : new Set(names).size;
    let container = query.get('container') ?? '';
    if (!container) {
      if (specContainers !== 1) {
        throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${[...new Set(names)].join(' ')}]`);
      }
      container = names[0];
    }
    if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    const previous = query.get('previous') === 'true';
    let text = logs.get(logKey(namespace, name, container, previous));
    if (text === undefined) {
      if (previous) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
      text = '';
    }
    const tail = query.get('tailLines');
    if (tail !== null) {
      const n = Number(tail);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid tailLines ${tail}`);
      const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
      text = n === 0 ? '' : lines.slice(-n).join('');
    }
    const limitBytes = query.get('limitBytes');
    if (limitBytes !== null) text = Buffer.from(text).subarray(0, Number(limitBytes)).toString();
    return text;
  }

  /**
   * A watch: a chunked stream of newline-delimited events. From resourceVersion "" or "0" it
   * starts with a synthetic ADDED per current object; from N it replays every change after N from
   * the history (410 Expired if compacted away), then streams live changes.
   */
  function serveWatch(res: ServerResponse, rt: ResourceType, namespace: string | undefined, query: URLSearchParams): void {
    const matches = selectorFor(namespace, query); // a bad selector answers 400 before the stream starts
    const from = query.get('resourceVersion') ?? '';
    if (from !== '' && !/^\d+$/.test(from)) throw badRequest(`invalid resource version: ${from}`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders(); // the client awaits the headers before reading events
    const send = (type: string, object: unknown) => {
      if (!res.writableEnded) res.write(JSON.stringify({ type, object }) + '\n');
    };

    // A change as this watcher sees it: an update that moves an object into (out of) its
    // selector is an ADDED (DELETED), as the real server's filtered watches do.
    const deliver = (c: Change) => {
      if (c.rt !== rt) return;
      const now = matches(c.object);
      const before = c.type === 'MODIFIED' && c.previous !== undefined && matches(c.previous);
      if (c.type === 'ADDED' && now) send('ADDED', c.object);
      else if (c.type === 'DELETED' && now) send('DELETED', c.object);
      else if (c.type === 'MODIFIED' && (now || before)) send(now && before ? 'MODIFIED' : now ? 'ADDED' : 'DELETED', c.object);
    };

    if (from === '' || from === '0') {
      for (const obj of store.scan(rt, namespace)) if (matches(obj)) send('ADDED', obj);
    } else if (Number(from) < store.compactedRv) {
      send('ERROR', new ApiError(410, `too old resource version: ${from} (${store.compactedRv})`, 'Expired').status());
      res.end();
      return;
    } else {
      for (const c of store.history) if (c.rv > Number(from)) deliver(c);
    }

    const bookmarks = query.get('allowWatchBookmarks') === 'true';
    let stalled = false;
    const watcher: Watcher = {
      bookmark() {
        if (bookmarks && !stalled) send('BOOKMARK', { kind: rt.kind, apiVersion: groupVersion(rt), metadata: { resourceVersion: String(store.rv) } });
      },
      stall() {
        stalled = true;
        clearTimeout(timer); // no clean end at timeoutSeconds either
        store.listeners.delete(deliver);
      },
      stop(how) {
        clearTimeout(timer);
        watchers.delete(watcher);
        store.listeners.delete(deliver);
        if (how === 'end') res.end();
        else if (how === 'destroy') res.destroy();
      },
    };
    watchers.add(watcher);
    store.listeners.add(deliver);
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => watcher.stop('end'), timeout * 1000) : undefined;
    res.on('close', () => watcher.stop());
  }

  // --- HTTP plumbing ----------------------------------------------------------------------------

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function sendText(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function sendError(res: ServerResponse, err: ApiError): void {
    if (err.code === 429 || err.code === 503) res.setHeader('Retry-After', '1');
    sendJson(res, err.code, err.status());
  }

  const matchesRequest = (match: FailMatch, method: string, path: string) =>
    (match.method === undefined || match.method.toUpperCase() === method) &&
    (match.path === undefined || (typeof match.path === 'string' ? match.path === path : match.path.test(path)));

  function takeFailure(method: string, path: string): number | undefined {
    const f = failures.find(({ match, remaining }) => remaining > 0 && matchesRequest(match, method, path));
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining === 0) failures.splice(failures.indexOf(f), 1);
    return f.status;
  }

  function takeLost(method: string, path: string): 'reset' | 'timeout' | undefined {
    const l = lost.find(({ match, remaining }) => remaining > 0 && matchesRequest(match, method, path));
    if (!l) return undefined;
    if (--l.remaining === 0) lost.splice(lost.indexOf(l), 1);
    return l.how;
  }

  function runHooks(method: string, path: string): void {
    for (const h of hooks.filter(({ match, remaining }) => remaining > 0 && matchesRequest(match, method, path))) {
      h.remaining--;
      if (h.remaining === 0) hooks.splice(hooks.indexOf(h), 1);
      h.fn();
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = (req.method ?? 'GET').toUpperCase();
      const path = safeDecode(url.pathname);
      const text = Buffer.concat(chunks).toString();
      const contentType = req.headers['content-type'];
      const recorded: RecordedRequest = {
        method,
        path,
        query: Object.fromEntries(url.searchParams),
        contentType,
        headers: req.headers,
        body: undefined,
      };
      requests.push(recorded);
      try {
        if (text !== '') {
          if (/json/i.test(contentType ?? '')) {
            try {
              recorded.body = JSON.parse(text);
            } catch {
              recorded.body = text;
              throw badRequest(`the request body is not valid JSON`);
            }
          } else recorded.body = text;
        }
        if (req.headers.authorization !== `Bearer ${token}`) throw new ApiError(401, 'Unauthorized');
        // A hook's write lands first, also before an injected failure: another client's write, then
        // the conflict (409) a server that gave up retrying answers for it.
        runHooks(method, path);
        const injected = takeFailure(method, path);
        if (injected !== undefined) throw new ApiError(injected, `injected failure (${injected})`);
        const lose = takeLost(method, path);
        if (lose) {
          // Served into a response no one reads, then the real answer is lost.
          const sink = new http.ServerResponse(req);
          handle(method, url, contentType, recorded.body, sink);
          recorded.status = sink.statusCode;
          if (lose === 'reset') res.destroy();
          else sendError(res, new ApiError(504, 'the server was unable to return a response in the time allotted'));
          return;
        }
        handle(method, url, contentType, recorded.body, res);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
        } else if (err instanceof ApiError) {
          sendError(res, err);
        } else {
          sendError(res, new ApiError(500, `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`));
        }
      }
      recorded.status = res.statusCode; // every handler answers (or starts its stream) synchronously
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // --- the test-facing API ----------------------------------------------------------------------

  const fake: FakeKube = {
    url,
    token,
    get resourceVersion() {
      return String(store.rv);
    },
    requests,

    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }], // client-node refuses http:// without skipTLSVerify
        users: [{ name: 'fake', token }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
        currentContext: 'fake',
      });
      return kc;
    },

    put<T extends KubernetesObject>(input: T): T {
      const rt = typeFor(input.apiVersion ?? '', input.kind ?? '');
      const obj = clone(input) as unknown as Obj;
      const meta = obj.metadata;
      if (!meta?.name) throw new Error('fake-kube put: metadata.name is required');
      if (rt.namespaced && !meta.namespace) throw new Error(`fake-kube put: ${rt.kind} ${meta.name} needs metadata.namespace`);
      if (!rt.namespaced) delete meta.namespace;
      const stored = store.peek(rt, meta.namespace, meta.name);
      meta.uid ??= stored?.metadata.uid ?? randomUUID();
      meta.creationTimestamp ??= stored?.metadata.creationTimestamp ?? nowTimestamp(options.now);
      if (rt.generation) {
        const explicit = meta.generation !== undefined && meta.generation !== stored?.metadata.generation;
        if (!explicit) meta.generation = stored ? nextGeneration(rt, stored, obj) : 1;
      }
      return store.commit(rt, stored ? 'MODIFIED' : 'ADDED', obj) as unknown as T;
    },

    get<T>(apiVersion: string, kind: string, namespace: string | undefined, name: string): T | undefined {
      const rt = typeFor(apiVersion, kind);
      return clone(store.peek(rt, rt.namespaced ? namespace : undefined, name)) as T | undefined;
    },

    list<T>(apiVersion: string, kind: string, namespace?: string): T[] {
      return clone(store.scan(typeFor(apiVersion, kind), namespace)) as T[];
    },

    remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
      const rt = typeFor(apiVersion, kind);
      const stored = store.peek(rt, rt.namespaced ? namespace : undefined, name);
      if (stored) store.commit(rt, 'DELETED', stored);
      return stored !== undefined;
    },

    setLogs(namespace, pod, container, text, opts = {}) {
      logs.set(logKey(namespace, pod, container, opts.previous ?? false), text);
    },

    failNext(match, status, times = 1) {
      failures.push({ match, status, remaining: times });
    },

    beforeNext(match, fn, times = 1) {
      hooks.push({ match, fn, remaining: times });
    },

    loseAnswerNext(match, how, times = 1) {
      lost.push({ match, how, remaining: times });
    },

    dropWatches(opts = {}) {
      for (const w of [...watchers]) w.stop(opts.graceful ? 'end' : 'destroy');
    },

    bookmarkWatches() {
      for (const w of watchers) w.bookmark();
    },

    stallWatches() {
      for (const w of watchers) w.stall();
    },

    activeWatches: () => watchers.size,

    compact: () => store.compact(),

    mutateOnCreate(apiVersion, kind, mutate) {
      const m = { rt: typeFor(apiVersion, kind), mutate };
      mutators.push(m);
      return () => {
        const i = mutators.indexOf(m);
        if (i >= 0) mutators.splice(i, 1);
      };
    },

    api: {
      create<T extends KubernetesObject>(obj: T): T {
        const rt = typeFor(obj.apiVersion ?? '', obj.kind ?? '');
        return clone(create(rt, rt.namespaced ? obj.metadata?.namespace : undefined, obj)) as unknown as T;
      },
      update<T extends KubernetesObject>(obj: T, opts: { status?: boolean } = {}): T {
        const rt = typeFor(obj.apiVersion ?? '', obj.kind ?? '');
        const name = obj.metadata?.name ?? '';
        return clone(update(rt, rt.namespaced ? obj.metadata?.namespace : undefined, name, asObject(rt, obj), opts.status ?? false)) as unknown as T;
      },
      patch<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string, contentType: string, body: unknown, opts: { status?: boolean } = {}): T {
        const rt = typeFor(apiVersion, kind);
        return clone(patch(rt, rt.namespaced ? namespace : undefined, name, contentType, body, opts.status ?? false)) as unknown as T;
      },
      delete(apiVersion, kind, namespace, name, preconditions) {
        const rt = typeFor(apiVersion, kind);
        remove(rt, rt.namespaced ? namespace : undefined, name, preconditions ? { preconditions } : undefined);
      },
    },

    onChange(listener) {
      const deliver = (c: Change) => listener({ type: c.type, apiVersion: groupVersion(c.rt), kind: c.rt.kind, object: c.object as unknown as KubernetesObject });
      store.listeners.add(deliver);
      return () => void store.listeners.delete(deliver);
    },

    async close() {
      fake.dropWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return fake;
}
