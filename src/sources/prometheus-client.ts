/**
 * The HTTP side of the Prometheus source: a `prometheus-query` driver carrying one ScaledObject's
 * authentication and TLS settings, range queries at a 1-minute step, and failures turned into
 * errors that name the server and never carry credentials. Every request is bounded in time (an
 * overall deadline, not only axios's idle timer, which a server trickling one byte at a time keeps
 * resetting) and in size (an answer larger than its points can need is cut off and rejected).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { PrometheusDriver, type RangeVector, type SampleValue } from 'prometheus-query';
import { capText } from '../config/fields.js';
import { boundedLookup } from '../dns/lookup.js';
import { readCapped, TooManyBytesError } from '../files/byte-sink.js';
import { MINUTE_MS } from '../series/minute.js';
import { appendSamples, noSamples, type Samples } from '../series/history.js';
import { CredentialFileError, readCredentialFile } from './credential-file.js';

export const AUTH_MODES = ['basic', 'bearer', 'tls'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface ConnectionConfig {
  serverAddress: string;
  authModes?: readonly AuthMode[];
  usernameFile?: string;
  passwordFile?: string;
  bearerTokenFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The only directory the file keys above may name files in (serve's --prometheus-credentials-dir). */
  credentialsDir?: string;
  prometheusUnsafeSsl: boolean;
  timeoutSeconds: number;
}

export type FailureReason = 'unreachable' | 'timeout' | 'deadline' | 'tls' | 'http' | 'response' | 'too-large' | 'credentials' | 'series' | 'query' | 'no-data' | 'partial';

/** Every failure of the source: `reason` lets callers tell a down server from a bad query. */
export class PrometheusError extends Error {
  override name = 'PrometheusError';
  constructor(
    readonly reason: FailureReason,
    message: string,
    /** The metadata key at fault, when the trigger's own metadata is what is wrong (not the server). */
    readonly metadataField?: string,
  ) {
    // Kept as each trigger's last error and logged: bounded whatever it quotes.
    super(capText(message));
  }
}

/** Prometheus refuses range queries of more than 11,000 points per series; stay below it. */
export const MAX_POINTS_PER_QUERY = 10_000;

/**
 * The most bytes one range answer may take: a fixed allowance for the envelope and a few series'
 * labels, plus per point room for several series (`[1736078400,"1.2345678901234567e+308"]` is 45
 * bytes), so an answer naming two or three series still arrives whole and is refused for what it is.
 * A larger answer (a query matching thousands of series, or a proxy sending something else) is cut
 * off as it streams in, before it is buffered, and fails the read as `too-large`.
 */
export const ANSWER_BASE_BYTES = 256 * 1024;
export const ANSWER_BYTES_PER_POINT = 128;
export function maxAnswerBytes(points: number): number {
  return ANSWER_BASE_BYTES + Math.max(0, points) * ANSWER_BYTES_PER_POINT;
}

export interface ClientOptions {
  /**
   * Keep NaN and ±Inf samples as they are, for a caller that judges every value itself; by default
   * they become gaps.
   */
  keepNonFinite?: boolean;
}

/** What one request is bounded by, handed to the driver's request interceptor; and its answer's warnings. */
interface RequestBounds {
  signal: AbortSignal;
  maxBytes: number;
  /** Filled by the response interceptor: the driver reads them from the wrong place and drops them. */
  warnings: string[];
}
// The driver builds each axios request itself and takes no per-call options; its interceptors run
// in the continuation of the call, so the bounds of the call in progress travel with it.
const requestBounds = new AsyncLocalStorage<RequestBounds>();

/** One query over a range of minutes: how many series it matched, and the single series' values. */
export interface MinuteValues {
  /**
   * 0 (none matched), 1 (one series, or several that never have a sample at the same minute: one
   * ends, the next begins), or how many matched when some of them overlap (the query needs sum).
   */
  series: number;
  /** All gaps unless `series` is 1; gaps are holes (history.ts, `Samples`). */
  values: Samples;
  /**
   * The answer's warnings (partialWarnings): a store, shard or remote read missing from it, so its
   * values may be undercounted. Empty for a whole answer.
   */
  warnings: string[];
}

