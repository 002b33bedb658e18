/**
 * Notifications to people: what the scaler and the healer did, or refused to do, and why. The
 * healer and the scaler only know this interface; Slack is one implementation, the log another. A
 * notifier never throws at its caller: a chat outage must not stop a rollback or a scale-out.
 */
import type { Logger } from '../telemetry/logger.js';

export type Severity = 'info' | 'warning' | 'critical';

export interface Notification {
  /** What produced it: `heal` (the healer) or `scale` (the predictive scaler). */
  source: 'heal' | 'scale';
  /** Machine-readable: `oom-bump`, `rollback`, `scale-out`… */
  action: string;
  /** `applied`, `dry-run`, `refused`, `failed`… */
  result: string;
  severity: Severity;
  namespace: string;
  /** `Deployment/web`, `ScaledObject/shop`… */
  object: string;
  /** One line a person reads first ("Amadeus: future load detected. Scaled out 3 servers."). */
  title: string;
  /** Details, already redacted of secrets: key → value, shown as fields. */
  fields?: Record<string, string>;
  /** A short excerpt (e.g. the failed container's last log lines), already redacted. */
  excerpt?: string;
}

export interface Notifier {
  readonly name: string;
  /** Resolves when delivered or given up on (the notifier logs its own failures); never rejects. */
  notify(n: Notification): Promise<void>;
}

/** Every notification as one structured log line: the notifier that is always there. */
export function logNotifier(log: Logger): Notifier {
  return {
    name: 'log',
    async notify(n) {
      log.info('notification', { ...n });
    },
  };
}

/** Sends to each notifier; one failing (even by throwing) does not keep the others from it. */
export function fanOut(notifiers: readonly Notifier[], log: Logger): Notifier {
  return {
    name: notifiers.map((x) => x.name).join('+') || 'none',
    async notify(n) {
      await Promise.all(
        notifiers.map(async (x) => {
          try {
            await x.notify(n);
          } catch (err) {
            log.warn('notifier failed', { notifier: x.name, action: n.action, error: err instanceof Error ? err.message : String(err) });
          }
        }),
      );
    },
  };
}
