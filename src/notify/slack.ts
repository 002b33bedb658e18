/**
 * Slack as a Notifier (`@slack/web-api`, `chat.postMessage`, Block Kit with a plain-text fallback).
 *
 * It must never slow down scaling or healing: `notify` only queues and returns. A background loop
 * posts one message at a time. Every HTTP attempt has an overall deadline (`timeoutMs`, from
 * sending to the last byte: axios's own `timeout` is an idle timer a trickling server never trips)
 * and a cap on the answer's size (a larger answer fails the attempt and is not retried: the message
 * was taken); the client retries 5xx and network failures; a 429's Retry-After
 * is honoured here, up to `maxRetryAfterMs` (a longer one drops the message, and the queue is
 * dropped until then rather than posted into the limit). After the retries a message is dropped
 * with a log line. Per workload, an identical notice within the
 * de-duplication window is dropped, and at most one notice per `minIntervalMs` is sent — the ones
 * held back are counted and mentioned in the next. The token is never logged.
 */
import http from 'node:http';
import https from 'node:https';
import { WebClient, type KnownBlock, type RetryOptions } from '@slack/web-api';
import { deadlineSignal } from '../deadline/deadline.js';
import { capText } from '../config/fields.js';
import { boundedLookup } from '../dns/lookup.js';
import type { Logger } from '../telemetry/logger.js';
import type { Notification, Notifier } from './notifier.js';

export interface SlackOptions {
  token: string;
  channel: string;
  /** Slack's API base URL; tests and Enterprise Grid proxies set it. */
  apiUrl?: string;
  log: Logger;
  /** Identical notices (same workload, action, result and title) within this are dropped. */
  dedupeWindowMs?: number;
  /** At most one notice per workload per this interval; the rest are counted, then summarised. */
  minIntervalMs?: number;
  /** Retries of one message (5xx, network errors, 429 after its Retry-After). */
  retries?: number;
  /** First retry delay; doubles. */
  retryDelayMs?: number;
  /** Messages waiting at most; beyond it the oldest are dropped (Slack unreachable for long). */
  maxQueue?: number;
  /** Each HTTP attempt, answer read in full, ends by this. */
  timeoutMs?: number;
  /** A 429 asking to wait longer than this drops the message instead (as does the retry budget). */
  maxRetryAfterMs?: number;
  /** Answers larger than this are refused (a chat.postMessage answer is a few KiB). */
  maxResponseBytes?: number;
  clock?: () => number;
}

export const SLACK_DEFAULTS = { dedupeWindowMs: 10 * 60_000, minIntervalMs: 60_000, retries: 3, retryDelayMs: 1000, maxQueue: 100, timeoutMs: 10_000, maxRetryAfterMs: 30_000, maxResponseBytes: 1024 * 1024 } as const;

/** Slack mrkdwn treats &, < and > as control characters. */
export const escapeMrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Slack's name lookups, as Prometheus's and the Kubernetes API's are: one in flight per name. An
 * attempt's deadline ends the request, not the getaddrinfo under it, which holds a libuv pool thread
 * for the resolver's whole timeout; with DNS not answering, every retry of every queued notice would
 * otherwise hold one more thread (the pool file reads and the other lookups need).
 */
const lookup = boundedLookup();

const ICON: Record<Notification['severity'], string> = { info: ':large_green_circle:', warning: ':large_yellow_circle:', critical: ':red_circle:' };

/** Room left in a section's 3,000 characters for the icon and the bold marks. */
const SECTION_CHARS = 2_900;
/** A field's text (Block Kit's limit is 2,000). */
const FIELD_CHARS = 1_900;
/** The plain-text fallback: Slack advises at most 4,000 characters. */
const FALLBACK_CHARS = 3_900;

