/**
 * `amadeus serve`: wires config → sources → forecasters → registry → gRPC server, and owns the
 * process lifecycle (readiness, signals, bounded graceful shutdown).
 */
import { existsSync, readFileSync } from 'node:fs';
import { SERVE_OPTIONS } from '../config/serve.js';
import { helpText, parseOptions, UsageError, type ParsedOptions } from '../config/options.js';
import { createForecasterProvider } from '../forecast/catalog.js';
import { loadLstmRuntime } from '../forecast/lstm/runtime.js';
import { createMetadataParser, InvalidRequestError, type ScalerConfig } from '../scaler/metadata.js';
import { createPrometheusSource, prometheusConfigProblems } from '../sources/prometheus.js';
import { ScaledObjectRegistry } from '../scaler/registry.js';
import { startScalerServer, type ScalerServer, type TlsFiles } from '../scaler/server.js';
import { createReplayFeed } from '../sources/replay.js';
import { loadTrace, parseTimestamp, type Trace } from '../sources/trace.js';
import type { MetricSource } from '../sources/types.js';
import { startMetricsServer, type MetricsServer } from '../telemetry/http.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { ScalerMetrics } from '../telemetry/metrics.js';
import type { Healer } from '../healer/healer.js';
import { healerCredentials } from '../healer/credentials.js';
import { fanOut, logNotifier } from '../notify/notifier.js';
import { ScaleNotices } from '../notify/scale-notice.js';
import type { SlackNotifier } from '../notify/slack.js';

export type ServeOptions = ParsedOptions<typeof SERVE_OPTIONS>;

export const SERVE_HELP = helpText(
  'serve',
  'Serve KEDA\'s ExternalScaler gRPC contract with predicted load. Without a data source configured it replays a built-in synthetic workload.',
  SERVE_OPTIONS,
);

/** The demo ScaledObject `--demo` registers, so refreshes run (and log) with no KEDA calling. */
export const DEMO_OBJECT = {
  namespace: 'default',
  name: 'amadeus-demo',
  metadata: { targetValue: '20', activationValue: '1', headroom: '0.1' },
};

export function tlsFrom(opts: ServeOptions): TlsFiles | undefined {
  if (!opts.tlsCert && !opts.tlsKey && !opts.tlsClientCa) return undefined;
  if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('TLS needs both --tls-cert and --tls-key (--tls-client-ca alone cannot enable it)');
  return { certFile: opts.tlsCert, keyFile: opts.tlsKey, clientCaFile: opts.tlsClientCa };
}

