/**
 * Capacity (issue 21): how many workloads one replica can fine-tune, and so how many replicas 1,000
 * workloads need at the default fine-tuning interval (each workload needs one round per interval).
 *
 * Real rounds through the real pool: the LSTM runtime is loaded as `amadeus serve` loads it (its
 * option defaults, `loadLstmRuntime`: the shipped model, backend `auto`, one FineTunePool worker
 * thread), and every job is built as WorkloadLstm.maybeFineTune builds it, from a history of serve's
 * default length (`--fine-tune-history`, 2,880 minutes). The workloads are distinct: windows of
 * the NASA trace at different weeks (requests only, as the replay source reads it) and members of
 * the generator's randomized family (requests, CPU and memory, as the generator source reads them).
 * Rounds go round-robin over the workloads; a workload's next round learns from the history one
 * interval later and, when its last round was accepted, starts from its own weights with the
 * pre-trained ones as the reference — as in serve. Accepted weights are kept in memory, not written.
 *
 * The rounds run one after the other with the main thread otherwise idle: the worker trains one
 * round at a time, so rounds per hour per replica = 3,600 s / mean wall seconds per round. CPU is
 * process-wide (process.cpuUsage: every thread) and, where Linux's /proc/self/task/<tid>/schedstat
 * is readable, split into the main thread, the threads started by the pool (the fine-tuning worker)
 * and the rest (V8's and libuv's helpers).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseOptions } from '../config/options.js';
import { SERVE_OPTIONS } from '../cli/options/serve.js';
import { selectBackend } from '../forecast/lstm/backend.js';
import { roundReadMinutes, type FineTuneJob, type FineTuneResult } from '../forecast/lstm/finetune.js';
import { getWeights } from '../forecast/lstm/io.js';
import { loadLstmRuntime } from '../forecast/lstm/runtime.js';
import { DEFAULT_FINE_TUNE_INTERVAL_MINUTES } from '../forecast/lstm/workload.js';
import type { History } from '../series/history.js';
import { MINUTE_MS } from '../series/minute.js';
import { GENERATOR_START } from '../simulate/suite.js';
import { createGenerator } from '../sources/generator.js';
import { generatorReader, traceReader } from '../sources/replay.js';
import { loadTrace } from '../sources/trace.js';
import { createLogger } from '../telemetry/logger.js';

export interface CapacityBenchOptions {
  trace: string;
  modelDir: string;
  /** Measured rounds. */
  rounds: number;
  /** Unmeasured rounds first (the worker's start, the backend's kernels). */
  warmupRounds: number;
  /** Distinct workloads the rounds go round-robin over (half NASA windows, half generator members). */
  workloads: number;
  /** Workloads the replica count is derived for. */
  target: number;
  log: (line: string) => void;
}