/** At most this many warnings are kept per answer, each cut to WARNING_CHARS: they end up in logs. */
export const MAX_WARNINGS = 3;
export const WARNING_CHARS = 300;

/**
 * The warnings of a Prometheus API answer that say it may be incomplete. Prometheus puts remote-read
 * failures and PromQL warning annotations in `warnings`, Thanos its partial responses; Prometheus
 * 2.46–2.53 also put *info* annotations there ("PromQL info: metric might not be a counter…"),
 * which may be false positives and say nothing about missing data (later versions move them to
 * `infos`), so those are left out.
 */
export function partialWarnings(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || !('warnings' in body) || !Array.isArray(body.warnings)) return [];
  const out: string[] = [];
  let more = 0;
  for (const w of body.warnings as unknown[]) {
    const text = typeof w === 'string' ? w.trim() : '';
    if (text === '' || text.startsWith('PromQL info:')) continue;
    if (out.length < MAX_WARNINGS) out.push(text.length > WARNING_CHARS ? `${text.slice(0, WARNING_CHARS)}…` : text);
    else more++;
  }
  if (more > 0) out.push(`${more} more`);
  return out;
}

/** A sample value as Prometheus writes it (Go's float formatting): a decimal, NaN or ±Inf. */
const SAMPLE_VALUE = /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|NaN|[+-]?Inf)$/;

/**
 * The first sample value of a range answer that is not a number in Prometheus's form, quoted, or
 * null. The driver parses values with parseFloat, which reads a prefix: "1,000" would be load 1, so
 * a server that is not quite Prometheus (a proxy, a look-alike API) could halve a plan unseen; such
 * an answer fails the read instead (the last good plan holds). A JSON number is taken as it is.
 */
export function malformedSample(body: unknown): string | null {
  const result = (body as { data?: { result?: unknown } } | null)?.data?.result;
  if (!Array.isArray(result)) return null;
  for (const series of result as unknown[]) {
    const values = (series as { values?: unknown } | null)?.values;
    if (!Array.isArray(values)) continue;
    for (const point of values as unknown[]) {
      const v = Array.isArray(point) ? (point as unknown[])[1] : undefined;
      if (typeof v === 'number' || (typeof v === 'string' && SAMPLE_VALUE.test(v))) continue;
      return JSON.stringify(String(v).slice(0, 40));
    }
  }
  return null;
}

export interface PrometheusClient {
  /**
   * Evaluates `query` at the end of each of `minutes` minutes from `start` (a whole minute):
   * element i is its value at `start + (i + 1)·MINUTE_MS`, a hole where Prometheus has none. Each
   * HTTP request ends within `timeoutSeconds` whatever the server does; `signal` (the caller's
   * deadline for the whole call) ends it sooner.
   */
  minutes(query: string, start: number, minutes: number, signal?: AbortSignal): Promise<MinuteValues>;
  close(): void;
}

/** The server's address as shown in descriptions and errors: no user info, query or trailing slash. */
export function safeAddress(serverAddress: string): string {
  try {
    const url = new URL(serverAddress);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.href.replace(/\/+$/, '');
  } catch {
    return '<invalid URL>';
  }
}

interface Connection {
  driver: PrometheusDriver;
  agents: [http.Agent, https.Agent];
  release(): void;
}

/**
 * Connections to one Prometheus are shared by every ScaledObject reading it: one keep-alive pool
 * per TLS identity, at most MAX_SOCKETS_PER_SERVER sockets per server. A pool per object would
 * hold 1,000 idle connections for 1,000 objects — past Prometheus's default
 * `--web.max-connections` (512), where new connections just wait.
 */
export const MAX_SOCKETS_PER_SERVER = 8;
const pools = new Map<string, { agents: [http.Agent, https.Agent]; users: number }>();
/** Every pool's name lookups: one in flight per name, so DNS down holds one libuv thread per server, not one per connection attempt. */
const lookup = boundedLookup();

