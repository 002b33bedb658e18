/**
 * "simulate runs what serve runs": a trace replayed through a real `amadeus serve` (the replay
 * source, accelerated), polled over gRPC the way KEDA polls it, answers in every virtual minute m + 1
 * exactly what `amadeus simulate`'s `amadeus` policy plans for minute m — the same forecaster
 * catalog and model, the same planner defaults, the same history windows, the same gate.
 *
 * Units: the replay source serves a trace's per-minute count as requests per second (count ÷ 60);
 * the simulator plans on the counts and rescales by `load.scale`. So the answer for minute m is
 * planned[m] ÷ (60 × load.scale).
 *
 * Which minute an answer belongs to: every refresh logs `at`, the minute in progress (its history
 * ends just before it), after its plan is in place. An answer to a poll sent after the line for
 * minute A was read can only come from that refresh or a later one, whose line may not be read yet;
 * polls also go out right after each refresh line, so every minute is answered at least once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { amadeusOf, simulateDefaults } from '../cli/options/simulate.js';
import { createMetadataParser } from '../scaler/metadata.js';
import { createScalerClient, type ScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { createSimForecaster } from '../simulate/forecaster.js';
import { SIM_DEFAULTS } from '../simulate/params.js';
import { simulate } from '../simulate/simulate.js';
import { loadTrace, type Trace } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import { createLogger } from '../telemetry/logger.js';
import { waitFor } from '../test-support/fakes.js';
import { type CliProcess, killCli, runCli } from '../test-support/process.js';

/** Virtual minutes per real minute: a virtual minute every 2 s, so a refresh (tens of ms) always fits well inside one. */
const SPEED = 30;
/** Virtual minutes compared. */
const MINUTES = 65;
/** The served span starts this far into the trace: 7 days for the recurring signal's look-back, plus an hour. */
const START_MINUTE = 7 * 1440 + 60;
const TRACE_DAYS = 8;
/** KEDA polls on its own schedule too: this many times per virtual minute, whatever the refreshes do. */
const POLLS_PER_MINUTE = 3;
/** Virtual minutes between two fine-tuning rounds: three rounds start within the span. */
const FINE_TUNE_MINUTES = 20;

/** What serve's trigger metadata says; the simulator's defaults must come to the same (checked below). */
const REF: ScaledObjectRef = { name: 'web', namespace: 'replay', scalerMetadata: { targetValue: '20', podStartupSeconds: String(SIM_DEFAULTS.startupSeconds) } };

interface Answer {
  /** `at` of the newest refresh line read when the poll was sent / when its answer came back (epoch ms). */
  seenBefore: number;
  seenAfter: number;
  value: number;
  active: boolean;
}

const refreshAt = (l: Record<string, unknown>): number | null => (l.msg === 'refresh' && l.scaledObject === 'replay/web' ? Date.parse(l.at as string) : null);

