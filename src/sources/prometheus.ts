/**
 * The Prometheus MetricSource: one ScaledObject's request rate (and optionally CPU and memory) read
 * from PromQL range queries at a 1-minute step. Minute i of a window is the query's value at the
 * END of that minute, so the newest complete minute ends at floorMinute(now), or at the earlier
 * minute a read asks for (the query's end: MetricSource.read's `end`). Reads are
 * incremental: refreshes come once a minute over windows of hours, so only the new minutes (plus a
 * short overlap for late scrapes and rule evaluations) are fetched each time.
 */
import { boolean, FieldsError, number, oneOf, optional, text, type FieldProblem, type FieldSpec, type Parsed } from '../config/fields.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { AUTH_MODES, createPrometheusClient, PrometheusError, safeAddress, type AuthMode, type MinuteValues } from './prometheus-client.js';
import { deadlineOf, untilAborted } from '../deadline/deadline.js';
import { MINUTE_MS } from '../series/minute.js';
import { appendSamples, noSamples, type History, type Samples } from '../series/history.js';
import { windowEnd, type MetricSource } from './types.js';
import { credentialPath } from './credential-file.js';

export { AUTH_MODES, PrometheusError, type AuthMode, type FailureReason } from './prometheus-client.js';

/** Minutes re-fetched before the newest cached one: samples scraped or recorded late land there. */
export const OVERLAP_MINUTES = 2;
/** Default cap on one read's window: four weeks, above anything a forecaster or fine-tuning asks. */
export const DEFAULT_MAX_MINUTES = 4 * 7 * 24 * 60;

/**
 * A long window (a week, with the `recurring` signal) is read newest minutes first (FIRST_MINUTES),
 * then the rest a chunk per request, back-filled by the same read while its budget lasts and by
 * later reads after it: a slow Prometheus (or Thanos fetching a week from object storage) then
 * makes a trigger ready on its newest hours rather than keep it not ready while a week never fits
 * in `timeoutSeconds`. The chunk starts at a request's most points (a fast server answers the rest
 * at once: two requests for a week), halves after a request that ran out of time (down to `min`),
 * and doubles after one that did not.
 */
export const CHUNK_MINUTES = { start: 10_000, min: 60, max: 10_000 } as const;
/**
 * A cold read's first request for a long window: the newest two hours, what a Thanos
 * sidecar or a Prometheus head answers itself, so a store of older blocks being down or slow does
 * not hold the trigger's first plan.
 */
export const FIRST_MINUTES = 120;
/** A window up to this long (a day) is asked whole when cold: one request of at most 1,440 points. */
export const LONG_WINDOW_MINUTES = 1440;
/**
 * Share of `timeoutSeconds` after which a read starts no further back-fill request (and ends the one
 * running), counted from the read's start: its deadline's (the registry's), a wait behind an earlier
 * read of the source included, so the read hands back what it has well before that deadline.
 */
export const BACKFILL_BUDGET_SHARE = 0.5;
/** Older minutes answered with warnings are asked again at most this often (source clock). */
export const REASK_AFTER_MS = 10 * 60_000;
/**
 * After a warm fetch failed, the next one fetches the newest minutes (OVERLAP_MINUTES + 1) first and
 * asks the minutes between the cache's end and them again as minutes answered with warnings are
 * (gaps until they answer, at most every REASK_AFTER_MS): a fetch error tied to one of them (two
 * series of a query that is not aggregated, for the minutes a rolling update overlapped its pods)
 * failed every read from then on — each fetched from the cache's end, frozen before the error — for
 * as long as the window reached back to it, days, while a replica started later served.
 */
const NEWEST_AFTER_FAILURE_MINUTES = OVERLAP_MINUTES + 1;

const httpUrl: FieldSpec<string | undefined> = optional({
  expected: 'an http(s) URL without credentials, query or fragment, e.g. http://prometheus.monitoring:9090 (at most 2,048 characters)',
  parse(raw) {
    const s = raw.trim();
    if (s.length > 2048) throw new Error('too long');
    const url = new URL(s);
    // Secrets belong in mounted files, never in metadata that anyone reading the ScaledObject sees.
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.username || url.password) {
      throw new Error('not an http(s) URL without credentials');
    }
    // The API's path is appended to the address as text: after a query or a fragment it is no path
    // (http://p:9090/?x=1/api/v1/query_range asks for "/"), so no request could ever be answered.
    if (s.includes('?') || s.includes('#')) throw new Error('a query or fragment');
    return s.replace(/\/+$/, '');
  },
});

