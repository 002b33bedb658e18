/**
 * Guard rails that decide whether the healer may touch a workload at all, before any plan is made.
 * Pure: the I/O (reading the workload, its namespace, VPAs) happens in the caller.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { HEAL_RULES, type HealRules } from './rules.js';

/** Namespaces never touched, whatever the configuration says. */
export const PROTECTED_NAMESPACES: ReadonlySet<string> = new Set(['kube-system']);

/** Which GitOps tool manages a workload, by which key, and whether that key is unambiguous. */
export interface GitOpsManager {
  tool: GitOpsTool;
  /** `label k=v` or `annotation k=v`, for the report. */
  evidence: string;
  /**
   * False for keys other tools set too — `app.kubernetes.io/instance` (Helm), `kapp.k14s.io/app`
   * (the kapp CLI run once, which does not sync): "possibly"; the operator's
   * `amadeus.io/gitops: "none"` clears them.
   */
  certain: boolean;
  /** Why it is only "possibly", for the report. */
  doubt?: string;
}

export type GitOpsTool = 'argocd' | 'flux' | 'config-sync' | 'fleet' | 'kapp';

/** The tools' names as their users know them, for reports. */
export const GITOPS_TOOL_NAMES: Readonly<Record<GitOpsTool, string>> = {
  argocd: 'Argo CD',
  flux: 'Flux',
  'config-sync': 'Config Sync',
  fleet: 'Rancher Fleet or another Rancher controller',
  kapp: 'kapp-controller',
};

/** A key that marks what a tool applied; `value` when only some values of it do. */
type Mark = { key: string; value?: (v: string) => boolean };

/**
 * Keys GitOps tools put on what they apply. A healer patching a GitOps-managed template starts
 * a tug of war with the controller (it reverts the patch on the next sync, or reports drift), so
 * it reports instead and leaves the fix to the Git repository.
 * - Argo CD: `argocd.argoproj.io/tracking-id` (annotation tracking, the default since 3.0, and
 *   `annotation+label`); `argocd.argoproj.io/instance`, the label its docs suggest when the
 *   tracking label is customised.
 * - Flux: kustomize-controller and helm-controller label everything they apply with the name and
 *   namespace of their Kustomization / HelmRelease.
 * - Config Sync (GKE): `configmanagement.gke.io/managed: enabled` (`disabled` is how a config
 *   leaves an object unmanaged) and its `app.kubernetes.io/managed-by` value; its admission
 *   webhook may refuse the patch outright.
 * - Rancher Fleet: deploys bundles as Helm releases (so the Helm rule below would take them for
 *   plain Helm) and marks them with a non-empty `objectset.rio.cattle.io/id` — the mark of
 *   Rancher's generic apply, which its other controllers also re-apply; k3s's manifest add-ons leave
 *   it empty.
 * - kapp-controller's App re-deploys on its sync period; everything kapp deploys carries
 *   `kapp.k14s.io/app`, the one-shot CLI's too: possibly, cleared by the operator's word.
 */
const MARKS: { tool: GitOpsTool; labels: Mark[]; annotations: Mark[]; doubt?: string }[] = [
  { tool: 'argocd', labels: [{ key: 'argocd.argoproj.io/instance' }], annotations: [{ key: 'argocd.argoproj.io/tracking-id' }] },
  {
    tool: 'flux',
    labels: ['kustomize.toolkit.fluxcd.io/name', 'kustomize.toolkit.fluxcd.io/namespace', 'helm.toolkit.fluxcd.io/name', 'helm.toolkit.fluxcd.io/namespace'].map((key) => ({ key })),
    annotations: [],
  },
  {
    tool: 'config-sync',
    labels: [{ key: 'app.kubernetes.io/managed-by', value: (v) => v === 'configmanagement.gke.io' }],
    annotations: [{ key: 'configmanagement.gke.io/managed', value: (v) => v === 'enabled' }],
  },
  { tool: 'fleet', labels: [], annotations: [{ key: 'objectset.rio.cattle.io/id', value: (v) => v.trim() !== '' }] },
  { tool: 'kapp', labels: [{ key: 'kapp.k14s.io/app' }], annotations: [], doubt: 'which the kapp CLI, run once, sets too' },
];

