/**
 * The fault soak (issue 20): a real `amadeus serve` with N ScaledObjects, half reading a loopback
 * Prometheus stand-in that misbehaves, half a healthy one, polled as KEDA polls them. Each minute
 * every faulty object meets another phase of a cycle — refuse (connection reset), hang, trickle (a
 * byte every 500 ms), HTTP 500, garbage, a 400 MB answer, lies (-5, NaN, 1e308 as the newest
 * sample), a series that stopped, half the load with a warning (a partial response), healthy — staggered by object, so every kind of fault is live in every minute (the
 * objects refresh once a minute, all at the same offset).
 *
 * Reports: answers out of bounds (not finite, < 0, or > the objects' maxValue), activity lost to an
 * error (IsActive true → false: every object's load is above its activation value throughout),
 * answers below the object's last good plan, UNAVAILABLE answers (objects with a short
 * maxOutageSeconds are meant to reach it), objects of the healthy source whose refresh the server
 * said was overdue (held up by the faulty source's: never meant to happen), GetMetrics p50/p99 of
 * the healthy objects, and the server's RSS (before the faults, at its peak, at the end).
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { createScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { startFaultPrometheus, type Fault } from '../test-support/fault-prometheus.js';
import { registerAll, rssMiB, sleep, startServer } from './serving.js';

export interface FaultSoakOptions {
  objects: number;
  /** Seconds of faults after every object has its first plan. */
  seconds: number;
  /** GetMetrics + IsActive calls per second, over all objects. */
  rate: number;
  log: (line: string) => void;
  serveArgs?: string[];
}

export const FAULT_PHASES = ['refuse', 'hang', 'trickle', 'error500', 'garbage', 'huge', 'lies', 'stopped', 'partial', 'healthy'] as const;
type Phase = (typeof FAULT_PHASES)[number];
const LIES = ['-5', 'NaN', '1e308'];
/** Every object's ceiling: far above its load (at most ~70 planned), far below the lies. */
const MAX_VALUE = 1000;

const loadOf = (i: number) => 10 + (i % 50);

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const ms = (v: number) => Math.round(v * 1000) / 1000;

/** The kernel's record of a process's peak resident memory (VmHWM), in MiB. */
function vmHwmMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
  } catch {
    return NaN;
  }
}