const authModes: FieldSpec<readonly AuthMode[] | undefined> = optional({
  expected: `a comma-separated list of ${AUTH_MODES.map((m) => `"${m}"`).join(', ')} ("basic" and "bearer" exclude each other)`,
  parse(raw) {
    const modes = [...new Set(raw.split(',').map((m) => m.trim()).filter((m) => m !== ''))];
    if (modes.length === 0 || !modes.every((m): m is AuthMode => (AUTH_MODES as readonly string[]).includes(m))) {
      throw new Error('unknown auth mode');
    }
    // Both set the Authorization header: one would silently win.
    if (modes.includes('basic') && modes.includes('bearer')) throw new Error('basic and bearer together');
    return modes;
  },
});

// Bounded like everything taken from a request: a real query is a few hundred characters, a path
// at most PATH_MAX.
const promql = () => optional(text({ required: true, maxLength: 16_384, expected: 'a PromQL expression returning one series (at most 16,384 characters)' }));
const path = () => optional(text({ required: true, maxLength: 4096, expected: 'the path of a mounted file (at most 4,096 characters)' }));

/** ScaledObject metadata of the Prometheus source; the lead merges it into the metadata table. */
export const PROMETHEUS_METADATA = {
  /** Prometheus's base URL; absent → the server's --prometheus-url. */
  serverAddress: httpUrl,
  /** PromQL of the request rate; must return exactly one series (aggregate with sum(...)). */
  query: promql(),
  /** PromQL of the workload's CPU usage in cores, one series. */
  cpuQuery: promql(),
  /** PromQL of the workload's memory usage in bytes, one series. */
  memoryQuery: promql(),
  /** How to authenticate, like KEDA's Prometheus scaler: basic | bearer | tls, combinable with commas. */
  authModes,
  usernameFile: path(),
  passwordFile: path(),
  bearerTokenFile: path(),
  caFile: path(),
  certFile: path(),
  keyFile: path(),
  /** Skip verification of Prometheus's TLS certificate (not `unsafeSsl`: that key is KEDA's own, for its connection to Amadeus). */
  prometheusUnsafeSsl: boolean({ default: false }),
  /**
   * The deadline of one read (every request of it, headers to last byte: a server trickling a byte
   * at a time fails at it) and Prometheus's own evaluation timeout; 0.1 s to 5 minutes.
   */
  timeoutSeconds: number({ min: 0.1, max: 300, default: 10 }),
  /**
   * An answer with warnings (Thanos's partial response, a failed remote read): `hold` (default) plans
   * on it only to raise the answer and counts it as a failed read toward maxOutageSeconds; `accept`
   * takes it as whole, logging the warnings.
   */
  partialResponse: oneOf(['hold', 'accept'], { default: 'hold' }),
} satisfies Record<string, FieldSpec<unknown>>;

export type PrometheusMetadata = Parsed<typeof PROMETHEUS_METADATA>;
/** The parsed metadata with the server resolved (metadata `serverAddress`, else the global default). */
export type PrometheusConfig = Omit<PrometheusMetadata, 'serverAddress'> & {
  serverAddress: string;
  /** Where the file keys may name files (serve's --prometheus-credentials-dir); none: no file key may be set. */
  credentialsDir?: string;
};

export interface PrometheusSourceOptions {
  /** Epoch ms; default `Date.now`. Injectable so tests read fixed windows of backfilled data. */
  clock?: () => number;
  log?: Logger;
  /** Largest window one read may ask (and so the most minutes cached). Default DEFAULT_MAX_MINUTES. */
  maxMinutes?: number;
}

export interface PrometheusSource extends MetricSource {
  /** Minutes currently cached, for tests and diagnostics. */
  readonly cachedMinutes: number;
}

/**
 * Problems no single field can see: the query is required, each auth mode needs its files, and a
 * file without its mode is almost certainly a typo. Empty when the configuration is usable.
 */
