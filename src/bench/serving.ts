/**
 * Serving benchmark: client-side latency of GetMetricSpec, GetMetrics and IsActive with N
 * registered ScaledObjects, at KEDA's call pattern, against `amadeus serve` in its own process
 * (so its resident memory is its own). Open loop: polls start on schedule whether or not earlier
 * ones finished, so a slow server shows up as latency instead of as a lower rate.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createScalerClient, type ScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';

export interface ServingBenchOptions {
  objects: number;
  /** Total calls per second (each KEDA poll is 3 calls). */
  rates: number[];
  seconds: number;
  log: (line: string) => void;
}

export interface RateResult {
  callsPerSecond: number;
  achievedCallsPerSecond: number;
  calls: number;
  errors: number;
  p50Ms: Record<string, number>;
  p99Ms: Record<string, number>;
  /** How late polls started against their schedule: the load generator's own delay, not the server's. */
  launchLagP99Ms: number;
}

export interface ServingBenchResult {
  objects: number;
  serverRssMiB: { idle: number; registered: number; afterLoad: number };
  rates: RateResult[];
}

const RPCS = ['GetMetricSpec', 'GetMetrics', 'IsActive'] as const;
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis);
  // utime and stime are fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refOf(i: number): ScaledObjectRef {
  return { name: `app-${i}`, namespace: `bench-${i % 20}`, scalerMetadata: { scalerAddress: 'amadeus:6000', targetValue: '20', headroom: '0.1', replayScale: String(1 + (i % 7) / 10) } };
}

/** `onLine`: each line the server writes (its JSON log), for a benchmark that counts what it says. */
export async function startServer(extraArgs: string[] = [], onLine?: (line: string) => void): Promise<{ port: number; pid: number; metricsPort: number; stop: () => Promise<void> }> {
  // BENCH_NODE_ARGS: Node flags for the server (e.g. --cpu-prof, which NODE_OPTIONS may not carry).
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), CLI, 'serve', '--address', '127.0.0.1:0', '--metrics-address', '127.0.0.1:0', '--refresh-log-level', 'debug', '--max-objects', '100000', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // BENCH_SERVER_CPUS=1 (with the benchmark itself under `taskset -c 0`): the scaler gets its own
  // core, so its latency is measured apart from the load generator's and Prometheus's CPU. Its
  // threads started later (the inference and fine-tuning workers) inherit the affinity.
  const cpus = process.env.BENCH_SERVER_CPUS;
  if (cpus && child.pid) execFileSync('taskset', ['-a', '-cp', cpus, String(child.pid)], { stdio: 'ignore' });
  const [port, metricsPort] = await readPorts(child, [/"msg":"gRPC server listening".*?"port":(\d+)/, /"msg":"metrics listening".*?"port":(\d+)/], 'amadeus serve');
  // BENCH_SERVER_LOG=FILE keeps the server's output (its logs, or --trace-gc lines) for diagnosis.
  if (process.env.BENCH_SERVER_LOG) child.stdout!.pipe(createWriteStream(process.env.BENCH_SERVER_LOG, { flags: 'a' }));
  if (onLine) createInterface({ input: child.stdout! }).on('line', onLine);
  if (!process.env.BENCH_SERVER_LOG && !onLine) child.stdout!.resume();
  return {
    port,
    metricsPort,
    pid: child.pid!,
    stop: () => stopChild(child),
  };
}

/** The constant-answer ExternalScaler of floor-server.ts, in a child process. */
export async function startFloorServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./floor-server.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port] = await readPorts(child, [/"port":(\d+)/], 'floor server');
  child.stdout!.resume();
  return { port, stop: () => stopChild(child) };
}

/**
 * The ports a child prints at start-up, one per pattern (its first group). Only the start-up lines
 * matter: buffering (and scanning) stops once every port is known, so the child's later output
 * costs the load generator nothing.
 */