function acquireAgents(tls: https.AgentOptions): { agents: [http.Agent, https.Agent]; release(): void } {
  const key = createHash('sha256')
    .update(JSON.stringify([tls.rejectUnauthorized, tls.ca?.toString(), tls.cert?.toString(), tls.key?.toString()]))
    .digest('hex');
  let pool = pools.get(key);
  if (!pool) {
    const common = { keepAlive: true, maxSockets: MAX_SOCKETS_PER_SERVER, maxFreeSockets: MAX_SOCKETS_PER_SERVER, lookup };
    pool = { agents: [new http.Agent(common), new https.Agent({ ...tls, ...common })], users: 0 };
    pools.set(key, pool);
  }
  const p = pool;
  p.users++;
  let released = false;
  return {
    agents: p.agents,
    release() {
      if (released) return;
      released = true;
      if (--p.users > 0) return;
      for (const agent of p.agents) agent.destroy();
      pools.delete(key);
    },
  };
}

export function createPrometheusClient(config: ConnectionConfig, options: ClientOptions = {}): PrometheusClient {
  const server = safeAddress(config.serverAddress);
  // Whole milliseconds: AbortSignal.timeout refuses 0.15 × 1000 = 150.00000000000003.
  const timeoutMs = Math.ceil(config.timeoutSeconds * 1000 - 1e-6);
  // Credentials are re-read at each (re)connect so rotated secret files are picked up; every
  // string that could leak is remembered for redaction.
  let secrets: string[] = [];
  let conn: Connection | null = null;
  let closed = false;

  const disconnect = () => {
    if (!conn) return;
    conn.release();
    conn = null;
  };

  const connect = (): Connection => {
    // Range answers of a few minutes are small: compressing them costs both sides more CPU than the
    // bytes are worth, and that CPU is shared with the RPCs KEDA waits on.
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
    const modes = new Set(config.authModes ?? []);
    const found: string[] = [];
    const secret = (key: 'usernameFile' | 'passwordFile' | 'bearerTokenFile'): string => {
      const value = readSecret(server, key, config[key], config.credentialsDir);
      found.push(value);
      return value;
    };
    if (modes.has('basic')) {
      // Built here rather than through the driver's `auth`, which drops an empty password.
      const user = secret('usernameFile');
      const password = config.passwordFile === undefined ? '' : secret('passwordFile');
      const encoded = Buffer.from(`${user}:${password}`).toString('base64');
      found.push(encoded);
      headers.Authorization = `Basic ${encoded}`;
    }
    if (modes.has('bearer')) headers.Authorization = `Bearer ${secret('bearerTokenFile')}`;
    const tls: https.AgentOptions = { rejectUnauthorized: !config.prometheusUnsafeSsl };
    if (modes.has('tls')) {
      if (config.caFile !== undefined) tls.ca = readFile(server, 'caFile', config.caFile, config.credentialsDir);
      if (config.certFile !== undefined) tls.cert = readFile(server, 'certFile', config.certFile, config.credentialsDir);
      if (config.keyFile !== undefined) tls.key = readFile(server, 'keyFile', config.keyFile, config.credentialsDir);
    }
    secrets = found.filter((s) => s.length >= 3);
    const { agents, release } = acquireAgents(tls);
    const driver = new PrometheusDriver({
      endpoint: config.serverAddress,
      headers,
      // A backstop only: each request's own deadline (rangeOnce) ends it first, silent or trickling.
      timeout: 2 * timeoutMs + 1000,
      // The driver exposes no agent option; its axios request config does.
      requestInterceptor: {
        onFulfilled: (request) => {
          request.httpAgent = agents[0];
          request.httpsAgent = agents[1];
          const bounds = requestBounds.getStore();
          if (bounds) {
            request.signal = bounds.signal;
            // The body is read and capped here (readAnswer), not by axios: axios keeps every chunk
            // as it comes, so a server trickling a byte per packet cost ~190× the bytes its cap counts.
            request.responseType = 'stream';
            request.maxContentLength = -1;
          }
          return request;
        },
      },
      // Sees the raw axios error (status, body, code), which the driver would flatten.
      responseInterceptor: {
        onFulfilled: async (response) => {
          const bounds = requestBounds.getStore();
          if (bounds && isStream(response.data)) response.data = await readAnswer(response.data, bounds.maxBytes, bounds.signal, server);
          // Before the driver reads the values with parseFloat, which takes "1,000" for 1 and "12abc" for 12.
          const bad = malformedSample(response.data);
          if (bad !== null) throw new PrometheusError('response', `${server}: answered a sample value that is no number: ${bad} (is this the Prometheus HTTP API?)`);
          bounds?.warnings.push(...partialWarnings(response.data));
          return response;
        },
        onRejected: async (error: unknown) => {
          const response = (error as AxiosLike | null)?.response;
          const bounds = requestBounds.getStore();
          if (response && isStream(response.data)) {
            // Within the answer's cap, as a good answer: a JSON error is classified from its parsed
            // fields (a parse error of the query is the metadata's fault), whatever their length.
            response.data = bounds ? await readAnswer(response.data, bounds.maxBytes, bounds.signal, server).catch(() => undefined) : undefined;
          }
          throw describeFailure(error, server, config.timeoutSeconds, secrets);
        },
      },
    });
    return { driver, agents, release };
  };

  /** The error for a request ended by its deadline: the caller's reason, else this request's own. */
  const deadlineError = (reason: unknown): PrometheusError => {
    if (reason instanceof PrometheusError) return reason;
    if (reason instanceof Error && reason.name !== 'TimeoutError' && reason.name !== 'AbortError') {
      return new PrometheusError('deadline', `${server}: ${reason.message}`);
    }
    return new PrometheusError('deadline', `${server}: deadline exceeded after ${config.timeoutSeconds}s`);
  };

  const rangeOnce = async (query: string, start: number, minutes: number, caller: AbortSignal | undefined): Promise<MinuteValues> => {
    conn ??= connect();
    const firstEval = start + MINUTE_MS;
    const lastEval = start + minutes * MINUTE_MS;
    // Prometheus aborts the evaluation itself too, instead of computing an answer nobody awaits.
    const evalTimeout = `${timeoutMs}ms`;
    // The whole request, headers to last byte, within timeoutSeconds: axios's own timeout only
    // notices a silent socket, and a byte every few seconds keeps it quiet forever.
    const own = AbortSignal.timeout(timeoutMs);
    const signal = caller ? AbortSignal.any([caller, own]) : own;
    if (signal.aborted) throw deadlineError(signal.reason);
    let result;
    const bounds: RequestBounds = { signal, maxBytes: maxAnswerBytes(minutes), warnings: [] };
    try {
      const driver = conn.driver;
      result = await requestBounds.run(bounds, () => driver.rangeQuery(query, firstEval, lastEval, MINUTE_MS / 1000, evalTimeout));
    } catch (err) {
      if (signal.aborted) throw deadlineError(signal.reason);
      throw err;
    }
    if (result.resultType !== 'matrix') {
      throw new PrometheusError('response', `${server}: range query answered a ${result.resultType}, not a matrix`);
    }
    const matched = result.result as RangeVector[];
    const values = noSamples(minutes);
    // Several series one after another are one workload relabelled (a pod restarted, a rule's labels
    // changed): read as one, so a cold read across the change (a restarted replica's) answers what a
    // warm one reading only the newest minutes does. Several that overlap, or take turns (two pods'
    // gauges alternating), are different sources at once: they need sum(...), not a merge.
    const minuteOf = (sample: SampleValue) => Math.round((sample.time.getTime() - start) / MINUTE_MS) - 1;
    if (matched.length > 1) {
      const spans = matched.map((series) => {
        let first = Infinity;
        let last = -Infinity;
        for (const sample of series.values as SampleValue[]) {
          const i = minuteOf(sample);
          if (i < 0 || i >= minutes) continue;
          first = Math.min(first, i);
          last = Math.max(last, i);
        }
        return { first, last };
      });
      spans.sort((a, b) => a.first - b.first);
      for (let k = 1; k < spans.length; k++) {
        if (spans[k]!.first !== Infinity && spans[k]!.first <= spans[k - 1]!.last) return { series: matched.length, values: noSamples(minutes), warnings: bounds.warnings };
      }
    }
    for (const series of matched) {
      for (const sample of series.values as SampleValue[]) {
        const i = minuteOf(sample);
        // NaN and ±Inf (a division by zero) carry no load: a gap, unless the caller judges them.
        if (i >= 0 && i < minutes && (options.keepNonFinite || Number.isFinite(sample.value))) values[i] = sample.value;
      }
    }
    return { series: Math.min(matched.length, 1), values, warnings: bounds.warnings };
  };

  return {
    async minutes(query, start, minutes, signal) {
      if (closed) throw new PrometheusError('response', `${server}: client closed`);
      const out: MinuteValues = { series: 0, values: [], warnings: [] };
      try {
        for (let done = 0; done < minutes; done += MAX_POINTS_PER_QUERY) {
          const n = Math.min(MAX_POINTS_PER_QUERY, minutes - done);
          const part = await rangeOnce(query, start + done * MINUTE_MS, n, signal);
          out.series = Math.max(out.series, part.series);
          appendSamples(out.values, part.values);
          out.warnings.push(...part.warnings);
        }
      } catch (err) {
        // Reconnect next time: fresh sockets, and credentials re-read in case they were rotated.
        disconnect();
        throw asPrometheusError(err, server, secrets);
      }
      if (out.series !== 1) out.values = noSamples(out.values.length);
      if (out.warnings.length > MAX_WARNINGS) out.warnings = [...out.warnings.slice(0, MAX_WARNINGS), 'more warnings omitted'];
      return out;
    },
    close() {
      closed = true;
      disconnect();
    },
  };
}

