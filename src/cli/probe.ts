/**
 * `amadeus probe`: calls a scaler exactly as KEDA does (GetMetricSpec → GetMetrics → IsActive) and
 * prints one JSON line per poll, so a deployment can be checked without KEDA.
 */
import { MAX_TLS_FILE_BYTES, readFailure, readSmallFile } from '../files/small-file.js';
import * as grpc from '@grpc/grpc-js';
import { helpText, parseOptions, UsageError, warnUnreadEnv, type ParsedOptions } from '../config/options.js';
import { PROBE_OPTIONS } from './options/probe.js';
import { createScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';

type ProbeOptions = ParsedOptions<typeof PROBE_OPTIONS>;

export function parseMetadataPairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata: "${pair}" is not key=value`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function credentials(opts: ProbeOptions): grpc.ChannelCredentials {
  if (!opts.ca) {
    if (opts.cert || opts.key) throw new UsageError('--cert and --key need --ca');
    return grpc.credentials.createInsecure();
  }
  if (Boolean(opts.cert) !== Boolean(opts.key)) throw new UsageError('mutual TLS needs both --cert and --key');
  const read = (file: string, flag: string) => {
    try {
      return readSmallFile(file, MAX_TLS_FILE_BYTES);
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file}: ${readFailure(err)}`);
    }
  };
  return grpc.credentials.createSsl(read(opts.ca, '--ca'), opts.key ? read(opts.key, '--key') : null, opts.cert ? read(opts.cert, '--cert') : null);
}

export async function runProbe(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('probe', 'Call a running scaler the way KEDA does and print what it answers.', PROBE_OPTIONS));
    return 0;
  }
  const opts = parseOptions(PROBE_OPTIONS, argv, env);
  warnUnreadEnv('probe', PROBE_OPTIONS, env);
  const ref: ScaledObjectRef = { namespace: opts.namespace, name: opts.name, scalerMetadata: parseMetadataPairs(opts.metadata) };
  // Every call has a deadline: a server that accepts the connection and never answers (a wedged
  // process, a proxy with nothing behind it) fails the poll after --timeout instead of hanging it.
  const timeoutMs = opts.timeout * 1000;
  const client = createScalerClient(opts.address, credentials(opts), {}, { callTimeoutMs: timeoutMs });
  let failed: boolean;
  try {
    for (;;) {
      const line: Record<string, unknown> = { time: new Date().toISOString(), scaledObject: `${ref.namespace}/${ref.name}` };
      let rpc = 'GetMetricSpec';
      try {
        const spec = (await client.getMetricSpec(ref)).metricSpecs[0];
        line.metricName = spec?.metricName;
        line.targetSize = spec?.targetSizeFloat;
        rpc = 'GetMetrics';
        const value = (await client.getMetrics(ref, spec?.metricName ?? '')).metricValues[0];
        line.metricValue = value?.metricValueFloat;
        if (spec && value && spec.targetSizeFloat > 0) line.desiredReplicas = Math.ceil(value.metricValueFloat / spec.targetSizeFloat - 1e-9);
        rpc = 'IsActive';
        line.active = (await client.isActive(ref)).result;
        failed = false;
      } catch (err) {
        const e = err as grpc.ServiceError;
        // grpc-js words an expired deadline as timings and load-balancer details: say what it means.
        const details = e.code === grpc.status.DEADLINE_EXCEEDED ? `${rpc}: no answer from ${opts.address} within ${opts.timeout} s (--timeout)` : (e.details ?? e.message);
        line.error = { code: grpc.status[e.code] ?? e.code, details };
        failed = true;
      }
      console.log(JSON.stringify(line));
      if (!opts.watch) break;
      await new Promise((r) => setTimeout(r, opts.interval * 1000));
    }
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}
