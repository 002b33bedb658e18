/**
 * What the fake cluster's controllers talk to: FakeKube's in-process verbs (the same code as HTTP
 * requests: resourceVersion preconditions, 409s, the status subresource, watch events), with the
 * bookkeeping a controller round needs. Every write carries the resourceVersion the controller
 * read, so a write racing the healer's fails with 409 and is redone from a fresh read next round,
 * as a real controller's requeue does. A creation admission refuses (403: a ResourceQuota) writes
 * nothing and is no write: the controller tries again in the next round something else starts —
 * the real one requeues it with back-off — so a round of refusals alone is quiescent.
 */
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { ApiError, type FakeKube } from '../fake-kube.js';
import type { SimClock } from './clock.js';
import type { Wire } from './util.js';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
}

export class ClusterApi {
  /** Writes this round, failed ones (409/404) included: a round without any is quiescent. */
  writes = 0;
  /** Writes refused with 409 Conflict or 404 since the cluster started (the race was lost; redone next round). */
  conflicts = 0;
  /** Creations admission refused (403) since the cluster started. */
  refusals = 0;

  constructor(private readonly kube: FakeKube) {}

  list<T>(apiVersion: string, kind: string, namespace?: string): Wire<T>[] {
    return this.kube.list<Wire<T>>(apiVersion, kind, namespace);
  }

  get<T>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Wire<T> | undefined {
    return this.kube.get<Wire<T>>(apiVersion, kind, namespace, name);
  }

  /** Undefined when it lost a race, or when admission refused it (then `refused` hears the API server's message). */
  create<T extends Obj>(obj: T, refused?: (message: string) => void): T | undefined {
    try {
      return this.attempt(() => this.kube.api.create(obj as KubernetesObject) as unknown as T);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 403) throw err;
      this.refusals++;
      refused?.(err.message);
      return undefined;
    }
  }

  /** PUT of the main resource (spec, metadata), conditional on obj.metadata.resourceVersion. */
  update<T extends Obj>(obj: T): T | undefined {
    return this.attempt(() => this.kube.api.update(obj as KubernetesObject) as unknown as T, obj.metadata?.resourceVersion);
  }

  /** PUT of the status subresource, conditional on obj.metadata.resourceVersion. */
  updateStatus<T extends Obj>(obj: T): T | undefined {
    return this.attempt(() => this.kube.api.update(obj as KubernetesObject, { status: true }) as unknown as T, obj.metadata?.resourceVersion);
  }

  /** DELETE with a uid precondition (never deletes a namesake created since the read). */
  delete(obj: Obj): boolean {
    const m = obj.metadata ?? {};
    const done = this.attempt(() => {
      this.kube.api.delete(obj.apiVersion ?? '', obj.kind ?? '', m.namespace, m.name ?? '', m.uid ? { uid: m.uid } : undefined);
      return true;
    });
    return done === true;
  }

  private attempt<R extends Obj | true>(fn: () => R, sentVersion?: string): R | undefined {
    try {
      const out = fn();
      // An update equal to the stored object is a no-op on the server: no new version, no work done.
      if (out === true || sentVersion === undefined || out.metadata?.resourceVersion !== sentVersion) this.writes++;
      return out;
    } catch (err) {
      if (err instanceof ApiError && (err.code === 409 || err.code === 404)) {
        this.writes++;
        this.conflicts++;
        return undefined;
      }
      throw err;
    }
  }
}

/** What every controller gets. */
export interface Ctx {
  api: ClusterApi;
  clock: SimClock;
  /** Seeded: generated names are the same on every run. */
  random: () => number;
  /** The cluster's node names, in order. */
  nodes: () => string[];
}