const marked = (marks: Mark[], found: Record<string, string>): string | undefined =>
  marks.find((m) => found[m.key] !== undefined && (m.value?.(found[m.key]!) ?? true))?.key;

/** Argo CD 2.x's default tracking label: the Application's name. Helm charts set it to the release name. */
const INSTANCE_LABEL = 'app.kubernetes.io/instance';
/** Set by Helm's install/upgrade (the Helm SDK: helm itself, Flux's helm-controller), never by `helm template`, which is what Argo CD runs. */
const HELM_RELEASE_NAME = 'meta.helm.sh/release-name';

/**
 * The GitOps tool managing a workload, or null. The unambiguous keys above decide first. Then
 * `app.kubernetes.io/instance`, ambiguous: Argo CD 2.x tracks with it by default, but Helm charts
 * set it too. It is taken as Helm's only when a Helm release of the same name explains it (the
 * `meta.helm.sh/release-name` annotation Helm's install writes and Argo CD's rendering does not);
 * otherwise as possibly Argo CD's — when in doubt, do not patch — unless the workload carries
 * `amadeus.io/gitops: "none"`, the operator's word that nothing syncs it.
 */
export function gitOpsManager(meta: V1ObjectMeta | undefined, rules: HealRules = HEAL_RULES): GitOpsManager | null {
  const labels = meta?.labels ?? {};
  const annotations = meta?.annotations ?? {};
  const none = annotations[rules.annotations.gitops]?.trim().toLowerCase() === 'none';
  for (const m of MARKS) {
    if (m.doubt && none) continue;
    const found = { tool: m.tool, certain: !m.doubt, ...(m.doubt ? { doubt: m.doubt } : {}) };
    const label = marked(m.labels, labels);
    if (label) return { ...found, evidence: `label ${label}=${labels[label]}` };
    const annotation = marked(m.annotations, annotations);
    if (annotation) return { ...found, evidence: `annotation ${annotation}=${annotations[annotation]}` };
  }
  const instance = labels[INSTANCE_LABEL];
  if (instance === undefined || none) return null;
  if (annotations[HELM_RELEASE_NAME] === instance) return null;
  return { tool: 'argocd', evidence: `label ${INSTANCE_LABEL}=${instance}`, certain: false, doubt: 'its default tracking label, not explained by a Helm release of that name' };
}

/** What the workload's bookkeeping annotation says about the last action of one kind. */
export interface ActionMark {
  /** When the last action was taken (ms). */
  at: number;
  /** The failure key it answered. */
  key: string;
  /** The keys of the last few actions (idempotency across pods, ReplicaSets and restarts), newest last. */
  keys: string[];
  /**
   * Memory bumps: when each container was last raised (ms). A mark written before this field
   * existed has none: then `at` stands for every container.
   */
  containers: Record<string, number> | null;
  /**
   * A StatefulSet rollback's: `ControllerRevision/<name>` of the target restored (marks written
   * before 04cafb3 have none; 04cafb3's build wrote the template's `templateHash`, still read). An
   * OnDelete StatefulSet's stuck pods are recreated only while it is still its update revision
   * (healer.ts restoredTemplateKept). Deployments record none: nothing would read it.
   */
  to?: string;
}

/** Keys kept in a mark: enough for every pod of a workload failing at once, bounded. */
const MARK_KEYS = 20;