describe('simulate runs what serve runs', () => {
  let dir: string;
  let proc: CliProcess | undefined;
  let client: ScalerClient | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'amadeus-equivalence-'));
  });
  afterAll(async () => {
    client?.close();
    await killCli(proc);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the served value in each virtual minute m + 1 is the simulator\'s amadeus plan for minute m', async () => {
    // A workload with daily and weekly shape, sales, surges and bursty noise: the models, the gate and the signals all have work.
    const file = join(dir, 'random.csv');
    const gen = runCli(['generate', '--out', file, '--scenario', 'random', '--seed', '7', '--days', String(TRACE_DAYS)]);
    expect(await gen.exited).toBe(0);
    const trace = loadTrace(file);

    // The same settings on both sides: the metadata's defaults are the simulator's.
    // Fine-tuning on, as by default, with rounds every 20 minutes so that a few land in the span.
    const simOptions = { ...simulateDefaults(), fineTuneInterval: FINE_TUNE_MINUTES * 60 };
    const amadeus = amadeusOf(simOptions, SIM_DEFAULTS);
    const config = createMetadataParser(simOptions.forecaster)(REF.scalerMetadata);
    expect({ horizonMinutes: config.horizonMinutes, historyMinutes: config.historyMinutes, headroom: config.headroom, noiseMargin: config.noiseMargin, surgeNoiseMargin: config.surgeNoiseMargin, signals: [...config.signals].sort(), quantile: config.quantile, forecaster: config.forecaster }).toEqual({
      ...pick(amadeus.settings, ['horizonMinutes', 'historyMinutes', 'headroom', 'noiseMargin', 'surgeNoiseMargin', 'quantile']),
      signals: [...(amadeus.settings.signals ?? [])].sort(),
      forecaster: amadeus.forecaster.forecaster,
    });
    expect(simOptions.fineTune).toBe(true);
    expect(simOptions.fineTuneBlend).toBe(true); // the rounds' blend too, as serve's default

    const start = new Date(trace.start + START_MINUTE * MINUTE_MS).toISOString();
    proc = runCli([
      'serve',
      '--address', '127.0.0.1:0',
      '--metrics-address', '127.0.0.1:0',
      '--replay-trace', file,
      '--replay-speed', String(SPEED),
      '--replay-start', start,
      '--model', simOptions.model,
      // Rounds run on the history's own minutes and answer 10 minutes after they start, in both.
      '--fine-tune-interval', String(FINE_TUNE_MINUTES * 60),
      '--weights-dir', join(dir, 'weights'), // never weights a previous run left behind
      '--heal', 'off',
    ]);
    const running = proc;
    const port = (await running.waitForLog((l) => l.msg === 'gRPC server listening', 30_000, 'serve to listen')).port as number;
    client = createScalerClient(`127.0.0.1:${port}`);
    const scaler = client;

    const refreshes = (): number[] => running.logs.map(refreshAt).filter((t): t is number => t !== null);
    const latest = (): number => refreshes().at(-1) ?? -Infinity;
    const answers: Answer[] = [];
    const pending = new Set<Promise<void>>();
    /** GetMetricSpec → GetMetrics → IsActive, as KEDA's poll calls them. */
    const poll = () => {
      const seenBefore = latest();
      const p = (async () => {
        const spec = await scaler.getMetricSpec(REF);
        const metrics = await scaler.getMetrics(REF, spec.metricSpecs[0]!.metricName);
        const active = (await scaler.isActive(REF)).result;
        answers.push({ seenBefore, seenAfter: latest(), value: metrics.metricValues[0]!.metricValueFloat, active });
      })().finally(() => pending.delete(p));
      pending.add(p);
    };

    await scaler.getMetricSpec(REF); // registers the object: its first refresh runs at once
    await running.waitForLog((l) => refreshAt(l) !== null, 30_000, 'the first refresh');
    // Right after each refresh line, and on KEDA's own schedule.
    let polled = 0;
    const onData = () => {
      const n = refreshes().length;
      if (n > polled) {
        polled = n;
        poll();
      }
    };
    running.child.stdout!.on('data', onData);
    onData();
    const ticker = setInterval(poll, 60_000 / SPEED / POLLS_PER_MINUTE);
    try {
      await waitFor(() => refreshes().length >= MINUTES + 1, ((MINUTES + 5) * 60_000) / SPEED, `${MINUTES + 1} refreshes; stderr: ${running.stderr()}`);
    } finally {
      clearInterval(ticker);
      running.child.stdout!.off('data', onData);
    }
    await Promise.all(pending);
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);

    // Fine-tuning ran in the span (its rounds, accepted or not, are part of what must match).
    const rounds = running.logs.filter((l) => l.msg === 'fine-tuning round');
    expect(rounds.length).toBeGreaterThanOrEqual(2);

    // One refresh per virtual minute, none skipped or repeated (a skip would mean the machine
    // stalled for most of a virtual minute: the gate would then have missed a minute's forecasts).
    const ats = refreshes();
    const irregular = ats.slice(1).flatMap((t, i) => (t - ats[i]! === MINUTE_MS ? [] : [`${new Date(ats[i]!).toISOString()} → ${new Date(t).toISOString()}`]));
    expect(irregular).toEqual([]);

    // The simulator on the same trace, its span from the minute the first refresh read up to the last.
    const from = (ats[0]! - trace.start) / MINUTE_MS - 1;
    const to = (ats.at(-1)! - trace.start) / MINUTE_MS;
    const expected = await simulatedAnswers(trace, from, to, amadeus);
    const expectedAt = (at: number): number => expected[(at - trace.start) / MINUTE_MS - 1 - from]!;
    const same = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

    // Each refresh's log line (rounded to 3 decimals) already says what it planned.
    for (const l of running.logs) {
      const at = refreshAt(l);
      if (at !== null) expect({ at: l.at, planned: l.planned }).toEqual({ at: l.at, planned: Math.round(expectedAt(at) * 1000) / 1000 });
    }

    // Every answer is the plan of a refresh at or after the newest one seen when its poll went out.
    const answered = new Map<number, number>();
    const unexplained: string[] = [];
    for (const a of answers) {
      const candidates = ats.filter((t) => t >= a.seenBefore && t <= a.seenAfter + 2 * MINUTE_MS);
      const at = candidates.find((t) => same(a.value, expectedAt(t)));
      if (at === undefined) {
        unexplained.push(`${a.value} (after refresh ${new Date(a.seenBefore).toISOString()}; expected one of ${candidates.map(expectedAt).join(', ')})`);
        continue;
      }
      answered.set(at, (answered.get(at) ?? 0) + 1);
      expect(a.active).toBe(true); // the replayed load is never zero
    }
    expect(unexplained).toEqual([]);
    const unanswered = ats.filter((t) => !answered.has(t)).map((t) => new Date(t).toISOString());
    expect(unanswered).toEqual([]);
    expect(answered.size).toBeGreaterThanOrEqual(MINUTES);
  }, 600_000);
});

/** What the scaler would answer (req/s) for each span minute, by the simulator as `amadeus simulate` runs it. */
async function simulatedAnswers(trace: Trace, from: number, to: number, amadeus: ReturnType<typeof amadeusOf>): Promise<number[]> {
  const log = createLogger({ level: 'warn', sink: () => {} });
  let now = trace.start;
  const model = await createSimForecaster({ ...amadeus.forecaster, log, clock: () => now });
  try {
    // The span is the trace's tail: cut the trace just after it, and split just before it.
    const result = await simulate({
      name: 'replay-equivalence',
      trace: { ...trace, requests: trace.requests.slice(0, to) },
      split: (from + 0.5) / to,
      params: SIM_DEFAULTS,
      policies: ['amadeus'],
      amadeus: { forecaster: model.forecaster, ...amadeus.settings, setClock: (t) => (now = t), describe: amadeus.describe },
    });
    expect(result.load.offset).toBe(from);
    const { planned } = result.plans!;
    return Array.from(planned, (v) => v / (60 * result.load.scale));
  } finally {
    await model.close();
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}