function readFile(server: string, key: string, path: string, dir: string | undefined): Buffer {
  if (dir === undefined) throw new PrometheusError('credentials', `${server}: ${key} needs a credentials directory (--prometheus-credentials-dir)`);
  try {
    return readCredentialFile(dir, path);
  } catch (err) {
    const reason = err instanceof CredentialFileError ? err.message : ((err as NodeJS.ErrnoException).code ?? 'error');
    // A directory, a FIFO, a file too large or a link leading out will not change by waiting: the
    // key's fault (INVALID_ARGUMENT naming it, as a bad query is). An errno such as ENOENT may be a
    // Secret still being mounted: the source's, retried.
    const field = err instanceof CredentialFileError && err.permanent ? key : undefined;
    throw new PrometheusError('credentials', `${server}: cannot read ${key} ${path}: ${reason}`, field);
  }
}

function readSecret(server: string, key: string, path: string | undefined, dir: string | undefined): string {
  if (path === undefined) throw new PrometheusError('credentials', `${server}: ${key} is not set`);
  // Mounted secrets often end with a newline that is not part of the credential.
  const value = readFile(server, key, path, dir).toString('utf8').trim();
  if (value === '') throw new PrometheusError('credentials', `${server}: ${key} ${path} is empty`);
  return value;
}

