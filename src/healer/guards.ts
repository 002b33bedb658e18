/**
 * Guard rails that decide whether the healer may touch a workload at all, before any plan is made.
 * Pure: the I/O (reading the workload, its namespace, VPAs) happens in the caller.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';

/** Namespaces never touched, whatever the configuration says. */
export const PROTECTED_NAMESPACES: ReadonlySet<string> = new Set(['kube-system']);

/**
 * Labels and annotations by which Argo CD and Flux mark what they manage. A healer patching a
 * GitOps-managed template starts a tug of war with the controller (it reverts the patch on the next
 * sync, or reports drift), so it reports instead and leaves the fix to the Git repository.
 */
const GITOPS_MARKS: { tool: 'argocd' | 'flux'; labels?: string[]; annotations?: string[] }[] = [
  { tool: 'argocd', labels: ['argocd.argoproj.io/instance'], annotations: ['argocd.argoproj.io/tracking-id'] },
  { tool: 'flux', labels: ['kustomize.toolkit.fluxcd.io/name', 'helm.toolkit.fluxcd.io/name'] },
];

export function gitOpsManager(meta: V1ObjectMeta | undefined): 'argocd' | 'flux' | null {
  for (const m of GITOPS_MARKS) {
    if (m.labels?.some((k) => meta?.labels?.[k] !== undefined) || m.annotations?.some((k) => meta?.annotations?.[k] !== undefined)) return m.tool;
  }
  return null;
}

/** What the workload's bookkeeping annotation says about the last action of one kind. */
export interface ActionMark {
  at: number;
  key: string;
}

export function readMark(meta: V1ObjectMeta | undefined, annotation: string): ActionMark | null {
  const raw = meta?.annotations?.[annotation];
  if (raw === undefined) return null;
  try {
    const v = JSON.parse(raw) as { at?: unknown; key?: unknown };
    const at = typeof v.at === 'string' ? Date.parse(v.at) : NaN;
    return Number.isFinite(at) && typeof v.key === 'string' ? { at, key: v.key } : null;
  } catch {
    return null; // a hand-edited annotation: treat as no record rather than block healing forever
  }
}

export function writeMark(mark: ActionMark): string {
  return JSON.stringify({ at: new Date(mark.at).toISOString(), key: mark.key });
}

/** Seconds left of the cooldown after the last action of this kind (0: none left). */
export function cooldownLeft(mark: ActionMark | null, cooldownSeconds: number, now: number): number {
  if (!mark) return 0;
  return Math.max(0, Math.ceil((mark.at + cooldownSeconds * 1000 - now) / 1000));
}

/** A sliding one-hour window of actions across every workload: a storm of failures is not a storm of patches. */
export class HourlyLimit {
  private readonly times: number[] = [];

  constructor(readonly perHour: number) {}

  allows(now: number): boolean {
    while (this.times.length > 0 && this.times[0]! <= now - 3_600_000) this.times.shift();
    return this.times.length < this.perHour;
  }

  record(now: number): void {
    this.times.push(now);
  }
}
