/**
 * `amadeus serve`: wires config → sources → forecasters → registry → gRPC server, and owns the
 * process lifecycle (readiness, signals, bounded graceful shutdown).
 */
import { onSignals } from './signals.js';
import { existsSync } from 'node:fs';
import { readFailure, readSmallFile } from '../files/small-file.js';
import { SERVE_OPTIONS } from './options/serve.js';
import { joinMessages } from '../config/fields.js';
import { helpText, parseOptionsGiven, unreadEnv, UsageError, type ParsedOptions } from '../config/options.js';
import { createForecasterProvider } from '../forecast/catalog.js';
import { loadLstmRuntime } from '../forecast/lstm/runtime.js';
import { createMetadataParser, InvalidRequestError, type ScalerConfig } from '../scaler/metadata.js';
import { createPrometheusSource, prometheusConfigProblems, type PrometheusConfig } from '../sources/prometheus.js';
import { ScaledObjectRegistry } from '../scaler/registry.js';
import { startScalerServer, type ScalerServer, type TlsFiles } from '../scaler/server.js';
import { createReplayFeed } from '../sources/replay.js';
import type { Trace } from '../sources/trace.js';
import { timeOption } from './time-option.js';
import { readTrace } from './trace-file.js';
import { checkTlsFiles } from './tls-files.js';
import { demoDefaults } from './demo.js';
import type { MetricSource } from '../sources/types.js';
import { startMetricsServer } from '../telemetry/http.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { ScalerMetrics } from '../telemetry/metrics.js';
import type { Healer } from '../healer/healer.js';
import { healerCredentials } from '../healer/credentials.js';
import { fileStateStore } from '../replicas/shared-dir.js';
import { replicaMetrics, startReplicas } from './replicas.js';
import { startVolumeGc } from './volume-gc.js';
import { fanOut, logNotifier } from '../notify/notifier.js';
import { ScaleNotices } from '../notify/scale-notice.js';
import type { SlackNotifier } from '../notify/slack.js';

export type ServeOptions = ParsedOptions<typeof SERVE_OPTIONS>;

export const SERVE_HELP = helpText(
  'serve',
  'Serve KEDA\'s ExternalScaler gRPC contract with predicted load, read from Prometheus (each trigger\'s metadata query). --demo serves a built-in synthetic workload instead, with no cluster.',
  SERVE_OPTIONS,
);

/** The demo ScaledObject `--demo` registers, so refreshes run (and log) with no KEDA calling. */
export const DEMO_OBJECT = {
  namespace: 'default',
  name: 'amadeus-demo',
  metadata: { targetValue: '20', activationValue: '1', headroom: '0.1' },
};

/** The TLS files, checked (tls-files.ts), or undefined without TLS. */
export function tlsFrom(opts: ServeOptions): TlsFiles | undefined {
  if (!opts.tlsCert && !opts.tlsKey && !opts.tlsClientCa) return undefined;
  if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('TLS needs both --tls-cert and --tls-key (--tls-client-ca alone cannot enable it)');
  const tls = { certFile: opts.tlsCert, keyFile: opts.tlsKey, clientCaFile: opts.tlsClientCa };
  checkTlsFiles(tls);
  return tls;
}

/** `--replay-start` as epoch ms, or undefined for the replay's own default. */
export function replayStartOf(opts: Pick<ServeOptions, 'replayStart'>): number | undefined {
  return opts.replayStart === undefined ? undefined : timeOption('replayStart', opts.replayStart);
}

/**
 * One replay feed for the whole process: every ScaledObject sees the same virtual "now", whenever
 * it registered, and the series is computed once for all of them.
 */
function replaySourceFactory(opts: ServeOptions, trace: Trace | null): (config: ScalerConfig) => MetricSource {
  const timing = { speed: opts.replaySpeed, virtualStart: replayStartOf(opts) };
  const feed = trace
    ? createReplayFeed({ ...timing, trace })
    : createReplayFeed({ ...timing, generator: { scenario: opts.replayScenario, seed: opts.replaySeed, peakRate: opts.replayPeak } });
  return (config) => feed.source(config.replayScale);
}