/** The parts of an axios error this module reads; typed structurally to keep axios out of the imports. */
interface AxiosLike {
  code?: string;
  message?: string;
  response?: { status?: number; statusText?: string; data?: unknown };
}

const TLS_CODE = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

function describeFailure(error: unknown, server: string, timeoutSeconds: number, secrets: string[]): PrometheusError {
  if (error instanceof PrometheusError) return error;
  const e: AxiosLike = typeof error === 'object' && error !== null ? error : {};
  const message = redact(e.message ?? String(error), secrets);
  const code = e.code ?? '';
  // Checked before the status: a body cut off mid-way still carries its response's "200 OK".
  if (code === 'ERR_CANCELED') return new PrometheusError('deadline', `${server}: deadline exceeded`);
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new PrometheusError('timeout', `${server}: no answer within ${timeoutSeconds}s`);
  }
  const tooLarge = /^maxContentLength size of (\d+) exceeded/.exec(e.message ?? '');
  if (tooLarge) return new PrometheusError('too-large', `${server}: answer larger than ${tooLarge[1]} bytes, refused (does the query match many series?)`);
  const status = e.response?.status;
  if (status !== undefined && (status < 200 || status >= 300)) {
    // Redacted before it is cut: a secret the cut splits would be left half shown.
    const detail = capText(redact(bodyText(e.response?.data) ?? e.response?.statusText ?? '', secrets), ERROR_BODY_CHARS);
    // Prometheus's answer to PromQL it cannot parse (2.x: "1:15: parse error: …"; later versions
    // prefix 'invalid parameter "query"'): the query, the trigger's metadata, is wrong, not the
    // server. The range parameters are ours and always valid.
    if (status === 400 && /^bad_data: (invalid parameter "query"|\d+:\d+: parse error)/.test(detail)) return new PrometheusError('query', `${server}: rejects the query: ${detail}`);
    const hint = status === 401 || status === 403 ? ' (check authModes and the credential files)' : '';
    return new PrometheusError('http', `${server}: HTTP ${status}${detail ? `: ${detail}` : ''}${hint}`);
  }
  if (status !== undefined) return new PrometheusError('response', `${server}: answer broken off: ${message}`);
  if (TLS_CODE.test(code)) return new PrometheusError('tls', `${server}: TLS failed: ${message}`);
  return new PrometheusError('unreachable', `${server}: cannot reach Prometheus: ${message}`);
}