export function prometheusConfigProblems(config: PrometheusConfig, describeKey: (key: string) => string = (k) => `"${k}"`): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (key: string, message: string) => problems.push({ key, message: `${describeKey(key)} ${message}` });
  if (config.query === undefined) add('query', 'is required with the Prometheus source: a PromQL expression returning one series');
  try {
    httpUrl.parse(config.serverAddress);
  } catch {
    // The resolved address may be the global default, whose user info is allowed (it is no metadata).
    const url = URL.canParse(config.serverAddress) ? new URL(config.serverAddress) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) add('serverAddress', `must be ${httpUrl.expected}`);
  }
  const modes = new Set(config.authModes ?? []);
  const need = (mode: AuthMode, key: keyof PrometheusConfig) => {
    if (modes.has(mode) && config[key] === undefined) add(key, `is required when "authModes" includes "${mode}"`);
  };
  need('basic', 'usernameFile');
  need('bearer', 'bearerTokenFile');
  if (modes.has('tls') && config.caFile === undefined && config.certFile === undefined) {
    add('caFile', 'or "certFile" and "keyFile" are required when "authModes" includes "tls"');
  }
  if (modes.has('tls') && (config.certFile === undefined) !== (config.keyFile === undefined)) {
    const [missing, given] = config.certFile === undefined ? ['certFile', 'keyFile'] : ['keyFile', 'certFile'];
    add(missing, `is required with "${given}": a client certificate needs both`);
  }
  const owner: [keyof PrometheusConfig, AuthMode][] = [
    ['usernameFile', 'basic'],
    ['passwordFile', 'basic'],
    ['bearerTokenFile', 'bearer'],
    ['caFile', 'tls'],
    ['certFile', 'tls'],
    ['keyFile', 'tls'],
  ];
  for (const [key, mode] of owner) {
    const value = config[key] as string | undefined;
    if (value === undefined) continue;
    if (!modes.has(mode)) add(key, `is set but "authModes" does not include "${mode}"`);
    else if (config.credentialsDir === undefined) add(key, 'needs Amadeus started with --prometheus-credentials-dir: file credentials are read only from there');
    else if (credentialPath(config.credentialsDir, value) === null) add(key, `must name a file under --prometheus-credentials-dir (${config.credentialsDir})`);
  }
  return problems;
}

type SeriesKey = 'requests' | 'cpu' | 'memory';
const QUERY_KEYS: readonly [SeriesKey, 'query' | 'cpuQuery' | 'memoryQuery'][] = [
  ['requests', 'query'],
  ['cpu', 'cpuQuery'],
  ['memory', 'memoryQuery'],
];

/** The cached minutes: the same layout as History (element i ends at start + (i + 1)·MINUTE_MS). */
interface Cache {
  start: number;
  /** Gaps are holes, so a week of minutes stays unboxed doubles (history.ts, `Samples`). */
  series: Map<SeriesKey, Samples>;
}

/**
 * A source for one ScaledObject. Throws FieldsError when `config` is unusable (see
 * prometheusConfigProblems); connection problems surface on `read`.
 */