/** The flag that turned the replay source on, or null: it is for demos and tests, never the default. */
export function replayBy(opts: Pick<ServeOptions, 'replay' | 'demo' | 'replayTrace'>): string | null {
  return opts.replay ? '--replay' : opts.demo ? '--demo' : opts.replayTrace !== undefined ? '--replay-trace' : null;
}

const NO_QUERY = 'metadata "query" is required: PromQL returning the workload\'s load, one series (the replay source\'s synthetic load, for demos and tests, needs amadeus serve --replay)';

/**
 * The Prometheus configuration of a trigger, or null when it reads the replay source: Prometheus
 * when its metadata has a `query` (at its `serverAddress`, else `--prometheus-url`); the replay
 * source when it has neither `query` nor `serverAddress` and replayBy(opts) turned it on; else the
 * metadata's error. Throws InvalidRequestError for metadata no source could serve; opens nothing.
 */
function prometheusConfigOf(opts: ServeOptions, config: ScalerConfig): PrometheusConfig | null {
  if (config.query === undefined && config.serverAddress === undefined) {
    if (replayBy(opts) !== null) return null;
    throw new InvalidRequestError(NO_QUERY);
  }
  const serverAddress = config.serverAddress ?? opts.prometheusUrl;
  if (serverAddress === undefined) throw new InvalidRequestError('metadata "serverAddress" is required with "query" (or start Amadeus with --prometheus-url)');
  const full = { ...config, serverAddress, credentialsDir: opts.prometheusCredentialsDir };
  const problems = prometheusConfigProblems(full, (k) => `metadata "${k}"`);
  if (problems.length) throw new InvalidRequestError(joinMessages(problems.map((p) => p.message)));
  return full;
}

/** What sourceFactory would refuse, checked without opening a source (GetMetricSpec while the registry is full). */
export function sourceCheck(opts: ServeOptions): (config: ScalerConfig) => void {
  return (config) => void prometheusConfigOf(opts, config);
}

/** Where each ScaledObject's load comes from (see prometheusConfigOf). */
export function sourceFactory(opts: ServeOptions, trace: Trace | null, log: Logger): (config: ScalerConfig) => MetricSource {
  const replay = replaySourceFactory(opts, trace);
  return (config) => {
    const prometheus = prometheusConfigOf(opts, config);
    return prometheus === null ? replay(config) : createPrometheusSource(prometheus, { log });
  };
}

export interface RunningServer {
  server: ScalerServer;
  metrics: ScalerMetrics;
  metricsPort: number;
  registry: ScaledObjectRegistry;
  logger: Logger;
  /** Null when healing is off or no cluster credentials were found. */
  healer: Healer | null;
  /** Graceful stop: health NOT_SERVING, streams ended, in-flight calls finished (bounded), loops stopped. */
  stop(): Promise<void>;
}

/** A Slack token is a few dozen characters; a file much larger than that is not one. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** The Slack notifier when a token and a channel are configured (one without the other is an error). */
export async function slackFrom(opts: ServeOptions, logger: Logger): Promise<SlackNotifier[]> {
  if (opts.slackToken !== undefined && opts.slackTokenFile !== undefined) throw new UsageError('give --slack-token or --slack-token-file, not both');
  let token = opts.slackToken;
  if (opts.slackTokenFile !== undefined) {
    try {
      token = readSmallFile(opts.slackTokenFile, MAX_TOKEN_FILE_BYTES).toString('utf8').trim();
    } catch (err) {
      throw new UsageError(`--slack-token-file: cannot read ${opts.slackTokenFile}: ${readFailure(err)}`);
    }
  }
  if (!token && opts.slackChannel === undefined) return [];
  if (!token || opts.slackChannel === undefined) throw new UsageError('Slack needs both a token (--slack-token / AMADEUS_SLACK_TOKEN / --slack-token-file) and --slack-channel');
  logger.info('Slack notices on', { channel: opts.slackChannel });
  // Loaded only when used: the Slack client and its HTTP stack add to every start-up otherwise.
  const { SlackNotifier } = await import('../notify/slack.js');
  return [
    new SlackNotifier({
      token,
      channel: opts.slackChannel,
      apiUrl: opts.slackApiUrl,
      log: logger.child({ component: 'slack' }),
      minIntervalMs: opts.slackMinInterval * 1000,
      dedupeWindowMs: opts.slackDedupeWindow * 1000,
    }),
  ];
}