interface Workload {
  name: string;
  /** Reads `minutes` of history from `start` (epoch ms), as the workload's source would. */
  read: (start: number, minutes: number) => History;
  utcOffsetMinutes: number;
  /** Epoch ms just after the last minute of the first round's history. */
  firstEnd: number;
  rounds: number;
  /** Its own weights once a round was accepted (WorkloadLstm's `own`). */
  own: Float32Array[] | null;
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stats = (xs: number[]) => ({ median: round(quantile(xs, 0.5)), p90: round(quantile(xs, 0.9)), mean: round(mean(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });

/** CPU seconds of every thread of this process by thread id (Linux; null elsewhere). */
function threadCpuSeconds(): Map<number, number> | null {
  try {
    const out = new Map<number, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        // The first field is the time the thread ran, in nanoseconds.
        out.set(Number(tid), Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return out.size > 0 ? out : null;
  } catch {
    return null;
  }
}

const processCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function runCapacityBench(o: CapacityBenchOptions) {
  const serve = parseOptions(SERVE_OPTIONS, [], {});
  const intervalMinutes = serve.fineTuneInterval / 60;
  const historyMinutes = serve.fineTuneHistory;
  if (intervalMinutes !== DEFAULT_FINE_TUNE_INTERVAL_MINUTES) throw new Error(`serve's default interval (${intervalMinutes} min) is not DEFAULT_FINE_TUNE_INTERVAL_MINUTES (${DEFAULT_FINE_TUNE_INTERVAL_MINUTES})`);

  const lines: string[] = [];
  const { runtime, reason } = await loadLstmRuntime({
    model: o.modelDir,
    backend: serve.tfBackend,
    fineTune: true,
    inferenceWorker: serve.inferenceWorker,
    fineTuneIntervalMs: serve.fineTuneInterval * 1000,
    fineTuneHistoryMinutes: historyMinutes,
    fineTuneBlend: serve.fineTuneBlend,
    weightsDir: null, // accepted weights stay in memory here
    log: createLogger({ sink: (line) => lines.push(line) }),
  });
  if (!runtime?.pool) throw new Error(`the LSTM runtime did not load: ${reason ?? 'no fine-tuning pool'}`);
  const pool = runtime.pool;
  const shared = runtime.shared;
  // What WorkloadLstm hands a round: its span and, choosing a blend, the days before it days3 reads.
  const readMinutes = roundReadMinutes(historyMinutes, intervalMinutes, shared.meta.shape.horizonMinutes, serve.fineTuneBlend);
  const backend = await selectBackend(serve.tfBackend);

  // The workloads: NASA windows a week apart, and generator members (seeds 1, 2, …).
  const trace = loadTrace(o.trace);
  const nasa = traceReader(trace);
  const total = o.warmupRounds + o.rounds;
  const perWorkload = Math.ceil(total / o.workloads);
  const nasaCount = Math.ceil(o.workloads / 2);
  const workloads: Workload[] = [];
  for (let k = 0; k < o.workloads; k++) {
    if (k < nasaCount) {
      const firstMinute = readMinutes + k * 7 * 1440;
      if (firstMinute + (perWorkload - 1) * intervalMinutes > trace.requests.length) throw new Error(`the NASA trace is too short for ${nasaCount} workloads a week apart`);
      const firstEnd = trace.start + firstMinute * MINUTE_MS;
      workloads.push({ name: `nasa@${new Date(firstEnd).toISOString().slice(0, 10)}`, read: nasa, utcOffsetMinutes: trace.utcOffsetMinutes, firstEnd, rounds: 0, own: null });
    } else {
      const seed = k - nasaCount + 1;
      const firstEnd = GENERATOR_START + (7 * 1440 + seed * 97) * MINUTE_MS;
      workloads.push({ name: `random seed ${seed}`, read: generatorReader(createGenerator({ scenario: 'random', seed })), utcOffsetMinutes: 0, firstEnd, rounds: 0, own: null });
    }
  }
  o.log(`capacity: ${o.warmupRounds} warm-up + ${o.rounds} measured fine-tuning rounds through serve's FineTunePool (backend ${backend}, model ${o.modelDir}), ${historyMinutes} minutes of history each (given ${readMinutes}), round-robin over ${workloads.length} workloads (${workloads.map((w) => w.name).join(', ')})`);

  const pretrained = () => getWeights(shared.currentModel);
  // Threads that exist now are the main thread's and Node's helpers; the pool's worker starts with the first round.
  const threadsBefore = threadCpuSeconds();
  let poolThreads: Set<number> | null = null;
  const measured: { workload: string; wall: number; cpu: number; main: number | null; worker: number | null; accepted: boolean; trainWindows: number }[] = [];
  let firstRoundSeconds = 0;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const w = workloads[i % workloads.length]!;
    const end = w.firstEnd + w.rounds * intervalMinutes * MINUTE_MS;
    const h = w.read(end - readMinutes * MINUTE_MS, readMinutes);
    const series = { requests: h.requests.slice(), cpu: h.cpu?.slice(), memory: h.memory?.slice(), start: h.start, utcOffsetMinutes: w.utcOffsetMinutes };
    const meta = shared.meta;
    const t0 = threadCpuSeconds();
    const c0 = processCpuSeconds();
    const s0 = performance.now();
    // As WorkloadLstm.maybeFineTune: the weights in use, and the pre-trained ones once it has its own.
    const job: FineTuneJob = { shape: meta.shape, weights: w.own ?? pretrained(), pretrained: w.own ? pretrained() : undefined, series, fitMinutes: historyMinutes, targetSmoothing: meta.training?.targetSmoothing, chooseBlend: serve.fineTuneBlend };
    const result: FineTuneResult = await pool.run(job);
    const wall = (performance.now() - s0) / 1000;
    const cpu = processCpuSeconds() - c0;
    const t1 = threadCpuSeconds();
    if (!poolThreads && threadsBefore && t1) poolThreads = new Set([...t1.keys()].filter((tid) => !threadsBefore.has(tid)));
    const delta = (tids: Iterable<number>) => {
      if (!t0 || !t1) return null;
      let s = 0;
      for (const tid of tids) {
        const after = t1.get(tid);
        if (after !== undefined) s += after - (t0.get(tid) ?? 0); // a thread absent before started during the round
      }
      return s;
    };
    const main = delta([process.pid]);
    const worker = poolThreads ? delta(poolThreads) : null;
    w.rounds++;
    if (result.accepted && result.weights) w.own = result.weights;
    const warm = i < o.warmupRounds;
    if (i === 0) firstRoundSeconds = wall;
    if (!warm) measured.push({ workload: w.name, wall, cpu, main, worker, accepted: result.accepted, trainWindows: result.trainWindows });
    const cpuText = `${cpu.toFixed(2)} s CPU${worker !== null && main !== null ? ` (worker ${worker.toFixed(2)}, main ${main.toFixed(2)})` : ''}`;
    o.log(`  round ${i + 1}/${total}${warm ? ' (warm-up)' : ''} ${w.name} #${w.rounds}: ${wall.toFixed(2)} s wall, ${cpuText}, ${result.trainWindows} training windows, ${result.accepted ? 'accepted' : 'rejected'}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  await runtime.inference?.close();
  shared.dispose();

  const walls = measured.map((m) => m.wall);
  const cpus = measured.map((m) => m.cpu);
  const workers = measured.every((m) => m.worker !== null) ? measured.map((m) => m.worker!) : null;
  const mains = measured.every((m) => m.main !== null) ? measured.map((m) => m.main!) : null;
  const meanWall = mean(walls);
  const roundsPerHour = 3600 / meanWall;
  const intervalHours = intervalMinutes / 60;
  const workloadsPerReplica = roundsPerHour * intervalHours;
  const replicas = Math.ceil(o.target / workloadsPerReplica);
  const busy = (o.target * meanWall) / (intervalMinutes * 60);

  const table = [
    `rounds measured                         ${measured.length} (after ${o.warmupRounds} warm-up; first round, with the worker's start: ${firstRoundSeconds.toFixed(2)} s)`,
    `wall s per round  median / p90 / mean   ${stats(walls).median} / ${stats(walls).p90} / ${stats(walls).mean}`,
    `CPU s per round (process) med/p90/mean  ${stats(cpus).median} / ${stats(cpus).p90} / ${stats(cpus).mean}`,
    ...(workers ? [`  of which the worker thread            ${stats(workers).median} / ${stats(workers).p90} / ${stats(workers).mean}`] : []),
    ...(mains ? [`  of which the main thread              ${stats(mains).median} / ${stats(mains).p90} / ${stats(mains).mean}`] : []),
    `rounds per hour per replica             ${Math.round(roundsPerHour)} (3,600 s / mean wall; one worker, one round at a time)`,
    `workloads per replica at ${intervalMinutes} min        ${Math.round(workloadsPerReplica)} (rounds/hour × ${intervalHours} h)`,
    `replicas for ${o.target.toLocaleString('en-US')} workloads             ${replicas} (the worker busy ${(busy * 100).toFixed(1)}% of each interval with all of them on one replica)`,
  ];
  for (const line of table) o.log(line);

  return {
    backend,
    model: o.modelDir,
    historyMinutes,
    roundReadMinutes: readMinutes,
    intervalMinutes,
    workloads: workloads.map((w) => w.name),
    warmupRounds: o.warmupRounds,
    firstRoundSeconds: round(firstRoundSeconds, 2),
    roundsMeasured: measured.length,
    accepted: measured.filter((m) => m.accepted).length,
    wallSecondsPerRound: stats(walls),
    cpuSecondsPerRound: {
      process: stats(cpus),
      worker: workers ? stats(workers) : null,
      main: mains ? stats(mains) : null,
      note: 'process: process.cpuUsage(), every thread; worker: the threads the fine-tuning pool started; main: the main thread (Linux /proc schedstat)',
    },
    roundsPerHourPerReplica: round(roundsPerHour, 0),
    workloadsPerReplica: round(workloadsPerReplica, 0),
    target: o.target,
    replicasNeeded: replicas,
    workerBusyFractionAtTarget: round(busy, 4),
    elapsedSeconds: round(elapsed, 1),
    rounds: measured.map((m) => ({ workload: m.workload, wall: round(m.wall), cpu: round(m.cpu), ...(m.worker !== null ? { worker: round(m.worker) } : {}), accepted: m.accepted, trainWindows: m.trainWindows })),
  };
}