export function createPrometheusSource(config: PrometheusConfig, options: PrometheusSourceOptions = {}): PrometheusSource {
  const problems = prometheusConfigProblems(config);
  if (problems.length) throw new FieldsError(problems);
  const clock = options.clock ?? Date.now;
  const maxMinutes = options.maxMinutes ?? DEFAULT_MAX_MINUTES;
  const server = safeAddress(config.serverAddress);
  const description = `prometheus:${server}`;
  const log = (options.log ?? silentLogger).child({ source: description });
  // NaN and ±Inf are kept: the scaler judges every sample (a bad newest one is a source error).
  const client = createPrometheusClient(config, { keepNonFinite: true });
  const queries = QUERY_KEYS.flatMap(([key, field]) => {
    const q = config[field];
    return q === undefined ? [] : [{ key, field, query: q }];
  });

  let cache: Cache | undefined;
  let keep = 0; // the longest window asked so far: what the cache holds at most
  // The start of the window the read in progress hands out: the cache is never trimmed past it.
  let windowFrom = -Infinity;
  // The cached minutes that came from answers with warnings (one span holding them all): asked again
  // once Prometheus answers whole, so an undercount is not kept. Null when every cached minute is whole.
  let warned: { from: number; to: number } | null = null;
  // Every cached minute from this one on has been fetched; older ones are still to be back-filled.
  let coveredFrom = 0;
  // The warned minutes whose values are kept (newest minutes answered with warnings): made gaps once
  // a newer answer is whole, so no read hands them out as load after the one they were partial for.
  let warnedValues: { from: number; to: number } | null = null;
  // When the warned span may be asked again (after an answer for it came with warnings again).
  let reaskAt = 0;
  let olderWarnings = '';
  let chunk: number = CHUNK_MINUTES.start;
  let acceptedWarnings = '';
  // The last warm fetch failed (not by the read's own deadline): see NEWEST_AFTER_FAILURE_MINUTES.
  let warmFailed = false;
  // The extra inputs' failures last logged (a warning when they change, not every minute), and those
  // said to have no data in the window.
  let extraFailures = '';
  const noDataSaid = new Set<string>();
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  const deadlineError = (reason: unknown) =>
    reason instanceof PrometheusError ? reason : new PrometheusError('deadline', `${server}: ${reason instanceof Error ? reason.message : 'deadline exceeded'}`);

  const cacheEnd = (c: Cache) => c.start + c.series.get('requests')!.length * MINUTE_MS;

  /**
   * Fetches every query over [from, to) and merges the answers into the cache. An answer with
   * warnings (partialResponse "hold") adds its minutes to the warned span, to be asked again; for
   * the newest minutes (`older` false: they hold the load answered now) its values are kept and the
   * warnings returned, so the read is partial; for older minutes (a back-fill, an ask again) they
   * are left as gaps — unknown, not undercounted — and the read is not partial on their account: a
   * store of old blocks being down (Thanos) shortens the trigger's memory instead of failing it.
   */
  const fetchInto = async (from: number, to: number, signal: AbortSignal | undefined, older = false): Promise<string | null> => {
    const minutes = (to - from) / MINUTE_MS;
    log.debug('prometheus range query', { from: new Date(from).toISOString(), minutes, queries: queries.length });
    type Got = { answer: MinuteValues; values: Samples };
    const ask = (q: (typeof queries)[number]): Promise<Got> =>
      client.minutes(q.query, from, minutes, signal).then(
        (answer) => ({ answer, values: checked(answer, q.field, q.query, server) }),
        (err: unknown) => {
          throw err instanceof PrometheusError && err.reason === 'query' ? new PrometheusError('query', `metadata "${q.field}": ${err.message}`, q.field) : err;
        },
      );
    // The request rate is what the plan stands on: its failure fails the fetch at once. The extra
    // model inputs (cpuQuery, memoryQuery) failing leave their minutes as gaps instead — a timeout of
    // a heavy cAdvisor query threw away the load Prometheus had answered, and held the trigger's last
    // plan to UNAVAILABLE — unless their metadata is at fault (a query Prometheus refuses, several
    // series), which stays a clear error naming the field.
    const got = await Promise.all(queries.map((q, i) => (i === 0 ? ask(q) : ask(q).catch((err: unknown) => ({ err })))));
    const fetched = new Map<SeriesKey, Samples>();
    const failedExtras: string[] = [];
    const warnings: string[] = [];
    queries.forEach((q, i) => {
      const g = got[i]!;
      if ('err' in g) {
        if (signal?.aborted || (g.err instanceof PrometheusError && g.err.metadataField !== undefined)) throw g.err;
        fetched.set(q.key, noSamples(minutes));
        failedExtras.push(`${q.field}: ${g.err instanceof Error ? g.err.message : String(g.err)}`);
        return;
      }
      fetched.set(q.key, g.values);
      warnings.push(...g.answer.warnings.map((w) => `${q.field}: ${w}`));
    });
    const extraText = failedExtras.join('; ');
    if (extraText !== extraFailures && extraText !== '') log.warn('an extra model input failed: its minutes are left as gaps, the request rate is planned on', { from: new Date(from).toISOString(), minutes, failures: failedExtras });
    extraFailures = extraText;
    let partial: string | null = null;
    if (warnings.length > 0 && config.partialResponse === 'accept') {
      const text = warnings.join('; ');
      if (text !== acceptedWarnings) log.warn('answer with warnings taken as whole (partialResponse: accept)', { warnings });
      acceptedWarnings = text;
    } else if (warnings.length > 0) {
      partial = `answer may be incomplete: ${warnings.join('; ')}`;
      if (older) {
        const text = warnings.join('; ');
        if (text !== olderWarnings) log.warn('older minutes answered with warnings: left as gaps, asked again later', { from: new Date(from).toISOString(), minutes, warnings });
        olderWarnings = text;
        reaskAt = clock() + REASK_AFTER_MS;
        for (const key of fetched.keys()) fetched.set(key, noSamples(minutes));
      }
    }
    // A fetch that starts inside or at the end of the cache extends it, or rewrites the minutes it
    // covers (a back-fill of minutes an answer with warnings filled); anything else replaces it.
    if (cache === undefined || from < cache.start || from > cacheEnd(cache)) {
      cache = { start: from, series: fetched };
      // The minutes answered with warnings were the old cache's: none of the new one's yet.
      warned = null;
      warnedValues = null;
      reaskAt = 0;
    } else if (to >= cacheEnd(cache)) {
      const offset = (from - cache.start) / MINUTE_MS;
      for (const [key, values] of fetched) {
        const merged = cache.series.get(key)!;
        merged.length = offset; // the fetched minutes are newer news than the cached ones
        appendSamples(merged, values);
      }
    } else {
      const offset = (from - cache.start) / MINUTE_MS;
      for (const [key, values] of fetched) {
        const merged = cache.series.get(key)!;
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (typeof v === 'number') merged[offset + i] = v;
          else delete merged[offset + i]; // a gap stays a hole (history.ts, `Samples`)
        }
      }
    }
    // Bounded memory: the longest window asked so far, ending at the newest minute — but never
    // cutting into the window being read, which ends before the newest minute when the clock was
    // stepped back (its oldest minutes were cut, and the read found "no data" until the clock got
    // back). Such a cache holds the step more, until a read past its end trims it.
    const excess = Math.min((cacheEnd(cache) - cache.start) / MINUTE_MS - keep, (windowFrom - cache.start) / MINUTE_MS);
    if (excess > 0) {
      for (const values of cache.series.values()) values.splice(0, excess);
      cache.start += excess * MINUTE_MS;
    }
    if (partial !== null) {
      warned = warned ? { from: Math.min(warned.from, from), to: Math.max(warned.to, to) } : { from, to };
      if (!older) warnedValues = warnedValues ? { from: Math.min(warnedValues.from, from), to: Math.max(warnedValues.to, to) } : { from, to };
    } else if (warned !== null) {
      // Whole minutes cut the span from either end; a whole answer inside it leaves it be.
      if (from <= warned.from && to >= warned.to) warned = null;
      else if (from <= warned.from && to > warned.from) warned = { ...warned, from: to };
      else if (to >= warned.to && from < warned.to) warned = { ...warned, to: from };
    }
    if (warned !== null) warned = warned.to <= cache.start ? null : { ...warned, from: Math.max(warned.from, cache.start) };
    return older ? null : partial;
  };

  /** The cache's minutes in [from, to) as gaps. */
  const punch = (from: number, to: number) => {
    const c = cache!;
    const lo = Math.max(0, (from - c.start) / MINUTE_MS);
    const hi = Math.min((to - c.start) / MINUTE_MS, (cacheEnd(c) - c.start) / MINUTE_MS);
    for (const values of c.series.values()) for (let i = lo; i < hi; i++) delete values[i];
  };

  /** A request bounded by the read's back-fill budget as well as by the read's own deadline. */
  const budgeted = (budgetEnd: number, signal: AbortSignal | undefined): AbortSignal | null => {
    const left = budgetEnd - Date.now();
    if (left <= 0) return null;
    const budget = AbortSignal.timeout(Math.ceil(left));
    return signal ? AbortSignal.any([signal, budget]) : budget;
  };

  /**
   * After a whole answer for the newest minutes (`newestFrom` on): the minutes kept from answers
   * with warnings become gaps, and the newest `chunk` of the warned span is asked again — at once
   * the first time, then at most every REASK_AFTER_MS while answers for it keep coming with warnings
   * (a store down for hours is not asked a week of minutes each minute). Within the back-fill budget;
   * a failure leaves the span for later, never fails the read.
   */
  const reask = async (newestFrom: number, budgetEnd: number, signal: AbortSignal | undefined) => {
    if (warnedValues !== null && warnedValues.from < newestFrom) punch(warnedValues.from, Math.min(warnedValues.to, newestFrom));
    warnedValues = null;
    const span = warned;
    if (span === null || clock() < reaskAt) return;
    const to = Math.min(span.to, newestFrom);
    if (to <= span.from) return;
    const from = Math.max(span.from, to - chunk * MINUTE_MS);
    const bounded = budgeted(budgetEnd, signal);
    if (bounded === null) return;
    try {
      await fetchInto(from, to, bounded, true);
    } catch (err) {
      if (signal?.aborted) throw err;
      log.debug('asking warned minutes again failed; later', { from: new Date(from).toISOString(), minutes: (to - from) / MINUTE_MS, error: err });
      reaskAt = clock() + REASK_AFTER_MS;
      return;
    }
  };

  /**
   * Fetches the cache's minutes not fetched yet, newest first, a chunk at a time, until none is left
   * or the read's back-fill budget (`budgetEnd`: BACKFILL_BUDGET_SHARE of timeoutSeconds from the
   * read's start, see read) is spent: a chunk still running then is given up, its minutes left for
   * the next read, and the read goes on with what it has. Older minutes answered with warnings are
   * left as gaps (fetchInto).
   */
  const backfill = async (budgetEnd: number, signal: AbortSignal | undefined): Promise<void> => {
    while (cache !== undefined && coveredFrom > cache.start && !signal?.aborted) {
      const bounded = budgeted(budgetEnd, signal);
      if (bounded === null) break;
      const to = coveredFrom;
      const from = Math.max(cache.start, to - chunk * MINUTE_MS);
      try {
        await fetchInto(from, to, bounded, true);
      } catch (err) {
        if (signal?.aborted) throw err;
        if (ranOutOfTime(err)) chunk = Math.max(CHUNK_MINUTES.min, Math.floor(chunk / 2));
        log.debug('back-fill of older minutes stopped; the next read goes on', { from: new Date(from).toISOString(), minutes: (to - from) / MINUTE_MS, error: err });
        break;
      }
      coveredFrom = Math.max(from, cache.start);
      chunk = Math.min(CHUNK_MINUTES.max, chunk * 2);
    }
  };

  const readWindow = async (minutes: number, windowEndAt: number | undefined, budgetEnd: number, signal: AbortSignal | undefined): Promise<History> => {
    if (closed) throw new Error(`${description}: read after close`);
    if (!(Number.isSafeInteger(minutes) && minutes > 0 && minutes <= maxMinutes)) {
      throw new RangeError(`${description}: minutes must be an integer in 1..${maxMinutes}, got ${minutes}`);
    }
    const end = windowEnd(clock(), windowEndAt);
    const start = end - minutes * MINUTE_MS;
    keep = Math.max(keep, minutes);
    windowFrom = start;
    let partial: string | null = null;
    if (cache === undefined || start < cache.start || start > cacheEnd(cache)) {
      // Cold, a longer window than cached, or a clock jump: the newest minutes first, the rest below.
      const from = minutes > LONG_WINDOW_MINUTES ? end - FIRST_MINUTES * MINUTE_MS : start;
      // The minutes answered with warnings stay marked while the cache keeps them (a longer window
      // read into it, a clock stepped back over them): forgotten here, they were later handed out
      // as whole, undercounted. fetchInto forgets them when it starts the cache over.
      partial = await fetchInto(from, end, signal);
      const c = cache!;
      if (c.start > start) {
        // The older minutes of the window, not fetched yet: holes until back-filled.
        const pad = (c.start - start) / MINUTE_MS;
        for (const [key, values] of c.series) {
          const padded = noSamples(pad);
          appendSamples(padded, values);
          c.series.set(key, padded);
        }
        c.start = start;
      }
      coveredFrom = from;
      // Cached minutes answered with warnings that this whole answer did not cover (a window grown
      // past a day reads its newest two hours first): gaps, then asked again, as below — not left
      // to a back-fill that may not get to them, and handed out as whole meanwhile.
      if (partial === null) await reask(from, budgetEnd, signal);
    } else if (end > cacheEnd(cache) || warned !== null) {
      // A window ending before the cache's end (an earlier end asked after a later one) is fetched
      // from its own end's overlap: the cache's newer minutes are never handed out for it.
      let from = Math.max(start, Math.min(end, cacheEnd(cache)) - OVERLAP_MINUTES * MINUTE_MS);
      const newestFrom = end - NEWEST_AFTER_FAILURE_MINUTES * MINUTE_MS;
      if (warmFailed && newestFrom > from) {
        // See NEWEST_AFTER_FAILURE_MINUTES: the cache runs on to the newest minutes' start as gaps.
        const length = (newestFrom - cache.start) / MINUTE_MS;
        for (const values of cache.series.values()) if (values.length < length) values.length = length;
        warned = warned ? { from: Math.min(warned.from, from), to: Math.max(warned.to, newestFrom) } : { from, to: newestFrom };
        from = newestFrom;
      }
      try {
        partial = await fetchInto(from, end, signal);
        warmFailed = false;
      } catch (err) {
        warmFailed = !signal?.aborted;
        throw err;
      }
      coveredFrom = Math.min(coveredFrom, from);
      // Minutes answered with warnings before (even cached ones before this window, which a longer
      // read could hand out) once the newest are whole: not while they are partial too.
      if (partial === null) await reask(from, budgetEnd, signal);
    }
    await backfill(budgetEnd, signal);
    const c = cache!;
    const a = (start - c.start) / MINUTE_MS;
    const history: History = { start, requests: [] };
    if (partial !== null) history.partial = partial;
    for (const q of queries) {
      const cached = c.series.get(q.key)!;
      // The usual case, the whole cache, is handed out as is (MetricSource.read): a copy of ~3,000
      // minutes per refresh outlived the refresh often enough to be a fifth of what the scaler's
      // young-generation GCs promoted (V8's sampling heap profiler, refresh benchmark).
      const values = a === 0 && minutes === cached.length ? cached : cached.slice(a, a + minutes);
      if (!values.some((v) => v !== null && v !== undefined)) {
        // An extra input with no data (its series not scraped yet, a failing query): gaps, said above.
        if (q.key !== 'requests') {
          if (!noDataSaid.has(q.field)) log.warn('an extra model input has no data in the window: left as gaps', { field: q.field, minutes });
          noDataSaid.add(q.field);
        } else throw new PrometheusError('no-data', `${server}: query returned no data in the last ${minutes} minutes (${q.field}: ${q.query})`);
      } else noDataSaid.delete(q.field);
      history[q.key] = values;
    }
    return history;
  };

  return {
    description,
    now: clock,
    get cachedMinutes() {
      return cache ? (cacheEnd(cache) - cache.start) / MINUTE_MS : 0;
    },
    read(minutes: number, signal?: AbortSignal, end?: number): Promise<History> {
      // The back-fill budget counts from the read's start, not from when it leaves the queue below:
      // from its deadline's start when the signal is one (the registry's), else from now. A read that
      // waited behind a slow one then back-fills less (or not at all) and still answers with its
      // newest minutes before that deadline, rather than fail at it while back-filling.
      const deadline = deadlineOf(signal);
      const budgetMs = BACKFILL_BUDGET_SHARE * Math.min(config.timeoutSeconds * 1000, deadline?.ms ?? Infinity);
      const budgetEnd = (deadline?.start ?? Date.now()) + budgetMs;
      // One read at a time: two interleaved merges would corrupt the cache.
      const result = queue.then(() => {
        if (signal?.aborted) throw deadlineError(signal.reason);
        return readWindow(minutes, end, budgetEnd, signal);
      });
      queue = result.catch(() => undefined);
      // A read waiting behind a slow one gives up at its own deadline too.
      return untilAborted(result, signal, deadlineError);
    },
    close(): void {
      if (closed) return;
      closed = true;
      cache = undefined;
      client.close();
    },
  };
}

/** A request that ended for lack of time (its own or the read's), not for what the server said. */
function ranOutOfTime(err: unknown): boolean {
  return err instanceof PrometheusError && (err.reason === 'deadline' || err.reason === 'timeout');
}

function checked(answer: MinuteValues, field: string, query: string, server: string): Samples {
  if (answer.series > 1) {
    throw new PrometheusError(
      'series',
      `${server}: ${field} returned ${answer.series} series; it must return exactly one: aggregate it, e.g. sum(${query})`,
      field,
    );
  }
  return answer.values;
}