const isStream = (x: unknown): x is Readable => x instanceof Readable;

/**
 * A streamed answer's body, at most `maxBytes` (else `too-large`), parsed as JSON when it is JSON
 * (as axios would have: the text as it is otherwise). Past the deadline the read ends with it.
 */
async function readAnswer(stream: Readable, maxBytes: number, signal: AbortSignal | undefined, server: string): Promise<unknown> {
  let body: Buffer;
  try {
    body = await readCapped(stream, maxBytes, signal);
  } catch (err) {
    if (err instanceof TooManyBytesError) throw new PrometheusError('too-large', `${server}: answer larger than ${maxBytes} bytes, refused (does the query match many series?)`);
    if (signal?.aborted) throw Object.assign(new Error('canceled'), { code: 'ERR_CANCELED' });
    throw new PrometheusError('response', `${server}: answer broken off: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The most characters of an error body kept: it is logged and kept as each trigger's last error, and
 * a server (a tenant's own, a gateway) may answer an error of up to the answer cap, hundreds of KiB.
 */
export const ERROR_BODY_CHARS = 200;

/** Prometheus's JSON error (`errorType: error`), or the first line of a plain-text body (the caller cuts it). */
function bodyText(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && 'error' in data && typeof data.error === 'string') {
    const type = 'errorType' in data && typeof data.errorType === 'string' ? `${data.errorType}: ` : '';
    return type + data.error;
  }
  if (typeof data === 'string' && data.trim() !== '') return data.trim().split('\n')[0]!;
  return undefined;
}

/**
 * The driver wraps what it catches in plain objects, sometimes twice (`original` holds the cause):
 * find our own error, else call it an unexpected answer.
 */
function asPrometheusError(thrown: unknown, server: string, secrets: string[]): PrometheusError {
  let clientError = false;
  for (let e = thrown, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if (e instanceof PrometheusError) return e;
    if ('errorType' in e && e.errorType === 'client_error') clientError = true;
    e = 'original' in e ? e.original : undefined;
  }
  if (clientError) return new PrometheusError('response', `${server}: unexpected answer (is this the Prometheus HTTP API?)`);
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new PrometheusError('response', `${server}: unexpected answer: ${redact(message, secrets)}`);
}

/** A proxy or server may echo request headers into its error text. */
function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('<redacted>');
  return out;
}