export async function runFaultSoakBench(o: FaultSoakOptions) {
  let faultsFrom = Infinity;
  const phaseCount = new Map<Phase, number>();
  const phaseOf = (i: number, now: number): Phase => {
    if (now < faultsFrom) return 'healthy';
    const minute = Math.floor((now - faultsFrom) / 60_000);
    // Staggered over the faulty objects (every other one): each minute meets every phase.
    return FAULT_PHASES[(Math.floor(i / 2) + minute) % FAULT_PHASES.length]!;
  };
  const indexOf = (query: string) => Number(/app-(\d+)/.exec(query)?.[1] ?? -1);
  const faulty = await startFaultPrometheus((q) => {
    const i = indexOf(q.query);
    const phase = phaseOf(i, Date.now());
    if (Date.now() >= faultsFrom) phaseCount.set(phase, (phaseCount.get(phase) ?? 0) + 1);
    const minute = Math.floor((Date.now() - faultsFrom) / 60_000);
    const faults: Record<Phase, Fault> = {
      refuse: { kind: 'refuse' },
      hang: { kind: 'hang' },
      trickle: { kind: 'trickle' },
      error500: { kind: 'error500' },
      garbage: { kind: 'garbage' },
      huge: { kind: 'huge', bytes: 400 * 1024 * 1024 },
      lies: { kind: 'lies', value: loadOf(i), newest: LIES[(i + minute) % LIES.length]! },
      // A series whose newest 10 minutes are missing (scrapes failing): the read's overlap with the
      // cache brings those gaps in, so the newest sample is old (cause "stale"), never planned on.
      stopped: { kind: 'stopped', value: loadOf(i), missing: 10 },
      // Half the load, with a warning (a store missing): may raise the plan, never lower it.
      partial: { kind: 'partial', value: loadOf(i) / 2, warning: 'partial response: a store is unavailable' },
      healthy: { kind: 'healthy', value: loadOf(i) },
    };
    return faults[phase];
  });
  const healthy = await startFaultPrometheus((q) => ({ kind: 'healthy', value: loadOf(indexOf(q.query)) }));

  const isFaulty = (i: number) => i % 2 === 1;
  // A quarter of the faulty objects give up after two minutes of outage (UNAVAILABLE, KEDA's fallback).
  const shortOutage = (i: number) => isFaulty(i) && i % 8 === 1;
  const refs: ScaledObjectRef[] = Array.from({ length: o.objects }, (_, i) => ({
    name: `app-${i}`,
    namespace: `soak-${i % 20}`,
    scalerMetadata: {
      scalerAddress: 'amadeus:6000',
      targetValue: '20',
      activationValue: '5',
      forecaster: 'holt-winters',
      signals: 'none',
      maxValue: String(MAX_VALUE),
      serverAddress: isFaulty(i) ? faulty.url : healthy.url,
      query: `sum(rate(http_requests_total{app="app-${i}"}[1m]))`,
      ...(shortOutage(i) ? { maxOutageSeconds: '120' } : {}),
    },
  }));

  // Triggers the server said were overdue (their refresh waited a minute past its time), by the
  // source they read: a faulty source's own triggers may be; the healthy source's must never be.
  // Said once as a trigger's answer turns to last-plan for it, when a poll or scrape asks: each
  // object is polled every 10 s or so, far within the 5 minutes before a plan is stale.
  const overdue = { healthy: new Set<number>(), faulty: new Set<number>() };
  const onLine = (line: string) => {
    if (!line.includes('"refresh overdue')) return;
    const i = Number(/"scaledObject":"[^"]*\/app-(\d+)"/.exec(line)?.[1] ?? NaN);
    if (Number.isInteger(i)) overdue[isFaulty(i) ? 'faulty' : 'healthy'].add(i);
  };
  const server = await startServer(o.serveArgs ?? [], onLine);
  const client = createScalerClient(`127.0.0.1:${server.port}`);
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(server.pid))), 1000);
  try {
    o.log(`fault soak: registering ${o.objects} ScaledObjects (half on a healthy source, half on a faulty one)…`);
    const t0 = performance.now();
    await registerAll(client, refs);
    o.log(`  every object planned in ${Math.round(performance.now() - t0) / 1000} s`);
    const rssBefore = rssMiB(server.pid);

    // The good plan of each object, known before any fault: what an error must never go below.
    const good = await Promise.all(refs.map(async (r) => (await client.getMetrics(r, '')).metricValues[0]!.metricValueFloat));
    const lastActive: (boolean | null)[] = refs.map(() => null);

    const stats = {
      getMetrics: 0,
      isActive: 0,
      outOfBounds: 0,
      lowered: 0,
      deactivatedByError: 0,
      unavailable: { shortOutageObjects: 0, others: 0 },
      otherErrors: {} as Record<string, number>,
    };
    const examples: string[] = [];
    const note = (what: string) => {
      if (examples.length < 10) examples.push(what);
    };
    const latHealthy: number[] = [];
    const latFaulty: number[] = [];

    const pollOne = async (i: number) => {
      const r = refs[i]!;
      const t = process.hrtime.bigint();
      try {
        const m = (await client.getMetrics(r, '')).metricValues[0]!;
        (isFaulty(i) ? latFaulty : latHealthy).push(Number(process.hrtime.bigint() - t) / 1e6);
        stats.getMetrics++;
        const v = m.metricValueFloat;
        if (!(Number.isFinite(v) && v >= 0 && v <= MAX_VALUE) || !(m.metricValue >= 0 && m.metricValue <= MAX_VALUE)) {
          stats.outOfBounds++;
          note(`${r.name}: GetMetrics ${v} (int ${m.metricValue})`);
        }
        if (v < good[i]! - 1e-9) {
          stats.lowered++;
          note(`${r.name}: GetMetrics ${v} < its good plan ${good[i]}`);
        }
      } catch (err) {
        tally(err, i);
      }
      try {
        const active = (await client.isActive(r)).result;
        stats.isActive++;
        if (lastActive[i] === true && !active) {
          stats.deactivatedByError++;
          note(`${r.name}: IsActive true → false`);
        }
        lastActive[i] = active;
      } catch (err) {
        tally(err, i);
      }
    };
    const tally = (err: unknown, i: number) => {
      const code = grpc.status[(err as grpc.ServiceError).code] ?? 'UNKNOWN';
      if (code === 'UNAVAILABLE') {
        if (shortOutage(i)) stats.unavailable.shortOutageObjects++;
        else {
          stats.unavailable.others++;
          note(`${refs[i]!.name}: UNAVAILABLE: ${(err as grpc.ServiceError).details}`);
        }
      } else stats.otherErrors[code] = (stats.otherErrors[code] ?? 0) + 1;
    };

    o.log(`faults for ${o.seconds} s: phases ${FAULT_PHASES.join(', ')} (one a minute per faulty object, staggered); ${o.rate} calls/s…`);
    faultsFrom = Date.now();
    const pollsPerSecond = o.rate / 2;
    const total = Math.round(pollsPerSecond * o.seconds);
    const inflight = new Set<Promise<void>>();
    let launched = 0;
    const started = performance.now();
    let lastLog = started;
    while (launched < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * pollsPerSecond));
      for (; launched < due; launched++) {
        const p = pollOne(launched % refs.length).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      if (performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        o.log(`  ${Math.round((lastLog - started) / 1000)} s: ${stats.getMetrics} GetMetrics answered, ${stats.outOfBounds} out of bounds, ${stats.deactivatedByError} deactivations, server RSS ${rssMiB(server.pid)} MiB`);
      }
      await sleep(5);
    }
    await Promise.all(inflight);
    const degraded = await scrapeDegraded(server.metricsPort);
    latHealthy.sort((x, y) => x - y);
    latFaulty.sort((x, y) => x - y);
    const result = {
      objects: o.objects,
      faultyObjects: refs.filter((_, i) => isFaulty(i)).length,
      shortOutageObjects: refs.filter((_, i) => shortOutage(i)).length,
      seconds: o.seconds,
      callsPerSecond: o.rate,
      phases: FAULT_PHASES,
      maxValue: MAX_VALUE,
      answers: { getMetrics: stats.getMetrics, isActive: stats.isActive },
      violations: {
        outOfBounds: stats.outOfBounds,
        deactivatedByError: stats.deactivatedByError,
        belowLastGoodPlan: stats.lowered,
        unavailableBeforeMaxOutage: stats.unavailable.others,
        healthyObjectsOverdue: overdue.healthy.size,
      },
      faultyObjectsOverdue: overdue.faulty.size,
      unavailableAfterMaxOutage: stats.unavailable.shortOutageObjects,
      otherErrors: stats.otherErrors,
      examples,
      getMetricsMs: {
        healthy: { p50: ms(quantile(latHealthy, 0.5)), p99: ms(quantile(latHealthy, 0.99)), max: ms(latHealthy[latHealthy.length - 1] ?? NaN) },
        faulty: { p50: ms(quantile(latFaulty, 0.5)), p99: ms(quantile(latFaulty, 0.99)) },
      },
      serverRssMiB: { beforeFaults: rssBefore, peakSampled: Math.max(peakRss, rssMiB(server.pid)), peakKernel: vmHwmMiB(server.pid), end: rssMiB(server.pid) },
      standIn: { requests: Object.fromEntries(phaseCount), hugeMiBSent: Math.round(faulty.hugeBytesSent / 1048576) },
      degradedAtEnd: degraded,
    };
    o.log(`  ${JSON.stringify(result.violations)}; healthy GetMetrics p99 ${result.getMetricsMs.healthy.p99} ms; server RSS peak ${result.serverRssMiB.peakKernel} MiB`);
    return result;
  } finally {
    clearInterval(rssTimer);
    client.close();
    await server.stop();
    await faulty.close();
    await healthy.close();
  }
}

/** amadeus_degraded_triggers at the end: triggers by stage and cause. */
async function scrapeDegraded(metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^amadeus_degraded_triggers\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out[`${labels.stage}/${labels.cause}`] = Number(m[2]);
  }
  return out;
}