export function readMark(meta: V1ObjectMeta | undefined, annotation: string): ActionMark | null {
  const raw = meta?.annotations?.[annotation];
  if (raw === undefined) return null;
  try {
    const v = JSON.parse(raw) as { at?: unknown; key?: unknown; keys?: unknown; containers?: unknown; to?: unknown };
    const at = typeof v.at === 'string' ? Date.parse(v.at) : NaN;
    if (!Number.isFinite(at) || typeof v.key !== 'string') return null;
    const keys = Array.isArray(v.keys) ? v.keys.filter((k): k is string => typeof k === 'string') : [];
    if (!keys.includes(v.key)) keys.push(v.key);
    let containers: Record<string, number> | null = null;
    if (v.containers !== null && typeof v.containers === 'object' && !Array.isArray(v.containers)) {
      containers = {};
      for (const [name, when] of Object.entries(v.containers as Record<string, unknown>)) {
        const t = typeof when === 'string' ? Date.parse(when) : NaN;
        if (Number.isFinite(t)) containers[name] = t;
      }
    }
    return { at, key: v.key, keys, containers, ...(typeof v.to === 'string' ? { to: v.to } : {}) };
  } catch {
    return null; // a hand-edited annotation: treat as no record rather than block healing forever
  }
}

/** The mark after one more action: `previous`'s keys and container times carried over. */
export function nextMark(previous: ActionMark | null, at: number, key: string, container?: string): ActionMark {
  const keys = [...(previous?.keys ?? []).filter((k) => k !== key), key].slice(-MARK_KEYS);
  const containers = container === undefined ? previous?.containers ?? null : { ...(previous?.containers ?? {}), [container]: at };
  return { at, key, keys, containers };
}

export function writeMark(mark: Pick<ActionMark, 'at' | 'key'> & Partial<ActionMark>): string {
  const out: Record<string, unknown> = { at: new Date(mark.at).toISOString(), key: mark.key };
  if (mark.keys && mark.keys.length > 0) out.keys = mark.keys.slice(-MARK_KEYS);
  if (mark.containers) out.containers = Object.fromEntries(Object.entries(mark.containers).map(([k, t]) => [k, new Date(t).toISOString()]));
  if (mark.to !== undefined) out.to = mark.to;
  return JSON.stringify(out);
}

/** When a container was last raised according to the mark (a mark without per-container times: its `at`). */
export function lastBumpOf(mark: ActionMark | null, container: string): number | null {
  if (!mark) return null;
  if (mark.containers === null) return mark.at;
  return mark.containers[container] ?? null;
}

/** Seconds left of the cooldown after the last action of this kind (0: none left). */
export function cooldownLeft(mark: Pick<ActionMark, 'at' | 'key'> | null, cooldownSeconds: number, now: number): number {
  if (!mark) return 0;
  return Math.max(0, Math.ceil((mark.at + cooldownSeconds * 1000 - now) / 1000));
}

/**
 * A sliding one-hour window of actions across every workload: a storm of failures is not a storm
 * of patches. In memory, per process: a new leader starts with an empty window (the per-workload
 * cooldowns, on the workloads, are what holds across leader changes).
 */
export class HourlyLimit {
  /** Slots taken, oldest first: recorded actions and reservations still being decided. */
  private readonly slots: { at: number }[] = [];

  constructor(readonly perHour: number) {}

  allows(now: number): boolean {
    while (this.slots.length > 0 && this.slots[0]!.at <= now - 3_600_000) this.slots.shift();
    return this.slots.length < this.perHour;
  }

  record(now: number): void {
    this.slots.push({ at: now });
  }

  /**
   * Takes a slot at the check, synchronously: failures of different workloads are decided
   * concurrently, each awaiting I/O between its check and its patch, so a check that only counted
   * finished actions would let all of them through. Null when the window is full; `release` gives
   * the slot back when the action was not taken (refused later, dry run, failed).
   */
  reserve(now: number): { release(): void } | null {
    if (!this.allows(now)) return null;
    const slot = { at: now };
    this.slots.push(slot);
    return {
      release: () => {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
      },
    };
  }
}
