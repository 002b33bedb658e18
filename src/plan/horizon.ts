/**
 * How far ahead a plan must look: a pod ordered now serves load only after KEDA has read the plan,
 * the HPA has acted on it and the pod has started. Planning for the maximum over a longer span
 * provisions pods long before they are needed (measured on NASA: horizon 10 costs 1.61× hpa-cpu's
 * pod-hours against 1.42× at 3, for a lower latency no goal asks for; BENCHMARKS.md). Pure.
 */

/** The HPA controller's default sync period (kube-controller-manager `--horizontal-pod-autoscaler-sync-period`). */
export const HPA_SYNC_SECONDS = 15;
/** KEDA's default `pollingInterval`. */
export const KEDA_POLL_SECONDS = 30;

/**
 * Minutes from a plan to the pods it orders being ready: ⌈(start-up + sync + poll) ÷ 60⌉, at least 1.
 * With a 90 s start-up and the defaults: ⌈135 ÷ 60⌉ = 3.
 */
export function planningHorizonMinutes(startupSeconds: number, syncSeconds = HPA_SYNC_SECONDS, pollSeconds = KEDA_POLL_SECONDS): number {
  const total = startupSeconds + syncSeconds + pollSeconds;
  if (!Number.isFinite(total) || startupSeconds < 0 || syncSeconds < 0 || pollSeconds < 0) throw new RangeError('start-up, sync and poll must be finite seconds >= 0');
  return Math.max(1, Math.ceil(total / 60));
}