/** The message for one notification: Block Kit, and the text shown where blocks are not (notifications, old clients). */
export function slackMessage(n: Notification, suppressed = 0): { text: string; blocks: KnownBlock[] } {
  const fields: [string, string][] = [
    ['Workload', `${n.namespace}/${n.object}`],
    ['Result', `${n.action}: ${n.result}`],
    ...Object.entries(n.fields ?? {}),
  ];
  // Within Block Kit's limits (a section's text 3,000 characters, a field's 2,000), else Slack refuses
  // the whole message (invalid_blocks) and the notice is lost: a title may carry an API server's error.
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${ICON[n.severity]} *${capText(escapeMrkdwn(n.title), SECTION_CHARS)}*` } },
    { type: 'section', fields: fields.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn' as const, text: capText(`*${escapeMrkdwn(k)}*\n${escapeMrkdwn(v)}`, FIELD_CHARS) })) },
  ];
  // Backticks would end the code block early.
  if (n.excerpt) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${escapeMrkdwn(n.excerpt.replace(/```/g, "'''")).slice(0, 2900)}\`\`\`` } });
  if (suppressed > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${suppressed} more notice(s) for this workload were held back by the rate limit.` }] });
  const text = capText([n.title, ...fields.map(([k, v]) => `${k}: ${v}`), ...(suppressed > 0 ? [`(+${suppressed} held back)`] : [])].join('\n'), FALLBACK_CHARS);
  return { text, blocks };
}

interface Queued {
  n: Notification;
  suppressed: number;
}

export class SlackNotifier implements Notifier {
  readonly name = 'slack';
  private readonly client: WebClient;
  private readonly queue: Queued[] = [];
  private readonly lastSent = new Map<string, number>();
  private readonly lastByContent = new Map<string, number>();
  /** Per workload: notices held back by the rate limit since its last one sent, and when the newest was. */
  private readonly heldBack = new Map<string, { count: number; at: number }>();
  private prunedAt = 0;
  private draining: Promise<void> | null = null;
  private readonly clock: () => number;
  /** Slack asked for quiet until then (a Retry-After beyond the cap): queued messages are dropped, not sent. */
  private rateLimitedUntil = 0;
  private readonly o: Required<Omit<SlackOptions, 'apiUrl' | 'clock'>> & Pick<SlackOptions, 'apiUrl'>;

  constructor(options: SlackOptions) {
    this.o = { ...SLACK_DEFAULTS, ...options };
    this.clock = options.clock ?? Date.now;
    // Set per request below, not as the client's `agent`, which axios would use for http and https alike.
    const agents = { httpAgent: new http.Agent({ keepAlive: true, lookup }), httpsAgent: new https.Agent({ keepAlive: true, lookup }) };
    this.client = new WebClient(options.token, {
      slackApiUrl: options.apiUrl,
      timeout: this.o.timeoutMs,
      // 429s come back to us at once (post() honours a Retry-After up to the cap), not slept on by the client.
      rejectRateLimitedCalls: true,
      requestInterceptor: (config) => {
        Object.assign(config, agents);
        config.signal = deadlineSignal(this.o.timeoutMs, 'slack').signal;
        config.maxContentLength = this.o.maxResponseBytes;
        return config;
      },
      retryConfig: {
        retries: this.o.retries,
        factor: 2,
        minTimeout: this.o.retryDelayMs,
        maxTimeout: this.o.retryDelayMs * 8,
        randomize: false,
        // Read by the client's p-retry (RetryOptions does not declare it): throwing ends the retries.
        // An answer too large came from a server that took the message: posting it again would
        // post it twice.
        onFailedAttempt: (err: unknown) => {
          if (isTooLarge(err)) throw new SlackAnswerTooLarge(this.o.maxResponseBytes);
        },
      } as RetryOptions,
      // The client's own logger would print request details at debug; ours logs outcomes only.
      logger: { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} },
    });
  }

  async notify(n: Notification): Promise<void> {
    const now = this.clock();
    const workload = `${n.namespace}/${n.object}`;
    const content = `${workload}|${n.action}|${n.result}|${n.title}`;
    const seen = this.lastByContent.get(content);
    if (seen !== undefined && now - seen < this.o.dedupeWindowMs) {
      this.o.log.debug('slack: duplicate notice dropped', { workload, action: n.action, result: n.result });
      return;
    }
    const last = this.lastSent.get(workload);
    if (last !== undefined && now - last < this.o.minIntervalMs) {
      this.heldBack.set(workload, { count: (this.heldBack.get(workload)?.count ?? 0) + 1, at: now });
      this.o.log.debug('slack: notice held back by the per-workload rate limit', { workload, action: n.action });
      this.forgetOld(now);
      return;
    }
    this.lastByContent.set(content, now);
    this.lastSent.set(workload, now);
    const suppressed = this.heldBack.get(workload)?.count ?? 0;
    this.heldBack.delete(workload);
    this.forgetOld(now);
    this.queue.push({ n, suppressed });
    if (this.queue.length > this.o.maxQueue) {
      const dropped = this.queue.shift()!;
      this.o.log.warn('slack: queue full, oldest notice dropped', { workload: `${dropped.n.namespace}/${dropped.n.object}`, action: dropped.n.action });
    }
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Workloads (and notices) remembered: what forgetOld bounds. */
  get remembered(): number {
    return this.lastSent.size + this.heldBack.size + this.lastByContent.size;
  }

  /**
   * Entries past both windows decide nothing any more: a long-running scaler must not keep them all.
   * Once a window, or at every notice while 1,000 are kept. A workload's held-back count is kept until
   * its newest held-back notice is that old too (the workload gone or quiet since; told in a log line
   * instead): kept for good, with its lastSent, a workload deleted under the rate limit leaked both.
   */
  private forgetOld(now: number): void {
    const window = Math.max(this.o.dedupeWindowMs, this.o.minIntervalMs);
    if (this.remembered < 1000 && now - this.prunedAt < window) return;
    this.prunedAt = now;
    const horizon = now - window;
    for (const [k, t] of this.lastByContent) if (t < horizon) this.lastByContent.delete(k);
    for (const [workload, held] of this.heldBack) {
      if (held.at >= horizon) continue;
      this.heldBack.delete(workload);
      this.o.log.info('slack: notices held back by the rate limit, none sent since', { workload, heldBack: held.count });
    }
    for (const [k, t] of this.lastSent) if (t < horizon && !this.heldBack.has(k)) this.lastSent.delete(k);
  }

  /** Resolves once every queued message was sent or dropped (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (let item = this.queue.shift(); item; item = this.queue.shift()) {
      const workload = `${item.n.namespace}/${item.n.object}`;
      try {
        await this.post(item);
        this.o.log.debug('slack: notice sent', { workload, action: item.n.action });
      } catch (err) {
        this.o.log.warn('slack: notice dropped after retries', { workload, action: item.n.action, error: describe(err) });
      }
    }
  }

  /** One message: the client's retries for 5xx and network failures, ours for 429s (capped). */
  private async post(item: Queued): Promise<void> {
    const { text, blocks } = slackMessage(item.n, item.suppressed);
    for (let limited = 0; ; limited++) {
      const quiet = this.rateLimitedUntil - Date.now();
      if (quiet > 0) throw new Error(`rate limited: Slack asked for quiet for ${Math.ceil(quiet / 1000)} s more`);
      try {
        await this.client.chat.postMessage({ channel: this.o.channel, text, blocks, unfurl_links: false });
        return;
      } catch (err) {
        const retryAfter = (err as { code?: string; retryAfter?: number }).code === RATE_LIMITED ? (err as { retryAfter: number }).retryAfter : null;
        if (retryAfter === null) throw err;
        const waitMs = Math.max(0, retryAfter) * 1000;
        if (waitMs > this.o.maxRetryAfterMs) {
          this.rateLimitedUntil = Date.now() + waitMs;
          throw new Error(`rate limited: Slack asks to wait ${retryAfter} s, more than ${this.o.maxRetryAfterMs / 1000} s`, { cause: err });
        }
        if (limited >= this.o.retries) throw new Error(`rate limited ${limited + 1} times`, { cause: err });
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  }
}

const RATE_LIMITED = 'slack_webapi_rate_limited_error';

/** Slack's answer passed maxResponseBytes (cut off by axios as it streamed in): the notice is not sent again. */
export class SlackAnswerTooLarge extends Error {
  override name = 'SlackAnswerTooLarge';
  readonly reason = 'too-large';
  constructor(readonly maxBytes: number) {
    super(`answer larger than ${maxBytes} bytes, refused (not sent again: it may have been posted)`);
  }
}

/** The client's request error for an answer past axios's maxContentLength. */
const isTooLarge = (err: unknown): boolean => {
  const e = err as { code?: string; original?: { message?: string } };
  return e.code === 'slack_webapi_request_error' && /^maxContentLength size of \d+ exceeded/.test(e.original?.message ?? '');
};

/** What goes into a log line of what the server said: its error codes are a few words. */
const MAX_DESCRIBED_CHARS = 200;

/**
 * What went wrong, for the log: the API error code, the HTTP status, or the request's own failure
 * (never the token). Cut to MAX_DESCRIBED_CHARS: the error code is the server's text (a proxy may
 * answer for Slack), up to the whole answer's size cap, and every dropped notice logs it.
 */
function describe(err: unknown): string {
  const text = describeWhole(err);
  return text.length > MAX_DESCRIBED_CHARS ? `${text.slice(0, MAX_DESCRIBED_CHARS)}… (${text.length} characters)` : text;
}

function describeWhole(err: unknown): string {
  if (err instanceof SlackAnswerTooLarge) return err.message;
  const e = err as { code?: string; data?: { error?: unknown }; statusCode?: number; message?: string; original?: { message?: string; code?: string; cause?: unknown } };
  if (e.data?.error) return typeof e.data.error === 'string' ? e.data.error : (JSON.stringify(e.data.error) ?? String(e.data.error));
  if (e.statusCode) return `HTTP ${e.statusCode}`;
  if (e.code === 'slack_webapi_request_error' && e.original) {
    // Our deadline aborts the attempt (axios calls that "canceled"); a too large answer names its cap.
    return e.original.code === 'ERR_CANCELED' ? 'no complete answer within the deadline' : (e.original.message ?? e.code);
  }
  return e.message ?? e.code ?? String(err);
}