/**
 * Waits for `stop` at most `ms`: a silent Kubernetes API can hold a request (and so a stop) forever.
 * `failed` is logged when it rejects, `late` when it is left running.
 */
async function boundedStop(stop: Promise<void>, ms: number, log: Logger, messages: { failed: string; late: string }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const done = stop.then(
    () => true,
    (err: unknown) => {
      log.warn(messages.failed, { error: err });
      return true;
    },
  );
  const finished = await Promise.race([done, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  if (!finished) log.warn(messages.late, { timeoutMs: ms });
}

const LEASE_STOP = { failed: 'releasing the replica lease failed; it expires on its own', late: 'the replica lease was not released in time; it expires on its own' };

/** Thrown out of start-up by a SIGTERM or SIGINT that came during it. */
export class StartupInterrupted extends Error {
  override name = 'StartupInterrupted';
  constructor(readonly signal: string) {
    super(`start-up interrupted by ${signal}`);
  }
}

/** Seconds after which a healer whose pod watches have not started yet is reported as waiting. */
const HEALER_SLOW_START_MS = 10_000;

/**
 * Starts everything `amadeus serve` runs and marks it ready. Readiness never waits for the
 * Kubernetes API: the healer starts in the background, its own readiness in the log and in
 * `amadeus_healer_ready`. When `signal` aborts (a SIGTERM during start-up), start-up stops at its
 * next step, closes what it had opened and rejects with the abort's reason.
 */
export async function startServe(
  opts: ServeOptions,
  logger = createLogger({ level: opts.logLevel }),
  env: NodeJS.ProcessEnv = process.env,
  startup: { signal?: AbortSignal } = {},
): Promise<RunningServer> {
  const { signal } = startup;
  const tls = tlsFrom(opts);
  replayStartOf(opts); // a bad value fails before the model loads
  const trace = opts.replayTrace ? readTrace(opts.replayTrace, '--replay-trace') : null;
  const replay = replayBy(opts);
  if (replay !== null) logger.warn('replay source on: triggers without a query are served synthetic load (for demos and tests, never production)', { by: replay });
  // What start-up has opened, closed in reverse order when it fails or is interrupted.
  const opened: (() => unknown)[] = [];
  const closeOpened = async () => {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn('closing after an unfinished start-up failed', { error: err });
      }
    }
  };
  const shutdownMs = opts.shutdownTimeout * 1000;
  try {
    signal?.throwIfAborted();
    const { runtime: lstm, reason } = await loadLstmRuntime({
      model: opts.model,
      backend: opts.tfBackend,
      fineTune: opts.fineTune,
      inferenceWorker: opts.inferenceWorker,
      fineTuneIntervalMs: opts.fineTuneInterval * 1000,
      fineTuneHistoryMinutes: opts.fineTuneHistory,
      fineTuneBlend: opts.fineTuneBlend,
      weightsDir: opts.weightsDir,
      log: logger,
    });
    opened.push(async () => {
      await lstm?.pool?.close();
      await lstm?.inference?.close();
    });
    signal?.throwIfAborted();
    // Replica coordination before any workload registers: ownership decides who fine-tunes.
    const replicas = await startReplicas(opts, env, logger);
    opened.push(() => boundedStop(replicas.stop(), shutdownMs, logger, LEASE_STOP));
    if (lstm) {
      lstm.owns = replicas.owns;
      lstm.roundLock = replicas.roundLock;
      lstm.workloads = new Set();
    }
    const metrics = new ScalerMetrics();
    const replicaCounters = replicaMetrics(metrics.registry, { replicas, workloads: lstm?.workloads ?? null, queue: () => lstm?.pool?.pending ?? 0 });
    const registry = new ScaledObjectRegistry({
      parseMetadata: createMetadataParser(opts.defaultForecaster),
      sourceFor: sourceFactory(opts, trace, logger),
      checkSource: sourceCheck(opts),
      forecasterFor: createForecasterProvider({
        lstm,
        unavailableReason: reason,
        log: logger,
        // Every replica advances each workload's gate and calibration alike; the owner publishes them.
        sync: { store: fileStateStore(opts.weightsDir), owns: replicas.owns, intervalMinutes: opts.stateSyncInterval / 60, onSnapshot: replicaCounters.snapshots },
      }),
      refreshOffsetMs: opts.refreshOffset * 1000,
      idleTimeoutMs: opts.idleTimeout * 1000,
      maxObjects: opts.maxObjects,
      refreshConcurrency: opts.refreshConcurrency,
      refreshLogLevel: opts.refreshLogLevel,
      planTtlMs: opts.planTtl * 1000,
      observer: {
        refreshed: (r) => metrics.recordRefresh(r),
        forgotten: (ns, name) => {
          metrics.forget(ns, name);
          notices.forget(ns, name);
        },
        planned: (snapshot) => {
          const notice = notices.next(snapshot);
          if (notice) void notifier.notify(notice);
        },
        refreshDuration: (s) => metrics.observeRefreshDuration(s),
      },
      logger,
    });
    opened.push(() => registry.close());
    opened.push(startVolumeGc({ weightsDir: opts.weightsDir, owns: replicas.owns, workloads: () => lstm?.workloads ?? null, roundLock: replicas.roundLock, log: logger }));
    metrics.setSnapshotSource(() => registry.servedStates());
    const slack = await slackFrom(opts, logger);
    const notifier = fanOut([logNotifier(logger), ...slack], logger);
    const notices = new ScaleNotices(opts.slackScaleStep, replicas.owns);
    const server = await startScalerServer({ address: opts.address, tls, registry, logger, observeRpc: (m, c, s) => metrics.observeRpc(m, c, s), maxStreams: 2 * opts.maxObjects });
    opened.push(() => server.shutdown(0));
    signal?.throwIfAborted();
    const http = await startMetricsServer({ address: opts.metricsAddress, metrics, ready: () => server.ready, log: logger });
    opened.push(() => http.close());
    logger.info('metrics listening', { address: opts.metricsAddress, port: http.port });
    signal?.throwIfAborted();
    // The Kubernetes client takes most of a second to load: only when there is a cluster to heal.
    // Its configuration is checked here (an error fails start-up); its watches start in the background.
    const creds = healerCredentials(opts, env, existsSync, logger);
    let started: { healer: Healer; started: Promise<void> } | null = null;
    if (creds) {
      const { startHealer } = await import('../healer/start.js');
      signal?.throwIfAborted();
      started = await startHealer(opts, creds, { log: logger, notifier, metrics, env });
    }
    const healer = started?.healer ?? null;
    let healerSlow: NodeJS.Timeout | undefined;
    let stopping = false;
    const stopHealer = async () => {
      clearTimeout(healerSlow);
      if (!healer) return;
      await boundedStop(healer.stop(), shutdownMs, logger, { failed: 'healer stop failed', late: 'healer did not stop in time; leaving it' });
    };
    if (started) {
      opened.push(stopHealer);
      metrics.healerReady(false);
      healerSlow = setTimeout(() => logger.warn('healer still waiting for the Kubernetes API; scaling is served meanwhile', { waitedMs: HEALER_SLOW_START_MS }), HEALER_SLOW_START_MS);
      healerSlow.unref();
      started.started.then(
        () => {
          clearTimeout(healerSlow);
          if (!stopping) metrics.healerReady(true);
        },
        (err: unknown) => {
          clearTimeout(healerSlow);
          logger.error('healer failed to start', { error: err });
        },
      );
    }
    signal?.throwIfAborted();
    if (opts.demo) registry.touch(DEMO_OBJECT, { pinned: true });
    server.markReady();
    logger.info('ready', {
      prometheus: opts.prometheusUrl ? `default ${new URL(opts.prometheusUrl).origin}` : 'each trigger\'s serverAddress',
      replay: replay === null ? 'off' : trace ? `trace ${opts.replayTrace}` : `generator (${opts.replayScenario})`,
      replaySpeed: opts.replaySpeed,
      defaultForecaster: opts.defaultForecaster,
      healer: healer ? 'starting in the background' : 'off',
    });
    return {
      server,
      metrics,
      metricsPort: http.port,
      registry,
      logger,
      healer,
      async stop() {
        stopping = true;
        // KEDA first: health NOT_SERVING and the streams ended at once, while the healer stops beside it.
        await Promise.all([stopHealer(), server.shutdown(shutdownMs)]);
        // The last notices (a rollback just before a shutdown) get a moment to go out, not forever.
        await Promise.race([Promise.all(slack.map((s) => s.flush())), new Promise((r) => setTimeout(r, 3000).unref())]);
        registry.close();
        // The replica Lease goes at once, so the others take over its workloads without waiting.
        await boundedStop(replicas.stop(), shutdownMs, logger, LEASE_STOP);
        await http.close();
        await lstm?.pool?.close();
        await lstm?.inference?.close();
      },
    };
  } catch (err) {
    await closeOpened();
    throw err;
  }
}

