/**
 * `amadeus simulate`: the trace-driven autoscaling comparison of design §5 — hpa-cpu,
 * keda-reactive, amadeus (the real forecaster and planner) and the oracle — on a trace file, the
 * built-in generator, or a real workload's history from Prometheus ("what if"). Figures go to stdout
 * (a table, or one JSON object with --json); progress and logs to stderr; charts to --report/--svg.
 */
import { helpText, parseOptions, UsageError, warnUnreadEnv } from '../config/options.js';
import { amadeusOf, SIMULATE_OPTIONS, type SimulateOptions } from './options/simulate.js';
import { createSimForecaster } from '../simulate/forecaster.js';
import { checkParams, type SimParams } from '../simulate/params.js';
import { renderMainChartSvg, renderReport } from '../simulate/report.js';
import { jsonSummary, simulate, type SimulationResult } from '../simulate/simulate.js';
import { generatedTrace, resolveSuite, SuiteError } from '../simulate/suite.js';
import { formatSuite, suiteJson } from '../simulate/suite-report.js';
import { isFailure, runSuite } from '../simulate/suite-run.js';
import { defaultGrid } from '../simulate/tune.js';
import { QUANTILES } from '../scaler/metadata.js';
import { createPrometheusClient } from '../sources/prometheus-client.js';
import { fetchHistory } from '../sources/prometheus-history.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { createProgress } from '../telemetry/progress.js';
import type { TraceWindow } from '../sources/trace.js';
import { readTrace } from './trace-file.js';
import { checkOutputFile, writeOutputFile } from './output-path.js';
import { metadataLines, tunedMetadata } from './tuned-metadata.js';
import { timeOption } from './time-option.js';

type Options = SimulateOptions;

export const SIMULATE_HELP = helpText(
  'simulate',
  'Simulate one Deployment on a trace, scaled by hpa-cpu, keda-reactive, amadeus (the real forecaster and planner, fed only with the past) and the oracle, ' +
    'and report per policy the p95/p99 latency increase during spikes, SLO-violation minutes, pod-hours and scale events (design §5). ' +
    'The load comes from --trace FILE, --scenario NAME, or --prometheus-url URL --query PROMQL ("what if" on your own traffic); ' +
    'or --suite runs a whole suite of traces (real ones held out, a randomized scenario family) and judges the planner\'s bar on each.',
  SIMULATE_OPTIONS,
);

