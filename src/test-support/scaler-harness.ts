/**
 * The scaler as KEDA meets it, for fault tests: the real registry reading through the real
 * Prometheus source (against a real Prometheus or a misbehaving stand-in), the real gRPC server on
 * a loopback port, and a client calling it as KEDA does. The source's clock may run faster than
 * real time, so refreshes (once per minute of it) come every second or so.
 */
import { createScalerClient, type ScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { createMetadataParser } from '../scaler/metadata.js';
import { ScaledObjectRegistry, type RegistryOptions } from '../scaler/registry.js';
import { startScalerServer, type ScalerServer } from '../scaler/server.js';
import { createPrometheusSource } from '../sources/prometheus.js';
import type { MetricSource } from '../sources/types.js';
import { createLogger } from '../telemetry/logger.js';
import { fakeForecaster } from './fakes.js';

export interface ScalerHarness {
  registry: ScaledObjectRegistry;
  server: ScalerServer;
  client: ScalerClient;
  /** Every log line of the scaler, parsed. */
  lines: Record<string, unknown>[];
  /** Source reads started, by the trigger's `query`. */
  reads: Map<string, number>;
  stop(): Promise<void>;
}

export interface HarnessOptions extends Partial<Omit<RegistryOptions, 'parseMetadata' | 'sourceFor' | 'forecasterFor' | 'logger'>> {
  /** Source minutes per real minute. Default 60: a refresh a second. */
  speed?: number;
  /** Where the source's clock starts (epoch ms). Default now. */
  start?: number;
  /** serve's --prometheus-credentials-dir. */
  credentialsDir?: string;
}

export async function startScalerHarness(o: HarnessOptions = {}): Promise<ScalerHarness> {
  const speed = o.speed ?? 60;
  const t0 = Date.now();
  const origin = o.start ?? t0;
  const clock = () => origin + (Date.now() - t0) * speed;
  const lines: Record<string, unknown>[] = [];
  const reads = new Map<string, number>();
  const logger = createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const registry = new ScaledObjectRegistry({
    idleTimeoutMs: 60_000,
    maxObjects: 100,
    refreshConcurrency: 4,
    ...o,
    parseMetadata: createMetadataParser('holt-winters'),
    sourceFor: (config): MetricSource => {
      const source = createPrometheusSource({ ...config, serverAddress: config.serverAddress!, credentialsDir: o.credentialsDir }, { clock, log: logger });
      const query = config.query ?? '';
      return {
        description: source.description,
        now: source.now,
        msUntil: (t) => (t - clock()) / speed,
        read: (minutes, signal, end) => {
          reads.set(query, (reads.get(query) ?? 0) + 1);
          return source.read(minutes, signal, end);
        },
        close: () => source.close(),
      };
    },
    // Forecasts twice the last observed minute: a plan visibly above the observed load.
    forecasterFor: () => fakeForecaster('holt-winters', 2),
    logger,
  });
  const server = await startScalerServer({ address: '127.0.0.1:0', registry, logger });
  server.markReady();
  const client = createScalerClient(`127.0.0.1:${server.port}`);
  return {
    registry,
    server,
    client,
    lines,
    reads,
    async stop() {
      client.close();
      await server.shutdown(2000);
      registry.close();
    },
  };
}

/** A trigger's ScaledObjectRef as KEDA sends it, with the planner's own margins off. */
export function triggerRef(name: string, metadata: Record<string, string>, namespace = 'shop'): ScaledObjectRef {
  return {
    name,
    namespace,
    scalerMetadata: { scalerAddress: 'amadeus.keda:6000', targetValue: '10', headroom: '0', noiseMargin: '0', surgeNoiseMargin: '0', signals: 'none', historyMinutes: '10', ...metadata },
  };
}