/**
 * Runs until SIGTERM/SIGINT, which are handled from the first moment: one during start-up stops
 * it, closing what was opened, with exit code 0 as after serving; a second signal exits at once (1).
 */
export async function runServe(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVE_HELP);
    return 0;
  }
  const interrupted = new AbortController();
  let exitNow: (code: number) => void = () => {};
  const forced = new Promise<number>((resolve) => (exitNow = resolve));
  let logger: Logger | null = null;
  let running: RunningServer | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted.signal.aborted) {
      logger?.warn('second signal: exiting now', { signal });
      exitNow(1);
      return;
    }
    logger?.info('shutting down', running ? { signal, openStreams: running.server.openStreams } : { signal, during: 'start-up' });
    interrupted.abort(new StartupInterrupted(signal));
  };
  // Kept after the command returns: a signal while the process exits must not kill it by signal.
  onSignals(onSignal);
  const parsed = parseOptionsGiven(SERVE_OPTIONS, argv, env);
  const { opts, off } = demoDefaults(parsed.opts, parsed.given);
  const log = (logger = createLogger({ level: opts.logLevel }));
  for (const u of unreadEnv(SERVE_OPTIONS, env)) log.warn('environment variable ignored: no option of amadeus serve reads it', { variable: u.variable, didYouMean: u.closest ?? undefined });
  if (off.length) log.info('--demo touches no cluster: healing and replica Leases off (give --heal / --replicas to turn them on)', Object.fromEntries(off.map((k) => [k, 'off'])));
  // A bug in one handler or refresh must not take the scaler down: log and keep serving.
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: reason }));
  const serve = async (): Promise<number> => {
    try {
      running = await startServe(opts, log, env, { signal: interrupted.signal });
    } catch (err) {
      if (!(err instanceof StartupInterrupted)) throw err;
      log.info('stopped');
      return 0;
    }
    if (!interrupted.signal.aborted) await new Promise((resolve) => interrupted.signal.addEventListener('abort', resolve, { once: true }));
    try {
      await running.stop();
    } catch (err) {
      log.error('shutdown failed', { error: err });
      return 1;
    }
    log.info('stopped');
    return 0;
  };
  return Promise.race([forced, serve()]);
}