function paramsOf(o: Options): SimParams {
  const p: SimParams = {
    peakPods: o.peakPods,
    mu: o.mu,
    startupSeconds: o.startupSeconds,
    tickSeconds: o.tickSeconds,
    syncSeconds: o.syncSeconds,
    tolerance: o.tolerance,
    stabilizationSeconds: o.stabilizationSeconds,
    minReplicas: o.minReplicas,
    maxReplicas: o.maxReplicas,
    targetUtilization: o.targetUtilization,
    pollSeconds: o.pollSeconds,
    maxRho: 0.95,
    sloFactor: o.sloFactor,
    spikeRatio: o.spikeRatio,
    oracleHeadroom: o.oracleHeadroom,
  };
  try {
    checkParams(p);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return p;
}

async function loadOf(o: Options, log: Logger): Promise<{ name: string; trace: TraceWindow }> {
  const sources = [o.trace !== undefined, o.scenario !== undefined, o.prometheusUrl !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('give exactly one load: --trace FILE, --scenario NAME, or --prometheus-url URL with --query PROMQL');
  if ((o.query !== undefined) !== (o.prometheusUrl !== undefined)) throw new UsageError('--query and --prometheus-url go together');
  const minutes = Math.round(o.days * 1440);
  if (o.trace !== undefined) return { name: o.trace, trace: readTrace(o.trace) };
  if (o.scenario !== undefined) {
    const trace = generatedTrace({ scenario: o.scenario, seed: o.seed, days: o.days, utcOffsetMinutes: o.utcOffsetMinutes });
    return { name: `generator:${o.scenario} seed ${o.seed}, ${o.days} days`, trace };
  }
  const end = o.end === undefined ? Date.now() : timeOption('end', o.end);
  const client = createPrometheusClient({ serverAddress: o.prometheusUrl!, prometheusUnsafeSsl: false, timeoutSeconds: o.timeout });
  const progress = createProgress(process.stderr, 'prometheus');
  try {
    log.info('reading history from Prometheus', { days: o.days, end: new Date(end).toISOString() });
    const trace = await fetchHistory({ client, serverAddress: o.prometheusUrl!, query: o.query!, end, minutes, utcOffsetMinutes: o.utcOffsetMinutes, onProgress: (d, t) => progress.update(d, t) });
    return { name: trace.file!, trace };
  } finally {
    progress.finish();
    client.close();
  }
}

const fmt = (x: number, digits = 1) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatTable(r: SimulationResult): string {
  const hpa = r.policies.find((p) => p.name === 'hpa-cpu');
  const header = ['policy', 'p95 Δ%', 'p99 Δ%', 'SLO min', 'SLO ÷ hpa', 'pod-hours', 'pods ÷ hpa', 'scale events'];
  const rows = r.policies.map((p) => [
    p.name,
    fmt(p.p95LatencyIncreasePct),
    fmt(p.p99LatencyIncreasePct),
    String(p.sloViolationMinutes),
    hpa && hpa.sloViolationMinutes > 0 ? fmt(p.sloViolationMinutes / hpa.sloViolationMinutes, 2) : '-',
    fmt(p.podHours),
    hpa && hpa.podHours > 0 ? fmt(p.podHours / hpa.podHours, 2) : '-',
    String(p.scaleEvents),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `trace ${r.trace}: ${r.minutes} minutes simulated from ${new Date(r.start).toISOString()}, ${r.spikeMinutes} spike minutes`,
    `peak-pods ${r.params.peakPods}, mu ${r.params.mu}, start-up ${r.params.startupSeconds} s` + (r.amadeus ? `; amadeus ${Object.entries(r.amadeus).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''),
    '',
    line(header),
    ...rows.map(line),
  ];
  if (r.tuning) {
    const t = r.tuning;
    const c = t.chosen;
    out.push(
      '',
      `amadeus tuned on ${fmt(t.minutes / 1440)} days from ${t.from} (${t.candidates.length} settings): quantile ${c.quantile}, headroom ${c.headroom}, noise margin ${c.noiseMargin} — ` +
        `there p95 Δ ${fmt(c.p95LatencyIncreasePct)}%, SLO ${c.sloViolationMinutes} min (hpa-cpu ${t.hpaCpu.sloViolationMinutes}), pod-hours ${fmt(c.podHours)} (hpa-cpu ${fmt(t.hpaCpu.podHours)})` +
        (t.met ? '' : `; no setting met the goals there (p95 < ${t.goals.p95IncreasePct}%, SLO ≤ ${t.goals.sloShareOfHpa} × hpa-cpu's): the lowest p95 was chosen`),
      'for serve to plan as this run did, put these keys under the trigger\'s metadata (every other key as its default):',
      ...metadataLines(tunedMetadata(r.amadeus ?? {})),
    );
  }
  const a = r.policies.find((p) => p.name === 'amadeus');
  if (a?.planReasons) out.push('', `amadeus plan reasons: ${Object.entries(a.planReasons).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (a?.models && Object.keys(a.models).length) out.push(`amadeus models: ${Object.entries(a.models).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return out.join('\n');
}

export async function runSimulate(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SIMULATE_HELP);
    return 0;
  }
  const o = parseOptions(SIMULATE_OPTIONS, argv, env);
  warnUnreadEnv('simulate', SIMULATE_OPTIONS, env);
  const params = paramsOf(o);
  const log = createLogger({ sink: (l) => process.stderr.write(l + '\n') });
  if (o.suite !== undefined) return runSuiteCommand(o, params, log);
  const outputs = outputsOf(o);
  for (const out of outputs) checkOutputFile(out.path, out.flag);
  const { name, trace } = await loadOf(o, log);

  let now = trace.start;
  const amadeus = amadeusOf(o, params);
  const forecasterOf = () => createSimForecaster({ ...amadeus.forecaster, log, clock: () => now });
  const withAmadeus = o.policies.includes('amadeus');
  const model = withAmadeus ? await forecasterOf() : null;
  // The tuning pass gets a forecaster of its own, so the span's starts exactly as it would untuned.
  const tuneModel = withAmadeus && o.tune ? await forecasterOf() : null;
  const tuneProgress = tuneModel ? createProgress(process.stderr, 'tune') : null;
  const progress = createProgress(process.stderr, 'simulate');
  let result: SimulationResult;
  try {
    result = await simulate({
      name,
      trace,
      split: o.split,
      params,
      policies: o.policies,
      amadeus: model
        ? {
            forecaster: model.forecaster,
            ...amadeus.settings,
            setClock: (t) => (now = t),
            describe: amadeus.describe,
            tune: tuneModel
              ? {
                  minutes: Math.round(o.tuneDays * 1440),
                  forecaster: tuneModel.forecaster,
                  grid: defaultGrid(QUANTILES),
                  goals: { p95IncreasePct: o.goalP95, sloShareOfHpa: o.goalSloShare },
                  onProgress: (d, t) => tuneProgress!.update(d, t),
                }
              : undefined,
          }
        : undefined,
      onProgress: (d, t) => progress.update(d, t),
    });
  } catch (err) {
    if (err instanceof RangeError || (err instanceof Error && err.name === 'EmptySpanError')) throw new UsageError(err.message);
    throw err;
  } finally {
    tuneProgress?.finish();
    progress.finish();
    await model?.close();
    await tuneModel?.close();
  }

  // The figures first: a file that cannot be written after all must not cost them.
  process.stdout.write(`${o.json ? JSON.stringify(jsonOf(result)) : formatTable(result)}\n`);
  const failed: string[] = [];
  for (const out of outputs) {
    try {
      writeOutputFile(out.path, out.render(result), out.flag);
    } catch (err) {
      failed.push((err as Error).message);
    }
  }
  if (failed.length) throw new Error(failed.join('; '));
  return 0;
}

/** The files --report and --svg ask for. */
function outputsOf(o: Options): { flag: string; path: string; render: (r: SimulationResult) => string }[] {
  return [
    ...(o.report === undefined ? [] : [{ flag: '--report', path: o.report, render: renderReport }]),
    ...(o.svg === undefined ? [] : [{ flag: '--svg', path: o.svg, render: renderMainChartSvg }]),
  ];
}

/** The `--json` object; with --tune, the metadata the table recommends too. */
function jsonOf(r: SimulationResult): object {
  return { ...jsonSummary(r), ...(r.tuning && { tuning: { ...r.tuning, metadata: tunedMetadata(r.amadeus ?? {}) } }) };
}

/**
 * `--suite`: every trace of the suite with the same settings, one table per kind of figure. A
 * member that fails is reported and the others still run; the exit status is then 1.
 */
async function runSuiteCommand(o: Options, params: SimParams, log: Logger): Promise<number> {
  const conflicting = [o.trace !== undefined && '--trace', o.scenario !== undefined && '--scenario', o.prometheusUrl !== undefined && '--prometheus-url', o.tune && '--tune', o.report !== undefined && '--report', o.svg !== undefined && '--svg'].filter(Boolean);
  if (conflicting.length) throw new UsageError(`--suite runs its own traces with one setting: it does not go with ${conflicting.join(', ')}`);
  let suite;
  try {
    suite = resolveSuite({ suite: o.suite!, tracesDir: o.tracesDir, nasaTrace: o.nasaTrace, ...(o.reportSeeds && { reportSeeds: o.reportSeeds }) });
  } catch (err) {
    if (err instanceof SuiteError) throw new UsageError(`--suite: ${err.message}`);
    throw err;
  }
  const report = await runSuite(suite, {
    params,
    split: o.split,
    policies: o.policies,
    amadeus: amadeusOf(o, params),
    evalModels: o.evalModels,
    log,
    note: (line) => process.stderr.write(`${line}\n`),
    progress: (label) => createProgress(process.stderr, label),
  });
  process.stdout.write(`${o.json ? JSON.stringify(suiteJson(report)) : formatSuite(report)}\n`);
  return report.members.some(isFailure) ? 1 : 0;
}
