/**
 * Helpers shared by the fake cluster's controllers: wire types, hashing, label selectors,
 * int-or-percent, quantities, owner references, seeded names.
 */
import { createHash } from 'node:crypto';
import type { V1LabelSelector, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';

/** A client-node type as it travels on the wire and as FakeKube stores it: timestamps are strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export interface Meta {
  metadata?: Wire<V1ObjectMeta>;
}

/**
 * Canonical form for semantic equality, as apimachinery's DeepEqual sees it for our purpose: keys
 * sorted, null and undefined members dropped, empty maps and lists equal to absent ones.
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical((value as Record<string, unknown>)[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value === null ? undefined : value;
}

export const semanticEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A short hash in the style of the controllers' names ("web-7d4b9c6f5d"): 32-bit FNV-1a of the
 * canonical JSON (plus a collision count), its decimal digits mapped onto the vowel-free
 * alphabet the real controllers use so names never spell words.
 */
export function shortHash(value: unknown, collisionCount = 0): string {
  const text = JSON.stringify(canonical(value)) + (collisionCount > 0 ? `#${collisionCount}` : '');
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A seeded generator (the training data's mulberry32), so a cluster's pod names are the same on every run. */
export { rng as seededRandom } from '../../forecast/lstm/dataset.js';

/** The 5-character suffix of a generated name (`generateName`), from the same alphabet. */
export const randomSuffix = (random: () => number): string =>
  Array.from({ length: 5 }, () => SAFE[Math.floor(random() * SAFE.length)]).join('');

/** A metav1.LabelSelector as a predicate (matchLabels and matchExpressions). An empty selector matches everything. */
export function selectorMatches(selector: Wire<V1LabelSelector> | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = e.key in l;
    const values = e.values ?? [];
    const ok =
      e.operator === 'In' ? has && values.includes(l[e.key]) :
      e.operator === 'NotIn' ? !has || !values.includes(l[e.key]) :
      e.operator === 'Exists' ? has :
      e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}

/** The controller ownerReference for an object owned by `owner`. */
export function controllerRef(owner: { apiVersion?: string; kind?: string; metadata?: Wire<V1ObjectMeta> }): Wire<V1OwnerReference> {
  return {
    apiVersion: owner.apiVersion ?? 'apps/v1',
    kind: owner.kind ?? '',
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when `obj`'s controller ownerReference points at the object with uid `uid`. */
export function controlledBy(obj: Meta, uid: string | undefined): boolean {
  return uid !== undefined && (obj.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

/**
 * An IntOrString such as maxSurge ("25%" or 1) against a total. Percentages round up for surge
 * and down for unavailability, as the Deployment controller rounds them.
 */
export function intOrPercent(value: number | string | undefined, fallback: number | string, total: number, roundUp: boolean): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) return Number.isFinite(Number(v)) ? Number(v) : 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

const SUFFIX: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A memory quantity ("256Mi", "1G", "134217728", "1e9") in bytes; undefined when unreadable. */
export function bytesOf(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  if (typeof quantity === 'number') return quantity;
  const m = /^([0-9.]+(?:[eE][-+]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(quantity.trim());
  return m ? Number(m[1]) * SUFFIX[m[2] ?? ''] : undefined;
}

/** Seconds as Go prints a time.Duration ("10s", "2m40s", "5m0s"), as the kubelet's back-off messages do. */
export function goDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${seconds % 60}s` : `${Math.floor(m / 60)}h${m % 60}m${seconds % 60}s`;
}

/** Labels minus one key. */
export function without(labels: Record<string, string> | undefined, key: string): Record<string, string> {
  const out = { ...(labels ?? {}) };
  delete out[key];
  return out;
}
