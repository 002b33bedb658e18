/**
 * The trace suite as a benchmark (design §5, "judged on many traces, reported on held-out ones"):
 * every member simulated with `amadeus simulate`'s defaults and evaluated with `amadeus eval`'s
 * backtest, the planner's bar judged per trace. The tables go to stderr with the progress; the
 * figures into the bench's JSON.
 */
import { amadeusOf, simulateDefaults } from '../cli/options/simulate.js';
import { SIM_DEFAULTS } from '../simulate/params.js';
import { resolveSuite } from '../simulate/suite.js';
import { formatSuite, suiteJson } from '../simulate/suite-report.js';
import { runSuite } from '../simulate/suite-run.js';
import { silentLogger } from '../telemetry/logger.js';
import { createProgress } from '../telemetry/progress.js';

export interface SuiteBenchOptions {
  /** `default`, `held-out`, `tune`, or a directory of trace CSVs. */
  suite: string;
  tracesDir: string;
  nasaTrace: string;
  modelDir: string;
  log: (line: string) => void;
}

export async function runSuiteBench(o: SuiteBenchOptions) {
  const defaults = { ...simulateDefaults(), model: o.modelDir };
  const suite = resolveSuite({ suite: o.suite, tracesDir: o.tracesDir, nasaTrace: o.nasaTrace });
  o.log(`suite ${suite.name}: ${suite.members.length} traces${suite.missing.length ? `, ${suite.missing.length} missing (${suite.missing.map((m) => m.name).join(', ')})` : ''}`);
  const report = await runSuite(suite, {
    params: SIM_DEFAULTS,
    split: defaults.split,
    policies: defaults.policies,
    amadeus: amadeusOf(defaults, SIM_DEFAULTS),
    evalModels: defaults.evalModels,
    log: silentLogger,
    note: o.log,
    progress: (label) => createProgress(process.stderr, `[bench] ${label}`),
  });
  for (const line of formatSuite(report).split('\n')) o.log(line);
  return suiteJson(report);
}