function readPorts(child: ChildProcess, patterns: RegExp[], what: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      const found = patterns.map((p) => p.exec(buf));
      if (found.every((m) => m !== null)) {
        child.stdout!.off('data', onData);
        buf = '';
        resolve(found.map((m) => Number(m![1])));
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function runRate(client: ScalerClient, refs: ScaledObjectRef[], rate: number, seconds: number): Promise<RateResult> {
  const lat: Record<string, number[]> = { GetMetricSpec: [], GetMetrics: [], IsActive: [] };
  let errors = 0;
  let calls = 0;
  const timed = async (rpc: string, p: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    try {
      await p();
      lat[rpc]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    } catch {
      errors++;
    }
    calls++;
  };
  const pollsPerSecond = rate / 3;
  const total = Math.round(pollsPerSecond * seconds);
  const inflight: Promise<void>[] = [];
  const lags: number[] = [];
  const started = performance.now();
  let launched = 0;
  while (launched < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * pollsPerSecond));
    for (; launched < due; launched++) {
      const r = refs[launched % refs.length]!;
      lags.push(performance.now() - started - (launched / pollsPerSecond) * 1000);
      // One KEDA poll: the three calls in order, as keda-operator makes them.
      inflight.push(
        (async () => {
          await timed('GetMetricSpec', () => client.getMetricSpec(r));
          await timed('GetMetrics', () => client.getMetrics(r, 'amadeus-predicted-load'));
          await timed('IsActive', () => client.isActive(r));
        })(),
      );
    }
    if (inflight.length > 5000) await Promise.all(inflight.splice(0));
    await sleep(2);
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  const p50Ms: Record<string, number> = {};
  const p99Ms: Record<string, number> = {};
  for (const rpc of RPCS) {
    const s = lat[rpc]!.sort((a, b) => a - b);
    p50Ms[rpc] = Math.round(quantile(s, 0.5) * 1000) / 1000;
    p99Ms[rpc] = Math.round(quantile(s, 0.99) * 1000) / 1000;
  }
  const launchLagP99Ms = Math.round(quantile(lags.sort((a, b) => a - b), 0.99) * 1000) / 1000;
  return { callsPerSecond: rate, achievedCallsPerSecond: Math.round(calls / elapsed), calls, errors, p50Ms, p99Ms, launchLagP99Ms };
}

/** Registers every object (GetMetricSpec) and waits until each has a plan (GetMetrics answers). */
export async function registerAll(client: ScalerClient, refs: ScaledObjectRef[]): Promise<void> {
  for (let i = 0; i < refs.length; i += 100) await Promise.all(refs.slice(i, i + 100).map((r) => client.getMetricSpec(r)));
  for (const r of refs) {
    for (;;) {
      try {
        await client.getMetrics(r, '');
        break;
      } catch {
        await sleep(50);
      }
    }
  }
}

export async function runServingBench(opts: ServingBenchOptions): Promise<ServingBenchResult> {
  // Its objects have no query: the replay source (opt-in) serves them.
  const server = await startServer(['--replay']);
  const client = createScalerClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  try {
    await sleep(500);
    const idle = rssMiB(server.pid);
    const refs = Array.from({ length: opts.objects }, (_, i) => refOf(i));
    opts.log(`registering ${opts.objects} ScaledObjects…`);
    await registerAll(client, refs);
    const registered = rssMiB(server.pid);
    const rates: RateResult[] = [];
    for (const rate of opts.rates) {
      opts.log(`${rate} calls/s for ${opts.seconds} s…`);
      const res = await runRate(client, refs, rate, opts.seconds);
      opts.log(`  achieved ${res.achievedCallsPerSecond} calls/s, errors ${res.errors}, p50 ${JSON.stringify(res.p50Ms)}, p99 ${JSON.stringify(res.p99Ms)}, launch lag p99 ${res.launchLagP99Ms} ms`);
      rates.push(res);
    }
    return { objects: opts.objects, serverRssMiB: { idle, registered, afterLoad: rssMiB(server.pid) }, rates };
  } finally {
    client.close();
    await server.stop();
  }
}
