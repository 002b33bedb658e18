/**
 * When a plan is worth telling people about: a predicted scale-out. The plan's replicas
 * (ceil(planned ÷ targetValue), as the HPA computes them) exceed the replicas the observed load
 * needs by at least `step`, because of the forecast. One notice per episode: it repeats only if the
 * episode grows, and a new episode starts once the gap has closed. Pure.
 *
 * Every replica behind KEDA plans every ScaledObject, so each would announce the same episode: only
 * the one that `owns` the object says it (the replicas' rendezvous, as for fine-tuning). All of them
 * follow the episode, so when ownership moves mid-episode the new owner does not announce it again.
 */
import type { Plan } from '../plan/plan.js';
import type { Notification } from './notifier.js';

export interface PlanSnapshot {
  namespace: string;
  name: string;
  /**
   * Which of the ScaledObject's triggers planned it (several may reach Amadeus under one name, each
   * with its own plan): each has its own episode, or a trigger without a scale-out would end the
   * episode of one with it every minute, and it would be announced again every minute.
   */
  trigger?: string;
  plan: Plan;
  /** Per-pod capacity (metadata targetValue). */
  targetValue: number;
  horizonMinutes: number;
}

const replicas = (load: number, target: number) => Math.max(1, Math.ceil(load / target));

export class ScaleNotices {
  /** Per trigger (`namespace/name#trigger`): the replicas last announced in the current episode. */
  private readonly announced = new Map<string, number>();

  constructor(
    readonly step: number,
    /** Whether this replica announces for ScaledObject `namespace/name` (default: it is the only one). */
    private readonly owns: (key: string) => boolean = () => true,
  ) {
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`step must be an integer >= 1, got ${step}`);
  }

  next(s: PlanSnapshot): Notification | null {
    const object = `${s.namespace}/${s.name}`;
    const key = `${object}#${s.trigger ?? ''}`;
    const from = replicas(s.plan.observed, s.targetValue);
    const to = replicas(s.plan.value, s.targetValue);
    if (s.plan.reason !== 'forecast' || to - from < this.step) {
      this.announced.delete(key);
      return null;
    }
    const last = this.announced.get(key);
    if (last !== undefined && to <= last) return null;
    this.announced.set(key, to);
    if (!this.owns(`scale-notice:${object}`)) return null;
    const peak = s.plan.forecastMax ?? s.plan.value;
    const rise = s.plan.observed > 0 ? `a forecast ${(peak / s.plan.observed).toFixed(1)}× rise` : 'forecast load';
    return {
      source: 'scale',
      action: 'scale-out',
      result: 'predicted',
      severity: 'info',
      namespace: s.namespace,
      object: `ScaledObject/${s.name}`,
      title: `Amadeus: future load detected for ${s.name}. Scaling out ${from} → ${to} pods ahead of ${rise} in ${s.horizonMinutes} min.`,
      fields: {
        observed: s.plan.observed.toFixed(1),
        'forecast peak': peak.toFixed(1),
        planned: s.plan.value.toFixed(1),
        ...(s.plan.model ? { model: s.plan.model } : {}),
      },
    };
  }

  /** The ScaledObject's last trigger was forgotten: every episode of its triggers goes. */
  forget(namespace: string, name: string): void {
    const prefix = `${namespace}/${name}#`;
    for (const key of [...this.announced.keys()]) if (key.startsWith(prefix)) this.announced.delete(key);
  }
}