/** `--replay-start` as epoch ms, or undefined for the replay's own default. */
export function replayStartOf(opts: Pick<ServeOptions, 'replayStart'>): number | undefined {
  if (opts.replayStart === undefined) return undefined;
  const t = parseTimestamp(opts.replayStart);
  if (t === null) throw new UsageError(`--replay-start (AMADEUS_REPLAY_START) is not a valid time: "${opts.replayStart}"`);
  return t.epochMs;
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

/**
 * Where each ScaledObject's load comes from: Prometheus when its metadata has a `query` (at its
 * `serverAddress`, else `--prometheus-url`); the replay source otherwise, unless `--prometheus-url`
 * made Prometheus the default, in which case a missing `query` is the metadata's error.
 */
export function sourceFactory(opts: ServeOptions, trace: Trace | null, log: Logger): (config: ScalerConfig) => MetricSource {
  const replay = replaySourceFactory(opts, trace);
  return (config) => {
    const serverAddress = config.serverAddress ?? opts.prometheusUrl;
    const wantsPrometheus = config.query !== undefined || config.serverAddress !== undefined || opts.prometheusUrl !== undefined;
    if (!wantsPrometheus) return replay(config);
    if (serverAddress === undefined) throw new InvalidRequestError('metadata "serverAddress" is required with "query" (or start Amadeus with --prometheus-url)');
    const full = { ...config, serverAddress };
    const problems = prometheusConfigProblems(full, (k) => `metadata "${k}"`);
    if (problems.length) throw new InvalidRequestError(problems.map((p) => p.message).join('; '));
    return createPrometheusSource(full, { log });
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

/** The Slack notifier when a token and a channel are configured (one without the other is an error). */
export async function slackFrom(opts: ServeOptions, logger: Logger): Promise<SlackNotifier[]> {
  if (opts.slackToken !== undefined && opts.slackTokenFile !== undefined) throw new UsageError('give --slack-token or --slack-token-file, not both');
  let token = opts.slackToken;
  if (opts.slackTokenFile !== undefined) {
    try {
      token = readFileSync(opts.slackTokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--slack-token-file: cannot read ${opts.slackTokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
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

export async function startServe(opts: ServeOptions, logger = createLogger({ level: opts.logLevel }), env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const tls = tlsFrom(opts);
  replayStartOf(opts); // a bad value fails before the model loads
  const trace = opts.replayTrace ? loadTrace(opts.replayTrace) : null;
  const { runtime: lstm, reason } = await loadLstmRuntime({
    model: opts.model,
    backend: opts.tfBackend,
    fineTune: opts.fineTune,
    inferenceWorker: opts.inferenceWorker,
    fineTuneIntervalMs: opts.fineTuneInterval * 1000,
    fineTuneHistoryMinutes: opts.fineTuneHistory,
    weightsDir: opts.weightsDir,
    log: logger,
  });
  const metrics = new ScalerMetrics();
  const registry = new ScaledObjectRegistry({
    parseMetadata: createMetadataParser(opts.defaultForecaster),
    sourceFor: sourceFactory(opts, trace, logger),
    forecasterFor: createForecasterProvider({ lstm, unavailableReason: reason, log: logger }),
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
  metrics.setSnapshotSource(() => registry.servedStates());
  const slack = await slackFrom(opts, logger);
  const notifier = fanOut([logNotifier(logger), ...slack], logger);
  const notices = new ScaleNotices(opts.slackScaleStep);
  let server: ScalerServer | undefined;
  let http: MetricsServer | undefined;
  let healer: Healer | null = null;
  try {
    const grpcServer = await startScalerServer({ address: opts.address, tls, registry, logger, observeRpc: (m, c, s) => metrics.observeRpc(m, c, s) });
    server = grpcServer;
    http = await startMetricsServer({ address: opts.metricsAddress, metrics, ready: () => grpcServer.ready, log: logger });
    // The Kubernetes client takes most of a second to load: only when there is a cluster to heal.
    const creds = healerCredentials(opts, env, existsSync, logger);
    if (creds) healer = await (await import('../healer/start.js')).startHealer(opts, creds, { log: logger, notifier, metrics, env });
  } catch (err) {
    await server?.shutdown(0);
    await http?.close();
    registry.close();
    await lstm?.pool?.close();
    await lstm?.inference?.close();
    throw err;
  }
  logger.info('metrics listening', { address: opts.metricsAddress, port: http.port });
  if (opts.demo) registry.touch(DEMO_OBJECT, { pinned: true });
  server.markReady();
  logger.info('ready', {
    source: opts.prometheusUrl ? `prometheus ${new URL(opts.prometheusUrl).origin}` : trace ? `replay trace ${opts.replayTrace}` : `replay generator (${opts.replayScenario})`,
    replaySpeed: opts.replaySpeed,
    defaultForecaster: opts.defaultForecaster,
  });
  const metricsServer = http;
  return {
    server,
    metrics,
    metricsPort: metricsServer.port,
    registry,
    logger,
    healer,
    async stop() {
      await healer?.stop();
      await server.shutdown(opts.shutdownTimeout * 1000);
      // The last notices (a rollback just before a shutdown) get a moment to go out, not forever.
      await Promise.race([Promise.all(slack.map((s) => s.flush())), new Promise((r) => setTimeout(r, 3000).unref())]);
      registry.close();
      await metricsServer.close();
      await lstm?.pool?.close();
      await lstm?.inference?.close();
    },
  };
}

/** Runs until SIGTERM/SIGINT; a second signal exits at once. */
export async function runServe(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVE_HELP);
    return 0;
  }
  const opts = parseOptions(SERVE_OPTIONS, argv, env);
  const logger = createLogger({ level: opts.logLevel });
  // A bug in one handler or refresh must not take the scaler down: log and keep serving.
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: reason }));
  const running = await startServe(opts, logger);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn('second signal: exiting now', { signal });
        resolve(1);
        return;
      }
      stopping = true;
      logger.info('shutting down', { signal, openStreams: running.server.openStreams });
      running.stop().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error('shutdown failed', { error: err });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
