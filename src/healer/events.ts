/**
 * A Kubernetes Event on the workload for every healing action or refusal, so `kubectl describe`
 * and every dashboard that shows Events tells the story next to the workload itself.
 */
import { V1MicroTime, type CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../telemetry/logger.js';
import { apiMessage } from './kube.js';

export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface HealEvent {
  workload: WorkloadRef;
  /** CamelCase, as Kubernetes reasons are: `MemoryLimitRaised`, `RolledBack`, `HealRefused`… */
  reason: string;
  /** Machine-readable action (`oom-bump`, `rollback`). */
  action: string;
  message: string;
  warning: boolean;
}

/** Kubernetes truncates Event messages at 1 KiB — bytes of UTF-8, not characters; keep ours within it. */
const MAX_MESSAGE_BYTES = 1024;
const ELLIPSIS = '…';

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8, the ellipsis included, on a code point
 * boundary (iterating a string yields code points, so a surrogate pair is never split).
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(ELLIPSIS, 'utf8');
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > budget) break;
    used += size;
    end += ch.length;
  }
  return text.slice(0, end) + ELLIPSIS;
}

export function eventBody(e: HealEvent, identity: string, now: number): CoreV1Event {
  const at = new Date(now);
  const message = truncateUtf8(e.message, MAX_MESSAGE_BYTES);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${e.workload.name}.amadeus-`, namespace: e.workload.namespace },
    involvedObject: { apiVersion: e.workload.apiVersion, kind: e.workload.kind, name: e.workload.name, namespace: e.workload.namespace, uid: e.workload.uid },
    reason: e.reason,
    action: e.action,
    message,
    type: e.warning ? 'Warning' : 'Normal',
    source: { component: 'amadeus' },
    reportingComponent: 'amadeus.io/healer',
    reportingInstance: identity,
    firstTimestamp: at,
    lastTimestamp: at,
    eventTime: new V1MicroTime(now),
    count: 1,
  };
}

/** Emits the Event; a failure is logged, never thrown: the action it records has already happened. */
export async function emitEvent(core: CoreV1Api, e: HealEvent, identity: string, log: Logger, now = Date.now()): Promise<boolean> {
  try {
    await core.createNamespacedEvent({ namespace: e.workload.namespace, body: eventBody(e, identity, now) });
    return true;
  } catch (err) {
    log.warn('could not record the Kubernetes Event', { workload: `${e.workload.kind}/${e.workload.name}`, namespace: e.workload.namespace, reason: e.reason, error: apiMessage(err) });
    return false;
  }
}
